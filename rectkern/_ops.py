"""PReLU, maxout and RReLU: the public functions of the fused C kernels.

Each first offers its arguments to a fast path in C (rectkern._ext), which
takes the plain case; everything else, and every error, goes through the
checks here.
"""

from __future__ import annotations

import operator
from typing import Any, SupportsIndex

import numpy as np
from numpy.exceptions import AxisError
from numpy.typing import ArrayLike, NDArray

from . import _ext

__all__ = ["prelu", "prelu_backward", "maxout", "maxout_backward", "rrelu", "rrelu_backward"]


# ---------------------------------------------------------------------------
# Argument checks shared by the fused ops
# ---------------------------------------------------------------------------

def _activation(func, arg, value):
    """``value`` as an array, and the float dtype its op computes in."""
    array = np.asarray(value)
    return array, _ext.activation_dtype(func, arg, array.dtype)


def _joint_dtype(func, dy, x):
    """The result dtype of a backward op: ``np.result_type(dy, x)``, as a float."""
    return _ext.activation_dtype(func, "dy, x", np.result_type(dy, x))


def _axis(func, axis, ndim):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{func}: axis must be an integer, got {axis!r}") from None
    # compared as Python ints (numpy's normalize_axis_index takes a C int,
    # and raises OverflowError for an axis beyond one)
    if not -ndim <= axis < ndim:
        raise AxisError(axis, ndim, msg_prefix=func)
    return axis % ndim


def _group_size(func, k):
    if isinstance(k, (bool, np.bool_)):
        raise TypeError(f"{func}: k must be an integer, got {k!r}")
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"{func}: k must be an integer, got {k!r}") from None
    if k <= 0:
        raise ValueError(f"{func}: k must be a positive integer, got {k}")
    return k


def _same_shape(func, names, a, b):
    if a.shape != b.shape:
        raise ValueError(
            f"{func}: {names[0]} and {names[1]} must have the same shape, "
            f"got {a.shape} and {b.shape}")


def _slopes(func, alpha, x, axis, x_name="x"):
    """alpha as an array, and the channel axis it runs along (-1: shared)."""
    a = np.asarray(alpha)
    _ext.activation_dtype(func, "alpha", a.dtype)
    if a.ndim == 0 or a.shape == (1,):
        return a, -1
    if a.ndim != 1:
        raise ValueError(
            f"{func}: alpha must be a scalar, or 1-d with one value per "
            f"channel, got shape {a.shape}")
    axis = _axis(func, axis, x.ndim)
    if a.shape[0] != x.shape[axis]:
        raise ValueError(
            f"{func}: alpha has {a.shape[0]} values but {x_name} has {x.shape[axis]} "
            f"channels along axis {axis}")
    return a, axis


def _kernel_input(a, dtype):
    """a in ``dtype``, native byte order and aligned (a copy only if needed)."""
    return np.require(a, dtype=dtype, requirements="A")


def _empty_like_layout(like, shape, dtype):
    """An empty array of ``shape`` whose memory order follows ``like``'s.

    Outputs that match the input's layout let the kernels stream through
    both in the same order (as ``np.empty_like(order='K')``).
    """
    if like.flags.c_contiguous or like.ndim < 2:
        return np.empty(shape, dtype)
    order = sorted(range(like.ndim), key=lambda d: -abs(like.strides[d]))
    empty = np.empty([shape[d] for d in order], dtype)
    return empty.transpose(np.argsort(order))


def _same_view(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides and a.shape == b.shape)


def _check_out(func, out, shape, dtype, arg="out"):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{func}: {arg} must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{func}: {arg} must have shape {shape}, got {out.shape}")
    if out.dtype.newbyteorder("=") != dtype:
        raise TypeError(f"{func}: {arg} must have dtype {dtype}, got {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{func}: {arg} is read-only")


