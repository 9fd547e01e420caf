/*
 * Maxout over groups of four side by side (axis last, as NHWC), float32,
 * float64 and float16 (on rk_half_key's keys), at the AVX2 level: a
 * tournament of each group's two pairs in registers.  gcc's own
 * vectorisation of the loops in maxout.tmpl.h parts the members with
 * cross-lane permutes and, with AVX2's sixteen registers, spills; here
 * in-lane shuffles part them (float32: _mm256_shuffle_ps; float64: unpack
 * and a swap of 128-bit halves; float16: byte shuffles and 64-bit unpacks)
 * and one permute puts the winners back in group order.
 *
 * The rules are maxout's (rk_formulas.h, RK_BEATS): a later member wins
 * only if it is greater, or is NaN where the earlier one is not, so ties
 * stay with the earlier member and the first NaN wins; the winner's bits
 * are stored as they are.  A pair's winner is NaN exactly when the pair
 * holds one, so the final round tests the winners themselves.
 *
 * The forward functions do the whole steps of their width and return how
 * many groups they did; the caller does the rest.  idx is uint8.  Last,
 * maxout_backward's float64 groups of four, one store each.
 */
#ifndef RK_MAXOUT_AVX2_H
#define RK_MAXOUT_AVX2_H

#if RK_ISA_LEVEL == RK_LEVEL_AVX2 && defined(__AVX2__)
#include <immintrin.h>
#define RK_MAXOUT4_AVX2 1       /* the functions below are here */

/* all ones where v beats b */
RK_INLINE __m256 rk_avx2_beats_ps(__m256 v, __m256 b)
{
    const __m256 greater = _mm256_cmp_ps(v, b, _CMP_GT_OQ);
    const __m256 v_nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    const __m256 b_nan = _mm256_cmp_ps(b, b, _CMP_UNORD_Q);
    return _mm256_or_ps(greater, _mm256_andnot_ps(b_nan, v_nan));
}

RK_INLINE __m256d rk_avx2_beats_pd(__m256d v, __m256d b)
{
    const __m256d greater = _mm256_cmp_pd(v, b, _CMP_GT_OQ);
    const __m256d v_nan = _mm256_cmp_pd(v, v, _CMP_UNORD_Q);
    const __m256d b_nan = _mm256_cmp_pd(b, b, _CMP_UNORD_Q);
    return _mm256_or_pd(greater, _mm256_andnot_pd(b_nan, v_nan));
}

/* The index from the three flags (all ones or zero): take ? 2 + second : first. */
RK_INLINE __m256i rk_avx2_maxout4_index(__m256i take, __m256i first, __m256i second)
{
    const __m256i later = _mm256_blendv_epi8(first, second, take);
    return _mm256_or_si256(_mm256_and_si256(take, _mm256_set1_epi32(2)),
                           _mm256_and_si256(later, _mm256_set1_epi32(1)));
}

/* Eight groups (32 floats) a step. */
RK_INLINE rk_intp rk_avx2_maxout4_groups_f32(rk_intp n, const float *x, float *y,
                                             uint8_t *idx)
{
    /* the final round holds groups 0 2 4 6 | 1 3 5 7 */
    const __m256i group_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    rk_intp g = 0;
    for (; g + 8 <= n; g += 8) {
        const float *in = x + 4 * g;
        const __m256 v0 = _mm256_loadu_ps(in), v1 = _mm256_loadu_ps(in + 8);
        const __m256 v2 = _mm256_loadu_ps(in + 16), v3 = _mm256_loadu_ps(in + 24);
        /* members 0 and 2 of groups 0 2 | 1 3 against members 1 and 3 */
        const __m256 a01 = _mm256_shuffle_ps(v0, v1, 0x88), b01 = _mm256_shuffle_ps(v0, v1, 0xdd);
        const __m256 a23 = _mm256_shuffle_ps(v2, v3, 0x88), b23 = _mm256_shuffle_ps(v2, v3, 0xdd);
        const __m256 t01 = rk_avx2_beats_ps(b01, a01), t23 = rk_avx2_beats_ps(b23, a23);
        const __m256 w01 = _mm256_blendv_ps(a01, b01, t01);
        const __m256 w23 = _mm256_blendv_ps(a23, b23, t23);
        /* the pairs' winners: first pairs against second pairs */
        const __m256 p = _mm256_shuffle_ps(w01, w23, 0x88), q = _mm256_shuffle_ps(w01, w23, 0xdd);
        const __m256 take = rk_avx2_beats_ps(q, p);
        const __m256 first = _mm256_shuffle_ps(t01, t23, 0x88);
        const __m256 second = _mm256_shuffle_ps(t01, t23, 0xdd);
        const __m256i at = _mm256_permutevar8x32_epi32(
            rk_avx2_maxout4_index(_mm256_castps_si256(take), _mm256_castps_si256(first),
                                  _mm256_castps_si256(second)), group_order);
        const __m128i at16 = _mm_packs_epi32(_mm256_castsi256_si128(at),
                                             _mm256_extracti128_si256(at, 1));
        _mm256_storeu_ps(y + g, _mm256_permutevar8x32_ps(_mm256_blendv_ps(p, q, take),
                                                         group_order));
        _mm_storel_epi64((__m128i *)(void *)(idx + g), _mm_packus_epi16(at16, at16));
    }
    return g;
}

