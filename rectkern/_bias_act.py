"""bias_act and bias_act_backward: an affine layer's bias and activation in
one pass, and in backward the bias gradient summed in the same pass."""

from __future__ import annotations

import numbers
from typing import Any, SupportsIndex

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _ext
from ._ops import (_activation, _axis, _compute_slopes, _finish, _kernel_input, _output,
                   _same_shape, _slopes)

__all__ = ["bias_act", "bias_act_backward", "BIAS_ACTIVATIONS"]

_OP_INDEX = {op.name: i for i, op in enumerate(_ext.ELEMENTWISE)}

# name: (the elementwise op applied to z + bias, its gradient, its alpha):
# alpha "none" (must not be given), "scalar" (one float) or "slopes" (prelu's:
# one value, or one per channel)
BIAS_ACTIVATIONS = {
    "identity": (None, None, "none"),
    "relu": ("relu", "relu_backward", "none"),
    "leaky_relu": ("leaky_relu", "leaky_relu_backward", "scalar"),
    "prelu": ("leaky_relu", "leaky_relu_backward", "slopes"),
    "elu": ("elu", "elu_backward", "scalar"),
    "selu": ("selu", "selu_backward", "none"),
    "gelu": ("gelu", "gelu_backward", "none"),
    "gelu_tanh": ("gelu_tanh", "gelu_tanh_backward", "none"),
    "silu": ("silu", "silu_backward", "none"),
    "softplus": ("softplus", "softplus_backward", "none"),
}


def _op_index(name):
    """The registry row of an elementwise op; -1 for the identity (None)."""
    return -1 if name is None else _OP_INDEX[name]


def _activation_name(func, activation):
    if not isinstance(activation, str):
        raise TypeError(f"{func}: activation must be a string, got {activation!r}")
    if activation not in BIAS_ACTIVATIONS:
        raise ValueError(f"{func}: unknown activation {activation!r}; expected one of "
                         f"{', '.join(map(repr, BIAS_ACTIVATIONS))}")
    return BIAS_ACTIVATIONS[activation]


def _bias(func, bias, z, axis):
    b = np.asarray(bias)
    _ext.activation_dtype(func, "bias", b.dtype)
    if b.ndim != 1 or b.shape[0] != z.shape[axis]:
        raise ValueError(
            f"{func}: bias must have shape ({z.shape[axis]},), one value per channel of z "
            f"along axis {axis}, got shape {b.shape}")
    return b


def _alpha(func, activation, kind, alpha, z, axis, dtype):
    """alpha as the kernel takes it (None, or contiguous compute-type
    values), and as an array of what was given (None where none is)."""
    if kind == "none":
        if alpha is not None:
            raise ValueError(f"{func}: activation {activation!r} takes no alpha, got {alpha!r}")
        return None, None
    if alpha is None:
        raise ValueError(f"{func}: activation {activation!r} needs alpha")
    if kind == "scalar":
        real = isinstance(alpha, (numbers.Real, np.ndarray)) and np.ndim(alpha) == 0
        if isinstance(alpha, (bool, np.bool_)) or not real:
            raise TypeError(f"{func}: alpha of {activation!r} must be a real number, "
                            f"got {alpha!r}")
        a = np.asarray(alpha)
        _ext.activation_dtype(func, "alpha", a.dtype)
        return _compute_slopes(a, dtype), a
    a, _ = _slopes(func, alpha, z, axis, "z")
    return _compute_slopes(a, dtype), a


def _compute_bias(b, dtype):
    return np.array(b, dtype=np.float64 if dtype == np.float64 else np.float32, order="C",
                    copy=True)


def _grad(values, given):
    """A float64 sum returned in the shape and dtype of the parameter given
    (float64 for a Python number or an integer array)."""
    dtype = given.dtype if given.dtype.kind == "f" else np.dtype(np.float64)
    with np.errstate(over="ignore"):
        grad = values.astype(dtype).reshape(given.shape)
    return grad[()] if given.ndim == 0 else grad


