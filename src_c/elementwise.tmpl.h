/*
 * ufunc inner loops of the elementwise ops (rk_ops.h) for one float dtype
 * (see rk_foreach_float.h): each row of the registry becomes a loop that
 * applies its formula, rk_<op>_16, rk_<op>_32 or rk_<op>_64 (RK_WIDTH).
 *
 * A run applies the formula to n elements at given steps; the loop NumPy
 * calls runs it with the contiguous steps as constants where they are, so
 * that the compiler sees a unit-stride loop and vectorises it, or with
 * NumPy's steps.  The parameter (alpha) has step 0 (one value for the whole
 * run) or its own size (one per element, as PReLU forward broadcasts it).
 * No restrict: NumPy passes out == input for in-place calls.
 *
 * float16 runs its own formulas on floats: contiguous data goes a vector
 * block at a time (RK_HALF_BLOCK, rk_half.h), converted into a small
 * buffer, run with that constant length and converted back, so that each
 * element is read and written once; strided data and the last partial
 * block go by chunks (RK_HALF_UFUNC_LOOP).  Rows marked `own` have float16
 * blocks of their own here: relu selects among the stored bits
 * (rk_half_relu), and leaky_relu's blocks are rk_half_leaky_block.
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)
#define RK_FORMULA(op) RK_CAT3(rk, op, RK_WIDTH)

/* An op's formula arguments: its activation inputs, then its parameter.
 * The operands an op lacks are never expanded, so never loaded. */
#define RK_FORMULA_ARGS_1_0(in0, in1, param) (in0)
#define RK_FORMULA_ARGS_2_0(in0, in1, param) (in0, in1)
#define RK_FORMULA_ARGS_1_1(in0, in1, param) (in0, param)
#define RK_FORMULA_ARGS_2_1(in0, in1, param) (in0, in1, param)

/* The ufunc's operands: inputs, then the parameter, then the output. */
#define RK_IN0 0
#define RK_IN1(inputs) ((inputs) - 1)      /* in0 again for a single input */
#define RK_PARAM(inputs) (inputs)          /* the output when there is none */
#define RK_OUT(inputs, params) ((inputs) + (params))

/* The ufunc loop NumPy calls; it leaves the floating-point flags as it
 * found them (rk_formulas.h). */
#define RK_DEFINE_UFUNC_LOOP(op, inputs, params)                              \
    static void RK_FN(rk_##op)(char **args, const rk_intp *dims,             \
                               const rk_intp *steps, void *data)             \
    {                                                                        \
        fexcept_t fp_flags;                                                  \
        (void)data;                                                          \
        RK_SAVE_FP_FLAGS(fp_flags);                                          \
        RK_RUN(op, inputs, params);                                          \
        RK_RESTORE_FP_FLAGS(fp_flags);                                       \
    }

/* A run's element type: the stored one, or float for float16, whose runs
 * work on converted blocks and chunks of floats with the float16 formulas */
#if RK_IS_HALF
#define RK_RUN_T float
#else
#define RK_RUN_T RK_STORE_T
#endif
#define RK_ISIZE ((rk_intp)sizeof(RK_RUN_T))
#define RK_PARAM_SIZE ((rk_intp)sizeof(RK_COMP_T))
#define RK_GET(p, i, step) (*RK_CONST_AT(RK_RUN_T, p, (i) * (step)))
#define RK_PUT(p, i, step, v) (*RK_AT(RK_RUN_T, p, (i) * (step)) = (v))
/* the parameter arrives in the compute type: ef->e, ff->f, dd->d */
#define RK_GET_PARAM(p, i, step) (*RK_CONST_AT(RK_COMP_T, p, (i) * (step)))

/* the head of a run, its body opened: n elements of the inputs (in0, in1,
 * param) to out, at the given steps */
#define RK_RUN_HEAD(op)                                                          \
    RK_INLINE void RK_FN(op##_run)(rk_intp n, const char *in0, rk_intp s0,      \
                                   const char *in1, rk_intp s1,                 \
                                   const char *param, rk_intp sp,               \
                                   char *out, rk_intp so)                       \
    {                                                                           \
        (void)in1; (void)s1; (void)param; (void)sp;

#define RK_DEFINE_PLAIN_RUN(op, inputs, params, formula)                        \
    RK_RUN_HEAD(op)                                                             \
        for (rk_intp i = 0; i < n; i++) {                                       \
            const RK_COMP_T value = formula RK_FORMULA_ARGS_##inputs##_##params( \
                RK_GET(in0, i, s0), RK_GET(in1, i, s1), RK_GET_PARAM(param, i, sp)); \
            RK_PUT(out, i, so, value);                                          \
        }                                                                       \
    }

