/*
 * Blocks and chunks of binary16 (stored as uint16_t) to float32 and back:
 * the one place that knows how an instruction-set level converts.  x86-64
 * with F16C (the AVX2 and AVX-512 levels) converts 8 or 16 at a time in
 * hardware; every other level uses the software conversions of
 * rk_dtypes.h, which are exact and round to nearest even just the same, so
 * all levels give the same bits.
 *
 * float16 kernels run float kernels on converted values (the float32 ones,
 * or the elementwise ops' float16 formulas on floats; leaky_relu
 * and prelu forward select among the stored bits at AVX-512, below, and
 * maxout compares keys of the stored bits, never converted: in
 * maxout.tmpl.h, and for groups of four side by side at AVX-512 below).
 * Contiguous data goes a vector block of RK_HALF_BLOCK elements at a time:
 * the block is converted into a small buffer, the float loop runs on it
 * with that constant length, and its result is converted back, so that the
 * compiler keeps all three in registers and the data makes one pass.
 * Strided data and the ends of runs go by chunks of RK_HALF_CHUNK elements:
 * each operand's chunk converted into a buffer, the float kernel run on
 * the buffers, the result converted back (RK_HALF_UFUNC_LOOP, and the row
 * adapters of the templates).
 */
#ifndef RK_HALF_H
#define RK_HALF_H

#include "rk_dtypes.h"
#include "rk_formulas.h"

#define RK_HALF_CHUNK 512

#if defined(__F16C__) || (defined(_MSC_VER) && defined(__AVX2__))
#  include <immintrin.h>
#  define RK_HALF_CONVERSION "F16C"

#  if defined(__AVX512F__)
#    define RK_HALF_BLOCK 16

RK_INLINE void rk_half_block_to_floats(const char *src, float *RK_RESTRICT dst)
{
    __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)src);
    _mm512_storeu_ps(dst, _mm512_cvtph_ps(h));
}

RK_INLINE void rk_floats_to_half_block(const float *RK_RESTRICT src, char *dst)
{
    __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_si256((__m256i *)(void *)dst, h);
}
#  else
#    define RK_HALF_BLOCK 8

RK_INLINE void rk_half_block_to_floats(const char *src, float *RK_RESTRICT dst)
{
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)src);
    _mm256_storeu_ps(dst, _mm256_cvtph_ps(h));
}

RK_INLINE void rk_floats_to_half_block(const float *RK_RESTRICT src, char *dst)
{
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128((__m128i *)(void *)dst, h);
}
#  endif

RK_INLINE void rk_halves_to_floats(rk_intp n, const char *src, rk_intp stride,
                                   float *RK_RESTRICT dst)
{
    rk_intp i = 0;
    if (stride == 2) {
        for (; i + 8 <= n; i += 8) {
            __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i));
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
        }
    }
    for (; i < n; i++) {
        dst[i] = _cvtsh_ss(*RK_CONST_AT(uint16_t, src, i * stride));
    }
}

RK_INLINE void rk_floats_to_halves(rk_intp n, const float *RK_RESTRICT src,
                                   char *dst, rk_intp stride)
{
    rk_intp i = 0;
    if (stride == 2) {
        for (; i + 8 <= n; i += 8) {
            __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
            _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), h);
        }
    }
    for (; i < n; i++) {
        *RK_AT(uint16_t, dst, i * stride) =
            (uint16_t)_cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
    }
}
#else
#  define RK_HALF_CONVERSION "software"
#  define RK_HALF_BLOCK 8

RK_INLINE void rk_half_block_to_floats(const char *src, float *RK_RESTRICT dst)
{
    for (int i = 0; i < RK_HALF_BLOCK; i++) {
        dst[i] = rk_half_to_float(*RK_CONST_AT(uint16_t, src, 2 * i));
    }
}

RK_INLINE void rk_floats_to_half_block(const float *RK_RESTRICT src, char *dst)
{
    for (int i = 0; i < RK_HALF_BLOCK; i++) {
        *RK_AT(uint16_t, dst, 2 * i) = rk_float_to_half(src[i]);
    }
}

RK_INLINE void rk_halves_to_floats(rk_intp n, const char *src, rk_intp stride,
                                   float *RK_RESTRICT dst)
{
    if (stride == 2) {                  /* constant stride: vectorised */
        for (rk_intp i = 0; i < n; i++) {
            dst[i] = rk_half_to_float(*RK_CONST_AT(uint16_t, src, 2 * i));
        }
        return;
    }
    for (rk_intp i = 0; i < n; i++) {
        dst[i] = rk_half_to_float(*RK_CONST_AT(uint16_t, src, i * stride));
    }
}

