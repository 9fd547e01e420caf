"""Fuzz every public op of rectkern, and its optimisers, against their NumPy twins.

    python tools/fuzz.py [--minutes M] [--seed S] [--batch N] [--only all|ops|optim]

Hypothesis draws calls of every op (each ufunc of the registry,
``rectkern._ext.ELEMENTWISE``, and prelu, prelu_backward, bias_act,
bias_act_backward, maxout, maxout_backward) with random shapes (0-d to 5-d, empty axes included),
dtypes (float16/32/64, and bool and integers, which are cast as ``np.exp``
casts them), byte orders, memory layouts (C, Fortran, permuted axes, steps,
negative strides, zero strides from broadcasting, misaligned data), channel
axes, k, alpha shapes and values, idx contents and ``out`` arrays (fresh, in
other layouts, byte-swapped, misaligned, the input itself, or overlapping an
input partly).  Values mix normal numbers with the contract's edge values
(NaN, +-0, +-inf, subnormals, the largest finite).

A valid call must return what the twin in ``rectkern._reference`` returns,
bit for bit (the smooth family within ``SMOOTH_ULPS`` of tests/_arrays.py;
bias_act and its backward as the activation's own op on ``z + bias``, and
the exact sums), in ``out`` when one is given.  A call spoiled by one of the mutations below must raise the
contract's exception, with a message naming the op for rectkern's own
checks.  Either way no input other than ``out`` may change.  Batches of
calls run under new seeds until the time is up; the first failure stops the
run with the shrunk call and exit status 1.  ``tools/sanitize.sh fuzz`` runs
it against a build instrumented with AddressSanitizer and UBSan.

Half the calls are of ``rectkern.optim`` (``--only`` picks one half): a
function on explicit state (``sgd_step`` ... ``adamw_step``) or a class
(``SGD`` ... ``AdamW``) taking one to four steps, with the rule's options
drawn (maximize, weight_decay zero or not, SGD momentum, dampening and
nesterov, RMSprop momentum and centered, Adam amsgrad, Adagrad lr_decay
and initial_accumulator_value, a step number 1 to 5), hyperparameters
from their ranges given as floats, ints or NumPy scalars (or left to
their defaults), one to six parameters of a float dtype (mixed now and
then), shapes 0-d to 5-d with empty axes, in random layouts: parameters
and state C, Fortran, permuted, stepped or reversed, now and then
interleaved in one buffer with their gradient and state; gradients also
broadcast (zero strides, read-only) or one given twice.  Values mix
normal numbers with the edge values (averages of squares kept >= 0).
The classes run in parameter groups of their own hyperparameters now
and then, with a schedule replacing one between steps.  After every
call or step, each parameter and state array must have the bits of the
*_step twin's run on copies (the classes' twin keeps its state here), at
the step count expected, and no gradient may have changed.  A spoiled
call (a gradient of the wrong shape or dtype, the parameter itself or a
view of it or of a state, byte-swapped or misaligned; a wrong count of
gradients; a read-only, byte-swapped, misaligned, integer or overlapping
parameter; a negative lr, a NaN eps, a beta of 1, a decay out of [0, 1],
nesterov without momentum; a state array of the wrong dtype or shape,
read-only, sharing memory, missing or not used; a step < 1) must raise
TypeError (dtypes, non-arrays) or ValueError (the rest), its message
starting with the function's name, the class's (construction) or
``Class.step:``, and leave every array's bytes as they were; a class
then steps on as if the spoiled step had not been tried.
``clip_grad_norm`` is fuzzed the same way: its norm ``==`` the twin's
(or both NaN), the gradients the twin's bits.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from numpy.exceptions import AxisError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests._arrays

import rectkern as rk                                          # noqa: E402
from rectkern import _reference as ref                         # noqa: E402
from rectkern import optim                                     # noqa: E402
from tests._arrays import (ELEMENTWISE, assert_matches_twin, assert_same,   # noqa: E402
                           bias_act_expected)

FLOATS = ("float16", "float32", "float64")
CAST = ("bool", "int8", "uint8", "int32", "int64")             # accepted, cast
OPS = {op.name: op for op in ELEMENTWISE}                    # the registry's rows
UFUNCS = tuple(OPS)
FUSED = ("prelu", "prelu_backward", "maxout", "maxout_backward", "bias_act",
         "bias_act_backward")
BIAS = ("bias_act", "bias_act_backward")
RANDOM = ("rrelu", "rrelu_backward")                        # keyed by seed, no axis
INDEX_DTYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
EDGES = (0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, 1e-40, 6e-8,
         65504.0, 3.4e38, 1.7e308)

# What each mutation must raise (numpy's AxisError is a ValueError too, so it
# is checked by type first).
MUTATIONS = {
    "complex input": TypeError,
    "object input": TypeError,
    "string input": TypeError,
    "non-array input": TypeError,
    "complex alpha": TypeError,
    "axis out of range": AxisError,
    "axis not an integer": TypeError,
    "alpha wrong length": ValueError,
    "alpha 2-d": ValueError,
    "k not dividing": ValueError,
    "k not positive": ValueError,
    "k not an integer": TypeError,
    "k huge": ValueError,
    "idx out of range": ValueError,
    "idx not integer": TypeError,
    "shapes differ": ValueError,
    "out read-only": ValueError,
    "out wrong dtype": TypeError,
    "out wrong shape": ValueError,
    "bounds reversed": ValueError,
    "seed negative": ValueError,
    "seed missing": TypeError,
    "unknown activation": ValueError,
    "bias wrong length": ValueError,
}
APPLIES = {
    "complex input": set(UFUNCS) | set(FUSED) | set(RANDOM),
    "object input": set(UFUNCS) | set(FUSED) | set(RANDOM),
    "string input": set(UFUNCS) | set(FUSED) | set(RANDOM),
    "non-array input": set(UFUNCS) | set(FUSED) | set(RANDOM),
    "complex alpha": {name for name, op in OPS.items() if op.params}
                     | {"prelu", "prelu_backward"},
    "unknown activation": set(BIAS),
    "bias wrong length": set(BIAS),
    "axis out of range": set(FUSED),
    "axis not an integer": set(FUSED),
    "alpha wrong length": {"prelu", "prelu_backward"},
    "alpha 2-d": {"prelu", "prelu_backward"},
    "k not dividing": {"maxout"},
    "k not positive": {"maxout", "maxout_backward"},
    "k not an integer": {"maxout", "maxout_backward"},
    "k huge": {"maxout"},
    "idx out of range": {"maxout_backward"},
    "idx not integer": {"maxout_backward"},
    "shapes differ": {"prelu_backward", "maxout_backward", "rrelu_backward",
                      "bias_act_backward"},                        # ufuncs broadcast
    "out read-only": set(UFUNCS) | set(FUSED) | set(RANDOM),
    "out wrong dtype": set(UFUNCS) | set(FUSED) | set(RANDOM),
    "out wrong shape": set(UFUNCS) | set(FUSED) | set(RANDOM),
    "bounds reversed": set(RANDOM),
    "seed negative": set(RANDOM),
    "seed missing": {"rrelu_backward"},
}

ops_tried = collections.Counter()          # calls per op
outcomes = collections.Counter()           # "valid", or the exception raised


# ---------------------------------------------------------------------------
# Arrays: values, then a memory layout holding them
# ---------------------------------------------------------------------------

def _values(rng, shape, dtype):
    data = np.array(rng.standard_normal(shape) * 3)
    if rng.random() < 0.7:
        mask = rng.random(shape) < rng.choice([0.05, 0.3, 0.9])
        data[mask] = rng.choice(np.array(EDGES), size=int(mask.sum())) * \
            rng.choice([-1.0, 1.0], size=int(mask.sum()))
    if np.dtype(dtype).kind in "biu":
        data = np.nan_to_num(np.clip(data, -100, 100))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return np.asarray(data.astype(dtype))


def _buffer_view(shape, dtype, offset_bytes):
    """A writeable array of shape and dtype at a byte offset of a fresh buffer."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    buf = np.zeros(nbytes + offset_bytes + dtype.itemsize, np.uint8)
    return np.ndarray(shape, dtype, buffer=buf, offset=offset_bytes)


def _in_layout(rng, data, layout):
    """The values of ``data`` in ``layout`` (a view that may be read-only)."""
    shape, dtype = data.shape, data.dtype
    if layout == "broadcast" and data.ndim:
        # constant along some axes: a size-1 array broadcast with stride 0
        axes = [d for d in range(data.ndim) if rng.random() < 0.5] or [0]
        small = data[tuple(slice(0, 1) if d in axes else slice(None) for d in range(data.ndim))]
        return np.broadcast_to(small.copy(), shape)
    if layout == "permuted" and data.ndim > 1:
        order = rng.permutation(data.ndim)
        out = np.empty([shape[d] for d in order], dtype).transpose(np.argsort(order))
    elif layout == "F":
        out = np.empty(shape, dtype, order="F")
    elif layout == "steps" and data.ndim:
        steps = [int(rng.choice([1, 2, 3, -1, -2])) for _ in shape]
        base = np.empty([max(n, 1) * abs(s) for n, s in zip(shape, steps)], dtype)
        out = base[tuple(slice(None, n * s, s) if s > 0 else slice(n * -s - 1, None, s)
                         if n else slice(0, 0) for n, s in zip(shape, steps))]
        out = out[tuple(slice(0, n) for n in shape)]
    elif layout == "byte-swapped":
        out = np.empty(shape, dtype.newbyteorder())
    elif layout == "misaligned" and dtype.itemsize > 1:
        out = _buffer_view(shape, dtype, 1)
    else:
        out = np.empty(shape, dtype)
    out[...] = data
    return out


