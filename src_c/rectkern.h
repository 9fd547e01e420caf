/*
 * rectkern C kernels: plain C99, no Python.h.
 *
 * Elementwise ops are NumPy ufunc inner loops.  The fused ops see their
 * operands as a strided block (n_outer, n_chan, n_inner); the caller walks
 * any further dimensions.  Strides are in bytes, pointers are aligned to
 * their dtype, and every index is pointer-sized (no 32-bit index anywhere).
 */
#ifndef RECTKERN_H
#define RECTKERN_H

#include <stdint.h>

#include "rk_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Same type as npy_intp (Py_intptr_t), so ufunc loops match exactly. */
typedef intptr_t rk_intp;

/* Kernel table rows: float dtypes, then index widths (maxout's idx is
 * unsigned; maxout_backward reads signed indices through the unsigned
 * kernel of their width). */
enum { RK_F16 = 0, RK_F32, RK_F64, RK_NUM_FLOATS };
enum { RK_U8 = 0, RK_U16, RK_U32, RK_U64, RK_NUM_INDEX };

/* ---- ufunc inner loops of the elementwise ops (rk_ops.h): relu (e->e f->f
 * d->d), leaky_relu (ef->e ff->f dd->d), ... */
typedef void rk_ufunc_loop(char **args, const rk_intp *dimensions,
                           const rk_intp *steps, void *data);

/* ---- the one summation of every reduction (sum.c)
 *
 * An exact sum of doubles: value = sum of chunk[i] * 2^(32 i - 1074), so
 * every finite double is a whole number of units, adds are integer adds,
 * and the result is the exact sum whatever the order of the terms, rounded
 * once (rk_exact_value).  Zero-initialise it (memset or = {0}) to start. */
#define RK_EXACT_CHUNKS 67
typedef struct {
    int64_t chunk[RK_EXACT_CHUNKS];
    int64_t adds;                 /* adds since the carries were propagated */
    int lo, hi;                   /* chunks outside [lo, hi) are 0; hi 0: all are */
    unsigned char nan, pos_inf, neg_inf;
} rk_exact;

/* Adds one double: a NaN makes the sum NaN, an infinity infinite (NaN with
 * both signs). */
void rk_exact_add(rk_exact *sum, double x);
/* The exact sum rounded to the nearest double, ties to even: +0.0 when it
 * is zero, +-inf past the largest double. */
double rk_exact_value(const rk_exact *sum);

/* The fast way into exact sums (rk_sum.h): terms in rows of `cols`
 * columns, column c bound for sums[c % n_sums], split on a grid of two
 * bins per column whose double sums are exact, then added into the exact
 * sums when the grid changes, after RK_BIN_ROWS rows, and at the end.
 * bins holds 2 * cols doubles. */
typedef struct {
    double limit, m1, m2;         /* the grid: |term| < limit; limit 0: none yet */
    rk_intp rows;                 /* rows in the bins since they were last emptied */
    int wide;                     /* pieces left to split into both bins at once */
    rk_intp cols, n_sums;
    double *bins;
    rk_exact *sums;
} rk_binned;

/* The grid's bins: RK_BIN_BITS bits each, RK_BIN_ROWS rows between
 * emptyings (see rk_sum.h). */
#define RK_BIN_BITS 41
#define RK_BIN_ROWS 512                         /* < 2^(51 - RK_BIN_BITS) */
#define RK_BIN_EXACT_ROWS 4096                  /* 2^(53 - RK_BIN_BITS) */
#define RK_GRID_MIN (2 * RK_BIN_BITS - 1074)    /* u2 = 2^-1074: holds every bit */
#define RK_GRID_MAX (1023 - 11)                 /* m1 and the bins stay finite */
#define RK_GRID_MARGIN 2        /* limit >= 4 times the largest term met */
#define RK_GRID_FALL (1.0 / 16777216)   /* a finer grid when the largest term falls 2^24 */
#define RK_BIN_WIDE_PIECES 16   /* after a piece with bits below bin 1 */

