"""The smooth activations' errors in ULP against correctly rounded results.

The exact values come from mpmath for float64 and from the float64 twins
(rectkern._reference) for float32 and float16, whose own error is far below
a float32 ULP.  An error is measured in units in the last place of the
exact result in the op's dtype; near the zero of a derivative (the gradients
of GELU, GELU-tanh and SiLU for -2 <= x <= 0) the unit is at least
ulp(2**-10 * |dy|), as the accuracy contract says.  Used by
tests/test_accuracy.py (samples sized for CI) and tools/accuracy.py (the
full measurement behind the README's table).
"""

from __future__ import annotations

import numpy as np

import rectkern as rk
from rectkern import _reference as ref

from ._arrays import GRADIENT_ZERO

SMOOTH = tuple(op for op in rk._ext.ELEMENTWISE if op.family == "smooth")
ALPHA = 1.0                           # the parameter of elu, as PyTorch's default


def _mp():
    import mpmath
    mpmath.mp.prec = 160
    return mpmath


def _exact_function(name):
    """name's mathematical function of (x, dy, alpha) as mpmath numbers."""
    mp = _mp()
    # SELU's constants as the decimals that define them
    scale = mp.mpf("1.0507009873554804934193349852946")
    selu_alpha = mp.mpf("1.6732632423543772848170429916717")
    c, k = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")

    def sigmoid(v):
        return 1 / (1 + mp.exp(-v))

    def ncdf(x):
        # mpmath's erfc overflows for huge arguments; its asymptotic series
        # is exact far beyond float64 there
        if abs(x) < 1000:
            return mp.ncdf(x)
        tail = mp.npdf(x) / abs(x) * (1 - 1 / x**2 + 3 / x**4)
        return tail if x < 0 else 1 - tail

    def gelu_tanh_s(x):
        return sigmoid(2 * c * (x + k * x ** 3))

    functions = {
        "elu": lambda x, dy, a: x if x > 0 else a * mp.expm1(x),
        "elu_backward": lambda x, dy, a: dy if x > 0 else dy * a * mp.exp(x),
        "selu": lambda x, dy, a: scale * (x if x > 0 else selu_alpha * mp.expm1(x)),
        "selu_backward": lambda x, dy, a: dy * scale * (1 if x > 0 else selu_alpha * mp.exp(x)),
        "gelu": lambda x, dy, a: x * ncdf(x),
        "gelu_backward": lambda x, dy, a: dy * (ncdf(x) + x * mp.npdf(x)),
        "gelu_tanh": lambda x, dy, a: x * gelu_tanh_s(x),
        "gelu_tanh_backward": lambda x, dy, a: dy * (
            gelu_tanh_s(x) + 2 * x * gelu_tanh_s(x) * (1 - gelu_tanh_s(x))
            * c * (1 + 3 * k * x * x)),
        "silu": lambda x, dy, a: x * sigmoid(x),
        "silu_backward": lambda x, dy, a: dy * sigmoid(x) * (1 + x * (1 - sigmoid(x))),
        "softplus": lambda x, dy, a: mp.log1p(mp.exp(x)),
        "softplus_backward": lambda x, dy, a: dy * sigmoid(x),
    }
    return functions[name]


