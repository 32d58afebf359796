// Entry filter for the multi-index hashing probes of BihashIndex (header-only; AVX2 on x86-64, where Swift has
// no byte shuffle to do it).
#ifndef BIHASH_ENTRIES_H
#define BIHASH_ENTRIES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// The extra lower bound of one entry's sketch (see `bihash_filter_entries`).
#if defined(__x86_64__)
__attribute__((target("popcnt")))
#endif
static inline uint32_t bihash_entry_extra(uint32_t sketch, uint32_t target, uint32_t piece_mask, uint32_t floor) {
    const uint32_t x = sketch ^ target;
    const uint32_t c = (uint32_t)__builtin_popcount(x & piece_mask);
    const uint32_t mx = c > floor ? c : floor;
    return mx - floor + ((mx - c) & 1) + (uint32_t)__builtin_popcount(x & ~piece_mask);
}

/// `bihash_filter_entries` one entry at a time (other architectures, and entry sizes the vector loop does not
/// handle).
#if defined(__x86_64__)
__attribute__((target("popcnt")))
#endif
static inline size_t bihash_filter_entries_scalar(const uint8_t *entries, size_t n, uint32_t entry_bytes,
                                                  uint32_t row_bits, uint32_t target, uint32_t piece_mask,
                                                  uint32_t floor, int32_t slack, uint32_t *out) {
    if (slack < 0) return 0;
    const uint32_t row_mask = row_bits >= 32 ? 0xFFFFFFFFu : (1u << row_bits) - 1;
    const uint32_t entry_mask = entry_bytes >= 4 ? 0xFFFFFFFFu : (1u << (8 * entry_bytes)) - 1;
    size_t kept = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t e;
        memcpy(&e, entries + entry_bytes * j, 4);
        e &= entry_mask;
        out[kept] = e & row_mask;
        const uint32_t s = row_bits >= 32 ? 0 : e >> row_bits;
        kept += bihash_entry_extra(s, target, piece_mask, floor) <= (uint32_t)slack;
    }
    return kept;
}

#if defined(__x86_64__)