/* The scalar parts (sum.c): set up with cols columns (bins: 4 * cols
 * doubles) bound for sums[c % n_sums]; the bins into the sums; a grid
 * for terms up to max (0 when none takes them); n rows straight into the
 * sums; the remainders below bin 2 of n rows split from saved bins. */
void rk_binned_init(rk_binned *b, rk_intp cols, double *bins, rk_exact *sums, rk_intp n_sums);
void rk_binned_empty(rk_binned *b);
int rk_binned_regrid(rk_binned *b, double max);
void rk_binned_exactly(rk_binned *b, const double *t, rk_intp n);
void rk_binned_remainders(const rk_binned *b, const double *t, rk_intp n,
                          const double *saved1, const double *saved2);

/* Columns of one row of dalpha's terms (channels first), and the lanes of
 * a channels-last run (channels dividing it), in prelu_backward. */
#define RK_SUM_LANES 8
#define RK_RUN_LANES 64
#define RK_PRELU_BACKWARD_SCRATCH(n_chan) \
    ((size_t)(n_chan) * (sizeof(rk_binned) + 4 * RK_SUM_LANES * sizeof(double)) \
     + (5 * (size_t)(n_chan) + 4 * RK_RUN_LANES) * sizeof(double))

/* ---- fused ops */

/* One block of (n_outer, n_chan, n_inner) elements. */
typedef struct {
    rk_intp n_outer, n_chan, n_inner;
} rk_block;

/*
 * PReLU forward.  y = x > 0 ? x : alpha[c] * x, with alpha holding n_chan
 * values of the compute type (float for float16/float32, double for
 * float64).  y may be x itself.
 */
typedef void rk_prelu_fn(
    const rk_block *block,
    const char *x, const rk_intp x_strides[3],
    char *y, const rk_intp y_strides[3],
    const void *alpha);

/*
 * PReLU backward.  dx = x > 0 ? dy : alpha[c] * dy (NaN x gives NaN), and
 * the terms x * dy (in float64, x <= 0) added into the exact sums
 * dalpha[c].  alpha as above; scratch holds
 * RK_PRELU_BACKWARD_SCRATCH(n_chan) bytes.  dx may be dy or x itself.
 */
typedef void rk_prelu_backward_fn(
    const rk_block *block,
    const char *dy, const rk_intp dy_strides[3],
    const char *x, const rk_intp x_strides[3],
    char *dx, const rk_intp dx_strides[3],
    const void *alpha, rk_exact *dalpha, void *scratch);

/*
 * bias_act: y = g(z + bias[c]) and its backward, dz = g'(dy, z + bias[c]),
 * with dbias[c] += the dz of channel c (as stored) and, for prelu,
 * dalpha[c] += the terms s * dy where s = z + bias[c] <= 0 (as
 * prelu_backward's), into exact sums.  z + bias is rounded to the compute
 * type (float32 for float16), and g is the activation's own loop for the
 * compute type (the registry's, NULL for the identity), with alpha one
 * value or one per channel (alpha_per_channel) where the loop takes it.
 * scratch holds RK_BIAS_ACT_SCRATCH(n_chan) bytes.  y or dz may be an
 * input itself.
 */
typedef struct {
    rk_ufunc_loop *forward, *backward;
    const void *alpha;            /* compute-type values */
    int has_alpha, alpha_per_channel;
    int slopes;                   /* backward sums dalpha (prelu) */
} rk_activation;

#define RK_BIAS_ACT_CHUNK 1024
#define RK_BIAS_ACT_CAP(n_chan) \
    ((size_t)((n_chan) > RK_BIAS_ACT_CHUNK ? (n_chan) : RK_BIAS_ACT_CHUNK))
#define RK_BIAS_ACT_SCRATCH(n_chan) \
    ((7 * RK_BIAS_ACT_CAP(n_chan) + 2 * RK_SUM_LANES) * sizeof(double) \
     + (2 * (size_t)(n_chan) + 2) * sizeof(rk_binned) \
     + 8 * (size_t)(n_chan) * RK_SUM_LANES * sizeof(double))

