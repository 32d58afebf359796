// System-library shim for zlib (gzip-compressed IDX files).
#include <zlib.h>
