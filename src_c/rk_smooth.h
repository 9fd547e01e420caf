/*
 * The smooth activations (ELU, SELU, GELU in its erf and tanh forms, SiLU,
 * softplus), forward and backward, and the math they rest on, written in
 * plain IEEE double arithmetic with no libm call: every instruction-set
 * level gives the same bits (DESIGN.md 1b).  Nothing here depends on
 * contraction (the build has -ffp-contract=off), on the rounding mode
 * other than to nearest, or on flush-to-zero.
 *
 * Every function is branch-free: both sides of a select are computed, so
 * that gcc if-converts and vectorises the loops.  Comparisons use the C99
 * quiet macros; a NaN x (or dy) reaches the result through the arithmetic
 * of the side that is selected for it.  Inputs beyond a formula's range are
 * clamped first, so that no side computes inf - inf or inf * 0 for a
 * result that is finite or zero.
 *
 * rk_<op>_64 serve float64; rk_<op>_16 serve float16 (values arrive as
 * float and the result is rounded once more) and float32 where rk_ops.h
 * says so.  The _16 functions compute in double, where a float's
 * square is exact, with lower-degree approximations (relative error about
 * 2^-29 before the final rounding to float) and no double-double steps.
 * rk_elu_32 and rk_selu_32 compute in float, twice the lanes of a vector,
 * and so do ELU's, SELU's and softplus's gradients but in their far tails
 * (the float32 section, at the end).
 *
 * The _64 functions avoid the cancellations of the textbook forms:
 * 1 + erf, 1 + tanh and 1 + exp become erfc- and sigmoid-style forms
 * (1 + tanh(u) = 2 / (1 + exp(-2u))), exponentials of large arguments get
 * their argument as an exact double-double (x*x split by Veltkamp), the
 * derivatives' zeros are factored out of the formulas, and a result that
 * may be subnormal gets its power of two in the last multiplication.
 * Measured errors (ULP of the result against the correctly rounded value)
 * are beside each function.
 */
#ifndef RK_SMOOTH_H
#define RK_SMOOTH_H

#include <math.h>
#include <stdint.h>

#include "rk_dtypes.h"

/* ---------------------------------------------------------------- exact steps */

/* v rounded to an integer, ties to even, for |v| < 2^51: adding 1.5 * 2^52
 * leaves no fraction bits. */
#define RK_ROUND_SHIFT 0x1.8p52

RK_INLINE double rk_round_64(double v)
{
    return (v + RK_ROUND_SHIFT) - RK_ROUND_SHIFT;
}

/* 2^k for an integral k in [-1023, 1023], written into the exponent field:
 * the low bits of k + 1.5 * 2^52 + 1023 are the biased exponent.
 * k = -1023 gives +0.0, which the reductions below use for "underflows". */
RK_INLINE double rk_pow2_64(double k)
{
    return rk_bits_double(rk_double_bits(k + (RK_ROUND_SHIFT + 1023.0)) << 52);
}

/* v * 2^k for an integral k <= 2046, as two exact scalings by 2^(k/2):
 * the first leaves v normal whenever the result is not far below the
 * subnormal range, so the product rounds once, also to a subnormal.
 * k <= -2045 gives 0. */
RK_INLINE double rk_scale_64(double v, double k)
{
    double k1;
    k = isless(k, -2046.0) ? -2046.0 : k;
    k1 = rk_round_64(0.5 * k);
    return v * rk_pow2_64(k1) * rk_pow2_64(k - k1);
}

/* d * (h + l), l <= ulp(h): an infinite d gives d * h (its product with
 * l, of either sign or zero, would make it NaN). */
RK_INLINE double rk_times_dd_64(double d, double h, double l)
{
    const double low = d * l;
    return d * h + (isfinite(low) ? low : 0.0);
}

/* dy * (g + gl) * 2^k for k <= 0, as the gradients' branches for negative
 * x need it, x itself given: a |dy| above 2^511 is halved 512 times first
 * (exactly) and the power of two made up in k, so that dy * g cannot
 * overflow on the way to a small result.  The slope of a finite x is
 * never 0, however small: an infinite dy gives an infinity, as it does
 * with the exact slope.  At x = -inf the slope is 0 and dy * 0 is given. */
RK_INLINE double rk_scale_gradient_64(double dy, double g, double gl, double k, double x)
{
    const int big = isgreater(fabs(dy), 0x1p511);
    const double d = big ? dy * 0x1p-512 : dy;
    const double scaled = rk_scale_64(rk_times_dd_64(d, g, gl), big ? k + 512.0 : k);
    return isinf(x) ? dy * 0.0 * g : scaled;
}

/* v clamped to [lo, hi]; a NaN v is kept */
RK_INLINE double rk_clamp_64(double v, double lo, double hi)
{
    double t = isless(hi, v) ? hi : v;
    return isgreater(lo, t) ? lo : t;
}

/* s + *e = a + b exactly (Knuth's two-sum). */
RK_INLINE double rk_two_sum_64(double a, double b, double *e)
{
    double s = a + b;
    double bb = s - a;
    *e = (a - (s - bb)) + (b - bb);
    return s;
}

/* s + *e = a + b exactly, for |a| >= |b| (Dekker's fast two-sum). */
RK_INLINE double rk_fast_two_sum_64(double a, double b, double *e)
{
    double s = a + b;
    *e = b - (s - a);
    return s;
}

/* p + *e = a * b exactly (Dekker, with Veltkamp's split; no fma), for
 * |a|, |b| < 2^995 and a * b far from the subnormal range. */
RK_INLINE double rk_split_hi_64(double a)
{
    double c = 134217729.0 * a;         /* 2^27 + 1 */
    return c - (c - a);
}

RK_INLINE double rk_two_prod_64(double a, double b, double *e)
{
    double p = a * b;
    double ah = rk_split_hi_64(a), al = a - ah;
    double bh = rk_split_hi_64(b), bl = b - bh;
    *e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    return p;
}

/* (nh + nl) / (dh + dl), corrected by the exact remainder: the result is
 * within about 0.5 ULP.  Needs |quotient|, |dh| < 2^995. */
RK_INLINE double rk_div_dd_64(double nh, double nl, double dh, double dl)
{
    double e;
    double q = nh / dh;
    double p = rk_two_prod_64(q, dh, &e);
    double r = (((nh - p) - e) + nl) - q * dl;
    return q + r / dh;
}

/* (h + hl)(m + ml) as hi + *lo, for factors far from overflow */
RK_INLINE double rk_mul_dd_64(double h, double hl, double m, double ml, double *lo)
{
    double e;
    double p = rk_two_prod_64(h, m, &e);
    *lo = e + (h * ml + hl * m);
    return p;
}

/* ---------------------------------------------------------------- exp, expm1 */

