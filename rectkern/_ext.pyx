# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of rectkern: the ufuncs and the fused kernel drivers.

The drivers (run_*) take arrays whose shapes, dtypes, alignment and byte
order are known to be right: checked by the fast paths at the end of this
file for the plain call, or by rectkern._ops for everything else.
"""

cimport numpy as cnp
from cpython.pyport cimport PY_SSIZE_T_MAX
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint64_t
from libc.stdlib cimport calloc, free, qsort
from libc.string cimport memset

cnp.import_array()
cnp.import_ufunc()


cdef extern from "rectkern.h" nogil:
    ctypedef cnp.npy_intp rk_intp

    ctypedef struct rk_exact:
        pass
    double rk_exact_value(const rk_exact *sum)
    size_t RK_PRELU_BACKWARD_SCRATCH(rk_intp n_chan)
    ctypedef struct rk_binned:
        pass
    void rk_binned_init(rk_binned *b, rk_intp cols, double *bins, rk_exact *sums,
                        rk_intp n_sums)
    void rk_binned_empty(rk_binned *b)

    ctypedef void rk_ufunc_loop(char **args, const rk_intp *dimensions,
                               const rk_intp *steps, void *data) noexcept nogil
    ctypedef struct rk_activation:
        rk_ufunc_loop *forward
        rk_ufunc_loop *backward
        const void *alpha
        int has_alpha, alpha_per_channel, slopes
    size_t RK_BIAS_ACT_SCRATCH(rk_intp n_chan)

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
        const void *alpha, rk_exact *dalpha, void *scratch) noexcept nogil
    ctypedef void rk_bias_act_fn(
        const rk_block *block,
        const char *z, const rk_intp *z_strides,
        char *y, const rk_intp *y_strides,
        const void *bias, const rk_activation *act, void *scratch) noexcept nogil
    ctypedef void rk_bias_act_backward_fn(
        const rk_block *block,
        const char *dy, const rk_intp *dy_strides,
        const char *z, const rk_intp *z_strides,
        char *dz, const rk_intp *dz_strides,
        const void *bias, const rk_activation *act,
        rk_exact *dbias, rk_exact *dalpha, void *scratch) noexcept nogil
    ctypedef void rk_maxout_fn(
        const rk_block *block, rk_intp k,
        const char *x, const rk_intp *x_strides,
        char *y, const rk_intp *y_strides,
        char *idx, const rk_intp *idx_strides) noexcept nogil
    ctypedef int rk_maxout_backward_fn(
        const rk_block *block, rk_intp k, int index_signed,
        const char *dy, const rk_intp *dy_strides,
        const char *idx, const rk_intp *idx_strides,
        char *dx, const rk_intp *dx_strides) noexcept nogil

    ctypedef struct rk_rrelu_slopes:
        uint64_t key
        double lower, upper
    ctypedef void rk_rrelu_fn(const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start,
                              const char *x, rk_intp sx, char *y, rk_intp sy) noexcept nogil
    ctypedef void rk_rrelu_backward_fn(
        const rk_rrelu_slopes *slopes, rk_intp n, rk_intp start, const char *dy, rk_intp sdy,
        const char *x, rk_intp sx, char *dx, rk_intp sdx) noexcept nogil

    ctypedef struct rk_optim_hyper:
        double lr, weight_decay, decay_factor, eps, momentum, dampening_complement
        double decay, decay_complement, beta1, one_minus_beta1, beta2, one_minus_beta2
        double bias_correction2_sqrt
        unsigned flags
    ctypedef void rk_optim_fn(const rk_optim_hyper *hyper, rk_intp n,
                              char **ptrs, const rk_intp *strides) noexcept nogil
    ctypedef void rk_sum_squares_fn(rk_intp n, const char *x, rk_intp stride,
                                    rk_binned *sum) noexcept nogil
    enum:
        RK_SGD
        RK_ADAGRAD
        RK_ADADELTA
        RK_RMSPROP
        RK_ADAM
        RK_SUM_LANES
        RK_OPT_MAXIMIZE
        RK_OPT_WEIGHT_DECAY
        RK_OPT_DECOUPLED
        RK_OPT_MOMENTUM
        RK_OPT_NESTEROV
        RK_OPT_FIRST_STEP
        RK_OPT_CENTERED
        RK_OPT_AMSGRAD

    ctypedef struct rk_kernel_table:
        const char *name
        const char *half_conversion
        rk_prelu_fn *prelu[3]
        rk_prelu_backward_fn *prelu_backward[3]
        rk_maxout_fn *maxout[3][4]
        rk_maxout_backward_fn *maxout_backward[3][4]
        rk_rrelu_fn *rrelu[3]
        rk_rrelu_backward_fn *rrelu_backward[3]
        rk_optim_fn *optim[5][3]
        rk_sum_squares_fn *sum_squares[3]
        rk_bias_act_fn *bias_act[3]
        rk_bias_act_backward_fn *bias_act_backward[3]

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

from numpy import float64 as _float64

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

    /* the names of a ufunc's inputs, as rk_ops.h's rows number them */
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

    /* The registry's rows (rk_ops.h), as data. */
    typedef struct {
        const char *name, *family;
        int inputs, params;
    } rk_op_row;
    #define RK_OP_ROW(name, inputs, params, family, half, float32) \
        {#name, #family, inputs, params},
    static const rk_op_row rk_op_rows[RK_NUM_ELEMENTWISE] = {
        RK_ELEMENTWISE_OPS(RK_OP_ROW)
    };
    #undef RK_OP_ROW

    /* Loops (from the chosen kernel table) and dtypes of every op: the
       activations and the output in the loop's dtype, the parameter in its
       compute type (float32 for float16). */
    static PyUFuncGenericFunction rk_loops[RK_NUM_ELEMENTWISE][RK_NUM_FLOATS];
    static char rk_types[RK_NUM_ELEMENTWISE][RK_NUM_FLOATS * 4];
    static void *rk_no_data[RK_NUM_FLOATS];

    /* op's ufunc; doc must outlive it (the caller keeps it alive). */
    static PyObject *
    rk_make_ufunc(int op, const char *doc, const rk_kernel_table *kernels)
    {
        static const char float_types[RK_NUM_FLOATS] = {NPY_HALF, NPY_FLOAT, NPY_DOUBLE};
        static const char param_types[RK_NUM_FLOATS] = {NPY_FLOAT, NPY_FLOAT, NPY_DOUBLE};
        const rk_op_row *row = &rk_op_rows[op];
        const int nargs = row->inputs + row->params + 1;
        PyObject *ufunc;
        for (int t = 0; t < RK_NUM_FLOATS; t++) {
            char *types = rk_types[op] + t * nargs;
            for (int i = 0; i < nargs; i++) {
                types[i] = i == row->inputs && row->params ? param_types[t] : float_types[t];
            }
            rk_loops[op][t] = kernels->elementwise[op][t];
        }
        ufunc = PyUFunc_FromFuncAndData(
            rk_loops[op], rk_no_data, rk_types[op], RK_NUM_FLOATS,
            row->inputs + row->params, 1, PyUFunc_None, row->name, doc, 0);
        if (ufunc != NULL) {
            ((PyUFuncObject *)ufunc)->type_resolver = row->params
                ? rk_resolve_with_alpha : rk_resolve_activations;
        }
        return ufunc;
    }

    /* op's loop for dtype row t, as the ufuncs run it (rk_make_ufunc first). */
    static rk_ufunc_loop *
    rk_elementwise_loop(int op, int t)
    {
        return (rk_ufunc_loop *)rk_loops[op][t];
    }
    """
    ctypedef struct rk_op_row:
        const char *name
        const char *family
        int inputs, params
    const rk_op_row rk_op_rows[]
    int RK_NUM_ELEMENTWISE
    object rk_make_ufunc(int op, const char *doc, const rk_kernel_table *table)
    rk_ufunc_loop *rk_elementwise_loop(int op, int t)
    cnp.dtype rk_activation_descr(const char *func, const char *arg, cnp.dtype d)


def activation_dtype(str func, str arg, dtype):
    """The dtype an activation of ``dtype`` is computed and returned in.

    Raises TypeError naming ``func`` and ``arg`` for unsupported dtypes.
    """
    return rk_activation_descr(func.encode(), arg.encode(), dtype)


from . import _ufunc_docs

