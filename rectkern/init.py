"""Weight initialisers for layers followed by rectifiers.

Implements He (Kaiming) initialisation for ReLU, leaky ReLU, PReLU and
absolute-value rectification, together with Glorot (Xavier) initialisation
for comparison.  Weights follow the PyTorch layout: ``(out_features,
in_features)`` for dense layers and ``(out_channels, in_channels,
*kernel_size)`` for convolutions.
"""

from __future__ import annotations

import math
import numbers
import operator
import sys
from typing import Any, Sequence, SupportsIndex, Union

import numpy as np
from numpy.typing import DTypeLike, NDArray

# What the public functions take: a shape like NumPy's, an rng argument.
ShapeLike = Union[SupportsIndex, Sequence[SupportsIndex]]
RngLike = Union[None, int, np.random.Generator]

__all__ = [
    "fans",
    "gain",
    "he_std",
    "he_normal",
    "he_uniform",
    "xavier_normal",
    "xavier_uniform",
    "glorot_normal",
    "glorot_uniform",
]

_MODES = ("fan_in", "fan_out")
_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_GAIN_NAMES = ("linear", "identity", "relu", "leaky_relu", "prelu", "abs")


def _normalize_shape(shape: ShapeLike, func: str) -> tuple[int, ...]:
    # Same convention as NumPy: a bare integer means a 1-d shape.
    try:
        dims = (operator.index(shape),)
    except TypeError:
        try:
            dims = tuple(operator.index(d) for d in shape)
        except TypeError:
            raise TypeError(
                f"{func}: shape must be an int or a tuple of ints, got {shape!r}"
            ) from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{func}: shape must not have negative dimensions, got {dims}")
    return dims


def _fans(shape: ShapeLike, func: str) -> tuple[int, int]:
    dims = _normalize_shape(shape, func)
    if len(dims) < 2:
        raise ValueError(f"{func}: shape must have at least 2 dimensions, got {dims}")
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def _nonzero_fans(shape: ShapeLike, func: str) -> tuple[int, int]:
    fan_in, fan_out = _fans(shape, func)
    # A zero fan means an empty layer; refuse rather than divide by zero.
    if fan_in == 0 or fan_out == 0:
        raise ValueError(
            f"{func}: shape {_normalize_shape(shape, func)} has a zero fan "
            f"(fan_in={fan_in}, fan_out={fan_out})"
        )
    # The scales are computed in floats: a fan past float64's range has none.
    if fan_in + fan_out > sys.float_info.max:
        raise ValueError(f"{func}: shape has fans beyond float64's range")
    return fan_in, fan_out


def _real(value: object, name: str, func: str) -> float:
    # float() would also accept strings such as "0.25"; only take numbers.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{func}: {name} must be finite, got {value!r}")
    return out


def _he_std(shape: ShapeLike, a: float, mode: str, func: str) -> float:
    a = _real(a, "a", func)
    if mode not in _MODES:
        raise ValueError(f"{func}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _nonzero_fans(shape, func)
    fan = fan_in if mode == "fan_in" else fan_out
    return math.sqrt(2.0 / ((1.0 + a * a) * fan))


def _xavier_args(shape: ShapeLike, gain: float, func: str) -> tuple[float, int, tuple[int, ...]]:
    gain = _real(gain, "gain", func)
    if gain < 0:
        raise ValueError(f"{func}: gain must be non-negative, got {gain!r}")
    fan_in, fan_out = _nonzero_fans(shape, func)
    return gain, fan_in + fan_out, _normalize_shape(shape, func)


def _generator(rng: RngLike, func: str) -> np.random.Generator:
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    # bool is an int subclass, but a boolean seed is almost certainly a mistake.
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise TypeError(
            f"{func}: rng must be None, an int seed or a numpy.random.Generator, "
            f"got {type(rng).__name__}"
        )
    if rng < 0:
        raise ValueError(f"{func}: rng seed must be non-negative, got {rng}")
    return np.random.default_rng(int(rng))


def _float_dtype(dtype: DTypeLike, func: str) -> np.dtype[Any]:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{func}: dtype must be float16, float32 or float64, got {dtype!r}"
        ) from None
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{func}: dtype must be float16, float32 or float64, got {dt}")
    return dt


