/*
 * PReLU forward and backward for one float dtype (see rk_foreach_float.h
 * and the contracts in rectkern.h).  Backward computes dx and dalpha in
 * one pass over memory.
 *
 * dalpha is summed in float64 in a fixed order, so the bits depend on
 * nothing but the layout: each (outer, channel) row is summed in RK_LANES
 * interleaved partial sums, rows are added into a per-channel partial for
 * RK_ROWS_PER_FLUSH outer steps, and that partial into dalpha.  Float32
 * channels last, in rows that continue one another, is one run summed in
 * RK_RUN_LANES interleaved sums instead (prelu_backward_run), flushed into
 * dalpha as often.  The blocking keeps the rounding error near
 * sqrt(n) * eps on long runs.
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

/* One (outer, channel) row; returns the row's dalpha sum.  Each step of
 * RK_LANES elements runs two simple loops, dalpha's and then dx's (each
 * vectorises where one loop doing both does not), in one body, so that the
 * float64 arithmetic of one overlaps the stores of the other.  dalpha
 * comes first since dx may be dy or x itself. */
RK_INLINE double RK_FN(prelu_backward_row_loop)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, RK_COMP_T a)
{
    double lanes[RK_LANES] = {0};
    rk_intp i = 0;
    for (; i + RK_LANES <= n; i += RK_LANES) {
        for (int l = 0; l < RK_LANES; l++) {
            lanes[l] += RK_TERM_AT(dy, x, i + l, sdy, sx);
        }
        for (int l = 0; l < RK_LANES; l++) {
            RK_GRAD_AT(dy, x, dx, i + l, sdy, sx, sdx, a);
        }
    }
    for (int l = 0; i < n; i++, l++) {
        lanes[l] += RK_TERM_AT(dy, x, i, sdy, sx);
        RK_GRAD_AT(dy, x, dx, i, sdy, sx, sdx, a);
    }
    return rk_sum_lanes(lanes);
}

/* The row loop out of line, one copy for contiguous rows and one for any
 * strides, so that the caller's own loops are register-allocated apart. */
RK_NOINLINE double RK_FN(prelu_backward_contiguous_row)(
    rk_intp n, const char *dy, const char *x, char *dx, RK_COMP_T a)
{
    return RK_FN(prelu_backward_row_loop)(n, dy, RK_ISIZE, x, RK_ISIZE, dx, RK_ISIZE, a);
}

RK_NOINLINE double RK_FN(prelu_backward_strided_row)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, RK_COMP_T a)
{
    return RK_FN(prelu_backward_row_loop)(n, dy, sdy, x, sx, dx, sdx, a);
}

RK_INLINE double RK_FN(prelu_backward_row)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, RK_COMP_T a)
{
    if (sdy == RK_ISIZE && sx == RK_ISIZE && sdx == RK_ISIZE) {
        return RK_FN(prelu_backward_contiguous_row)(n, dy, x, dx, a);
    }
    return RK_FN(prelu_backward_strided_row)(n, dy, sdy, x, sx, dx, sdx, a);
}

/* Channels last, as one contiguous run of n elements (rows that continue
 * one another) whose channel count divides RK_RUN_LANES: element i is
 * channel i % n_chan, so lane l of RK_RUN_LANES interleaved sums gathers
 * channel l % n_chan alone, and the run is summed as a channels-first row
 * is, the sums in registers.  alpha_lanes[l] is lane l's slope; the lane
 * sums are returned in lane_sums. */
RK_NOINLINE void RK_FN(prelu_backward_run)(
    rk_intp n, const char *dy, const char *x, char *dx,
    const RK_COMP_T *RK_RESTRICT alpha_lanes, double *RK_RESTRICT lane_sums)
{
    double lanes[RK_RUN_LANES] = {0};
    rk_intp i = 0;
    for (; i + RK_RUN_LANES <= n; i += RK_RUN_LANES) {
        for (int l = 0; l < RK_RUN_LANES; l++) {
            lanes[l] += RK_TERM_AT(dy, x, i + l, RK_ISIZE, RK_ISIZE);
        }
        for (int l = 0; l < RK_RUN_LANES; l++) {
            RK_GRAD_AT(dy, x, dx, i + l, RK_ISIZE, RK_ISIZE, RK_ISIZE, alpha_lanes[l]);
        }
    }
    for (int l = 0; i < n; i++, l++) {
        lanes[l] += RK_TERM_AT(dy, x, i, RK_ISIZE, RK_ISIZE);
        RK_GRAD_AT(dy, x, dx, i, RK_ISIZE, RK_ISIZE, RK_ISIZE, alpha_lanes[l]);
    }
    for (int l = 0; l < RK_RUN_LANES; l++) {
        lane_sums[l] = lanes[l];
    }
}

