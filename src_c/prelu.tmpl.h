/*
 * PReLU forward and backward for one float dtype (see rk_foreach_float.h
 * and the contracts in rectkern.h).  Backward computes dx and dalpha in
 * one pass over memory.
 *
 * dalpha's terms (x * dy in float64 where x <= 0) are gathered in
 * buffers and added into exact sums (rk_sum.h), so the bits of dalpha
 * depend on nothing but the terms: not on the layout, the order or the
 * level.
 *
 * As in elementwise.tmpl.h, the loops are inline functions called with
 * constant unit strides on contiguous data, so that they vectorise; the
 * float16 row functions run the float32 ones on converted blocks and chunks.
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)
#define RK_GET(p, off) RK_LOAD(*RK_CONST_AT(RK_STORE_T, p, off))
#define RK_PUT(p, off, v) (*RK_AT(RK_STORE_T, p, off) = RK_TO_STORE(v))
#define RK_ISIZE ((rk_intp)sizeof(RK_STORE_T))

/* ---- forward */

#if !RK_IS_HALF
/* One (outer, channel) row: one slope for n elements. */
RK_INLINE void RK_FN(prelu_row)(rk_intp n, const char *x, rk_intp sx,
                                char *y, rk_intp sy, RK_COMP_T a)
{
    for (rk_intp i = 0; i < n; i++) {
        RK_COMP_T xv = RK_GET(x, i * sx);
        RK_COMP_T ax = a * xv;
        RK_PUT(y, i * sy, RK_LEAKY(xv, ax));
    }
}

/* Channels innermost (NHWC): one element per channel. */
RK_INLINE void RK_FN(prelu_channels)(rk_intp n_chan, const char *x, rk_intp sx,
                                     char *y, rk_intp sy,
                                     const RK_COMP_T *RK_RESTRICT alpha)
{
    for (rk_intp c = 0; c < n_chan; c++) {
        RK_COMP_T xv = RK_GET(x, c * sx);
        RK_COMP_T ax = alpha[c] * xv;
        RK_PUT(y, c * sy, RK_LEAKY(xv, ax));
    }
}

#else
/* float16: the float32 row functions on converted blocks where the row is
 * contiguous, on converted chunks for the rest (rk_half.h). */
RK_INLINE void RK_FN(prelu_row)(rk_intp n, const char *x, rk_intp sx,
                                char *y, rk_intp sy, float a)
{
    rk_intp i0 = 0;
    if (sx == 2 && sy == 2) {
        for (; i0 + RK_HALF_LEAKY_BLOCK <= n; i0 += RK_HALF_LEAKY_BLOCK) {
            rk_half_leaky_block(x + 2 * i0, &a, 0, y + 2 * i0);
        }
    }
    for (; i0 < n; i0 += RK_HALF_CHUNK) {
        float xs[RK_HALF_CHUNK], ys[RK_HALF_CHUNK];
        const rk_intp m = n - i0 < RK_HALF_CHUNK ? n - i0 : RK_HALF_CHUNK;
        const float *xv = row_values_f16(m, x + i0 * sx, sx, xs);
        prelu_row_f32(m, (const char *)xv, 4, (char *)ys, 4, a);
        store_row_f16(m, ys, y + i0 * sy, sy);
    }
}

RK_NOINLINE void RK_FN(prelu_channels)(rk_intp n_chan, const char *x, rk_intp sx,
                                     char *y, rk_intp sy,
                                     const float *RK_RESTRICT alpha)
{
    rk_intp c0 = 0;
    if (sx == 2 && sy == 2) {
        for (; c0 + RK_HALF_LEAKY_BLOCK <= n_chan; c0 += RK_HALF_LEAKY_BLOCK) {
            rk_half_leaky_block(x + 2 * c0, alpha + c0, 1, y + 2 * c0);
        }
    }
    for (; c0 < n_chan; c0 += RK_HALF_CHUNK) {
        float xs[RK_HALF_CHUNK], ys[RK_HALF_CHUNK];
        const rk_intp m = n_chan - c0 < RK_HALF_CHUNK ? n_chan - c0 : RK_HALF_CHUNK;
        const float *xv = row_values_f16(m, x + c0 * sx, sx, xs);
        prelu_channels_f32(m, (const char *)xv, 4, (char *)ys, 4, alpha + c0);
        store_row_f16(m, ys, y + c0 * sy, sy);
    }
}
#endif

