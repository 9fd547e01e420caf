/*
 * Exact sums at the speed of the loops that feed them (rk_binned, in
 * rectkern.h; the exact sum itself is sum.c's rk_exact).
 *
 * A grid for terms below limit = 2^g gives each column two bins, with
 * units u1 = 2^(g - RK_BIN_BITS) and u2 = 2^(g - 2 RK_BIN_BITS).  A bin is
 * summed offset by m = 1.5 * 2^52 u (a1 = m1 + bin1), which keeps it in a
 * binade whose doubles are u apart: s = a1 + t rounds t to a whole number
 * of u1, q1 = s - a1 and r1 = t - q1 are exact, and a1 = s holds
 * m1 + bin1 + q1 exactly; r1 goes into bin 2 the same way, and whatever of
 * r1 bin 2 cannot hold (r1 - q2, not zero for a term with bits below u2)
 * goes to the exact sum on its own.  Each step is exact, so neither the
 * grid nor the order of the terms changes the total; the grid decides
 * only how much work is left to the scalar exact sum.  A bin stays in its
 * binade while it holds less than 2^51 u1, so for RK_BIN_ROWS rows of terms
 * below 2^RK_BIN_BITS u1.
 */
#ifndef RK_SUM_H
#define RK_SUM_H

#include <math.h>

#include "rk_dtypes.h"

/* gcc and clang: vectors of the level's width (RK_SUM_WIDTH doubles), in
 * groups of 8 columns.  Written out because the loops' own vectorisation
 * sums each column in order along the rows instead.  Other compilers run
 * the plain loops; every path gives the same bits. */
#if defined(__GNUC__) && (defined(__SSE2__) || defined(__aarch64__))
#  define RK_SUM_VECTORS 1
#  if defined(__AVX512F__) && RK_ISA_LEVEL == RK_LEVEL_AVX512
#    define RK_SUM_WIDTH 8
#  elif defined(__AVX__)
#    define RK_SUM_WIDTH 4
#  else
#    define RK_SUM_WIDTH 2
#  endif
#  if defined(__SSE2__)
#    include <immintrin.h>
#  else
#    include <arm_neon.h>
#  endif
#  define RK_SUM_GROUP (8 / RK_SUM_WIDTH)     /* vectors in a group of 8 columns */
typedef double rk_sum_vec __attribute__((vector_size(RK_SUM_WIDTH * sizeof(double))));
typedef int64_t rk_sum_mask __attribute__((vector_size(RK_SUM_WIDTH * sizeof(double))));