#define RK_LOG2E   0x1.71547652b82fep+0
#define RK_LN2     0x1.62e42fefa39efp-1
#define RK_LN2_HI  0x1.62e42fee00000p-1  /* 32 bits: k * RK_LN2_HI is exact */
#define RK_LN2_LO  0x1.a39ef35793c76p-33
/* Clamps of the reduction: 709 keeps k <= 1023; at -1480 (k = -2135) the
 * exponential is so far below the subnormals that even a gradient dy of
 * 2^1024 times it, and times x, underflows to 0 (rk_scale_gradient_64),
 * as for every x beyond. */
#define RK_EXP_MIN_64 (-1480.0)
#define RK_EXP_MAX_64 709.0

/* (expm1(r) - r) / r^2 on |r| <= ln2/2: max error 2^-59.2 */
RK_INLINE double rk_exp_poly_64(double t)
{
    double p = 0x1.1f7a9bed5af81p-29;
    p = p * t + 0x1.af4ef2dc9831bp-26;
    p = p * t + 0x1.27e4d74345824p-22;
    p = p * t + 0x1.71de0198e3498p-19;
    p = p * t + 0x1.a01a01a857f27p-16;
    p = p * t + 0x1.a01a01ac24439p-13;
    p = p * t + 0x1.6c16c16c15fa0p-10;
    p = p * t + 0x1.1111111110047p-7;
    p = p * t + 0x1.5555555555556p-5;
    p = p * t + 0x1.5555555555557p-3;
    p = p * t + 0x1.0000000000000p-1;
    return p;
}

/* h + l = k ln2 + r + *c, |r| <= ln2/2 (Cody and Waite with a two-part
 * ln2; r + *c carries the low part of a double-double argument).  Returns
 * k, integral, in [-2135, 1023]. */
RK_INLINE double rk_exp_reduce_64(double h, double l, double *r, double *c)
{
    double hc = rk_clamp_64(h, RK_EXP_MIN_64, RK_EXP_MAX_64);
    double k = rk_round_64(hc * RK_LOG2E);
    double rh = hc - k * RK_LN2_HI;     /* exact */
    double rl = l - k * RK_LN2_LO;
    *r = rk_two_sum_64(rh, rl, c);
    return k;
}

/* expm1(r + c) - r, for a reduced argument */
RK_INLINE double rk_expm1_tail_64(double r, double c)
{
    return r * r * rk_exp_poly_64(r) + (c + c * r);
}

/* The exp core shared by the float64 functions:
 * exp(h + l) = (p + *lo) * 2^*k with p in [0.70, 1.42], |*lo| <= ulp(p),
 * p + *lo within 2^-55.7 relative (1 + r is split exactly, so the sum keeps
 * the tail's accuracy).  h in [-1480, 709] (clamped), |l| <= ulp(h);
 * apply 2^k with rk_scale_64 after the other factors. */
RK_INLINE double rk_exp_core_64(double h, double l, double *lo, double *k)
{
    double r, c, e;
    *k = rk_exp_reduce_64(h, l, &r, &c);
    double tail = rk_expm1_tail_64(r, c);
    double one_r = rk_fast_two_sum_64(1.0, r, &e);
    double t = e + tail;
    double p = one_r + t;
    *lo = (one_r - p) + t;
    return p;
}

/* expm1(w) for w <= 709 (below -40 it is -1): 2^k - 1 (exact for the k
 * used) plus 2^k expm1(r), added with the rounding error kept.  Keeps the
 * sign of a zero.  Max 0.71 ULP over [-40, 2]. */
RK_INLINE double rk_expm1_64(double w)
{
    double r, c, e;
    double wc = isgreater(-40.0, w) ? -40.0 : w;
    double k = rk_exp_reduce_64(wc, 0.0, &r, &c);
    double tail = rk_expm1_tail_64(r, c);
    double s = rk_pow2_64(k);
    double h = rk_two_sum_64(-(1.0 - s), s * r, &e);
    double y = h + (e + s * tail);
    return w == 0 ? w : y;
}

/* The float16 formulas' exp, in double: exp(h) = (1 + m) * 2^k, m =
 * expm1(r), relative error about 2^-32.  h is clamped to [-709, 709]:
 * below -708.7, k = -1023 and the result is exactly 0. */
/* (expm1(r) - r) / r^2 on |r| <= ln2/2: max error 2^-29.2 */
RK_INLINE double rk_exp_poly_16(double t)
{
    double p = 0x1.a17119889c995p-13;
    p = p * t + 0x1.6d2ddeebfe7b3p-10;
    p = p * t + 0x1.1110b566a62f6p-7;
    p = p * t + 0x1.55550232747b2p-5;
    p = p * t + 0x1.5555556cf48d7p-3;
    p = p * t + 0x1.0000000000000p-1;
    return p;
}

RK_INLINE double rk_exp_reduce_16(double h, double *r)
{
    double hc = rk_clamp_64(h, -709.0, 709.0);
    double k = rk_round_64(hc * RK_LOG2E);
    *r = hc - k * RK_LN2;               /* error |k| 2^-55 */
    return k;
}

/* expm1(r), keeping the sign of r (also of a zero) */
RK_INLINE double rk_expm1_red_16(double r)
{
    return r * (1.0 + r * rk_exp_poly_16(r));
}

RK_INLINE double rk_exp_16(double h)
{
    double r;
    double k = rk_exp_reduce_16(h, &r);
    return (1.0 + rk_expm1_red_16(r)) * rk_pow2_64(k);
}

/* expm1(h) for h <= 709 (-1 below -709); keeps the sign of a zero */
RK_INLINE double rk_expm1_16(double h)
{
    double r;
    double s = rk_pow2_64(rk_exp_reduce_16(h, &r));
    return -(1.0 - s) + s * rk_expm1_red_16(r);
}

/* ---------------------------------------------------------------- log1p */

#define RK_SQRT2 0x1.6a09e667f3bcdp+0

/* (2 atanh(s) - 2s) / s^3 as a polynomial in z = s^2, z <= 0.0295 (float64),
 * max error 2^-51.5, and z <= 1/9 (float32), max error 2^-27.1 */
RK_INLINE double rk_log_poly_64(double t)
{
    double p = 0x1.2b5e10e2d9ad9p-3;
    p = p * t + 0x1.39fde62e2b422p-3;
    p = p * t + 0x1.7462b85db9c02p-3;
    p = p * t + 0x1.c71c62d8f5081p-3;
    p = p * t + 0x1.2492492df9a32p-2;
    p = p * t + 0x1.99999999952c8p-2;
    p = p * t + 0x1.5555555555558p-1;
    return p;
}
RK_INLINE double rk_log_poly_16(double t)
{
    double p = 0x1.dc3bfc1fcfcedp-3;
    p = p * t + 0x1.bc6b9b877021cp-3;
    p = p * t + 0x1.24ca459bdaf6cp-2;
    p = p * t + 0x1.9998ce8956503p-2;
    p = p * t + 0x1.5555558f739f0p-1;
    return p;
}

