"""The benchmark cases, in one place: every op, its NumPy idioms and its limit.

Used by ``rectkern demo`` / ``rectkern bench``, the pytest-benchmark suite
in ``bench/`` and ``bench/check_targets.py``.  Each case holds the rectkern
call, the fastest NumPy idiom a user would write (and the common slower one
where it differs), the memory-traffic limit (``np.copyto`` for ops that read
one array and write one, ``np.add(a, b, out=c)`` for two reads and a write),
and a check of rectkern's result against the op's NumPy twin.  Every call
writes into preallocated outputs where the op takes ``out=``, so timings
hold no page faults of fresh allocations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import rectkern as rk
from rectkern import _reference as ref

LAYOUTS = ("NCHW", "NHWC")


@dataclass
class Case:
    op: str
    rectkern: Callable[[], object]
    numpy: Callable[[], object]
    numpy_slow: Optional[Callable[[], object]]   # the common slower idiom, if any
    limit: Callable[[], object]
    limit_name: str                              # "copy" or "add"
    check: Callable[[object], bool]


def shape_for(n_elements, layout, channels=64):
    """An (N, C, H, W) batch of about n_elements, or (N, H, W, C) for NHWC."""
    channels = min(channels, max(4, n_elements // 4))
    spatial = max(1, int(round((n_elements / channels) ** 0.5)))
    batch = max(1, n_elements // (channels * spatial * spatial))
    nchw = (batch, channels, spatial, spatial)
    return nchw if layout == "NCHW" else (batch, spatial, spatial, channels)


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def cases(dtype, shape, layout="NCHW", seed=0):
    """Every op on data of shape (channel axis 1 for NCHW, -1 for NHWC)."""
    dtype = np.dtype(dtype).type
    rng = np.random.default_rng(seed)
    axis = 1 if layout == "NCHW" else -1
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    out = np.empty_like(x)
    channels = shape[axis]
    alpha = np.linspace(0.05, 0.3, channels)
    a = alpha.astype(dtype).reshape((channels,) + (1,) * (x.ndim - 1 - axis % x.ndim))
    others = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    slope = dtype(0.01)

    # the limits move bytes of the same size as the op (dx's size for
    # maxout_backward, which is x's), between arrays of their own
    src, other, dst = np.ones_like(x), np.ones_like(x), np.empty_like(x)
    copy = (lambda: np.copyto(dst, src), "copy")           # (limit, limit_name)
    add = (lambda: np.add(src, other, out=dst), "add")

    def numpy_prelu_backward():
        dx = np.where(x > 0, dy, a * dy)
        return dx, (np.minimum(x, 0).astype(np.float64) * dy).sum(axis=others)

    def twin_prelu_backward(result):
        dx, dalpha = ref.prelu_backward(dy, x, alpha, axis=axis)
        return _same(result[0], dx) and np.allclose(result[1], dalpha, rtol=1e-9, atol=0)

    result = [
        Case("relu", lambda: rk.relu(x, out=out), lambda: np.maximum(x, 0, out=out),
             lambda: np.where(x > 0, x, 0), *copy,
             lambda r: _same(r, ref.relu(x))),
        Case("relu_backward", lambda: rk.relu_backward(dy, x, out=out),
             lambda: np.multiply(dy, x > 0, out=out), lambda: np.where(x > 0, dy, 0),
             *add, lambda r: _same(r, ref.relu_backward(dy, x))),
        Case("leaky_relu", lambda: rk.leaky_relu(x, 0.01, out=out),
             lambda: np.maximum(x, x * slope, out=out),
             lambda: np.where(x > 0, x, x * slope), *copy,
             lambda r: _same(r, ref.leaky_relu(x, 0.01))),
        Case("leaky_relu_backward", lambda: rk.leaky_relu_backward(dy, x, 0.01, out=out),
             lambda: np.where(x > 0, dy, dy * slope), None, *add,
             lambda r: _same(r, ref.leaky_relu_backward(dy, x, 0.01))),
        Case("prelu", lambda: rk.prelu(x, alpha, axis=axis, out=out),
             lambda: np.where(x > 0, x, a * x), None, *copy,
             lambda r: _same(r, ref.prelu(x, alpha, axis=axis))),
        Case("prelu_backward", lambda: rk.prelu_backward(dy, x, alpha, axis=axis, out=out),
             numpy_prelu_backward, None, *add, twin_prelu_backward),
    ]
    for k in (2, 4):
        if shape[axis] % k:
            continue
        y, idx = rk.maxout(x, k, axis=axis)
        dy_k = rng.standard_normal(y.shape).astype(dtype)
        moved = np.moveaxis(x, axis, -1)
        groups_shape = moved.shape[:-1] + (moved.shape[-1] // k, k)

        def numpy_maxout(moved=moved, groups_shape=groups_shape):
            groups = moved.reshape(groups_shape)
            return groups.max(axis=-1), groups.argmax(axis=-1)

        def numpy_maxout_backward(dy_k=dy_k, idx=idx, k=k):
            dy_m, idx_m = np.moveaxis(dy_k, axis, -1), np.moveaxis(idx, axis, -1)
            dx = np.zeros(dy_m.shape + (k,), dtype)
            np.put_along_axis(dx, idx_m[..., None].astype(np.intp), dy_m[..., None], -1)
            return dx

        result += [
            Case(f"maxout k={k}",
                 lambda y=y, idx=idx, k=k: rk.maxout(x, k, axis=axis, out=(y, idx)),
                 numpy_maxout, None, *copy,
                 lambda r, k=k: all(_same(p, q) for p, q in zip(r, ref.maxout(x, k, axis)))),
            Case(f"maxout_backward k={k}",
                 lambda dy_k=dy_k, idx=idx, k=k: rk.maxout_backward(dy_k, idx, k, axis=axis,
                                                                    out=out),
                 numpy_maxout_backward, None, *copy,
                 lambda r, dy_k=dy_k, idx=idx, k=k: _same(
                     r, ref.maxout_backward(dy_k, idx, k, axis=axis))),
        ]
    return result


def best_time(fn, seconds=0.2, max_repeat=1000):
    """The fastest of repeated calls within about `seconds` (at least 3)."""
    fn()
    times = []
    deadline = time.perf_counter() + seconds
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < max_repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
