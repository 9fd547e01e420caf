/*
 * Internal dtype support shared by every kernel file: the index type, the
 * IEEE binary16 conversions, and the token pasting used by the templates.
 *
 * Kernels are written once in a *.tmpl.h file and stamped out per dtype by
 * the rk_foreach_*.h headers, so each formula lives in one place.
 */
#ifndef RK_DTYPES_H
#define RK_DTYPES_H

#include <stdint.h>
#include <string.h>

#include "rectkern.h"

#if defined(_MSC_VER)
#  define RK_INLINE static __inline
#else
#  define RK_INLINE static inline
#endif

#if defined(_MSC_VER)
#  define RK_RESTRICT __restrict
#else
#  define RK_RESTRICT restrict
#endif

#define RK_CAT_(a, b) a##_##b
#define RK_CAT(a, b) RK_CAT_(a, b)
#define RK_CAT3(a, b, c) RK_CAT(RK_CAT(a, b), c)

/* Byte-offset pointer arithmetic: NumPy strides are in bytes. */
#define RK_AT(T, base, offset) ((T *)((char *)(base) + (offset)))
#define RK_CONST_AT(T, base, offset) \
    ((const T *)((const char *)(base) + (offset)))

/*
 * binary16 <-> binary32, integer-only so that the result does not depend on
 * the caller's floating-point environment (flush-to-zero, DAZ).  Rounding is
 * to nearest, ties to even, exactly as NumPy's float32 -> float16 cast.
 */
RK_INLINE float rk_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    float f;

    if (exponent == 0x1fu) {            /* inf or NaN */
        bits = sign | 0x7f800000u | (mantissa << 13);
    }
    else if (exponent != 0) {           /* normal: rebias 15 -> 127 */
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    }
    else if (mantissa == 0) {           /* signed zero */
        bits = sign;
    }
    else {                              /* subnormal: normalise */
        uint32_t shifts = 0;
        while (!(mantissa & 0x400u)) {
            mantissa <<= 1;
            shifts++;
        }
        bits = sign | ((113u - shifts) << 23) | ((mantissa & 0x3ffu) << 13);
    }
    memcpy(&f, &bits, sizeof f);
    return f;
}

RK_INLINE uint16_t rk_float_to_half(float f)
{
    uint32_t bits, magnitude, sign;

    memcpy(&bits, &f, sizeof bits);
    sign = (bits >> 16) & 0x8000u;
    magnitude = bits & 0x7fffffffu;

    if (magnitude > 0x7f800000u) {      /* NaN: keep it quiet, keep the payload top */
        return (uint16_t)(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    }
    if (magnitude >= 0x477ff000u) {     /* >= 65520 rounds to inf */
        return (uint16_t)(sign | 0x7c00u);
    }
    if (magnitude >= 0x38800000u) {     /* normal half: drop 13 bits, round */
        uint32_t h = (magnitude >> 13) - (112u << 10);
        uint32_t rest = magnitude & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) {
            h++;                        /* a carry into the exponent is right */
        }
        return (uint16_t)(sign | h);
    }
    {                                   /* subnormal half, or zero */
        uint32_t exponent = magnitude >> 23;
        uint32_t mantissa, shift, q, rest, halfway;
        if (exponent < 102u) {          /* below 2**-25: rounds to zero */
            return (uint16_t)sign;
        }
        mantissa = (magnitude & 0x7fffffu) | 0x800000u;
        shift = 126u - exponent;        /* 14 ... 24: units of 2**-24 */
        q = mantissa >> shift;
        rest = mantissa & ((1u << shift) - 1u);
        halfway = 1u << (shift - 1u);
        if (rest > halfway || (rest == halfway && (q & 1u))) {
            q++;
        }
        return (uint16_t)(sign | q);
    }
}

#endif