#if RK_WIDTH == 32
/* float32 by the row's float32 column (rk_ops.h).  A checked run computes
 * a block in float into a buffer, and only where a block has a hard
 * element does it go over the block again, giving each hard element the
 * float16 formula's value: an element's result depends on its own inputs
 * alone.  The inputs are read again before anything is written, since
 * NumPy passes out == input for in-place calls. */
#define RK_CHECK_BLOCK 256
#define RK_ARGS_AT(inputs, params, i)                                           \
    RK_FORMULA_ARGS_##inputs##_##params(RK_GET(in0, i, s0), RK_GET(in1, i, s1), \
                                        RK_GET_PARAM(param, i, sp))
#define RK_DEFINE_RUN_float(op, inputs, params)                                  \
    RK_DEFINE_PLAIN_RUN(op, inputs, params, rk_##op##_32)
#define RK_DEFINE_RUN_double(op, inputs, params)                                 \
    RK_DEFINE_PLAIN_RUN(op, inputs, params, rk_##op##_16)
#define RK_DEFINE_RUN_checked(op, inputs, params)                                \
    RK_RUN_HEAD(op)                                                             \
        for (rk_intp i0 = 0; i0 < n; i0 += RK_CHECK_BLOCK) {                    \
            const rk_intp m = n - i0 < RK_CHECK_BLOCK ? n - i0 : RK_CHECK_BLOCK; \
            float block[RK_CHECK_BLOCK];                                        \
            int hard = 0;                                                       \
            for (rk_intp j = 0; j < m; j++) {                                   \
                block[j] = rk_##op##_32 RK_ARGS_AT(inputs, params, i0 + j);     \
                hard |= rk_##op##_32_hard RK_ARGS_AT(inputs, params, i0 + j);   \
            }                                                                   \
            if (hard) {                                                         \
                for (rk_intp j = 0; j < m; j++) {                               \
                    if (rk_##op##_32_hard RK_ARGS_AT(inputs, params, i0 + j)) { \
                        block[j] = rk_##op##_16 RK_ARGS_AT(inputs, params, i0 + j); \
                    }                                                           \
                }                                                               \
            }                                                                   \
            for (rk_intp j = 0; j < m; j++) {                                   \
                RK_PUT(out, i0 + j, so, block[j]);                              \
            }                                                                   \
        }                                                                       \
    }
#define RK_DEFINE_RUN(op, inputs, params, float32)                               \
    RK_DEFINE_RUN_##float32(op, inputs, params)
#else
#define RK_DEFINE_RUN(op, inputs, params, float32)                               \
    RK_DEFINE_PLAIN_RUN(op, inputs, params, RK_FORMULA(op))
#endif

#define RK_DEFINE_LOOP(op, inputs, params)                                       \
    RK_INLINE void RK_FN(op##_loop)(char **args, const rk_intp *dims,           \
                                    const rk_intp *steps)                       \
    {                                                                           \
        const char *in0 = args[RK_IN0], *in1 = args[RK_IN1(inputs)];           \
        const char *param = args[RK_PARAM(inputs)];                             \
        char *out = args[RK_OUT(inputs, params)];                               \
        const rk_intp s0 = steps[RK_IN0], s1 = steps[RK_IN1(inputs)];           \
        const rk_intp sp = (params) ? steps[RK_PARAM(inputs)] : 0;              \
        const rk_intp so = steps[RK_OUT(inputs, params)];                       \
        const int contiguous = s0 == RK_ISIZE && s1 == RK_ISIZE && so == RK_ISIZE; \
        if (contiguous && sp == 0) {                                            \
            RK_FN(op##_run)(dims[0], in0, RK_ISIZE, in1, RK_ISIZE, param, 0,    \
                            out, RK_ISIZE);                                     \
        }                                                                       \
        else if ((params) && contiguous && sp == RK_PARAM_SIZE) {               \
            RK_FN(op##_run)(dims[0], in0, RK_ISIZE, in1, RK_ISIZE, param,       \
                            RK_PARAM_SIZE, out, RK_ISIZE);                      \
        }                                                                       \
        else {                                                                  \
            RK_FN(op##_run)(dims[0], in0, s0, in1, s1, param, sp, out, so);     \
        }                                                                       \
    }

#define RK_ROW_RUNS(op, inputs, params, family, half, float32)                    \
    RK_DEFINE_RUN(op, inputs, params, float32)                                  \
    RK_DEFINE_LOOP(op, inputs, params)

RK_ELEMENTWISE_OPS(RK_ROW_RUNS)

#undef RK_ROW_RUNS
#undef RK_RUN_T
#undef RK_ISIZE
#undef RK_PARAM_SIZE
#undef RK_GET
#undef RK_PUT
#undef RK_GET_PARAM
#undef RK_RUN_HEAD
#undef RK_DEFINE_PLAIN_RUN
#undef RK_DEFINE_RUN
#undef RK_DEFINE_LOOP
#if RK_WIDTH == 32
#undef RK_CHECK_BLOCK
#undef RK_ARGS_AT
#undef RK_DEFINE_RUN_float
#undef RK_DEFINE_RUN_double
#undef RK_DEFINE_RUN_checked
#endif

#if !RK_IS_HALF
#define RK_RUN(op, inputs, params) RK_FN(op##_loop)(args, dims, steps)

#define RK_ROW_KERNELS(op, inputs, params, family, half, float32)                \
    RK_DEFINE_UFUNC_LOOP(op, inputs, params)

RK_ELEMENTWISE_OPS(RK_ROW_KERNELS)
#else
/* Each op##_blocks_f16 does the contiguous blocks of a run and returns how
 * many elements it did (none when the run is not contiguous). */

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

/* The blocks of the rows marked `convert`: the float16 run on blocks
 * converted to float, the parameter (float32) at step 0 or 4, each a
 * constant. */
#define RK_HALF_BLOCKS_own(op, inputs, params)
#define RK_HALF_BLOCKS_convert(op, inputs, params)                              \
    RK_INLINE rk_intp op##_blocks_at_f16(rk_intp n, char **args, rk_intp sp)    \
    {                                                                           \
        rk_intp i = 0;                                                          \
        for (; i + RK_HALF_BLOCK <= n; i += RK_HALF_BLOCK) {                    \
            float in0[RK_HALF_BLOCK], in1[RK_HALF_BLOCK], out[RK_HALF_BLOCK];    \
            rk_half_block_to_floats(args[RK_IN0] + 2 * i, in0);                 \
            if ((inputs) > 1) {                                                 \
                rk_half_block_to_floats(args[RK_IN1(inputs)] + 2 * i, in1);     \
            }                                                                   \
            op##_run_f16(RK_HALF_BLOCK, (const char *)in0, 4, (const char *)in1, 4, \
                         args[RK_PARAM(inputs)] + i * sp, sp, (char *)out, 4);  \
            rk_floats_to_half_block(out, args[RK_OUT(inputs, params)] + 2 * i); \
        }                                                                       \
        return i;                                                               \
    }                                                                           \
                                                                                \
    RK_INLINE rk_intp op##_blocks_f16(char **args, const rk_intp *dims,         \
                                      const rk_intp *steps)                     \
    {                                                                           \
        const rk_intp sp = (params) ? steps[RK_PARAM(inputs)] : 0;              \
        if (steps[RK_IN0] != 2 || steps[RK_IN1(inputs)] != 2                    \
                || steps[RK_OUT(inputs, params)] != 2) {                        \
            return 0;                                                           \
        }                                                                       \
        if (sp == 0) {                                                          \
            return op##_blocks_at_f16(dims[0], args, 0);                        \
        }                                                                       \
        if (sp == 4) {                                                          \
            return op##_blocks_at_f16(dims[0], args, 4);                        \
        }                                                                       \
        return 0;                                                               \
    }

