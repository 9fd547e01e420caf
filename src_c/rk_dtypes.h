/*
 * Internal support shared by the kernels: the token pasting used by the
 * templates, byte-offset access, and the software binary16 conversions.
 *
 * Kernels are written once in a *.tmpl.h file and stamped out per dtype by
 * the rk_foreach_*.h headers, so each formula lives in one place.
 */
#ifndef RK_DTYPES_H
#define RK_DTYPES_H

#include <stdint.h>
#include <string.h>

#include "rectkern.h"

/* The kernels are inline loops called with constant strides, and they
 * vectorise only where the constants reach them, so inlining is forced
 * rather than left to the compiler's size heuristics.  A loop kept out of
 * line (RK_NOINLINE) gets its constants from a function of its own, not
 * from the compiler's cloning: when gcc once stopped cloning
 * prelu_backward's row loop for contiguous rows, after an unrelated edit,
 * float32 prelu_backward ran 3x slower. */
#if defined(_MSC_VER)
#  define RK_INLINE static __forceinline
#elif defined(__GNUC__)
#  define RK_INLINE static inline __attribute__((always_inline))
#else
#  define RK_INLINE static inline
#endif

/* A kernel kept out of its caller, so that the two are register-allocated
 * on their own (a large inlined loop can slow the caller's other loops). */
#if defined(_MSC_VER)
#  define RK_NOINLINE static __declspec(noinline)
#elif defined(__GNUC__)
#  define RK_NOINLINE static __attribute__((noinline))
#else
#  define RK_NOINLINE static
#endif

#if defined(_MSC_VER)
#  define RK_RESTRICT __restrict
#else
#  define RK_RESTRICT restrict
#endif

/* A hint to bring the cache line at p closer; a prefetch never faults,
 * but the kernels only ask for lines inside their arrays. */
#if defined(__GNUC__) || defined(__clang__)
#  define RK_PREFETCH(p) __builtin_prefetch(p)
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#  include <xmmintrin.h>
#  define RK_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#  define RK_PREFETCH(p) ((void)(p))
#endif

#define RK_CAT_(a, b) a##_##b
#define RK_CAT(a, b) RK_CAT_(a, b)
#define RK_CAT3(a, b, c) RK_CAT(RK_CAT(a, b), c)

/* Byte-offset pointer arithmetic: NumPy strides are in bytes. */
#define RK_AT(T, base, offset) ((T *)((char *)(base) + (offset)))
#define RK_CONST_AT(T, base, offset) \
    ((const T *)((const char *)(base) + (offset)))

RK_INLINE uint32_t rk_float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

RK_INLINE float rk_bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

RK_INLINE uint64_t rk_double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

RK_INLINE double rk_bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/*
 * binary16 <-> binary32 in software, for instruction sets without a
 * conversion instruction.  Both are branch-free (every case computed, one
 * selected) so that loops over them vectorise, and neither depends on the
 * flush-to-zero / denormals-are-zero modes: no float operation here has a
 * subnormal result.  Rounding is to nearest, ties to even, as NumPy's
 * float32 -> float16 cast (assuming the default rounding mode).
 */
RK_INLINE float rk_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t magnitude = h & 0x7fffu;
    /* normal: rebias the exponent 15 -> 127 */
    uint32_t normal = (magnitude << 13) + (112u << 23);
    /* inf / NaN: all-ones exponent, mantissa (payload) kept */
    uint32_t special = (magnitude << 13) | 0x7f800000u;
    /* zero / subnormal: mantissa * 2**-24, exact and a normal float */
    uint32_t tiny = rk_float_bits((float)(int32_t)magnitude * 5.9604644775390625e-8f);
    uint32_t bits = magnitude >= 0x7c00u ? special
                  : magnitude >= 0x0400u ? normal : tiny;
    return rk_bits_float(bits | sign);
}

RK_INLINE uint16_t rk_float_to_half(float f)
{
    uint32_t u = rk_float_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t magnitude = u & 0x7fffffffu;
    /* >= 65536 (or inf, NaN): inf, or a quiet NaN */
    uint32_t special = magnitude > 0x7f800000u ? 0x7e00u : 0x7c00u;
    /* below 2**-14: adding 0.5 rounds to a multiple of 2**-24 (the half
     * subnormal step) with the FPU's ties-to-even; the bits above 0.5's
     * are the half's.  A carry to 0x400 is the smallest normal, as it
     * should be. */
    uint32_t tiny = rk_float_bits(rk_bits_float(magnitude) + 0.5f) - 0x3f000000u;
    /* normal: rebias 127 -> 15 and round the 13 dropped bits to even; a
     * carry into the exponent is right (up to inf from 65520 on) */
    uint32_t odd = (magnitude >> 13) & 1u;
    uint32_t normal = (magnitude - (112u << 23) + 0xfffu + odd) >> 13;
    uint32_t h = magnitude >= 0x47800000u ? special
               : magnitude < 0x38800000u ? tiny : normal;
    return (uint16_t)(h | sign);
}

#endif