LAYOUTS = ("C", "C", "F", "permuted", "steps", "broadcast", "byte-swapped", "misaligned")
OUT_LAYOUTS = tuple(lay for lay in LAYOUTS if lay != "broadcast")   # writeable


# ---------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------

def _shape(rng, size_class):
    ndim = int(rng.choice([0, 1, 2, 3, 4, 5], p=[0.05, 0.2, 0.3, 0.25, 0.15, 0.05]))
    cap = {"small": 6, "medium": 20, "large": 70}[size_class]
    shape = [int(rng.integers(0 if rng.random() < 0.05 else 1, cap)) for _ in range(ndim)]
    while math.prod(shape) > 20000:
        shape[int(np.argmax(shape))] //= 2
    return tuple(shape)


class Call:
    """One drawn call: the op, its arguments, and what must come of it."""

    def __init__(self, op, args, kwargs, twin_args, twin_kwargs, mutation):
        self.op, self.args, self.kwargs = op, args, kwargs
        self.twin_args, self.twin_kwargs = twin_args, twin_kwargs
        self.mutation = mutation

    def __repr__(self):
        def show(a):
            if isinstance(a, np.ndarray):
                return (f"array(shape={a.shape}, dtype={a.dtype}, strides={a.strides}, "
                        f"writeable={a.flags.writeable}, values={a.ravel()[:8].tolist()}...)")
            if isinstance(a, tuple):
                return "(" + ", ".join(map(show, a)) + ")"
            return repr(a)
        kwargs = ", ".join(f"{k}={show(v)}" for k, v in self.kwargs.items())
        return (f"rk.{self.op}({', '.join(map(show, self.args))}, {kwargs})"
                f"  mutation: {self.mutation}")


