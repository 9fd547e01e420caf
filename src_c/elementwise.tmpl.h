/*
 * ufunc inner loops for one float dtype (see rk_foreach_float.h).
 *
 * Each op is an inline strided loop (run), called by a dispatcher (loop)
 * either with the contiguous step as a constant, so that the compiler sees
 * a unit-stride loop and vectorises it, or with NumPy's steps.  The loops
 * have no restrict: NumPy passes out == input for in-place calls.
 *
 * float16 reuses the float32 loops on blocks and chunks converted by
 * rk_half.h, so the formulas run in float32 and are rounded once; relu,
 * which only selects, works on the stored bits (rk_half_relu).
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)

#if !RK_IS_HALF
#define RK_ISIZE ((rk_intp)sizeof(RK_STORE_T))
#define RK_ALPHA_SIZE ((rk_intp)sizeof(RK_COMP_T))
#define RK_GET(p, i, step) RK_LOAD(*RK_CONST_AT(RK_STORE_T, p, (i) * (step)))
#define RK_PUT(p, i, step, v) (*RK_AT(RK_STORE_T, p, (i) * (step)) = RK_TO_STORE(v))
/* alpha arrives in the compute type: the loop signature is ef->e, ff->f, dd->d. */
#define RK_GET_ALPHA(p, i, step) (*RK_CONST_AT(RK_COMP_T, p, (i) * (step)))

RK_INLINE void RK_FN(relu_run)(rk_intp n, const char *x, rk_intp sx,
                               char *y, rk_intp sy)
{
    for (rk_intp i = 0; i < n; i++) {
        RK_COMP_T xv = RK_GET(x, i, sx);
        RK_PUT(y, i, sy, RK_RELU(xv));
    }
}

RK_INLINE void RK_FN(relu_loop)(char **args, const rk_intp *dims, const rk_intp *steps)
{
    if (steps[0] == RK_ISIZE && steps[1] == RK_ISIZE) {
        RK_FN(relu_run)(dims[0], args[0], RK_ISIZE, args[1], RK_ISIZE);
    }
    else {
        RK_FN(relu_run)(dims[0], args[0], steps[0], args[1], steps[1]);
    }
}

RK_INLINE void RK_FN(relu_backward_run)(rk_intp n, const char *dy, rk_intp sdy,
                                        const char *x, rk_intp sx,
                                        char *dx, rk_intp sdx)
{
    for (rk_intp i = 0; i < n; i++) {
        RK_COMP_T g = RK_GET(dy, i, sdy), xv = RK_GET(x, i, sx);
        RK_PUT(dx, i, sdx, RK_RELU_GRAD(g, xv));
    }
}

RK_INLINE void RK_FN(relu_backward_loop)(char **args, const rk_intp *dims,
                                      const rk_intp *steps)
{
    if (steps[0] == RK_ISIZE && steps[1] == RK_ISIZE && steps[2] == RK_ISIZE) {
        RK_FN(relu_backward_run)(dims[0], args[0], RK_ISIZE, args[1], RK_ISIZE,
                                 args[2], RK_ISIZE);
    }
    else {
        RK_FN(relu_backward_run)(dims[0], args[0], steps[0], args[1], steps[1],
                                 args[2], steps[2]);
    }
}

RK_INLINE void RK_FN(leaky_relu_run)(rk_intp n, const char *x, rk_intp sx,
                                     const char *a, rk_intp sa,
                                     char *y, rk_intp sy)
{
    for (rk_intp i = 0; i < n; i++) {
        RK_COMP_T xv = RK_GET(x, i, sx), av = RK_GET_ALPHA(a, i, sa);
        RK_COMP_T ax = av * xv;
        RK_PUT(y, i, sy, RK_LEAKY(xv, ax));
    }
}

RK_INLINE void RK_FN(leaky_relu_loop)(char **args, const rk_intp *dims,
                                   const rk_intp *steps)
{
    const int contiguous = steps[0] == RK_ISIZE && steps[2] == RK_ISIZE;
    if (contiguous && steps[1] == 0) {          /* one slope for the whole run */
        RK_FN(leaky_relu_run)(dims[0], args[0], RK_ISIZE, args[1], 0,
                              args[2], RK_ISIZE);
    }
    else if (contiguous && steps[1] == RK_ALPHA_SIZE) {
        RK_FN(leaky_relu_run)(dims[0], args[0], RK_ISIZE, args[1], RK_ALPHA_SIZE,
                              args[2], RK_ISIZE);
    }
    else {
        RK_FN(leaky_relu_run)(dims[0], args[0], steps[0], args[1], steps[1],
                              args[2], steps[2]);
    }
}

