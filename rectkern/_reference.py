"""Plain-NumPy twins of every rectkern op: the test oracle.

Each twin is written straight from the semantics contract with ordinary
NumPy calls (``np.where``, ``np.argmax``, ``np.sum``), slow and obvious on
purpose.  They accept valid input only; argument checking is the real ops'
business.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "selu", "selu_backward", "gelu", "gelu_backward",
    "gelu_tanh", "gelu_tanh_backward", "silu", "silu_backward",
    "softplus", "softplus_backward", "rrelu", "rrelu_backward", "rrelu_key", "rrelu_slopes",
    "prelu", "prelu_backward", "bias_act", "bias_act_backward", "maxout", "maxout_backward",
    "sgd_step", "adagrad_step", "adadelta_step", "rmsprop_step", "adam_step", "adamw_step",
    "clip_grad_norm", "exact_sum", "result_dtype", "compute_dtype",
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


# ---------------------------------------------------------------------------
# Smooth activations: the mathematical functions, evaluated in float64 for
# float16 and float32 and in long double for float64 (on x86-64 Linux, 64
# bits of precision), then rounded once to the result dtype.  The textbook
# forms where they do not cancel; the limits at +-inf spelled out.
# ---------------------------------------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_TANH_COEFFICIENT = "0.044715"


def _wide(dtype):
    return np.dtype(np.longdouble) if dtype == np.float64 else np.dtype(np.float64)


def _smooth_inputs(*arrays):
    """The arrays in the wide type, and the result dtype."""
    arrays = [np.asarray(a) for a in arrays]
    dtype = result_dtype(*arrays)
    with np.errstate(invalid="ignore"):
        return [a.astype(dtype).astype(_wide(dtype)) for a in arrays], dtype


def _parameter(alpha, dtype):
    """alpha as the kernels apply it (compute type), then widened."""
    return _compute(alpha, dtype).astype(_wide(dtype))


def _pi(dtype):
    """pi to dtype's own precision (np.pi is a float64)."""
    return 4 * np.arctan(dtype.type(1))


def _sigmoid(v):
    """1 / (1 + exp(-v)) without overflow."""
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1 / (1 + e), e / (1 + e))


def _normal_cdf(x):
    """Phi(x) = erfc(-x / sqrt(2)) / 2 to x's precision.  For |x| < 3, the
    Taylor series of erf in x's type (Phi + x phi cancels near the zero of
    GELU's derivative, so float64's erf would not do for a long double x);
    beyond, math.erfc of t = -x / sqrt(2) rounded to a float, the error of
    that rounding, which erfc magnifies by 2 t**2, taken back by a
    first-order correction in x's type."""
    sqrt2 = np.sqrt(x.dtype.type(2))
    z = np.where(np.abs(x) < 3, x, 0) / sqrt2
    term, series = z.copy(), z.copy()
    for n in range(1, 80):
        term = term * -(z * z) / n
        series = series + term / (2 * n + 1)
    small = (1 + 2 / np.sqrt(_pi(x.dtype)) * series) / 2
    t = (-x / sqrt2).astype(np.float64)
    delta = -x / sqrt2 - t
    erfc = np.asarray(np.frompyfunc(math.erfc, 1, 1)(t), np.float64).astype(x.dtype)
    slope = 2 / np.sqrt(_pi(x.dtype)) * np.exp(-(t.astype(x.dtype) ** 2))
    return np.where(np.abs(x) < 3, small, (erfc - delta * slope) / 2)


def _normal_pdf(x):
    return np.exp(-x * x / 2) / np.sqrt(2 * _pi(x.dtype))


def _gradient(dy, slope, x, dtype, tail_sign=1, exact_zero=False):
    """dy * slope in the result dtype.  The float64 kernels keep the slope's
    sign below float64's range: an infinite dy gives an infinity wherever x
    is finite, and NaN only at x = -inf, where the slope is 0.  (float16 and
    float32 compute the slope in float64, where it underflows to 0.)  The
    slope's sign in the negative tail is tail_sign; exact_zero marks slopes
    that are 0 without underflow (ELU's alpha = 0)."""
    tiny = np.isinf(dy) & (slope == 0) & np.isfinite(x) & (dtype == np.float64) & ~exact_zero
    return np.where(tiny, dy * tail_sign, dy * slope).astype(dtype)


