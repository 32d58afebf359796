/// BihashIndex: Hamming kernels, flat and multi-index-hashing search, index files, codes files.
///
/// Codes are `BihashCore.PackedCodes` (K bits per item, MSB-first as `numpy.packbits`). The entry points are
/// `FlatIndex` (exact k-NN and radius search by scanning), `MultiIndexHashing` (exact k-NN and radius search by
/// substring tables, Norouzi et al.), `IndexFile` (the on-disk index, opened by `mmap`), `CodesFile` and
/// `NPYCodes` (codes on disk). Thread safety: searching one index from several threads is safe; mutating
/// (`add`, `remove`, `compact`) is exclusive, as for any Swift value.
enum BihashIndexModule {}