/* log1p(t + tl) for t in [0, 1], |tl| <= ulp(t): 1 + t = u + c exactly,
 * log(u) = k ln2 + log1p(f) with u = 2^k (1 + f), f in [-0.29, 0.42] exact,
 * log1p(f) = 2 atanh(f / (2 + f)) in fdlibm's arrangement, and c / u for the
 * rest.  Max 0.74 ULP. */
RK_INLINE double rk_log1p_64(double t, double tl)
{
    double c;
    double u = rk_fast_two_sum_64(1.0, t, &c);
    int big = isgreater(u, RK_SQRT2);
    double k = big ? 1.0 : 0.0;
    double f = (big ? 0.5 * u : u) - 1.0;           /* exact */
    double s = f / (2.0 + f);
    double z = s * s;
    double hfsq = 0.5 * f * f;
    double r = z * rk_log_poly_64(z);
    double lo = k * RK_LN2_LO + (c + tl) / u;
    return k * RK_LN2_HI + (f - (hfsq - (s * (hfsq + r) + lo)));
}

/* ---------------------------------------------------------------- constants */

/* SELU as PyTorch */
#define RK_SELU_ALPHA 0x1.ac5afad782cf1p+0  /* 1.6732632423543772848... */
#define RK_SELU_SCALE 0x1.0cfabd6a91132p+0  /* 1.0507009873554804934... */
#define RK_SELU_SA    0x1.c212cc640f031p+0  /* their product, rounded once */

/* SiLU's derivative is zero at x0 = -1.27846..., the root of
 * 1 + x + exp(x); RK_SILU_E0 = exp(x0). */
#define RK_SILU_X0_HI (-0x1.474973c84120bp+0)
#define RK_SILU_X0_LO (-0x1.f8d74bc9ac154p-54)
#define RK_SILU_E0    0x1.1d25cf210482ep-2

/* GELU's derivative is zero at x = -a0, a0 = 0.75179..., the root of
 * Phi(-a) = a phi(a). */
#define RK_GELU_A0_HI 0x1.80ead197f00b4p-1
#define RK_GELU_A0_LO (-0x1.13e74c58cada8p-56)

/* gelu_tanh: 2u = x (c1 + c3 x^2), c1 = 2 sqrt(2/pi), c3 = 0.044715 c1;
 * its derivative is zero at x0 = -0.75246..., the root of
 * 1 + exp(v) + x v', v = 2u; RK_GT_E0 = exp(v(x0)). */
#define RK_GT_C1_HI   0x1.9884533d43651p+0
#define RK_GT_C1_LO   (-0x1.cbc0d30ebfd15p-54)
#define RK_GT_C3_HI   0x1.2444f2a4d8b4bp-4
#define RK_GT_C3_LO   (-0x1.6c843a29d1c70p-61)
#define RK_GT_3C3     0x1.b6676bf7450f0p-3
#define RK_GT_3C3_LO  0x1.bba7351828aabp-57
#define RK_GT_X0_HI   (-0x1.81429f9e97e4dp-1)
#define RK_GT_X0_LO   0x1.4f523ed77dbdcp-55
#define RK_GT_E0      0x1.2af64e9c485eep-2

/* ---------------------------------------------------------------- GELU's erfc */

/*
 * Phi(-a), a >= 0, is written exp(-a^2/2) M(a) with M(a) = erfcx(a/sqrt2)/2,
 * and M(a) = H(t) / (a + K) with t = (a - K) / (a + K) in [-1, 1): one
 * polynomial in t covers a from 0 to the underflow, with no piece to
 * select.  The derivative's form is S(t) = (M(a) - a/sqrt(2 pi)) / (a - a0),
 * so that Phi(-a) - a phi(a) = exp(-a^2/2) (a - a0) S has its zero a0
 * factored out and does not cancel there.
 * Relative errors of the polynomials (coefficients as rounded):
 *   H, float64, K = 6, a in [0, 40]: 2^-56.0;  S, float64, K = 6, a in [0, 54]: 2^-58.0
 *   H, float32, K = 5, a in [0, 14.5]: 2^-33.6; S, float32, K = 4, a in [0, 20]: 2^-30.9
 */