def _finish(value, x, dtype, at_minus_inf, at_plus_inf=None):
    """value with the limits at x = -inf and +inf, in the result dtype."""
    value = np.where(np.isneginf(x), at_minus_inf, value)
    if at_plus_inf is not None:
        value = np.where(np.isposinf(x), at_plus_inf, value)
    return value.astype(dtype)


def elu(x, alpha):
    with np.errstate(all="ignore"):
        (xw,), dtype = _smooth_inputs(x)
        a = _parameter(alpha, dtype)
        return np.where(xw > 0, xw, a * np.expm1(xw)).astype(dtype)


def elu_backward(dy, x, alpha):
    with np.errstate(all="ignore"):
        (dyw, xw), dtype = _smooth_inputs(dy, x)
        a = _parameter(alpha, dtype)
        return _gradient(dyw, np.where(xw > 0, 1, a * np.exp(xw)), xw, dtype,
                         tail_sign=np.where(a < 0, -1, 1), exact_zero=(a == 0) & ~(xw > 0))


def selu(x):
    with np.errstate(all="ignore"):
        (xw,), dtype = _smooth_inputs(x)
        scale, alpha = xw.dtype.type(SELU_SCALE), xw.dtype.type(SELU_ALPHA)
        return (scale * np.where(xw > 0, xw, alpha * np.expm1(xw))).astype(dtype)


def selu_backward(dy, x):
    with np.errstate(all="ignore"):
        (dyw, xw), dtype = _smooth_inputs(dy, x)
        scale, alpha = xw.dtype.type(SELU_SCALE), xw.dtype.type(SELU_ALPHA)
        return _gradient(dyw, scale * np.where(xw > 0, 1, alpha * np.exp(xw)), xw, dtype)


def gelu(x):
    with np.errstate(all="ignore"):
        (xw,), dtype = _smooth_inputs(x)
        return _finish(xw * _normal_cdf(xw), xw, dtype, -0.0, np.inf)


def gelu_backward(dy, x):
    with np.errstate(all="ignore"):
        (dyw, xw), dtype = _smooth_inputs(dy, x)
        slope = _finish(_normal_cdf(xw) + xw * _normal_pdf(xw), xw, xw.dtype, 0.0, 1.0)
        return _gradient(dyw, slope, xw, dtype, tail_sign=-1)


def _gelu_tanh_parts(x):
    """sigmoid(2 u) (= (1 + tanh(u)) / 2) and du/dx."""
    c = np.sqrt(2 / _pi(x.dtype))
    k = x.dtype.type(GELU_TANH_COEFFICIENT)     # the decimal, to x's precision
    u = c * (x + k * x ** 3)
    return _sigmoid(2 * u), c * (1 + 3 * k * x * x)


def gelu_tanh(x):
    with np.errstate(all="ignore"):
        (xw,), dtype = _smooth_inputs(x)
        s, _ = _gelu_tanh_parts(xw)
        return _finish(xw * s, xw, dtype, -0.0)


def gelu_tanh_backward(dy, x):
    with np.errstate(all="ignore"):
        (dyw, xw), dtype = _smooth_inputs(dy, x)
        s, du = _gelu_tanh_parts(xw)
        slope = _finish(s + 2 * xw * s * (1 - s) * du, xw, xw.dtype, 0.0, 1.0)
        return _gradient(dyw, slope, xw, dtype, tail_sign=-1)


def silu(x):
    with np.errstate(all="ignore"):
        (xw,), dtype = _smooth_inputs(x)
        return _finish(xw * _sigmoid(xw), xw, dtype, -0.0)


def silu_backward(dy, x):
    with np.errstate(all="ignore"):
        (dyw, xw), dtype = _smooth_inputs(dy, x)
        s = _sigmoid(xw)
        slope = _finish(s * (1 + xw * (1 - s)), xw, xw.dtype, 0.0, 1.0)
        return _gradient(dyw, slope, xw, dtype, tail_sign=-1)


def softplus(x):
    with np.errstate(all="ignore"):
        (xw,), dtype = _smooth_inputs(x)
        return (np.maximum(xw, 0) + np.log1p(np.exp(-np.abs(xw)))).astype(dtype)


def softplus_backward(dy, x):
    with np.errstate(all="ignore"):
        (dyw, xw), dtype = _smooth_inputs(dy, x)
        return _gradient(dyw, _sigmoid(xw), xw, dtype)


# ---------------------------------------------------------------------------
# RReLU: the counter-based generator in NumPy's wrapping uint32 arithmetic
# ---------------------------------------------------------------------------

