// TurboJPEG 2.x API (tjInitDecompress, tjDecompressHeader3, tjDecompress2): no setjmp needed.
#include <turbojpeg.h>