@st.composite
def calls(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**63)))
    op = draw(st.sampled_from(UFUNCS + FUSED + RANDOM))
    mutation = draw(st.sampled_from([None] * 30 + sorted(m for m in MUTATIONS
                                                         if op in APPLIES[m])))
    size_class = draw(st.sampled_from(["small", "medium", "large"]))
    dtype = draw(st.sampled_from(FLOATS * 4 + CAST))
    layout = lambda: draw(st.sampled_from(LAYOUTS))             # noqa: E731
    shape = _shape(rng, size_class)
    axis = int(rng.integers(-len(shape), len(shape))) if shape else 0
    kwargs, twin_kwargs = {}, {}

    if op in ("maxout", "maxout_backward", *BIAS) and not shape:     # 0-d has no axis
        shape, axis = (int(rng.integers(1, 5)),), 0
    if op == "maxout":
        # the channel axis a multiple of k (0 included), the rest cut to fit
        k = int(rng.choice([1, 2, 3, 4, 5, 8, 256, 257]))
        shape = list(shape)
        shape[axis] = shape[axis] // k * k if rng.random() < 0.1 else max(1, shape[axis] // k) * k
        for d in range(len(shape)):
            if d != axis % len(shape) and shape[d]:
                shape[d] = max(1, min(shape[d], 40000 // max(1, math.prod(shape) // shape[d])))
        shape = tuple(shape)
    x = _in_layout(rng, _values(rng, shape, dtype), layout())
    dy_dtype = draw(st.sampled_from((dtype,) * 3 + FLOATS))

    if op in ("prelu", "maxout", "rrelu", "bias_act") or (op in OPS and OPS[op].inputs == ("x",)):
        args = [x]
    elif op == "maxout_backward":
        k = int(rng.choice([1, 2, 3, 4, 7, 300]))
        group_shape = shape
        index_dtype = draw(st.sampled_from(INDEX_DTYPES))
        high = min(k, np.iinfo(index_dtype).max + 1)
        idx = _in_layout(rng, rng.integers(0, high, group_shape).astype(index_dtype), layout())
        dy = _in_layout(rng, _values(rng, group_shape, dy_dtype), layout())
        args = [dy, idx, k]
    else:
        dy_shape = shape
        if op in UFUNCS and shape and rng.random() < 0.2:
            # a dy that broadcasts against x: dims of 1, leading dims left out
            dy_shape = tuple(1 if rng.random() < 0.3 else n for n in shape)
            dy_shape = dy_shape[int(rng.integers(0, len(shape) + 1)):]
        args = [_in_layout(rng, _values(rng, dy_shape, dy_dtype), layout()), x]

    if op in OPS:
        # alpha, in the forms a user gives it; an infinite ELU alpha times an
        # exponential below float64's range has no specified result
        infinite = [np.inf] if OPS[op].family == "rectifier" else []
        for _ in OPS[op].params:
            args.append(draw(st.sampled_from([0.01, -1.0, 0.0, np.nan, 2.5, *infinite,
                                              np.float16(0.3), np.array(0.2, np.float32)])))
    if op in ("prelu", "prelu_backward"):
        channels = shape[axis] if shape else 1
        form = draw(st.sampled_from(["channels", "channels", "scalar", "one"]))
        alpha = _values(rng, (channels,), draw(st.sampled_from(FLOATS + ("int64",))))
        alpha = {"channels": alpha, "scalar": 0.25, "one": alpha[:1]}[form]
        args.append(alpha)
    if op in BIAS:
        # bias, then the activation; dy of x's shape (no broadcasting)
        if op == "bias_act_backward":
            args[0] = _in_layout(rng, _values(rng, shape, dy_dtype), layout())
        args.append(_values(rng, (shape[axis],), draw(st.sampled_from(FLOATS + ("int64",)))))
        activation = draw(st.sampled_from(sorted(ref.BIAS_ACTIVATIONS)))
        args.append(activation)
        if ref.BIAS_ACTIVATIONS[activation][2]:
            alpha = draw(st.sampled_from([0.01, -1.0, 0.0, 0.25]))
            if activation == "prelu" and rng.random() < 0.6:
                alpha = _values(rng, (shape[axis],), draw(st.sampled_from(FLOATS)))
            kwargs["alpha"] = twin_kwargs["alpha"] = alpha
    if op == "maxout":
        args.append(k)
    if op in FUSED:
        kwargs["axis"] = twin_kwargs["axis"] = axis
    if op in RANDOM:                     # the slopes' range, the key, the mode
        lower = draw(st.sampled_from([0.0, 1 / 8, 0.25, -1.0]))
        upper = lower + draw(st.sampled_from([0.0, 1 / 5, 1.0, 3.0]))
        # spoiled calls in training: in evaluation the ops are leaky_relu's ufuncs
        training = mutation is not None or draw(st.sampled_from([True, True, True, False]))
        kwargs.update(lower=lower, upper=upper, seed=int(rng.integers(0, 2**63)),
                      training=training)
        twin_kwargs.update(kwargs)

    args, kwargs = _mutate(rng, op, args, kwargs, mutation)
    twin_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    if mutation is None:
        _add_out(draw, rng, op, args, kwargs, twin_args)
    elif mutation.startswith("out"):
        _add_bad_out(rng, op, args, kwargs, mutation)
    return Call(op, tuple(args), kwargs, tuple(twin_args), twin_kwargs, mutation)


def _mutate(rng, op, args, kwargs, mutation):
    """Spoil a valid call the way ``mutation`` names (None: leave it valid)."""
    args = list(args)
    if mutation in ("complex input", "object input", "string input", "non-array input"):
        a = args[0]
        args[0] = {"complex input": lambda: a.astype(complex),
                       "object input": lambda: a.astype(object),
                       "string input": lambda: a.astype(str),
                       "non-array input": lambda: {"values": a}}[mutation]()
    elif mutation == "complex alpha":
        args[-1] = np.asarray(args[-1]).astype(complex)
    elif mutation == "axis out of range":
        ndim = np.ndim(args[-2] if op in ("prelu", "prelu_backward") else args[0])
        kwargs["axis"] = int(rng.choice([ndim, ndim + 3, -ndim - 1, 10**6]))
        if op in ("prelu", "prelu_backward"):
            args[-1] = np.ones(3)                  # per-channel, so the axis is used
    elif mutation == "axis not an integer":
        kwargs["axis"] = [1.0, "1", None][rng.integers(3)]
        if op in ("prelu", "prelu_backward"):
            args[-1] = np.ones(3)
    elif mutation == "alpha wrong length":
        x = args[-2]
        if x.ndim == 0:
            return _mutate(rng, op, args, kwargs, "alpha 2-d")
        # at least 2 values (one would be a shared alpha), and not the channels
        args[-1] = np.ones(x.shape[kwargs["axis"]] + int(rng.integers(2, 4)))
    elif mutation == "alpha 2-d":
        args[-1] = np.ones((2, 2))
    elif mutation == "k not dividing":
        x = args[0]
        if x.ndim == 0 or x.shape[kwargs["axis"]] == 0:     # every k divides 0
            return _mutate(rng, op, args, kwargs, "k not positive")
        args[1] = x.shape[kwargs["axis"]] + 1
    elif mutation == "k not positive":
        args[1 if op == "maxout" else 2] = [0, -1, -(2**70)][rng.integers(3)]
    elif mutation == "k not an integer":
        args[1 if op == "maxout" else 2] = [2.0, "2", True, None][rng.integers(4)]
    elif mutation == "k huge":
        args[1] = 2**70
    elif mutation == "idx out of range":
        idx, k = np.array(args[1]), args[2]                       # a writeable copy
        signed = idx.dtype.kind == "i"
        if idx.size == 0 or (not signed and np.iinfo(idx.dtype).max < k):
            return _mutate(rng, op, args, kwargs, "k not positive")
        too_big = np.iinfo(idx.dtype).max >= k and (not signed or rng.random() < 0.5)
        idx.flat[int(rng.integers(idx.size))] = k if too_big else -1
        args[1] = idx
    elif mutation == "idx not integer":
        args[1] = np.asarray(args[1]).astype(["float64", "bool"][rng.integers(2)])
    elif mutation == "bounds reversed":
        kwargs["lower"], kwargs["upper"] = 0.5, 0.25
    elif mutation == "seed negative":
        kwargs["seed"], kwargs["training"] = -1, True
    elif mutation == "seed missing":
        kwargs.pop("seed")
        kwargs["training"] = True
    elif mutation == "unknown activation":
        args[-1] = ["tanh", "ReLU", "", "swish"][rng.integers(4)]
    elif mutation == "bias wrong length":
        args[-2] = np.ones(np.asarray(args[-2]).shape[0] + int(rng.integers(1, 3)))
    elif mutation == "shapes differ":
        a = np.asarray(args[0])
        args[0] = np.ones(a.shape + (2,), a.dtype if a.dtype.kind == "f" else np.float64)
    return args, kwargs


def _result_shapes(op, args, kwargs):
    """The shapes and dtypes of a valid call's results (out's, in order)."""
    if op in BIAS:
        arrays = [np.asarray(a) for a in args[:3 if op == "bias_act_backward" else 2]]
        return [(arrays[-2].shape, ref.result_dtype(*arrays))]
    if op in UFUNCS or op in ("prelu", "prelu_backward") or op in RANDOM:
        inputs = len(OPS[op].inputs) if op in OPS else 1 + op.endswith("backward")
        arrays = [np.asarray(a) for a in args[:inputs]]
        return [(np.broadcast_shapes(*(a.shape for a in arrays)), ref.result_dtype(*arrays))]
    if op == "maxout":
        x, k = args[0], args[1]
        shape = list(x.shape)
        shape[kwargs["axis"]] //= k
        return [(tuple(shape), ref.result_dtype(x)), (tuple(shape), ref._index_dtype(k))]
    dy, k = args[0], args[2]
    shape = list(dy.shape)
    shape[kwargs["axis"]] *= k
    return [(tuple(shape), ref.result_dtype(dy))]


def _add_out(draw, rng, op, args, kwargs, twin_args):
    """Maybe an ``out`` for a valid call: fresh, in another layout, or sharing
    memory with an input (the very input, or partly overlapping it)."""
    kind = draw(st.sampled_from(["none", "none", "fresh", "layout", "input", "overlap"]))
    shapes = _result_shapes(op, args, kwargs)
    outs = []
    for n, (shape, dtype) in enumerate(shapes):
        out = None
        if kind == "fresh":
            out = np.empty(shape, dtype)
        elif kind == "layout":
            out = _in_layout(rng, np.zeros(shape, dtype), draw(st.sampled_from(OUT_LAYOUTS)))
        elif kind in ("input", "overlap") and n == 0:
            candidates = [i for i, a in enumerate(args[:2])
                          if isinstance(a, np.ndarray) and a.flags.writeable]
            if candidates:
                i = int(rng.choice(candidates))
                out = _sharing(rng, args, twin_args, i, shape, dtype, exact=(kind == "input"))
        outs.append(out)
    if all(o is None for o in outs):
        return
    if op == "maxout":
        kwargs["out"] = tuple(outs)
    else:
        kwargs["out"] = outs[0]


def _sharing(rng, args, twin_args, i, shape, dtype, exact):
    """An ``out`` in the memory of ``args[i]``: the array itself where shape and
    dtype allow, or else a buffer holding both, out shifted against the input."""
    a = args[i]
    if exact and a.shape == shape and a.dtype == dtype:
        return a
    itemsize = np.dtype(dtype).itemsize
    shift = int(rng.integers(0, 4)) * itemsize
    size = max(a.nbytes, math.prod(shape) * itemsize) + 2 * shift + 16
    buf = np.zeros(size, np.uint8)
    moved = np.ndarray(a.shape, a.dtype, buffer=buf, offset=0)
    moved[...] = a
    args[i] = moved
    twin_args[i] = moved.copy()
    return np.ndarray(shape, dtype, buffer=buf, offset=shift)


def _add_bad_out(rng, op, args, kwargs, mutation):
    (shape, dtype), *_ = _result_shapes(op, args, kwargs)
    if mutation == "out wrong shape" and op in UFUNCS:
        # a ufunc broadcasts its inputs to out's shape: only a longer axis
        # that is not 1 in the inputs cannot be
        if not shape or shape[-1] <= 1:
            mutation = "out read-only"
        else:
            shape = shape[:-1] + (shape[-1] + 1,)
    if mutation == "out read-only":
        out = np.zeros(shape, dtype)
        out.flags.writeable = False
    elif mutation == "out wrong dtype":
        # a ufunc casts its result to complex out as it may: integers it may not
        out = np.zeros(shape, np.int32 if op in UFUNCS or rng.random() < 0.5 else np.complex64)
    elif mutation == "out wrong shape" and op in UFUNCS:
        out = np.zeros(shape, dtype)
    else:
        out = np.zeros(tuple(n + 1 for n in shape) or (2,), dtype)
    kwargs["out"] = (out, None) if op == "maxout" else out


# ---------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------

def _snapshot(args):
    """Each array argument with a copy of it (``out`` is a keyword)."""
    return [(a, a.copy()) for a in args if isinstance(a, np.ndarray)]


def _unchanged(original, copy):
    """The same bytes (the same objects, for an object array)."""
    if original.dtype.kind == "O":
        return all(a is b for a, b in zip(original.ravel(), copy.ravel()))
    return np.ascontiguousarray(original).tobytes() == np.ascontiguousarray(copy).tobytes()


def _outs(kwargs):
    out = kwargs.get("out")
    return list(out) if isinstance(out, tuple) else [out]


def check(call):
    op = getattr(rk, call.op)
    inputs = _snapshot(call.args)
    if call.mutation is not None:
        expected = MUTATIONS[call.mutation]
        try:
            op(*call.args, **call.kwargs)
        except expected as exc:
            if call.op in FUSED + RANDOM and not isinstance(exc, AxisError) \
                    and not str(exc).startswith(call.op):
                raise AssertionError(f"message does not name {call.op}: {exc}") from exc
            outcomes[type(exc).__name__] += 1
            ops_tried[call.op] += 1
        else:
            raise AssertionError(f"{call!r}: no {expected.__name__} raised")
        for original, copy in inputs:
            assert _unchanged(original, copy), "an input changed"
        return

    with np.errstate(all="ignore"):
        twin = (bias_act_expected if call.op in BIAS else getattr(ref, call.op))(
            *call.twin_args, **call.twin_kwargs)
    twin = list(twin) if isinstance(twin, tuple) else [twin]
    outs = _outs(call.kwargs)
    result = op(*call.args, **call.kwargs)
    result = list(result) if isinstance(result, tuple) else [result]
    for n, (got, expected) in enumerate(zip(result, twin)):
        if n < len(outs) and outs[n] is not None:
            assert got is outs[n], "the result is not the out given"
        got = got.astype(got.dtype.newbyteorder("="))                   # out may be swapped
        if call.op in OPS:
            op = OPS[call.op]
            assert_matches_twin(op, got, expected, call.twin_args[:len(op.inputs)])
        else:
            assert_same(got, expected)
    out_ids = {id(o) for o in outs if o is not None}
    for original, copy in inputs:
        if id(original) not in out_ids and not any(
                np.may_share_memory(original, o) for o in outs if o is not None):
            assert _unchanged(original, copy), "an input changed"
    outcomes["valid"] += 1
    ops_tried[call.op] += 1


# ---------------------------------------------------------------------------
# Optimisers: rectkern.optim against the *_step twins
# ---------------------------------------------------------------------------

OPT_FUNCTIONS = ("sgd_step", "adagrad_step", "adadelta_step", "rmsprop_step", "adam_step",
                 "adamw_step")
OPT_CLASSES = ("SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW")
FUNCTION_OF = dict(zip(OPT_CLASSES, OPT_FUNCTIONS))
RULE_OF = dict(zip(OPT_FUNCTIONS, OPT_CLASSES))
TAKES_STEP = {"sgd_step", "adagrad_step", "adam_step", "adamw_step"}
# the state arguments of the functions: the class's name for each, and
# whether it is an average of squares (so never negative)
STATE_NAME = {"momentum_buffers": "momentum_buffer", "state_sums": "sum",
              "square_avgs": "square_avg", "acc_deltas": "acc_delta", "grad_avgs": "grad_avg",
              "exp_avgs": "exp_avg", "exp_avg_sqs": "exp_avg_sq",
              "max_exp_avg_sqs": "max_exp_avg_sq"}
SQUARES = {"state_sums", "square_avgs", "acc_deltas", "exp_avg_sqs", "max_exp_avg_sqs"}
# the optional states, and the option that turns each on
OPTIONAL_STATES = {"SGD": ("momentum_buffers",), "RMSprop": ("momentum_buffers", "grad_avgs"),
                   "Adam": ("max_exp_avg_sqs",), "AdamW": ("max_exp_avg_sqs",)}
VALID_LAYOUTS = ("C", "C", "F", "permuted", "steps")                 # writeable, aligned
GRAD_LAYOUTS = VALID_LAYOUTS + ("broadcast",)                        # read-only is fine

# What each mutation must raise, and where it applies: "f" the functions,
# "c" a class's construction, "s" a class's step (its grads, a param made
# read-only, or a hyperparameter replaced in param_groups).
OPT_MUTATIONS = {
    "grad wrong shape": (ValueError, "fs"),
    "grad wrong dtype": (TypeError, "fs"),
    "grad is param": (ValueError, "fs"),
    "grad shares memory": (ValueError, "fs"),
    "grad byte-swapped": (TypeError, "fs"),
    "grad misaligned": (ValueError, "fs"),
    "grad not an array": (TypeError, "fs"),
    "grad count": (ValueError, "fs"),
    "grad is state": (ValueError, "s"),
    "param read-only": (ValueError, "fcs"),
    "param byte-swapped": (TypeError, "fc"),
    "param misaligned": (ValueError, "fc"),
    "param integer": (TypeError, "fc"),
    "params overlap": (ValueError, "fc"),
    "negative lr": (ValueError, "fcs"),
    "NaN eps": (ValueError, "fcs"),
    "beta of 1": (ValueError, "fcs"),
    "decay out of range": (ValueError, "fcs"),
    "nesterov without momentum": (ValueError, "fcs"),
    "state wrong dtype": (TypeError, "f"),
    "state wrong shape": (ValueError, "f"),
    "state read-only": (ValueError, "f"),
    "state shares memory": (ValueError, "f"),
    "state missing": (ValueError, "f"),
    "state unused": (ValueError, "f"),
    "step not positive": (ValueError, "f"),
}
OPT_RULES_ONLY = {
    "NaN eps": set(OPT_CLASSES) - {"SGD"},
    "beta of 1": {"Adam", "AdamW"},
    "decay out of range": {"SGD", "Adadelta", "RMSprop"},      # dampening, rho, alpha
    "nesterov without momentum": {"SGD"},
    "state missing": set(OPTIONAL_STATES),
    "state unused": set(OPTIONAL_STATES),
    "step not positive": {RULE_OF[f] for f in TAKES_STEP},
}
CLIP_MUTATIONS = {
    "grad read-only": ValueError,
    "grad integer": TypeError,
    "grad byte-swapped": TypeError,
    "grad misaligned": ValueError,
    "grad not an array": TypeError,
    "grads not a list": TypeError,
    "max_norm negative": ValueError,
    "max_norm NaN": ValueError,
    "max_norm not a number": TypeError,
}


def _opt_mutations(rule, where):
    return sorted(m for m, (_, places) in OPT_MUTATIONS.items()
                  if where in places and rule in OPT_RULES_ONLY.get(m, {rule}))


def _pick(rng, *choices):
    """One of choices; a callable is called for its value."""
    choice = choices[int(rng.integers(len(choices)))]
    return choice() if callable(choice) else choice


def _one_of(rng, *choices):
    return choices[int(rng.integers(len(choices)))]


def _log_uniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _draw_hyper(rng, rule):
    """A rule's hyperparameters (the classes' names), as Python floats and bools."""
    # now and then a value that float32 rounds to 0, a subnormal or inf
    extreme = lambda *values: _pick(rng, *values) if rng.random() < 0.03 else None  # noqa
    h = {"lr": extreme(1e-300, 1e-40, 1e30, 1e300) or
         _pick(rng, 0.0, 1e-3, 0.01, 0.1, 1.0, 2.5, lambda: _log_uniform(rng, 1e-6, 10)),
         "weight_decay": 0.0 if rng.random() < 0.5 else extreme(1e-300, 1e-40, 1e30) or
         _pick(rng, 1e-4, 0.01, 0.1, 1.0, lambda: _log_uniform(rng, 1e-6, 10)),
         "maximize": bool(rng.random() < 0.3)}
    eps = lambda: extreme(1e-300, 1e-40, 1e30) or _pick(                # noqa: E731
        rng, 0.0, 1e-10, 1e-8, 1e-6, 1e-3, 0.5, lambda: _log_uniform(rng, 1e-12, 1.0))
    decay = lambda: _pick(rng, 0.0, 0.5, 0.9, 0.99, 1.0,               # noqa: E731
                          lambda: float(rng.uniform(0, 1)))
    if rule == "SGD":
        h["momentum"] = 0.0 if rng.random() < 0.35 else \
            _pick(rng, 0.5, 0.9, 0.99, 1.0, 1.5, lambda: float(rng.uniform(0, 1)))
        h["dampening"] = 0.0 if rng.random() < 0.5 else \
            _pick(rng, 0.1, 0.5, 1.0, lambda: float(rng.uniform(0, 1)))
        h["nesterov"] = bool(h["momentum"] > 0 and h["dampening"] == 0 and rng.random() < 0.5)
    elif rule == "Adagrad":
        h["lr_decay"] = 0.0 if rng.random() < 0.5 else \
            _pick(rng, 0.01, 0.5, 2.0, lambda: _log_uniform(rng, 1e-6, 10))
        h["initial_accumulator_value"] = _pick(rng, 0.0, 0.0, 0.1, 1.0,
                                               lambda: _log_uniform(rng, 1e-6, 10))
        h["eps"] = eps()
    elif rule == "Adadelta":
        h["rho"], h["eps"] = decay(), eps()
    elif rule == "RMSprop":
        h["alpha"], h["eps"] = decay(), eps()
        h["momentum"] = 0.0 if rng.random() < 0.5 else \
            _pick(rng, 0.5, 0.9, 1.0, lambda: float(rng.uniform(0, 1)))
        h["centered"] = bool(rng.random() < 0.5)
    else:
        beta = lambda *usual: _pick(rng, *usual, 0.0, lambda: float(rng.uniform(0, 1)))  # noqa
        h["betas"] = (beta(0.9, 0.5, 0.99), beta(0.999, 0.99, 0.9))
        h["eps"] = eps()
        h["amsgrad"] = bool(rng.random() < 0.5)
    return h


def _state_args(rule, h):
    """The state arguments of the rule's function its options need, in order."""
    if rule == "SGD":
        return ["momentum_buffers"] if h["momentum"] != 0 else []
    if rule == "Adagrad":
        return ["state_sums"]
    if rule == "Adadelta":
        return ["square_avgs", "acc_deltas"]
    if rule == "RMSprop":
        return (["square_avgs"] + (["momentum_buffers"] if h["momentum"] > 0 else [])
                + (["grad_avgs"] if h["centered"] else []))
    return ["exp_avgs", "exp_avg_sqs"] + (["max_exp_avg_sqs"] if h["amsgrad"] else [])


def _set_optional_state(rng, rule, h, state, on):
    """Turn the option that needs ``state`` on or off."""
    if state == "momentum_buffers":
        h["momentum"] = _pick(rng, 0.5, 0.9, 1.0) if on else 0.0
        if rule == "SGD" and not on:
            h["nesterov"] = False
    elif state == "grad_avgs":
        h["centered"] = on
    else:
        h["amsgrad"] = on


def _function_hyper(rule, h, step):
    """The keyword arguments of the rule's function for class hyperparameters h."""
    kwargs = {k: v for k, v in h.items() if k not in ("betas", "initial_accumulator_value")}
    if "betas" in h:
        kwargs["beta1"], kwargs["beta2"] = h["betas"]
    if FUNCTION_OF[rule] in TAKES_STEP:
        kwargs["step"] = step
    return kwargs


def _form(rng, value, below_one=False):
    """value as a caller may give it (a float, an int, a NumPy scalar), and
    the float rectkern reads from that (what the twin gets)."""
    if isinstance(value, bool):
        given = np.bool_(value) if rng.random() < 0.2 else value
        return given, bool(given)
    r = rng.random()
    if value == 0 and r < 0.05:
        given = -0.0
    elif r < 0.1 and float(value).is_integer():
        given = int(value)
    elif r < 0.2:
        given = np.float64(value)
    elif r < 0.3 and abs(value) < 3e38 and not (below_one and float(np.float32(value)) >= 1.0):
        given = np.float32(value)
    else:
        given = value
    return given, float(given)


def _forms(rng, h, signature, omit=True):
    """The keyword arguments for rectkern (in random forms, some left out
    where they equal the default) and the twin's (floats)."""
    given, canonical = {}, {}
    for name, value in h.items():
        if name == "betas":
            pair = [_form(rng, b, below_one=True) for b in value]
            container = _one_of(rng, tuple, tuple, list, np.array)
            given[name], canonical[name] = container([g for g, _ in pair]), \
                tuple(c for _, c in pair)
        elif name == "step":
            given[name], canonical[name] = _pick(rng, value, value, np.int64(value)), value
        else:
            given[name], canonical[name] = _form(rng, value, below_one=name.startswith("beta"))
        default = signature.parameters[name].default if name in signature.parameters else None
        if omit and default is not inspect.Parameter.empty and default is not None \
                and repr(default) == repr(canonical[name]) and rng.random() < 0.4:
            del given[name]                                    # the default must be it
    return given, canonical


def _opt_shape(rng):
    if rng.random() < 0.15:                                    # long rows: SIMD bodies, tails
        return (int(rng.integers(0, 1100)),)
    shape = list(_shape(rng, _pick(rng, "small", "small", "medium", "large")))
    while math.prod(shape) > 4000:
        shape[int(np.argmax(shape))] //= 2
    return tuple(shape)


def _state_values(rng, shape, dtype, arg):
    v = _values(rng, shape, dtype)
    return np.asarray(np.abs(v)) if arg in SQUARES else v


def _opt_arrays(rng, dtypes, state_args, notes):
    """params, grads and (state_args given: the functions' state) in random
    valid layouts; now and then a parameter, its gradient and its state of
    the same dtype interleaved in one buffer (bounds that meet, no element
    shared)."""
    params, grads, states = [], [], {arg: [] for arg in state_args}
    for i, dtype in enumerate(dtypes):
        shape = _opt_shape(rng)
        ct = ref.compute_dtype(np.dtype(dtype))
        values = [_values(rng, shape, dtype), _values(rng, shape, dtype)] + \
            [_state_values(rng, shape, ct, arg) for arg in state_args]
        if rng.random() < 0.12:
            together = [0, 1] + [2 + j for j in range(len(state_args)) if ct == dtype]
            base = np.empty(shape + (len(together),), dtype)
            if rng.random() < 0.5:
                base = base[..., ::-1]
            order = rng.permutation(len(together))
            arrays = [None] * len(values)
            for slot, which in zip(order, together):
                arrays[which] = base[..., slot]
                arrays[which][...] = values[which]
            for j, v in enumerate(values):
                if arrays[j] is None:
                    arrays[j] = _in_layout(rng, v, _pick(rng, *VALID_LAYOUTS))
            names = ["params", "grads"] + state_args
            notes.append(f"{', '.join(f'{names[j]}[{i}]' for j in together)} interleaved "
                         f"in one buffer")
        else:
            arrays = [_in_layout(rng, values[0], _pick(rng, *VALID_LAYOUTS)),
                      _in_layout(rng, values[1], _pick(rng, *GRAD_LAYOUTS))]
            arrays += [_in_layout(rng, v, _pick(rng, *VALID_LAYOUTS)) for v in values[2:]]
        params.append(arrays[0])
        grads.append(arrays[1])
        for arg, a in zip(state_args, arrays[2:]):
            states[arg].append(a)
    # gradients are only read: they may share memory with each other
    for i in range(1, len(grads)):
        same = [j for j in range(i) if grads[j].shape == grads[i].shape
                and grads[j].dtype == grads[i].dtype]
        if same and rng.random() < 0.1:
            j = int(rng.choice(same))
            grads[i] = grads[j]
            notes.append(f"grads[{i}] is grads[{j}]")
    return params, grads, states


def _draw_grads(rng, params):
    return [_in_layout(rng, _values(rng, p.shape, p.dtype), _pick(rng, *GRAD_LAYOUTS))
            for p in params]


def _other_shape(rng, shape):
    if not shape:
        return (_pick(rng, 1, 2),)
    options = [shape[:-1] + (shape[-1] + 1,), shape + (1,), shape[1:]]
    if shape[::-1] != shape:
        options.append(shape[::-1])
    return options[int(rng.integers(len(options)))]


def _same_memory(rng, a):
    """A view of all of a's memory: the array itself, a view, or reversed."""
    return _pick(rng, lambda: a, lambda: a[...],
                 lambda: a[(slice(None, None, -1),) * a.ndim + (Ellipsis,)])


def _with_memory(arrays):
    return [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.size]


def _spoil_grads(rng, mutation, params, grads, states=None):
    """grads (a new list) spoiled as ``mutation`` says, and what was done;
    None where it cannot apply (no array with memory).  ``states`` (the
    classes): per parameter, its state arrays."""
    grads = list(grads)
    i = int(rng.integers(len(grads))) if grads else 0
    if mutation == "grad count":
        if grads and rng.random() < 0.5:
            del grads[i]
            return grads, f"grads[{i}] left out"
        grads.append(grads[i].copy() if grads else np.zeros(3))
        return grads, "a gradient too many"
    g = grads[i]
    if mutation == "grad wrong shape":
        shape = _other_shape(rng, g.shape)
        grads[i] = _values(rng, shape, g.dtype)
        return grads, f"grads[{i}] of shape {shape}"
    if mutation == "grad wrong dtype":
        dtype = _pick(rng, *(d for d in FLOATS + ("int32", "bool") if d != g.dtype))
        with np.errstate(all="ignore"):
            grads[i] = g.astype(dtype)
        return grads, f"grads[{i}] of dtype {dtype}"
    if mutation == "grad byte-swapped":
        grads[i] = _in_layout(rng, np.asarray(g), "byte-swapped")
        return grads, f"grads[{i}] byte-swapped"
    if mutation == "grad not an array":
        grads[i] = g.tolist()
        return grads, f"grads[{i}] as {type(grads[i]).__name__}"
    if mutation == "grad misaligned":
        with_memory = _with_memory(grads)
        if not with_memory:
            return None
        i = int(rng.choice(with_memory))
        grads[i] = _in_layout(rng, np.asarray(grads[i]), "misaligned")
        return grads, f"grads[{i}] misaligned"
    if mutation in ("grad is param", "grad shares memory"):
        with_memory = _with_memory(params)
        if not with_memory:
            return None
        j = int(rng.choice(with_memory))
        others = [k for k in range(len(grads)) if params[k].shape == params[j].shape
                  and params[k].dtype == params[j].dtype]
        i = int(rng.choice(others)) if rng.random() < 0.3 else j
        if mutation == "grad is param":
            grads[i] = params[j]
            return grads, f"grads[{i}] is params[{j}]"
        grads[i] = _same_memory(rng, params[j])
        return grads, f"grads[{i}] a view of params[{j}] (strides {grads[i].strides})"
    if mutation == "grad is state":
        candidates = [(k, name) for k in _with_memory(params) for name, s in states[k].items()
                      if s.dtype == params[k].dtype]
        if not candidates:
            return None
        k, name = candidates[int(rng.integers(len(candidates)))]
        grads[k] = _same_memory(rng, states[k][name])
        return grads, f"grads[{k}] in the memory of state[{k}][{name!r}]"
    raise AssertionError(mutation)


def _bad_hyper(rng, rule, mutation, h):
    """The hyperparameters (class names, or the functions' beta1/beta2) that
    ``mutation`` changes, with their bad values (given as they are)."""
    if mutation == "negative lr":
        return {"lr": _pick(rng, -0.1, -1e-300, -1.0, -np.inf, np.float32(-0.5))}
    if mutation == "NaN eps":
        return {"eps": _pick(rng, np.nan, np.float32(np.nan), -np.nan)}
    if mutation == "beta of 1":
        which = int(rng.integers(2))
        if "betas" in h:
            betas = list(h["betas"])
            betas[which] = _pick(rng, 1.0, 1, np.float64(1.0), 1.5)
            return {"betas": tuple(betas)}
        return {("beta1", "beta2")[which]: _pick(rng, 1.0, 1, np.float64(1.0), 1.5)}
    if mutation == "decay out of range":
        name = {"SGD": "dampening", "Adadelta": "rho", "RMSprop": "alpha"}[rule]
        return {name: _pick(rng, 1.5, 1.0 + 2**-52, -0.25, np.inf, np.nan)}
    if mutation == "nesterov without momentum":
        if h["momentum"] == 0 or rng.random() < 0.5:
            return {"nesterov": True, "momentum": 0.0}
        return {"nesterov": True, "dampening": _pick(rng, 0.5, 1.0, 1e-9)}
    raise AssertionError(mutation)


def _show(a):
    if isinstance(a, np.ndarray):
        dtype = a.dtype.str if a.dtype.byteorder in "<>" and not a.dtype.isnative else str(a.dtype)
        flags = "" if a.flags.writeable else ", read-only"
        flags += "" if a.flags.aligned else ", misaligned"
        return (f"array(shape={a.shape}, dtype={dtype}, strides={a.strides}{flags}, "
                f"values={a.ravel()[:6].tolist()}{'...' if a.size > 6 else ''})")
    if isinstance(a, (list, tuple)):
        inner = ", ".join(map(_show, a))
        return f"[{inner}]" if isinstance(a, list) else f"({inner}{',' if len(a) == 1 else ''})"
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in a.items()) + "}"
    return repr(a)


def _arrays_of(*lists):
    seen, out = set(), []
    for arrays in lists:
        for a in arrays:
            if isinstance(a, np.ndarray) and id(a) not in seen:
                seen.add(id(a))
                out.append(a)
    return out


def _expect_raise(func_name, prefix, expected, call, arrays, what):
    """call() must raise ``expected`` with a message starting ``prefix`` and
    leave every array's bytes as they were."""
    snapshot = [(a, a.copy()) for a in arrays]
    try:
        call()
    except expected as exc:
        if not str(exc).startswith(prefix):
            raise AssertionError(f"{what}: message does not start with {prefix!r}: {exc}") \
                from exc
        outcomes[type(exc).__name__] += 1
        ops_tried[func_name] += 1
    else:
        raise AssertionError(f"{what}: no {expected.__name__} raised")
    for original, copy in snapshot:
        assert _unchanged(original, copy), f"{what}: an array changed ({_show(copy)})"


class FunctionCall:
    """A drawn call of an optimiser function on explicit state."""

    def __init__(self, fn, params, grads, kwargs, twin_kwargs, mutation, text):
        self.fn, self.params, self.grads = fn, params, grads
        self.kwargs, self.twin_kwargs = kwargs, twin_kwargs
        self.mutation, self.text = mutation, text

    def __repr__(self):
        return self.text

    def check(self):
        func = getattr(optim, self.fn)
        states = [v for k, v in self.kwargs.items() if k in STATE_NAME and v is not None]
        arrays = _arrays_of(self.params, self.grads, *states)
        if self.mutation is not None:
            expected = OPT_MUTATIONS[self.mutation][0]
            _expect_raise(self.fn, f"{self.fn}:", expected,
                          lambda: func(self.params, self.grads, **self.kwargs), arrays,
                          self.mutation)
            return
        # the twin on copies (a gradient given twice is copied twice: only read)
        twin_params = [p.copy() for p in self.params]
        twin_states = {k: [a.copy() for a in v] for k, v in self.twin_kwargs.items()
                       if k in STATE_NAME and v is not None}
        hyper = {k: v for k, v in self.twin_kwargs.items() if k not in STATE_NAME}
        getattr(ref, self.fn)(twin_params, [g.copy() for g in self.grads], **twin_states, **hyper)
        grads_before = [(g, g.copy()) for g in _arrays_of(self.grads)]
        func(self.params, self.grads, **self.kwargs)
        for i, (p, t) in enumerate(zip(self.params, twin_params)):
            _assert_same_as(p, t, f"params[{i}]")
        for arg, twins in twin_states.items():
            for i, (s, t) in enumerate(zip(self.kwargs[arg], twins)):
                _assert_same_as(s, t, f"{arg}[{i}]")
        for g, copy in grads_before:
            assert _unchanged(g, copy), "a gradient changed"
        outcomes["valid"] += 1
        ops_tried[self.fn] += 1


def _assert_same_as(got, expected, what):
    try:
        assert_same(got, expected)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


def _function_call(draw, rng, fn):
    rule = RULE_OF[fn]
    mutation = draw(st.sampled_from([None] * 20 + _opt_mutations(rule, "f")))
    h = _draw_hyper(rng, rule)
    optional = OPTIONAL_STATES.get(rule, ())
    if mutation in ("state missing", "state unused"):
        _set_optional_state(rng, rule, h, _pick(rng, *optional), mutation == "state missing")
    if mutation in ("state wrong dtype", "state wrong shape", "state read-only",
                    "state shares memory") and rule == "SGD" and h["momentum"] == 0:
        _set_optional_state(rng, rule, h, "momentum_buffers", True)
    step = int(rng.integers(1, 6))
    state_args = _state_args(rule, h)
    n = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from(FLOATS))
    dtypes = [dtype if rng.random() < 0.8 else _pick(rng, *FLOATS) for _ in range(n)]
    notes = []
    params, grads, states = _opt_arrays(rng, dtypes, state_args, notes)

    hyper, twin_hyper = _forms(rng, _function_hyper(rule, h, step),
                               inspect.signature(getattr(optim, fn)))
    kwargs = dict(hyper)
    detail = ""
    if mutation is not None and mutation not in ("state missing", "state unused"):
        mutation, detail = _spoil_function(rng, rule, mutation, h, params, grads, states,
                                           kwargs)
    kwargs.update(states)
    if mutation == "state unused":
        arg = next(a for a in optional if a not in state_args)
        kwargs[arg] = [_state_values(rng, p.shape, ref.compute_dtype(p.dtype), arg)
                       for p in params]
        detail = f"{arg} given"
    elif mutation == "state missing":
        arg = next(a for a in optional if a in state_args)
        if rng.random() < 0.5:
            del kwargs[arg]
        else:
            kwargs[arg] = None
        detail = f"{arg} left out"
    twin_kwargs = dict(twin_hyper, **{arg: states[arg] for arg in state_args if arg in states})
    container = _one_of(rng, list, list, tuple)
    params, grads = container(params), container(grads)
    text = (f"rk.optim.{fn}(params={_show(params)}, grads={_show(grads)}, "
            + ", ".join(f"{k}={_show(v)}" for k, v in kwargs.items())
            + f")  mutation: {mutation}" + (f" ({detail})" if detail else "")
            + (f"  notes: {'; '.join(notes)}" if notes else ""))
    return FunctionCall(fn, params, grads, kwargs, twin_kwargs, mutation, text)