# Sampling always happens in float64 so a seed gives the same values (up to
# rounding) whatever the requested dtype.
def _draw_normal(shape: tuple[int, ...], std: float, rng: RngLike, dtype: DTypeLike,
                 func: str) -> NDArray[Any]:
    gen = _generator(rng, func)
    dt = _float_dtype(dtype, func)
    return (gen.standard_normal(shape) * std).astype(dt, copy=False)


def _draw_uniform(shape: tuple[int, ...], bound: float, rng: RngLike, dtype: DTypeLike,
                  func: str) -> NDArray[Any]:
    gen = _generator(rng, func)
    dt = _float_dtype(dtype, func)
    return gen.uniform(-bound, bound, shape).astype(dt, copy=False)


def fans(shape: ShapeLike) -> tuple[int, int]:
    """Return the fan-in and fan-out of a weight tensor.

    Parameters
    ----------
    shape : int or tuple of int
        Weight shape, ``(out_features, in_features)`` for a dense layer or
        ``(out_channels, in_channels, *kernel_size)`` for a convolution.

    Returns
    -------
    tuple of (int, int)
        ``(fan_in, fan_out)``.

    Raises
    ------
    TypeError
        If `shape` is not an int or a sequence of ints.
    ValueError
        If `shape` has fewer than 2 dimensions or a negative dimension.

    Notes
    -----
    With receptive field size :math:`r = \\prod_{i \\ge 2} \\text{shape}[i]`,
    ``fan_in = shape[1] * r`` (:math:`n_l = k^2 c`) and
    ``fan_out = shape[0] * r`` (:math:`\\hat n_l = k^2 d`) in the notation
    of He et al., Delving Deep into Rectifiers, 2015.

    Examples
    --------
    >>> from rectkern import init
    >>> init.fans((10, 20))
    (20, 10)
    >>> init.fans((64, 3, 7, 7))
    (147, 3136)
    >>> init.fans(5)
    Traceback (most recent call last):
    ...
    ValueError: fans: shape must have at least 2 dimensions, got (5,)
    """
    return _fans(shape, "fans")


def gain(nonlinearity: str = "relu", a: float = 0.0) -> float:
    """Return the recommended weight-scale gain for a nonlinearity.

    Parameters
    ----------
    nonlinearity : str, default "relu"
        One of ``"linear"``, ``"identity"``, ``"relu"``, ``"leaky_relu"``,
        ``"prelu"`` or ``"abs"``.
    a : float, default 0.0
        Negative-half slope; only used by ``"leaky_relu"`` and ``"prelu"``.

    Returns
    -------
    float
        The gain :math:`g`, such that ``std = g / sqrt(fan)``.

    Raises
    ------
    ValueError
        If `nonlinearity` is not an accepted name, or `a` is not finite.
    TypeError
        If `a` is not a real number.

    Notes
    -----
    For a rectifier with negative slope :math:`a` the gain is
    :math:`\\sqrt{2 / (1 + a^2)}` (He et al., Delving Deep into Rectifiers,
    2015): ``"relu"`` is :math:`a = 0`, giving :math:`\\sqrt 2`, and
    ``"abs"`` is :math:`a = -1`, giving 1.  Linear layers have gain 1.

    Examples
    --------
    >>> from rectkern import init
    >>> round(init.gain("relu"), 4)
    1.4142
    >>> round(init.gain("prelu", a=0.25), 4)
    1.372
    >>> init.gain("abs")
    1.0
    """
    if not isinstance(nonlinearity, str) or nonlinearity not in _GAIN_NAMES:
        raise ValueError(
            f"gain: nonlinearity must be one of {', '.join(map(repr, _GAIN_NAMES))}; "
            f"got {nonlinearity!r}"
        )
    a = _real(a, "a", "gain")
    if nonlinearity in ("linear", "identity"):
        return 1.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "abs":
        return 1.0
    return math.sqrt(2.0 / (1.0 + a * a))


