"""pytest-benchmark: every op against the NumPy idiom a user would write.

Run ``python -m pytest bench`` (``--benchmark-disable`` runs them once, as
tests).  Each group holds rectkern, NumPy, and ``np.copyto`` on an array of
the output's size (one read + one write: the memory-traffic floor).  Every
benchmark checks its result against the op's NumPy twin after timing.
"""

import numpy as np
import pytest

import rectkern as rk
from rectkern import _reference as ref

SHAPE = (16, 64, 28, 28)            # NCHW, 3.2 MB as float32
DTYPES = [np.float32, np.float64]


def _data(dtype, seed):
    return np.random.default_rng(seed).standard_normal(SHAPE).astype(dtype)


def _numpy_prelu_backward(dy, x, a):
    dx = np.where(x > 0, dy, a * dy)
    return dx, (np.minimum(x, 0).astype(np.float64) * dy).sum(axis=(0, 2, 3))


def _numpy_maxout(x, k):
    groups = x.reshape((x.shape[0], x.shape[1] // k, k) + x.shape[2:])
    return groups.max(axis=2), groups.argmax(axis=2)


def _numpy_maxout_backward(dy, idx, k):
    dx = np.zeros((dy.shape[0], dy.shape[1], k) + dy.shape[2:], dy.dtype)
    np.put_along_axis(dx, idx[:, :, None].astype(np.intp), dy[:, :, None], axis=2)
    return dx.reshape((dy.shape[0], dy.shape[1] * k) + dy.shape[2:])


def _cases(dtype):
    x, dy = _data(dtype, 0), _data(dtype, 1)
    alpha = np.linspace(0.05, 0.3, SHAPE[1])
    a = alpha.astype(dtype)[:, None, None]
    y2, idx2 = rk.maxout(x, 2)
    dy2 = dy[:, : SHAPE[1] // 2]
    equal = np.array_equal
    return {
        "relu": (lambda: rk.relu(x), lambda: np.maximum(x, 0),
                 lambda r: equal(r, ref.relu(x))),
        "relu_backward": (lambda: rk.relu_backward(dy, x), lambda: dy * (x > 0),
                          lambda r: equal(r, ref.relu_backward(dy, x))),
        "leaky_relu": (lambda: rk.leaky_relu(x, 0.01),
                       lambda: np.maximum(x, x * dtype(0.01)),
                       lambda r: equal(r, ref.leaky_relu(x, 0.01))),
        "leaky_relu_backward": (lambda: rk.leaky_relu_backward(dy, x, 0.01),
                                lambda: np.where(x > 0, dy, dy * dtype(0.01)),
                                lambda r: equal(r, ref.leaky_relu_backward(dy, x, 0.01))),
        "prelu": (lambda: rk.prelu(x, alpha), lambda: np.where(x > 0, x, a * x),
                  lambda r: equal(r, ref.prelu(x, alpha))),
        "prelu_backward": (lambda: rk.prelu_backward(dy, x, alpha),
                           lambda: _numpy_prelu_backward(dy, x, a),
                           lambda r: equal(r[0], ref.prelu_backward(dy, x, alpha)[0])
                           and np.allclose(r[1], ref.prelu_backward(dy, x, alpha)[1],
                                           rtol=1e-9)),
        "maxout_k2": (lambda: rk.maxout(x, 2), lambda: _numpy_maxout(x, 2),
                      lambda r: all(equal(p, q) for p, q in zip(r, ref.maxout(x, 2)))),
        "maxout_backward_k2": (lambda: rk.maxout_backward(dy2, idx2, 2),
                               lambda: _numpy_maxout_backward(dy2, idx2, 2),
                               lambda r: equal(r, ref.maxout_backward(dy2, idx2, 2))),
    }


OPS = list(_cases(np.float32))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("impl", ["rectkern", "numpy"])
def test_op(benchmark, op, dtype, impl):
    ours, numpy_idiom, check = _cases(dtype)[op]
    benchmark.group = f"{op}-{np.dtype(dtype).name}"
    result = benchmark(ours if impl == "rectkern" else numpy_idiom)
    if impl == "rectkern":
        assert check(result)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", OPS)
def test_memory_limit(benchmark, op, dtype):
    """np.copyto of an input-sized array: the floor for one read + one write."""
    src = _data(dtype, 2)
    dst = np.empty_like(src)
    benchmark.group = f"{op}-{np.dtype(dtype).name}"
    benchmark(np.copyto, dst, src)
    assert np.array_equal(dst, src)