def _spoil_param(rng, mutation, params, i):
    """The mutations of one parameter that need nothing else: the mutation
    and what was done, or None for the others."""
    if mutation == "param read-only":
        params[i].flags.writeable = False
        return mutation, f"params[{i}] read-only"
    if mutation == "param byte-swapped":
        params[i] = _in_layout(rng, params[i], "byte-swapped")
        return mutation, f"params[{i}] byte-swapped"
    if mutation == "param integer":
        params[i] = np.nan_to_num(np.clip(params[i], -100, 100)).astype(
            _pick(rng, "int16", "int32", "int64", "uint8"))
        return mutation, f"params[{i}] of dtype {params[i].dtype}"
    return None


def _spoil_function(rng, rule, mutation, h, params, grads, states, kwargs):
    """Spoil a function call in place; the mutation done (another where the
    drawn one cannot apply) and what was done."""
    if mutation.startswith("grad"):
        spoiled = _spoil_grads(rng, mutation, params, grads)
        if spoiled is None:
            return _spoil_function(rng, rule, "negative lr", h, params, grads, states, kwargs)
        grads[:] = spoiled[0]
        return mutation, spoiled[1]
    if mutation in ("negative lr", "NaN eps", "beta of 1", "decay out of range",
                    "nesterov without momentum"):
        bad = _bad_hyper(rng, rule, mutation, {k: v for k, v in h.items() if k != "betas"})
        if mutation == "nesterov without momentum" and bad.get("momentum") == 0.0:
            states.pop("momentum_buffers", None)       # no buffers without momentum
        kwargs.update(bad)
        return mutation, ", ".join(f"{k}={_show(v)}" for k, v in bad.items())
    if mutation == "step not positive":
        kwargs["step"] = _pick(rng, 0, -1, 2.0, True, np.int64(0), None)
        return mutation, f"step={kwargs['step']!r}"
    i = int(rng.integers(len(params)))
    spoiled = _spoil_param(rng, mutation, params, i)
    if spoiled is not None:
        return spoiled
    with_memory = _with_memory(params)
    if mutation == "param misaligned":
        if not with_memory:
            return _spoil_function(rng, rule, "param read-only", h, params, grads, states, kwargs)
        i = int(rng.choice(with_memory))
        params[i] = _in_layout(rng, params[i], "misaligned")
        return mutation, f"params[{i}] misaligned"
    if mutation == "params overlap":
        if not with_memory:
            return _spoil_function(rng, rule, "param read-only", h, params, grads, states, kwargs)
        i = int(rng.choice(with_memory))
        j = int(rng.choice([k for k in range(len(params)) if k != i] or [len(params)]))
        if j == len(params):
            params.append(None)
            grads.append(None)
            for arrays in states.values():
                arrays.append(None)
        params[j] = _same_memory(rng, params[i])
        grads[j] = grads[i].copy()
        for arrays in states.values():
            arrays[j] = arrays[i].copy()
        return mutation, f"params[{j}] in the memory of params[{i}]"
    # the state arrays
    arg = _pick(rng, *states) if states else None
    if arg is None:
        return _spoil_function(rng, rule, "negative lr", h, params, grads, states, kwargs)
    s = states[arg][i]
    if mutation == "state wrong dtype":
        dtype = _pick(rng, *(d for d in FLOATS if d != s.dtype))
        states[arg][i] = s.astype(dtype)
        return mutation, f"{arg}[{i}] of dtype {dtype} (params[{i}] {params[i].dtype})"
    if mutation == "state wrong shape":
        shape = _other_shape(rng, s.shape)
        states[arg][i] = _state_values(rng, shape, s.dtype, arg)
        return mutation, f"{arg}[{i}] of shape {shape}"
    if mutation == "state read-only":
        s.flags.writeable = False
        return mutation, f"{arg}[{i}] read-only"
    if mutation == "state shares memory":
        options = []
        for k in _with_memory(params):
            ct = ref.compute_dtype(params[k].dtype)
            for a in states:
                options += [(a, k, f"{b}[{k}]", states[b][k]) for b in states if b != a]
                if params[k].dtype == ct:
                    options.append((a, k, f"params[{k}]", params[k]))
                if params[k].dtype == ct and grads[k].flags.writeable:
                    options.append((a, k, f"grads[{k}]", grads[k]))
        if not options:
            return _spoil_function(rng, rule, "state read-only", h, params, grads, states,
                                   kwargs)
        a, k, name, other = options[int(rng.integers(len(options)))]
        states[a][k] = _same_memory(rng, other)
        return mutation, f"{a}[{k}] in the memory of {name}"
    raise AssertionError(mutation)


