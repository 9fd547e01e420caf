/*
 * The optimisers' update rules (rk_optim_fn) and the sum of squares of the
 * gradient norm (rk_sum_squares_fn), for one float dtype.
 *
 * Each rule is one loop over contiguous rows of the compute type, written
 * in the operation order of its NumPy twin (rectkern/_reference.py), every
 * operation rounded to the compute type (no contraction: setup.py's
 * -ffp-contract=off), so every level gives the twin's bits.  The options
 * that add an operand (a momentum buffer, amsgrad's maximum) are constants
 * of their own loop; the others are selects, which the vectorised loop
 * evaluates on both sides.  Rows that are not contiguous in the compute
 * type (float16, strided views) go by chunks through buffers.
 */
#define RK_FN(name) RK_CAT(name, RK_SUF)
#define RK_T RK_COMP_T

#define RK_OPTIM_CHUNK 256

/* rk_optim_hyper in the compute type, each number rounded once. */
typedef struct {
    RK_T lr, weight_decay, decay_factor, eps, momentum, dampening_complement,
         decay, decay_complement, beta1, one_minus_beta1, beta2, one_minus_beta2,
         bias_correction2_sqrt;
    int maximize, weight_decay_on, decoupled, nesterov, first_step;
} RK_FN(rk_optim_consts);

RK_INLINE RK_FN(rk_optim_consts) RK_FN(optim_consts)(const rk_optim_hyper *h)
{
    RK_FN(rk_optim_consts) c;
    c.lr = (RK_T)h->lr;
    c.weight_decay = (RK_T)h->weight_decay;
    c.decay_factor = (RK_T)h->decay_factor;
    c.eps = (RK_T)h->eps;
    c.momentum = (RK_T)h->momentum;
    c.dampening_complement = (RK_T)h->dampening_complement;
    c.decay = (RK_T)h->decay;
    c.decay_complement = (RK_T)h->decay_complement;
    c.beta1 = (RK_T)h->beta1;
    c.one_minus_beta1 = (RK_T)h->one_minus_beta1;
    c.beta2 = (RK_T)h->beta2;
    c.one_minus_beta2 = (RK_T)h->one_minus_beta2;
    c.bias_correction2_sqrt = (RK_T)h->bias_correction2_sqrt;
    c.maximize = (h->flags & RK_OPT_MAXIMIZE) != 0;
    c.weight_decay_on = (h->flags & RK_OPT_WEIGHT_DECAY) != 0;
    c.decoupled = (h->flags & RK_OPT_DECOUPLED) != 0;
    c.nesterov = (h->flags & RK_OPT_NESTEROV) != 0;
    c.first_step = (h->flags & RK_OPT_FIRST_STEP) != 0;
    return c;
}

/* The gradient a rule uses: negated to maximise, plus L2 weight decay. */
RK_INLINE RK_T RK_FN(optim_grad)(const RK_FN(rk_optim_consts) *c, RK_T g, RK_T p)
{
    g = c->maximize ? -g : g;
    return c->weight_decay_on ? g + c->weight_decay * p : g;
}

/* ---- the rules: rows[0] is p, rows[1] g, then the state rows */

/* SGD: buf = momentum * buf + (1 - dampening) * g (g itself at the first
 * step); g = nesterov ? g + momentum * buf : buf; p = p - lr * g. */
RK_INLINE void RK_FN(sgd_rows)(const RK_FN(rk_optim_consts) *c, const int momentum,
                               rk_intp n, RK_T *const rows[])
{
    RK_T *RK_RESTRICT p = rows[0];
    const RK_T *RK_RESTRICT g = rows[1];
    RK_T *RK_RESTRICT buf = momentum ? rows[2] : NULL;
    for (rk_intp i = 0; i < n; i++) {
        RK_T gi = RK_FN(optim_grad)(c, g[i], p[i]);
        if (momentum) {
            RK_T b = c->first_step ? gi
                   : buf[i] * c->momentum + c->dampening_complement * gi;
            buf[i] = b;
            gi = c->nesterov ? gi + c->momentum * b : b;
        }
        p[i] = p[i] - c->lr * gi;
    }
}