typedef void rk_bias_act_fn(
    const rk_block *block,
    const char *z, const rk_intp z_strides[3],
    char *y, const rk_intp y_strides[3],
    const void *bias, const rk_activation *act, void *scratch);

typedef void rk_bias_act_backward_fn(
    const rk_block *block,
    const char *dy, const rk_intp dy_strides[3],
    const char *z, const rk_intp z_strides[3],
    char *dz, const rk_intp dz_strides[3],
    const void *bias, const rk_activation *act,
    rk_exact *dbias, rk_exact *dalpha, void *scratch);

/*
 * Maxout forward.  x is (n_outer, n_chan groups, k members, n_inner): its
 * strides are outer, group, member, inner.  y and idx are (n_outer, n_chan,
 * n_inner).  Ties go to the first member; the first NaN wins.
 */
typedef void rk_maxout_fn(
    const rk_block *block, rk_intp k,
    const char *x, const rk_intp x_strides[4],
    char *y, const rk_intp y_strides[3],
    char *idx, const rk_intp idx_strides[3]);

/*
 * Maxout backward: dx (as maxout's x) gets dy at idx and +0.0 elsewhere,
 * every element written once.  Returns 0, or -1 as soon as an idx value
 * outside 0 .. k-1 is met (dx is then partly written).  With index_signed,
 * idx holds signed integers of the kernel's width: read as unsigned, a
 * negative one is above the signed type's maximum, and so out of range.
 */
typedef int rk_maxout_backward_fn(
    const rk_block *block, rk_intp k, int index_signed,
    const char *dy, const rk_intp dy_strides[3],
    const char *idx, const rk_intp idx_strides[3],
    char *dx, const rk_intp dx_strides[4]);

/* ---- RReLU in training (rrelu.tmpl.h) */

/* The slopes: element i's is lower + (upper - lower) * u(key, i), in the
 * compute type (rk_random.h). */
typedef struct {
    uint64_t key;
    double lower, upper;
} rk_rrelu_slopes;

/* n elements of logical indices start, start + 1, ...: y = x > 0 ? x :
 * slope * x (NaN stays).  y may be x itself. */
typedef void rk_rrelu_fn(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                         const char *x, rk_intp sx, char *y, rk_intp sy);
/* dx = x > 0 ? dy : slope * dy, NaN where x is NaN.  dx may be dy or x. */
typedef void rk_rrelu_backward_fn(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                                  const char *dy, rk_intp sdy, const char *x, rk_intp sx,
                                  char *dx, rk_intp sdx);

/* ---- optimisers (optim.tmpl.h): one step of an update rule over a row */

/* The rules; AdamW is Adam with RK_OPT_DECOUPLED. */
enum { RK_SGD = 0, RK_ADAGRAD, RK_ADADELTA, RK_RMSPROP, RK_ADAM, RK_NUM_RULES };

/* Options of a step (rk_optim_hyper.flags). */
#define RK_OPT_MAXIMIZE 1u       /* g = -g */
#define RK_OPT_WEIGHT_DECAY 2u   /* g = g + weight_decay * p */
#define RK_OPT_DECOUPLED 4u      /* Adam: p = p * decay_factor first (AdamW) */
#define RK_OPT_MOMENTUM 8u       /* SGD, RMSprop: a momentum buffer operand */
#define RK_OPT_NESTEROV 16u      /* SGD */
#define RK_OPT_FIRST_STEP 32u    /* SGD: the momentum buffer starts as g */
#define RK_OPT_CENTERED 64u      /* RMSprop: a grad_avg operand */
#define RK_OPT_AMSGRAD 128u      /* Adam: a max_exp_avg_sq operand */

/*
 * The numbers of one step, in double; a kernel rounds each once to its
 * compute type (float for float16/float32, double for float64), as
 * the NumPy twins do.  Each rule reads the fields its equations name
 * (rectkern/optim.py documents them).
 */