class ClassRun:
    """A drawn optimiser object and a few steps of it, each compared with
    the rule's twin on state kept here."""

    def __init__(self, rule, params, param_arg, kwargs, group_hyper, group_sizes, steps,
                 ctor_mutation, seed_, text):
        self.rule, self.params, self.param_arg, self.kwargs = rule, params, param_arg, kwargs
        self.group_hyper, self.group_sizes, self.steps = group_hyper, group_sizes, steps
        self.ctor_mutation, self.seed, self.text = ctor_mutation, seed_, text

    def __repr__(self):
        return self.text

    def check(self):
        rule, cls = self.rule, getattr(optim, self.rule)
        rng = np.random.default_rng(self.seed)          # for the steps' mutations
        if self.ctor_mutation is not None:
            _expect_raise(rule, f"{rule}:", OPT_MUTATIONS[self.ctor_mutation][0],
                          lambda: cls(self.param_arg, **self.kwargs), _arrays_of(self.params),
                          self.ctor_mutation)
            return
        before = [(p, p.copy()) for p in self.params]
        opt = cls(self.param_arg, **self.kwargs)
        for p, copy in before:
            assert _unchanged(p, copy), "the constructor changed a parameter"
        outcomes["valid"] += 1
        ops_tried[rule] += 1

        # the twin's parameters and state, per group
        fn = getattr(ref, FUNCTION_OF[rule])
        twin_params = [p.copy() for p in self.params]
        bounds = np.cumsum([0] + self.group_sizes)
        twin_states = []
        for g, h in enumerate(self.group_hyper):
            fill = h.get("initial_accumulator_value", 0.0)
            twin_states.append({arg: [np.full(p.shape, fill, ref.compute_dtype(p.dtype))
                                      for p in self.params[bounds[g]:bounds[g + 1]]]
                                for arg in _state_args(rule, h)})
        self._compare(opt, twin_params, twin_states, 0, "after construction")

        for k, step in enumerate(self.steps, 1):
            for g, name, given, canonical in step["schedule"]:
                opt.param_groups[g][name] = given
                self.group_hyper[g][name] = canonical
            if step["mutation"] is not None:
                self._spoiled_step(rng, opt, step, k)
            grads = step["grads"]
            grads_before = [(g, g.copy()) for g in _arrays_of(grads)]
            for g, h in enumerate(self.group_hyper):
                lo, hi = bounds[g], bounds[g + 1]
                fn(twin_params[lo:hi], [x.copy() for x in grads[lo:hi]], **twin_states[g],
                   **_function_hyper(rule, h, k))
            opt.step(grads)
            for g, copy in grads_before:
                assert _unchanged(g, copy), f"step {k}: a gradient changed"
            self._compare(opt, twin_params, twin_states, k, f"after step {k}")
            outcomes["valid"] += 1
            ops_tried[f"{rule}.step"] += 1

    def _compare(self, opt, twin_params, twin_states, steps, when):
        state = opt.state
        for i, (p, t) in enumerate(zip(self.params, twin_params)):
            _assert_same_as(p, t, f"{when}: params[{i}]")
            assert state[i]["step"] == steps, (when, i, state[i]["step"])
        bounds = [int(b) for b in np.cumsum([0] + self.group_sizes)]
        for g, states in enumerate(twin_states):
            names = {STATE_NAME[arg] for arg in states}
            for i in range(bounds[g], bounds[g + 1]):
                assert set(state[i]) - {"step"} == names, (when, i, sorted(state[i]))
                for arg, arrays in states.items():
                    _assert_same_as(state[i][STATE_NAME[arg]], arrays[i - bounds[g]],
                                    f"{when}: state[{i}][{STATE_NAME[arg]!r}]")

    def _spoiled_step(self, rng, opt, step, k):
        """A step spoiled by the step's mutation must raise and change nothing."""
        rule, mutation = self.rule, step["mutation"]
        func = f"{rule}.step"
        grads, undo, detail = list(step["grads"]), None, ""
        if mutation.startswith("grad"):
            states = opt.state
            spoiled = _spoil_grads(rng, mutation, self.params, grads,
                                   [{n: a for n, a in s.items() if n != "step"} for s in states])
            if spoiled is None:
                mutation = "negative lr"
            else:
                grads, detail = spoiled
        if mutation == "param read-only":
            i = int(rng.integers(len(self.params)))
            self.params[i].flags.writeable = False
            detail = f"params[{i}] made read-only"

            def undo():
                self.params[i].flags.writeable = True
        elif not mutation.startswith("grad"):
            g = int(rng.integers(len(opt.param_groups)))
            group = opt.param_groups[g]
            bad = _bad_hyper(rng, rule, mutation, group)
            saved = {name: group[name] for name in bad}
            group.update(bad)
            detail = f"param_groups[{g}] given " + ", ".join(f"{n}={_show(v)}"
                                                             for n, v in bad.items())

            def undo():
                group.update(saved)
        states = [a for s in opt.state for n, a in s.items() if n != "step"]
        try:
            _expect_raise(func, f"{func}:", OPT_MUTATIONS[mutation][0], lambda: opt.step(grads),
                          _arrays_of(self.params, states, grads),
                          f"step {k} spoiled by {mutation} ({detail})")
        finally:
            if undo is not None:
                undo()
        assert all(s["step"] == k - 1 for s in opt.state), f"step {k}: a failed step counted"