/// For each 8-bit mask, the indices (one per byte, lowest first) of its set bits, then zeros: the vpermd
/// indices that move the kept lanes of a vector to its front.
static const uint64_t bihash_kept_lanes[256] = {
    0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000001ull, 0x0000000000000100ull,
    0x0000000000000002ull, 0x0000000000000200ull, 0x0000000000000201ull, 0x0000000000020100ull,
    0x0000000000000003ull, 0x0000000000000300ull, 0x0000000000000301ull, 0x0000000000030100ull,
    0x0000000000000302ull, 0x0000000000030200ull, 0x0000000000030201ull, 0x0000000003020100ull,
    0x0000000000000004ull, 0x0000000000000400ull, 0x0000000000000401ull, 0x0000000000040100ull,
    0x0000000000000402ull, 0x0000000000040200ull, 0x0000000000040201ull, 0x0000000004020100ull,
    0x0000000000000403ull, 0x0000000000040300ull, 0x0000000000040301ull, 0x0000000004030100ull,
    0x0000000000040302ull, 0x0000000004030200ull, 0x0000000004030201ull, 0x0000000403020100ull,
    0x0000000000000005ull, 0x0000000000000500ull, 0x0000000000000501ull, 0x0000000000050100ull,
    0x0000000000000502ull, 0x0000000000050200ull, 0x0000000000050201ull, 0x0000000005020100ull,
    0x0000000000000503ull, 0x0000000000050300ull, 0x0000000000050301ull, 0x0000000005030100ull,
    0x0000000000050302ull, 0x0000000005030200ull, 0x0000000005030201ull, 0x0000000503020100ull,
    0x0000000000000504ull, 0x0000000000050400ull, 0x0000000000050401ull, 0x0000000005040100ull,
    0x0000000000050402ull, 0x0000000005040200ull, 0x0000000005040201ull, 0x0000000504020100ull,
    0x0000000000050403ull, 0x0000000005040300ull, 0x0000000005040301ull, 0x0000000504030100ull,
    0x0000000005040302ull, 0x0000000504030200ull, 0x0000000504030201ull, 0x0000050403020100ull,
    0x0000000000000006ull, 0x0000000000000600ull, 0x0000000000000601ull, 0x0000000000060100ull,
    0x0000000000000602ull, 0x0000000000060200ull, 0x0000000000060201ull, 0x0000000006020100ull,
    0x0000000000000603ull, 0x0000000000060300ull, 0x0000000000060301ull, 0x0000000006030100ull,
    0x0000000000060302ull, 0x0000000006030200ull, 0x0000000006030201ull, 0x0000000603020100ull,
    0x0000000000000604ull, 0x0000000000060400ull, 0x0000000000060401ull, 0x0000000006040100ull,
    0x0000000000060402ull, 0x0000000006040200ull, 0x0000000006040201ull, 0x0000000604020100ull,
    0x0000000000060403ull, 0x0000000006040300ull, 0x0000000006040301ull, 0x0000000604030100ull,
    0x0000000006040302ull, 0x0000000604030200ull, 0x0000000604030201ull, 0x0000060403020100ull,
    0x0000000000000605ull, 0x0000000000060500ull, 0x0000000000060501ull, 0x0000000006050100ull,
    0x0000000000060502ull, 0x0000000006050200ull, 0x0000000006050201ull, 0x0000000605020100ull,
    0x0000000000060503ull, 0x0000000006050300ull, 0x0000000006050301ull, 0x0000000605030100ull,
    0x0000000006050302ull, 0x0000000605030200ull, 0x0000000605030201ull, 0x0000060503020100ull,
    0x0000000000060504ull, 0x0000000006050400ull, 0x0000000006050401ull, 0x0000000605040100ull,
    0x0000000006050402ull, 0x0000000605040200ull, 0x0000000605040201ull, 0x0000060504020100ull,
    0x0000000006050403ull, 0x0000000605040300ull, 0x0000000605040301ull, 0x0000060504030100ull,
    0x0000000605040302ull, 0x0000060504030200ull, 0x0000060504030201ull, 0x0006050403020100ull,
    0x0000000000000007ull, 0x0000000000000700ull, 0x0000000000000701ull, 0x0000000000070100ull,
    0x0000000000000702ull, 0x0000000000070200ull, 0x0000000000070201ull, 0x0000000007020100ull,
    0x0000000000000703ull, 0x0000000000070300ull, 0x0000000000070301ull, 0x0000000007030100ull,
    0x0000000000070302ull, 0x0000000007030200ull, 0x0000000007030201ull, 0x0000000703020100ull,
    0x0000000000000704ull, 0x0000000000070400ull, 0x0000000000070401ull, 0x0000000007040100ull,
    0x0000000000070402ull, 0x0000000007040200ull, 0x0000000007040201ull, 0x0000000704020100ull,
    0x0000000000070403ull, 0x0000000007040300ull, 0x0000000007040301ull, 0x0000000704030100ull,
    0x0000000007040302ull, 0x0000000704030200ull, 0x0000000704030201ull, 0x0000070403020100ull,
    0x0000000000000705ull, 0x0000000000070500ull, 0x0000000000070501ull, 0x0000000007050100ull,
    0x0000000000070502ull, 0x0000000007050200ull, 0x0000000007050201ull, 0x0000000705020100ull,
    0x0000000000070503ull, 0x0000000007050300ull, 0x0000000007050301ull, 0x0000000705030100ull,
    0x0000000007050302ull, 0x0000000705030200ull, 0x0000000705030201ull, 0x0000070503020100ull,
    0x0000000000070504ull, 0x0000000007050400ull, 0x0000000007050401ull, 0x0000000705040100ull,
    0x0000000007050402ull, 0x0000000705040200ull, 0x0000000705040201ull, 0x0000070504020100ull,
    0x0000000007050403ull, 0x0000000705040300ull, 0x0000000705040301ull, 0x0000070504030100ull,
    0x0000000705040302ull, 0x0000070504030200ull, 0x0000070504030201ull, 0x0007050403020100ull,
    0x0000000000000706ull, 0x0000000000070600ull, 0x0000000000070601ull, 0x0000000007060100ull,
    0x0000000000070602ull, 0x0000000007060200ull, 0x0000000007060201ull, 0x0000000706020100ull,
    0x0000000000070603ull, 0x0000000007060300ull, 0x0000000007060301ull, 0x0000000706030100ull,
    0x0000000007060302ull, 0x0000000706030200ull, 0x0000000706030201ull, 0x0000070603020100ull,
    0x0000000000070604ull, 0x0000000007060400ull, 0x0000000007060401ull, 0x0000000706040100ull,
    0x0000000007060402ull, 0x0000000706040200ull, 0x0000000706040201ull, 0x0000070604020100ull,
    0x0000000007060403ull, 0x0000000706040300ull, 0x0000000706040301ull, 0x0000070604030100ull,
    0x0000000706040302ull, 0x0000070604030200ull, 0x0000070604030201ull, 0x0007060403020100ull,
    0x0000000000070605ull, 0x0000000007060500ull, 0x0000000007060501ull, 0x0000000706050100ull,
    0x0000000007060502ull, 0x0000000706050200ull, 0x0000000706050201ull, 0x0000070605020100ull,
    0x0000000007060503ull, 0x0000000706050300ull, 0x0000000706050301ull, 0x0000070605030100ull,
    0x0000000706050302ull, 0x0000070605030200ull, 0x0000070605030201ull, 0x0007060503020100ull,
    0x0000000007060504ull, 0x0000000706050400ull, 0x0000000706050401ull, 0x0000070605040100ull,
    0x0000000706050402ull, 0x0000070605040200ull, 0x0000070605040201ull, 0x0007060504020100ull,
    0x0000000706050403ull, 0x0000070605040300ull, 0x0000070605040301ull, 0x0007060504030100ull,
    0x0000070605040302ull, 0x0007060504030200ull, 0x0007060504030201ull, 0x0706050403020100ull,
};