/* Channels last with rows continuing one another: kernels run several
 * rows per call against alpha tiled as often, so that a call's fixed cost
 * is not paid per short row.  Tiles alpha for the rows (at most n_outer)
 * that fit in `tile` elements and returns how many rows a call takes, or 0
 * when the layout does not allow it. */
RK_INLINE rk_intp RK_FN(tile_alpha)(const rk_block *block, int channels_contiguous,
                                    int rows_continue, const RK_COMP_T *RK_RESTRICT alpha,
                                    RK_COMP_T *RK_RESTRICT tiled, rk_intp tile)
{
    const rk_intp n_chan = block->n_chan;
    rk_intp rows;
    if (block->n_inner != 1 || !channels_contiguous || !rows_continue
        || n_chan < 1 || 2 * n_chan > tile) {
        return 0;
    }
    rows = tile / n_chan;
    for (rk_intp r = 0; r < rows && r < block->n_outer; r++) {
        for (rk_intp c = 0; c < n_chan; c++) {
            tiled[r * n_chan + c] = alpha[c];
        }
    }
    return rows;
}

static void RK_FN(rk_prelu)(const rk_block *block,
                            const char *x, const rk_intp x_s[3],
                            char *y, const rk_intp y_s[3], const void *alpha_)
{
    const RK_COMP_T *RK_RESTRICT alpha = (const RK_COMP_T *)alpha_;
    const int rows_contiguous = x_s[2] == RK_ISIZE && y_s[2] == RK_ISIZE;
    const int channels_contiguous = x_s[1] == RK_ISIZE && y_s[1] == RK_ISIZE;
    const rk_intp row = block->n_chan * RK_ISIZE;
    RK_COMP_T tiled[RK_PRELU_FORWARD_TILE];
    const rk_intp rows = RK_FN(tile_alpha)(block, channels_contiguous,
                                           x_s[0] == row && y_s[0] == row, alpha, tiled,
                                           RK_PRELU_FORWARD_TILE);
    rk_intp o = 0;
    for (; rows && o + rows <= block->n_outer; o += rows) {
        RK_FN(prelu_channels)(rows * block->n_chan, x + o * x_s[0], RK_ISIZE,
                              y + o * y_s[0], RK_ISIZE, tiled);
    }
    for (; o < block->n_outer; o++) {
        const char *x_o = x + o * x_s[0];
        char *y_o = y + o * y_s[0];
        if (block->n_inner == 1) {
            if (channels_contiguous) {
                RK_FN(prelu_channels)(block->n_chan, x_o, RK_ISIZE, y_o, RK_ISIZE, alpha);
            }
            else {
                RK_FN(prelu_channels)(block->n_chan, x_o, x_s[1], y_o, y_s[1], alpha);
            }
            continue;
        }
        for (rk_intp c = 0; c < block->n_chan; c++) {
            const char *x_c = x_o + c * x_s[1];
            char *y_c = y_o + c * y_s[1];
            if (rows_contiguous) {
                RK_FN(prelu_row)(block->n_inner, x_c, RK_ISIZE, y_c, RK_ISIZE, alpha[c]);
            }
            else {
                RK_FN(prelu_row)(block->n_inner, x_c, x_s[2], y_c, y_s[2], alpha[c]);
            }
        }
    }
}

/* ---- backward */

#if !RK_IS_HALF
/* One element's term of dalpha. */
#define RK_TERM_AT(dy, x, i, sdy, sx) \
    RK_FN(slope_grad_term)(RK_GET(dy, (i) * (sdy)), RK_GET(x, (i) * (sx)))

RK_INLINE double RK_FN(slope_grad_term)(RK_COMP_T g, RK_COMP_T xv)
{
    const double x = (double)xv;        /* tested as double: no mask widening */
    return RK_SLOPE_GRAD_TERM(x, x * (double)g);
}

/* One element's dx, with slope a. */
#define RK_GRAD_AT(dy, x, dx, i, sdy, sx, sdx, a) \
    RK_PUT(dx, (i) * (sdx), \
           RK_FN(leaky_grad)(RK_GET(dy, (i) * (sdy)), RK_GET(x, (i) * (sx)), a))

RK_INLINE RK_COMP_T RK_FN(leaky_grad)(RK_COMP_T g, RK_COMP_T xv, RK_COMP_T a)
{
    RK_COMP_T a_g = a * g;
    return RK_LEAKY_GRAD(g, xv, a_g);
}

/* One (outer, channel) row, its dalpha terms into the channel's sum.  Each
 * step of RK_LANES elements runs two simple loops, the terms' and then
 * dx's (each vectorises where one loop doing both does not); the terms
 * come first since dx may be dy or x itself.  The terms of RK_SUM_CHUNK
 * elements go to the sum at once, as RK_SUM_LANES columns (zeros pad the
 * last row). */
