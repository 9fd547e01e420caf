/*
 * bias_act and its backward for one float dtype (the contracts are in
 * rectkern.h): y = g(z + bias[c]) and, backward, dz = g'(dy, z + bias[c])
 * with dbias (and prelu's dalpha) summed in the same pass.
 *
 * A chunk of elements at a time: s = z + bias in the compute type into a
 * buffer, then the activation's own elementwise loop (the registry's, at
 * this level) on the buffer, so that every activation is the op a user
 * would call on z + b, bit for bit.  Channels first, a chunk is a piece of
 * one channel's row; channels last, whole rows of channels, with bias and
 * alpha tiled across them.  The sums' terms go to binned exact sums
 * (rk_sum.h) as prelu_backward's do.
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)
#define RK_ISIZE ((rk_intp)sizeof(RK_STORE_T))
#define RK_CSIZE ((rk_intp)sizeof(RK_COMP_T))

/* The activation's loop (forward or backward) over m compute-type values:
 * out = g(s), or out = g'(dy, s); alpha is one value (alpha_step 0) or m. */
RK_INLINE void RK_FN(bias_act_apply)(rk_ufunc_loop *loop, int has_alpha, rk_intp m,
                                     const RK_COMP_T *dy, const RK_COMP_T *s,
                                     const RK_COMP_T *alpha, rk_intp alpha_step,
                                     RK_COMP_T *out)
{
    char *args[4];
    rk_intp steps[4] = {RK_CSIZE, RK_CSIZE, RK_CSIZE, RK_CSIZE};
    int k = 0;
    if (loop == NULL) {                 /* identity: g(s) = s, g'(dy, s) = dy */
        const RK_COMP_T *from = dy != NULL ? dy : s;
        for (rk_intp i = 0; i < m; i++) {
            out[i] = from[i];
        }
        return;
    }
    if (dy != NULL) {
        args[k++] = (char *)(void *)dy;
    }
    args[k++] = (char *)(void *)s;
    if (has_alpha) {
        steps[k] = alpha_step;
        args[k++] = (char *)(void *)alpha;
    }
    args[k] = (char *)(void *)out;
    loop(args, &m, steps, NULL);
}

/* Channels first: s = m values of a row (stride bytes apart) + b, in the
 * compute type; in is a chunk's buffer for the conversions. */
RK_INLINE void RK_FN(bias_act_shift)(rk_intp m, const char *src, rk_intp stride,
                                     RK_COMP_T b, RK_COMP_T *RK_RESTRICT s,
                                     RK_COMP_T *RK_RESTRICT in)
{
    const RK_COMP_T *v = RK_FN(row_values)(m, src, stride, in);
    for (rk_intp i = 0; i < m; i++) {
        s[i] = v[i] + b;
    }
}

/* Channels last: bias, and alpha where the loop takes one, tiled over the
 * rows of a chunk. */
RK_INLINE void RK_FN(bias_act_tile)(rk_intp rows, rk_intp n_chan,
                                    const RK_COMP_T *RK_RESTRICT bias,
                                    const rk_activation *act,
                                    RK_COMP_T *RK_RESTRICT tiled_bias,
                                    RK_COMP_T *RK_RESTRICT tiled_alpha)
{
    const RK_COMP_T *alpha = (const RK_COMP_T *)act->alpha;
    for (rk_intp r = 0; r < rows; r++) {
        for (rk_intp c = 0; c < n_chan; c++) {
            tiled_bias[r * n_chan + c] = bias[c];
            if (act->has_alpha) {
                tiled_alpha[r * n_chan + c] = alpha[act->alpha_per_channel ? c : 0];
            }
        }
    }
}

/* Channels last: rows rows of n_chan values (rows src_s[0] bytes apart,
 * channels src_s[1]) into dst in the compute type, plus the tiled bias
 * where add is not NULL; in is a chunk's buffer for the conversions. */