/* Channels innermost (NHWC): one element per channel, C-wide partials. */
RK_INLINE void RK_FN(prelu_backward_channels)(
    rk_intp n_chan, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, const RK_COMP_T *RK_RESTRICT alpha,
    double *RK_RESTRICT partial)
{
    for (rk_intp c = 0; c < n_chan; c++) {
        RK_COMP_T g = RK_GET(dy, c * sdy), xv = RK_GET(x, c * sx);
        RK_COMP_T a_g = alpha[c] * g;
        partial[c] += RK_FN(slope_grad_term)(g, xv);
        RK_PUT(dx, c * sdx, RK_LEAKY_GRAD_NAN_FIRST(g, xv, a_g));
    }
}

#else
RK_INLINE double RK_FN(prelu_backward_row)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, float a)
{
    float gs[RK_HALF_CHUNK], xs[RK_HALF_CHUNK], ds[RK_HALF_CHUNK];
    double sum = 0.0;
    for (rk_intp i0 = 0; i0 < n; i0 += RK_HALF_CHUNK) {
        const rk_intp m = n - i0 < RK_HALF_CHUNK ? n - i0 : RK_HALF_CHUNK;
        const float *g = row_values_f16(m, dy + i0 * sdy, sdy, gs);
        const float *xv = row_values_f16(m, x + i0 * sx, sx, xs);
        sum += prelu_backward_row_f32(m, (const char *)g, 4, (const char *)xv, 4,
                                      (char *)ds, 4, a);
        store_row_f16(m, ds, dx + i0 * sdx, sdx);
    }
    return sum;
}

RK_INLINE void RK_FN(prelu_backward_channels)(
    rk_intp n_chan, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, const float *RK_RESTRICT alpha,
    double *RK_RESTRICT partial)
{
    float gs[RK_HALF_CHUNK], xs[RK_HALF_CHUNK], ds[RK_HALF_CHUNK];
    for (rk_intp c0 = 0; c0 < n_chan; c0 += RK_HALF_CHUNK) {
        const rk_intp m = n_chan - c0 < RK_HALF_CHUNK ? n_chan - c0 : RK_HALF_CHUNK;
        const float *g = row_values_f16(m, dy + c0 * sdy, sdy, gs);
        const float *xv = row_values_f16(m, x + c0 * sx, sx, xs);
        prelu_backward_channels_f32(m, (const char *)g, 4, (const char *)xv, 4,
                                    (char *)ds, 4, alpha + c0, partial + c0);
        store_row_f16(m, ds, dx + c0 * sdx, sdx);
    }
}
#endif

/* Rows o0 .. o1 of a tiled channels-last block (see tile_alpha): each row
 * of a tile adds into partial sums of its own, and the tile's rows are then
 * added in row order into partial, a fixed order (the bits depend on
 * nothing but the layout). */
RK_NOINLINE void RK_FN(prelu_backward_tiled)(
    rk_intp o0, rk_intp o1, rk_intp n_chan, rk_intp rows,
    const char *dy, const char *x, char *dx,
    const RK_COMP_T *RK_RESTRICT tiled, double *RK_RESTRICT partial)
{
    double sums[RK_PRELU_TILE];
    const rk_intp row = n_chan * RK_ISIZE;
    rk_intp o = o0;
    for (rk_intp i = 0; i < rows * n_chan; i++) {
        sums[i] = 0.0;
    }
    for (; o + rows <= o1; o += rows) {
        RK_FN(prelu_backward_channels)(rows * n_chan, dy + o * row, RK_ISIZE,
                                       x + o * row, RK_ISIZE, dx + o * row, RK_ISIZE,
                                       tiled, sums);
    }
    for (; o < o1; o++) {               /* the rows left over, into the first */
        RK_FN(prelu_backward_channels)(n_chan, dy + o * row, RK_ISIZE, x + o * row,
                                       RK_ISIZE, dx + o * row, RK_ISIZE, tiled, sums);
    }
    for (rk_intp c = 0; c < n_chan; c++) {
        double sum = 0.0;
        for (rk_intp r = 0; r < rows; r++) {
            sum += sums[r * n_chan + c];
        }
        partial[c] = sum;
    }
}

