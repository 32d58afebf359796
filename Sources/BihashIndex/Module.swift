/// BihashIndex: packed binary codes, Hamming kernels, flat and multi-index-hashing search, index files.
enum BihashIndexModule {}