typedef struct {
    double lr;                    /* Adagrad: decayed; Adam: lr / (1 - beta1**t) */
    double weight_decay;
    double decay_factor;          /* AdamW: 1 - lr * weight_decay */
    double eps;
    double momentum;              /* SGD, RMSprop */
    double dampening_complement;  /* SGD: 1 - dampening */
    double decay;                 /* Adadelta: rho; RMSprop: alpha */
    double decay_complement;      /* 1 - decay */
    double beta1, one_minus_beta1, beta2, one_minus_beta2;
    double bias_correction2_sqrt; /* sqrt(1 - beta2**t) */
    unsigned flags;               /* RK_OPT_* */
} rk_optim_hyper;

/* p, g, then the rule's state arrays: SGD [momentum_buffer]; Adagrad sum;
 * Adadelta square_avg, acc_delta; RMSprop square_avg [, momentum_buffer]
 * [, grad_avg]; Adam exp_avg, exp_avg_sq [, max_exp_avg_sq]. */
#define RK_OPTIM_MAX_OPERANDS 5

/*
 * One step over n elements: operand j at ptrs[j] + i * strides[j].  p and g
 * have the kernel's dtype; the state arrays have its compute type.  No
 * operand overlaps another.
 */
typedef void rk_optim_fn(const rk_optim_hyper *hyper, rk_intp n,
                         char *const ptrs[], const rk_intp strides[]);

/*
 * The squares of n values (at x + i * stride), in float64, added into the
 * binned sum (one column per lane of RK_SUM_LANES, one exact sum).
 */
typedef void rk_sum_squares_fn(rk_intp n, const char *x, rk_intp stride, rk_binned *sum);

/* ---- every kernel of one instruction-set level, indexed by dtype */
typedef struct {
    const char *name;                      /* "baseline", "avx2", "avx512" */
    const char *half_conversion;           /* "hardware" or "software" */
    rk_ufunc_loop *elementwise[RK_NUM_ELEMENTWISE][RK_NUM_FLOATS];   /* RK_OP_relu ... */
    rk_prelu_fn *prelu[RK_NUM_FLOATS];
    rk_prelu_backward_fn *prelu_backward[RK_NUM_FLOATS];
    rk_maxout_fn *maxout[RK_NUM_FLOATS][RK_NUM_INDEX];
    rk_maxout_backward_fn *maxout_backward[RK_NUM_FLOATS][RK_NUM_INDEX];
    rk_rrelu_fn *rrelu[RK_NUM_FLOATS];
    rk_rrelu_backward_fn *rrelu_backward[RK_NUM_FLOATS];
    rk_optim_fn *optim[RK_NUM_RULES][RK_NUM_FLOATS];
    rk_sum_squares_fn *sum_squares[RK_NUM_FLOATS];
    rk_bias_act_fn *bias_act[RK_NUM_FLOATS];
    rk_bias_act_backward_fn *bias_act_backward[RK_NUM_FLOATS];
} rk_kernel_table;

/* ---- instruction-set levels (cpu.c) */
/* Macros, not an enum: the preprocessor compares them (rk_isa.h). */
#define RK_LEVEL_BASELINE 0
#define RK_LEVEL_AVX2 1
#define RK_LEVEL_AVX512 2
#define RK_NUM_LEVELS 3

/* The highest level this CPU and OS support (baseline off x86-64). */
int rk_cpu_level(void);
/* The kernels compiled for a level, or NULL if this build has none. */
const rk_kernel_table *rk_kernels_for_level(int level);
/* The name of a level: "baseline", "avx2", "avx512". */
const char *rk_level_name(int level);
/* The CPU features rk_cpu_level() looked at, as "name+" / "name-" words. */
const char *rk_cpu_features(void);
/* The compiler that built the kernels, with its version. */
const char *rk_compiler(void);
/* The compiler flags a level's kernels were built with ("" if unknown). */
const char *rk_build_flags(int level);

#ifdef __cplusplus
}
#endif

#endif