static void RK_FN(rk_prelu_backward)(
    const rk_block *block,
    const char *dy, const rk_intp dy_s[3],
    const char *x, const rk_intp x_s[3],
    char *dx, const rk_intp dx_s[3],
    const void *alpha_, double *dalpha, double *scratch)
{
    const RK_COMP_T *RK_RESTRICT alpha = (const RK_COMP_T *)alpha_;
    double *RK_RESTRICT partial = scratch;
    const rk_intp n_outer = block->n_outer, n_chan = block->n_chan;
    const rk_intp n_inner = block->n_inner;
    const int rows_contiguous =
        dy_s[2] == RK_ISIZE && x_s[2] == RK_ISIZE && dx_s[2] == RK_ISIZE;
    const int channels_contiguous =
        dy_s[1] == RK_ISIZE && x_s[1] == RK_ISIZE && dx_s[1] == RK_ISIZE;
    const rk_intp row = n_chan * RK_ISIZE;
    RK_COMP_T tiled[RK_PRELU_TILE];
    const rk_intp rows = RK_FN(tile_alpha)(
        block, channels_contiguous, dy_s[0] == row && x_s[0] == row && dx_s[0] == row,
        alpha, tiled, RK_PRELU_TILE);

#if !RK_IS_HALF
    /* float32 only: for float64 the run was slower past the caches (1.2x
     * the tiled loop's time, where it is 0.8x to 0.9x for float32) */
    if (RK_ISIZE == 4 && n_inner == 1 && channels_contiguous && n_chan >= 1
        && RK_RUN_LANES % n_chan == 0
        && dy_s[0] == row && x_s[0] == row && dx_s[0] == row) {
        /* a flush every RK_ROWS_PER_FLUSH elements per lane */
        const rk_intp flush = RK_ROWS_PER_FLUSH * (RK_RUN_LANES / n_chan);
        RK_COMP_T alpha_lanes[RK_RUN_LANES];
        double lane_sums[RK_RUN_LANES];
        for (int l = 0; l < RK_RUN_LANES; l++) {
            alpha_lanes[l] = alpha[l % n_chan];
        }
        for (rk_intp o0 = 0; o0 < n_outer; o0 += flush) {
            const rk_intp o1 = n_outer - o0 < flush ? n_outer : o0 + flush;
            RK_FN(prelu_backward_run)((o1 - o0) * n_chan, dy + o0 * row, x + o0 * row,
                                      dx + o0 * row, alpha_lanes, lane_sums);
            for (rk_intp c = 0; c < n_chan; c++) {
                double sum = 0.0;
                for (rk_intp l = c; l < RK_RUN_LANES; l += n_chan) {
                    sum += lane_sums[l];
                }
                dalpha[c] += sum;
            }
        }
        return;
    }
#endif

    for (rk_intp o0 = 0; o0 < n_outer; o0 += RK_ROWS_PER_FLUSH) {
        rk_intp o1 = n_outer - o0 < RK_ROWS_PER_FLUSH ? n_outer : o0 + RK_ROWS_PER_FLUSH;
        if (rows) {
            RK_FN(prelu_backward_tiled)(o0, o1, n_chan, rows, dy, x, dx, tiled, partial);
            for (rk_intp c = 0; c < n_chan; c++) {
                dalpha[c] += partial[c];
            }
            continue;
        }
        for (rk_intp c = 0; c < n_chan; c++) {
            partial[c] = 0.0;
        }
        for (rk_intp o = o0; o < o1; o++) {
            const char *dy_o = dy + o * dy_s[0], *x_o = x + o * x_s[0];
            char *dx_o = dx + o * dx_s[0];
            if (n_inner == 1) {
                if (channels_contiguous) {
                    RK_FN(prelu_backward_channels)(n_chan, dy_o, RK_ISIZE, x_o, RK_ISIZE,
                                                   dx_o, RK_ISIZE, alpha, partial);
                }
                else {
                    RK_FN(prelu_backward_channels)(n_chan, dy_o, dy_s[1], x_o, x_s[1],
                                                   dx_o, dx_s[1], alpha, partial);
                }
                continue;
            }
            for (rk_intp c = 0; c < n_chan; c++) {
                const char *dy_c = dy_o + c * dy_s[1], *x_c = x_o + c * x_s[1];
                char *dx_c = dx_o + c * dx_s[1];
                partial[c] += rows_contiguous
                    ? RK_FN(prelu_backward_row)(n_inner, dy_c, RK_ISIZE, x_c, RK_ISIZE,
                                                dx_c, RK_ISIZE, alpha[c])
                    : RK_FN(prelu_backward_row)(n_inner, dy_c, dy_s[2], x_c, x_s[2],
                                                dx_c, dx_s[2], alpha[c]);
            }
        }
        for (rk_intp c = 0; c < n_chan; c++) {
            dalpha[c] += partial[c];
        }
    }
}

#undef RK_FN
#undef RK_GET
#undef RK_PUT
#undef RK_ISIZE
#undef RK_TERM_AT
#undef RK_GRAD_AT
