/// BihashData: readers for NPY, gzipped IDX, and named evaluation protocols such as `fashion-mnist`.
enum BihashDataModule {}