#define RK_GELU_K_64  6.0
#define RK_GELU_K_16  5.0
#define RK_GELU_KS_16 4.0
/* H and S from their t^2 term on; c0 and c1 are double-doubles */
#define RK_GELU_H_C0_HI 0x1.8e010d2b8a0eap-1
#define RK_GELU_H_C0_LO -0x1.a5626432acd99p-55
#define RK_GELU_H_C1_HI -0x1.66eaa7d09640ep-1
#define RK_GELU_H_C1_LO -0x1.a7e5f62401cd5p-57
RK_INLINE double rk_gelu_h2_64(double t)
{
    double p = 0x1.6d7b935ec5bdap-31;
    p = p * t + 0x1.3eabf78a28039p-28;
    p = p * t + 0x1.7cc186c92a25ap-38;
    p = p * t + -0x1.6f4056502774dp-25;
    p = p * t + 0x1.596423717ba3fp-27;
    p = p * t + 0x1.4cf24f4266456p-22;
    p = p * t + -0x1.cf36cbb59d4d2p-22;
    p = p * t + -0x1.e3116ae9a96bep-20;
    p = p * t + 0x1.c8280fcee037ep-18;
    p = p * t + 0x1.20b7820a22fadp-20;
    p = p * t + -0x1.0f973d4f359c7p-14;
    p = p * t + 0x1.7c572319bcff1p-13;
    p = p * t + 0x1.13bbf53ae5e21p-15;
    p = p * t + -0x1.1764cd565cfc7p-9;
    p = p * t + 0x1.48a83bcd09137p-7;
    p = p * t + -0x1.fba9d530ba85dp-6;
    p = p * t + 0x1.33e777760e0a5p-4;
    p = p * t + -0x1.38b069dbb38c9p-3;
    p = p * t + 0x1.1267d7383d82bp-2;
    p = p * t + -0x1.a7d6577269c58p-2;
    p = p * t + 0x1.234fe3fd925c3p-1;
    return p;
}
#define RK_GELU_S_C0_HI -0x1.c6657e6853013p-2
#define RK_GELU_S_C0_LO -0x1.954351c7ef724p-57
#define RK_GELU_S_C1_HI 0x1.4376b99ad94a5p-4
#define RK_GELU_S_C1_LO 0x1.2fa708e49c539p-66
RK_INLINE double rk_gelu_s2_64(double t)
{
    double p = -0x1.30406f2787819p-33;
    p = p * t + -0x1.12d3ac0474a93p-32;
    p = p * t + 0x1.a798958682ba0p-30;
    p = p * t + 0x1.de2b1b2a46328p-30;
    p = p * t + -0x1.f1adc4ff1abd7p-27;
    p = p * t + 0x1.e9110ef0321f3p-29;
    p = p * t + 0x1.02b5f3b16a4ecp-23;
    p = p * t + -0x1.22473bb0e605bp-22;
    p = p * t + -0x1.1d88884513661p-21;
    p = p * t + 0x1.1e1df1783ed4ap-18;
    p = p * t + -0x1.129edb96bfa01p-17;
    p = p * t + -0x1.36b8540bf5700p-16;
    p = p * t + 0x1.91002c783b96dp-13;
    p = p * t + -0x1.a6077a522ab6ep-11;
    p = p * t + 0x1.40193e036d876p-9;
    p = p * t + -0x1.8a93fa4ede9afp-8;
    p = p * t + 0x1.9fa21f525b03ep-7;
    p = p * t + -0x1.807d2b6b88d94p-6;
    p = p * t + 0x1.3dc104a8b1d80p-5;
    p = p * t + -0x1.dac68526dfb86p-5;
    return p;
}
/* H' and S', to 2^-14 relative to H and S */
RK_INLINE double rk_gelu_hd_64(double t)
{
    double p = 0x1.5b045bf81b2c6p-4;
    p = p * t + -0x1.ecafb125d1828p-3;
    p = p * t + 0x1.ca979d8889043p-2;
    p = p * t + -0x1.81c4751ef2567p-1;
    p = p * t + 0x1.127ae0778c76fp+0;
    p = p * t + -0x1.3e37df6c879fdp+0;
    p = p * t + 0x1.23529e772d045p+0;
    p = p * t + -0x1.66e760eaa101ep-1;
    return p;
}
RK_INLINE double rk_gelu_sd_64(double t)
{
    double p = -0x1.c36ed76ece6c6p-8;
    p = p * t + 0x1.41532a3f49ac5p-6;
    p = p * t + -0x1.266602aad1e55p-5;
    p = p * t + 0x1.fdd3fb703f20dp-5;
    p = p * t + -0x1.805981504bfbfp-4;
    p = p * t + 0x1.dd55bcbd09a9dp-4;
    p = p * t + -0x1.dad21d3c7d6dap-4;
    p = p * t + 0x1.43731fc8dec63p-4;
    return p;
}
RK_INLINE double rk_gelu_h_16(double t)
{
    double p = -0x1.ceca5859e8687p-15;
    p = p * t + -0x1.67ffcfe67f6c4p-15;
    p = p * t + 0x1.2309a9c724682p-11;
    p = p * t + -0x1.a531679027d75p-11;
    p = p * t + -0x1.88ee05ad4c34bp-9;
    p = p * t + 0x1.54b813a87868ep-6;
    p = p * t + -0x1.1b1b563323ad6p-4;
    p = p * t + 0x1.51f62bda63e07p-3;
    p = p * t + -0x1.410ed98b35f37p-2;
    p = p * t + 0x1.fb31655521f74p-2;
    p = p * t + -0x1.54ad03e9d0434p-1;
    p = p * t + 0x1.89d3abe1d98b3p-1;
    return p;
}
RK_INLINE double rk_gelu_s_16(double t)
{
    double p = 0x1.7fd290524af99p-22;
    p = p * t + 0x1.1b4f39a07d592p-16;
    p = p * t + 0x1.beb28f026b3f2p-17;
    p = p * t + -0x1.862551bdddedap-13;
    p = p * t + 0x1.47d1f7991d9c7p-13;
    p = p * t + 0x1.d4d804e3bca29p-10;
    p = p * t + -0x1.3777d0b6246c2p-7;
    p = p * t + 0x1.cc1dfea4713d5p-6;
    p = p * t + -0x1.ef4feda4cbd33p-5;
    p = p * t + 0x1.a763007115757p-4;
    p = p * t + -0x1.d94de787b096fp-2;
    return p;
}

/* ---------------------------------------------------------------- float64 */

/* Measured max error (ULP; 10^6 float64 points against binary128 and
 * mpmath, 10^7 float32 points, dy = 1 and random dy for the backward):
 * elu 0.76 / 1.43 (forward / backward), float32 0.51 / 0.50 */
RK_INLINE double rk_elu_64(double x, double alpha)
{
    double m = rk_expm1_64(x);
    return isgreater(x, 0) ? x : alpha * m;
}

RK_INLINE double rk_elu_backward_64(double dy, double x, double alpha)
{
    double lo, k;
    double p = rk_exp_core_64(x, 0.0, &lo, &k);
    return isgreater(x, 0) ? dy : rk_scale_gradient_64(dy, alpha * p, 0.0, k, x);
}

/* selu 1.57 / 1.92, float32 0.51 / 0.50 */
RK_INLINE double rk_selu_64(double x)
{
    double m = rk_expm1_64(x);
    return isgreater(x, 0) ? RK_SELU_SCALE * x : RK_SELU_SA * m;
}

RK_INLINE double rk_selu_backward_64(double dy, double x)
{
    double lo, k;
    double p = rk_exp_core_64(x, 0.0, &lo, &k);
    return isgreater(x, 0) ? dy * RK_SELU_SCALE
                           : rk_scale_gradient_64(dy, RK_SELU_SA * p, 0.0, k, x);
}

/* sigmoid pieces shared by SiLU, softplus and gelu_tanh: e = exp(-|v|) =
 * (p + lo) 2^k, and 1 + e = d + *dl exactly. */
RK_INLINE double rk_one_plus_64(double p, double lo, double k, double *dl)
{
    double e = rk_scale_64(p, k);
    double d = rk_fast_two_sum_64(1.0, e, dl);
    *dl += rk_scale_64(lo, k);
    return d;
}

/* silu 1.00 / 2.25 (backward within 2^-8 of x0: 0.92 ulp(2^-10) |dy|),
 * float32 0.50 / 0.51. */
/* x / (1 + exp(-x)): for x >= 0, x / (1 + e); for x < 0, x e / (1 + e) with
 * x e exact and 2^k applied last.  Both quotients corrected by the
 * remainder.  Exactly x above 40. */
RK_INLINE double rk_silu_64(double x)
{
    double lo, k, dl, nl;
    double xc = rk_clamp_64(x, RK_EXP_MIN_64, 40.0);
    double p = rk_exp_core_64(-fabs(x), 0.0, &lo, &k);
    double d = rk_one_plus_64(p, lo, k, &dl);
    double nh = rk_two_prod_64(xc, p, &nl);
    int pos = isgreaterequal(x, 0);
    double y = rk_div_dd_64(pos ? xc : nh, pos ? 0.0 : nl + xc * lo, d, dl);
    y = rk_scale_64(y, pos ? 0.0 : k);
    return (isgreater(x, 40.0) || x == 0) ? x : y;
}