/* the blocks, then the rest by chunks through the float16 loop on
 * floats; the activation inputs are float16, the parameter float32 */
#define RK_RUN(op, inputs, params)                                                 \
    do {                                                                           \
        const rk_intp done_ = op##_blocks_f16(args, dims, steps);                  \
        const rk_intp rest_ = dims[0] - done_;                                     \
        char *rest_args_[(inputs) + (params) + 1];                                 \
        for (int op_ = 0; op_ <= (inputs) + (params); op_++) {                     \
            rest_args_[op_] = args[op_] + done_ * steps[op_];                      \
        }                                                                          \
        RK_HALF_UFUNC_LOOP(rest_args_, &rest_, steps, (inputs) + (params),         \
                           (1u << (inputs)) - 1u, op##_loop_f16);                  \
    } while (0)

#define RK_ROW_KERNELS(op, inputs, params, family, half, float32)                \
    RK_HALF_BLOCKS_##half(op, inputs, params)                                   \
    RK_DEFINE_UFUNC_LOOP(op, inputs, params)

RK_ELEMENTWISE_OPS(RK_ROW_KERNELS)

#undef RK_HALF_BLOCKS_own
#undef RK_HALF_BLOCKS_convert
#endif

#undef RK_ROW_KERNELS
#undef RK_RUN
#undef RK_DEFINE_UFUNC_LOOP
#undef RK_IN0
#undef RK_IN1
#undef RK_PARAM
#undef RK_OUT
#undef RK_FORMULA_ARGS_1_0
#undef RK_FORMULA_ARGS_2_0
#undef RK_FORMULA_ARGS_1_1
#undef RK_FORMULA_ARGS_2_1
#undef RK_FORMULA
#undef RK_FN
