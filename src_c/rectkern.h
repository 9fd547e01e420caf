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

/* ---- ufunc inner loops: relu (e->e f->f d->d), leaky_relu (ef->e ff->f dd->d) ... */
typedef void rk_ufunc_loop(char **args, const rk_intp *dimensions,
                           const rk_intp *steps, void *data);

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
 * PReLU backward.  dx = x > 0 ? dy : alpha[c] * dy (NaN x gives NaN) and
 * dalpha[c] += sum over x <= 0 of x * dy, in float64.  alpha as above;
 * scratch holds n_chan doubles.  dx may be dy or x itself.
 */
typedef void rk_prelu_backward_fn(
    const rk_block *block,
    const char *dy, const rk_intp dy_strides[3],
    const char *x, const rk_intp x_strides[3],
    char *dx, const rk_intp dx_strides[3],
    const void *alpha, double *dalpha, double *scratch);

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

/* ---- every kernel of one instruction-set level, indexed by dtype */
typedef struct {
    const char *name;                      /* "baseline", "avx2", "avx512" */
    const char *half_conversion;           /* "hardware" or "software" */
    rk_ufunc_loop *relu[RK_NUM_FLOATS];
    rk_ufunc_loop *relu_backward[RK_NUM_FLOATS];
    rk_ufunc_loop *leaky_relu[RK_NUM_FLOATS];
    rk_ufunc_loop *leaky_relu_backward[RK_NUM_FLOATS];
    rk_prelu_fn *prelu[RK_NUM_FLOATS];
    rk_prelu_backward_fn *prelu_backward[RK_NUM_FLOATS];
    rk_maxout_fn *maxout[RK_NUM_FLOATS][RK_NUM_INDEX];
    rk_maxout_backward_fn *maxout_backward[RK_NUM_FLOATS][RK_NUM_INDEX];
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