/* s (1 + x (1 - s)) = (1 + e (1 + x)) / (1 + e)^2 for x >= 0 (e = exp(-x)),
 * and e N / (1 + e)^2 for x < 0 (e = exp(x)), N = 1 + x + e, with 1 + x
 * split exactly.  Within 1/8 of N's zero x0, where that form cancels,
 * N = N(x) - N(x0) = d (1 + e0 expm1(d) / d), d = x - x0: the factor is
 * near 1.28 and does not cancel. */
RK_INLINE double rk_silu_backward_64(double dy, double x)
{
    double lo, k, dl, sl, npl, e1, e2, e3, nl, ql;
    double xc = rk_clamp_64(x, RK_EXP_MIN_64, 60.0);
    double p = rk_exp_core_64(-fabs(x), 0.0, &lo, &k);
    double d = rk_one_plus_64(p, lo, k, &dl);
    double sh = rk_two_prod_64(d, d, &sl);
    sl += 2.0 * d * dl;
    double e = rk_scale_64(p, k);
    double nph = rk_fast_two_sum_64(1.0, e * (1.0 + xc), &npl);
    /* near x0: x - x0 = dh - x0_lo, dh exact */
    double dh = xc - RK_SILU_X0_HI;
    double f = 1.0 + RK_SILU_E0 * (1.0 + dh * rk_exp_poly_64(dh));
    double n1 = rk_two_prod_64(dh, f, &e1);
    double n1l = e1 - RK_SILU_X0_LO * f;
    /* elsewhere */
    double s1 = rk_two_sum_64(1.0, xc, &e2);
    double n2 = rk_two_sum_64(s1, e + e2, &e3);
    int near = isless(fabs(dh), 0.125);
    double nh = near ? n1 : n2;
    nl = near ? n1l : e3;
    double qh = rk_mul_dd_64(p, lo, nh, nl, &ql);
    int pos = isgreaterequal(x, 0);
    double g = rk_div_dd_64(pos ? nph : qh, pos ? npl : ql, sh, sl);
    return pos ? dy * g : rk_scale_gradient_64(dy, g, 0.0, k, x);
}

/* softplus 1.14 / 1.45, float32 0.50 / 0.50 */
/* max(x, 0) + log1p(exp(-|x|)), exp as a double-double */
RK_INLINE double rk_softplus_64(double x)
{
    double lo, k;
    double p = rk_exp_core_64(-fabs(x), 0.0, &lo, &k);
    double l = rk_log1p_64(rk_scale_64(p, k), rk_scale_64(lo, k));
    return isgreater(x, 0) ? x + l : l;
}

/* dy sigmoid(x): dy / (1 + e) for x >= 0, dy e / (1 + e) for x < 0 */
RK_INLINE double rk_softplus_backward_64(double dy, double x)
{
    double lo, k, dl;
    double p = rk_exp_core_64(-fabs(x), 0.0, &lo, &k);
    double d = rk_one_plus_64(p, lo, k, &dl);
    int pos = isgreaterequal(x, 0);
    double g = rk_div_dd_64(pos ? 1.0 : p, pos ? 0.0 : lo, d, dl);
    return pos ? dy * g : rk_scale_gradient_64(dy, g, 0.0, k, x);
}

/* exp(-a^2/2) = (p + *lo) 2^*k with a^2 split exactly */
RK_INLINE double rk_exp_half_square_64(double a, double *lo, double *k)
{
    double sl;
    double sh = rk_two_prod_64(a, a, &sl);
    return rk_exp_core_64(-0.5 * sh, -0.5 * sl, lo, k);
}

/* t = (a - K) / (a + K) = th + *tl and 1 / (a + K) = inv + *il, each to
 * about 2^-100: a rounded t would cost GELU up to 3 ULP near a = 0 (H and
 * S are steep in t there), so H(t) is evaluated as H(th) + tl H'(th). */
RK_INLINE double rk_gelu_t_64(double a, double *tl, double *inv, double *il)
{
    double nl, dl, e1, e2;
    double nh = rk_two_sum_64(a, -RK_GELU_K_64, &nl);
    double dh = rk_two_sum_64(a, RK_GELU_K_64, &dl);
    double i = 1.0 / dh;
    double p1 = rk_two_prod_64(i, dh, &e1);
    *il = (((1.0 - p1) - e1) - i * dl) * i;
    double th = nh * i;
    double p2 = rk_two_prod_64(th, dh, &e2);
    *tl = ((((nh - p2) - e2) + nl) - th * dl) * i;
    *inv = i;
    return th;
}

/* c0 + t (c1 + t r) with the two last steps exact: hi + *lo */
RK_INLINE double rk_horner2_dd_64(double r, double t, double c1h, double c1l,
                                  double c0h, double c0l, double *lo)
{
    double e1, e2, e3, e4;
    double a = rk_two_prod_64(t, r, &e1);
    double b = rk_two_sum_64(c1h, a, &e2);
    double c = rk_two_prod_64(t, b, &e3);
    double h = rk_two_sum_64(c0h, c, &e4);
    *lo = (e3 + e4) + (t * ((e1 + e2) + c1l) + c0l);
    return h;
}

/* Phi(-a) exp(a^2/2) = M(a) = H(t) / (a + K) as hi + *lo: the
 * polynomial's rounding errors are those of its terms from t^2 on */
RK_INLINE double rk_gelu_m_64(double a, double *lo)
{
    double tl, inv, il, hl;
    double t = rk_gelu_t_64(a, &tl, &inv, &il);
    double h = rk_horner2_dd_64(rk_gelu_h2_64(t), t, RK_GELU_H_C1_HI, RK_GELU_H_C1_LO,
                                RK_GELU_H_C0_HI, RK_GELU_H_C0_LO, &hl);
    hl += tl * rk_gelu_hd_64(t);
    return rk_mul_dd_64(h, hl, inv, il, lo);
}

/* gelu 1.39 where |y| >= 2^-52 |x| (1.16 below) / 1.33 (within 2^-8 of
 * -a0: 1.52 ulp(2^-10) |dy|), float32 0.51 / 0.51 */
/* x Phi(x): x (1 - Phi(-x)) for x >= 0, x Phi(-|x|) for x < 0, with
 * Phi(-a) = exp(-a^2/2) M(a) carried as double-doubles to the last
 * rounding, and 2^k applied last.  Exactly x above 40. */
