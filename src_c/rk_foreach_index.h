/*
 * Includes RK_INDEX_TEMPLATE once per integer index dtype, in the order of
 * the RK_U8 ... RK_I64 enum, with RK_ISUF (u8 ... i64), RK_INDEX_T,
 * RK_INDEX_MAX and RK_INDEX_IS_UNSIGNED.
 */
#define RK_ISUF u8
#define RK_INDEX_MAX UINT8_MAX
#define RK_INDEX_T uint8_t
#define RK_INDEX_IS_UNSIGNED 1
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF u16
#define RK_INDEX_MAX UINT16_MAX
#define RK_INDEX_T uint16_t
#define RK_INDEX_IS_UNSIGNED 1
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF u32
#define RK_INDEX_MAX UINT32_MAX
#define RK_INDEX_T uint32_t
#define RK_INDEX_IS_UNSIGNED 1
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF u64
#define RK_INDEX_MAX UINT64_MAX
#define RK_INDEX_T uint64_t
#define RK_INDEX_IS_UNSIGNED 1
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF i8
#define RK_INDEX_MAX INT8_MAX
#define RK_INDEX_T int8_t
#define RK_INDEX_IS_UNSIGNED 0
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF i16
#define RK_INDEX_MAX INT16_MAX
#define RK_INDEX_T int16_t
#define RK_INDEX_IS_UNSIGNED 0
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF i32
#define RK_INDEX_MAX INT32_MAX
#define RK_INDEX_T int32_t
#define RK_INDEX_IS_UNSIGNED 0
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF i64
#define RK_INDEX_MAX INT64_MAX
#define RK_INDEX_T int64_t
#define RK_INDEX_IS_UNSIGNED 0
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