def he_std(shape: ShapeLike, a: float = 0.0, mode: str = "fan_in") -> float:
    """Return the He (Kaiming) standard deviation for a weight tensor.

    Parameters
    ----------
    shape : int or tuple of int
        Weight shape in PyTorch layout (see `fans`).
    a : float, default 0.0
        Negative slope of the following rectifier (0 for ReLU, the PReLU
        coefficient for PReLU, -1 for absolute value).
    mode : {"fan_in", "fan_out"}, default "fan_in"
        ``"fan_in"`` preserves forward-signal variance, ``"fan_out"``
        preserves backward-gradient variance.

    Returns
    -------
    float
        The standard deviation.

    Raises
    ------
    ValueError
        If `mode` is invalid, `a` is not finite, `shape` has fewer than
        2 or negative dimensions, or either fan is zero.
    TypeError
        If `shape` or `a` has the wrong type.

    Notes
    -----
    :math:`\\sigma = \\sqrt{2 / ((1 + a^2)\\, n)}` with :math:`n` the
    fan-in (forward form, :math:`n_l = k^2 c`) or fan-out (backward form,
    :math:`\\hat n_l = k^2 d`); He et al., Delving Deep into Rectifiers,
    2015.

    Examples
    --------
    The backward-form values quoted for 3x3 VGG layers:

    >>> from rectkern import init
    >>> [round(init.he_std((d, d, 3, 3), mode="fan_out"), 3)
    ...  for d in (64, 128, 256, 512)]
    [0.059, 0.042, 0.029, 0.021]
    >>> round(init.he_std((64, 64, 3, 3), mode="fan_out"), 3)
    0.059
    >>> round(init.he_std((256, 128), a=0.25), 4)
    0.1213
    """
    return _he_std(shape, a, mode, "he_std")