def bias_act(z: ArrayLike, bias: ArrayLike, activation: str = "relu", *,
             alpha: Any = None, axis: SupportsIndex = -1,
             out: NDArray[Any] | None = None) -> NDArray[Any]:
    """An activation applied to ``z + bias``, in one pass: ``g(z + bias)``.

    Parameters
    ----------
    z : array_like
        Pre-activations, such as ``x @ W``.
    bias : array_like
        Shape ``(C,)``, one value per channel of ``z`` along ``axis``.
    activation : str, optional
        One of ``"identity"``, ``"relu"`` (default), ``"leaky_relu"``,
        ``"prelu"``, ``"elu"``, ``"selu"``, ``"gelu"``, ``"gelu_tanh"``,
        ``"silu"``, ``"softplus"``.
    alpha : float or array_like, optional
        The activation's parameter, given exactly when it takes one:
        ``leaky_relu`` and ``elu`` a real number, ``prelu`` a scalar (shared)
        or one slope per channel.
    axis : int, optional
        The channel axis of ``z``: -1 (default) for dense layers, 1 for
        NCHW feature maps.
    out : ndarray, optional
        Array of ``z``'s shape and the result dtype to write into; may be
        ``z``.

    Returns
    -------
    y : ndarray
        ``g(z + bias)``, of dtype ``np.result_type(z, bias)`` (as a float).

    Raises
    ------
    TypeError
        If an array has an unsupported dtype, activation is not a string,
        alpha of ``leaky_relu`` or ``elu`` is not a number, or ``out`` has
        the wrong dtype.
    ValueError
        If activation is unknown, bias or a per-channel alpha has the wrong
        length, alpha is given where the activation takes none (or missing
        where it needs one), or ``out`` has the wrong shape or is read-only.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    See Also
    --------
    bias_act_backward, relu, prelu, gelu

    Notes
    -----
    ``z + bias`` is rounded to the compute type (float32 for float16 and
    float32, float64 for float64) and the activation is rectkern's own op
    on it, so the result equals ``rk.<activation>(s)`` with ``s = z + bias``
    in the compute type, rounded to the result dtype: bit for bit, at every
    level and for any layout.  If the call raises, ``out`` is unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> z = np.array([[-1.0, 0.5], [2.0, -3.0]])
    >>> rk.bias_act(z, np.array([0.5, 1.0]))
    array([[0. , 1.5],
           [2.5, 0. ]])
    >>> rk.bias_act(z, np.array([0.5, 1.0]), "leaky_relu", alpha=0.1)
    array([[-0.05,  1.5 ],
           [ 2.5 , -0.2 ]])
    """
    entry = BIAS_ACTIVATIONS.get(activation) if type(activation) is str else None
    if entry is not None:
        result = _ext.bias_act_fast(z, bias, _op_index(entry[0]), entry[2], alpha, axis, out)
        if result is not None:
            return result
    func = "bias_act"
    forward, _, kind = _activation_name(func, activation)
    z, _ = _activation(func, "z", z)
    axis = _axis(func, axis, z.ndim)
    b = _bias(func, bias, z, axis)
    dtype = _ext.activation_dtype(func, "z, bias", np.result_type(z, b))
    kernel_alpha, _ = _alpha(func, activation, kind, alpha, z, axis, dtype)
    z_k = _kernel_input(z, dtype)
    y, result = _output(func, out, z.shape, dtype, z_k, (z_k,), in_place=True)
    _ext.run_bias_act(z_k, _compute_bias(b, dtype), y, axis, _op_index(forward), kernel_alpha)
    return _finish(y, result)


def bias_act_backward(dy: ArrayLike, z: ArrayLike, bias: ArrayLike, activation: str = "relu",
                      *, alpha: Any = None, axis: SupportsIndex = -1,
                      out: NDArray[Any] | None = None) -> tuple[Any, ...]:
    """Gradients of `bias_act`, in one pass over ``dy`` and ``z``.

    Parameters
    ----------
    dy : array_like
        Gradient of the loss with respect to ``bias_act(z, bias, ...)``.
    z, bias, activation, alpha, axis
        As given to `bias_act`.
    out : ndarray, optional
        Array for ``dz`` (``z``'s shape, result dtype); may be ``dy`` or
        ``z``.

    Returns
    -------
    dz : ndarray
        ``g'(z + bias) * dy``: the activation's backward op on ``dy`` and
        ``s = z + bias`` (compute type), of dtype
        ``np.result_type(dy, z, bias)``.
    dbias : ndarray
        The sum of ``dz`` over every axis but ``axis``, in bias's shape and
        dtype (float64 for an integer bias).
    dalpha : ndarray or scalar
        prelu only: the sum over ``s <= 0`` of ``s * dy`` per channel (over
        everything for a shared alpha), in alpha's shape and dtype.

    Raises
    ------
    TypeError, ValueError, numpy.exceptions.AxisError
        As `bias_act`; also ValueError if ``dy`` and ``z`` differ in shape.

    See Also
    --------
    bias_act, prelu_backward

    Notes
    -----
    ``dbias`` and ``dalpha`` are exact sums of their float64 terms, rounded
    once (``math.fsum``; "Sums" in the README): the same bits in any
    layout, order or split and at every level.  ``dz`` equals the
    activation's own backward op on ``s`` bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> import rectkern as rk
    >>> z = np.array([[-1.0, 0.5], [2.0, -3.0]])
    >>> dz, dbias = rk.bias_act_backward(np.ones((2, 2)), z, np.array([0.5, 1.0]))
    >>> dz
    array([[0., 1.],
           [1., 0.]])
    >>> dbias
    array([1., 1.])
    """
    entry = BIAS_ACTIVATIONS.get(activation) if type(activation) is str else None
    if entry is not None:
        result = _ext.bias_act_backward_fast(dy, z, bias, _op_index(entry[1]), entry[2], alpha,
                                             axis, out)
        if result is not None:
            return result
    func = "bias_act_backward"
    _, backward, kind = _activation_name(func, activation)
    dy, _ = _activation(func, "dy", dy)
    z, _ = _activation(func, "z", z)
    _same_shape(func, ("dy", "z"), dy, z)
    axis = _axis(func, axis, z.ndim)
    b = _bias(func, bias, z, axis)
    dtype = _ext.activation_dtype(func, "dy, z, bias", np.result_type(dy, z, b))
    kernel_alpha, alpha_given = _alpha(func, activation, kind, alpha, z, axis, dtype)
    dy_k, z_k = _kernel_input(dy, dtype), _kernel_input(z, dtype)
    dz, result = _output(func, out, z.shape, dtype, z_k, (dy_k, z_k), in_place=True)
    slopes = kind == "slopes"
    dbias = np.empty(b.shape, np.float64)
    dalpha = np.empty(kernel_alpha.shape if slopes else (0,), np.float64)
    _ext.run_bias_act_backward(dy_k, z_k, _compute_bias(b, dtype), dz, axis,
                               _op_index(backward), kernel_alpha, slopes, dbias, dalpha)
    grads = (_finish(dz, result), _grad(dbias, b))
    return grads + (_grad(dalpha, alpha_given),) if slopes else grads