RK_INLINE rk_sum_vec rk_sum_load(const double *p)
{
    rk_sum_vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

RK_INLINE void rk_sum_store(double *p, rk_sum_vec v)
{
    memcpy(p, &v, sizeof v);
}

/* The larger of a and b lane by lane, as bits of non-negative doubles:
 * the order of the doubles (a NaN above inf) where the level compares
 * 32-bit integers, and a double max (b where a is NaN) where it does not. */
RK_INLINE rk_sum_vec rk_sum_max_of(rk_sum_vec a, rk_sum_vec b)
{
#  if RK_SUM_WIDTH == 8
    return (rk_sum_vec)_mm512_max_epi32((__m512i)a, (__m512i)b);
#  elif RK_SUM_WIDTH == 4 && defined(__AVX2__)
    return (rk_sum_vec)_mm256_max_epi32((__m256i)a, (__m256i)b);
#  elif defined(__SSE2__)
    return (rk_sum_vec)_mm_max_pd((__m128d)a, (__m128d)b);
#  else
    return (rk_sum_vec)vmaxq_s32((int32x4_t)a, (int32x4_t)b);
#  endif
}
#endif

#ifdef RK_SUM_VECTORS
/* A split's lanes reduced: the largest term (a NaN wins) into *largest,
 * the remainder flags into *rest. */
RK_INLINE void rk_sum_reduce(const rk_sum_vec top[RK_SUM_GROUP], rk_sum_mask any,
                             double *largest, uint64_t *rest)
{
    for (int h = 0; h < RK_SUM_GROUP; h++) {
        for (int l = 0; l < RK_SUM_WIDTH; l++) {
            const double a = top[h][l];
            *largest = a > *largest || a != a ? a : *largest;
        }
    }
    for (int l = 0; l < RK_SUM_WIDTH; l++) {
        *rest |= (uint64_t)any[l];
    }
}
#endif

/* The largest |t| of n terms, or a double of its exponent (the grid needs
 * no more): the vectors keep the high words alone, which compare as
 * integers.  A NaN may count as largest (its piece then goes to the exact
 * sum term by term) or be left out (it reaches the sum through the
 * remainders, which it makes NaN). */
RK_INLINE double rk_sum_max(const double *RK_RESTRICT t, rk_intp n)
{
    double max = 0.0;
    rk_intp i = 0;
#ifdef RK_SUM_VECTORS
    const rk_sum_mask high = (rk_sum_mask){0} + (int64_t)0x7fffffff00000000;
    rk_sum_vec lanes[4] = {{0}};
    for (; i + 4 * RK_SUM_WIDTH <= n; i += 4 * RK_SUM_WIDTH) {
        for (int k = 0; k < 4; k++) {
            const rk_sum_mask bits = (rk_sum_mask)rk_sum_load(t + i + k * RK_SUM_WIDTH);
            lanes[k] = rk_sum_max_of((rk_sum_vec)(bits & high), lanes[k]);
        }
    }
    for (int k = 0; k < 4; k++) {
        for (int l = 0; l < RK_SUM_WIDTH; l++) {
            const double a = lanes[k][l];
            max = a > max || a != a ? a : max;
        }
    }
#endif
    for (; i < n; i++) {
        const double a = fabs(t[i]);
        max = a > max ? a : max;
    }
    return max;
}

/* n rows of cols columns into the bins of the grid (bin1 and bin2, cols
 * each).  Returns whether any term leaves a remainder below bin 2, and
 * puts the largest |t| in *max (as rk_sum_max): where it is not below the
 * grid's limit, the bins are not to be trusted. */
RK_INLINE int rk_binned_split(const double *RK_RESTRICT t, rk_intp n, rk_intp cols,
                              double m1, double m2,
                              double *RK_RESTRICT bin1, double *RK_RESTRICT bin2,
                              double *max)
{
    uint64_t rest = 0;          /* not zero where some remainder is not (NaN too) */
    double largest = 0.0;
    rk_intp c0 = 0;
#ifdef RK_SUM_VECTORS
    const rk_sum_vec m1v = (rk_sum_vec){0} + m1, m2v = (rk_sum_vec){0} + m2;
    const rk_sum_mask high = (rk_sum_mask){0} + (int64_t)0x7fffffff00000000;
    rk_sum_vec top[RK_SUM_GROUP] = {{0}};
    rk_sum_mask any = {0};
    for (; c0 + 8 <= cols; c0 += 8) {
        rk_sum_vec a1[RK_SUM_GROUP], a2[RK_SUM_GROUP];
        for (int h = 0; h < RK_SUM_GROUP; h++) {
            a1[h] = rk_sum_load(bin1 + c0 + RK_SUM_WIDTH * h) + m1v;
            a2[h] = rk_sum_load(bin2 + c0 + RK_SUM_WIDTH * h) + m2v;
        }
        for (rk_intp r = 0; r < n; r++) {
            for (int h = 0; h < RK_SUM_GROUP; h++) {
                const rk_sum_vec v = rk_sum_load(t + r * cols + c0 + RK_SUM_WIDTH * h);
                const rk_sum_vec s1 = a1[h] + v, r1 = v - (s1 - a1[h]);
                const rk_sum_vec s2 = a2[h] + r1;
                any |= r1 != s2 - a2[h];
                a1[h] = s1;
                a2[h] = s2;
                top[h] = rk_sum_max_of((rk_sum_vec)((rk_sum_mask)v & high), top[h]);
            }
        }
        for (int h = 0; h < RK_SUM_GROUP; h++) {
            rk_sum_store(bin1 + c0 + RK_SUM_WIDTH * h, a1[h] - m1v);
            rk_sum_store(bin2 + c0 + RK_SUM_WIDTH * h, a2[h] - m2v);
        }
    }
    rk_sum_reduce(top, any, &largest, &rest);
#endif
    for (rk_intp c = c0; c < cols; c++) {
        double a1 = bin1[c] + m1, a2 = bin2[c] + m2;
        for (rk_intp r = 0; r < n; r++) {
            const double v = t[r * cols + c], a = fabs(v);
            const double s1 = a1 + v, r1 = v - (s1 - a1);
            const double s2 = a2 + r1;
            rest |= r1 != s2 - a2;
            a1 = s1;
            a2 = s2;
            largest = a > largest || a != a ? a : largest;
        }
        bin1[c] = a1 - m1;
        bin2[c] = a2 - m2;
    }
    *max = largest;
    return rest != 0;
}

/* As rk_binned_split, with bin 1 alone: returns whether any term has bits
 * below it (then bin 1 is not to be trusted either: the piece goes again
 * through both bins). */
RK_INLINE int rk_binned_split_one(const double *RK_RESTRICT t, rk_intp n, rk_intp cols,
                                  double m1, double *RK_RESTRICT bin1, double *max)
{
    uint64_t rest = 0;
    double largest = 0.0;
    rk_intp c0 = 0;
#ifdef RK_SUM_VECTORS
    const rk_sum_vec m1v = (rk_sum_vec){0} + m1;
    const rk_sum_mask high = (rk_sum_mask){0} + (int64_t)0x7fffffff00000000;
    rk_sum_vec top[RK_SUM_GROUP] = {{0}};
    rk_sum_mask any = {0};
    for (; c0 + 8 <= cols; c0 += 8) {
        rk_sum_vec a1[RK_SUM_GROUP];
        for (int h = 0; h < RK_SUM_GROUP; h++) {
            a1[h] = rk_sum_load(bin1 + c0 + RK_SUM_WIDTH * h) + m1v;
        }
        for (rk_intp r = 0; r < n; r++) {
            for (int h = 0; h < RK_SUM_GROUP; h++) {
                const rk_sum_vec v = rk_sum_load(t + r * cols + c0 + RK_SUM_WIDTH * h);
                const rk_sum_vec s1 = a1[h] + v;
                any |= v != s1 - a1[h];
                a1[h] = s1;
                top[h] = rk_sum_max_of((rk_sum_vec)((rk_sum_mask)v & high), top[h]);
            }
        }
        for (int h = 0; h < RK_SUM_GROUP; h++) {
            rk_sum_store(bin1 + c0 + RK_SUM_WIDTH * h, a1[h] - m1v);
        }
    }
    rk_sum_reduce(top, any, &largest, &rest);
#endif
    for (rk_intp c = c0; c < cols; c++) {
        double a1 = bin1[c] + m1;
        for (rk_intp r = 0; r < n; r++) {
            const double v = t[r * cols + c], a = fabs(v);
            const double s1 = a1 + v;
            rest |= v != s1 - a1;
            a1 = s1;
            largest = a > largest || a != a ? a : largest;
        }
        bin1[c] = a1 - m1;
    }
    *max = largest;
    return rest != 0;
}

/* Adds rows x cols terms, t[r * cols + c] to column c; cols is b->cols,
 * passed apart so that a constant can reach the loops.  A piece of rows
 * goes through the grid in place, whose limit it is checked against as
 * it goes: a piece that outgrows it is split again on a new grid, from the
 * bins saved before it.  The grid is made finer for the next piece when
 * the largest term falls far below it.  Bin 1 alone is tried first; a
 * piece with bits below it goes through both bins again, and so do the
 * next RK_BIN_WIDE_PIECES pieces before bin 1 alone is tried again. */
RK_INLINE void rk_binned_add(rk_binned *b, const double *RK_RESTRICT t, rk_intp rows,
                             rk_intp cols)
{
    double *RK_RESTRICT saved = b->bins + 2 * cols;
    while (rows > 0) {
        rk_intp n = RK_BIN_ROWS - b->rows;
        double max;
        int rest;
        if (n == 0) {
            rk_binned_empty(b);
            n = RK_BIN_ROWS;
        }
        n = n < rows ? n : rows;
        if (b->limit == 0.0 && !rk_binned_regrid(b, rk_sum_max(t, n * cols))) {
            rk_binned_exactly(b, t, n);
            t += n * cols;
            rows -= n;
            continue;
        }
        for (rk_intp c = 0; c < 2 * cols; c++) {
            saved[c] = b->bins[c];
        }
        if (b->wide == 0) {
            /* narrow terms (float32 values) fit in bin 1 alone */
            if (!rk_binned_split_one(t, n, cols, b->m1, b->bins, &max) && max < b->limit) {
                b->rows += n;
                if (max < b->limit * RK_GRID_FALL && max != 0.0) {
                    rk_binned_regrid(b, max);
                }
                t += n * cols;
                rows -= n;
                continue;
            }
            for (rk_intp c = 0; c < cols; c++) {
                b->bins[c] = saved[c];
            }
            if (max < b->limit) {       /* bits below bin 1, not a new grid */
                b->wide = RK_BIN_WIDE_PIECES;
            }
        }
        else {
            b->wide--;
        }
        rest = rk_binned_split(t, n, cols, b->m1, b->m2, b->bins, b->bins + cols, &max);
        if (!(max < b->limit)) {
            for (rk_intp c = 0; c < 2 * cols; c++) {
                b->bins[c] = saved[c];
            }
            if (!rk_binned_regrid(b, max)) {
                rk_binned_exactly(b, t, n);
                t += n * cols;
                rows -= n;
                continue;
            }
            for (rk_intp c = 0; c < 2 * cols; c++) {
                saved[c] = b->bins[c];      /* emptied by the new grid */
            }
            rest = rk_binned_split(t, n, cols, b->m1, b->m2, b->bins, b->bins + cols, &max);
        }
        if (rest) {
            rk_binned_remainders(b, t, n, saved, saved + cols);
        }
        b->rows += n;
        if (max < b->limit * RK_GRID_FALL && max != 0.0) {
            rk_binned_regrid(b, max);
        }
        t += n * cols;
        rows -= n;
    }
}

#endif