/// Reads `n` entries of `entry_bytes` (3 or 4) little-endian bytes at `entries`; an entry is
/// `row | sketch << row_bits`. Writes the row of every entry whose extra lower bound is at most `slack` to
/// `out[0]`, `out[1]`, … in order and returns how many. Reads up to 32 bytes past the last entry and writes up to 8
/// values past the last kept one (the caller leaves room for both).
///
/// The extra lower bound of a sketch s (how many bits the item must differ by beyond the pigeonhole bound of
/// the level, see MultiIndexHashing): with x = s ^ target, c = popcount(x & piece_mask) mismatched pieces of the
/// next substring, whose distance is then at least max(c, floor) and has the parity of c, so it adds
/// max(c, floor) − floor + ((max(c, floor) − c) & 1) over its floor; plus one per mismatched parity bit
/// (popcount(x & ~piece_mask)). `floor` must be 0 when `piece_mask` is 0.
///
/// Eight entries at a time: one 32-byte load, their bytes moved into eight 32-bit lanes (vpermd + vpshufb for
/// 3-byte entries), the two popcounts by nibble lookup (vpshufb) summed per lane (vpmaddubsw + vpmaddwd), the
/// test, and the kept rows moved to the front of the vector (vpermd with `bihash_kept_lanes`) and stored.
__attribute__((target("avx2,popcnt")))
static inline size_t bihash_filter_entries(const uint8_t *entries, size_t n, uint32_t entry_bytes,
                                           uint32_t row_bits, uint32_t target, uint32_t piece_mask,
                                           uint32_t floor, int32_t slack, uint32_t *out) {
    if (slack < 0) return 0;
    const uint32_t row_mask = row_bits >= 32 ? 0xFFFFFFFFu : (1u << row_bits) - 1;
    const __m256i rows_v = _mm256_set1_epi32((int)row_mask);
    const __m256i target_v = _mm256_set1_epi32((int)target);
    const __m256i pieces_v = _mm256_set1_epi32((int)piece_mask);
    const __m256i floor_v = _mm256_set1_epi32((int)floor);
    const __m256i slack_v = _mm256_set1_epi32(slack);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i ones8 = _mm256_set1_epi8(1);
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i bitcount = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                              0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m128i shift = _mm_cvtsi32_si128((int)(row_bits >= 32 ? 32 : row_bits));
    // 3-byte entries: dwords 0-2 (entries 0-3) to the low lane, dwords 3-5 (entries 4-7) to the high lane, then
    // in each lane bytes 3i..3i+2 to lane i (the fourth byte zero).
    const __m256i spread = _mm256_setr_epi32(0, 1, 2, 3, 3, 4, 5, 6);
    const __m256i unpack = _mm256_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1,
                                            0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
#define BIHASH_POPCOUNT32(v) _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_add_epi8( \
        _mm256_shuffle_epi8(bitcount, _mm256_and_si256((v), nibble)), \
        _mm256_shuffle_epi8(bitcount, _mm256_and_si256(_mm256_srli_epi16((v), 4), nibble))), ones8), ones16)
    size_t kept = 0, j = 0;
    if (entry_bytes == 3 || entry_bytes == 4) {
        // Whole vectors, the last one partial: its lanes past the n-th entry are masked off (a bucket holds ~16
        // entries, so a scalar tail would handle a third of them).
        for (; j < n; j += 8) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(entries + entry_bytes * j));
            if (entry_bytes == 3) v = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(v, spread), unpack);
            const __m256i row = _mm256_and_si256(v, rows_v);
            const __m256i x = _mm256_xor_si256(_mm256_srl_epi32(v, shift), target_v);
            const __m256i c = BIHASH_POPCOUNT32(_mm256_and_si256(x, pieces_v));
            const __m256i e = BIHASH_POPCOUNT32(_mm256_andnot_si256(pieces_v, x));
            const __m256i mx = _mm256_max_epu32(c, floor_v);
            const __m256i extra = _mm256_add_epi32(_mm256_add_epi32(_mm256_sub_epi32(mx, floor_v), e),
                                                   _mm256_and_si256(_mm256_sub_epi32(mx, c), one));
            const __m256i fail = _mm256_cmpgt_epi32(extra, slack_v);
            const unsigned valid = n - j >= 8 ? 0xFFu : (1u << (n - j)) - 1;
            const unsigned mask = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(fail)) & valid;
            const __m256i lanes = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)bihash_kept_lanes[mask]));
            _mm256_storeu_si256((__m256i *)(out + kept), _mm256_permutevar8x32_epi32(row, lanes));
            kept += (size_t)__builtin_popcount(mask);
        }
    }
#undef BIHASH_POPCOUNT32
    if (j < n) kept += bihash_filter_entries_scalar(entries + entry_bytes * j, n - j, entry_bytes, row_bits, target,
                                                    piece_mask, floor, slack, out + kept);
    return kept;
}

#else

/// The filter one entry at a time (other architectures).
static inline size_t bihash_filter_entries(const uint8_t *entries, size_t n, uint32_t entry_bytes,
                                           uint32_t row_bits, uint32_t target, uint32_t piece_mask,
                                           uint32_t floor, int32_t slack, uint32_t *out) {
    return bihash_filter_entries_scalar(entries, n, entry_bytes, row_bits, target, piece_mask, floor, slack, out);
}

#endif

#endif