RK_INLINE double rk_gelu_64(double x)
{
    double lo, k, ml, ql, yl, ol;
    double xc = rk_clamp_64(x, -40.0, 40.0);
    double a = fabs(xc);
    double p = rk_exp_half_square_64(a, &lo, &k);
    double mh = rk_gelu_m_64(a, &ml);
    double qh = rk_mul_dd_64(p, lo, mh, ml, &ql);        /* Phi(-a) 2^-k */
    double yn = rk_two_prod_64(xc, qh, &yl);
    yn = rk_scale_64(yn + (yl + xc * ql), k);
    double oh = rk_fast_two_sum_64(1.0, -rk_scale_64(qh, k), &ol);
    ol -= rk_scale_64(ql, k);                            /* 1 - Phi(-a) = oh + ol */
    double yp = rk_two_prod_64(xc, oh, &yl);
    yp += yl + xc * ol;
    double y = isgreaterequal(x, 0) ? yp : yn;
    /* x/2 for tiny x: the double-doubles would lose a zero's sign */
    return isgreater(x, 40.0) ? x : isless(fabs(x), 0x1p-600) ? 0.5 * x : y;
}

/* Phi(x) + x phi(x) = 1 - G(|x|) for x >= 0 and G(|x|) for x < 0, where
 * G(a) = Phi(-a) - a phi(a) = exp(-a^2/2) (a - a0) S(t), as a
 * double-double up to the product with dy. */
RK_INLINE double rk_gelu_backward_64(double dy, double x)
{
    double lo, k, tl, inv, il, sl, dl, ql, gl, ol;
    double a = fabs(x);
    a = isless(56.0, a) ? 56.0 : a;     /* exp(-a^2/2) dead beyond, for any dy */
    double p = rk_exp_half_square_64(a, &lo, &k);
    double t = rk_gelu_t_64(a, &tl, &inv, &il);
    double sh = rk_horner2_dd_64(rk_gelu_s2_64(t), t, RK_GELU_S_C1_HI, RK_GELU_S_C1_LO,
                                 RK_GELU_S_C0_HI, RK_GELU_S_C0_LO, &sl);
    sl += tl * rk_gelu_sd_64(t);
    double dh = rk_two_sum_64(a, -RK_GELU_A0_HI, &dl);
    dl -= RK_GELU_A0_LO;                                 /* a - a0 = dh + dl */
    double qh = rk_mul_dd_64(dh, dl, sh, sl, &ql);
    double gh = rk_mul_dd_64(p, lo, qh, ql, &gl);        /* G 2^-k */
    double oh = rk_fast_two_sum_64(1.0, -rk_scale_64(gh, k), &ol);
    ol -= rk_scale_64(gl, k);
    return isgreaterequal(x, 0) ? rk_times_dd_64(dy, oh, ol)
                                : rk_scale_gradient_64(dy, gh, gl, k, x);
}

/* x (c1 + c x^2) as a double-double, x^2 = sh + sl, c = ch + cl, |x| <= 30:
 * v = 2u with c = c3, x v' with c = 3 c3 */
RK_INLINE double rk_gelu_tanh_cubic_64(double x, double sh, double sl, double ch, double cl, double *vl)
{
    double ml, wl;
    double mh = rk_two_prod_64(ch, sh, &ml);
    ml += ch * sl + cl * sh;
    double wh = rk_two_sum_64(RK_GT_C1_HI, mh, &wl);
    wl += ml + RK_GT_C1_LO;
    double vh = rk_two_prod_64(x, wh, vl);
    *vl += x * wl;
    return vh;
}

RK_INLINE double rk_gelu_tanh_arg_64(double x, double *vl)
{
    double sl;
    double sh = rk_two_prod_64(x, x, &sl);
    return rk_gelu_tanh_cubic_64(x, sh, sl, RK_GT_C3_HI, RK_GT_C3_LO, vl);
}

/* exp(-|v|) = (p + *lo) 2^*k for v = 2u(x), |x| <= 30 */
RK_INLINE double rk_gelu_tanh_exp_64(double x, double *lo, double *k)
{
    double vl;
    double vh = rk_gelu_tanh_arg_64(x, &vl);
    int neg = isless(vh, 0);
    return rk_exp_core_64(neg ? vh : -vh, neg ? vl : -vl, lo, k);
}

/* gelu_tanh 1.00 / 3.05 (within 2^-8 of x0: 2.58 ulp(2^-10) |dy|),
 * float32 0.50 / 0.52 */
/* 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), as SiLU of v = 2u; exactly x
 * above 30 */
RK_INLINE double rk_gelu_tanh_64(double x)
{
    double lo, k, dl, nl;
    double xc = rk_clamp_64(x, -30.0, 30.0);
    double p = rk_gelu_tanh_exp_64(xc, &lo, &k);
    double d = rk_one_plus_64(p, lo, k, &dl);
    double nh = rk_two_prod_64(xc, p, &nl);
    int pos = isgreaterequal(x, 0);
    double y = rk_div_dd_64(pos ? xc : nh, pos ? 0.0 : nl + xc * lo, d, dl);
    y = rk_scale_64(y, pos ? 0.0 : k);
    return (isgreater(x, 30.0) || x == 0) ? x : y;
}

/* (1 + e (1 + x v')) / (1 + e)^2 for x >= 0 (e = exp(-v)), e N / (1 + e)^2
 * for x < 0 (e = exp(v)), v' = c1 + 3 c3 x^2, N = 1 + e + x v' with x v'
 * as a double-double.  Within 1/8 of N's zero x0, where that form cancels,
 * N = N(x) - N(x0) = e0 expm1(d A) + d B = d (B + e0 A expm1(d A) / (d A)),
 * d = x - x0, A = c1 + c3 S, B = c1 + 3 c3 S, S = x^2 + x x0 + x0^2: the
 * factor is near 2.46 and does not cancel. */
RK_INLINE double rk_gelu_tanh_backward_64(double dy, double x)
{
    double lo, k, dl, sl, npl, vl, wl, e1, e2, e3, x2l, ql;
    double xc = rk_clamp_64(x, -30.0, 30.0);
    double x2 = rk_two_prod_64(xc, xc, &x2l);
    double vh = rk_gelu_tanh_cubic_64(xc, x2, x2l, RK_GT_C3_HI, RK_GT_C3_LO, &vl);
    double wh = rk_gelu_tanh_cubic_64(xc, x2, x2l, RK_GT_3C3, RK_GT_3C3_LO, &wl);  /* x v' */
    int neg = isless(vh, 0);
    double p = rk_exp_core_64(neg ? vh : -vh, neg ? vl : -vl, &lo, &k);
    double d = rk_one_plus_64(p, lo, k, &dl);
    double sh = rk_two_prod_64(d, d, &sl);
    sl += 2.0 * d * dl;
    double e = rk_scale_64(p, k);
    double nph = rk_fast_two_sum_64(1.0, e * (1.0 + wh), &npl);
    /* near x0: x - x0 = dh - x0_lo, dh exact */
    double dh = xc - RK_GT_X0_HI;
    double s = x2 + xc * RK_GT_X0_HI + RK_GT_X0_HI * RK_GT_X0_HI;
    double ca = RK_GT_C1_HI + RK_GT_C3_HI * s;
    double w = dh * ca;
    double f = (RK_GT_C1_HI + RK_GT_3C3 * s) + RK_GT_E0 * ca * (1.0 + w * rk_exp_poly_64(w));
    double n1 = rk_two_prod_64(dh, f, &e1);
    double n1l = e1 - RK_GT_X0_LO * f;
    /* elsewhere */
    double s1 = rk_two_sum_64(1.0, wh, &e2);
    double n2 = rk_two_sum_64(s1, e + (e2 + wl), &e3);
    int near = isless(fabs(dh), 0.125);
    double nh = near ? n1 : n2;
    double nl = near ? n1l : e3;
    double qh = rk_mul_dd_64(p, lo, nh, nl, &ql);
    int pos = isgreaterequal(x, 0);
    double g = rk_div_dd_64(pos ? nph : qh, pos ? npl : ql, sh, sl);
    return pos ? dy * g : rk_scale_gradient_64(dy, g, 0.0, k, x);
}