def _to_float(v):
    """An mpmath number as the nearest float, infinite beyond the largest."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def exact_float64(name, x, dy, alpha=ALPHA):
    """The exact values at finite float64 points, as mpmath numbers."""
    mp = _mp()
    f = _exact_function(name)
    a = mp.mpf(float(alpha))
    return [f(mp.mpf(float(xi)), mp.mpf(float(di)), a) for xi, di in zip(x, dy)]


def _call(row, x, dy, alpha):
    inputs = (x,) if len(row.inputs) == 1 else (dy, x)
    params = (alpha,) * len(row.params)
    with np.errstate(all="ignore"):
        return getattr(rk, row.name)(*inputs, *params), getattr(ref, row.name)(
            *[a.astype(np.float64) for a in inputs], *params) if x.dtype != np.float64 else None


def ulp_unit(name, dtype, exact, x, dy):
    """The ULP of each exact value in dtype (floored near a gradient's zero)."""
    info = np.finfo(dtype)
    magnitude = np.abs(exact)
    rounded = np.minimum(magnitude, float(info.max)).astype(dtype)
    unit = np.spacing(rounded).astype(np.float64)
    unit = np.where(magnitude < float(info.smallest_normal), float(info.smallest_subnormal),
                    np.maximum(unit, float(info.smallest_subnormal)))
    if name in GRADIENT_ZERO:
        near = (x >= -2) & (x <= 0)
        floor = np.spacing((np.abs(dy) * 2.0 ** -10).astype(dtype)).astype(np.float64)
        unit = np.where(near, np.maximum(unit, floor), unit)
    return unit


def ulp_errors(row, x, dy, alpha=ALPHA):
    """The kernel's error at each point, in ULP; where the result or the
    exact value is not finite and the two differ, infinitely wrong."""
    with np.errstate(all="ignore"):
        return _ulp_errors(row, x, dy, alpha)


def _ulp_errors(row, x, dy, alpha):
    dtype = x.dtype
    got, wide = _call(row, x, dy, alpha)
    if dtype == np.float64:
        mp = _mp()
        exact = exact_float64(row.name, x, dy, alpha)
        exact_float = np.array([_to_float(v) for v in exact])
        error = np.array([_to_float(abs(mp.mpf(float(g)) - e)) if np.isfinite(g) else np.inf
                          for g, e in zip(got, exact)])
    else:
        exact_float = wide
        error = np.abs(got.astype(np.float64) - wide)
    # an exact value beyond the largest float must round to the same infinity
    exact_rounded = exact_float.astype(dtype)
    finite = np.isfinite(exact_rounded)
    same_special = ~finite & (got == exact_rounded)
    error = np.where(same_special, 0.0, np.where(finite, error, np.inf))
    if row.name == "gelu" and dtype == np.float64:
        # float64 GELU's bound holds where the result is not below x's own
        # resolution; deeper in the tail nothing is measured
        error = np.where(np.abs(exact_float) < 2.0**-52 * np.abs(x), 0.0, error)
    unit = ulp_unit(row.name, dtype, np.where(finite, exact_float, 0.0), x.astype(np.float64),
                 dy.astype(np.float64))
    return error / unit


def float16_mismatches(row, dy_value=1.0, alpha=ALPHA):
    """Every float16 x: (x, kernel, correctly rounded) where they differ, and
    how many of those are double roundings (the exact value within a
    float32 ULP of the midpoint between two float16 neighbours)."""
    bits = np.arange(1 << 16, dtype=np.uint16)
    x = bits.view(np.float16)
    x = x[~np.isnan(x)]
    dy = np.full_like(x, dy_value)
    got, wide = _call(row, x, dy, alpha)
    with np.errstate(over="ignore"):
        want = wide.astype(np.float16)
    differ = ~((got == want) | (np.isnan(got) & np.isnan(want))
               | ((got == 0) & (want == 0) & (np.signbit(got) == np.signbit(want))))
    exact = wide[differ]
    low = np.minimum(got[differ], want[differ]).astype(np.float64)
    high = np.maximum(got[differ], want[differ]).astype(np.float64)
    midpoint = (low + high) / 2
    near = np.abs(exact - midpoint) <= np.spacing(np.abs(exact).astype(np.float32))
    adjacent = np.nextafter(got[differ], want[differ]) == want[differ]
    return x[differ], got[differ], want[differ], near & adjacent


def sample_float32(count, seed=0):
    """Every exponent (random bit patterns), dense [-20, 20], and the edges."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 1 << 32, count // 2, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    dense = rng.uniform(-20, 20, count - x.size).astype(np.float32)
    x = np.concatenate([x[np.isfinite(x)], dense, edges(np.float32)])
    return x


def sample_float64(count, seed=0):
    """Every exponent, dense [-40, 40], magnitudes 1e-8 .. 40, and the edges."""
    rng = np.random.default_rng(seed)
    third = count // 3
    bits = rng.integers(0, 1 << 63, third, dtype=np.uint64) | (
        rng.integers(0, 2, third, dtype=np.uint64) << np.uint64(63))
    x = bits.view(np.float64)
    dense = rng.uniform(-40, 40, third)
    log_spread = np.exp(rng.uniform(np.log(1e-8), np.log(40), count - 2 * third))
    log_spread *= rng.choice([-1.0, 1.0], log_spread.size)
    return np.concatenate([x[np.isfinite(x)], dense, log_spread, edges(np.float64)])


def edges(dtype):
    """Zeros, subnormals, the largest values, and points around +-1 .. 40."""
    info = np.finfo(dtype)
    points = [0.0, -0.0, float(info.smallest_subnormal), -float(info.smallest_subnormal),
              float(info.smallest_normal), -float(info.smallest_normal),
              float(info.max), -float(info.max), 1e-30, -1e-30]
    points += list(np.linspace(-40, 40, 801))
    x = np.array(points, np.float64).astype(dtype)
    with np.errstate(over="ignore"):
        x = np.concatenate([x, np.nextafter(x, np.inf), np.nextafter(x, -np.inf)])
    return x[np.isfinite(x)]


def gradients(x, seed=1):
    """dy for the backward ops: 1 for the first half, random in [-4, 4] after."""
    dy = np.ones_like(x)
    half = x.size // 2
    dy[half:] = np.random.default_rng(seed).uniform(-4, 4, x.size - half).astype(x.dtype)
    return dy