HYPER_MUTATIONS = ("negative lr", "NaN eps", "beta of 1", "decay out of range",
                   "nesterov without momentum")


def _class_run(draw, rng, rule):
    cls = getattr(optim, rule)
    mutation = draw(st.sampled_from([None] * 12 + sorted(set(_opt_mutations(rule, "c"))
                                                         | set(_opt_mutations(rule, "s")))))
    h = _draw_hyper(rng, rule)
    n = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from(FLOATS))
    dtypes = [dtype if rng.random() < 0.8 else _pick(rng, *FLOATS) for _ in range(n)]
    params, _, _ = _opt_arrays(rng, dtypes, [], [])
    kwargs, canonical = _forms(rng, h, inspect.signature(cls))

    where, detail = None, ""
    if mutation is not None:
        where = _pick(rng, *(p for p in "cs" if p in OPT_MUTATIONS[mutation][1]))
    if where == "c" and mutation not in HYPER_MUTATIONS:
        mutation, detail = _spoil_construction(rng, mutation, params)
    n = len(params)

    # parameter groups: contiguous runs, each maybe with hyperparameters of its own
    sizes = [n]
    if n > 1 and rng.random() < 0.3:
        cuts = sorted(set(int(c) for c in rng.integers(1, n, int(rng.integers(1, 3)))))
        sizes = [int(d) for d in np.diff([0] + cuts + [n])]
    bounds = np.cumsum([0] + sizes)
    group_hyper = [dict(canonical) for _ in sizes]
    if len(sizes) > 1 or rng.random() < 0.15:
        param_arg = []
        for g in range(len(sizes)):
            mine = params[bounds[g]:bounds[g + 1]]
            group = {"params": mine[0] if len(mine) == 1 and rng.random() < 0.3 else mine}
            own = _draw_hyper(rng, rule)
            for name in ("lr", "weight_decay", "eps", "maximize"):
                if name in own and rng.random() < 0.4:
                    group[name], group_hyper[g][name] = _form(rng, own[name])
            param_arg.append(group)
    else:
        param_arg = _one_of(rng, list, list, tuple)(params)

    if where == "c" and mutation in HYPER_MUTATIONS:
        bad = _bad_hyper(rng, rule, mutation, h)
        if isinstance(param_arg[0], dict) and rng.random() < 0.5:
            g = int(rng.integers(len(param_arg)))
            param_arg[g].update(bad)
            detail = f"param group {g} given "
        else:
            kwargs.update(bad)
            detail = ""
        detail += ", ".join(f"{k}={_show(v)}" for k, v in bad.items())

    steps = []
    if where != "c":
        n_steps = int(rng.integers(1, 5))
        spoiled_step = int(rng.integers(1, n_steps + 1)) if where == "s" else None
        for k in range(1, n_steps + 1):
            schedule = []
            if k > 1 and rng.random() < 0.3:            # a schedule: a hyperparameter replaced
                g = int(rng.integers(len(sizes)))
                own = _draw_hyper(rng, rule)
                name = _pick(rng, *(x for x in ("lr", "lr", "weight_decay", "eps", "maximize")
                                   if x in own))
                schedule.append((g, name, *_form(rng, own[name])))
            steps.append({"grads": _draw_grads(rng, params), "schedule": schedule,
                          "mutation": mutation if k == spoiled_step else None})

    text = (f"rk.optim.{rule}({_show(param_arg)}, "
            + ", ".join(f"{k}={_show(v)}" for k, v in kwargs.items()) + ")"
            + (f"  mutation at construction: {mutation} ({detail})" if where == "c" else "")
            + "".join(f"\n  step {k}: "
                      + "".join(f"param_groups[{g}][{name!r}] = {_show(given)}; "
                                for g, name, given, _ in s["schedule"])
                      + (f"first a step spoiled by {s['mutation']}; " if s["mutation"] else "")
                      + f"grads={_show(s['grads'])}"
                      for k, s in enumerate(steps, 1)))
    return ClassRun(rule, params, param_arg, kwargs, group_hyper, sizes, steps,
                    mutation if where == "c" else None, int(rng.integers(2**63)), text)


