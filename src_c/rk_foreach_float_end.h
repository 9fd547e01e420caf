/* Ends one dtype of rk_foreach_float.h: its template parameters, undefined. */
#undef RK_SUF
#undef RK_IS_HALF
#undef RK_STORE_T
#undef RK_COMP_T
#undef RK_LANE_T
#undef RK_LANE_MAX
#undef RK_BITS_T
#undef RK_LOAD
#undef RK_TO_STORE
#undef RK_SQRT
#undef RK_WIDTH