/* ---------------------------------------------------------------- float16 */

/* The float16 formulas, which also serve float32 where rk_ops.h says so
 * (and at its hard elements).  Computed in double and rounded once to
 * float: every float32 result measured within 0.52 ULP, and every float16
 * value correctly rounded but for double-rounding cases (at most 10 of
 * 65536 per op). */

RK_INLINE float rk_elu_16(float x, float alpha)
{
    double xd = x;
    return (float)(isgreater(xd, 0) ? xd : (double)alpha * rk_expm1_16(xd));
}

RK_INLINE float rk_elu_backward_16(float dy, float x, float alpha)
{
    double xd = x, dyd = dy;
    return (float)(isgreater(xd, 0) ? dyd : dyd * (double)alpha * rk_exp_16(xd));
}

RK_INLINE float rk_selu_16(float x)
{
    double xd = x;
    return (float)(isgreater(xd, 0) ? RK_SELU_SCALE * xd : RK_SELU_SA * rk_expm1_16(xd));
}

RK_INLINE float rk_selu_backward_16(float dy, float x)
{
    double xd = x, dyd = dy;
    return (float)(isgreater(xd, 0) ? dyd * RK_SELU_SCALE : dyd * RK_SELU_SA * rk_exp_16(xd));
}

/* x e / (1 + e) or x / (1 + e), e = exp(-|x|); x is clamped at -710, where
 * e is 0, so that -inf gives -0.0 */
RK_INLINE float rk_silu_16(float x)
{
    double xd = x;
    double xc = isgreater(-710.0, xd) ? -710.0 : xd;
    double e = rk_exp_16(-fabs(xd));
    return (float)((isgreaterequal(xd, 0) ? xd : xc * e) / (1.0 + e));
}

/* (1 + e (1 + x)) / (1 + e)^2 or e ((1 + x) + e) / (1 + e)^2; 1 + x is exact
 * near the zero x0, so only e's error (2^-32) is amplified there */
RK_INLINE float rk_silu_backward_16(float dy, float x)
{
    double xd = x;
    double xc = rk_clamp_64(xd, -710.0, 60.0);
    double e = rk_exp_16(-fabs(xd));
    double d = 1.0 + e;
    int pos = isgreaterequal(xd, 0);
    double n = e * ((1.0 + xc) + (pos ? 0.0 : e)) + (pos ? 1.0 : -0.0);
    return (float)((double)dy * n / (d * d));
}

/* max(x, 0) + 2 atanh(e / (2 + e)), e = exp(-|x|) */
RK_INLINE float rk_softplus_16(float x)
{
    double xd = x;
    double e = rk_exp_16(-fabs(xd));
    double s = e / (2.0 + e);
    double z = s * s;
    double l = s * (2.0 + z * rk_log_poly_16(z));
    return (float)((isgreater(xd, 0) ? xd : 0.0) + l);
}

RK_INLINE float rk_softplus_backward_16(float dy, float x)
{
    double xd = x;
    double e = rk_exp_16(-fabs(xd));
    return (float)((double)dy * (isgreaterequal(xd, 0) ? 1.0 : e) / (1.0 + e));
}

/* x (1 - Q) or x Q, Q = Phi(-|x|) = exp(-x^2/2) M(|x|) (x^2 exact); above
 * |x| = 14.5 M is taken at 14.5 (the result rounds to 0 or x alike), and
 * beyond 37.7 exp gives 0 */
RK_INLINE float rk_gelu_16(float x)
{
    double xd = x;
    double a = fabs(xd);
    double e = rk_exp_16(-0.5 * (a * a));
    double ac = isless(14.5, a) ? 14.5 : a;
    double inv = 1.0 / (ac + RK_GELU_K_16);
    double q = e * (rk_gelu_h_16((ac - RK_GELU_K_16) * inv) * inv);
    double xc = isgreater(-38.0, xd) ? -38.0 : xd;
    return (float)(isgreaterequal(xd, 0) ? xd * (1.0 - q) : xc * q);
}

RK_INLINE float rk_gelu_backward_16(float dy, float x)
{
    double xd = x, dyd = dy;
    double a = fabs(xd);
    double e = rk_exp_16(-0.5 * (a * a));
    double ac = isless(20.0, a) ? 20.0 : a;
    double inv = 1.0 / (ac + RK_GELU_KS_16);
    double g = e * ((ac - RK_GELU_A0_HI) * rk_gelu_s_16((ac - RK_GELU_KS_16) * inv));
    return (float)(isgreaterequal(xd, 0) ? dyd * (1.0 - g) : dyd * g);
}

/* x / (1 + e) or x e / (1 + e), e = exp(-|v|), v = x (c1 + c3 x^2); no
 * double-double is needed: |v| < 110 where a float result is not 0 */
RK_INLINE float rk_gelu_tanh_16(float x)
{
    double xd = x;
    double xc = isgreater(-30.0, xd) ? -30.0 : xd;
    double e = rk_exp_16(-fabs(xc * (RK_GT_C1_HI + RK_GT_C3_HI * (xc * xc))));
    return (float)((isgreaterequal(xd, 0) ? xd : xc * e) / (1.0 + e));
}

RK_INLINE float rk_gelu_tanh_backward_16(float dy, float x)
{
    double xd = x;
    double xc = rk_clamp_64(xd, -30.0, 30.0);
    double x2 = xc * xc;
    double e = rk_exp_16(-fabs(xc * (RK_GT_C1_HI + RK_GT_C3_HI * x2)));
    double xvp = xc * (RK_GT_C1_HI + RK_GT_3C3 * x2);
    double d = 1.0 + e;
    double n = isgreaterequal(xd, 0) ? 1.0 + e * (1.0 + xvp) : e * ((1.0 + xvp) + e);
    return (float)((double)dy * n / (d * d));
}

/* ---------------------------------------------------------------- float32 */

/* float arithmetic: twice the lanes of a vector.  ELU and SELU forward
 * are float everywhere; ELU's, SELU's and softplus's gradients are float
 * but for their hard elements (rk_<op>_32_hard, below: the float16 formula
 * gives those, see rk_ops.h).  The other ops' float32 formulas are their float16 ones. */