# PyUFunc_FromFuncAndData keeps a pointer to the doc: keep the bytes alive.
_doc_bytes = {name: doc.encode() for name, doc in _ufunc_docs.DOCS.items()}


class ElementwiseOp:
    """A row of the registry of elementwise ops (src_c/rk_ops.h)."""

    __slots__ = ("name", "inputs", "params", "family")

    def __init__(self, name, inputs, params, family):
        self.name, self.family = name, family
        self.inputs = ("x",) if inputs == 1 else ("dy", "x")
        self.params = ("alpha",) if params else ()

    def __repr__(self):
        return (f"ElementwiseOp({self.name!r}, inputs={self.inputs}, params={self.params}, "
                f"family={self.family!r})")


ELEMENTWISE = tuple(
    ElementwiseOp(rk_op_rows[i].name.decode(), rk_op_rows[i].inputs, rk_op_rows[i].params,
                  rk_op_rows[i].family.decode())
    for i in range(RK_NUM_ELEMENTWISE))
for _i, _op in enumerate(ELEMENTWISE):
    globals()[_op.name] = rk_make_ufunc(_i, _doc_bytes[_op.name], kernels)
del _i, _op


# ---------------------------------------------------------------------------
# Fused ops: the layout plan and the drivers
# ---------------------------------------------------------------------------

cdef enum:
    MAX_DIMS = 64      # NPY_MAXDIMS
    MAX_OPS = 5        # RK_OPTIM_MAX_OPERANDS; the fused activations use 3


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
                    int nops, const Strides *strides, rk_intp axis_step) noexcept nogil:
    """Fold an iteration space into loops + one (outer, chan, inner) kernel block.

    ``shape`` is the common iteration shape, ``axis`` the channel (group)
    dimension or -1 when there is none.  Non-channel dimensions are ordered
    by the first operand's memory order (largest stride outermost), size-1
    dimensions dropped, and neighbours merged where every operand allows;
    the fastest-varying one becomes the kernel's inner dimension, unless the
    first operand steps along axis (``axis_step``: from a channel, or a
    group's member, to the next; 0 when the axis has none) by less still
    (channels-last), in which case the kernel runs channels innermost with
    n_inner = 1.
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
    channels_last = (m > 0 and axis_step != 0 and
                     _abs(axis_step) < _abs(merged_strides[0][m - 1]))
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


cdef inline rk_intp channel_step(cnp.ndarray a, int axis) noexcept:
    """a's stride from one channel to the next, or 0 if there is no next."""
    return cnp.PyArray_STRIDES(a)[axis] if axis >= 0 and cnp.PyArray_DIMS(a)[axis] > 1 else 0


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
    """Row of the kernel tables for a float dtype (RK_F16, RK_F32, RK_F64)."""
    cdef int t = cnp.PyArray_TYPE(a)
    if t == cnp.NPY_FLOAT16:
        return 0
    if t == cnp.NPY_FLOAT:
        return 1
    if t == cnp.NPY_DOUBLE:
        return 2
    raise TypeError(f"internal: unexpected dtype {a.dtype}")


cdef int index_code(cnp.ndarray a) noexcept:
    """Row of the kernel tables for an integer dtype's width (RK_U8 ... RK_U64)."""
    cdef int size = cnp.PyArray_ITEMSIZE(a)
    return 0 if size == 1 else 1 if size == 2 else 2 if size == 4 else 3


cdef void load_strides(Strides *strides, int op, cnp.ndarray a) noexcept:
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        strides.of[op][d] = cnp.PyArray_STRIDES(a)[d]


# -- prelu ---------------------------------------------------------------------

cdef struct PreluCtx:
    rk_prelu_fn *forward
    rk_prelu_backward_fn *backward
    const void *alpha
    rk_exact *dalpha
    void *scratch


cdef int prelu_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef PreluCtx *ctx = <PreluCtx *>ctx_
    # operands: x, y
    ctx.forward(&plan.block, ptrs[0], plan.kernel_strides[0],
                ptrs[1], plan.kernel_strides[1], ctx.alpha)
    return 0


cdef int prelu_backward_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef PreluCtx *ctx = <PreluCtx *>ctx_
    # operands: x, dy, dx
    ctx.backward(&plan.block, ptrs[1], plan.kernel_strides[1],
                 ptrs[0], plan.kernel_strides[0], ptrs[2], plan.kernel_strides[2],
                 ctx.alpha, ctx.dalpha, ctx.scratch)
    return 0


cdef int plan_operands(Plan *plan, char **base, int axis, cnp.ndarray first,
                       cnp.ndarray second, cnp.ndarray third=None) except -1:
    """The plan and base pointers of two or three operands of first's shape
    (the channel axis, or -1), first's memory order leading; returns their
    count."""
    cdef Strides strides
    cdef int nops = 2 if third is None else 3
    load_strides(&strides, 0, first)
    load_strides(&strides, 1, second)
    base[0] = <char *>cnp.PyArray_DATA(first)
    base[1] = <char *>cnp.PyArray_DATA(second)
    if third is not None:
        load_strides(&strides, 2, third)
        base[2] = <char *>cnp.PyArray_DATA(third)
    make_plan(plan, cnp.PyArray_NDIM(first), cnp.PyArray_DIMS(first), axis, nops, &strides,
              channel_step(first, axis))
    return nops


cdef void *alloc(size_t count, size_t size) except NULL:
    """count zeroed items of size bytes (at least one), or MemoryError."""
    cdef void *p = calloc(count if count else 1, size)
    if p == NULL:
        raise MemoryError()
    return p


cdef void _run_prelu(cnp.ndarray x, const void *alpha, cnp.ndarray y, int axis):
    """y from x in one pass: x and y share shape and dtype; alpha holds one
    compute-type value per channel (one in all when axis is -1)."""
    cdef Plan plan
    cdef PreluCtx ctx
    cdef char *base[MAX_OPS]
    if cnp.PyArray_SIZE(x) == 0:
        return
    plan_operands(&plan, base, axis, x, y)
    ctx.forward = kernels.prelu[float_code(x)]
    ctx.alpha = alpha
    with nogil:
        walk(&plan, 2, base, prelu_block, &ctx)


cdef void round_sums(const rk_exact *sums, rk_intp n, double *out) noexcept nogil:
    """Each of n exact sums rounded to the nearest double."""
    cdef rk_intp c
    for c in range(n):
        out[c] = rk_exact_value(&sums[c])


cdef int _run_prelu_backward(cnp.ndarray dy, cnp.ndarray x, const void *alpha,
                             rk_intp n_chan, cnp.ndarray dx, int axis,
                             double *dalpha) except -1:
    """dx and dalpha (n_chan doubles) in one pass; dy, x, dx share shape
    and dtype, alpha as for _run_prelu."""
    cdef Plan plan
    cdef PreluCtx ctx
    cdef char *base[MAX_OPS]
    ctx.dalpha = <rk_exact *>alloc(n_chan, sizeof(rk_exact))
    ctx.scratch = NULL
    try:
        if cnp.PyArray_SIZE(x) != 0:
            plan_operands(&plan, base, axis, x, dy, dx)
            ctx.backward = kernels.prelu_backward[float_code(x)]
            ctx.alpha = alpha
            ctx.scratch = alloc(1, RK_PRELU_BACKWARD_SCRATCH(n_chan))
            with nogil:
                walk(&plan, 3, base, prelu_backward_block, &ctx)
        with nogil:
            round_sums(ctx.dalpha, n_chan, dalpha)
    finally:
        free(ctx.dalpha)
        free(ctx.scratch)
    return 0


def run_prelu(cnp.ndarray x, cnp.ndarray alpha, cnp.ndarray y, int axis):
    """_run_prelu for checked arrays (alpha contiguous in the compute type)."""
    _run_prelu(x, cnp.PyArray_DATA(alpha), y, axis)


def run_prelu_backward(cnp.ndarray dy, cnp.ndarray x, cnp.ndarray alpha,
                       cnp.ndarray dx, int axis, cnp.ndarray dalpha):
    """_run_prelu_backward for checked arrays; dalpha: float64."""
    _run_prelu_backward(dy, x, cnp.PyArray_DATA(alpha), cnp.PyArray_SIZE(alpha), dx,
                        axis, <double *>cnp.PyArray_DATA(dalpha))


# -- bias_act ------------------------------------------------------------------

cdef struct BiasActCtx:
    rk_bias_act_fn *forward
    rk_bias_act_backward_fn *backward
    const void *bias
    rk_activation act
    rk_exact *dbias
    rk_exact *dalpha
    void *scratch


