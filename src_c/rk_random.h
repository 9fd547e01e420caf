/*
 * The counter-based generator of RReLU's slopes: random bits that are a
 * function of (key, counter) alone, so that backward draws again exactly
 * what forward drew, in any order, on any split of the work, with nothing
 * stored.  Two rounds of a 32-bit integer hash (xor-shift-multiply, each a
 * bijection of 32 bits with full avalanche), the key's and the counter's
 * words mixed in between; 32-bit multiplies, which every vector unit has.
 */
#ifndef RK_RANDOM_H
#define RK_RANDOM_H

#include <stdint.h>

#include "rk_dtypes.h"

RK_INLINE uint32_t rk_hash32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

RK_INLINE uint32_t rk_random_bits(uint64_t key, uint64_t counter)
{
    const uint32_t h = rk_hash32((uint32_t)counter ^ (uint32_t)key);
    return rk_hash32(h ^ (uint32_t)(counter >> 32) ^ (uint32_t)(key >> 32));
}

/* The second key of a float64 draw, which takes 53 bits. */
#define RK_RANDOM_KEY_STEP 0x9e3779b97f4a7c15u

/* Uniform in [0, 1): 24 bits for float, 53 for double, each exact. */
RK_INLINE float rk_random_float(uint64_t key, uint64_t counter)
{
    return (float)(rk_random_bits(key, counter) >> 8) * 0x1p-24f;
}

RK_INLINE double rk_random_double(uint64_t key, uint64_t counter)
{
    const uint64_t high = rk_random_bits(key, counter) >> 11;
    const uint64_t low = rk_random_bits(key + RK_RANDOM_KEY_STEP, counter);
    return (double)((high << 32) | low) * 0x1p-53;
}

#endif