RK_INLINE void RK_FN(prelu_backward_row_loop)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, RK_COMP_T a, rk_binned *sum)
{
    double terms[RK_SUM_CHUNK];
    for (rk_intp i0 = 0; i0 < n; i0 += RK_SUM_CHUNK) {
        const rk_intp m = n - i0 < RK_SUM_CHUNK ? n - i0 : RK_SUM_CHUNK;
        const char *dy0 = dy + i0 * sdy, *x0 = x + i0 * sx;
        char *dx0 = dx + i0 * sdx;
        rk_intp i = 0;
        for (; i + RK_LANES <= m; i += RK_LANES) {
            for (int l = 0; l < RK_LANES; l++) {
                terms[i + l] = RK_TERM_AT(dy0, x0, i + l, sdy, sx);
            }
            for (int l = 0; l < RK_LANES; l++) {
                RK_GRAD_AT(dy0, x0, dx0, i + l, sdy, sx, sdx, a);
            }
        }
        for (; i < m; i++) {
            terms[i] = RK_TERM_AT(dy0, x0, i, sdy, sx);
            RK_GRAD_AT(dy0, x0, dx0, i, sdy, sx, sdx, a);
        }
        for (; i % RK_SUM_LANES; i++) {
            terms[i] = 0.0;
        }
        rk_binned_add(sum, terms, i / RK_SUM_LANES, RK_SUM_LANES);
    }
}

/* The row loop out of line, one copy for contiguous rows and one for any
 * strides, so that the caller's own loops are register-allocated apart. */
RK_NOINLINE void RK_FN(prelu_backward_contiguous_row)(
    rk_intp n, const char *dy, const char *x, char *dx, RK_COMP_T a, rk_binned *sum)
{
    RK_FN(prelu_backward_row_loop)(n, dy, RK_ISIZE, x, RK_ISIZE, dx, RK_ISIZE, a, sum);
}

RK_NOINLINE void RK_FN(prelu_backward_strided_row)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, RK_COMP_T a, rk_binned *sum)
{
    RK_FN(prelu_backward_row_loop)(n, dy, sdy, x, sx, dx, sdx, a, sum);
}

RK_INLINE void RK_FN(prelu_backward_row)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, RK_COMP_T a, rk_binned *sum)
{
    if (sdy == RK_ISIZE && sx == RK_ISIZE && sdx == RK_ISIZE) {
        RK_FN(prelu_backward_contiguous_row)(n, dy, x, dx, a, sum);
    }
    else {
        RK_FN(prelu_backward_strided_row)(n, dy, sdy, x, sx, dx, sdx, a, sum);
    }
}

/* Channels last, as one contiguous run of n elements (rows that continue
 * one another) whose channel count divides RK_RUN_LANES: element i is
 * channel i % n_chan, so each of RK_RUN_LANES columns of terms holds one
 * channel's.  alpha_lanes[l] is lane l's slope; term i goes to terms[i]. */
RK_NOINLINE void RK_FN(prelu_backward_run)(
    rk_intp n, const char *dy, const char *x, char *dx,
    const RK_COMP_T *RK_RESTRICT alpha_lanes, double *RK_RESTRICT terms)
{
    rk_intp i = 0;
    for (; i + RK_RUN_LANES <= n; i += RK_RUN_LANES) {
        for (int l = 0; l < RK_RUN_LANES; l++) {
            terms[i + l] = RK_TERM_AT(dy, x, i + l, RK_ISIZE, RK_ISIZE);
        }
        for (int l = 0; l < RK_RUN_LANES; l++) {
            RK_GRAD_AT(dy, x, dx, i + l, RK_ISIZE, RK_ISIZE, RK_ISIZE, alpha_lanes[l]);
        }
    }
    for (int l = 0; i < n; i++, l++) {
        terms[i] = RK_TERM_AT(dy, x, i, RK_ISIZE, RK_ISIZE);
        RK_GRAD_AT(dy, x, dx, i, RK_ISIZE, RK_ISIZE, RK_ISIZE, alpha_lanes[l]);
    }
}

/* Channels innermost (NHWC): one element per channel, its term into
 * terms[c]. */