def _output(func, out, shape, dtype, like, inputs, in_place=False, arg="out"):
    """The array the kernel writes, and the array returned to the caller.

    They differ when ``out`` cannot be written directly: misaligned, not in
    native byte order, or overlapping an input other than as the very same
    view with ``in_place`` (an elementwise kernel may overwrite what it has
    just read).  `_finish` then copies the first into the second.
    """
    if out is None:
        result = _empty_like_layout(like, shape, dtype)
        return result, result
    _check_out(func, out, shape, dtype, arg)
    conflict = any(np.may_share_memory(out, a) and not (in_place and _same_view(out, a))
                   for a in inputs)
    if out.flags.aligned and out.dtype.isnative and not conflict:
        return out, out
    return _empty_like_layout(out, shape, dtype), out


def _finish(work, result):
    if work is not result:
        np.copyto(result, work)
    return result


def _index_dtype(func, k):
    """The smallest unsigned dtype holding 0 .. k-1."""
    dtype = _ext.index_dtype(k)
    if dtype is None:
        raise ValueError(f"{func}: k must be at most 2**64, got {k}")
    return dtype


def _compute_slopes(alpha, dtype):
    """alpha as the kernels take it: contiguous, in float32 for float16/float32
    data and float64 for float64 (a parameter never changes the result dtype).
    Always a copy (O(C)), so that an ``out`` over alpha's memory cannot change
    the slopes while the kernel reads them."""
    slope_dtype = np.float64 if dtype == np.float64 else np.float32
    return np.array(alpha.reshape(-1), dtype=slope_dtype, order="C", copy=True)


# ---------------------------------------------------------------------------
# PReLU
# ---------------------------------------------------------------------------

def prelu(x: ArrayLike, alpha: ArrayLike, axis: SupportsIndex = 1,
          out: NDArray[Any] | None = None) -> NDArray[Any]:
    """Parametric ReLU: ``x > 0 ? x : alpha[c] * x`` with ``c`` the channel.

    Parameters
    ----------
    x : array_like
        Input activations.
    alpha : array_like
        Negative slopes: shape ``(C,)`` with ``C = x.shape[axis]``
        (channel-wise), or a scalar or shape ``(1,)`` (channel-shared).
    axis : int, optional
        The channel axis: 1 (default) for NCHW, -1 for NHWC.  Not used when
        alpha is shared.
    out : ndarray, optional
        Array of ``x``'s shape and result dtype to write into; may be ``x``.
        Partial overlap with ``x`` is handled.

    Returns
    -------
    y : ndarray
        ``x`` where ``x > 0``, else ``alpha[c] * x``; NaN stays NaN.

    Raises
    ------
    TypeError
        If ``x`` or ``alpha`` has an unsupported dtype, or ``out`` the wrong
        dtype.
    ValueError
        If alpha's length is not the channel count, or ``out`` has the wrong
        shape or is read-only.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    See Also
    --------
    prelu_backward, leaky_relu

    Notes
    -----
    He et al., "Delving Deep into Rectifiers", 2015: ``f(x_c) = max(0, x_c)
    + a_c min(0, x_c)``.  The result has ``x``'s dtype; alpha is applied as
    float32 (float16, float32 data) or float64 (float64 data).  The result
    equals `leaky_relu` with alpha broadcast along ``axis``, computed in
    one pass for any layout.

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> x = np.array([[[-1.0, 2.0]], [[-1.0, 2.0]]]).reshape(1, 2, 2)
    >>> rk.prelu(x, np.array([0.1, 0.2]))
    array([[[-0.1,  2. ],
            [-0.2,  2. ]]])
    """
    result = _ext.prelu_fast(x, alpha, axis, out)
    if result is not None:
        return result
    func = "prelu"
    x, dtype = _activation(func, "x", x)
    a, channel_axis = _slopes(func, alpha, x, axis)
    x_k = _kernel_input(x, dtype)
    y, result = _output(func, out, x.shape, dtype, x_k, (x_k,), in_place=True)
    _ext.run_prelu(x_k, _compute_slopes(a, dtype), y, channel_axis)
    return _finish(y, result)


