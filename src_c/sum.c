/*
 * The exact sum (rk_exact, rectkern.h), and the scalar parts of the binned
 * sums that feed it (rk_binned; rk_sum.h has their loops, per level).
 *
 * rk_exact: every finite double is a whole
 * number of units of 2^-1074, so a sum of doubles is an integer, kept in
 * 32-bit chunks of int64 words.  Adding is integer adding, which does not
 * depend on the order of the terms; the result is rounded once.  The same
 * representation serves every level, so it is compiled once.
 */
#include <string.h>

#include "rk_dtypes.h"

#define RK_CHUNK_MASK ((uint64_t)0xffffffffu)
#define RK_CHUNK_BASE ((int64_t)1 << 32)
/* Each add puts less than 2^32 into a chunk: 2^30 adds leave int64 room. */
#ifndef RK_EXACT_MAX_ADDS
#  define RK_EXACT_MAX_ADDS ((int64_t)1 << 30)
#endif

/* Chunks lo .. hi - 2 into [0, 2^32), their carries upwards; the top
 * chunk of the range (the last chunk at most) holds the sign. */
static void rk_exact_carry(rk_exact *sum)
{
    int64_t carry = 0;
    const int top = sum->hi < RK_EXACT_CHUNKS - 1 ? sum->hi : RK_EXACT_CHUNKS - 1;
    if (sum->hi == 0) {
        return;
    }
    for (int i = sum->lo; i < top; i++) {
        const int64_t v = sum->chunk[i] + carry;
        const int64_t low = (int64_t)((uint64_t)v & RK_CHUNK_MASK);
        carry = (v - low) / RK_CHUNK_BASE;      /* exact: no shift of a negative */
        sum->chunk[i] = low;
    }
    sum->chunk[top] += carry;
    sum->hi = top + 1;
    sum->adds = 0;
}

/* Chunks first .. last - 1 may now be nonzero. */
static void rk_exact_touch(rk_exact *sum, int first, int last)
{
    if (sum->hi == 0) {
        sum->lo = first;
        sum->hi = last;
        return;
    }
    sum->lo = first < sum->lo ? first : sum->lo;
    sum->hi = last > sum->hi ? last : sum->hi;
}

void rk_exact_add(rk_exact *sum, double x)
{
    uint64_t bits, m, lo, mid, hi;
    int e, i, shift;
    bits = rk_double_bits(x);
    e = (int)((bits >> 52) & 0x7ff);
    m = bits & (((uint64_t)1 << 52) - 1);
    if (e == 0x7ff) {
        if (m) {
            sum->nan = 1;
        }
        else if (bits >> 63) {
            sum->neg_inf = 1;
        }
        else {
            sum->pos_inf = 1;
        }
        return;
    }
    if (e == 0) {
        if (m == 0) {
            return;
        }
        e = 1;                          /* subnormal: the exponent of 2^-1022 */
    }
    else {
        m |= (uint64_t)1 << 52;
    }
    if (sum->adds >= RK_EXACT_MAX_ADDS) {
        rk_exact_carry(sum);
    }
    sum->adds++;
    /* x = m * 2^(e - 1075): m's lowest bit is bit e - 1 of the units, and m
     * (53 bits) shifted into place spans three chunks */
    i = (e - 1) >> 5;
    shift = (e - 1) & 31;
    lo = (m << shift) & RK_CHUNK_MASK;
    mid = (m >> (32 - shift)) & RK_CHUNK_MASK;
    hi = (m >> 32) >> (32 - shift);
    rk_exact_touch(sum, i, i + 3);
    if (bits >> 63) {
        sum->chunk[i] -= (int64_t)lo;
        sum->chunk[i + 1] -= (int64_t)mid;
        sum->chunk[i + 2] -= (int64_t)hi;
    }
    else {
        sum->chunk[i] += (int64_t)lo;
        sum->chunk[i + 1] += (int64_t)mid;
        sum->chunk[i + 2] += (int64_t)hi;
    }
}

