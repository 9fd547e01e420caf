/*
 * The registry of elementwise ops: one row per op, the single place an op
 * is declared.  The kernel table (kernels.c), the loops
 * (elementwise.tmpl.h), the ufuncs (rectkern/_ext.pyx), the configuration
 * report, the type stubs (setup.py) and the test batteries all derive
 * from these rows.
 *
 *   RK_OP(name, inputs, params, family, half, float32)
 *
 *   name    the ufunc; its formulas are rk_<name>_16 (float16, on floats),
 *           rk_<name>_32 (float32) and rk_<name>_64 (float64), in
 *           rk_formulas.h or rk_smooth.h
 *   inputs  activation inputs: 1 is (x), 2 is (dy, x); every dtype is
 *           float16, float32 or float64, computed as the contract says
 *   params  trailing parameter inputs (0, or 1: alpha), applied in the
 *           compute type (float32 for float16 and float32, float64)
 *   family  rectifier (exact: selects and one product) or smooth (within
 *           the published ULP bounds)
 *   half    convert: float16 runs its formula on blocks converted to float;
 *           own: the op has its own float16 blocks in elementwise.tmpl.h
 *   float32 float: rk_<name>_32 computes in float; double: float32 runs the
 *           float16 formula, computed in double; checked: rk_<name>_32
 *           computes in float where rk_<name>_32_hard is false, and the
 *           float16 formula gives the other elements (the tails where a
 *           float exponential or product would leave float's range)
 */
#ifndef RK_OPS_H
#define RK_OPS_H

#define RK_ELEMENTWISE_OPS(RK_OP)                                          \
    RK_OP(relu,                1, 0, rectifier, own,     float)         \
    RK_OP(relu_backward,       2, 0, rectifier, convert, float)         \
    RK_OP(leaky_relu,          1, 1, rectifier, own,     float)         \
    RK_OP(leaky_relu_backward, 2, 1, rectifier, convert, float)         \
    RK_OP(elu,                 1, 1, smooth,    convert, float)         \
    RK_OP(elu_backward,        2, 1, smooth,    convert, checked)       \
    RK_OP(selu,                1, 0, smooth,    convert, float)         \
    RK_OP(selu_backward,       2, 0, smooth,    convert, checked)       \
    RK_OP(gelu,                1, 0, smooth,    convert, double)        \
    RK_OP(gelu_backward,       2, 0, smooth,    convert, double)        \
    RK_OP(gelu_tanh,           1, 0, smooth,    convert, double)        \
    RK_OP(gelu_tanh_backward,  2, 0, smooth,    convert, double)        \
    RK_OP(silu,                1, 0, smooth,    convert, double)        \
    RK_OP(silu_backward,       2, 0, smooth,    convert, double)        \
    RK_OP(softplus,            1, 0, smooth,    convert, double)        \
    RK_OP(softplus_backward,   2, 0, smooth,    convert, checked)

/* RK_OP_relu ...: an op's row in the kernel table and in the ufuncs */
#define RK_OP_ENUM(name, inputs, params, family, half, float32) RK_OP_##name,
enum { RK_ELEMENTWISE_OPS(RK_OP_ENUM) RK_NUM_ELEMENTWISE };
#undef RK_OP_ENUM

#endif