RK_INLINE void RK_FN(leaky_relu_backward_run)(
    rk_intp n, const char *dy, rk_intp sdy, const char *x, rk_intp sx,
    const char *a, rk_intp sa, char *dx, rk_intp sdx)
{
    for (rk_intp i = 0; i < n; i++) {
        RK_COMP_T g = RK_GET(dy, i, sdy), xv = RK_GET(x, i, sx);
        RK_COMP_T a_g = RK_GET_ALPHA(a, i, sa) * g;
        RK_PUT(dx, i, sdx, RK_LEAKY_GRAD(g, xv, a_g));
    }
}

RK_INLINE void RK_FN(leaky_relu_backward_loop)(char **args, const rk_intp *dims,
                                            const rk_intp *steps)
{
    const int contiguous =
        steps[0] == RK_ISIZE && steps[1] == RK_ISIZE && steps[3] == RK_ISIZE;
    if (contiguous && steps[2] == 0) {
        RK_FN(leaky_relu_backward_run)(dims[0], args[0], RK_ISIZE, args[1], RK_ISIZE,
                                       args[2], 0, args[3], RK_ISIZE);
    }
    else if (contiguous && steps[2] == RK_ALPHA_SIZE) {
        RK_FN(leaky_relu_backward_run)(dims[0], args[0], RK_ISIZE, args[1], RK_ISIZE,
                                       args[2], RK_ALPHA_SIZE, args[3], RK_ISIZE);
    }
    else {
        RK_FN(leaky_relu_backward_run)(dims[0], args[0], steps[0], args[1], steps[1],
                                       args[2], steps[2], args[3], steps[3]);
    }
}

#define RK_RUN(op, nin, half_inputs) RK_FN(op##_loop)(args, dims, steps)

#undef RK_ISIZE
#undef RK_ALPHA_SIZE
#undef RK_GET
#undef RK_PUT
#undef RK_GET_ALPHA
#else
/*
 * float16: contiguous runs go a vector block at a time through the float32
 * run functions (RK_HALF_BLOCK, rk_half.h), so each element is read and
 * written once; strided runs and the last partial block go by chunks
 * through the float32 loops.  Each *_blocks function returns how many
 * elements it did (none when the run is not contiguous).
 */
#define RK_BLOCK_IN(p, i, buf) rk_half_block_to_floats((p) + 2 * (i), buf)
#define RK_BLOCK_OUT(buf, p, i) rk_floats_to_half_block(buf, (p) + 2 * (i))

/* relu needs no conversion (rk_half_relu): the whole run, at any steps */
RK_INLINE void relu_bits_f16(rk_intp n, const char *x, rk_intp sx, char *y, rk_intp sy)
{
    for (rk_intp i = 0; i < n; i++) {
        *RK_AT(uint16_t, y, i * sy) = rk_half_relu(*RK_CONST_AT(uint16_t, x, i * sx));
    }
}

RK_INLINE rk_intp relu_blocks_f16(char **args, const rk_intp *dims, const rk_intp *steps)
{
    if (steps[0] == 2 && steps[1] == 2) {
        relu_bits_f16(dims[0], args[0], 2, args[1], 2);
    }
    else {
        relu_bits_f16(dims[0], args[0], steps[0], args[1], steps[1]);
    }
    return dims[0];
}

RK_INLINE rk_intp relu_backward_blocks_f16(char **args, const rk_intp *dims,
                                           const rk_intp *steps)
{
    rk_intp i = 0;
    if (steps[0] != 2 || steps[1] != 2 || steps[2] != 2) {
        return 0;
    }
    for (; i + RK_HALF_BLOCK <= dims[0]; i += RK_HALF_BLOCK) {
        float gb[RK_HALF_BLOCK], xb[RK_HALF_BLOCK], db[RK_HALF_BLOCK];
        RK_BLOCK_IN(args[0], i, gb);
        RK_BLOCK_IN(args[1], i, xb);
        relu_backward_run_f32(RK_HALF_BLOCK, (const char *)gb, 4, (const char *)xb, 4,
                              (char *)db, 4);
        RK_BLOCK_OUT(db, args[2], i);
    }
    return i;
}

