/*
 * Rows in the compute type, for one float dtype: the bridge that lets the
 * kernels work on contiguous RK_COMP_T values whatever the storage.
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)

/* m values of a row, as RK_COMP_T: the row itself when it already is that
 * (contiguous float32 / float64), else converted or gathered into buf. */
RK_INLINE const RK_COMP_T *RK_FN(row_values)(rk_intp m, const char *src,
                                             rk_intp stride, RK_COMP_T *buf)
{
#if RK_IS_HALF
    rk_halves_to_floats(m, src, stride, buf);
    return buf;
#else
    if (stride == (rk_intp)sizeof(RK_COMP_T)) {
        return (const RK_COMP_T *)(const void *)src;
    }
    for (rk_intp i = 0; i < m; i++) {
        buf[i] = *RK_CONST_AT(RK_STORE_T, src, i * stride);
    }
    return buf;
#endif
}

/* m values into a row of storage. */
RK_INLINE void RK_FN(store_row)(rk_intp m, const RK_COMP_T *RK_RESTRICT values,
                                char *dst, rk_intp stride)
{
#if RK_IS_HALF
    rk_floats_to_halves(m, values, dst, stride);
#else
    if (stride == (rk_intp)sizeof(RK_STORE_T)) {
        for (rk_intp i = 0; i < m; i++) {
            ((RK_STORE_T *)(void *)dst)[i] = values[i];
        }
        return;
    }
    for (rk_intp i = 0; i < m; i++) {
        *RK_AT(RK_STORE_T, dst, i * stride) = values[i];
    }
#endif
}

#undef RK_FN