cdef int bias_act_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef BiasActCtx *ctx = <BiasActCtx *>ctx_
    # operands: z, y
    ctx.forward(&plan.block, ptrs[0], plan.kernel_strides[0],
                ptrs[1], plan.kernel_strides[1], ctx.bias, &ctx.act, ctx.scratch)
    return 0


cdef int bias_act_backward_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef BiasActCtx *ctx = <BiasActCtx *>ctx_
    # operands: z, dy, dz
    ctx.backward(&plan.block, ptrs[1], plan.kernel_strides[1],
                 ptrs[0], plan.kernel_strides[0], ptrs[2], plan.kernel_strides[2],
                 ctx.bias, &ctx.act, ctx.dbias, ctx.dalpha, ctx.scratch)
    return 0


cdef void activation_loops(rk_activation *act, int compute, int forward_op, int backward_op,
                           const void *alpha, rk_intp alpha_count, bint slopes) noexcept:
    """The activation's loops for the compute type's row (RK_F32 or RK_F64;
    an op of -1 is the identity) and its alpha (NULL: the loops take none)."""
    act.forward = rk_elementwise_loop(forward_op, compute) if forward_op >= 0 else NULL
    act.backward = rk_elementwise_loop(backward_op, compute) if backward_op >= 0 else NULL
    act.has_alpha = alpha != NULL
    act.alpha = alpha
    act.alpha_per_channel = alpha != NULL and alpha_count > 1
    act.slopes = slopes


cdef int _run_bias_act(cnp.ndarray z, const void *bias, cnp.ndarray y, int axis,
                       int forward_op, const void *alpha, rk_intp alpha_count) except -1:
    """y = g(z + bias) along axis: z and y share shape and dtype; bias (and
    alpha, if the activation takes one: 1 or C values) in the compute type."""
    cdef Plan plan
    cdef BiasActCtx ctx
    cdef char *base[MAX_OPS]
    cdef int code = float_code(z)
    if cnp.PyArray_SIZE(z) == 0:
        return 0
    plan_operands(&plan, base, axis, z, y)
    ctx.forward = kernels.bias_act[code]
    ctx.bias = bias
    activation_loops(&ctx.act, 2 if code == 2 else 1, forward_op, -1, alpha, alpha_count,
                     False)
    ctx.scratch = alloc(1, RK_BIAS_ACT_SCRATCH(cnp.PyArray_DIMS(z)[axis]))
    with nogil:
        walk(&plan, 2, base, bias_act_block, &ctx)
    free(ctx.scratch)
    return 0


cdef int _run_bias_act_backward(cnp.ndarray dy, cnp.ndarray z, const void *bias,
                                cnp.ndarray dz, int axis, int backward_op,
                                const void *alpha, rk_intp alpha_count, bint slopes,
                                double *dbias, double *dalpha) except -1:
    """dz = g'(dy, z + bias), dbias (C doubles) and, with slopes, dalpha
    (alpha_count doubles) in one pass; arrays as _run_bias_act's."""
    cdef Plan plan
    cdef BiasActCtx ctx
    cdef char *base[MAX_OPS]
    cdef int code = float_code(z)
    cdef rk_intp n_chan = cnp.PyArray_DIMS(z)[axis]
    cdef rk_intp n_dalpha = alpha_count if slopes else 0
    ctx.dbias = <rk_exact *>alloc(n_chan, sizeof(rk_exact))
    ctx.dalpha = ctx.scratch = NULL
    try:
        ctx.dalpha = <rk_exact *>alloc(n_dalpha, sizeof(rk_exact))
        if cnp.PyArray_SIZE(z) != 0:
            plan_operands(&plan, base, axis, z, dy, dz)
            ctx.backward = kernels.bias_act_backward[code]
            ctx.bias = bias
            activation_loops(&ctx.act, 2 if code == 2 else 1, -1, backward_op, alpha,
                             alpha_count, slopes)
            ctx.scratch = alloc(1, RK_BIAS_ACT_SCRATCH(n_chan))
            with nogil:
                walk(&plan, 3, base, bias_act_backward_block, &ctx)
        with nogil:
            round_sums(ctx.dbias, n_chan, dbias)
            round_sums(ctx.dalpha, n_dalpha, dalpha)
    finally:
        free(ctx.dbias)
        free(ctx.dalpha)
        free(ctx.scratch)
    return 0