/* Four groups (16 doubles) a step. */
RK_INLINE rk_intp rk_avx2_maxout4_groups_f64(rk_intp n, const double *x, double *y,
                                             uint8_t *idx)
{
    rk_intp g = 0;
    for (; g + 4 <= n; g += 4) {
        const double *in = x + 4 * g;
        const __m256d v0 = _mm256_loadu_pd(in), v1 = _mm256_loadu_pd(in + 4);
        const __m256d v2 = _mm256_loadu_pd(in + 8), v3 = _mm256_loadu_pd(in + 12);
        /* members 0 and 2 of groups 0 1 (2 3) against members 1 and 3 */
        const __m256d a01 = _mm256_unpacklo_pd(v0, v1), b01 = _mm256_unpackhi_pd(v0, v1);
        const __m256d a23 = _mm256_unpacklo_pd(v2, v3), b23 = _mm256_unpackhi_pd(v2, v3);
        const __m256d t01 = rk_avx2_beats_pd(b01, a01), t23 = rk_avx2_beats_pd(b23, a23);
        const __m256d w01 = _mm256_blendv_pd(a01, b01, t01);
        const __m256d w23 = _mm256_blendv_pd(a23, b23, t23);
        /* first pairs of groups 0 1 2 3 against their second pairs */
        const __m256d p = _mm256_permute2f128_pd(w01, w23, 0x20);
        const __m256d q = _mm256_permute2f128_pd(w01, w23, 0x31);
        const __m256d take = rk_avx2_beats_pd(q, p);
        const __m256d first = _mm256_permute2f128_pd(t01, t23, 0x20);
        const __m256d second = _mm256_permute2f128_pd(t01, t23, 0x31);
        /* the four 64-bit indices into four bytes: the low byte of each */
        const __m256i at = rk_avx2_maxout4_index(_mm256_castpd_si256(take),
                                                 _mm256_castpd_si256(first),
                                                 _mm256_castpd_si256(second));
        const __m256i bytes = _mm256_shuffle_epi8(at, _mm256_setr_epi8(
            0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
            -1, -1, 0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
        const int packed = _mm_cvtsi128_si32(_mm_or_si128(
            _mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1)));
        _mm256_storeu_pd(y + g, _mm256_blendv_pd(p, q, take));
        memcpy(idx + g, &packed, 4);
    }
    return g;
}

/* float16 on the keys of rk_half_key (rk_formulas.h), by RK_HALF_BEATS's
 * rule: a pair hands on the larger of its two keys (RK_PAIR_KEY). */
RK_INLINE __m256i rk_avx2_half_keys(__m256i h)
{
    const __m256i negative = _mm256_cmpgt_epi16(_mm256_set1_epi16(-1023), h);
    return _mm256_blendv_epi8(_mm256_and_si256(h, _mm256_set1_epi16(0x7fff)),
                              _mm256_sub_epi16(_mm256_set1_epi16(INT16_MIN), h), negative);
}

RK_INLINE __m256i rk_avx2_half_beats(__m256i v_key, __m256i b_key)
{
    return _mm256_andnot_si256(_mm256_cmpgt_epi16(b_key, _mm256_set1_epi16(0x7c00)),
                               _mm256_cmpgt_epi16(v_key, b_key));
}

/* Within each 128-bit lane: the even 16-bit elements into the low half,
 * the odd ones into the high half. */
RK_INLINE __m256i rk_avx2_part_halves(__m256i v)
{
    return _mm256_shuffle_epi8(v, _mm256_setr_epi8(
        0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
        0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15));
}

/* One round over two vectors of 16 values: even elements (a) against odd
 * ones (b); the winners, the larger keys and the flags, in the order of
 * the 64-bit unpack of the parted vectors. */
RK_INLINE void rk_avx2_half_round(__m256i v0, __m256i v1, __m256i *winner, __m256i *key,
                                  __m256i *second_wins)
{
    const __m256i p0 = rk_avx2_part_halves(v0), p1 = rk_avx2_part_halves(v1);
    const __m256i a = _mm256_unpacklo_epi64(p0, p1), b = _mm256_unpackhi_epi64(p0, p1);
    const __m256i key_a = rk_avx2_half_keys(a), key_b = rk_avx2_half_keys(b);
    *second_wins = rk_avx2_half_beats(key_b, key_a);
    *winner = _mm256_blendv_epi8(a, b, *second_wins);
    *key = _mm256_max_epi16(key_a, key_b);
}

/* Sixteen groups (64 halves) a step. */
RK_INLINE rk_intp rk_avx2_maxout4_groups_f16(rk_intp n, const uint16_t *x, uint16_t *y,
                                             uint8_t *idx)
{
    /* the last round holds, in 32-bit pairs, groups 0 1 4 5 8 9 12 13 |
     * 2 3 6 7 10 11 14 15 */
    const __m256i group_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i one = _mm256_set1_epi16(1);
    rk_intp g = 0;
    for (; g + 16 <= n; g += 16) {
        const uint16_t *in = x + 4 * g;
        __m256i winner[2], key[2], first[2];
        for (int h = 0; h < 2; h++) {   /* eight groups each: (a, c) against (b, d) */
            rk_avx2_half_round(_mm256_loadu_si256((const __m256i *)(const void *)(in + 32 * h)),
                               _mm256_loadu_si256((const __m256i *)(const void *)(in + 32 * h + 16)),
                               &winner[h], &key[h], &first[h]);
        }
        {                               /* the (a, b) winners against the (c, d) ones */
            const __m256i p0 = rk_avx2_part_halves(winner[0]);
            const __m256i p1 = rk_avx2_part_halves(winner[1]);
            const __m256i k0 = rk_avx2_part_halves(key[0]), k1 = rk_avx2_part_halves(key[1]);
            const __m256i f0 = rk_avx2_part_halves(first[0]);
            const __m256i f1 = rk_avx2_part_halves(first[1]);
            const __m256i take = rk_avx2_half_beats(_mm256_unpackhi_epi64(k0, k1),
                                                    _mm256_unpacklo_epi64(k0, k1));
            const __m256i won = _mm256_blendv_epi8(_mm256_unpacklo_epi64(p0, p1),
                                                   _mm256_unpackhi_epi64(p0, p1), take);
            const __m256i later = _mm256_blendv_epi8(_mm256_unpacklo_epi64(f0, f1),
                                                     _mm256_unpackhi_epi64(f0, f1), take);
            const __m256i at = _mm256_permutevar8x32_epi32(
                _mm256_or_si256(_mm256_and_si256(take, _mm256_set1_epi16(2)),
                                _mm256_and_si256(later, one)), group_order);
            _mm256_storeu_si256((__m256i *)(void *)(y + g),
                                _mm256_permutevar8x32_epi32(won, group_order));
            _mm_storeu_si128((__m128i *)(void *)(idx + g),
                             _mm_packus_epi16(_mm256_castsi256_si128(at),
                                              _mm256_extracti128_si256(at, 1)));
        }
    }
    return g;
}

/* maxout_backward over float64 groups of four side by side: a group's four
 * outputs in one store, dy's bits at the member the index names (checked
 * to be 0 to 3) and +0.0 at the others, where gcc's loop stored them one
 * by one. */
RK_INLINE void rk_avx2_scatter4_f64(const double *g, uint64_t at, double *out)
{
    const __m256i picked = _mm256_cmpeq_epi64(_mm256_set1_epi64x((long long)at),
                                              _mm256_setr_epi64x(0, 1, 2, 3));
    _mm256_storeu_pd(out, _mm256_and_pd(_mm256_broadcast_sd(g), _mm256_castsi256_pd(picked)));
}

#endif
#endif
