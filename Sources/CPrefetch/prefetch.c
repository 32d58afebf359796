// The shims are header-only (static inline functions, inlined into the Swift callers); SwiftPM needs a source file.
#include "bihash_prefetch.h"