cdef const void *optional_data(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


def run_bias_act(cnp.ndarray z, cnp.ndarray bias, cnp.ndarray y, int axis,
                 int forward_op, alpha):
    """_run_bias_act for checked arrays: bias and alpha (None, or 1 or C
    values) contiguous in the compute type."""
    _run_bias_act(z, cnp.PyArray_DATA(bias), y, axis, forward_op, optional_data(alpha),
                  0 if alpha is None else cnp.PyArray_SIZE(<cnp.ndarray>alpha))


def run_bias_act_backward(cnp.ndarray dy, cnp.ndarray z, cnp.ndarray bias, cnp.ndarray dz,
                          int axis, int backward_op, alpha, bint slopes,
                          cnp.ndarray dbias, cnp.ndarray dalpha):
    """_run_bias_act_backward for checked arrays (as run_bias_act's); dbias
    and dalpha float64, C and alpha's count of values."""
    _run_bias_act_backward(dy, z, cnp.PyArray_DATA(bias), dz, axis, backward_op,
                           optional_data(alpha),
                           0 if alpha is None else cnp.PyArray_SIZE(<cnp.ndarray>alpha),
                           slopes, <double *>cnp.PyArray_DATA(dbias),
                           <double *>cnp.PyArray_DATA(dalpha))


# -- maxout ------------------------------------------------------------------

cdef struct MaxoutCtx:
    rk_maxout_fn *forward
    rk_maxout_backward_fn *backward
    rk_intp k
    int index_signed          # maxout_backward's idx has a signed dtype
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
    return ctx.backward(&plan.block, ctx.k, ctx.index_signed,
                        ptrs[1], plan.kernel_strides[1],
                        ptrs[2], plan.kernel_strides[2], ptrs[0], dx_strides)


cdef void group_strides(Strides *strides, cnp.ndarray full, int axis, rk_intp k,
                        rk_intp *member_stride) noexcept:
    """Strides of operand 0 seen in group space: one step along axis is k members."""
    load_strides(strides, 0, full)
    member_stride[0] = strides.of[0][axis]
    strides.of[0][axis] *= k


cdef int walk_groups(cnp.ndarray grouped, cnp.ndarray values, cnp.ndarray idx,
                     rk_intp k, int axis, block_fn fn, MaxoutCtx *ctx,
                     bint by_members):
    """Walk maxout's operands: grouped (x or dx, axis k times longer), then
    values (y or dy) and idx; returns the first nonzero block status.

    The kernels run groups innermost (channels-last) where the step along
    axis is the smallest in memory: the step from group to group, or with
    ``by_members`` from member to member, so that even a single group along
    axis is one run of memory.  maxout_backward writes such a run much
    faster; the forward kernels, which reduce a lone group's members one
    by one, mostly do better across the other axes.
    """
    cdef rk_intp axis_step
    cdef Plan plan
    cdef Strides strides
    cdef char *base[MAX_OPS]
    cdef int status
    group_strides(&strides, grouped, axis, k, &ctx.member_stride)
    load_strides(&strides, 1, values)
    load_strides(&strides, 2, idx)
    if by_members:
        axis_step = ctx.member_stride if cnp.PyArray_DIMS(grouped)[axis] > 1 else 0
    else:
        axis_step = strides.of[0][axis] if cnp.PyArray_DIMS(values)[axis] > 1 else 0
    make_plan(&plan, cnp.PyArray_NDIM(values), cnp.PyArray_DIMS(values), axis, 3,
              &strides, axis_step)
    ctx.k = k
    base[0] = <char *>cnp.PyArray_DATA(grouped)
    base[1] = <char *>cnp.PyArray_DATA(values)
    base[2] = <char *>cnp.PyArray_DATA(idx)
    with nogil:
        status = walk(&plan, 3, base, fn, ctx)
    return status


def run_maxout(cnp.ndarray x, rk_intp k, int axis, cnp.ndarray y, cnp.ndarray idx):
    """y, idx (shape of x with axis divided by k) from x, in one pass."""
    cdef MaxoutCtx ctx
    if cnp.PyArray_SIZE(y) == 0:
        return
    ctx.forward = kernels.maxout[float_code(x)][index_code(idx)]
    walk_groups(x, y, idx, k, axis, maxout_block, &ctx, False)


def run_maxout_backward(cnp.ndarray dy, cnp.ndarray idx, rk_intp k, int axis,
                        cnp.ndarray dx):
    """Write all of dx from dy and idx; False if an idx value is not in 0..k-1."""
    cdef MaxoutCtx ctx
    if cnp.PyArray_SIZE(dx) == 0:
        return True
    ctx.backward = kernels.maxout_backward[float_code(dx)][index_code(idx)]
    ctx.index_signed = cnp.PyTypeNum_ISSIGNED(cnp.PyArray_TYPE(idx))
    return walk_groups(dx, dy, idx, k, axis, maxout_backward_block, &ctx, True) == 0


# -- rrelu ---------------------------------------------------------------------

def run_rrelu(list arrays, uint64_t key, double lower, double upper):
    """RReLU's training kernel on checked arrays of one shape and dtype:
    [x, y] forward, [dy, x, dx] backward.  Rows of the last axis go in C
    order, each told the C-order (logical) index of its first element, which
    keys the slopes: the result does not depend on the layout."""
    cdef int nops = len(arrays), ndim, d, op
    cdef cnp.ndarray first = arrays[0], a
    cdef rk_rrelu_slopes slopes
    cdef rk_intp shape[MAX_DIMS]
    cdef rk_intp index[MAX_DIMS]
    cdef rk_intp strides[3][MAX_DIMS]
    cdef char *ptrs[3]
    cdef rk_intp row, n_rows, n
    cdef int code = float_code(first)
    cdef rk_rrelu_fn *forward = kernels.rrelu[code]
    cdef rk_rrelu_backward_fn *backward = kernels.rrelu_backward[code]
    slopes.key, slopes.lower, slopes.upper = key, lower, upper
    if cnp.PyArray_SIZE(first) == 0:
        return
    contiguous = all(a.flags.c_contiguous for a in arrays)
    ndim = 1 if contiguous or first.ndim == 0 else first.ndim
    for d in range(ndim):
        shape[d] = cnp.PyArray_SIZE(first) if ndim == 1 else first.shape[d]
        index[d] = 0
    for op in range(nops):
        a = arrays[op]
        ptrs[op] = <char *>cnp.PyArray_DATA(a)
        for d in range(ndim):
            strides[op][d] = a.itemsize if ndim == 1 and contiguous else (
                a.strides[d] if a.ndim else 0)
    n = shape[ndim - 1]
    n_rows = cnp.PyArray_SIZE(first) // n
    with nogil:
        for row in range(n_rows):
            if nops == 2:
                forward(&slopes, n, row * n, ptrs[0], strides[0][ndim - 1],
                        ptrs[1], strides[1][ndim - 1])
            else:
                backward(&slopes, n, row * n, ptrs[0], strides[0][ndim - 1],
                         ptrs[1], strides[1][ndim - 1], ptrs[2], strides[2][ndim - 1])
            # the next row: an odometer over the axes before the last
            d = ndim - 2
            while d >= 0:
                index[d] += 1
                for op in range(nops):
                    ptrs[op] += strides[op][d]
                if index[d] < shape[d]:
                    break
                for op in range(nops):
                    ptrs[op] -= strides[op][d] * shape[d]
                index[d] = 0
                d -= 1


# ---------------------------------------------------------------------------
# Fast paths: the plain call, checked in C
# ---------------------------------------------------------------------------
#
# The public functions (rectkern._ops) first offer their arguments here.
# A fast path takes the common case only: exact ndarrays of one float dtype,
# aligned and in native byte order, an int axis in range, alpha a Python
# float or a 1-d float array of the right length, out None or an array of
# the result's shape and dtype that does not overlap an input (or is one).
# Anything else returns None and goes the checked way in Python, which also
# raises every error: so there is one place for the argument rules.

cdef extern from "numpy/arrayobject.h":
    object PyArray_NewLikeArray(cnp.ndarray prototype, cnp.NPY_ORDER order,
                                void *descr, int subok)


cdef inline bint plain_float(object a):
    cdef int t
    if type(a) is not cnp.ndarray:
        return False
    t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    return ((t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64 or t == cnp.NPY_FLOAT16)
            and cnp.PyArray_ISALIGNED(<cnp.ndarray>a)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a))


cdef inline bint same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int d
    if cnp.PyArray_NDIM(a) != cnp.PyArray_NDIM(b):
        return False
    for d in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIMS(a)[d] != cnp.PyArray_DIMS(b)[d]:
            return False
    return True


cdef inline int plain_axis(object axis, int ndim):
    """axis in 0 .. ndim-1, or -1 if it is not a plain int in range."""
    if type(axis) is not int or not -ndim <= axis < ndim:   # compared as Python ints
        return -1
    return <int>(axis + ndim if axis < 0 else axis)


cdef void extent(cnp.ndarray a, char **lo, char **hi):
    """The bytes an array's elements span, [lo, hi)."""
    cdef char *start = <char *>cnp.PyArray_DATA(a)
    cdef char *end = start + cnp.PyArray_ITEMSIZE(a)
    cdef rk_intp step
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        step = cnp.PyArray_STRIDES(a)[d] * (cnp.PyArray_DIMS(a)[d] - 1)
        if step < 0:
            start += step
        else:
            end += step
    lo[0], hi[0] = start, end


cdef bint apart(cnp.ndarray a, cnp.ndarray b):
    cdef char *a_lo
    cdef char *a_hi
    cdef char *b_lo
    cdef char *b_hi
    if cnp.PyArray_SIZE(a) == 0 or cnp.PyArray_SIZE(b) == 0:
        return True
    extent(a, &a_lo, &a_hi)
    extent(b, &b_lo, &b_hi)
    return a_hi <= b_lo or b_hi <= a_lo


cdef object plain_out(object out, cnp.ndarray like, int type_num, rk_intp *dims,
                      tuple inputs, bint in_place):
    """out itself if it can be written directly, else None."""
    cdef cnp.ndarray o
    cdef int d
    if type(out) is not cnp.ndarray or not cnp.PyArray_ISALIGNED(<cnp.ndarray>out):
        return None
    o = <cnp.ndarray>out
    if (cnp.PyArray_TYPE(o) != type_num or not cnp.PyArray_ISNOTSWAPPED(o)
            or not cnp.PyArray_ISWRITEABLE(o)
            or cnp.PyArray_NDIM(o) != cnp.PyArray_NDIM(like)):
        return None
    for d in range(cnp.PyArray_NDIM(o)):
        if cnp.PyArray_DIMS(o)[d] != dims[d]:
            return None
    for a in inputs:
        if not (in_place and a is out) and not apart(o, <cnp.ndarray>a):
            return None
    return out


cdef object output_like(object out, cnp.ndarray x, tuple inputs):
    """An output of x's shape and dtype: out if it can be written directly
    (x itself included), a new array in x's memory order if out is None,
    else None."""
    if out is None:
        return PyArray_NewLikeArray(x, cnp.NPY_KEEPORDER, NULL, 0)
    return plain_out(out, x, cnp.PyArray_TYPE(x), cnp.PyArray_DIMS(x), inputs, True)


cdef object new_like(cnp.ndarray like, int type_num, rk_intp *dims):
    """An empty array of dims in like's memory order (C or Fortran), or None
    for other orders (the checked way then allocates)."""
    cdef int ndim = cnp.PyArray_NDIM(like)
    if cnp.PyArray_IS_C_CONTIGUOUS(like):
        return cnp.PyArray_EMPTY(ndim, dims, type_num, 0)
    if cnp.PyArray_IS_F_CONTIGUOUS(like):
        return cnp.PyArray_EMPTY(ndim, dims, type_num, 1)
    return None


cdef int compute_type(int type_num):
    """alpha is applied in float32 for float16/float32 data, float64 for float64."""
    return cnp.NPY_FLOAT64 if type_num == cnp.NPY_FLOAT64 else cnp.NPY_FLOAT32


cdef enum:
    SLOPES_INLINE = 64         # channels a Slopes converts without allocating


