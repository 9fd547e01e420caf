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

/* Kernel table rows: float dtypes, then index dtypes. */
enum { RK_F16 = 0, RK_F32, RK_F64, RK_NUM_FLOATS };
enum {
    RK_U8 = 0, RK_U16, RK_U32, RK_U64,
    RK_I8, RK_I16, RK_I32, RK_I64, RK_NUM_INDEX
};
#define RK_NUM_UINDEX 4

/* ---- ufunc inner loops: relu (e->e f->f d->d), leaky_relu (ef->e ff->f dd->d) ... */
typedef void rk_ufunc_loop(char **args, const rk_intp *dimensions,
                           const rk_intp *steps, void *data);

rk_ufunc_loop rk_relu_f16, rk_relu_f32, rk_relu_f64;
rk_ufunc_loop rk_relu_backward_f16, rk_relu_backward_f32, rk_relu_backward_f64;
rk_ufunc_loop rk_leaky_relu_f16, rk_leaky_relu_f32, rk_leaky_relu_f64;
rk_ufunc_loop rk_leaky_relu_backward_f16, rk_leaky_relu_backward_f32,
              rk_leaky_relu_backward_f64;

/* ---- fused ops */

/* One block of (n_outer, n_chan, n_inner) elements. */
typedef struct {
    rk_intp n_outer, n_chan, n_inner;
} rk_block;

/*
 * PReLU backward.  dx = x > 0 ? dy : alpha[c] * dy (NaN x gives NaN) and
 * dalpha[c] += sum over x <= 0 of x * dy, in float64.  alpha holds n_chan
 * values of the compute type (float for float16/float32, double for
 * float64).  scratch holds n_chan doubles.  dx may be dy or x itself.
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
 * outside 0 .. k-1 is met (dx is then partly written).
 */
typedef int rk_maxout_backward_fn(
    const rk_block *block, rk_intp k,
    const char *dy, const rk_intp dy_strides[3],
    const char *idx, const rk_intp idx_strides[3],
    char *dx, const rk_intp dx_strides[4]);

extern rk_prelu_backward_fn *const rk_prelu_backward_kernels[RK_NUM_FLOATS];
extern rk_maxout_fn *const rk_maxout_kernels[RK_NUM_FLOATS][RK_NUM_UINDEX];
extern rk_maxout_backward_fn *const
    rk_maxout_backward_kernels[RK_NUM_FLOATS][RK_NUM_INDEX];

#ifdef __cplusplus
}
#endif

#endif
