/* Maxout: max + argmax in one pass, and the gradient written back in one pass. */
#include "rk_dtypes.h"
#include "rk_formulas.h"

/* Elements of a row whose running maximum is kept in local arrays. */
#define RK_CHUNK 256

/* One kernel per (float dtype, index dtype): forward for unsigned indices,
 * backward for every integer index dtype. */
#define RK_TEMPLATE "rk_foreach_index.h"
#define RK_INDEX_TEMPLATE "maxout.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE
#undef RK_INDEX_TEMPLATE

#define RK_FLOAT_ROWS(ROW) { ROW(f16), ROW(f32), ROW(f64) }
#define RK_UNSIGNED_ROW(f) \
    { rk_maxout_##f##_u8, rk_maxout_##f##_u16, rk_maxout_##f##_u32, rk_maxout_##f##_u64 }
#define RK_INDEX_ROW(f) \
    { rk_maxout_backward_##f##_u8, rk_maxout_backward_##f##_u16, \
      rk_maxout_backward_##f##_u32, rk_maxout_backward_##f##_u64, \
      rk_maxout_backward_##f##_i8, rk_maxout_backward_##f##_i16, \
      rk_maxout_backward_##f##_i32, rk_maxout_backward_##f##_i64 }

rk_maxout_fn *const rk_maxout_kernels[RK_NUM_FLOATS][RK_NUM_UINDEX] =
    RK_FLOAT_ROWS(RK_UNSIGNED_ROW);
rk_maxout_backward_fn *const rk_maxout_backward_kernels[RK_NUM_FLOATS][RK_NUM_INDEX] =
    RK_FLOAT_ROWS(RK_INDEX_ROW);