def _spoil_construction(rng, mutation, params):
    """Spoil the parameters given to a constructor, in place; the mutation
    done (another where the drawn one cannot apply) and what was done."""
    i = int(rng.integers(len(params)))
    with_memory = _with_memory(params)
    if mutation in ("param misaligned", "params overlap") and not with_memory:
        mutation = "param read-only"
    spoiled = _spoil_param(rng, mutation, params, i)
    if spoiled is not None:
        return spoiled
    i = int(rng.choice(with_memory))
    if mutation == "param misaligned":
        params[i] = _in_layout(rng, params[i], "misaligned")
        return mutation, f"params[{i}] misaligned"
    if mutation == "params overlap":
        j = int(rng.integers(len(params) + 1))
        params.insert(j, _same_memory(rng, params[i]))
        return mutation, f"params[{j}] in the memory of params[{i if i < j else i + 1}]"
    raise AssertionError(mutation)


class ClipCall:
    """A drawn call of clip_grad_norm."""

    def __init__(self, grads, max_norm, twin_max_norm, mutation, text):
        self.grads, self.max_norm, self.twin_max_norm = grads, max_norm, twin_max_norm
        self.mutation, self.text = mutation, text

    def __repr__(self):
        return self.text

    def check(self):
        func = "clip_grad_norm"
        grads = self.grads if isinstance(self.grads, (list, tuple)) else [self.grads]
        if self.mutation is not None:
            _expect_raise(func, f"{func}:", CLIP_MUTATIONS[self.mutation],
                          lambda: optim.clip_grad_norm(self.grads, self.max_norm),
                          _arrays_of(grads), self.mutation)
            return
        twins = [g.copy() for g in grads]
        expected = ref.clip_grad_norm(twins, self.twin_max_norm)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            norm = optim.clip_grad_norm(self.grads, self.max_norm)
        for w in caught:                        # counted, reported: see the report
            outcomes[f"{w.category.__name__} from clip_grad_norm"] += 1
        assert isinstance(norm, float), type(norm)
        assert norm == expected or (math.isnan(norm) and math.isnan(expected)), \
            f"norm {norm!r}, twin {expected!r}"
        for i, (g, t) in enumerate(zip(grads, twins)):
            _assert_same_as(g, t, f"grads[{i}]")
        outcomes["valid"] += 1
        ops_tried[func] += 1


