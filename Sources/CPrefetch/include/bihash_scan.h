// Flat-scan kernels for 128- and 256-bit codes (BihashIndex): eight queries against four codes per step, popcount by
// nibble lookup. Header-only; AVX2 on x86-64 (the caller falls back to its Swift kernel elsewhere).
#ifndef BIHASH_SCAN_H
#define BIHASH_SCAN_H

#include <stddef.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__x86_64__)

/// The number of set bits of each byte of `x` (a 16-entry table looked up by each nibble: two vpshufb).
__attribute__((target("avx2")))
static inline __m256i bihash_byte_popcounts(__m256i x) {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i bitcount = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                              0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(bitcount, _mm256_and_si256(x, nibble)),
                           _mm256_shuffle_epi8(bitcount, _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble)));
}

/// Scans `n` 16-byte codes at `codes` against eight queries (`queries`: 8 × 2 little-endian words, query j at
/// words 2j, 2j + 1) and sets `flags[i]` to 1 when the distance of code i to some query j is below `limits[j]`,
/// else 0. Returns whether any flag was set. Unused query slots must have limit 0.
///
/// Four codes at a time: their low words gathered in one vector and their high words in another (vpunpck*qdq,
/// once for all eight queries); per query, both XOR-ed with the query's words (broadcast), bytes counted by a
/// 16-entry nibble table (vpshufb), the byte counts of both words added and summed by vpsadbw into one 64-bit
/// distance per code, compared with the query's limit (vpcmpgtq) and OR-ed over the queries.
__attribute__((target("avx2")))
static inline int bihash_scan128(const uint8_t *codes, size_t n, const uint64_t *queries, const int64_t *limits,
                                 uint8_t *flags) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i qlo[8], qhi[8], l[8];
    for (int j = 0; j < 8; j++) {
        qlo[j] = _mm256_set1_epi64x((long long)queries[2 * j]);
        qhi[j] = _mm256_set1_epi64x((long long)queries[2 * j + 1]);
        l[j] = _mm256_set1_epi64x(limits[j]);
    }
    int any = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        // Four codes, their low words in one vector and their high words in another (lanes: codes 0, 2, 1, 3),
        // once for all eight queries.
        const __m256i v0 = _mm256_loadu_si256((const __m256i *)(codes + 16 * i));
        const __m256i v1 = _mm256_loadu_si256((const __m256i *)(codes + 16 * i + 32));
        const __m256i lo = _mm256_unpacklo_epi64(v0, v1), hi = _mm256_unpackhi_epi64(v0, v1);
        __m256i hit = zero;
        for (int j = 0; j < 8; j++) {
            const __m256i a = _mm256_xor_si256(lo, qlo[j]), b = _mm256_xor_si256(hi, qhi[j]);
            // Byte counts of both words added, summed: one distance per 64-bit lane.
            const __m256i d = _mm256_sad_epu8(_mm256_add_epi8(bihash_byte_popcounts(a), bihash_byte_popcounts(b)), zero);
            hit = _mm256_or_si256(hit, _mm256_cmpgt_epi64(l[j], d));
        }
        const int m = _mm256_movemask_pd(_mm256_castsi256_pd(hit));
        flags[i] = (uint8_t)(m & 1);
        flags[i + 1] = (uint8_t)((m >> 2) & 1);
        flags[i + 2] = (uint8_t)((m >> 1) & 1);
        flags[i + 3] = (uint8_t)((m >> 3) & 1);
        any |= m;
    }
    for (; i < n; i++) {  // the last n mod 4 codes
        const uint64_t *c = (const uint64_t *)(codes + 16 * i);
        uint64_t a, b;
        __builtin_memcpy(&a, c, 8);
        __builtin_memcpy(&b, (const uint8_t *)c + 8, 8);
        int f = 0;
        for (int j = 0; j < 8; j++) {
            const int64_t d = __builtin_popcountll(a ^ queries[2 * j]) + __builtin_popcountll(b ^ queries[2 * j + 1]);
            f |= d < limits[j];
        }
        flags[i] = (uint8_t)f;
        any |= f;
    }
    return any != 0;
}