RK_INLINE void rk_floats_to_halves(rk_intp n, const float *RK_RESTRICT src,
                                   char *dst, rk_intp stride)
{
    if (stride == 2) {
        for (rk_intp i = 0; i < n; i++) {
            *RK_AT(uint16_t, dst, 2 * i) = rk_float_to_half(src[i]);
        }
        return;
    }
    for (rk_intp i = 0; i < n; i++) {
        *RK_AT(uint16_t, dst, i * stride) = rk_float_to_half(src[i]);
    }
}
#endif

/*
 * leaky_relu forward (and prelu's) on RK_HALF_LEAKY_BLOCK contiguous
 * halves, slope alpha[i * alpha_step] (alpha_step 0 or 1).
 *
 * At AVX-512, a half above zero is its own result, so the selection is
 * made among the stored bits: as int16, x > 0 holds for +inf and the
 * positive NaNs too, which stay NaN.  Only alpha * x is computed in float32,
 * and its conversion back merges into the stored bits, with no float
 * compare or select (in cache, one process: 0.90x to 0.98x the time of
 * the float32 formula on the block).
 */
#if defined(__AVX512BW__) && defined(__AVX512VL__)
#  define RK_HALF_LEAKY_BLOCK 16

RK_INLINE void rk_half_leaky_block(const char *x, const float *RK_RESTRICT alpha,
                                   rk_intp alpha_step, char *y)
{
    const __m256i bits = _mm256_loadu_si256((const __m256i *)(const void *)x);
    const __mmask16 not_positive = _mm256_cmple_epi16_mask(bits, _mm256_setzero_si256());
    const __m512 a = alpha_step ? _mm512_loadu_ps(alpha) : _mm512_set1_ps(alpha[0]);
    const __m512 products = _mm512_mul_ps(a, _mm512_cvtph_ps(bits));
    _mm256_storeu_si256((__m256i *)(void *)y,
                        _mm512_mask_cvtps_ph(bits, not_positive, products,
                                             _MM_FROUND_TO_NEAREST_INT));
}

/*
 * maxout of groups of four halves side by side (axis last) into y and a
 * one-byte idx, 32 groups at a time: the tournament of maxout_small_groups
 * (maxout.tmpl.h) on rk_half_key's keys, by RK_HALF_BEATS's rule.  The
 * members are parted in two rounds of even and odd lanes, (a, c) from
 * (b, d) and then the pairs' winners, so that every compare takes whole
 * vectors (in cache, one process: 0.87x the time of that loop, which gcc
 * parts four ways at once).  Returns how many groups it did, a multiple
 * of 32; the caller does the rest.
 */
#  define RK_HALF_MAXOUT4 1      /* rk_half_maxout4_groups is here */

RK_INLINE __m512i rk_half_keys32(__m512i h)
{
    const __mmask32 negative = _mm512_cmplt_epi16_mask(h, _mm512_set1_epi16(-1023));
    return _mm512_mask_sub_epi16(_mm512_and_si512(h, _mm512_set1_epi16(0x7fff)), negative,
                                 _mm512_set1_epi16(INT16_MIN), h);
}

RK_INLINE __mmask32 rk_half_beats32(__m512i v_key, __m512i b_key)
{
    const __mmask32 b_number = _mm512_cmple_epi16_mask(b_key, _mm512_set1_epi16(0x7c00));
    return _mm512_mask_cmpgt_epi16_mask(b_number, v_key, b_key);
}

