/*
 * Every kernel, for one instruction-set level (rk_isa.h): setup.py compiles
 * this file once per level with that level's flags, and each compilation
 * exports one table, rk_kernels_<level>.  The kernels themselves are
 * written once, per op family, in elementwise.tmpl.h, prelu.tmpl.h,
 * bias_act.tmpl.h, maxout.tmpl.h, rrelu.tmpl.h and optim.tmpl.h (rows.tmpl.h bridges
 * storage and compute types), and are stamped out per dtype by the
 * rk_foreach_*.h headers.
 */
#include <math.h>

#include "rk_isa.h"
#include "rk_dtypes.h"
#include "rk_formulas.h"
#include "rk_half.h"
#include "rk_maxout_avx2.h"
#include "rk_random.h"
#include "rk_sum.h"

/* prelu_backward: elements per step of a row's loops, terms per call of
 * the sum (channels first, and channels last in a run), and the tile of
 * channels-last rows against alpha tiled as often */
#define RK_LANES 32              /* four AVX-512 vectors of float64 terms per step */
#define RK_SUM_CHUNK 512
#define RK_RUN_CHUNK 1024
#define RK_PRELU_TILE 512
/* prelu forward tiles further: in cache, float32 1.6x-1.9x -> 1.1x-1.25x
 * of np.copyto (float64 backward was slower so) */
#define RK_PRELU_FORWARD_TILE 2048

/* maxout: elements of a row whose running maximum is kept in local arrays */
#define RK_CHUNK 1024

/* maxout on arrays past the caches (x of RK_PREFETCH_MIN_BYTES or more)
 * outruns the hardware prefetcher, so the kernels ask for lines before
 * they read them: groups of four side by side those of their next chunk
 * (large NHWC at AVX-512, C harness, one process: float64 0.81x the time
 * of the same hints issued in unrolled blocks of 16 lines), and rows of
 * members the rows of the next group as they go, since the hardware
 * prefetcher starts afresh on each short row (large NCHW, against hints
 * ahead in the row: float32 0.88x the time for k=2 and 0.89x for k=4,
 * float64 0.87x and 0.71x; float16, which took none, 0.81x and 0.78x). */
#define RK_PREFETCH_BLOCK 1024  /* maxout_rows_at_once: bytes of a row per step */
#define RK_PREFETCH_MIN_BYTES (4 << 20)

/* The lines of n bytes at p, every one inside them. */
RK_INLINE void rk_prefetch_lines(const char *p, rk_intp n)
{
    for (rk_intp offset = 0; offset < n; offset += 64) {
        RK_PREFETCH(p + offset);
    }
}

#define RK_TEMPLATE "rows.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE

#define RK_TEMPLATE "elementwise.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE

#define RK_TEMPLATE "prelu.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE

#define RK_TEMPLATE "bias_act.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE

#define RK_TEMPLATE "rrelu.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE

#define RK_TEMPLATE "optim.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE

/* maxout: forward and backward per unsigned index dtype */
#define RK_TEMPLATE "rk_foreach_index.h"
#define RK_INDEX_TEMPLATE "maxout.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE
#undef RK_INDEX_TEMPLATE

#define RK_PER_FLOAT(name) { name##_f16, name##_f32, name##_f64 }   /* RK_F16 ... */
#define RK_PER_INDEX(name, f) \
    { name##_##f##_u8, name##_##f##_u16, name##_##f##_u32, name##_##f##_u64 }
#define RK_ELEMENTWISE_ROW(name, inputs, params, family, half, float32) \
    RK_PER_FLOAT(rk_##name),
#define RK_STR_(x) #x
#define RK_STR(x) RK_STR_(x)

const rk_kernel_table RK_CAT(rk_kernels, RK_ISA_NAME) = {
    RK_STR(RK_ISA_NAME),
    RK_HALF_CONVERSION,
    { RK_ELEMENTWISE_OPS(RK_ELEMENTWISE_ROW) },
    RK_PER_FLOAT(rk_prelu),
    RK_PER_FLOAT(rk_prelu_backward),
    {
        RK_PER_INDEX(rk_maxout, f16),
        RK_PER_INDEX(rk_maxout, f32),
        RK_PER_INDEX(rk_maxout, f64),
    },
    {
        RK_PER_INDEX(rk_maxout_backward, f16),
        RK_PER_INDEX(rk_maxout_backward, f32),
        RK_PER_INDEX(rk_maxout_backward, f64),
    },
    RK_PER_FLOAT(rk_rrelu),
    RK_PER_FLOAT(rk_rrelu_backward),
    {   /* RK_SGD ... */
        RK_PER_FLOAT(rk_sgd),
        RK_PER_FLOAT(rk_adagrad),
        RK_PER_FLOAT(rk_adadelta),
        RK_PER_FLOAT(rk_rmsprop),
        RK_PER_FLOAT(rk_adam),
    },
    RK_PER_FLOAT(rk_sum_squares),
    RK_PER_FLOAT(rk_bias_act),
    RK_PER_FLOAT(rk_bias_act_backward),
};
