/*
 * PReLU backward for one float dtype (see rk_foreach_float.h and the
 * contract in rectkern.h).  dx and dalpha come out of one pass.
 *
 * dalpha is summed in float64 in a fixed order, so the bits do not depend
 * on anything but the layout: each (outer, channel) row is summed in
 * RK_LANES interleaved partial sums, rows are added into a per-channel
 * partial for RK_ROWS_PER_FLUSH outer steps, and that partial into dalpha.
 * The blocking keeps the rounding error near sqrt(n) * eps for long runs.
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)
#define RK_GET(p, off) RK_LOAD(*RK_CONST_AT(RK_STORE_T, p, off))
#define RK_PUT(p, off, v) (*RK_AT(RK_STORE_T, p, off) = RK_TO_STORE(v))

/* dx and the dalpha term of one element. */
RK_INLINE double RK_FN(prelu_backward_one)(const char *dy, const char *x, char *dx,
                                           RK_COMP_T a)
{
    RK_COMP_T g = RK_GET(dy, 0), xv = RK_GET(x, 0);
    RK_COMP_T a_g = a * g;
    double x_dy = (double)xv * (double)g;
    RK_PUT(dx, 0, RK_LEAKY_GRAD(g, xv, a_g));
    return RK_SLOPE_GRAD_TERM(xv, x_dy);
}

/* One (outer, channel) row along n_inner; returns the row's dalpha sum. */
RK_INLINE double RK_FN(prelu_backward_row)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, RK_COMP_T a)
{
    double lanes[RK_LANES] = {0};
    rk_intp i = 0;
    for (; i + RK_LANES <= n; i += RK_LANES) {
        for (int l = 0; l < RK_LANES; l++) {
            rk_intp j = i + l;
            lanes[l] += RK_FN(prelu_backward_one)(dy + j * sdy, x + j * sx,
                                                  dx + j * sdx, a);
        }
    }
    for (int l = 0; i < n; i++, l++) {
        lanes[l] += RK_FN(prelu_backward_one)(dy + i * sdy, x + i * sx,
                                              dx + i * sdx, a);
    }
    return rk_sum_lanes(lanes);
}

/* Channels innermost (NHWC): one element per channel, C-wide partials. */
RK_INLINE void RK_FN(prelu_backward_channels)(
    rk_intp n_chan, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    char *dx, rk_intp sdx, const RK_COMP_T *RK_RESTRICT alpha,
    double *RK_RESTRICT partial)
{
    for (rk_intp c = 0; c < n_chan; c++) {
        partial[c] += RK_FN(prelu_backward_one)(dy + c * sdy, x + c * sx,
                                                dx + c * sdx, alpha[c]);
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
    const rk_intp isize = (rk_intp)sizeof(RK_STORE_T);
    const int contiguous = dy_s[2] == isize && x_s[2] == isize && dx_s[2] == isize;
    const int channels_contiguous =
        dy_s[1] == isize && x_s[1] == isize && dx_s[1] == isize;

    for (rk_intp o0 = 0; o0 < n_outer; o0 += RK_ROWS_PER_FLUSH) {
        rk_intp o1 = n_outer - o0 < RK_ROWS_PER_FLUSH ? n_outer : o0 + RK_ROWS_PER_FLUSH;
        for (rk_intp c = 0; c < n_chan; c++) {
            partial[c] = 0.0;
        }
        for (rk_intp o = o0; o < o1; o++) {
            const char *dy_o = dy + o * dy_s[0], *x_o = x + o * x_s[0];
            char *dx_o = dx + o * dx_s[0];
            if (n_inner == 1) {
                if (channels_contiguous) {
                    RK_FN(prelu_backward_channels)(n_chan, dy_o, isize, x_o, isize,
                                                   dx_o, isize, alpha, partial);
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
                partial[c] += contiguous
                    ? RK_FN(prelu_backward_row)(n_inner, dy_c, isize, x_c, isize,
                                                dx_c, isize, alpha[c])
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