RK_INLINE rk_intp rk_half_maxout4_groups(rk_intp n, const char *x, char *y, char *idx)
{
    const __m512i even = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40,
                                          38, 36, 34, 32, 30, 28, 26, 24, 22, 20, 18, 16,
                                          14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi16(even, _mm512_set1_epi16(1));
    rk_intp g = 0;
    for (; g + 32 <= n; g += 32) {
        const char *in = x + 8 * g;
        __m512i winner[2], pair_key[2], first[2];
        for (int h = 0; h < 2; h++) {   /* 16 groups each: a and c, b and d */
            const __m512i lo = _mm512_loadu_si512((const void *)(in + 128 * h));
            const __m512i hi = _mm512_loadu_si512((const void *)(in + 128 * h + 64));
            const __m512i ac = _mm512_permutex2var_epi16(lo, even, hi);
            const __m512i bd = _mm512_permutex2var_epi16(lo, odd, hi);
            const __m512i key_ac = rk_half_keys32(ac), key_bd = rk_half_keys32(bd);
            const __mmask32 second_wins = rk_half_beats32(key_bd, key_ac);
            winner[h] = _mm512_mask_blend_epi16(second_wins, ac, bd);
            pair_key[h] = _mm512_max_epi16(key_ac, key_bd);     /* RK_PAIR_KEY */
            first[h] = _mm512_maskz_mov_epi16(second_wins, _mm512_set1_epi16(1));
        }
        {                               /* the (a, b) winners against the (c, d) ones */
            const __m512i w_ab = _mm512_permutex2var_epi16(winner[0], even, winner[1]);
            const __m512i w_cd = _mm512_permutex2var_epi16(winner[0], odd, winner[1]);
            const __m512i k_ab = _mm512_permutex2var_epi16(pair_key[0], even, pair_key[1]);
            const __m512i k_cd = _mm512_permutex2var_epi16(pair_key[0], odd, pair_key[1]);
            const __m512i j_ab = _mm512_permutex2var_epi16(first[0], even, first[1]);
            const __m512i j_cd = _mm512_permutex2var_epi16(first[0], odd, first[1]);
            const __mmask32 take = rk_half_beats32(k_cd, k_ab);
            const __m512i j = _mm512_mask_blend_epi16(
                take, j_ab, _mm512_add_epi16(j_cd, _mm512_set1_epi16(2)));
            _mm512_storeu_si512((void *)(y + 2 * g), _mm512_mask_blend_epi16(take, w_ab, w_cd));
            _mm256_storeu_si256((__m256i *)(void *)(idx + g), _mm512_cvtepi16_epi8(j));
        }
    }
    return g;
}
#else
#  define RK_HALF_LEAKY_BLOCK RK_HALF_BLOCK

/* the float32 formula on the converted block (selecting among the stored
 * bits was no faster at AVX2) */
RK_INLINE void rk_half_leaky_block(const char *x, const float *RK_RESTRICT alpha,
                                   rk_intp alpha_step, char *y)
{
    float xb[RK_HALF_BLOCK], yb[RK_HALF_BLOCK];
    rk_half_block_to_floats(x, xb);
    for (int i = 0; i < RK_HALF_BLOCK; i++) {
        const float ax = alpha[i * alpha_step] * xb[i];
        yb[i] = RK_LEAKY(xb[i], ax);
    }
    rk_floats_to_half_block(yb, y);
}
#endif

/*
 * A ufunc loop for float16 from a loop on floats (a macro, so that the call
 * is direct and inlined): inputs whose bit is set in half_inputs are
 * converted (alpha arrives as float32 already).  The chunked path: the
 * elementwise kernels run their contiguous blocks first and leave it the
 * strided runs and the last partial block.
 */
#define RK_HALF_UFUNC_LOOP(args, dims, steps, nin, half_inputs, float_loop)        \
    do {                                                                           \
        float buffers_[4][RK_HALF_CHUNK];                                          \
        char *chunk_args_[4];                                                      \
        rk_intp chunk_steps_[4];                                                   \
        const rk_intp n_ = (dims)[0];                                              \
        for (rk_intp i0_ = 0; i0_ < n_; i0_ += RK_HALF_CHUNK) {                    \
            const rk_intp m_ = n_ - i0_ < RK_HALF_CHUNK ? n_ - i0_ : RK_HALF_CHUNK; \
            for (int op_ = 0; op_ < (nin); op_++) {                                \
                const char *src_ = (args)[op_] + i0_ * (steps)[op_];               \
                if ((half_inputs) & (1u << op_)) {                                 \
                    rk_halves_to_floats(m_, src_, (steps)[op_], buffers_[op_]);    \
                    chunk_args_[op_] = (char *)buffers_[op_];                      \
                    chunk_steps_[op_] = (rk_intp)sizeof(float);                    \
                }                                                                  \
                else {                                                             \
                    chunk_args_[op_] = (char *)src_;                               \
                    chunk_steps_[op_] = (steps)[op_];                              \
                }                                                                  \
            }                                                                      \
            chunk_args_[nin] = (char *)buffers_[nin];                              \
            chunk_steps_[nin] = (rk_intp)sizeof(float);                            \
            float_loop(chunk_args_, &m_, chunk_steps_);                            \
            rk_floats_to_halves(m_, buffers_[nin], (args)[nin] + i0_ * (steps)[nin], \
                                (steps)[nin]);                                     \
        }                                                                          \
    } while (0)

#endif
