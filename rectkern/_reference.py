"""Plain-NumPy twins of every rectkern op: the test oracle.

Each twin is written straight from the semantics contract with ordinary
NumPy calls (``np.where``, ``np.argmax``, ``np.sum``), slow and obvious on
purpose.  They accept valid input only; argument checking is the real ops'
business.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "prelu", "prelu_backward", "maxout", "maxout_backward",
    "result_dtype", "compute_dtype",
]


def result_dtype(*arrays):
    """The activations' float dtype: bool and integers as `np.exp` casts them."""
    joined = np.result_type(*arrays)
    return np.exp(np.zeros((), joined)).dtype


def compute_dtype(dtype):
    """float16 is computed in float32; alpha is applied in the same type."""
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


def _compute(a, dtype):
    # Widening a signalling NaN raises the invalid flag on some CPUs (arm64)
    # and not on others; NaN in, NaN out is the contract, not an error.
    with np.errstate(invalid="ignore"):
        return np.asarray(a).astype(compute_dtype(dtype))


def relu(x):
    x = np.asarray(x)
    dtype = result_dtype(x)
    xc = _compute(x, dtype)
    return np.where(np.isnan(xc), xc, np.where(xc > 0, xc, 0.0)).astype(dtype)


def relu_backward(dy, x):
    dy, x = np.asarray(dy), np.asarray(x)
    dtype = result_dtype(dy, x)
    dyc, xc = _compute(dy, dtype), _compute(x, dtype)
    return np.where(np.isnan(xc), xc, np.where(xc > 0, dyc, 0.0)).astype(dtype)


def leaky_relu(x, alpha):
    x = np.asarray(x)
    dtype = result_dtype(x)
    xc, a = _compute(x, dtype), _compute(alpha, dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(xc > 0, xc, a * xc).astype(dtype)


def leaky_relu_backward(dy, x, alpha):
    dy, x = np.asarray(dy), np.asarray(x)
    dtype = result_dtype(dy, x)
    dyc, xc, a = _compute(dy, dtype), _compute(x, dtype), _compute(alpha, dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.isnan(xc), xc, np.where(xc > 0, dyc, a * dyc)).astype(dtype)


def _channel_slopes(alpha, ndim, axis):
    """alpha broadcastable against the activations, and whether it is shared."""
    a = np.asarray(alpha)
    if a.size == 1 and a.ndim <= 1:
        return a.reshape(()), True
    axis = axis % ndim
    return a.reshape(a.shape + (1,) * (ndim - axis - 1)), False


def prelu(x, alpha, axis=1):
    x = np.asarray(x)
    a, _ = _channel_slopes(alpha, x.ndim, axis)
    return leaky_relu(x, a)


def prelu_backward(dy, x, alpha, axis=1):
    """(dx, dalpha); dalpha summed with np.sum in float64."""
    dy, x = np.asarray(dy), np.asarray(x)
    alpha_given = np.asarray(alpha)
    a, shared = _channel_slopes(alpha, x.ndim, axis)
    dx = leaky_relu_backward(dy, x, a)
    dtype = result_dtype(dy, x)
    others = None if shared else tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    with np.errstate(invalid="ignore", over="ignore"):
        x64 = _compute(x, dtype).astype(np.float64)
        dy64 = _compute(dy, dtype).astype(np.float64)
        terms = np.where((x64 < 0) | np.isnan(x64), x64 * dy64, 0.0)
        dalpha = terms.sum(axis=others)
    grad_dtype = alpha_given.dtype if alpha_given.dtype.kind == "f" else np.float64
    dalpha = np.asarray(dalpha).astype(grad_dtype).reshape(alpha_given.shape)
    return dx, dalpha


def _index_dtype(k):
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if k - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(k)


def maxout(x, k, axis=1):
    """(y, idx): y is the element at idx, idx = np.argmax of each group."""
    x = np.asarray(x)
    dtype = result_dtype(x)
    moved = np.moveaxis(x.astype(dtype), axis, -1)
    groups = moved.reshape(moved.shape[:-1] + (moved.shape[-1] // k, k))
    idx = np.argmax(groups, axis=-1) if groups.size else np.zeros(groups.shape[:-1], np.intp)
    y = np.take_along_axis(groups, idx[..., None], axis=-1)[..., 0]
    return np.moveaxis(y, -1, axis), np.moveaxis(idx.astype(_index_dtype(k)), -1, axis)


def maxout_backward(dy, idx, k, axis=1):
    """dx: zeros, then dy put at each group's idx."""
    dy, idx = np.asarray(dy), np.asarray(idx)
    dtype = result_dtype(dy)
    dy_moved = np.moveaxis(dy.astype(dtype), axis, -1)
    idx_moved = np.moveaxis(idx, axis, -1).astype(np.intp)
    dx = np.zeros(dy_moved.shape + (k,), dtype)
    np.put_along_axis(dx, idx_moved[..., None], dy_moved[..., None], axis=-1)
    dx = dx.reshape(dy_moved.shape[:-1] + (dy_moved.shape[-1] * k,))
    return np.moveaxis(dx, -1, axis)
