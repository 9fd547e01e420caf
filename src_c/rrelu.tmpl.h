/*
 * RReLU in training, for one float dtype (see rk_foreach_float.h): the
 * negative slope of the element of logical index i is
 * lower + (upper - lower) * u, u uniform in [0, 1) from rk_random.h keyed
 * by (key, i), in the compute type.  Forward and backward are leaky_relu's
 * formulas with that slope.  float16 runs the float32 kernels by chunks.
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)

#if !RK_IS_HALF
#if RK_WIDTH == 32
#define RK_UNIFORM(key, i) rk_random_float(key, i)
#else
#define RK_UNIFORM(key, i) rk_random_double(key, i)
#endif
#define RK_GET(p, i, step) (*RK_CONST_AT(RK_STORE_T, p, (i) * (step)))
#define RK_PUT(p, i, step, v) (*RK_AT(RK_STORE_T, p, (i) * (step)) = (v))

RK_INLINE void RK_FN(rrelu_run)(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                                const char *x, rk_intp sx, char *y, rk_intp sy)
{
    const uint64_t key = slopes->key;
    const RK_COMP_T lower = (RK_COMP_T)slopes->lower;
    const RK_COMP_T width = (RK_COMP_T)slopes->upper - lower;
    for (rk_intp i = 0; i < n; i++) {
        const RK_COMP_T slope = lower + width * RK_UNIFORM(key, (uint64_t)(start + i));
        RK_PUT(y, i, sy, RK_CAT3(rk, leaky_relu, RK_WIDTH)(RK_GET(x, i, sx), slope));
    }
}

RK_INLINE void RK_FN(rrelu_backward_run)(const rk_rrelu_slopes *slopes, rk_intp n,
                                         rk_intp start, const char *dy, rk_intp sdy,
                                         const char *x, rk_intp sx, char *dx, rk_intp sdx)
{
    const uint64_t key = slopes->key;
    const RK_COMP_T lower = (RK_COMP_T)slopes->lower;
    const RK_COMP_T width = (RK_COMP_T)slopes->upper - lower;
    for (rk_intp i = 0; i < n; i++) {
        const RK_COMP_T slope = lower + width * RK_UNIFORM(key, (uint64_t)(start + i));
        RK_PUT(dx, i, sdx, RK_CAT3(rk, leaky_relu_backward, RK_WIDTH)(
            RK_GET(dy, i, sdy), RK_GET(x, i, sx), slope));
    }
}

static void RK_FN(rk_rrelu)(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                            const char *x, rk_intp sx, char *y, rk_intp sy)
{
    if (sx == (rk_intp)sizeof(RK_STORE_T) && sy == (rk_intp)sizeof(RK_STORE_T)) {
        RK_FN(rrelu_run)(slopes, n, start, x, (rk_intp)sizeof(RK_STORE_T), y,
                         (rk_intp)sizeof(RK_STORE_T));
    }
    else {
        RK_FN(rrelu_run)(slopes, n, start, x, sx, y, sy);
    }
}

static void RK_FN(rk_rrelu_backward)(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                                     const char *dy, rk_intp sdy, const char *x, rk_intp sx,
                                     char *dx, rk_intp sdx)
{
    const rk_intp size = (rk_intp)sizeof(RK_STORE_T);
    if (sdy == size && sx == size && sdx == size) {
        RK_FN(rrelu_backward_run)(slopes, n, start, dy, size, x, size, dx, size);
    }
    else {
        RK_FN(rrelu_backward_run)(slopes, n, start, dy, sdy, x, sx, dx, sdx);
    }
}

#undef RK_UNIFORM
#undef RK_GET
#undef RK_PUT
#else
static void rk_rrelu_f16(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                         const char *x, rk_intp sx, char *y, rk_intp sy)
{
    float xb[RK_HALF_CHUNK], yb[RK_HALF_CHUNK];
    for (rk_intp i0 = 0; i0 < n; i0 += RK_HALF_CHUNK) {
        const rk_intp m = n - i0 < RK_HALF_CHUNK ? n - i0 : RK_HALF_CHUNK;
        rk_halves_to_floats(m, x + i0 * sx, sx, xb);
        rrelu_run_f32(slopes, m, start + i0, (const char *)xb, 4, (char *)yb, 4);
        rk_floats_to_halves(m, yb, y + i0 * sy, sy);
    }
}

static void rk_rrelu_backward_f16(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                                  const char *dy, rk_intp sdy, const char *x, rk_intp sx,
                                  char *dx, rk_intp sdx)
{
    float dyb[RK_HALF_CHUNK], xb[RK_HALF_CHUNK], dxb[RK_HALF_CHUNK];
    for (rk_intp i0 = 0; i0 < n; i0 += RK_HALF_CHUNK) {
        const rk_intp m = n - i0 < RK_HALF_CHUNK ? n - i0 : RK_HALF_CHUNK;
        rk_halves_to_floats(m, dy + i0 * sdy, sdy, dyb);
        rk_halves_to_floats(m, x + i0 * sx, sx, xb);
        rrelu_backward_run_f32(slopes, m, start + i0, (const char *)dyb, 4,
                               (const char *)xb, 4, (char *)dxb, 4);
        rk_floats_to_halves(m, dxb, dx + i0 * sdx, sdx);
    }
}
#endif

#undef RK_FN