RK_INLINE void RK_FN(prelu_backward_channels)(
    rk_intp n_chan, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, const RK_COMP_T *RK_RESTRICT alpha,
    double *RK_RESTRICT terms)
{
    for (rk_intp c = 0; c < n_chan; c++) {
        RK_COMP_T g = RK_GET(dy, c * sdy), xv = RK_GET(x, c * sx);
        RK_COMP_T a_g = alpha[c] * g;
        terms[c] = RK_FN(slope_grad_term)(g, xv);
        RK_PUT(dx, c * sdx, RK_LEAKY_GRAD_NAN_FIRST(g, xv, a_g));
    }
}

#else
RK_INLINE void RK_FN(prelu_backward_row)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, float a, rk_binned *sum)
{
    float gs[RK_HALF_CHUNK], xs[RK_HALF_CHUNK], ds[RK_HALF_CHUNK];
    for (rk_intp i0 = 0; i0 < n; i0 += RK_HALF_CHUNK) {
        const rk_intp m = n - i0 < RK_HALF_CHUNK ? n - i0 : RK_HALF_CHUNK;
        const float *g = row_values_f16(m, dy + i0 * sdy, sdy, gs);
        const float *xv = row_values_f16(m, x + i0 * sx, sx, xs);
        prelu_backward_row_f32(m, (const char *)g, 4, (const char *)xv, 4,
                               (char *)ds, 4, a, sum);
        store_row_f16(m, ds, dx + i0 * sdx, sdx);
    }
}

RK_INLINE void RK_FN(prelu_backward_channels)(
    rk_intp n_chan, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, const float *RK_RESTRICT alpha,
    double *RK_RESTRICT terms)
{
    float gs[RK_HALF_CHUNK], xs[RK_HALF_CHUNK], ds[RK_HALF_CHUNK];
    for (rk_intp c0 = 0; c0 < n_chan; c0 += RK_HALF_CHUNK) {
        const rk_intp m = n_chan - c0 < RK_HALF_CHUNK ? n_chan - c0 : RK_HALF_CHUNK;
        const float *g = row_values_f16(m, dy + c0 * sdy, sdy, gs);
        const float *xv = row_values_f16(m, x + c0 * sx, sx, xs);
        prelu_backward_channels_f32(m, (const char *)g, 4, (const char *)xv, 4,
                                    (char *)ds, 4, alpha + c0, terms + c0);
        store_row_f16(m, ds, dx + c0 * sdx, sdx);
    }
}
#endif

/* Rows o0 .. o1 of a tiled channels-last block (see tile_alpha), a tile of
 * rows x n_chan terms at a time, and the rows left over one by one. */
RK_NOINLINE void RK_FN(prelu_backward_tiled)(
    rk_intp o0, rk_intp o1, rk_intp n_chan, rk_intp rows,
    const char *dy, const char *x, char *dx,
    const RK_COMP_T *RK_RESTRICT tiled, rk_binned *sums)
{
    double terms[RK_PRELU_TILE];
    const rk_intp row = n_chan * RK_ISIZE;
    rk_intp o = o0;
    for (; o + rows <= o1; o += rows) {
        RK_FN(prelu_backward_channels)(rows * n_chan, dy + o * row, RK_ISIZE,
                                       x + o * row, RK_ISIZE, dx + o * row, RK_ISIZE,
                                       tiled, terms);
        rk_binned_add(sums, terms, rows, n_chan);
    }
    for (; o < o1; o++) {
        RK_FN(prelu_backward_channels)(n_chan, dy + o * row, RK_ISIZE, x + o * row,
                                       RK_ISIZE, dx + o * row, RK_ISIZE, tiled, terms);
        rk_binned_add(sums, terms, 1, n_chan);
    }
}