RK_INLINE void RK_FN(bias_act_rows)(rk_intp rows, rk_intp n_chan, const char *src,
                                    const rk_intp src_s[3], const RK_COMP_T *add,
                                    RK_COMP_T *RK_RESTRICT dst, RK_COMP_T *RK_RESTRICT in)
{
    for (rk_intp r = 0; r < rows; r++) {
        for (rk_intp c0 = 0; c0 < n_chan; c0 += RK_BIAS_ACT_CHUNK) {
            const rk_intp k = n_chan - c0 < RK_BIAS_ACT_CHUNK ? n_chan - c0 : RK_BIAS_ACT_CHUNK;
            const RK_COMP_T *v = RK_FN(row_values)(k, src + r * src_s[0] + c0 * src_s[1],
                                                   src_s[1], in);
            RK_COMP_T *d = dst + r * n_chan + c0;
            if (add != NULL) {
                const RK_COMP_T *a = add + r * n_chan + c0;
                for (rk_intp i = 0; i < k; i++) {
                    d[i] = v[i] + a[i];
                }
            }
            else {
                for (rk_intp i = 0; i < k; i++) {
                    d[i] = v[i];
                }
            }
        }
    }
}

/* ---- forward */

static void RK_FN(rk_bias_act)(const rk_block *block,
                               const char *z, const rk_intp z_s[3],
                               char *y, const rk_intp y_s[3],
                               const void *bias_, const rk_activation *act, void *scratch)
{
    const RK_COMP_T *RK_RESTRICT bias = (const RK_COMP_T *)bias_;
    const RK_COMP_T *alpha = (const RK_COMP_T *)act->alpha;
    const rk_intp n_outer = block->n_outer, n_chan = block->n_chan;
    const rk_intp n_inner = block->n_inner;
    const rk_intp cap = RK_BIAS_ACT_CHUNK > n_chan ? RK_BIAS_ACT_CHUNK : n_chan;
    /* scratch (RK_BIAS_ACT_SCRATCH): buffers of cap values */
    RK_COMP_T *RK_RESTRICT s = (RK_COMP_T *)scratch;
    RK_COMP_T *RK_RESTRICT out = (RK_COMP_T *)((double *)scratch + cap);
    RK_COMP_T *RK_RESTRICT tiled_bias = (RK_COMP_T *)((double *)scratch + 2 * cap);
    RK_COMP_T *RK_RESTRICT tiled_alpha = (RK_COMP_T *)((double *)scratch + 3 * cap);
    RK_COMP_T in[RK_BIAS_ACT_CHUNK];

    if (n_inner != 1) {
        for (rk_intp o = 0; o < n_outer; o++) {
            for (rk_intp c = 0; c < n_chan; c++) {
                const char *z_c = z + o * z_s[0] + c * z_s[1];
                char *y_c = y + o * y_s[0] + c * y_s[1];
                const RK_COMP_T b = bias[c];
                for (rk_intp i0 = 0; i0 < n_inner; i0 += RK_BIAS_ACT_CHUNK) {
                    const rk_intp m = n_inner - i0 < RK_BIAS_ACT_CHUNK
                        ? n_inner - i0 : RK_BIAS_ACT_CHUNK;
                    RK_FN(bias_act_shift)(m, z_c + i0 * z_s[2], z_s[2], b, s, in);
                    /* into y itself where it is a contiguous row of the compute type */
                    RK_COMP_T *dst = !RK_IS_HALF && y_s[2] == RK_ISIZE
                        ? (RK_COMP_T *)(void *)(y_c + i0 * y_s[2]) : out;
                    RK_FN(bias_act_apply)(act->forward, act->has_alpha, m, NULL, s,
                                          act->alpha_per_channel ? alpha + c : alpha, 0, dst);
                    if (dst == out) {
                        RK_FN(store_row)(m, out, y_c + i0 * y_s[2], y_s[2]);
                    }
                }
            }
        }
        return;
    }
    /* channels last: whole rows per chunk, bias and alpha tiled to match */
    {
        const rk_intp rows = cap / n_chan;
        RK_FN(bias_act_tile)(rows, n_chan, bias, act, tiled_bias, tiled_alpha);
        for (rk_intp o0 = 0; o0 < n_outer; o0 += rows) {
            const rk_intp r1 = n_outer - o0 < rows ? n_outer - o0 : rows;
            const rk_intp m = r1 * n_chan;
            RK_FN(bias_act_rows)(r1, n_chan, z + o0 * z_s[0], z_s, tiled_bias, s, in);
            RK_COMP_T *dst = !RK_IS_HALF && y_s[1] == RK_ISIZE && y_s[0] == n_chan * RK_ISIZE
                ? (RK_COMP_T *)(void *)(y + o0 * y_s[0]) : out;
            RK_FN(bias_act_apply)(act->forward, act->has_alpha, m, NULL, s, tiled_alpha,
                                  act->alpha_per_channel ? RK_CSIZE : 0, dst);
            for (rk_intp r = 0; dst == out && r < r1; r++) {
                RK_FN(store_row)(n_chan, out + r * n_chan, y + (o0 + r) * y_s[0], y_s[1]);
            }
        }
    }
}