def he_normal(
    shape: ShapeLike,
    a: float = 0.0,
    mode: str = "fan_in",
    *,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[Any]:
    """Draw weights from the He (Kaiming) normal distribution.

    Parameters
    ----------
    shape : int or tuple of int
        Weight shape in PyTorch layout (see `fans`).
    a : float, default 0.0
        Negative slope of the following rectifier.
    mode : {"fan_in", "fan_out"}, default "fan_in"
        Which fan sets the scale (see `he_std`).
    rng : None, int or numpy.random.Generator, optional
        Random source; an int is used as a seed, None draws fresh entropy.
    dtype : float16, float32 or float64, default float64
        Output dtype; samples are drawn in float64 and then cast.

    Returns
    -------
    numpy.ndarray
        Array of `shape` with entries from :math:`N(0, \\sigma^2)`.

    Raises
    ------
    ValueError
        For the invalid arguments listed in `he_std`, or a negative seed.
    TypeError
        If `rng` or `dtype` has an unsupported type.

    Notes
    -----
    :math:`\\sigma = \\sqrt{2 / ((1 + a^2)\\, n)}`, :math:`n` the fan given
    by `mode`; He et al., Delving Deep into Rectifiers, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from rectkern import init
    >>> w = init.he_normal((128, 64, 3, 3), rng=np.random.default_rng(0))
    >>> w.shape
    (128, 64, 3, 3)
    >>> w.dtype
    dtype('float64')
    >>> round(float(w.std()), 2)
    0.06
    >>> init.he_normal((4, 3), rng=0, dtype=np.float32).dtype
    dtype('float32')
    """
    std = _he_std(shape, a, mode, "he_normal")
    return _draw_normal(_normalize_shape(shape, "he_normal"), std, rng, dtype, "he_normal")


def he_uniform(
    shape: ShapeLike,
    a: float = 0.0,
    mode: str = "fan_in",
    *,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
) -> NDArray[Any]:
    """Draw weights from the He (Kaiming) uniform distribution.

    Parameters
    ----------
    shape : int or tuple of int
        Weight shape in PyTorch layout (see `fans`).
    a : float, default 0.0
        Negative slope of the following rectifier.
    mode : {"fan_in", "fan_out"}, default "fan_in"
        Which fan sets the scale (see `he_std`).
    rng : None, int or numpy.random.Generator, optional
        Random source; an int is used as a seed, None draws fresh entropy.
    dtype : float16, float32 or float64, default float64
        Output dtype; samples are drawn in float64 and then cast.

    Returns
    -------
    numpy.ndarray
        Array of `shape` with entries from :math:`U(-b, b)`.

    Raises
    ------
    ValueError
        For the invalid arguments listed in `he_std`, or a negative seed.
    TypeError
        If `rng` or `dtype` has an unsupported type.

    Notes
    -----
    :math:`b = \\sqrt 3\\, \\sigma = \\sqrt{6 / ((1 + a^2)\\, n)}`, which gives
    the same variance as `he_normal`; He et al., Delving Deep into
    Rectifiers, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from rectkern import init
    >>> w = init.he_uniform((256, 128), rng=np.random.default_rng(0))
    >>> w.shape
    (256, 128)
    >>> bound = 3 ** 0.5 * init.he_std((256, 128))
    >>> bool(np.abs(w).max() <= bound)
    True
    """
    bound = math.sqrt(3.0) * _he_std(shape, a, mode, "he_uniform")
    return _draw_uniform(
        _normalize_shape(shape, "he_uniform"), bound, rng, dtype, "he_uniform"
    )


def xavier_normal(shape: ShapeLike, gain: float = 1.0, *, rng: RngLike = None,
                  dtype: DTypeLike = np.float64) -> NDArray[Any]:
    """Draw weights from the Glorot (Xavier) normal distribution.

    Parameters
    ----------
    shape : int or tuple of int
        Weight shape in PyTorch layout (see `fans`).
    gain : float, default 1.0
        Non-negative scale factor, e.g. ``init.gain("relu")``.
    rng : None, int or numpy.random.Generator, optional
        Random source; an int is used as a seed, None draws fresh entropy.
    dtype : float16, float32 or float64, default float64
        Output dtype; samples are drawn in float64 and then cast.

    Returns
    -------
    numpy.ndarray
        Array of `shape` with entries from :math:`N(0, \\sigma^2)`.

    Raises
    ------
    ValueError
        If `shape` has fewer than 2 or negative dimensions or a zero fan,
        `gain` is negative or not finite, or the seed is negative.
    TypeError
        If `shape`, `gain`, `rng` or `dtype` has an unsupported type.

    Notes
    -----
    :math:`\\sigma = g \\sqrt{2 / (n_{in} + n_{out})}`; Glorot & Bengio,
    2010.

    Examples
    --------
    >>> import numpy as np
    >>> from rectkern import init
    >>> w = init.xavier_normal((300, 200), rng=np.random.default_rng(0))
    >>> w.shape, w.dtype
    ((300, 200), dtype('float64'))
    >>> round(float(w.std()), 2)
    0.06
    """
    g, fan_sum, dims = _xavier_args(shape, gain, "xavier_normal")
    return _draw_normal(dims, g * math.sqrt(2.0 / fan_sum), rng, dtype, "xavier_normal")


def xavier_uniform(shape: ShapeLike, gain: float = 1.0, *, rng: RngLike = None,
                   dtype: DTypeLike = np.float64) -> NDArray[Any]:
    """Draw weights from the Glorot (Xavier) uniform distribution.

    Parameters
    ----------
    shape : int or tuple of int
        Weight shape in PyTorch layout (see `fans`).
    gain : float, default 1.0
        Non-negative scale factor, e.g. ``init.gain("relu")``.
    rng : None, int or numpy.random.Generator, optional
        Random source; an int is used as a seed, None draws fresh entropy.
    dtype : float16, float32 or float64, default float64
        Output dtype; samples are drawn in float64 and then cast.

    Returns
    -------
    numpy.ndarray
        Array of `shape` with entries from :math:`U(-b, b)`.

    Raises
    ------
    ValueError
        If `shape` has fewer than 2 or negative dimensions or a zero fan,
        `gain` is negative or not finite, or the seed is negative.
    TypeError
        If `shape`, `gain`, `rng` or `dtype` has an unsupported type.

    Notes
    -----
    :math:`b = g \\sqrt{6 / (n_{in} + n_{out})}`; Glorot & Bengio, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from rectkern import init
    >>> w = init.xavier_uniform((300, 200), rng=np.random.default_rng(0))
    >>> w.shape
    (300, 200)
    >>> bool(np.abs(w).max() <= (6 / 500) ** 0.5)
    True
    """
    g, fan_sum, dims = _xavier_args(shape, gain, "xavier_uniform")
    return _draw_uniform(dims, g * math.sqrt(6.0 / fan_sum), rng, dtype, "xavier_uniform")


glorot_normal = xavier_normal
glorot_uniform = xavier_uniform