def prelu_backward(dy: ArrayLike, x: ArrayLike, alpha: ArrayLike, axis: SupportsIndex = 1,
                   out: NDArray[Any] | None = None) -> tuple[NDArray[Any], Any]:
    """Gradients of `prelu` with respect to its input and its slopes, in one pass.

    Parameters
    ----------
    dy : array_like
        Gradient of the loss with respect to ``prelu(x, alpha, axis)``.
    x : array_like
        The input of the forward pass, of ``dy``'s shape.
    alpha : array_like
        The slopes of the forward pass: shape ``(C,)``, or a scalar or shape
        ``(1,)`` for the channel-shared variant.
    axis : int, optional
        The channel axis (default 1, NCHW; -1 for NHWC).  Not used when
        alpha is shared.
    out : ndarray, optional
        Array for ``dx`` (``x``'s shape, result dtype); may be ``dy`` or
        ``x``.

    Returns
    -------
    dx : ndarray
        ``dy`` where ``x > 0``, ``alpha[c] * dy`` where ``x <= 0``, NaN where
        ``x`` is NaN; dtype ``np.result_type(dy, x)``.
    dalpha : ndarray or scalar
        ``sum over x <= 0 of x * dy`` for each channel (over everything for
        a shared alpha): the exact sum of the float64 terms, rounded once,
        returned in alpha's shape and dtype (float64 for a Python or integer
        alpha).  A NaN ``x`` makes
        its channel's sum NaN; ``x == 0`` adds nothing.

    Raises
    ------
    TypeError, ValueError, numpy.exceptions.AxisError
        As `prelu`; also ValueError if ``dy`` and ``x`` differ in shape.

    See Also
    --------
    prelu

    Notes
    -----
    ``d loss / d a_c = sum_i dy_i * min(0, x_i)`` over the channel's
    elements (He et al., 2015).  The sum is exact before its one rounding
    (``math.fsum`` of the terms; "Sums" in the README), so the same inputs
    give the same bits in any layout, order or split and at every level.
    If the call raises, ``out`` is left as it was.

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> x = np.array([[-1.0, 2.0], [-3.0, 4.0]])      # (N=2, C=2)
    >>> dx, dalpha = rk.prelu_backward(np.ones((2, 2)), x, np.array([0.1, 0.2]))
    >>> dx
    array([[0.1, 1. ],
           [0.1, 1. ]])
    >>> dalpha
    array([-4.,  0.])
    """
    result = _ext.prelu_backward_fast(dy, x, alpha, axis, out)
    if result is not None:
        return result
    func = "prelu_backward"
    dy, _ = _activation(func, "dy", dy)
    x, _ = _activation(func, "x", x)
    _same_shape(func, ("dy", "x"), dy, x)
    dtype = _joint_dtype(func, dy, x)
    a, channel_axis = _slopes(func, alpha, x, axis)
    dy_k, x_k = _kernel_input(dy, dtype), _kernel_input(x, dtype)
    dx, result = _output(func, out, x.shape, dtype, x_k, (dy_k, x_k), in_place=True)
    slopes = _compute_slopes(a, dtype)
    dalpha = np.zeros(slopes.shape, np.float64)
    _ext.run_prelu_backward(dy_k, x_k, slopes, dx, channel_axis, dalpha)
    grad_dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    dalpha = dalpha.astype(grad_dtype).reshape(a.shape)
    return _finish(dx, result), (dalpha[()] if a.ndim == 0 else dalpha)


# ---------------------------------------------------------------------------
# Maxout
# ---------------------------------------------------------------------------