_RANDOM_KEY_STEP = 0x9E3779B97F4A7C15


def _hash32(h):
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x7FEB352D)
    h = h ^ (h >> np.uint32(15))
    h = h * np.uint32(0x846CA68B)
    return h ^ (h >> np.uint32(16))


def _random_bits(key, counter):
    low = (counter & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    high = (counter >> np.uint64(32)).astype(np.uint32)
    h = _hash32(low ^ np.uint32(key & 0xFFFFFFFF))
    return _hash32(h ^ high ^ np.uint32(key >> 32))


def rrelu_key(seed):
    """The 64-bit key of an integer seed (or a SeedSequence): two words of
    its SeedSequence."""
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    low, high = seed.generate_state(2, np.uint32)
    return int(low) | int(high) << 32


def rrelu_slopes(shape, key, lower, upper, dtype):
    """Each element's slope, by its C-order index, in the compute type."""
    counter = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape)
    comp = compute_dtype(dtype)
    with np.errstate(over="ignore"):
        if comp == np.float32:
            bits = _random_bits(key, counter) >> np.uint32(8)
            u = bits.astype(np.float32) * np.float32(2**-24)
        else:
            high = (_random_bits(key, counter) >> np.uint32(11)).astype(np.uint64)
            low = _random_bits((key + _RANDOM_KEY_STEP) % 2**64, counter).astype(np.uint64)
            u = ((high << np.uint64(32)) | low).astype(np.float64) * 2.0**-53
    low_c = comp.type(lower)
    return low_c + (comp.type(upper) - low_c) * u


def rrelu(x, lower=1 / 8, upper=1 / 3, *, training=True, seed=None):
    x = np.asarray(x)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slopes = rrelu_slopes(x.shape, rrelu_key(seed), lower, upper, result_dtype(x))
    return leaky_relu(x, slopes)


def rrelu_backward(dy, x, lower=1 / 8, upper=1 / 3, *, training=True, seed=None):
    dy, x = np.asarray(dy), np.asarray(x)
    if not training:
        return leaky_relu_backward(dy, x, (lower + upper) / 2)
    slopes = rrelu_slopes(x.shape, rrelu_key(seed), lower, upper, result_dtype(dy, x))
    return leaky_relu_backward(dy, x, slopes)


def _exact_sum_1d(terms):
    finite = np.isfinite(terms)
    if not finite.all():
        if np.isnan(terms).any() or (np.isposinf(terms).any() and np.isneginf(terms).any()):
            return math.nan
        return math.inf if np.isposinf(terms).any() else -math.inf
    values = terms.tolist()
    try:
        return math.fsum(values) + 0.0
    except OverflowError:           # a partial sum past the largest double
        exact = sum(map(Fraction, values), Fraction(0))
        try:
            return float(exact) + 0.0
        except OverflowError:
            return math.inf if exact > 0 else -math.inf


def exact_sum(terms, keep=None):
    """The float64 terms summed over every axis but `keep`, correctly rounded
    (math.fsum): NaN where a term is NaN or infinities of both signs meet,
    the infinity met otherwise, +0.0 for a zero sum, +-inf past the largest
    double."""
    terms = np.asarray(terms, np.float64)
    if keep is None:
        return np.float64(_exact_sum_1d(terms.ravel()))
    moved = np.moveaxis(terms, keep, 0)
    rows = moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))
    return np.array([_exact_sum_1d(row) for row in rows], np.float64)


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
    """(dx, dalpha); dalpha the exact sum of its float64 terms, rounded once."""
    dy, x = np.asarray(dy), np.asarray(x)
    alpha_given = np.asarray(alpha)
    a, shared = _channel_slopes(alpha, x.ndim, axis)
    dx = leaky_relu_backward(dy, x, a)
    dtype = result_dtype(dy, x)
    with np.errstate(invalid="ignore", over="ignore"):
        x64 = _compute(x, dtype).astype(np.float64)
        dy64 = _compute(dy, dtype).astype(np.float64)
        terms = np.where((x64 < 0) | np.isnan(x64), x64 * dy64, 0.0)
    dalpha = exact_sum(terms, None if shared else axis % x.ndim)
    grad_dtype = alpha_given.dtype if alpha_given.dtype.kind == "f" else np.float64
    with np.errstate(over="ignore"):
        dalpha = np.asarray(dalpha).astype(grad_dtype).reshape(alpha_given.shape)
    return dx, dalpha


