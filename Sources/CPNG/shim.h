// libpng's simplified API (png_image_begin_read_from_memory / png_image_finish_read): no setjmp needed.
#include <png.h>