def maxout(x: ArrayLike, k: SupportsIndex, axis: SupportsIndex = 1,
           out: tuple[NDArray[Any] | None, NDArray[Any] | None] | None = None,
           ) -> tuple[NDArray[Any], NDArray[Any]]:
    """Maxout: the maximum of each group of ``k`` along ``axis``, and where it is.

    Parameters
    ----------
    x : array_like
        Input activations; ``x.shape[axis]`` must be a multiple of ``k``.
    k : int
        Group size.  Group ``i`` is positions ``i*k ... i*k + k-1``.
    axis : int, optional
        The axis to group along (default 1).
    out : tuple of two ndarrays, optional
        ``(y, idx)`` arrays to write into, of the result shape and dtypes.

    Returns
    -------
    y : ndarray
        ``x``'s shape with ``axis`` divided by ``k``, ``x``'s float dtype:
        the maximum of each group (NaN if the group holds one).
    idx : ndarray
        Same shape: the offset inside the group of the first maximum (of the
        first NaN), in the smallest unsigned dtype holding ``k - 1``
        (uint8 for ``k <= 256``).

    Raises
    ------
    TypeError
        If ``x`` has an unsupported dtype or ``k`` is not an integer.
    ValueError
        If ``k <= 0`` or ``k`` does not divide ``x.shape[axis]``.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    See Also
    --------
    maxout_backward

    Notes
    -----
    Goodfellow et al., "Maxout Networks", 2013: ``g(z)_i = max_{j in G(i)}
    z_j``.  One pass computes both outputs; ``y`` and ``idx`` equal
    ``np.max`` / ``np.argmax`` over the reshaped groups, with ``y`` the
    element at ``idx`` itself (so a ``-0.0`` maximum keeps its sign).

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> x = np.array([[1.0, 5.0, 3.0, 3.0]])
    >>> y, idx = rk.maxout(x, 2)
    >>> y
    array([[5., 3.]])
    >>> idx
    array([[1, 0]], dtype=uint8)
    """
    result = _ext.maxout_fast(x, k, axis, out)
    if result is not None:
        return result
    func = "maxout"
    x, dtype = _activation(func, "x", x)
    k = _group_size(func, k)
    axis = _axis(func, axis, x.ndim)
    length = x.shape[axis]
    if length % k:
        raise ValueError(
            f"{func}: k={k} does not divide the length {length} of axis {axis}")
    shape = x.shape[:axis] + (length // k,) + x.shape[axis + 1:]
    x_k = _kernel_input(x, dtype)
    if out is None:
        out = (None, None)
    elif not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"{func}: out must be a tuple (y, idx), got {type(out).__name__}")
    y, y_result = _output(func, out[0], shape, dtype, x_k, (x_k,), arg="out[0]")
    idx, idx_result = _output(func, out[1], shape, _index_dtype(func, k), x_k, (x_k, y),
                              arg="out[1]")
    if y.size:
        _ext.run_maxout(x_k, k, axis, y, idx)
    return _finish(y, y_result), _finish(idx, idx_result)


def maxout_backward(dy: ArrayLike, idx: ArrayLike, k: SupportsIndex,
                    axis: SupportsIndex = 1, out: NDArray[Any] | None = None,
                    ) -> NDArray[Any]:
    """Gradient of `maxout`: ``dy`` sent back to the position ``idx`` picked.

    Parameters
    ----------
    dy : array_like
        Gradient of the loss with respect to maxout's ``y``.
    idx : array_like of int
        maxout's ``idx``, of ``dy``'s shape, any integer dtype, values in
        ``0 .. k-1``.
    k : int
        The group size of the forward pass.
    axis : int, optional
        The grouped axis (default 1).
    out : ndarray, optional
        Array for ``dx``: ``dy``'s shape with ``axis`` times ``k``, ``dy``'s
        float dtype.

    Returns
    -------
    dx : ndarray
        ``dy`` at each group's ``idx`` position, +0.0 at the other ``k-1``;
        every element written once, in one pass.

    Raises
    ------
    TypeError
        If ``dy`` has an unsupported dtype, ``idx`` is not integer or ``k``
        not an integer.
    ValueError
        If shapes disagree, ``k <= 0`` or an ``idx`` value is outside
        ``0 .. k-1`` (then the contents of ``out`` are unspecified).
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    See Also
    --------
    maxout

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> dy = np.array([[10.0, 20.0]])
    >>> rk.maxout_backward(dy, np.array([[1, 0]]), 2)
    array([[ 0., 10., 20.,  0.]])
    """
    result = _ext.maxout_backward_fast(dy, idx, k, axis, out)
    if result is not None:
        return result
    func = "maxout_backward"
    dy, dtype = _activation(func, "dy", dy)
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{func}: idx must have an integer dtype, got {idx.dtype}")
    _same_shape(func, ("dy", "idx"), dy, idx)
    k = _group_size(func, k)
    axis = _axis(func, axis, dy.ndim)
    shape = dy.shape[:axis] + (dy.shape[axis] * k,) + dy.shape[axis + 1:]
    dy_k = _kernel_input(dy, dtype)
    idx_k = _kernel_input(idx, idx.dtype.newbyteorder("="))
    dx, result = _output(func, out, shape, dtype, dy_k, (dy_k, idx_k))
    if dx.size and not _ext.run_maxout_backward(dy_k, idx_k, k, axis, dx):
        raise ValueError(f"{func}: idx has values outside 0 .. k-1 (k={k})")
    return _finish(dx, result)