BIAS_ACTIVATIONS = {   # name: (forward twin, backward twin, takes alpha)
    "identity": (None, None, False),
    "relu": ("relu", "relu_backward", False),
    "leaky_relu": ("leaky_relu", "leaky_relu_backward", True),
    "prelu": ("prelu", "leaky_relu_backward", True),
    "elu": ("elu", "elu_backward", True),
    "selu": ("selu", "selu_backward", False),
    "gelu": ("gelu", "gelu_backward", False),
    "gelu_tanh": ("gelu_tanh", "gelu_tanh_backward", False),
    "silu": ("silu", "silu_backward", False),
    "softplus": ("softplus", "softplus_backward", False),
}


def bias_preactivation(z, bias, axis, dtype):
    """s = z + bias along axis, rounded to the compute type of dtype."""
    z = np.asarray(z)
    shape = [1] * z.ndim
    shape[axis] = -1
    with np.errstate(invalid="ignore", over="ignore"):
        return _compute(z, dtype) + _compute(np.asarray(bias).reshape(shape), dtype)


def bias_act(z, bias, activation="relu", alpha=None, axis=-1):
    """The activation's twin on s = z + bias (compute type), rounded to the
    result dtype."""
    z, bias = np.asarray(z), np.asarray(bias)
    dtype = result_dtype(z, bias)
    axis %= z.ndim
    s = bias_preactivation(z, bias, axis, dtype)
    forward, _, takes_alpha = BIAS_ACTIVATIONS[activation]
    if forward is None:
        return s.astype(dtype)
    if activation == "prelu":
        y = prelu(s, alpha, axis)
    else:
        y = globals()[forward](s, alpha) if takes_alpha else globals()[forward](s)
    return y.astype(dtype)


def bias_act_backward(dy, z, bias, activation="relu", alpha=None, axis=-1):
    """(dz, dbias[, dalpha]): the gradient twin on dy and s, then dz's exact
    sum per channel, and for prelu that of the terms s * dy where s <= 0."""
    dy, z, bias = np.asarray(dy), np.asarray(z), np.asarray(bias)
    dtype = result_dtype(dy, z, bias)
    axis %= z.ndim
    s = bias_preactivation(z, bias, axis, dtype)
    dyc = _compute(dy, dtype)
    _, backward, takes_alpha = BIAS_ACTIVATIONS[activation]
    if backward is None:
        dz = dyc.astype(dtype)
    elif activation == "prelu":
        dz = leaky_relu_backward(dyc, s, _channel_slopes(alpha, z.ndim, axis)[0])
    else:
        dz = (globals()[backward](dyc, s, alpha) if takes_alpha
              else globals()[backward](dyc, s))
    dz = dz.astype(dtype)
    bias_dtype = bias.dtype if bias.dtype.kind == "f" else np.dtype(np.float64)
    with np.errstate(over="ignore"):
        dbias = exact_sum(dz.astype(np.float64), axis).astype(bias_dtype)
    if activation != "prelu":
        return dz, dbias
    a = np.asarray(alpha)
    with np.errstate(invalid="ignore", over="ignore"):
        s64, dy64 = s.astype(np.float64), dyc.astype(np.float64)
        terms = np.where((s64 < 0) | np.isnan(s64), s64 * dy64, 0.0)
    shared = a.size == 1 and a.ndim <= 1
    alpha_dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    with np.errstate(over="ignore"):
        dalpha = np.asarray(exact_sum(terms, None if shared else axis)).astype(
            alpha_dtype).reshape(a.shape)
    return dz, dbias, dalpha


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


# ---------------------------------------------------------------------------
# Optimisers: the equations of rectkern.optim, one NumPy operation each, in
# the compute type, every hyperparameter rounded to it once.  Arrays are
# updated in place, as the real functions do.
# ---------------------------------------------------------------------------

def _rule(params, grads, states, update):
    """update(c, p, g, *states) -> new p, in the compute type, for each
    parameter; c rounds a Python float to that type."""
    for i, (p, g) in enumerate(zip(params, grads)):
        ct = compute_dtype(p.dtype)
        with np.errstate(all="ignore"):
            new_p = update(ct.type, p.astype(ct), g.astype(ct), *(s[i] for s in states))
            p[...] = new_p.astype(p.dtype)


def _grad(c, g, p, weight_decay, maximize):
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + c(weight_decay) * p
    return g