cdef class Slopes:
    """alpha, ready for the kernels: a pointer to compute-type values."""
    cdef const void *values
    cdef rk_intp count
    cdef int axis              # channel axis, or -1 when shared
    cdef float single32
    cdef double single64
    cdef object keep           # the array values point into
    # a float64 alpha for float32 kernels, converted here (a new array per
    # call cost more than a small kernel call): inline, or allocated
    cdef float inline32[SLOPES_INLINE]
    cdef float *converted

    def __dealloc__(self):
        PyMem_Free(self.converted)


cdef const void *convert_to_float32(Slopes s, cnp.ndarray a) except NULL:
    """a's s.count float64 values rounded to float32, in s's own storage."""
    cdef float *values = s.inline32
    cdef const char *data = <const char *>cnp.PyArray_DATA(a)
    cdef rk_intp stride = cnp.PyArray_STRIDES(a)[0], i
    if s.count > SLOPES_INLINE:
        s.converted = <float *>PyMem_Malloc(s.count * sizeof(float))   # seen by tracemalloc
        if s.converted == NULL:
            raise MemoryError()
        values = s.converted
    for i in range(s.count):
        values[i] = <float>(<const double *>(data + i * stride))[0]
    return values


cdef Slopes plain_slopes(object alpha, cnp.ndarray x, object axis):
    """alpha as a Python float or a float array of 1 or C values, else None."""
    cdef Slopes s = Slopes.__new__(Slopes)
    cdef int comp = compute_type(cnp.PyArray_TYPE(x))
    cdef cnp.ndarray a
    if type(alpha) is float:
        s.count, s.axis = 1, -1
        if comp == cnp.NPY_FLOAT64:
            s.single64 = alpha
            s.values = &s.single64
        else:
            s.single32 = alpha
            s.values = &s.single32
        return s
    if not plain_float(alpha) or cnp.PyArray_NDIM(<cnp.ndarray>alpha) != 1:
        return None
    a = <cnp.ndarray>alpha
    s.count = cnp.PyArray_DIMS(a)[0]
    if s.count == 1:
        s.axis = -1
    else:
        s.axis = plain_axis(axis, cnp.PyArray_NDIM(x))
        if s.axis < 0 or cnp.PyArray_DIMS(x)[s.axis] != s.count:
            return None
    if comp == cnp.NPY_FLOAT32 and cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64:
        s.values = convert_to_float32(s, a)
        return s
    if cnp.PyArray_TYPE(a) != comp or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        a = cnp.PyArray_FROMANY(a, comp, 1, 1,
                                cnp.NPY_ARRAY_IN_ARRAY | cnp.NPY_ARRAY_FORCECAST)
    s.keep = a
    s.values = cnp.PyArray_DATA(a)
    return s


cdef bint slopes_apart(Slopes s, cnp.ndarray out):
    """Whether out leaves the slopes alone (writing it cannot change them)."""
    return s.keep is None or apart(out, <cnp.ndarray>s.keep)


def prelu_fast(x, alpha, axis, out):
    """prelu's plain case, or None."""
    cdef Slopes s
    if not plain_float(x):
        return None
    s = plain_slopes(alpha, <cnp.ndarray>x, axis)
    if s is None:
        return None
    y = output_like(out, x, (x,))
    if y is None or not slopes_apart(s, y):
        return None
    _run_prelu(x, s.values, y, s.axis)
    return y


def prelu_backward_fast(dy, x, alpha, axis, out):
    """prelu_backward's plain case, or None."""
    cdef Slopes s
    cdef double one_dalpha = 0.0
    cdef cnp.ndarray dalpha
    if not (plain_float(dy) and plain_float(x)
            and cnp.PyArray_TYPE(<cnp.ndarray>dy) == cnp.PyArray_TYPE(<cnp.ndarray>x)
            and same_shape(dy, x)):
        return None
    s = plain_slopes(alpha, <cnp.ndarray>x, axis)
    if s is None:
        return None
    dx = output_like(out, x, (dy, x))
    if dx is None or not slopes_apart(s, dx):
        return None
    if type(alpha) is float:
        _run_prelu_backward(dy, x, s.values, 1, dx, -1, &one_dalpha)
        return dx, _float64(one_dalpha)
    dalpha = cnp.PyArray_ZEROS(1, &s.count, cnp.NPY_FLOAT64, 0)
    _run_prelu_backward(dy, x, s.values, s.count, dx, s.axis,
                        <double *>cnp.PyArray_DATA(dalpha))
    if cnp.PyArray_TYPE(<cnp.ndarray>alpha) != cnp.NPY_FLOAT64:
        dalpha = dalpha.astype((<cnp.ndarray>alpha).dtype)
    return dx, dalpha


cdef object plain_bias(object bias, cnp.ndarray z, int axis):
    """bias as a contiguous array of z's float32 or float64 type, one value
    per channel, else None."""
    if not (plain_float(bias) and cnp.PyArray_NDIM(<cnp.ndarray>bias) == 1
            and cnp.PyArray_TYPE(<cnp.ndarray>bias) == cnp.PyArray_TYPE(z)
            and cnp.PyArray_TYPE(z) != cnp.NPY_FLOAT16
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>bias)
            and cnp.PyArray_DIMS(<cnp.ndarray>bias)[0] == cnp.PyArray_DIMS(z)[axis]):
        return None
    return bias


cdef Slopes plain_activation_alpha(str kind, object alpha, cnp.ndarray z, object axis):
    """The alpha of an activation's kind ("none", "scalar", "slopes") in its
    plain form, else None; an empty Slopes (count 0) for "none"."""
    if kind == "none":
        return Slopes.__new__(Slopes) if alpha is None else None
    if kind == "scalar" and type(alpha) is not float:
        return None
    return plain_slopes(alpha, z, axis)


cdef Slopes plain_bias_act(object z, object bias, str kind, object alpha, object axis,
                           int *ax):
    """The plain case of bias_act and its backward: z float32 or float64 of
    rank >= 1, axis a plain int (into ax), bias of z's dtype with a value
    per channel, alpha in its kind's plain form (plain_activation_alpha);
    else None."""
    if not plain_float(z) or cnp.PyArray_NDIM(<cnp.ndarray>z) == 0:
        return None
    ax[0] = plain_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>z))
    if ax[0] < 0 or plain_bias(bias, <cnp.ndarray>z, ax[0]) is None:
        return None
    return plain_activation_alpha(kind, alpha, <cnp.ndarray>z, axis)


def bias_act_fast(z, bias, int forward_op, str kind, alpha, axis, out):
    """bias_act's plain case (float32 or float64 z and bias of one dtype),
    or None."""
    cdef int ax
    cdef Slopes s = plain_bias_act(z, bias, kind, alpha, axis, &ax)
    if s is None:
        return None
    y = output_like(out, z, (z,))
    if y is None or not slopes_apart(s, y) or not apart(y, <cnp.ndarray>bias):
        return None
    _run_bias_act(z, cnp.PyArray_DATA(<cnp.ndarray>bias), y, ax, forward_op,
                  s.values if s.count else NULL, s.count)
    return y


def bias_act_backward_fast(dy, z, bias, int backward_op, str kind, alpha, axis, out):
    """bias_act_backward's plain case (float32 or float64 dy, z and bias of
    one dtype, alpha a float or a float array), or None."""
    cdef int ax
    cdef Slopes s
    cdef cnp.ndarray dbias, dalpha
    cdef bint slopes = kind == "slopes"
    if not (plain_float(dy) and plain_float(z)
            and cnp.PyArray_TYPE(<cnp.ndarray>dy) == cnp.PyArray_TYPE(<cnp.ndarray>z)
            and same_shape(dy, z)):
        return None
    s = plain_bias_act(z, bias, kind, alpha, axis, &ax)
    if s is None:
        return None
    dz = output_like(out, z, (dy, z))
    if dz is None or not slopes_apart(s, dz) or not apart(dz, <cnp.ndarray>bias):
        return None
    dbias = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(<cnp.ndarray>bias), cnp.NPY_FLOAT64, 0)
    dalpha = cnp.PyArray_EMPTY(1, &s.count, cnp.NPY_FLOAT64, 0)
    _run_bias_act_backward(dy, z, cnp.PyArray_DATA(<cnp.ndarray>bias), dz, ax, backward_op,
                           s.values if s.count else NULL, s.count, slopes,
                           <double *>cnp.PyArray_DATA(dbias),
                           <double *>cnp.PyArray_DATA(dalpha))
    if cnp.PyArray_TYPE(<cnp.ndarray>bias) != cnp.NPY_FLOAT64:
        dbias = dbias.astype((<cnp.ndarray>bias).dtype)
    if not slopes:
        return dz, dbias
    if type(alpha) is float:
        return dz, dbias, _float64((<double *>cnp.PyArray_DATA(dalpha))[0])
    if cnp.PyArray_TYPE(<cnp.ndarray>alpha) != cnp.NPY_FLOAT64:
        dalpha = dalpha.astype((<cnp.ndarray>alpha).dtype)
    return dz, dbias, dalpha


