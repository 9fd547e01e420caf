/*
 * Includes RK_TEMPLATE once per float dtype, float16 last (its kernels
 * run float kernels, often the float32 ones, on converted chunks, see
 * rk_half.h), with:
 *   RK_SUF      name suffix (f32, f64, f16)
 *   RK_IS_HALF  1 for float16, whose values are stored as uint16_t
 *   RK_STORE_T  the type in memory
 *   RK_COMP_T   the type computed in (float16 is computed in float32 and
 *               rounded once); also the type alpha is applied in
 *   RK_LOAD(s)  storage -> compute;  RK_TO_STORE(v)  compute -> storage
 *   RK_LANE_T   a signed integer as wide as the values maxout compares
 *               (RK_COMP_T, or float16's int16 keys): vector lanes that
 *               hold an index beside a value; RK_LANE_MAX its maximum
 *   RK_BITS_T   an unsigned integer as wide as RK_STORE_T, for its bits
 *   RK_SQRT(v)  the correctly rounded square root in RK_COMP_T
 *   RK_WIDTH    the formulas' suffix (rk_ops.h): 16, 32 or 64
 */
#define RK_SUF f32
#define RK_WIDTH 32
#define RK_IS_HALF 0
#define RK_STORE_T float
#define RK_COMP_T float
#define RK_LANE_T int32_t
#define RK_BITS_T uint32_t
#define RK_LANE_MAX INT32_MAX
#define RK_LOAD(s) (s)
#define RK_TO_STORE(v) (v)
#define RK_SQRT(v) sqrtf(v)
#include RK_TEMPLATE
#include "rk_foreach_float_end.h"

#define RK_SUF f64
#define RK_WIDTH 64
#define RK_IS_HALF 0
#define RK_STORE_T double
#define RK_COMP_T double
#define RK_LANE_T int64_t
#define RK_BITS_T uint64_t
#define RK_LANE_MAX INT64_MAX
#define RK_LOAD(s) (s)
#define RK_TO_STORE(v) (v)
#define RK_SQRT(v) sqrt(v)
#include RK_TEMPLATE
#include "rk_foreach_float_end.h"

#define RK_SUF f16
#define RK_WIDTH 16
#define RK_IS_HALF 1
#define RK_STORE_T uint16_t
#define RK_COMP_T float
#define RK_LANE_T int16_t
#define RK_BITS_T uint16_t
#define RK_LANE_MAX INT16_MAX
#define RK_LOAD(s) rk_half_to_float(s)
#define RK_TO_STORE(v) rk_float_to_half(v)
#define RK_SQRT(v) sqrtf(v)
#include RK_TEMPLATE
#include "rk_foreach_float_end.h"