# ---------------------------------------------------------------------------
# RReLU
# ---------------------------------------------------------------------------

Seed = int | np.integer[Any] | np.random.SeedSequence | np.random.Generator | None


def _rrelu_range(func, lower, upper):
    """lower and upper as Python floats: finite, lower <= upper."""
    bounds = []
    for name, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                         np.floating)):
            raise TypeError(f"{func}: {name} must be a real number, got {value!r}")
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"{func}: {name} must be finite, got {value}")
        bounds.append(value)
    if bounds[0] > bounds[1]:
        raise ValueError(f"{func}: lower must be at most upper, got lower={bounds[0]} "
                         f"and upper={bounds[1]}")
    return bounds


def _rrelu_key(func, seed, generator_allowed=True):
    """The generator's 64-bit key: from an integer or a SeedSequence by
    SeedSequence.generate_state, drawn from a Generator, or fresh (None)."""
    if isinstance(seed, np.random.Generator):
        if not generator_allowed:
            raise TypeError(
                f"{func}: seed must be the integer (or SeedSequence) given to the forward "
                f"pass, not a Generator, which would draw another key")
        return int(seed.integers(0, 2**64, dtype=np.uint64))
    if seed is None:
        sequence = np.random.SeedSequence()
    elif isinstance(seed, np.random.SeedSequence):
        sequence = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        if seed < 0:
            raise ValueError(f"{func}: seed must be non-negative, got {seed}")
        sequence = np.random.SeedSequence(int(seed))
    else:
        raise TypeError(f"{func}: seed must be an integer, a numpy.random.SeedSequence "
                        f"or Generator, or None, got {type(seed).__name__}")
    low, high = sequence.generate_state(2, np.uint32)
    return int(low) | int(high) << 32


def rrelu(x: ArrayLike, lower: float = 1 / 8, upper: float = 1 / 3, *,
          training: bool = True, seed: Seed = None,
          out: NDArray[Any] | None = None) -> NDArray[Any]:
    """Randomized leaky ReLU: ``x > 0 ? x : a * x`` with a random slope ``a``.

    In training each element gets its own slope, drawn uniformly from
    ``[lower, upper]``; in evaluation the slope is ``(lower + upper) / 2``
    for all (as `leaky_relu`).

    Parameters
    ----------
    x : array_like
        Input activations.
    lower, upper : float, optional
        The range of the slopes (default 1/8 and 1/3, as PyTorch); finite,
        ``lower <= upper``.
    training : bool, optional
        Draw a slope per element (default) or use the mean slope.
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        The key of the slopes.  Give the same integer (or SeedSequence) to
        `rrelu_backward` to get the same slopes there.  A Generator gives a
        key drawn from it, None a fresh one: neither can be given again.
    out : ndarray, optional
        Array of ``x``'s shape and result dtype to write into; may be ``x``.

    Returns
    -------
    y : ndarray
        ``x`` where ``x > 0``, else ``a * x``; NaN stays NaN.

    Raises
    ------
    TypeError
        If ``x`` has an unsupported dtype, ``lower``, ``upper`` or ``seed``
        the wrong type, or ``out`` the wrong dtype.
    ValueError
        If ``lower > upper``, either is not finite, the seed is negative,
        or ``out`` has the wrong shape or is read-only.

    See Also
    --------
    rrelu_backward, leaky_relu

    Notes
    -----
    Xu et al., "Empirical Evaluation of Rectified Activations in
    Convolutional Network", 2015.  The slope of the element of C-order
    index ``i`` is ``lower + (upper - lower) * u``, with ``u`` in ``[0, 1)``
    from a counter-based generator of ``(key, i)`` alone, computed in
    float32 for float16 and float32 data and in float64 for float64: the
    backward pass draws the same slopes again, nothing is stored, and the
    result does not depend on the memory layout.  The dtype rules are
    `leaky_relu`'s.

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> x = np.array([-1.0, 2.0, -3.0])
    >>> y = rk.rrelu(x, seed=7)
    >>> slopes = y[[0, 2]] / x[[0, 2]]
    >>> bool(np.all((slopes >= 1 / 8) & (slopes <= 1 / 3)))
    True
    >>> rk.rrelu(x, training=False)
    array([-0.22916667,  2.        , -0.6875    ])
    """
    func = "rrelu"
    lower, upper = _rrelu_range(func, lower, upper)
    if not training:
        x, _ = _activation(func, "x", x)
        return _ext.leaky_relu(x, (lower + upper) / 2, out=out)
    key = _rrelu_key(func, seed)
    x, dtype = _activation(func, "x", x)
    x_k = _kernel_input(x, dtype)
    y, result = _output(func, out, x.shape, dtype, x_k, (x_k,), in_place=True)
    _ext.run_rrelu([x_k, y], key, lower, upper)
    return _finish(y, result)