cdef int index_type(rk_intp k):
    """The smallest unsigned type holding 0 .. k-1."""
    if k <= 256:
        return cnp.NPY_UINT8
    if k <= 65536:
        return cnp.NPY_UINT16
    if k <= 4294967296:
        return cnp.NPY_UINT32
    return cnp.NPY_UINT64


def index_dtype(k):
    """maxout's idx dtype for groups of k (an int >= 1), or None if no
    unsigned dtype holds k - 1."""
    if k > 2**64:
        return None
    return cnp.PyArray_DescrFromType(index_type(min(k, 2**62)))


def maxout_fast(x, k, axis, out):
    """maxout's plain case, or None."""
    cdef rk_intp dims[MAX_DIMS]
    cdef int ax, d, t
    cdef rk_intp kk
    if not plain_float(x) or type(k) is not int or k <= 0:
        return None
    ax = plain_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>x))
    if ax < 0 or k > cnp.PyArray_DIMS(<cnp.ndarray>x)[ax]:
        return None
    kk = k
    for d in range(cnp.PyArray_NDIM(<cnp.ndarray>x)):
        dims[d] = cnp.PyArray_DIMS(<cnp.ndarray>x)[d]
    if dims[ax] % kk:
        return None
    dims[ax] //= kk
    t = cnp.PyArray_TYPE(<cnp.ndarray>x)
    if out is None:
        y = new_like(x, t, dims)
        idx = new_like(x, index_type(kk), dims)
    elif type(out) is tuple and len(out) == 2:
        y = plain_out(out[0], x, t, dims, (x,), False)
        if y is None:                   # (and idx cannot be checked against it)
            return None
        idx = plain_out(out[1], x, index_type(kk), dims, (x, y), False)
        if idx is not None and not apart(y, idx):
            return None
    else:
        return None
    if y is None or idx is None:
        return None
    run_maxout(x, kk, ax, y, idx)
    return y, idx


def maxout_backward_fast(dy, idx, k, axis, out):
    """maxout_backward's plain case, or None (also when idx holds a bad value:
    the checked way raises)."""
    cdef rk_intp dims[MAX_DIMS]
    cdef int ax, d, t
    cdef rk_intp kk
    if (not plain_float(dy) or type(idx) is not cnp.ndarray or type(k) is not int
            or k <= 0 or k > 4294967296):
        return None
    t = cnp.PyArray_TYPE(<cnp.ndarray>idx)
    if not (cnp.PyTypeNum_ISINTEGER(t) and cnp.PyArray_ISALIGNED(<cnp.ndarray>idx)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>idx) and same_shape(dy, idx)):
        return None
    ax = plain_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>dy))
    if ax < 0:
        return None
    kk = k
    for d in range(cnp.PyArray_NDIM(<cnp.ndarray>dy)):
        dims[d] = cnp.PyArray_DIMS(<cnp.ndarray>dy)[d]
    if dims[ax] > PY_SSIZE_T_MAX // kk:      # dx's axis: the checked way raises
        return None
    dims[ax] *= kk
    t = cnp.PyArray_TYPE(<cnp.ndarray>dy)
    dx = (new_like(dy, t, dims) if out is None
          else plain_out(out, dy, t, dims, (dy, idx), False))
    if dx is None or not run_maxout_backward(dy, idx, kk, ax, dx):
        return None
    return dx


# ---------------------------------------------------------------------------
# Optimisers: a step of a rule over every array of a parameter group
# ---------------------------------------------------------------------------
# rectkern.optim checks the hyperparameters; the arrays are checked here,
# every one before any is written, at C speed (a step over hundreds of
# small arrays must not cost more in checks than in updates).

from numpy import shares_memory as _shares_memory


RULES = {"sgd": RK_SGD, "adagrad": RK_ADAGRAD, "adadelta": RK_ADADELTA,
         "rmsprop": RK_RMSPROP, "adam": RK_ADAM}
HYPER_FIELDS = frozenset((
    "lr", "weight_decay", "decay_factor", "eps", "momentum", "dampening_complement", "decay",
    "decay_complement", "beta1", "one_minus_beta1", "beta2", "one_minus_beta2",
    "bias_correction2_sqrt", "flags"))
OPT_FLAGS = {"maximize": RK_OPT_MAXIMIZE, "weight_decay": RK_OPT_WEIGHT_DECAY,
             "decoupled": RK_OPT_DECOUPLED, "momentum": RK_OPT_MOMENTUM,
             "nesterov": RK_OPT_NESTEROV, "first_step": RK_OPT_FIRST_STEP,
             "centered": RK_OPT_CENTERED, "amsgrad": RK_OPT_AMSGRAD}


cdef str shape_text(cnp.ndarray a):
    return str((<object>a).shape)


cdef cnp.ndarray checked_array(str func, str name, Py_ssize_t i, object a,
                               int type_num, cnp.ndarray like, str like_name,
                               bint written):
    """a as an array of type_num and like's shape (like None: one of the
    float dtypes), or an error naming func, name[i] and what is wrong."""
    cdef cnp.ndarray arr
    cdef int t
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"{func}: {name}[{i}] must be a NumPy array, got {type(a).__name__}")
    arr = <cnp.ndarray>a
    t = cnp.PyArray_TYPE(arr)
    if like is None:
        if not (t == cnp.NPY_FLOAT16 or t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE) \
                or not cnp.PyArray_ISNOTSWAPPED(arr):
            raise TypeError(f"{func}: {name}[{i}] has dtype {arr.dtype}; "
                            "expected float16, float32 or float64 in native byte order")
    else:
        if t != type_num or not cnp.PyArray_ISNOTSWAPPED(arr):
            raise TypeError(
                f"{func}: {name}[{i}] has dtype {arr.dtype}, "
                f"expected {cnp.PyArray_DescrFromType(type_num)} "
                f"(for {like_name}[{i}] of dtype {like.dtype})")
        if not same_shape(arr, like):
            raise ValueError(f"{func}: {name}[{i}] has shape {shape_text(arr)}, expected "
                             f"{shape_text(like)} (the shape of {like_name}[{i}])")
    if written and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{func}: {name}[{i}] is read-only")
    if not cnp.PyArray_ISALIGNED(arr):
        raise ValueError(f"{func}: {name}[{i}] is not aligned to its dtype")
    return arr


cdef struct Span:
    char *lo
    char *hi
    Py_ssize_t role        # which list (0 params, 1 grads, 2... states)
    Py_ssize_t index       # position in it
    bint written


cdef int span_order(const void *a, const void *b) noexcept nogil:
    cdef const Span *x = <const Span *>a
    cdef const Span *y = <const Span *>b
    if x.lo != y.lo:
        return -1 if x.lo < y.lo else 1
    # ties by position: the same order on every run
    if x.role != y.role:
        return -1 if x.role < y.role else 1
    return -1 if x.index < y.index else (1 if x.index > y.index else 0)


cdef str array_name(tuple names, const Span *span):
    return f"{names[span.role]}[{span.index}]"


cdef void check_apart(str func, list lists, tuple names) except *:
    """ValueError if an array that is written (a parameter, a state) shares
    memory with any other; gradients (lists[1]), only read, may share theirs."""
    cdef Py_ssize_t n_arrays = sum(len(<list>a) for a in lists)
    cdef Span *spans = <Span *>PyMem_Malloc(max(n_arrays, 1) * sizeof(Span))
    cdef Py_ssize_t count = 0, role, i, j, k
    cdef const Span *first
    cdef const Span *second
    cdef cnp.ndarray a
    cdef char *reach = NULL
    if spans == NULL:
        raise MemoryError()
    try:
        for role in range(len(lists)):
            for i in range(len(<list>lists[role])):
                a = <cnp.ndarray>(<list>lists[role])[i]
                if cnp.PyArray_SIZE(a) == 0:
                    continue
                extent(a, &spans[count].lo, &spans[count].hi)
                spans[count].role = role
                spans[count].index = i
                spans[count].written = role != 1
                count += 1
        qsort(spans, count, sizeof(Span), span_order)
        for j in range(count):
            if j > 0 and spans[j].lo < reach:
                # its bounds meet an earlier array's: compare the elements
                for k in range(j):
                    if spans[k].hi <= spans[j].lo or not (spans[k].written or spans[j].written):
                        continue
                    first, second = &spans[k], &spans[j]
                    if (second.role, second.index) < (first.role, first.index):
                        first, second = second, first
                    if _shares_memory(lists[first.role][first.index],
                                      lists[second.role][second.index]):
                        raise ValueError(f"{func}: {array_name(names, first)} shares memory "
                                         f"with {array_name(names, second)}")
            if spans[j].hi > reach:
                reach = spans[j].hi
    finally:
        PyMem_Free(spans)


