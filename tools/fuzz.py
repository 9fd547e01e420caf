"""Fuzz every public op of rectkern against its NumPy twin.

    python tools/fuzz.py [--minutes M] [--seed S] [--batch N]

Hypothesis draws calls of the eight ops (the four ufuncs, prelu,
prelu_backward, maxout, maxout_backward) with random shapes (0-d to 5-d,
empty axes included), dtypes (float16/32/64, and bool and integers, which
are cast as ``np.exp`` casts them), byte orders, memory layouts (C, Fortran,
permuted axes, steps, negative strides, zero strides from broadcasting,
misaligned data), channel axes, k, alpha shapes and values, idx contents and
``out`` arrays (fresh, in other layouts, byte-swapped, misaligned, the input
itself, or overlapping an input partly).  Values mix normal numbers with
the contract's edge values (NaN, +-0, +-inf, subnormals, the largest
finite).

A valid call must return what the twin in ``rectkern._reference`` returns,
bit for bit (dalpha within 1e-12 of its sum of ``|x * dy|``), in ``out`` when
one is given.  A call spoiled by one of the mutations below must raise the
contract's exception, with a message naming the op for rectkern's own
checks.  Either way no input other than ``out`` may change.  Batches of
calls run under new seeds until the time is up; the first failure stops the
run with the shrunk call and exit status 1.  ``tools/sanitize.sh fuzz`` runs
it against a build instrumented with AddressSanitizer and UBSan.
"""

from __future__ import annotations

import argparse
import collections
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
from tests._arrays import assert_dalpha_close, assert_same     # noqa: E402

FLOATS = ("float16", "float32", "float64")
CAST = ("bool", "int8", "uint8", "int32", "int64")             # accepted, cast
UFUNCS = ("relu", "relu_backward", "leaky_relu", "leaky_relu_backward")
FUSED = ("prelu", "prelu_backward", "maxout", "maxout_backward")
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
}
APPLIES = {
    "complex input": set(UFUNCS) | set(FUSED),
    "object input": set(UFUNCS) | set(FUSED),
    "string input": set(UFUNCS) | set(FUSED),
    "non-array input": set(UFUNCS) | set(FUSED),
    "complex alpha": {"leaky_relu", "leaky_relu_backward", "prelu", "prelu_backward"},
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
    "shapes differ": {"prelu_backward", "maxout_backward"},   # ufuncs broadcast
    "out read-only": set(UFUNCS) | set(FUSED),
    "out wrong dtype": set(UFUNCS) | set(FUSED),
    "out wrong shape": set(UFUNCS) | set(FUSED),
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
    op = draw(st.sampled_from(UFUNCS + FUSED))
    mutation = draw(st.sampled_from([None] * 30 + sorted(m for m in MUTATIONS
                                                         if op in APPLIES[m])))
    size_class = draw(st.sampled_from(["small", "medium", "large"]))
    dtype = draw(st.sampled_from(FLOATS * 4 + CAST))
    layout = lambda: draw(st.sampled_from(LAYOUTS))             # noqa: E731
    shape = _shape(rng, size_class)
    axis = int(rng.integers(-len(shape), len(shape))) if shape else 0
    kwargs, twin_kwargs = {}, {}

    if op in ("maxout", "maxout_backward") and not shape:     # 0-d has no axis
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

    if op in ("relu", "leaky_relu", "prelu", "maxout"):
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

    if op in ("leaky_relu", "leaky_relu_backward"):
        args.append(draw(st.sampled_from([0.01, -1.0, 0.0, np.nan, np.inf, 2.5,
                                          np.float16(0.3), np.array(0.2, np.float32)])))
    if op in ("prelu", "prelu_backward"):
        channels = shape[axis] if shape else 1
        form = draw(st.sampled_from(["channels", "channels", "scalar", "one"]))
        alpha = _values(rng, (channels,), draw(st.sampled_from(FLOATS + ("int64",))))
        alpha = {"channels": alpha, "scalar": 0.25, "one": alpha[:1]}[form]
        args.append(alpha)
    if op == "maxout":
        args.append(k)
    if op in FUSED:
        kwargs["axis"] = twin_kwargs["axis"] = axis

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
    elif mutation == "shapes differ":
        a = np.asarray(args[0])
        args[0] = np.ones(a.shape + (2,), a.dtype if a.dtype.kind == "f" else np.float64)
    return args, kwargs


def _result_shapes(op, args, kwargs):
    """The shapes and dtypes of a valid call's results (out's, in order)."""
    if op in UFUNCS or op in ("prelu", "prelu_backward"):
        arrays = [np.asarray(a) for a in (args[:2] if op.endswith("backward") else args[:1])]
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
            if call.op in FUSED and not isinstance(exc, AxisError) \
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
        twin = getattr(ref, call.op)(*call.twin_args, **call.twin_kwargs)
    twin = list(twin) if isinstance(twin, tuple) else [twin]
    outs = _outs(call.kwargs)
    result = op(*call.args, **call.kwargs)
    result = list(result) if isinstance(result, tuple) else [result]
    for n, (got, expected) in enumerate(zip(result, twin)):
        if call.op == "prelu_backward" and n == 1:
            dy, x, alpha = call.twin_args
            shared = np.ndim(alpha) == 0 or np.shape(alpha) == (1,)
            assert_dalpha_close(got, expected, dy, x, call.kwargs["axis"], shared)
            continue
        if n < len(outs) and outs[n] is not None:
            assert got is outs[n], "the result is not the out given"
        assert_same(got.astype(got.dtype.newbyteorder("=")), expected)   # out may be swapped
    out_ids = {id(o) for o in outs if o is not None}
    for original, copy in inputs:
        if id(original) not in out_ids and not any(
                np.may_share_memory(original, o) for o in outs if o is not None):
            assert _unchanged(original, copy), "an input changed"
    outcomes["valid"] += 1
    ops_tried[call.op] += 1


def run(minutes, first_seed, batch):
    # an alpha beyond float32's range, cast for float32 data, warns as NumPy's
    # own casts do; that is not a failure
    warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
    deadline = time.monotonic() + 60 * minutes
    batch_seed = first_seed
    test = settings(max_examples=batch, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=(Phase.generate, Phase.shrink))(given(calls())(check))
    while time.monotonic() < deadline:
        seed(batch_seed)(test)()
        batch_seed += 1
    return batch_seed - first_seed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--batch", type=int, default=200, help="calls per seed")
    args = parser.parse_args(argv)
    print(f"rectkern {rk.__version__}, level {rk.config()['level']}; "
          f"fuzzing for {args.minutes:g} min from seed {args.seed}", flush=True)
    start = time.monotonic()
    batches = run(args.minutes, args.seed, args.batch)
    print(f"{sum(ops_tried.values())} calls in {time.monotonic() - start:.0f} s "
          f"({batches} seeds), no failure")
    print("  per op: " + ", ".join(f"{op} {n}" for op, n in sorted(ops_tried.items())))
    print("  outcome: " + ", ".join(f"{what} {n}" for what, n in outcomes.most_common()),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