def rrelu_backward(dy: ArrayLike, x: ArrayLike, lower: float = 1 / 8, upper: float = 1 / 3,
                   *, training: bool = True, seed: Seed = None,
                   out: NDArray[Any] | None = None) -> NDArray[Any]:
    """Gradient of `rrelu`: ``dx = x > 0 ? dy : a * dy`` with the forward slopes.

    Parameters
    ----------
    dy : array_like
        Gradient of the loss with respect to ``rrelu(x, ...)``.
    x : array_like
        The input of the forward pass, of ``dy``'s shape.
    lower, upper : float, optional
        As given to `rrelu`.
    training : bool, optional
        As given to `rrelu`.
    seed : int or numpy.random.SeedSequence
        In training, the seed given to `rrelu` (required): the slopes are
        drawn again from it.
    out : ndarray, optional
        Array for ``dx`` (``x``'s shape, result dtype); may be ``dy`` or ``x``.

    Returns
    -------
    dx : ndarray
        ``dy`` where ``x > 0``, ``a * dy`` where ``x <= 0``, NaN where ``x``
        is NaN; dtype ``np.result_type(dy, x)``.

    Raises
    ------
    TypeError
        As `rrelu`; also if ``seed`` is missing in training or is a Generator.
    ValueError
        As `rrelu`; also if ``dy`` and ``x`` differ in shape.

    See Also
    --------
    rrelu

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> x = np.array([-1.0, 2.0, -3.0])
    >>> y = rk.rrelu(x, seed=7)
    >>> dx = rk.rrelu_backward(np.ones(3), x, seed=7)
    >>> bool(np.all(dx * x == y))
    True
    """
    func = "rrelu_backward"
    lower, upper = _rrelu_range(func, lower, upper)
    if not training:
        dy, _ = _activation(func, "dy", dy)
        x, _ = _activation(func, "x", x)
        _same_shape(func, ("dy", "x"), dy, x)
        return _ext.leaky_relu_backward(dy, x, (lower + upper) / 2, out=out)
    if seed is None:
        raise TypeError(f"{func}: seed is required in training: pass the seed given to rrelu")
    key = _rrelu_key(func, seed, generator_allowed=False)
    dy, _ = _activation(func, "dy", dy)
    x, _ = _activation(func, "x", x)
    _same_shape(func, ("dy", "x"), dy, x)
    dtype = _joint_dtype(func, dy, x)
    dy_k, x_k = _kernel_input(dy, dtype), _kernel_input(x, dtype)
    dx, result = _output(func, out, x.shape, dtype, x_k, (dy_k, x_k), in_place=True)
    _ext.run_rrelu([dy_k, x_k, dx], key, lower, upper)
    return _finish(dx, result)