def _clip_call(draw, rng):
    mutation = draw(st.sampled_from([None] * 8 + sorted(CLIP_MUTATIONS)))
    n = draw(st.integers(0, 6))
    dtype = draw(st.sampled_from(FLOATS + ("mixed",)))
    scale = _pick(rng, 1.0, 1.0, 1e-3, 1e3, 1e-20, 1e20)
    grads = []
    for _ in range(n):
        d = _pick(rng, *FLOATS) if dtype == "mixed" else dtype
        with np.errstate(all="ignore"):
            v = (_values(rng, _opt_shape(rng), "float64") * scale).astype(d)
        if rng.random() < 0.5:          # finite only, so that most norms are numbers
            v = np.where(np.isfinite(v), v, np.asarray(1, d)).astype(d)
        grads.append(_in_layout(rng, v, _pick(rng, *VALID_LAYOUTS)))
    max_norm = _pick(rng, 0.0, 1e-6, 0.5, 1.0, 5.0, 100.0, 1e30,
                     lambda: _log_uniform(rng, 1e-3, 1e3))
    given, canonical = _form(rng, max_norm)
    detail = ""
    if mutation is not None and mutation.startswith("grad ") and not grads:
        grads.append(_in_layout(rng, _values(rng, (3,), "float32"), "C"))
    if mutation == "grad read-only":
        i = int(rng.integers(len(grads)))
        grads[i].flags.writeable = False
        detail = f"grads[{i}] read-only"
    elif mutation == "grad integer":
        i = int(rng.integers(len(grads)))
        grads[i] = np.nan_to_num(np.clip(grads[i], -100, 100)).astype(
            _pick(rng, "int32", "int64", "bool"))
        detail = f"grads[{i}] of dtype {grads[i].dtype}"
    elif mutation == "grad byte-swapped":
        i = int(rng.integers(len(grads)))
        grads[i] = _in_layout(rng, grads[i], "byte-swapped")
        detail = f"grads[{i}] byte-swapped"
    elif mutation == "grad misaligned":
        if not _with_memory(grads):
            grads.append(_values(rng, (3,), "float32"))
        i = int(rng.choice(_with_memory(grads)))
        grads[i] = _in_layout(rng, grads[i], "misaligned")
        detail = f"grads[{i}] misaligned"
    elif mutation == "grad not an array":
        i = int(rng.integers(len(grads)))
        grads[i] = grads[i].tolist()
        detail = f"grads[{i}] as {type(grads[i]).__name__}"
    elif mutation == "grads not a list":
        grads = grads[0] if grads else np.ones(3)
    elif mutation == "max_norm negative":
        given = _pick(rng, -1.0, -1e-300, -np.inf, np.float32(-2.0), -1)
    elif mutation == "max_norm NaN":
        given = _pick(rng, np.nan, np.float32(np.nan))
    elif mutation == "max_norm not a number":
        given = _pick(rng, "1.0", None, 1j, [1.0])
    if isinstance(grads, list) and rng.random() < 0.3:
        grads = tuple(grads)
    text = (f"rk.optim.clip_grad_norm({_show(grads)}, {_show(given)})  mutation: {mutation}"
            + (f" ({detail})" if detail else ""))
    return ClipCall(grads, given, canonical, mutation, text)


@st.composite
def optim_calls(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**63)))
    what = draw(st.sampled_from(OPT_FUNCTIONS + OPT_CLASSES + ("clip_grad_norm",)))
    with np.errstate(all="ignore"):             # casts of edge values to other dtypes
        if what == "clip_grad_norm":
            return _clip_call(draw, rng)
        if what in OPT_FUNCTIONS:
            return _function_call(draw, rng, what)
        return _class_run(draw, rng, what)


def check_any(call):
    """The check of a drawn call: the ops' (check) or an optimiser's."""
    if isinstance(call, Call):
        check(call)
    else:
        call.check()


def run(minutes, first_seed, batch, only="all"):
    # an alpha beyond float32's range, cast for float32 data, warns as NumPy's
    # own casts do; that is not a failure
    warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
    deadline = time.monotonic() + 60 * minutes
    batch_seed = first_seed
    strategy = {"all": st.one_of(calls(), optim_calls()), "ops": calls(),
                "optim": optim_calls()}[only]
    test = settings(max_examples=batch, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=(Phase.generate, Phase.shrink))(given(strategy)(check_any))
    while time.monotonic() < deadline:
        seed(batch_seed)(test)()
        batch_seed += 1
    return batch_seed - first_seed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--batch", type=int, default=200, help="calls per seed")
    parser.add_argument("--only", choices=("all", "ops", "optim"), default="all",
                        help="the ops, the optimisers, or both (default)")
    args = parser.parse_args(argv)
    print(f"rectkern {rk.__version__}, level {rk.config()['level']}; "
          f"fuzzing for {args.minutes:g} min from seed {args.seed}", flush=True)
    start = time.monotonic()
    batches = run(args.minutes, args.seed, args.batch, args.only)
    print(f"{sum(ops_tried.values())} calls in {time.monotonic() - start:.0f} s "
          f"({batches} seeds), no failure")
    print("  per op: " + ", ".join(f"{op} {n}" for op, n in sorted(ops_tried.items())))
    print("  outcome: " + ", ".join(f"{what} {n}" for what, n in outcomes.most_common()),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