static void RK_FN(rk_prelu_backward)(
    const rk_block *block,
    const char *dy, const rk_intp dy_s[3],
    const char *x, const rk_intp x_s[3],
    char *dx, const rk_intp dx_s[3],
    const void *alpha_, rk_exact *dalpha, void *scratch)
{
    const RK_COMP_T *RK_RESTRICT alpha = (const RK_COMP_T *)alpha_;
    const rk_intp n_outer = block->n_outer, n_chan = block->n_chan;
    const rk_intp n_inner = block->n_inner;
    const int rows_contiguous =
        dy_s[2] == RK_ISIZE && x_s[2] == RK_ISIZE && dx_s[2] == RK_ISIZE;
    const int channels_contiguous =
        dy_s[1] == RK_ISIZE && x_s[1] == RK_ISIZE && dx_s[1] == RK_ISIZE;
    const rk_intp row = n_chan * RK_ISIZE;
    const int rows_continue = dy_s[0] == row && x_s[0] == row && dx_s[0] == row;
    /* scratch (RK_PRELU_BACKWARD_SCRATCH): channels first, a sum per
     * channel; channels last, one with a column per channel (or lane of a
     * run) and a row of terms */
    rk_binned *RK_RESTRICT sums = (rk_binned *)scratch;
    double *RK_RESTRICT store = (double *)(sums + (n_inner == 1 ? 1 : n_chan));

    if (n_inner != 1) {
        for (rk_intp c = 0; c < n_chan; c++) {
            rk_binned_init(&sums[c], RK_SUM_LANES, store + c * 4 * RK_SUM_LANES,
                           &dalpha[c], 1);
        }
        for (rk_intp o = 0; o < n_outer; o++) {
            for (rk_intp c = 0; c < n_chan; c++) {
                const char *dy_c = dy + o * dy_s[0] + c * dy_s[1];
                const char *x_c = x + o * x_s[0] + c * x_s[1];
                char *dx_c = dx + o * dx_s[0] + c * dx_s[1];
                if (rows_contiguous) {
                    RK_FN(prelu_backward_row)(n_inner, dy_c, RK_ISIZE, x_c, RK_ISIZE,
                                              dx_c, RK_ISIZE, alpha[c], &sums[c]);
                }
                else {
                    RK_FN(prelu_backward_row)(n_inner, dy_c, dy_s[2], x_c, x_s[2],
                                              dx_c, dx_s[2], alpha[c], &sums[c]);
                }
            }
        }
        for (rk_intp c = 0; c < n_chan; c++) {
            rk_binned_empty(&sums[c]);
        }
        return;
    }

#if !RK_IS_HALF
    /* float32 only: for float64 the run was slower past the caches (1.2x
     * the tiled loop's time, where it is 0.8x to 0.9x for float32) */
    if (RK_ISIZE == 4 && channels_contiguous && n_chan >= 1
        && RK_RUN_LANES % n_chan == 0 && rows_continue) {
        const rk_intp n = n_outer * n_chan;
        RK_COMP_T alpha_lanes[RK_RUN_LANES];
        double terms[RK_RUN_CHUNK];
        for (int l = 0; l < RK_RUN_LANES; l++) {
            alpha_lanes[l] = alpha[l % n_chan];
        }
        rk_binned_init(sums, RK_RUN_LANES, store, dalpha, n_chan);
        for (rk_intp i0 = 0; i0 < n; i0 += RK_RUN_CHUNK) {
            const rk_intp m = n - i0 < RK_RUN_CHUNK ? n - i0 : RK_RUN_CHUNK;
            rk_intp i = m;
            RK_FN(prelu_backward_run)(m, dy + i0 * RK_ISIZE, x + i0 * RK_ISIZE,
                                      dx + i0 * RK_ISIZE, alpha_lanes, terms);
            for (; i % RK_RUN_LANES; i++) {
                terms[i] = 0.0;
            }
            rk_binned_add(sums, terms, i / RK_RUN_LANES, RK_RUN_LANES);
        }
        rk_binned_empty(sums);
        return;
    }
#endif

    rk_binned_init(sums, n_chan, store, dalpha, n_chan);
    {
        RK_COMP_T tiled[RK_PRELU_TILE];
        const rk_intp rows = RK_FN(tile_alpha)(block, channels_contiguous, rows_continue,
                                               alpha, tiled, RK_PRELU_TILE);
        if (rows) {
            RK_FN(prelu_backward_tiled)(0, n_outer, n_chan, rows, dy, x, dx, tiled, sums);
            rk_binned_empty(sums);
            return;
        }
    }
    for (rk_intp o = 0; o < n_outer; o++) {
        double *RK_RESTRICT terms = store + 4 * n_chan;
        const char *dy_o = dy + o * dy_s[0], *x_o = x + o * x_s[0];
        char *dx_o = dx + o * dx_s[0];
        if (channels_contiguous) {
            RK_FN(prelu_backward_channels)(n_chan, dy_o, RK_ISIZE, x_o, RK_ISIZE,
                                           dx_o, RK_ISIZE, alpha, terms);
        }
        else {
            RK_FN(prelu_backward_channels)(n_chan, dy_o, dy_s[1], x_o, x_s[1],
                                           dx_o, dx_s[1], alpha, terms);
        }
        rk_binned_add(sums, terms, 1, n_chan);
    }
    rk_binned_empty(sums);
}

#undef RK_FN
#undef RK_GET
#undef RK_PUT
#undef RK_ISIZE
#undef RK_TERM_AT
#undef RK_GRAD_AT