/// As `bihash_scan128` for 32-byte codes (`queries`: 8 × 4 words): four codes at a time, transposed so that
/// vector w holds word w of the four codes (once for all eight queries), the byte counts of the four words added
/// (at most 32 per byte) and summed by vpsadbw.
__attribute__((target("avx2")))
static inline int bihash_scan256(const uint8_t *codes, size_t n, const uint64_t *queries, const int64_t *limits,
                                 uint8_t *flags) {
    const __m256i zero = _mm256_setzero_si256();
    int any = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256i c0 = _mm256_loadu_si256((const __m256i *)(codes + 32 * i));
        const __m256i c1 = _mm256_loadu_si256((const __m256i *)(codes + 32 * i + 32));
        const __m256i c2 = _mm256_loadu_si256((const __m256i *)(codes + 32 * i + 64));
        const __m256i c3 = _mm256_loadu_si256((const __m256i *)(codes + 32 * i + 96));
        // 4×4 transpose of 64-bit words: w[k] = word k of codes 0, 1, 2, 3 (lanes in that order).
        const __m256i t0 = _mm256_unpacklo_epi64(c0, c1), t1 = _mm256_unpackhi_epi64(c0, c1);
        const __m256i t2 = _mm256_unpacklo_epi64(c2, c3), t3 = _mm256_unpackhi_epi64(c2, c3);
        const __m256i w0 = _mm256_permute2x128_si256(t0, t2, 0x20), w1 = _mm256_permute2x128_si256(t1, t3, 0x20);
        const __m256i w2 = _mm256_permute2x128_si256(t0, t2, 0x31), w3 = _mm256_permute2x128_si256(t1, t3, 0x31);
        __m256i hit = zero;
        for (int j = 0; j < 8; j++) {
            const uint64_t *q = queries + 4 * j;
            const __m256i a = bihash_byte_popcounts(_mm256_xor_si256(w0, _mm256_set1_epi64x((long long)q[0])));
            const __m256i b = bihash_byte_popcounts(_mm256_xor_si256(w1, _mm256_set1_epi64x((long long)q[1])));
            const __m256i c = bihash_byte_popcounts(_mm256_xor_si256(w2, _mm256_set1_epi64x((long long)q[2])));
            const __m256i d = bihash_byte_popcounts(_mm256_xor_si256(w3, _mm256_set1_epi64x((long long)q[3])));
            const __m256i dist = _mm256_sad_epu8(_mm256_add_epi8(_mm256_add_epi8(a, b), _mm256_add_epi8(c, d)), zero);
            hit = _mm256_or_si256(hit, _mm256_cmpgt_epi64(_mm256_set1_epi64x(limits[j]), dist));
        }
        const int m = _mm256_movemask_pd(_mm256_castsi256_pd(hit));
        flags[i] = (uint8_t)(m & 1);
        flags[i + 1] = (uint8_t)((m >> 1) & 1);
        flags[i + 2] = (uint8_t)((m >> 2) & 1);
        flags[i + 3] = (uint8_t)((m >> 3) & 1);
        any |= m;
    }
#undef BIHASH_BYTECOUNT
    for (; i < n; i++) {  // the last n mod 4 codes
        uint64_t w[4];
        __builtin_memcpy(w, codes + 32 * i, 32);
        int f = 0;
        for (int j = 0; j < 8; j++) {
            int64_t d = 0;
            for (int k = 0; k < 4; k++) d += __builtin_popcountll(w[k] ^ queries[4 * j + k]);
            f |= d < limits[j];
        }
        flags[i] = (uint8_t)f;
        any |= f;
    }
    return any != 0;
}
#endif

#endif
