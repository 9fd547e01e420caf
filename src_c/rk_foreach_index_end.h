/* Ends one dtype of rk_foreach_index.h: its template parameters, undefined. */
#undef RK_ISUF
#undef RK_INDEX_T
#undef RK_INDEX_MAX