def sgd_step(params, grads, momentum_buffers=None, *, step, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, maximize=False):
    def update(c, p, g, *buf):
        g = _grad(c, g, p, weight_decay, maximize)
        if momentum != 0:
            if step == 1:
                buf[0][...] = g
            else:
                buf[0][...] = buf[0] * c(momentum) + c(1.0 - dampening) * g
            g = g + c(momentum) * buf[0] if nesterov else buf[0]
        return p - c(lr) * g
    _rule(params, grads, [momentum_buffers] if momentum != 0 else [], update)


def adagrad_step(params, grads, state_sums, *, step, lr, eps, lr_decay=0.0, weight_decay=0.0,
                 maximize=False):
    clr = lr / (1.0 + (step - 1) * lr_decay)

    def update(c, p, g, total):
        g = _grad(c, g, p, weight_decay, maximize)
        total[...] = total + g * g
        return p - (c(clr) * g) / (np.sqrt(total) + c(eps))
    _rule(params, grads, [state_sums], update)


def adadelta_step(params, grads, square_avgs, acc_deltas, *, lr, rho, eps, weight_decay=0.0,
                  maximize=False):
    def update(c, p, g, square_avg, acc_delta):
        g = _grad(c, g, p, weight_decay, maximize)
        square_avg[...] = square_avg * c(rho) + (c(1.0 - rho) * g) * g
        delta = np.sqrt(acc_delta + c(eps)) / np.sqrt(square_avg + c(eps)) * g
        acc_delta[...] = acc_delta * c(rho) + (c(1.0 - rho) * delta) * delta
        return p - c(lr) * delta
    _rule(params, grads, [square_avgs, acc_deltas], update)


def rmsprop_step(params, grads, square_avgs, *, lr, alpha, eps, weight_decay=0.0,
                 momentum=0.0, centered=False, momentum_buffers=None, grad_avgs=None,
                 maximize=False):
    states = [square_avgs] + ([momentum_buffers] if momentum > 0 else []) \
        + ([grad_avgs] if centered else [])

    def update(c, p, g, square_avg, *others):
        g = _grad(c, g, p, weight_decay, maximize)
        square_avg[...] = square_avg * c(alpha) + (c(1.0 - alpha) * g) * g
        if centered:
            grad_avg = others[-1]
            grad_avg[...] = grad_avg * c(alpha) + c(1.0 - alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + c(eps)
        else:
            avg = np.sqrt(square_avg) + c(eps)
        if momentum > 0:
            buf = others[0]
            buf[...] = buf * c(momentum) + g / avg
            return p - c(lr) * buf
        return p - (c(lr) * g) / avg
    _rule(params, grads, states, update)


def _adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, maximize, decoupled):
    step_size = lr / (1.0 - beta1 ** step)
    bias_correction2_sqrt = float(np.sqrt(1.0 - beta2 ** step))

    def update(c, p, g, m, v, *vmax):
        if maximize:
            g = -g
        if decoupled:
            p = p * c(1.0 - lr * weight_decay)
        elif weight_decay != 0:
            g = g + c(weight_decay) * p
        m[...] = m * c(beta1) + c(1.0 - beta1) * g
        v[...] = v * c(beta2) + (c(1.0 - beta2) * g) * g
        second = v
        if amsgrad:
            vmax[0][...] = np.maximum(vmax[0], v)
            second = vmax[0]
        denom = np.sqrt(second) / c(bias_correction2_sqrt) + c(eps)
        return p - (c(step_size) * m) / denom
    states = [exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if amsgrad else [])
    _rule(params, grads, states, update)


def adam_step(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps,
              weight_decay=0.0, amsgrad=False, max_exp_avg_sqs=None, maximize=False):
    _adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, maximize, decoupled=False)


def adamw_step(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps,
               weight_decay=1e-2, amsgrad=False, max_exp_avg_sqs=None, maximize=False):
    _adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, maximize, decoupled=True)


def clip_grad_norm(grads, max_norm):
    """The norm: the square root of the exact sum of the float64 squares;
    gradients scaled in place."""
    with np.errstate(all="ignore"):
        flat = np.concatenate([np.asarray(g, np.float64).ravel() for g in grads] + [np.zeros(0)])
        norm = float(np.sqrt(exact_sum(flat * flat)))
        coefficient = max_norm / (norm + 1e-6)
        if coefficient < 1.0 or np.isnan(coefficient):
            for g in grads:
                g[...] = (g.astype(compute_dtype(g.dtype)) * compute_dtype(g.dtype).type(coefficient)
                          ).astype(g.dtype)
    return norm