/* Adagrad: sum = sum + g * g; p = p - (lr * g) / (sqrt(sum) + eps). */
RK_INLINE void RK_FN(adagrad_rows)(const RK_FN(rk_optim_consts) *c, rk_intp n,
                                   RK_T *const rows[])
{
    RK_T *RK_RESTRICT p = rows[0];
    const RK_T *RK_RESTRICT g = rows[1];
    RK_T *RK_RESTRICT sum = rows[2];
    for (rk_intp i = 0; i < n; i++) {
        RK_T gi = RK_FN(optim_grad)(c, g[i], p[i]);
        RK_T s = sum[i] + gi * gi;
        sum[i] = s;
        p[i] = p[i] - (c->lr * gi) / (RK_SQRT(s) + c->eps);
    }
}

/* Adadelta: sq = sq * rho + ((1 - rho) * g) * g;
 * delta = sqrt(acc + eps) / sqrt(sq + eps) * g;
 * acc = acc * rho + ((1 - rho) * delta) * delta; p = p - lr * delta. */
RK_INLINE void RK_FN(adadelta_rows)(const RK_FN(rk_optim_consts) *c, rk_intp n,
                                    RK_T *const rows[])
{
    RK_T *RK_RESTRICT p = rows[0];
    const RK_T *RK_RESTRICT g = rows[1];
    RK_T *RK_RESTRICT square_avg = rows[2];
    RK_T *RK_RESTRICT acc_delta = rows[3];
    for (rk_intp i = 0; i < n; i++) {
        RK_T gi = RK_FN(optim_grad)(c, g[i], p[i]);
        RK_T sq = square_avg[i] * c->decay + (c->decay_complement * gi) * gi;
        square_avg[i] = sq;
        RK_T delta = RK_SQRT(acc_delta[i] + c->eps) / RK_SQRT(sq + c->eps) * gi;
        acc_delta[i] = acc_delta[i] * c->decay + (c->decay_complement * delta) * delta;
        p[i] = p[i] - c->lr * delta;
    }
}

/* RMSprop: sq = sq * alpha + ((1 - alpha) * g) * g; centered:
 * grad_avg = grad_avg * alpha + (1 - alpha) * g and
 * avg = sqrt(sq - grad_avg * grad_avg) + eps, else avg = sqrt(sq) + eps;
 * momentum: buf = buf * momentum + g / avg, p = p - lr * buf;
 * else p = p - (lr * g) / avg. */
RK_INLINE void RK_FN(rmsprop_rows)(const RK_FN(rk_optim_consts) *c, const int momentum,
                                   const int centered, rk_intp n, RK_T *const rows[])
{
    RK_T *RK_RESTRICT p = rows[0];
    const RK_T *RK_RESTRICT g = rows[1];
    RK_T *RK_RESTRICT square_avg = rows[2];
    RK_T *RK_RESTRICT buf = momentum ? rows[3] : NULL;
    RK_T *RK_RESTRICT grad_avg = centered ? rows[3 + momentum] : NULL;
    for (rk_intp i = 0; i < n; i++) {
        RK_T gi = RK_FN(optim_grad)(c, g[i], p[i]);
        RK_T sq = square_avg[i] * c->decay + (c->decay_complement * gi) * gi;
        square_avg[i] = sq;
        RK_T avg;
        if (centered) {
            RK_T ga = grad_avg[i] * c->decay + c->decay_complement * gi;
            grad_avg[i] = ga;
            avg = RK_SQRT(sq - ga * ga) + c->eps;
        } else {
            avg = RK_SQRT(sq) + c->eps;
        }
        if (momentum) {
            RK_T b = buf[i] * c->momentum + gi / avg;
            buf[i] = b;
            p[i] = p[i] - c->lr * b;
        } else {
            p[i] = p[i] - (c->lr * gi) / avg;
        }
    }
}

/* Adam: p = p * (1 - lr * weight_decay) first for AdamW;
 * m = m * beta1 + (1 - beta1) * g; v = v * beta2 + ((1 - beta2) * g) * g;
 * amsgrad: vmax = maximum(vmax, v) takes v's place below;
 * p = p - (step_size * m) / (sqrt(v) / sqrt(1 - beta2**t) + eps). */