cdef struct OptimArray:
    rk_optim_fn *kernel
    cnp.npy_intp size
    bint contiguous                # every operand C-contiguous: one row
    int ndim
    # the shape, then each operand's strides: copies, in Step.layouts (the
    # arrays' own may change, or be freed, before the step runs)
    cnp.npy_intp *layout
    char *data[MAX_OPS]
    cnp.npy_intp itemsize[MAX_OPS]


cdef struct OptimCtx:
    rk_optim_fn *kernel
    const rk_optim_hyper *hyper
    int nops


cdef int optim_block(void *ctx_, const Plan *plan, char **ptrs) noexcept nogil:
    cdef OptimCtx *ctx = <OptimCtx *>ctx_
    cdef char *row[MAX_OPS]
    cdef rk_intp inner[MAX_OPS]
    cdef rk_intp o
    cdef int op
    for op in range(ctx.nops):
        inner[op] = plan.kernel_strides[op][2]
    for o in range(plan.block.n_outer):
        for op in range(ctx.nops):
            row[op] = ptrs[op] + o * plan.kernel_strides[op][0]
        ctx.kernel(ctx.hyper, plan.block.n_inner, row, inner)
    return 0


cdef void run_optim(const rk_optim_hyper *hyper, int nops, const OptimArray *arrays,
                    Py_ssize_t n) noexcept nogil:
    """The step over every array: contiguous ones in one kernel call, the
    others row by row."""
    cdef Py_ssize_t i
    cdef int op, d
    cdef Strides strides
    cdef Plan plan
    cdef OptimCtx ctx
    ctx.hyper, ctx.nops = hyper, nops
    for i in range(n):
        if arrays[i].size == 0:
            continue
        if arrays[i].contiguous:
            arrays[i].kernel(hyper, arrays[i].size, <char **>arrays[i].data,
                             arrays[i].itemsize)
            continue
        for op in range(nops):
            for d in range(arrays[i].ndim):
                strides.of[op][d] = arrays[i].layout[(op + 1) * arrays[i].ndim + d]
        make_plan(&plan, arrays[i].ndim, arrays[i].layout, -1, nops, &strides, 0)
        ctx.kernel = arrays[i].kernel
        walk(&plan, nops, <char **>arrays[i].data, optim_block, &ctx)


cdef class Step:
    """One checked step of a rule over a parameter group, ready to run."""
    cdef rk_optim_hyper hyper
    cdef OptimArray *arrays
    cdef cnp.npy_intp *layouts     # the OptimArrays' layout copies
    cdef Py_ssize_t n
    cdef int nops
    cdef list keep             # the arrays the kernels' data pointers point into

    def __dealloc__(self):
        PyMem_Free(self.arrays)
        PyMem_Free(self.layouts)

    def run(self):
        """The step, with the GIL released for all of it."""
        with nogil:
            run_optim(&self.hyper, self.nops, self.arrays, self.n)


cdef list checked_lists(str func, list lists, tuple names, Py_ssize_t first):
    """The arrays of lists (params, then grads, then states), each checked
    against its parameter; messages number them from ``first``."""
    cdef Py_ssize_t n = len(<list>lists[0]), i, role
    cdef int nops = len(lists), t
    cdef cnp.ndarray p
    cdef list checked = [[None] * n for _ in range(nops)]
    for i in range(n):
        p = checked_array(func, names[0], first + i, (<list>lists[0])[i], 0, None, "", True)
        checked[0][i] = p
        t = cnp.PyArray_TYPE(p)
        if nops > 1:
            checked[1][i] = checked_array(func, names[1], first + i, (<list>lists[1])[i],
                                          t, p, names[0], False)
        for role in range(2, nops):
            checked[role][i] = checked_array(func, names[role], first + i,
                                             (<list>lists[role])[i], compute_type(t), p,
                                             names[0], True)
    return checked


def check_params(str func, list params, str name="params"):
    """Arrays written in place (parameters, or the gradients clip_grad_norm
    scales): float arrays, writeable, aligned, none sharing memory with
    another; ``name`` is what the caller calls the list."""
    cdef list checked = checked_lists(func, [params], (name,), 0)
    check_apart(func, checked, (name,))


cdef inline bint span_of(cnp.ndarray a, char **lo, char **hi) noexcept:
    """a's bytes [lo, hi), or False for an empty array (no memory)."""
    if cnp.PyArray_SIZE(a) == 0:
        lo[0] = hi[0] = NULL
        return False
    extent(a, lo, hi)
    return True


cdef class WrittenMemory:
    """The memory an optimiser's steps write: its parameters and state,
    checked to share none, kept sorted so that each step checks only its
    gradients against them (a binary search each), not every array again.
    Arrays whose bounds interleave (a matrix's even and odd columns) share
    no memory but defeat the search: then every step checks all arrays.

    ``groups`` holds the parameter groups' lists, ``states`` every state's
    list; both are the optimiser's own lists.  A step passes the groups'
    lists again: if a parameter's memory has changed since (the lists were
    edited), everything is checked and sorted anew.
    """
    cdef Span *spans
    cdef Py_ssize_t count, n_params
    cdef char **param_bounds        # each parameter's lo, hi, as last checked
    cdef bint interleaved           # some bounds meet: no binary search
    cdef list states
    cdef tuple names

    def __cinit__(self, str func, list groups, list states, tuple names):
        self.states, self.names = states, names
        self.build(func, groups)

    def __dealloc__(self):
        PyMem_Free(self.spans)
        PyMem_Free(self.param_bounds)

    cdef void build(self, str func, list groups) except *:
        cdef list params = [p for group in groups for p in group]
        cdef list lists = [params, []] + self.states
        cdef Py_ssize_t i, total = sum(len(<list>a) for a in lists)
        cdef cnp.ndarray a
        cdef Span *spans
        cdef char **bounds
        check_apart(func, lists, self.names)
        spans = <Span *>PyMem_Malloc(max(total, 1) * sizeof(Span))
        bounds = <char **>PyMem_Malloc(max(2 * len(params), 1) * sizeof(char *))
        if spans == NULL or bounds == NULL:
            PyMem_Free(spans)
            PyMem_Free(bounds)
            raise MemoryError()
        PyMem_Free(self.spans)
        PyMem_Free(self.param_bounds)
        self.spans, self.param_bounds = spans, bounds
        self.count, self.n_params = 0, len(params)
        for role in range(len(lists)):
            for i in range(len(<list>lists[role])):
                a = <cnp.ndarray>(<list>lists[role])[i]
                if role == 0:
                    span_of(a, &self.param_bounds[2 * i], &self.param_bounds[2 * i + 1])
                if span_of(a, &self.spans[self.count].lo, &self.spans[self.count].hi):
                    self.spans[self.count].role = role
                    self.spans[self.count].index = i
                    self.spans[self.count].written = True
                    self.count += 1
        qsort(self.spans, self.count, sizeof(Span), span_order)
        self.interleaved = False
        for i in range(1, self.count):
            self.interleaved = self.interleaved or self.spans[i].lo < self.spans[i - 1].hi

    def check(self, str func, list groups, list grads):
        """ValueError if a gradient shares memory with a parameter or a
        state array.  The arrays have been checked by prepare_step."""
        cdef Py_ssize_t i = 0, k, first, last, middle
        cdef char *lo
        cdef char *hi
        cdef bint moved = False
        cdef Span *span
        for group in groups:
            for p in group:
                if i >= self.n_params:
                    moved = True
                    break
                span_of(<cnp.ndarray>p, &lo, &hi)
                moved = moved or lo != self.param_bounds[2 * i] or hi != self.param_bounds[2 * i + 1]
                i += 1
        if moved or i != self.n_params:
            self.build(func, groups)
        if self.interleaved:
            lists = [[p for group in groups for p in group], grads] + self.states
            check_apart(func, lists, self.names)
            return
        params = None
        for i in range(len(grads)):
            if not span_of(<cnp.ndarray>grads[i], &lo, &hi):
                continue
            # the first span ending after lo: spans are disjoint, so sorted by
            # their ends too
            first, last = 0, self.count
            while first < last:
                middle = (first + last) // 2
                if self.spans[middle].hi <= lo:
                    first = middle + 1
                else:
                    last = middle
            k = first
            while k < self.count and self.spans[k].lo < hi:
                span = &self.spans[k]
                if params is None:
                    params = [p for group in groups for p in group]
                written = params if span.role == 0 else self.states[span.role - 2]
                if _shares_memory(written[span.index], grads[i]):
                    raise ValueError(f"{func}: {array_name(self.names, span)} shares memory "
                                     f"with grads[{i}]")
                k += 1