double rk_exact_value(const rk_exact *sum)
{
    rk_exact s = *sum;
    uint64_t sign = 0, w, mant, rest, bits;
    const uint64_t *c;
    int top, lead, exponent, sticky = 0;
    if (s.nan || (s.pos_inf && s.neg_inf)) {
        bits = (uint64_t)0x7ff8 << 48;
        return rk_bits_double(bits);
    }
    if (s.pos_inf || s.neg_inf) {
        bits = ((uint64_t)0x7ff << 52) | ((uint64_t)s.neg_inf << 63);
        return rk_bits_double(bits);
    }
    rk_exact_carry(&s);
    if (s.hi == 0) {
        return 0.0;
    }
    if (s.chunk[s.hi - 1] < 0) {
        sign = (uint64_t)1 << 63;
        for (int i = s.lo; i < s.hi; i++) {
            s.chunk[i] = -s.chunk[i];
        }
        rk_exact_carry(&s);
    }
    c = (const uint64_t *)s.chunk;      /* every chunk in [0, 2^32) now */
    top = s.hi - 1;
    while (top >= s.lo && c[top] == 0) {
        top--;
    }
    if (top < s.lo) {
        return 0.0;
    }
    lead = 31;
    while (!((c[top] >> lead) & 1)) {
        lead--;
    }
    if (32 * top + lead < 53) {
        /* below 2^53 units of 2^-1074: a subnormal or the first binade,
         * whose bits are the units themselves */
        bits = sign | (top ? c[1] << 32 | c[0] : c[0]);
        return rk_bits_double(bits);
    }
    /* the 64 bits from the leading one down; those below them are sticky */
    {
        const uint64_t below = top >= 2 ? c[top - 2] : 0;
        w = (c[top] << (63 - lead)) | (c[top - 1] << (31 - lead)) | (below >> (lead + 1));
        sticky = (below & ((((uint64_t)1) << (lead + 1)) - 1)) != 0;
        for (int i = top - 3; i >= s.lo && !sticky; i--) {
            sticky = c[i] != 0;
        }
    }
    exponent = 32 * top + lead - 1074;
    mant = w >> 11;
    rest = w & 0x7ff;
    if (rest > 0x400 || (rest == 0x400 && (sticky || (mant & 1)))) {
        mant++;
        if (mant >> 53) {
            mant >>= 1;
            exponent++;
        }
    }
    if (exponent > 1023) {
        bits = sign | ((uint64_t)0x7ff << 52);
    }
    else {
        bits = sign | ((uint64_t)(exponent + 1023) << 52) | (mant & (((uint64_t)1 << 52) - 1));
    }
    return rk_bits_double(bits);
}

/* ---- rk_binned: the scalar parts */

static double rk_pow2(int k)
{
    return rk_bits_double((uint64_t)(k + 1023) << 52);
}

void rk_binned_init(rk_binned *b, rk_intp cols, double *bins, rk_exact *sums, rk_intp n_sums)
{
    b->limit = 0.0;
    b->m1 = b->m2 = 0.0;
    b->rows = 0;
    b->wide = 0;
    b->cols = cols;
    b->n_sums = n_sums;
    b->bins = bins;
    b->sums = sums;
    for (rk_intp c = 0; c < 2 * cols; c++) {
        bins[c] = 0.0;
    }
}

/* The bins into the exact sums.  The columns of one sum are added first
 * where their count times the rows stays within RK_BIN_EXACT_ROWS, so that
 * the total is as exact as each column's. */
void rk_binned_empty(rk_binned *b)
{
    const rk_intp cols = b->cols, n_sums = b->n_sums;
    if (cols % n_sums == 0 && b->rows * (cols / n_sums) <= RK_BIN_EXACT_ROWS) {
        for (rk_intp s = 0; s < n_sums; s++) {
            double bin1 = 0.0, bin2 = 0.0;
            for (rk_intp c = s; c < cols; c += n_sums) {
                bin1 += b->bins[c];
                bin2 += b->bins[cols + c];
            }
            rk_exact_add(&b->sums[s], bin1);
            rk_exact_add(&b->sums[s], bin2);
        }
    }
    else {
        for (rk_intp c = 0; c < 2 * cols; c++) {
            rk_exact_add(&b->sums[(c % cols) % n_sums], b->bins[c]);
        }
    }
    for (rk_intp c = 0; c < 2 * cols; c++) {
        b->bins[c] = 0.0;
    }
    b->rows = 0;
}

/* A grid for terms below 2^RK_GRID_MARGIN max (the bins emptied first if
 * it differs), or 0 when max is too large (or inf) for any. */
int rk_binned_regrid(rk_binned *b, double max)
{
    int g = (int)(rk_double_bits(max) >> 52) - 1022 + RK_GRID_MARGIN;
    double limit;
    if (g > RK_GRID_MAX) {
        return 0;
    }
    if (g < RK_GRID_MIN) {
        g = RK_GRID_MIN;
    }
    limit = rk_pow2(g);
    if (limit != b->limit) {
        rk_binned_empty(b);
        b->limit = limit;
        b->m1 = 1.5 * rk_pow2(g - RK_BIN_BITS + 52);
        b->m2 = 1.5 * rk_pow2(g - 2 * RK_BIN_BITS + 52);
    }
    return 1;
}

/* n rows of terms the grid cannot take, straight into the exact sums. */
void rk_binned_exactly(rk_binned *b, const double *t, rk_intp n)
{
    for (rk_intp r = 0; r < n; r++) {
        for (rk_intp c = 0; c < b->cols; c++) {
            rk_exact_add(&b->sums[c % b->n_sums], t[r * b->cols + c]);
        }
    }
}

/* The remainders below bin 2 of n rows, into the exact sums: the split
 * again, column by column from the bins it started from (saved1, saved2),
 * so that each sum rounds as it did. */
void rk_binned_remainders(const rk_binned *b, const double *t, rk_intp n,
                          const double *saved1, const double *saved2)
{
    const double m1 = b->m1, m2 = b->m2;
    for (rk_intp c = 0; c < b->cols; c++) {
        double a1 = saved1[c] + m1, a2 = saved2[c] + m2;
        for (rk_intp r = 0; r < n; r++) {
            const double v = t[r * b->cols + c];
            const double s1 = a1 + v, r1 = v - (s1 - a1);
            const double s2 = a2 + r1, r2 = r1 - (s2 - a2);
            if (r2 != 0.0) {
                rk_exact_add(&b->sums[c % b->n_sums], r2);
            }
            a1 = s1;
            a2 = s2;
        }
    }
}

