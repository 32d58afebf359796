/// BihashMethods: binarizers (bi-half, sign, sign+reg, GreedyHash), hashing methods and baselines (LSH, ITQ).
/// SDC and SHC join in later issues. This file holds the module overview only.
enum BihashMethodsModule {}