/* alpha (float32) is one value (step 0) or one per element (step 4): each
 * a constant step, so that the block's loop vectorises. */
RK_INLINE rk_intp leaky_relu_blocks_at(rk_intp n, const char *x, const char *a,
                                       rk_intp sa, char *y)
{
    rk_intp i = 0;
    for (; i + RK_HALF_LEAKY_BLOCK <= n; i += RK_HALF_LEAKY_BLOCK) {
        rk_half_leaky_block(x + 2 * i, (const float *)(const void *)(a + i * sa), sa / 4,
                            y + 2 * i);
    }
    return i;
}

RK_INLINE rk_intp leaky_relu_blocks_f16(char **args, const rk_intp *dims,
                                        const rk_intp *steps)
{
    if (steps[0] != 2 || steps[2] != 2) {
        return 0;
    }
    if (steps[1] == 0) {
        return leaky_relu_blocks_at(dims[0], args[0], args[1], 0, args[2]);
    }
    if (steps[1] == 4) {
        return leaky_relu_blocks_at(dims[0], args[0], args[1], 4, args[2]);
    }
    return 0;
}

RK_INLINE rk_intp leaky_relu_backward_blocks_at(rk_intp n, const char *dy, const char *x,
                                                const char *a, rk_intp sa, char *dx)
{
    rk_intp i = 0;
    for (; i + RK_HALF_BLOCK <= n; i += RK_HALF_BLOCK) {
        float gb[RK_HALF_BLOCK], xb[RK_HALF_BLOCK], db[RK_HALF_BLOCK];
        RK_BLOCK_IN(dy, i, gb);
        RK_BLOCK_IN(x, i, xb);
        leaky_relu_backward_run_f32(RK_HALF_BLOCK, (const char *)gb, 4, (const char *)xb, 4,
                                    a + i * sa, sa, (char *)db, 4);
        RK_BLOCK_OUT(db, dx, i);
    }
    return i;
}

RK_INLINE rk_intp leaky_relu_backward_blocks_f16(char **args, const rk_intp *dims,
                                                 const rk_intp *steps)
{
    if (steps[0] != 2 || steps[1] != 2 || steps[3] != 2) {
        return 0;
    }
    if (steps[2] == 0) {
        return leaky_relu_backward_blocks_at(dims[0], args[0], args[1], args[2], 0, args[3]);
    }
    if (steps[2] == 4) {
        return leaky_relu_backward_blocks_at(dims[0], args[0], args[1], args[2], 4, args[3]);
    }
    return 0;
}

#undef RK_BLOCK_IN
#undef RK_BLOCK_OUT

/* which inputs are float16: alpha (the last input of leaky_relu*) is float32 */
#define RK_RUN(op, nin, half_inputs)                                               \
    do {                                                                           \
        const rk_intp done_ = op##_blocks_f16(args, dims, steps);                  \
        const rk_intp rest_ = dims[0] - done_;                                     \
        char *rest_args_[nin + 1];                                                 \
        for (int op_ = 0; op_ <= (nin); op_++) {                                   \
            rest_args_[op_] = args[op_] + done_ * steps[op_];                      \
        }                                                                          \
        RK_HALF_UFUNC_LOOP(rest_args_, &rest_, steps, nin, half_inputs, op##_loop_f32); \
    } while (0)
#endif

/* The ufunc loops NumPy calls: the floating-point flags are left as they
 * were found (rk_formulas.h). */
#define RK_UFUNC_LOOP(op, nin, half_inputs)                                   \
    static void RK_FN(rk_##op)(char **args, const rk_intp *dims,             \
                               const rk_intp *steps, void *data)             \
    {                                                                        \
        fexcept_t fp_flags;                                                  \
        (void)data;                                                          \
        RK_SAVE_FP_FLAGS(fp_flags);                                          \
        RK_RUN(op, nin, half_inputs);                                        \
        RK_RESTORE_FP_FLAGS(fp_flags);                                       \
    }

RK_UFUNC_LOOP(relu, 1, 1u)
RK_UFUNC_LOOP(relu_backward, 2, 3u)
RK_UFUNC_LOOP(leaky_relu, 2, 1u)
RK_UFUNC_LOOP(leaky_relu_backward, 3, 3u)

#undef RK_RUN
#undef RK_UFUNC_LOOP
#undef RK_FN