RK_INLINE void RK_FN(adam_rows)(const RK_FN(rk_optim_consts) *c, const int amsgrad,
                                rk_intp n, RK_T *const rows[])
{
    RK_T *RK_RESTRICT p = rows[0];
    const RK_T *RK_RESTRICT g = rows[1];
    RK_T *RK_RESTRICT exp_avg = rows[2];
    RK_T *RK_RESTRICT exp_avg_sq = rows[3];
    RK_T *RK_RESTRICT max_exp_avg_sq = amsgrad ? rows[4] : NULL;
    for (rk_intp i = 0; i < n; i++) {
        RK_T pi = c->decoupled ? p[i] * c->decay_factor : p[i];
        RK_T gi = RK_FN(optim_grad)(c, g[i], pi);
        RK_T m = exp_avg[i] * c->beta1 + c->one_minus_beta1 * gi;
        RK_T v = exp_avg_sq[i] * c->beta2 + (c->one_minus_beta2 * gi) * gi;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        if (amsgrad) {
            /* np.maximum: NaN in either gives NaN */
            RK_T old = max_exp_avg_sq[i];
            v = (old >= v || old != old) ? old : v;
            max_exp_avg_sq[i] = v;
        }
        RK_T denom = RK_SQRT(v) / c->bias_correction2_sqrt + c->eps;
        p[i] = pi - (c->lr * m) / denom;
    }
}

/* One rule's loop over contiguous compute-type rows, options resolved. */
RK_INLINE void RK_FN(optim_rows)(int rule, unsigned flags, const RK_FN(rk_optim_consts) *c,
                                 rk_intp n, RK_T *const rows[])
{
    switch (rule) {
    case RK_SGD:
        if (flags & RK_OPT_MOMENTUM) {
            RK_FN(sgd_rows)(c, 1, n, rows);
        } else {
            RK_FN(sgd_rows)(c, 0, n, rows);
        }
        break;
    case RK_ADAGRAD:
        RK_FN(adagrad_rows)(c, n, rows);
        break;
    case RK_ADADELTA:
        RK_FN(adadelta_rows)(c, n, rows);
        break;
    case RK_RMSPROP:
        switch (flags & (RK_OPT_MOMENTUM | RK_OPT_CENTERED)) {
        case 0: RK_FN(rmsprop_rows)(c, 0, 0, n, rows); break;
        case RK_OPT_MOMENTUM: RK_FN(rmsprop_rows)(c, 1, 0, n, rows); break;
        case RK_OPT_CENTERED: RK_FN(rmsprop_rows)(c, 0, 1, n, rows); break;
        default: RK_FN(rmsprop_rows)(c, 1, 1, n, rows); break;
        }
        break;
    default:
        if (flags & RK_OPT_AMSGRAD) {
            RK_FN(adam_rows)(c, 1, n, rows);
        } else {
            RK_FN(adam_rows)(c, 0, n, rows);
        }
        break;
    }
}

RK_INLINE int RK_FN(optim_operands)(int rule, unsigned flags)
{
    switch (rule) {
    case RK_SGD: return 2 + ((flags & RK_OPT_MOMENTUM) != 0);
    case RK_ADAGRAD: return 3;
    case RK_ADADELTA: return 4;
    case RK_RMSPROP:
        return 3 + ((flags & RK_OPT_MOMENTUM) != 0) + ((flags & RK_OPT_CENTERED) != 0);
    default: return 4 + ((flags & RK_OPT_AMSGRAD) != 0);
    }
}

/* A state row of m compute-type values: the row itself when contiguous,
 * else gathered into buf. */
RK_INLINE RK_T *RK_FN(state_row)(rk_intp m, char *src, rk_intp stride, RK_T *buf)
{
    if (stride == (rk_intp)sizeof(RK_T)) {
        return (RK_T *)(void *)src;
    }
    for (rk_intp i = 0; i < m; i++) {
        buf[i] = *RK_AT(RK_T, src, i * stride);
    }
    return buf;
}

