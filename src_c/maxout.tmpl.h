/*
 * Maxout kernels for one (float dtype, index dtype) pair; see rectkern.h.
 * Included through rk_foreach_float.h -> rk_foreach_index.h (maxout.c).
 * y is a copy of the winning element as stored (so -0.0 and NaN payloads
 * survive), idx its offset inside the group.
 */
#define RK_FN(name) RK_CAT3(name, RK_SUF, RK_ISUF)
#define RK_GET(p, off) RK_LOAD(*RK_CONST_AT(RK_STORE_T, p, off))
#define RK_RAW(p, off) (*RK_CONST_AT(RK_STORE_T, p, off))

#if RK_INDEX_IS_UNSIGNED
static void RK_FN(rk_maxout)(
    const rk_block *block, rk_intp k,
    const char *x, const rk_intp x_s[4],
    char *y, const rk_intp y_s[3],
    char *idx, const rk_intp idx_s[3])
{
    for (rk_intp o = 0; o < block->n_outer; o++) {
        for (rk_intp g = 0; g < block->n_chan; g++) {
            const char *xg = x + o * x_s[0] + g * x_s[1];
            char *yg = y + o * y_s[0] + g * y_s[1];
            char *ig = idx + o * idx_s[0] + g * idx_s[1];
            if (block->n_inner == 1) {
                /* group members side by side: scan them in order */
                RK_COMP_T best = RK_GET(xg, 0);
                rk_intp best_j = 0;
                for (rk_intp j = 1; j < k; j++) {
                    RK_COMP_T v = RK_GET(xg, j * x_s[2]);
                    if (RK_BEATS(v, best)) {
                        best = v;
                        best_j = j;
                    }
                }
                *(RK_STORE_T *)yg = RK_RAW(xg, best_j * x_s[2]);
                *(RK_INDEX_T *)ig = (RK_INDEX_T)best_j;
                continue;
            }
            /* members are rows of n_inner: keep the running best in y, idx */
            for (rk_intp i = 0; i < block->n_inner; i++) {
                *RK_AT(RK_STORE_T, yg, i * y_s[2]) = RK_RAW(xg, i * x_s[3]);
                *RK_AT(RK_INDEX_T, ig, i * idx_s[2]) = 0;
            }
            for (rk_intp j = 1; j < k; j++) {
                const char *xj = xg + j * x_s[2];
                for (rk_intp i = 0; i < block->n_inner; i++) {
                    RK_STORE_T *yi = RK_AT(RK_STORE_T, yg, i * y_s[2]);
                    RK_INDEX_T *ii = RK_AT(RK_INDEX_T, ig, i * idx_s[2]);
                    RK_STORE_T raw = RK_RAW(xj, i * x_s[3]);
                    RK_COMP_T v = RK_LOAD(raw), b = RK_LOAD(*yi);
                    int take = RK_BEATS(v, b);
                    *yi = take ? raw : *yi;
                    *ii = take ? (RK_INDEX_T)j : *ii;
                }
            }
        }
    }
}
#endif

/* Every element of dx is written exactly once: dy at idx, +0.0 elsewhere. */
static int RK_FN(rk_maxout_backward)(
    const rk_block *block, rk_intp k,
    const char *dy, const rk_intp dy_s[3],
    const char *idx, const rk_intp idx_s[3],
    char *dx, const rk_intp dx_s[4])
{
    const uint64_t n_members = (uint64_t)k;
    for (rk_intp o = 0; o < block->n_outer; o++) {
        for (rk_intp g = 0; g < block->n_chan; g++) {
            const char *dyg = dy + o * dy_s[0] + g * dy_s[1];
            const char *ig = idx + o * idx_s[0] + g * idx_s[1];
            char *dxg = dx + o * dx_s[0] + g * dx_s[1];
            /* validate the group's indices before writing it; a negative
             * index wraps to a huge unsigned one */
            for (rk_intp i = 0; i < block->n_inner; i++) {
                if ((uint64_t)*RK_CONST_AT(RK_INDEX_T, ig, i * idx_s[2]) >= n_members) {
                    return -1;
                }
            }
            for (rk_intp j = 0; j < k; j++) {
                char *dxj = dxg + j * dx_s[2];
                for (rk_intp i = 0; i < block->n_inner; i++) {
                    RK_INDEX_T at = *RK_CONST_AT(RK_INDEX_T, ig, i * idx_s[2]);
                    RK_STORE_T g = RK_RAW(dyg, i * dy_s[2]);
                    *RK_AT(RK_STORE_T, dxj, i * dx_s[3]) =
                        (rk_intp)at == j ? g : (RK_STORE_T)0;
                }
            }
        }
    }
    return 0;
}

#undef RK_FN
#undef RK_GET
#undef RK_RAW
