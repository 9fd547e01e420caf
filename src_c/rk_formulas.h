/*
 * The contract's formulas (DESIGN.md section 1), written once for every
 * dtype and kernel.  Arguments are plain variables of the compute type.
 *
 * A NaN x must give NaN in forward and backward, yet `NaN > 0` is false:
 * the `x <= 0` test is false for NaN too, so the last branch returns x.
 * Gradients are selected, never multiplied by a 0/1 mask, so a NaN in dy
 * only reaches dx where it passes.
 *
 * Comparisons are written with the C99 quiet macros (isgreater ...), but a
 * vectorised compare may still raise the invalid flag on NaN (SSE2 has no
 * quiet ordered compare), so the ufunc loops end with rk_clear_invalid().
 */
#ifndef RK_FORMULAS_H
#define RK_FORMULAS_H

#include <fenv.h>
#include <math.h>

/* -0.0 <= 0 holds, so relu(-0.0) is +0.0, as np.maximum(x, 0). */
#define RK_RELU(x)              (islessequal(x, 0) ? 0 : (x))
#define RK_RELU_GRAD(dy, x)     (isgreater(x, 0) ? (dy) : (islessequal(x, 0) ? 0 : (x)))
#define RK_LEAKY(x, a)          (isgreater(x, 0) ? (x) : (a) * (x))
#define RK_LEAKY_GRAD(dy, x, a) \
    (isgreater(x, 0) ? (dy) : (islessequal(x, 0) ? (a) * (dy) : (x)))
/* x == 0 adds nothing (not 0 * dy, which is NaN for an infinite dy). */
#define RK_SLOPE_GRAD_TERM(dy, x) \
    ((isless(x, 0) || (x) != (x)) ? (double)(x) * (double)(dy) : 0.0)

/* v beats the running maximum b: strictly greater (ties stay with the
 * first), or the first NaN. */
#define RK_BEATS(v, b)          (isgreater(v, b) || ((v) != (v) && (b) == (b)))

/* As NumPy's own comparison and min/max loops do: a NaN operand is data
 * here, not an invalid operation to warn about. */
#define rk_clear_invalid() ((void)feclearexcept(FE_INVALID))

#endif