/* One step of a rule over a row of n elements (rk_optim_fn's contract). */
RK_INLINE void RK_FN(optim_step)(int rule, const rk_optim_hyper *hyper, rk_intp n,
                                 char *const ptrs[], const rk_intp strides[])
{
    const RK_FN(rk_optim_consts) c = RK_FN(optim_consts)(hyper);
    const unsigned flags = hyper->flags;
    const int n_ops = RK_FN(optim_operands)(rule, flags);
    RK_T *rows[RK_OPTIM_MAX_OPERANDS];
    int contiguous = !RK_IS_HALF;
    for (int op = 0; op < n_ops; op++) {
        contiguous = contiguous && strides[op] == (rk_intp)sizeof(RK_T);
        rows[op] = (RK_T *)(void *)ptrs[op];
    }
    if (contiguous) {
        RK_FN(optim_rows)(rule, flags, &c, n, rows);
        return;
    }
    RK_T buf[RK_OPTIM_MAX_OPERANDS][RK_OPTIM_CHUNK];
    for (rk_intp start = 0; start < n; start += RK_OPTIM_CHUNK) {
        rk_intp m = n - start < RK_OPTIM_CHUNK ? n - start : RK_OPTIM_CHUNK;
        char *at[RK_OPTIM_MAX_OPERANDS];
        for (int op = 0; op < n_ops; op++) {
            at[op] = ptrs[op] + start * strides[op];
        }
        /* p and g in storage; p's row is written back below unless it is
         * the memory itself */
        rows[0] = (RK_T *)RK_FN(row_values)(m, at[0], strides[0], buf[0]);
        rows[1] = (RK_T *)RK_FN(row_values)(m, at[1], strides[1], buf[1]);
        for (int op = 2; op < n_ops; op++) {
            rows[op] = RK_FN(state_row)(m, at[op], strides[op], buf[op]);
        }
        RK_FN(optim_rows)(rule, flags, &c, m, rows);
        if (rows[0] == buf[0]) {
            RK_FN(store_row)(m, buf[0], at[0], strides[0]);
        }
        for (int op = 2; op < n_ops; op++) {
            if (rows[op] == buf[op]) {
                for (rk_intp i = 0; i < m; i++) {
                    *RK_AT(RK_T, at[op], i * strides[op]) = buf[op][i];
                }
            }
        }
    }
}

#define RK_OPTIM_RULE_FN(rule_name, rule)                                        \
    static void RK_FN(rule_name)(const rk_optim_hyper *hyper, rk_intp n,         \
                                 char *const ptrs[], const rk_intp strides[])    \
    {                                                                            \
        RK_FN(optim_step)(rule, hyper, n, ptrs, strides);                        \
    }

RK_OPTIM_RULE_FN(rk_sgd, RK_SGD)
RK_OPTIM_RULE_FN(rk_adagrad, RK_ADAGRAD)
RK_OPTIM_RULE_FN(rk_adadelta, RK_ADADELTA)
RK_OPTIM_RULE_FN(rk_rmsprop, RK_RMSPROP)
RK_OPTIM_RULE_FN(rk_adam, RK_ADAM)

#undef RK_OPTIM_RULE_FN

/* rk_sum_squares_fn */
static void RK_FN(rk_sum_squares)(rk_intp n, const char *x, rk_intp stride, rk_binned *sum)
{
    RK_T buf[RK_OPTIM_CHUNK];
    double squares[RK_OPTIM_CHUNK];
    for (rk_intp done = 0; done < n; done += RK_OPTIM_CHUNK) {
        rk_intp m = n - done < RK_OPTIM_CHUNK ? n - done : RK_OPTIM_CHUNK;
        const RK_T *v = RK_FN(row_values)(m, x + done * stride, stride, buf);
        for (rk_intp i = 0; i < m; i++) {
            const double d = (double)v[i];
            squares[i] = d * d;
        }
        for (; m % RK_SUM_LANES; m++) {
            squares[m] = 0.0;
        }
        rk_binned_add(sum, squares, m / RK_SUM_LANES, RK_SUM_LANES);
    }
}

#undef RK_OPTIM_CHUNK
#undef RK_T
#undef RK_FN
