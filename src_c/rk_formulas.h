/*
 * The contract's formulas (DESIGN.md section 1), written once for every
 * dtype and kernel; the smooth activations' are in rk_smooth.h.  Arguments
 * are plain variables of the compute type.
 *
 * A NaN x must give NaN in forward and backward, yet `NaN > 0` is false:
 * relu's `x <= 0` test is false for NaN too, so it returns x.  relu's
 * gradient tests for NaN first; leaky's takes x > 0 and x <= 0 as its two
 * cases, and a NaN x, which is neither, falls through to x (two vector
 * compares where testing for NaN first took four).
 * Gradients are selected, never multiplied by a 0/1 mask, so a NaN in dy
 * only reaches dx where it passes.
 *
 * Comparisons are written with the C99 quiet macros (isgreater ...).
 */
#ifndef RK_FORMULAS_H
#define RK_FORMULAS_H

#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rk_dtypes.h"
#include "rk_smooth.h"

/*
 * Products arrive computed: both sides of every select are evaluated
 * unconditionally, so the compiler may turn the select into a branch-free
 * blend and vectorise it (it must not speculate a multiplication that
 * could raise a floating-point flag, and random signs make branches miss).
 */

/* -0.0 <= 0 holds, so relu(-0.0) is +0.0, as np.maximum(x, 0). */
#define RK_RELU(x)               (islessequal(x, 0) ? 0 : (x))
#define RK_RELU_GRAD(dy, x)      ((x) != (x) ? (x) : isgreater(x, 0) ? (dy) : 0)
/* leaky_relu with ax = alpha * x */
#define RK_LEAKY(x, ax)          (isgreater(x, 0) ? (x) : (ax))
/* leaky_relu_backward with a_dy = alpha * dy */
#define RK_LEAKY_GRAD(dy, x, a_dy) (isgreater(x, 0) ? (dy) : islessequal(x, 0) ? (a_dy) : (x))
/* The same results, NaN tested first: the form gcc compiles better where
 * the loop also adds into partial sums in memory (prelu_backward with the
 * channels last). */
#define RK_LEAKY_GRAD_NAN_FIRST(dy, x, a_dy) ((x) != (x) ? (x) : isgreater(x, 0) ? (dy) : (a_dy))
/* One term of dalpha, with x_dy = (double)x * (double)dy: x < 0 or NaN
 * (that is, not x >= 0, one comparison) adds x_dy, NaN included; x == 0
 * adds nothing (not 0 * dy, which is NaN for an infinite dy). */
#define RK_SLOPE_GRAD_TERM(x, x_dy) (isgreaterequal(x, 0) ? 0.0 : (x_dy))

/* The rectifiers' formulas as the elementwise ops call them (rk_ops.h):
 * rk_<op>_16 for float16 (on floats), rk_<op>_32 for float32 and
 * rk_<op>_64 for float64. */
#define RK_RECTIFIER_FORMULAS(T, width)                                        \
    RK_INLINE T rk_relu_##width(T x) { return RK_RELU(x); }                    \
    RK_INLINE T rk_relu_backward_##width(T dy, T x) { return RK_RELU_GRAD(dy, x); } \
    RK_INLINE T rk_leaky_relu_##width(T x, T alpha)                            \
    {                                                                          \
        const T ax = alpha * x;                                                \
        return RK_LEAKY(x, ax);                                                \
    }                                                                          \
    RK_INLINE T rk_leaky_relu_backward_##width(T dy, T x, T alpha)             \
    {                                                                          \
        const T a_dy = alpha * dy;                                             \
        return RK_LEAKY_GRAD(dy, x, a_dy);                                     \
    }
RK_RECTIFIER_FORMULAS(float, 16)
RK_RECTIFIER_FORMULAS(float, 32)
RK_RECTIFIER_FORMULAS(double, 64)
#undef RK_RECTIFIER_FORMULAS

/* v beats the running maximum b: strictly greater (ties stay with the
 * first), or the first NaN.  RK_BEATS_FLAGGED takes the two NaN tests as
 * already made: a tournament carries its winners' flags along rather than
 * testing selected values again, a form gcc vectorises. */
#define RK_IS_NAN(v)             isunordered(v, v)
#define RK_BEATS_FLAGGED(v, b, v_nan, b_nan) (isgreater(v, b) | ((v_nan) & !(b_nan)))
#define RK_BEATS(v, b)           RK_BEATS_FLAGGED(v, b, RK_IS_NAN(v), RK_IS_NAN(b))

/*
 * RK_BEATS for float16 without converting: the stored bits h as an int16
 * key, -magnitude for the negative numbers and magnitude for the rest, so
 * that the keys keep the float order and -0.0 ties with +0.0; every NaN,
 * of either sign, keys above +inf (0x7c00).  NaNs key by their payload, so
 * the rule also asks that the running maximum be no NaN: the first NaN
 * wins.  Three vector operations per key and one per rule, where making
 * every NaN one key took six per key (k=2 rows in cache, gcc: 0.70x the
 * time at AVX-512, 0.64x at AVX2, 0.83x at baseline).
 */
RK_INLINE int16_t rk_half_key(uint16_t h)
{
    int16_t value;                      /* h as int16, without a conversion */
    memcpy(&value, &h, sizeof value);
    /* negative numbers, 0x8000 (-0.0) to 0xfc00 (-inf), are as int16 below
     * -1023; -32768 - value is then -magnitude */
    return value < -1023 ? (int16_t)(-32768 - value) : (int16_t)(value & 0x7fff);
}
#define RK_HALF_BEATS(v_key, b_key) ((int)((v_key) > (b_key)) & (int)((b_key) <= 0x7c00))

/* RK_RELU for float16 without converting: x <= 0 is, among the stored
 * bits, exactly 0x8000 (-0.0) to 0xfc00 (-inf); NaNs and +0.0 pass. */
RK_INLINE uint16_t rk_half_relu(uint16_t h)
{
    return (uint16_t)(h - 0x8000u) <= 0x7c00u ? (uint16_t)0 : h;
}

/*
 * The ufunc loops leave the floating-point flags as they found them, and
 * NumPy, which checks the flags after each loop, reports nothing: a NaN
 * operand is data, yet a vectorised compare raises "invalid" on it (SSE2
 * has no quiet ordered compare), and the product computed for the side of
 * a select that is not taken may overflow without being the result.
 */
#define RK_SAVE_FP_FLAGS(saved) ((void)fegetexceptflag(&(saved), FE_ALL_EXCEPT))
#define RK_RESTORE_FP_FLAGS(saved) ((void)fesetexceptflag(&(saved), FE_ALL_EXCEPT))

#endif
