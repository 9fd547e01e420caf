/* PReLU backward: dx and the per-channel slope gradient in one pass. */
#include "rk_dtypes.h"
#include "rk_formulas.h"

#define RK_LANES 8
#define RK_ROWS_PER_FLUSH 256

/* A fixed pairwise order, so the sum is the same bits on every run. */
RK_INLINE double rk_sum_lanes(const double lanes[RK_LANES])
{
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
         + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

#define RK_TEMPLATE "prelu.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE

rk_prelu_backward_fn *const rk_prelu_backward_kernels[RK_NUM_FLOATS] = {
    rk_prelu_backward_f16, rk_prelu_backward_f32, rk_prelu_backward_f64,
};