/* ---- backward */

/* The terms of one chunk: dz as stored (into dbias), and where prelu's
 * slopes are learnt x * dy with x = s (into dalpha). */
RK_INLINE void RK_FN(bias_act_terms)(rk_intp m, const RK_COMP_T *RK_RESTRICT dz,
                                     const RK_COMP_T *RK_RESTRICT s,
                                     const RK_COMP_T *RK_RESTRICT dy, int slopes,
                                     double *RK_RESTRICT dz_terms,
                                     double *RK_RESTRICT slope_terms)
{
    for (rk_intp i = 0; i < m; i++) {
        dz_terms[i] = (double)RK_LOAD(RK_TO_STORE(dz[i]));
    }
    if (slopes) {
        for (rk_intp i = 0; i < m; i++) {
            const double x = (double)s[i];
            slope_terms[i] = RK_SLOPE_GRAD_TERM(x, x * (double)dy[i]);
        }
    }
}

static void RK_FN(rk_bias_act_backward)(
    const rk_block *block,
    const char *dy, const rk_intp dy_s[3],
    const char *z, const rk_intp z_s[3],
    char *dz, const rk_intp dz_s[3],
    const void *bias_, const rk_activation *act,
    rk_exact *dbias, rk_exact *dalpha, void *scratch)
{
    const RK_COMP_T *RK_RESTRICT bias = (const RK_COMP_T *)bias_;
    const RK_COMP_T *alpha = (const RK_COMP_T *)act->alpha;
    const rk_intp n_outer = block->n_outer, n_chan = block->n_chan;
    const rk_intp n_inner = block->n_inner;
    const int slopes = act->slopes;
    const rk_intp n_dalpha = act->alpha_per_channel ? n_chan : 1;
    const rk_intp cap = RK_BIAS_ACT_CHUNK > n_chan ? RK_BIAS_ACT_CHUNK : n_chan;
    /* scratch (RK_BIAS_ACT_SCRATCH): buffers of cap values (as many
     * doubles each), the terms, then the sums' states and bins */
    double *RK_RESTRICT slots = (double *)scratch;
    RK_COMP_T *RK_RESTRICT s = (RK_COMP_T *)slots;
    RK_COMP_T *RK_RESTRICT g = (RK_COMP_T *)(slots + cap);
    RK_COMP_T *RK_RESTRICT out = (RK_COMP_T *)(slots + 2 * cap);
    RK_COMP_T *RK_RESTRICT tiled_bias = (RK_COMP_T *)(slots + 3 * cap);
    RK_COMP_T *RK_RESTRICT tiled_alpha = (RK_COMP_T *)(slots + 4 * cap);
    double *RK_RESTRICT dz_terms = slots + 5 * cap;
    double *RK_RESTRICT slope_terms = dz_terms + cap + RK_SUM_LANES;
    rk_binned *RK_RESTRICT sums = (rk_binned *)(slope_terms + cap + RK_SUM_LANES);
    double *RK_RESTRICT store = (double *)(sums + 2 * n_chan + 2);
    RK_COMP_T in[RK_BIAS_ACT_CHUNK];

    if (n_inner != 1) {
        /* channels first: each channel's sums in RK_SUM_LANES columns */
        rk_binned *bias_sums = sums, *slope_sums = sums + n_chan;
        for (rk_intp c = 0; c < n_chan; c++) {
            rk_binned_init(&bias_sums[c], RK_SUM_LANES, store + 2 * c * 4 * RK_SUM_LANES,
                           &dbias[c], 1);
            rk_binned_init(&slope_sums[c], RK_SUM_LANES,
                           store + (2 * c + 1) * 4 * RK_SUM_LANES,
                           &dalpha[act->alpha_per_channel ? c : 0], 1);
        }
        for (rk_intp o = 0; o < n_outer; o++) {
            for (rk_intp c = 0; c < n_chan; c++) {
                const char *z_c = z + o * z_s[0] + c * z_s[1];
                const char *dy_c = dy + o * dy_s[0] + c * dy_s[1];
                char *dz_c = dz + o * dz_s[0] + c * dz_s[1];
                const RK_COMP_T b = bias[c];
                for (rk_intp i0 = 0; i0 < n_inner; i0 += RK_BIAS_ACT_CHUNK) {
                    const rk_intp m = n_inner - i0 < RK_BIAS_ACT_CHUNK
                        ? n_inner - i0 : RK_BIAS_ACT_CHUNK;
                    const RK_COMP_T *gv;
                    rk_intp padded = m;
                    RK_FN(bias_act_shift)(m, z_c + i0 * z_s[2], z_s[2], b, s, in);
                    RK_COMP_T *dst;
                    gv = RK_FN(row_values)(m, dy_c + i0 * dy_s[2], dy_s[2], g);
                    /* into dz itself where it is a contiguous row of the compute
                     * type, unless the slopes' terms still need dy there */
                    dst = !RK_IS_HALF && dz_s[2] == RK_ISIZE && !(slopes && dz_c == dy_c)
                        ? (RK_COMP_T *)(void *)(dz_c + i0 * dz_s[2]) : out;
                    RK_FN(bias_act_apply)(act->backward, act->has_alpha, m, gv, s,
                                          act->alpha_per_channel ? alpha + c : alpha, 0, dst);
                    RK_FN(bias_act_terms)(m, dst, s, gv, slopes, dz_terms, slope_terms);
                    if (dst == out) {
                        RK_FN(store_row)(m, out, dz_c + i0 * dz_s[2], dz_s[2]);
                    }
                    for (; padded % RK_SUM_LANES; padded++) {
                        dz_terms[padded] = 0.0;
                        slope_terms[padded] = 0.0;
                    }
                    rk_binned_add(&bias_sums[c], dz_terms, padded / RK_SUM_LANES, RK_SUM_LANES);
                    if (slopes) {
                        rk_binned_add(&slope_sums[c], slope_terms, padded / RK_SUM_LANES,
                                      RK_SUM_LANES);
                    }
                }
            }
        }
        for (rk_intp c = 0; c < n_chan; c++) {
            rk_binned_empty(&bias_sums[c]);
            rk_binned_empty(&slope_sums[c]);
        }
        return;
    }
    /* channels last: a column per channel, whole rows per chunk */
    {
        const rk_intp rows = cap / n_chan;
        rk_binned *bias_sum = sums, *slope_sum = sums + 1;
        rk_binned_init(bias_sum, n_chan, store, dbias, n_chan);
        rk_binned_init(slope_sum, n_chan, store + 4 * n_chan, dalpha, n_dalpha);
        RK_FN(bias_act_tile)(rows, n_chan, bias, act, tiled_bias, tiled_alpha);
        for (rk_intp o0 = 0; o0 < n_outer; o0 += rows) {
            const rk_intp r1 = n_outer - o0 < rows ? n_outer - o0 : rows;
            const rk_intp m = r1 * n_chan;
            RK_FN(bias_act_rows)(r1, n_chan, z + o0 * z_s[0], z_s, tiled_bias, s, in);
            RK_FN(bias_act_rows)(r1, n_chan, dy + o0 * dy_s[0], dy_s, NULL, g, in);
            RK_FN(bias_act_apply)(act->backward, act->has_alpha, m, g, s, tiled_alpha,
                                  act->alpha_per_channel ? RK_CSIZE : 0, out);
            RK_FN(bias_act_terms)(m, out, s, g, slopes, dz_terms, slope_terms);
            for (rk_intp r = 0; r < r1; r++) {
                RK_FN(store_row)(n_chan, out + r * n_chan, dz + (o0 + r) * dz_s[0], dz_s[1]);
            }
            rk_binned_add(bias_sum, dz_terms, r1, n_chan);
            if (slopes) {
                rk_binned_add(slope_sum, slope_terms, r1, n_chan);
            }
        }
        rk_binned_empty(bias_sum);
        rk_binned_empty(slope_sum);
    }
}

#undef RK_FN
#undef RK_ISIZE
#undef RK_CSIZE
