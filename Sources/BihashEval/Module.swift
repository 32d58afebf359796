/// BihashEval: retrieval metrics (mAP@K, mAP@all, precision@N, precision within a Hamming radius, PR curves).
enum BihashEvalModule {}