/* v rounded to an integer, ties to even, for |v| < 2^22 */
#define RK_ROUND_SHIFT_32 0x1.8p23f

RK_INLINE float rk_round_32(float v)
{
    return (v + RK_ROUND_SHIFT_32) - RK_ROUND_SHIFT_32;
}

/* 2^k for an integral k in [-126, 127], written into the exponent field
 * (outside, the low 9 bits of k + 127 land in the sign and exponent) */
RK_INLINE float rk_pow2_32(float k)
{
    return rk_bits_float(rk_float_bits(k + (RK_ROUND_SHIFT_32 + 127.0f)) << 23);
}

/* (expm1(r) - r) / r^2 on |r| <= ln2/2: max error 2^-28.7 */
RK_INLINE float rk_exp_poly_32(float t)
{
    float p = 0x1.a0517ap-13f;
    p = p * t + 0x1.6d74aep-10f;
    p = p * t + 0x1.111172p-7f;
    p = p * t + 0x1.5554aep-5f;
    p = p * t + 0x1.555554p-3f;
    p = p * t + 0.5f;
    return p;
}

/* x = k ln2 + r, |r| <= ln2/2 (Cody and Waite): k * RK_LN2_HI_32 (15
 * bits) is exact, and so is its subtraction from x.  Returns k. */
#define RK_LN2_HI_32 0x1.62e4p-1f
#define RK_LN2_LO_32 0x1.7f7d1cp-20f

RK_INLINE float rk_exp_reduce_32(float x, float *r)
{
    const float k = rk_round_32(x * 0x1.715476p+0f);
    *r = (x - k * RK_LN2_HI_32) - k * RK_LN2_LO_32;
    return k;
}

/* expm1(r) for a reduced argument */
RK_INLINE float rk_expm1_reduced_32(float r)
{
    return r + r * r * rk_exp_poly_32(r);
}

/* expm1(x) for x <= 0, within 0.84 ULP (every float measured): 2^k (1 + t)
 * - 1 as -(1 - 2^k) + 2^k t, t = expm1(r), whose first term (for k >= -24)
 * and product are exact.  Below -18 the result rounds to -1, and x is
 * clamped there. */
RK_INLINE float rk_expm1_negative_32(float x)
{
    float r;
    const float s = rk_pow2_32(rk_exp_reduce_32(isless(x, -18.0f) ? -18.0f : x, &r));
    const float y = -(1.0f - s) + s * rk_expm1_reduced_32(r);
    return x == 0 ? x : y;
}

/* exp(x) for -87 <= x <= 0, within 0.96 ULP (every float measured), the
 * result normal: 2^k (1 + expm1(r)).  Elsewhere the callers discard the
 * result (the gradient is dy for positive x; below -87 are their hard
 * elements), and above 88 or below -87 it means nothing.  There is no
 * clamp: with one below, the compiler gives the lanes whose result is
 * discarded the constant exp(-87), whose products with small factors are
 * subnormal, each a microcode assist on x86; one above costs more than the
 * rare assist of x above 88. */
#define RK_EXP_NORMAL_MIN_32 (-87.0f)

RK_INLINE float rk_exp_negative_32(float x)
{
    float r;
    const float k = rk_exp_reduce_32(x, &r);
    return rk_pow2_32(k) * (1.0f + rk_expm1_reduced_32(r));
}

RK_INLINE float rk_elu_32(float x, float alpha)
{
    return isgreater(x, 0) ? x : alpha * rk_expm1_negative_32(x);
}

/* SELU's constants as float pairs hi + lo, hi truncated (so that an
 * infinity times both is not inf - inf) */
#define RK_SELU_SCALE_HI 0x1.0cfabcp+0f
#define RK_SELU_SCALE_LO 0x1.6a9114p-24f
#define RK_SELU_SA_HI    0x1.c212ccp+0f
#define RK_SELU_SA_LO    0x1.903c0cp-26f

RK_INLINE float rk_selu_32(float x)
{
    const float m = rk_expm1_negative_32(x);
    return isgreater(x, 0) ? x * RK_SELU_SCALE_HI + x * RK_SELU_SCALE_LO
                           : m * RK_SELU_SA_HI + m * RK_SELU_SA_LO;
}

/* The gradients' hard elements: a slope or a product below float's normal
 * range would lose digits that the float16 formula (in double) keeps, and
 * near float's largest values the two roundings of dy * slope could
 * overflow where the one of the double formula does not. */
#define RK_NEAR_OVERFLOW_32 0x1p127f

RK_INLINE float rk_elu_backward_32(float dy, float x, float alpha)
{
    return isgreater(x, 0) ? dy : dy * (alpha * rk_exp_negative_32(x));
}

RK_INLINE int rk_elu_backward_32_hard(float dy, float x, float alpha)
{
    const float slope = alpha * rk_exp_negative_32(x);
    return isless(x, RK_EXP_NORMAL_MIN_32)
           | (islessequal(x, 0) & (isgreaterequal(fabsf(dy * slope), RK_NEAR_OVERFLOW_32)
                                   | (isless(fabsf(slope), 0x1p-126f) & (alpha != 0))));
}

/* below x = -69, e * RK_SELU_SA_LO is subnormal */
#define RK_SELU_GRADIENT_MIN_32 (-69.0f)

RK_INLINE float rk_selu_backward_32(float dy, float x)
{
    const float e = rk_exp_negative_32(x);
    return isgreater(x, 0) ? dy * RK_SELU_SCALE_HI + dy * RK_SELU_SCALE_LO
                           : dy * (e * RK_SELU_SA_HI + e * RK_SELU_SA_LO);
}

/* |dy * slope| nears 2^127 only where |dy| >= 2^126: SELU's slopes are
 * below 2 */
RK_INLINE int rk_selu_backward_32_hard(float dy, float x)
{
    return isless(x, RK_SELU_GRADIENT_MIN_32) | isgreaterequal(fabsf(dy), 0x1p126f);
}

/* dy * sigmoid(x) = dy (1 or e) / (1 + e), e = exp(-|x|): above x = 87, e
 * is taken at 87 (where 1 / (1 + e) is 1 already) */
RK_INLINE float rk_softplus_backward_32(float dy, float x)
{
    const float a = fabsf(x);
    const float e = rk_exp_negative_32(isgreater(a, -RK_EXP_NORMAL_MIN_32) ? RK_EXP_NORMAL_MIN_32 : -a);
    return dy * ((isgreaterequal(x, 0) ? 1.0f : e) / (1.0f + e));
}

RK_INLINE int rk_softplus_backward_32_hard(float dy, float x)
{
    (void)dy;
    return isless(x, RK_EXP_NORMAL_MIN_32);
}

#endif