def prepare_step(str func, str rule, dict hyper, list lists, tuple names,
                 Py_ssize_t first=0, bint check_memory=True):
    """A Step of ``rule`` (a key of RULES) over every parameter.

    ``lists`` holds the params, the grads and each state's arrays (lists of
    one length, the caller has checked), ``names`` what the caller calls
    each list, ``hyper`` the fields of rk_optim_hyper (absent ones are 0).
    Every array is checked here (check_memory: their overlaps too), so that
    running the Step cannot fail.
    """
    cdef Step step = Step.__new__(Step)
    cdef Py_ssize_t n = len(<list>lists[0]), i, used = 0
    cdef int nops = len(lists), op, code, d, nd
    cdef cnp.ndarray p, a
    cdef OptimArray *array
    if not 2 <= nops <= MAX_OPS:
        raise ValueError(f"internal: {nops} operands")
    for op in range(nops):
        if len(<list>lists[op]) != n:      # the loops below index every list up to n
            raise ValueError(f"internal: {names[op]} has {len(<list>lists[op])} arrays, not {n}")
    unknown = set(hyper) - HYPER_FIELDS
    if unknown:
        raise ValueError(f"internal: unknown fields {sorted(unknown)}")
    code = RULES[rule]
    step.keep = checked_lists(func, lists, names, first)
    if check_memory:
        check_apart(func, step.keep, names)

    step.hyper.lr = hyper.get("lr", 0.0)
    step.hyper.weight_decay = hyper.get("weight_decay", 0.0)
    step.hyper.decay_factor = hyper.get("decay_factor", 0.0)
    step.hyper.eps = hyper.get("eps", 0.0)
    step.hyper.momentum = hyper.get("momentum", 0.0)
    step.hyper.dampening_complement = hyper.get("dampening_complement", 0.0)
    step.hyper.decay = hyper.get("decay", 0.0)
    step.hyper.decay_complement = hyper.get("decay_complement", 0.0)
    step.hyper.beta1 = hyper.get("beta1", 0.0)
    step.hyper.one_minus_beta1 = hyper.get("one_minus_beta1", 0.0)
    step.hyper.beta2 = hyper.get("beta2", 0.0)
    step.hyper.one_minus_beta2 = hyper.get("one_minus_beta2", 0.0)
    step.hyper.bias_correction2_sqrt = hyper.get("bias_correction2_sqrt", 0.0)
    step.hyper.flags = hyper.get("flags", 0)

    step.n, step.nops = n, nops
    step.arrays = <OptimArray *>PyMem_Malloc(max(n, 1) * sizeof(OptimArray))
    step.layouts = <cnp.npy_intp *>PyMem_Malloc(
        max(sum(cnp.PyArray_NDIM(<cnp.ndarray>q) for q in step.keep[0]), 1)
        * (nops + 1) * sizeof(cnp.npy_intp))
    if step.arrays == NULL or step.layouts == NULL:
        raise MemoryError()
    for i in range(n):
        p = <cnp.ndarray>step.keep[0][i]
        array = &step.arrays[i]
        nd = cnp.PyArray_NDIM(p)
        array.kernel = kernels.optim[code][float_code(p)]
        array.size = cnp.PyArray_SIZE(p)
        array.ndim = nd
        array.layout = step.layouts + used
        used += (nops + 1) * nd
        array.contiguous = True
        for d in range(nd):
            array.layout[d] = cnp.PyArray_DIMS(p)[d]
        for op in range(nops):
            a = <cnp.ndarray>step.keep[op][i]
            array.data[op] = <char *>cnp.PyArray_DATA(a)
            array.itemsize[op] = cnp.PyArray_ITEMSIZE(a)
            array.contiguous = array.contiguous and cnp.PyArray_IS_C_CONTIGUOUS(a)
            for d in range(nd):
                array.layout[(op + 1) * nd + d] = cnp.PyArray_STRIDES(a)[d]
    return step


cdef struct SquaresArray:
    rk_sum_squares_fn *kernel
    char *data
    rk_intp size, itemsize
    bint contiguous
    int ndim
    rk_intp *layout            # the shape, then the strides: copies (as OptimArray's)


cdef void sum_squares_of(const SquaresArray *array, rk_binned *sum) noexcept nogil:
    """One array's squares into the sum, a row of its last axis at a time
    where it is not C-contiguous."""
    cdef rk_intp counter[MAX_DIMS]
    cdef const rk_intp *dims = array.layout
    cdef const rk_intp *steps = array.layout + array.ndim
    cdef char *ptr = array.data
    cdef int nd = array.ndim, d
    if array.contiguous:
        array.kernel(array.size, ptr, array.itemsize, sum)
        return
    for d in range(nd):
        counter[d] = 0
    while True:
        array.kernel(dims[nd - 1], ptr, steps[nd - 1], sum)
        d = nd - 2
        while d >= 0:
            counter[d] += 1
            ptr += steps[d]
            if counter[d] < dims[d]:
                break
            ptr -= steps[d] * dims[d]
            counter[d] = 0
            d -= 1
        if d < 0:
            return


def sum_squares(str func, list arrays, str name):
    """The sum of the squares of every element, each square in float64, the
    sum exact and rounded once (rectkern's one summation): the same bits in
    any order, layout or split, at every level.  One release of the GIL for
    all the arrays."""
    cdef rk_exact total
    cdef rk_binned binned
    cdef double bins[4 * RK_SUM_LANES]
    cdef double value
    cdef Py_ssize_t n = len(arrays), i, used = 0
    cdef int nd, d
    cdef cnp.ndarray a
    cdef SquaresArray *records
    cdef rk_intp *layouts
    cdef list checked = [checked_array(func, name, i, arrays[i], 0, None, "", False)
                         for i in range(n)]
    records = <SquaresArray *>PyMem_Malloc(max(n, 1) * sizeof(SquaresArray))
    layouts = <rk_intp *>PyMem_Malloc(
        max(sum(cnp.PyArray_NDIM(<cnp.ndarray>q) for q in checked), 1) * 2 * sizeof(rk_intp))
    try:
        if records == NULL or layouts == NULL:
            raise MemoryError()
        for i in range(n):
            a = <cnp.ndarray>checked[i]
            nd = cnp.PyArray_NDIM(a)
            records[i].kernel = kernels.sum_squares[float_code(a)]
            records[i].data = <char *>cnp.PyArray_DATA(a)
            records[i].size = cnp.PyArray_SIZE(a)
            records[i].itemsize = cnp.PyArray_ITEMSIZE(a)
            records[i].contiguous = nd == 0 or cnp.PyArray_IS_C_CONTIGUOUS(a)
            records[i].ndim = nd
            records[i].layout = layouts + used
            for d in range(nd):
                records[i].layout[d] = cnp.PyArray_DIMS(a)[d]
                records[i].layout[nd + d] = cnp.PyArray_STRIDES(a)[d]
            used += 2 * nd
        memset(&total, 0, sizeof(rk_exact))
        rk_binned_init(&binned, RK_SUM_LANES, bins, &total, 1)
        with nogil:
            for i in range(n):
                if records[i].size > 0:
                    sum_squares_of(&records[i], &binned)
            rk_binned_empty(&binned)
            value = rk_exact_value(&total)
    finally:
        PyMem_Free(records)
        PyMem_Free(layouts)
    return value
