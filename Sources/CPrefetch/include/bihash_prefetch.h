// Software prefetch for the multi-index hashing probes (BihashIndex): Swift has no prefetch intrinsic.
#ifndef BIHASH_PREFETCH_H
#define BIHASH_PREFETCH_H

/// Hints that the cache line holding `p` will be read soon (into every cache level). Never faults.
static inline __attribute__((always_inline)) void bihash_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

// Included from here so that a build whose module cache predates bihash_entries.h sees this header change and
// rebuilds the module (a new file in the umbrella directory alone does not).
#include "bihash_entries.h"
#include "bihash_scan.h"

#endif
