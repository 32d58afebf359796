// The shim is header-only (a static inline function, inlined into the Swift callers); SwiftPM needs a source file.
#include "bihash_prefetch.h"
