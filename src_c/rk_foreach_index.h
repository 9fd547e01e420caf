/*
 * Includes RK_INDEX_TEMPLATE once per unsigned index dtype, in the order of
 * the RK_U8 ... RK_U64 enum, with RK_ISUF (u8 ... u64), RK_INDEX_T and
 * RK_INDEX_MAX.
 */
#define RK_ISUF u8
#define RK_INDEX_MAX UINT8_MAX
#define RK_INDEX_T uint8_t
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF u16
#define RK_INDEX_MAX UINT16_MAX
#define RK_INDEX_T uint16_t
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF u32
#define RK_INDEX_MAX UINT32_MAX
#define RK_INDEX_T uint32_t
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
#define RK_ISUF u64
#define RK_INDEX_MAX UINT64_MAX
#define RK_INDEX_T uint64_t
#include RK_INDEX_TEMPLATE
#include "rk_foreach_index_end.h"
