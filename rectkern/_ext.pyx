# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of rectkern: the ufuncs and the fused kernel drivers.

The Python layer (``rectkern._ops``) validates every argument before the
drivers here run, so these take arrays whose shapes, dtypes, alignment and
byte order are already known to be right.
"""

cimport numpy as cnp
from libc.stdlib cimport free, malloc

cnp.import_array()
cnp.import_ufunc()


cdef extern from "rectkern.h" nogil:
    ctypedef cnp.npy_intp rk_intp

    ctypedef struct rk_block:
        rk_intp n_outer
        rk_intp n_chan
        rk_intp n_inner

    ctypedef void rk_prelu_fn(
        const rk_block *block,
        const char *x, const rk_intp *x_strides,
        char *y, const rk_intp *y_strides, const void *alpha) noexcept nogil
    ctypedef void rk_prelu_backward_fn(
        const rk_block *block,
        const char *dy, const rk_intp *dy_strides,
        const char *x, const rk_intp *x_strides,
        char *dx, const rk_intp *dx_strides,
        const void *alpha, double *dalpha, double *scratch) noexcept nogil
    ctypedef void rk_maxout_fn(
        const rk_block *block, rk_intp k,
        const char *x, const rk_intp *x_strides,
        char *y, const rk_intp *y_strides,
        char *idx, const rk_intp *idx_strides) noexcept nogil
    ctypedef int rk_maxout_backward_fn(
        const rk_block *block, rk_intp k,
        const char *dy, const rk_intp *dy_strides,
        const char *idx, const rk_intp *idx_strides,
        char *dx, const rk_intp *dx_strides) noexcept nogil

    ctypedef struct rk_kernel_table:
        const char *name
        const char *half_conversion
        rk_prelu_fn *prelu[3]
        rk_prelu_backward_fn *prelu_backward[3]
        rk_maxout_fn *maxout[3][4]
        rk_maxout_backward_fn *maxout_backward[3][8]

    int RK_NUM_LEVELS
    int rk_cpu_level()
    const rk_kernel_table *rk_kernels_for_level(int level)
    const char *rk_level_name(int level)
    const char *rk_cpu_features()
    const char *rk_compiler()
    const char *rk_build_flags(int level)


# ---------------------------------------------------------------------------
# The instruction-set level, chosen once
# ---------------------------------------------------------------------------

import os as _os

LEVELS = tuple(rk_level_name(i).decode() for i in range(RK_NUM_LEVELS)
               if rk_kernels_for_level(i) != NULL)
CPU_LEVEL = rk_level_name(rk_cpu_level()).decode()
CPU_FEATURES = rk_cpu_features().decode()
COMPILER = rk_compiler().decode()
BUILD_FLAGS = {rk_level_name(i).decode(): rk_build_flags(i).decode()
               for i in range(RK_NUM_LEVELS) if rk_kernels_for_level(i) != NULL}


def _choose_level():
    """The best level of this build and CPU, capped by $RECTKERN_CPU."""
    best = min(rk_cpu_level(), len(LEVELS) - 1)
    requested = _os.environ.get("RECTKERN_CPU", "").strip().lower()
    if not requested:
        return best, ""
    names = [rk_level_name(i).decode() for i in range(RK_NUM_LEVELS)]
    if requested not in names:
        raise ValueError(
            f"RECTKERN_CPU must be one of {', '.join(names)} (or unset), got {requested!r}")
    return min(names.index(requested), best), requested


_level, REQUESTED_LEVEL = _choose_level()
LEVEL = rk_level_name(_level).decode()
cdef const rk_kernel_table *kernels = rk_kernels_for_level(_level)
HALF_CONVERSION = kernels.half_conversion.decode()


# ---------------------------------------------------------------------------
# ufuncs
# ---------------------------------------------------------------------------

cdef extern from *:
    """
    #include "rectkern.h"

    /*
     * The contract's activation dtype rule, in one place for the ufuncs and
     * the fused ops: float16/32/64 stay; bool and integers become the float
     * type NumPy's own float ufuncs pick for them (np.exp), which is their
     * promotion with float16; every other dtype is a TypeError naming the
     * function, the argument and the dtype.  Returns a new reference.
     */
    static PyArray_Descr *
    rk_activation_descr(const char *func, const char *arg, PyArray_Descr *d)
    {
        if (d->kind == 'b' || d->kind == 'i' || d->kind == 'u' || d->kind == 'f') {
            PyArray_Descr *half = PyArray_DescrFromType(NPY_HALF);
            PyArray_Descr *promoted = PyArray_PromoteTypes(d, half);
            int type_num;
            Py_DECREF(half);
            if (promoted == NULL) {
                return NULL;
            }
            type_num = promoted->type_num;
            Py_DECREF(promoted);
            if (type_num == NPY_HALF || type_num == NPY_FLOAT || type_num == NPY_DOUBLE) {
                return PyArray_DescrFromType(type_num);
            }
        }
        PyErr_Format(PyExc_TypeError,
                     "%s: %s has unsupported dtype %S; expected float16, "
                     "float32, float64, or an integer or bool dtype", func, arg,
                     (PyObject *)d);
        return NULL;
    }

    /* alpha is a parameter: applied in float32 for float16/float32
       activations, in float64 for float64 ones. */
    static PyArray_Descr *
    rk_alpha_descr(PyArray_Descr *activation)
    {
        return PyArray_DescrFromType(activation->type_num == NPY_DOUBLE
                                     ? NPY_DOUBLE : NPY_FLOAT);
    }

    static const char *
    rk_arg_name(int nin, int has_alpha, int i)
    {
        static const char *plain[2][2] = {{"x", ""}, {"dy", "x"}};
        static const char *with_alpha[2][3] = {{"x", "alpha", ""},
                                               {"dy", "x", "alpha"}};
        return has_alpha ? with_alpha[nin - 2][i] : plain[nin - 1][i];
    }

    /*
     * Type resolution: the output dtype is the activations' dtype (the
     * result type of x, or of dy and x), whatever the dtype of alpha.  An
     * explicit dtype= or signature= goes to NumPy's default resolver.
     */
    static int
    rk_resolve(PyUFuncObject *ufunc, NPY_CASTING casting,
               PyArrayObject **operands, PyObject *type_tup,
               PyArray_Descr **out_dtypes, int has_alpha)
    {
        const int nin = ufunc->nin, nargs = ufunc->nin + ufunc->nout;
        const int n_activations = has_alpha ? nin - 1 : nin;
        PyArray_Descr *joined, *activation;
        int i;

        if (type_tup != NULL) {
            return PyUFunc_DefaultTypeResolver(ufunc, casting, operands,
                                               type_tup, out_dtypes);
        }
        for (i = 0; i < nin; i++) {
            PyArray_Descr *checked = rk_activation_descr(
                ufunc->name, rk_arg_name(nin, has_alpha, i),
                PyArray_DESCR(operands[i]));
            if (checked == NULL) {
                return -1;
            }
            Py_DECREF(checked);
        }
        joined = PyArray_ResultType(n_activations, operands, 0, NULL);
        if (joined == NULL) {
            return -1;
        }
        activation = rk_activation_descr(ufunc->name, n_activations == 1 ? "x" : "dy, x",
                                         joined);
        Py_DECREF(joined);
        if (activation == NULL) {
            return -1;
        }
        for (i = 0; i < nargs; i++) {
            if (has_alpha && i == nin - 1) {
                out_dtypes[i] = rk_alpha_descr(activation);
            }
            else {
                Py_INCREF(activation);
                out_dtypes[i] = activation;
            }
        }
        Py_DECREF(activation);
        if (PyUFunc_ValidateCasting(ufunc, casting, operands, out_dtypes) < 0) {
            for (i = 0; i < nargs; i++) {
                Py_CLEAR(out_dtypes[i]);
            }
            return -1;
        }
        return 0;
    }

    static int
    rk_resolve_activations(PyUFuncObject *ufunc, NPY_CASTING casting,
                           PyArrayObject **operands, PyObject *type_tup,
                           PyArray_Descr **out_dtypes)
    {
        return rk_resolve(ufunc, casting, operands, type_tup, out_dtypes, 0);
    }

    static int
    rk_resolve_with_alpha(PyUFuncObject *ufunc, NPY_CASTING casting,
                          PyArrayObject **operands, PyObject *type_tup,
                          PyArray_Descr **out_dtypes)
    {
        return rk_resolve(ufunc, casting, operands, type_tup, out_dtypes, 1);
    }

    /* Loops (filled from the chosen kernel table) and their dtypes; alpha,
       the last input of leaky_relu*, is float32 for float16 activations. */
    static PyUFuncGenericFunction rk_relu_loops[RK_NUM_FLOATS];
    static PyUFuncGenericFunction rk_relu_backward_loops[RK_NUM_FLOATS];
    static PyUFuncGenericFunction rk_leaky_relu_loops[RK_NUM_FLOATS];
    static PyUFuncGenericFunction rk_leaky_relu_backward_loops[RK_NUM_FLOATS];
    static char rk_relu_types[] = {
        NPY_HALF, NPY_HALF, NPY_FLOAT, NPY_FLOAT, NPY_DOUBLE, NPY_DOUBLE};
    static char rk_relu_backward_types[] = {
        NPY_HALF, NPY_HALF, NPY_HALF, NPY_FLOAT, NPY_FLOAT, NPY_FLOAT,
        NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE};
    static char rk_leaky_relu_types[] = {
        NPY_HALF, NPY_FLOAT, NPY_HALF, NPY_FLOAT, NPY_FLOAT, NPY_FLOAT,
        NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE};
    static char rk_leaky_relu_backward_types[] = {
        NPY_HALF, NPY_HALF, NPY_FLOAT, NPY_HALF,
        NPY_FLOAT, NPY_FLOAT, NPY_FLOAT, NPY_FLOAT,
        NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE, NPY_DOUBLE};
    static void *rk_no_data[] = {NULL, NULL, NULL};

    enum { RK_UFUNC_RELU, RK_UFUNC_RELU_BACKWARD, RK_UFUNC_LEAKY_RELU,
           RK_UFUNC_LEAKY_RELU_BACKWARD };

    /* doc must outlive the ufunc: the caller keeps it alive. */
    static PyObject *
    rk_make_ufunc(int which, const char *doc, const rk_kernel_table *kernels)
    {
        static const struct {
            const char *name;
            PyUFuncGenericFunction *loops;
            char *types;
            int nin, has_alpha;
        } specs[] = {
            {"relu", rk_relu_loops, rk_relu_types, 1, 0},
            {"relu_backward", rk_relu_backward_loops, rk_relu_backward_types, 2, 0},
            {"leaky_relu", rk_leaky_relu_loops, rk_leaky_relu_types, 2, 1},
            {"leaky_relu_backward", rk_leaky_relu_backward_loops,
             rk_leaky_relu_backward_types, 3, 1},
        };
        PyObject *ufunc;
        for (int t = 0; t < RK_NUM_FLOATS; t++) {
            rk_relu_loops[t] = kernels->relu[t];
            rk_relu_backward_loops[t] = kernels->relu_backward[t];
            rk_leaky_relu_loops[t] = kernels->leaky_relu[t];
            rk_leaky_relu_backward_loops[t] = kernels->leaky_relu_backward[t];
        }
        ufunc = PyUFunc_FromFuncAndData(
            specs[which].loops, rk_no_data, specs[which].types, 3,
            specs[which].nin, 1, PyUFunc_None, specs[which].name, doc, 0);
        if (ufunc != NULL) {
            ((PyUFuncObject *)ufunc)->type_resolver = specs[which].has_alpha
                ? rk_resolve_with_alpha : rk_resolve_activations;
        }
        return ufunc;
    }
    """
    object rk_make_ufunc(int which, const char *doc, const rk_kernel_table *table)
    cnp.dtype rk_activation_descr(const char *func, const char *arg, cnp.dtype d)
    enum:
        RK_UFUNC_RELU
        RK_UFUNC_RELU_BACKWARD
        RK_UFUNC_LEAKY_RELU
        RK_UFUNC_LEAKY_RELU_BACKWARD


def activation_dtype(str func, str arg, dtype):
    """The dtype an activation of ``dtype`` is computed and returned in.

    Raises TypeError naming ``func`` and ``arg`` for unsupported dtypes.
    """
    return rk_activation_descr(func.encode(), arg.encode(), dtype)


from . import _ufunc_docs

# PyUFunc_FromFuncAndData keeps a pointer to the doc: keep the bytes alive.
_doc_bytes = {name: doc.encode() for name, doc in _ufunc_docs.DOCS.items()}

relu = rk_make_ufunc(RK_UFUNC_RELU, _doc_bytes["relu"], kernels)
relu_backward = rk_make_ufunc(RK_UFUNC_RELU_BACKWARD, _doc_bytes["relu_backward"],
                              kernels)
leaky_relu = rk_make_ufunc(RK_UFUNC_LEAKY_RELU, _doc_bytes["leaky_relu"], kernels)
leaky_relu_backward = rk_make_ufunc(RK_UFUNC_LEAKY_RELU_BACKWARD,
                                    _doc_bytes["leaky_relu_backward"], kernels)


# ---------------------------------------------------------------------------
# Fused ops: the layout plan and the drivers
# ---------------------------------------------------------------------------

cdef enum:
    MAX_DIMS = 64      # NPY_MAXDIMS
    MAX_OPS = 3


cdef struct Strides:
    rk_intp of[MAX_OPS][MAX_DIMS]    # byte strides, per operand, per dimension


cdef struct Plan:
    # dims walked here, outermost first; the kernel does the last three
    int n_loop
    rk_intp loop_shape[MAX_DIMS]
    rk_intp loop_strides[MAX_OPS][MAX_DIMS]
    rk_block block
    rk_intp kernel_strides[MAX_OPS][3]    # outer, channel, inner


cdef inline rk_intp _abs(rk_intp v) noexcept nogil:
    return -v if v < 0 else v


cdef void make_plan(Plan *plan, int ndim, const rk_intp *shape, int axis,
                    int nops, const Strides *strides) noexcept nogil:
    """Fold an iteration space into loops + one (outer, chan, inner) kernel block.

    ``shape`` is the common iteration shape, ``axis`` the channel (group)
    dimension or -1 when there is none.  Non-channel dimensions are ordered
    by the first operand's memory order (largest stride outermost), size-1
    dimensions dropped, and neighbours merged where every operand allows;
    the fastest-varying one becomes the kernel's inner dimension, unless the
    channel stride is smaller still (channels-last), in which case the
    kernel runs channels innermost with n_inner = 1.
    """
    cdef int order[MAX_DIMS]
    cdef rk_intp merged_shape[MAX_DIMS]
    cdef rk_intp merged_strides[MAX_OPS][MAX_DIMS]
    cdef int n = 0, m = 0, d, i, op
    cdef bint mergeable, channels_last
    for d in range(ndim):
        if d != axis and shape[d] != 1:
            # insertion sort, stable: larger |stride| of operand 0 first
            i = n
            while i > 0 and _abs(strides.of[0][order[i - 1]]) < _abs(strides.of[0][d]):
                order[i] = order[i - 1]
                i -= 1
            order[i] = d
            n += 1
    for i in range(n):
        d = order[i]
        mergeable = m > 0
        if mergeable:
            for op in range(nops):
                if merged_strides[op][m - 1] != strides.of[op][d] * shape[d]:
                    mergeable = 0
        if mergeable:
            merged_shape[m - 1] *= shape[d]
            for op in range(nops):
                merged_strides[op][m - 1] = strides.of[op][d]
        else:
            merged_shape[m] = shape[d]
            for op in range(nops):
                merged_strides[op][m] = strides.of[op][d]
            m += 1

    plan.block.n_chan = shape[axis] if axis >= 0 else 1
    for op in range(nops):
        plan.kernel_strides[op][0] = 0
        plan.kernel_strides[op][1] = strides.of[op][axis] if axis >= 0 else 0
        plan.kernel_strides[op][2] = 0
    plan.block.n_outer = 1
    plan.block.n_inner = 1
    channels_last = (m > 0 and plan.block.n_chan > 1 and
                     _abs(plan.kernel_strides[0][1]) < _abs(merged_strides[0][m - 1]))
    if m > 0 and not channels_last:
        m -= 1
        plan.block.n_inner = merged_shape[m]
        for op in range(nops):
            plan.kernel_strides[op][2] = merged_strides[op][m]
    if m > 0:
        m -= 1
        plan.block.n_outer = merged_shape[m]
        for op in range(nops):
            plan.kernel_strides[op][0] = merged_strides[op][m]
    plan.n_loop = m
    for i in range(m):
        plan.loop_shape[i] = merged_shape[i]
        for op in range(nops):
            plan.loop_strides[op][i] = merged_strides[op][i]


ctypedef int (*block_fn)(void *ctx, const Plan *plan, char **ptrs) noexcept nogil


cdef int walk(const Plan *plan, int nops, char **base, block_fn fn,
              void *ctx) noexcept nogil:
    """Call ``fn`` on every kernel block, in a fixed order; stop on nonzero."""
    cdef rk_intp counter[MAX_DIMS]
    cdef char *ptrs[MAX_OPS]
    cdef int i, op, status
    for op in range(nops):
        ptrs[op] = base[op]
    for i in range(plan.n_loop):
        counter[i] = 0
    while True:
        status = fn(ctx, plan, ptrs)
        if status != 0:
            return status
        i = plan.n_loop - 1
        while i >= 0:
            counter[i] += 1
            for op in range(nops):
                ptrs[op] += plan.loop_strides[op][i]
            if counter[i] < plan.loop_shape[i]:
                break
            for op in range(nops):
                ptrs[op] -= plan.loop_strides[op][i] * plan.loop_shape[i]
            counter[i] = 0
            i -= 1
        if i < 0:
            return 0


cdef int float_code(cnp.ndarray a) except -1:
    cdef int t = cnp.PyArray_TYPE(a)
    if t == cnp.NPY_FLOAT16:
        return 0
    if t == cnp.NPY_FLOAT:
        return 1
    if t == cnp.NPY_DOUBLE:
        return 2
    raise TypeError(f"internal: unexpected dtype {a.dtype}")


cdef int index_code(cnp.ndarray a) except -1:
    cdef int size = cnp.PyArray_ITEMSIZE(a)
    cdef int code = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    if a.dtype.kind == "i":
        code += 4
    return code


cdef void load_strides(Strides *strides, int op, cnp.ndarray a) noexcept:
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        strides.of[op][d] = cnp.PyArray_STRIDES(a)[d]


# -- prelu ---------------------------------------------------------------------

cdef struct PreluCtx:
    rk_prelu_fn *forward
    rk_prelu_backward_fn *backward
    const void *alpha
    double *dalpha
    double *scratch


cdef int prelu_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef PreluCtx *ctx = <PreluCtx *>ctx_
    # operands: x, y
    ctx.forward(&plan.block, ptrs[0], plan.kernel_strides[0],
                ptrs[1], plan.kernel_strides[1], ctx.alpha)
    return 0


def prelu(cnp.ndarray x, cnp.ndarray alpha, cnp.ndarray y, int axis):
    """y from x in one pass; x and y share shape and dtype, alpha as prelu_backward."""
    cdef Plan plan
    cdef PreluCtx ctx
    cdef Strides strides
    cdef char *base[MAX_OPS]
    if cnp.PyArray_SIZE(x) == 0:
        return
    load_strides(&strides, 0, x)
    load_strides(&strides, 1, y)
    make_plan(&plan, cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), axis, 2, &strides)
    ctx.forward = kernels.prelu[float_code(x)]
    ctx.alpha = cnp.PyArray_DATA(alpha)
    base[0] = <char *>cnp.PyArray_DATA(x)
    base[1] = <char *>cnp.PyArray_DATA(y)
    with nogil:
        walk(&plan, 2, base, prelu_block, &ctx)



cdef int prelu_backward_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef PreluCtx *ctx = <PreluCtx *>ctx_
    # operands: x, dy, dx
    ctx.backward(&plan.block, ptrs[1], plan.kernel_strides[1],
               ptrs[0], plan.kernel_strides[0], ptrs[2], plan.kernel_strides[2],
               ctx.alpha, ctx.dalpha, ctx.scratch)
    return 0


def prelu_backward(cnp.ndarray dy, cnp.ndarray x, cnp.ndarray alpha,
                   cnp.ndarray dx, int axis, cnp.ndarray dalpha):
    """dx and dalpha (float64, zeroed, one per channel) in one pass.

    dy, x, dx share shape and dtype; alpha is contiguous in the compute type
    with one value per channel (one in all when axis is -1).
    """
    cdef Plan plan
    cdef PreluCtx ctx
    cdef Strides strides
    cdef char *base[MAX_OPS]
    cdef rk_intp n_chan = alpha.shape[0]
    if cnp.PyArray_SIZE(x) == 0:
        return
    load_strides(&strides, 0, x)
    load_strides(&strides, 1, dy)
    load_strides(&strides, 2, dx)
    make_plan(&plan, cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), axis, 3, &strides)
    ctx.backward = kernels.prelu_backward[float_code(x)]
    ctx.alpha = cnp.PyArray_DATA(alpha)
    ctx.dalpha = <double *>cnp.PyArray_DATA(dalpha)
    ctx.scratch = <double *>malloc(n_chan * sizeof(double))
    if ctx.scratch == NULL:
        raise MemoryError()
    base[0] = <char *>cnp.PyArray_DATA(x)
    base[1] = <char *>cnp.PyArray_DATA(dy)
    base[2] = <char *>cnp.PyArray_DATA(dx)
    with nogil:
        walk(&plan, 3, base, prelu_backward_block, &ctx)
    free(ctx.scratch)


# -- maxout ------------------------------------------------------------------

cdef struct MaxoutCtx:
    rk_maxout_fn *forward
    rk_maxout_backward_fn *backward
    rk_intp k
    rk_intp member_stride     # stride between members of a group in x / dx


cdef inline void with_member_stride(rk_intp out[4], const rk_intp s[3],
                                    rk_intp member_stride) noexcept nogil:
    out[0] = s[0]
    out[1] = s[1]
    out[2] = member_stride
    out[3] = s[2]


cdef int maxout_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef MaxoutCtx *ctx = <MaxoutCtx *>ctx_
    cdef rk_intp x_strides[4]
    # operands: x, y, idx
    with_member_stride(x_strides, plan.kernel_strides[0], ctx.member_stride)
    ctx.forward(&plan.block, ctx.k, ptrs[0], x_strides,
                ptrs[1], plan.kernel_strides[1], ptrs[2], plan.kernel_strides[2])
    return 0


cdef int maxout_backward_block(void *ctx_, const Plan *plan,
                               char **ptrs) noexcept nogil:
    cdef MaxoutCtx *ctx = <MaxoutCtx *>ctx_
    cdef rk_intp dx_strides[4]
    # operands: dx, dy, idx
    with_member_stride(dx_strides, plan.kernel_strides[0], ctx.member_stride)
    return ctx.backward(&plan.block, ctx.k, ptrs[1], plan.kernel_strides[1],
                        ptrs[2], plan.kernel_strides[2], ptrs[0], dx_strides)


cdef void group_strides(Strides *strides, cnp.ndarray full, int axis, rk_intp k,
                        rk_intp *member_stride) noexcept:
    """Strides of operand 0 seen in group space: one step along axis is k members."""
    load_strides(strides, 0, full)
    member_stride[0] = strides.of[0][axis]
    strides.of[0][axis] *= k


def maxout(cnp.ndarray x, rk_intp k, int axis, cnp.ndarray y, cnp.ndarray idx):
    """y, idx (shape of x with axis divided by k) from x, in one pass."""
    cdef Plan plan
    cdef MaxoutCtx ctx
    cdef Strides strides
    cdef char *base[MAX_OPS]
    if cnp.PyArray_SIZE(y) == 0:
        return
    group_strides(&strides, x, axis, k, &ctx.member_stride)
    load_strides(&strides, 1, y)
    load_strides(&strides, 2, idx)
    make_plan(&plan, cnp.PyArray_NDIM(y), cnp.PyArray_DIMS(y), axis, 3, &strides)
    ctx.forward = kernels.maxout[float_code(x)][index_code(idx)]
    ctx.k = k
    base[0] = <char *>cnp.PyArray_DATA(x)
    base[1] = <char *>cnp.PyArray_DATA(y)
    base[2] = <char *>cnp.PyArray_DATA(idx)
    with nogil:
        walk(&plan, 3, base, maxout_block, &ctx)


def maxout_backward(cnp.ndarray dy, cnp.ndarray idx, rk_intp k, int axis,
                    cnp.ndarray dx):
    """Write all of dx from dy and idx; False if an idx value is not in 0..k-1."""
    cdef Plan plan
    cdef MaxoutCtx ctx
    cdef Strides strides
    cdef char *base[MAX_OPS]
    cdef int status
    if cnp.PyArray_SIZE(dx) == 0:
        return True
    group_strides(&strides, dx, axis, k, &ctx.member_stride)
    load_strides(&strides, 1, dy)
    load_strides(&strides, 2, idx)
    make_plan(&plan, cnp.PyArray_NDIM(dy), cnp.PyArray_DIMS(dy), axis, 3, &strides)
    ctx.backward = kernels.maxout_backward[float_code(dx)][index_code(idx)]
    ctx.k = k
    base[0] = <char *>cnp.PyArray_DATA(dx)
    base[1] = <char *>cnp.PyArray_DATA(dy)
    base[2] = <char *>cnp.PyArray_DATA(idx)
    with nogil:
        status = walk(&plan, 3, base, maxout_backward_block, &ctx)
    return status == 0
