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

import inspect
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
    # the smooth ops and RReLU: their one target, on large float32 arrays
    float32_large_target: Optional[float] = None


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


def _close(a, b, ulps=4, dy=None):
    """a within ulps units in the last place of b (NaN where b is NaN); for
    a gradient (dy given), the unit is at least ulp(2**-10 * |dy|), which
    covers the zeros of the GELU and SiLU derivatives as the accuracy
    contract measures them."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    with np.errstate(all="ignore"):
        unit = np.spacing(np.abs(b)).astype(np.float64)
        if dy is not None:
            unit = np.maximum(unit, np.spacing((np.abs(dy) * 2.0**-10).astype(b.dtype)))
        error = np.abs(a.astype(np.float64) - b.astype(np.float64))
        return bool(np.all((error <= ulps * unit) | (np.isnan(a) & np.isnan(b)) | (a == b)))


def _erf():
    """SciPy's erf where it is installed; NumPy has none."""
    try:
        from scipy.special import erf
    except ImportError:
        return None
    return erf


SQRT_2, SQRT_2_PI, TANH_C = np.sqrt(2.0), np.sqrt(2 * np.pi), np.sqrt(2 / np.pi)


def _numpy_smooth(op, x, dy):
    """The NumPy (and SciPy, for erf) expression a user writes for op."""
    erf = _erf()
    alpha, scale = ref.SELU_ALPHA, ref.SELU_SCALE

    def gelu_tanh_parts():
        t = np.tanh(TANH_C * (x + 0.044715 * x * x * x))
        return t, TANH_C * (1 + 3 * 0.044715 * x * x)

    def gelu_tanh_backward():
        t, du = gelu_tanh_parts()
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)

    idioms = {
        "elu": lambda: np.where(x > 0, x, np.expm1(x)),
        "elu_backward": lambda: np.where(x > 0, dy, dy * np.exp(x)),
        "selu": lambda: scale * np.where(x > 0, x, alpha * np.expm1(x)),
        "selu_backward": lambda: dy * scale * np.where(x > 0, 1, alpha * np.exp(x)),
        "gelu_tanh": lambda: 0.5 * x * (1 + gelu_tanh_parts()[0]),
        "gelu_tanh_backward": gelu_tanh_backward,
        "silu": lambda: x / (1 + np.exp(-x)),
        "silu_backward": lambda: dy * (s := 1 / (1 + np.exp(-x))) * (1 + x * (1 - s)),
        "softplus": lambda: np.logaddexp(0, x),
        "softplus_backward": lambda: dy / (1 + np.exp(-x)),
    }
    if erf is not None:
        idioms["gelu"] = lambda: 0.5 * x * (1 + erf(x / SQRT_2))
        idioms["gelu_backward"] = lambda: dy * (
            0.5 * (1 + erf(x / SQRT_2)) + x * np.exp(-0.5 * x * x) / SQRT_2_PI)
    else:                            # the tanh form, as users without SciPy write it
        idioms["gelu"], idioms["gelu_backward"] = idioms["gelu_tanh"], idioms["gelu_tanh_backward"]
    return idioms[op]


def _sampled_check(twin, inputs, params, ulps=4):
    """A check of an elementwise result on at most 65,536 of its elements
    (each depends on its own inputs alone), so that a large array's check
    costs no more than a small one's."""
    def check(result):
        result = np.asarray(result)
        flat = [np.broadcast_to(a, result.shape).reshape(-1) for a in inputs]
        at = np.unique(np.linspace(0, result.size - 1, min(result.size, 65536)).astype(np.intp))
        dy = flat[0][at] if len(flat) == 2 else None
        return _close(result.reshape(-1)[at], twin(*[a[at] for a in flat], *params), ulps, dy)
    return check


def _smooth_cases(x, dy, out, copy, add):
    """The smooth activations of the registry, and RReLU in training."""
    result = []
    for row in rk._ext.ELEMENTWISE:
        if row.family != "smooth":
            continue
        ufunc, twin = getattr(rk, row.name), getattr(ref, row.name)
        inputs = (x,) if len(row.inputs) == 1 else (dy, x)
        params = (1.0,) * len(row.params)
        result.append(Case(
            row.name,
            lambda ufunc=ufunc, inputs=inputs, params=params: ufunc(*inputs, *params, out=out),
            _numpy_smooth(row.name, x, dy), None, *(copy if len(inputs) == 1 else add),
            _sampled_check(twin, inputs, params),
            float32_large_target=1.5))
    # RReLU in training: NumPy draws the slopes, and keeps them for backward
    rng = np.random.default_rng(0)
    slopes = np.empty(x.shape, np.float32 if x.dtype != np.float64 else np.float64)
    lower, upper = 1 / 8, 1 / 3

    def numpy_rrelu():
        rng.random(out=slopes, dtype=slopes.dtype)
        return np.where(x > 0, x, (lower + (upper - lower) * slopes) * x)

    result += [
        Case("rrelu", lambda: rk.rrelu(x, seed=1, out=out), numpy_rrelu, None, *copy,
             lambda r: _same(r, ref.rrelu(x, seed=1)), float32_large_target=2.0),
        Case("rrelu_backward", lambda: rk.rrelu_backward(dy, x, seed=1, out=out),
             lambda: np.where(x > 0, dy, slopes * dy), None, *add,
             lambda r: _same(r, ref.rrelu_backward(dy, x, seed=1)), float32_large_target=2.0),
    ]
    return result


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
        return all(_same(p, q) for p, q in zip(result, ref.prelu_backward(dy, x, alpha,
                                                                           axis=axis)))

    # bias_act: the bias is the layer's, one per channel
    bias = np.linspace(-0.5, 0.5, channels).astype(dtype)
    b = bias.reshape(a.shape)

    def numpy_bias_act(activation, careful):
        def step():
            if not careful:                         # expressions with temporaries
                s = x + b
                return np.maximum(s, 0) if activation == "relu" else np.where(s > 0, s, a * s)
            np.add(x, b, out=out)
            if activation == "relu":
                return np.maximum(out, 0, out=out)
            return np.multiply(out, np.where(out > 0, 1, a.astype(dtype)), out=out)
        return step

    def numpy_bias_act_backward(activation, careful):
        def step():
            s = np.add(x, b, out=out) if careful else x + b
            if activation == "relu":
                dz = np.multiply(dy, s > 0, out=out) if careful else np.where(s > 0, dy, 0)
                return dz, dz.sum(axis=others)
            dalpha = (np.minimum(s, 0).astype(np.float64) * dy).sum(axis=others)
            dz = np.where(s > 0, dy, a * dy)
            return dz, dz.sum(axis=others), dalpha
        return step

    def bias_case(activation):
        slopes = alpha if activation == "prelu" else None
        forward = Case(
            f"bias_act {activation}",
            lambda: rk.bias_act(x, bias, activation, alpha=slopes, axis=axis, out=out),
            numpy_bias_act(activation, True), numpy_bias_act(activation, False), *copy,
            lambda r: _same(r, ref.bias_act(x, bias, activation, slopes, axis)))
        backward = Case(
            f"bias_act_backward {activation}",
            lambda: rk.bias_act_backward(dy, x, bias, activation, alpha=slopes, axis=axis,
                                         out=out),
            numpy_bias_act_backward(activation, True),
            numpy_bias_act_backward(activation, False), *add,
            lambda r: all(_same(p, q) for p, q in zip(
                r, ref.bias_act_backward(dy, x, bias, activation, slopes, axis))))
        return [forward, backward]

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
        *bias_case("relu"),
        *bias_case("prelu"),
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
    return result + _smooth_cases(x, dy, out, copy, add)


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


# ---------------------------------------------------------------------------
# Optimisers: a step over a parameter group, against NumPy's idioms
# ---------------------------------------------------------------------------

# name: (class, hyperparameters); "SGD momentum" is SGD's other kernel
OPTIMIZERS = {
    "SGD": (rk.optim.SGD, dict(lr=0.01)),
    "SGD momentum": (rk.optim.SGD, dict(lr=0.01, momentum=0.9)),
    "Adagrad": (rk.optim.Adagrad, dict(lr=0.01)),
    "Adadelta": (rk.optim.Adadelta, dict()),
    "RMSprop": (rk.optim.RMSprop, dict(lr=0.01)),
    "Adam": (rk.optim.Adam, dict(lr=1e-3)),
    "AdamW": (rk.optim.AdamW, dict(lr=1e-3)),
}


def _numpy_steps(name, h, params, grads, careful):
    """A NumPy step of the rule over every parameter, with its own state.

    careful: in-place ufuncs with ``out=`` into preallocated scratch (what a
    careful user writes); otherwise plain expressions with temporaries (the
    common way).  Both compute the rule's equations, as torch.optim does.
    """
    zeros = lambda: [np.zeros_like(p) for p in params]          # noqa: E731
    state = {key: zeros() for key in ("a", "b")}
    scratch = [(np.empty_like(p), np.empty_like(p)) for p in params]
    t = [0]
    lr, eps, wd = h.get("lr", 1.0), h.get("eps", 1e-8), h.get("weight_decay", 1e-2)
    momentum, rho, alpha = h.get("momentum", 0.0), 0.9, 0.99
    beta1, beta2 = 0.9, 0.999

    def common():
        t[0] += 1
        for p, g, a, b in zip(params, grads, state["a"], state["b"]):
            if name == "SGD":
                p -= lr * g
            elif name == "SGD momentum":
                a[...] = momentum * a + g
                p -= lr * a
            elif name == "Adagrad":
                a += g * g
                p -= lr * g / (np.sqrt(a) + 1e-10)
            elif name == "Adadelta":
                a[...] = rho * a + (1 - rho) * g * g
                delta = np.sqrt(b + 1e-6) / np.sqrt(a + 1e-6) * g
                b[...] = rho * b + (1 - rho) * delta * delta
                p -= delta
            elif name == "RMSprop":
                a[...] = alpha * a + (1 - alpha) * g * g
                p -= lr * g / (np.sqrt(a) + eps)
            else:
                if name == "AdamW":
                    p *= 1 - lr * wd
                a[...] = beta1 * a + (1 - beta1) * g
                b[...] = beta2 * b + (1 - beta2) * g * g
                m_hat = a / (1 - beta1 ** t[0])
                v_hat = b / (1 - beta2 ** t[0])
                p -= lr * m_hat / (np.sqrt(v_hat) + eps)

    def careful_step():
        t[0] += 1
        for p, g, a, b, (s, u) in zip(params, grads, state["a"], state["b"], scratch):
            if name == "SGD":
                np.multiply(g, lr, out=s)
                np.subtract(p, s, out=p)
            elif name == "SGD momentum":
                np.multiply(a, momentum, out=a)
                np.add(a, g, out=a)
                np.multiply(a, lr, out=s)
                np.subtract(p, s, out=p)
            elif name in ("Adagrad", "RMSprop"):
                if name == "Adagrad":
                    np.multiply(g, g, out=s)
                    np.add(a, s, out=a)
                else:
                    np.multiply(a, alpha, out=a)
                    np.multiply(g, g, out=s)
                    np.multiply(s, 1 - alpha, out=s)
                    np.add(a, s, out=a)
                np.sqrt(a, out=s)
                np.add(s, eps, out=s)
                np.divide(g, s, out=s)
                np.multiply(s, lr, out=s)
                np.subtract(p, s, out=p)
            elif name == "Adadelta":
                np.multiply(a, rho, out=a)
                np.multiply(g, g, out=s)
                np.multiply(s, 1 - rho, out=s)
                np.add(a, s, out=a)
                np.add(b, 1e-6, out=s)
                np.sqrt(s, out=s)
                np.add(a, 1e-6, out=u)
                np.sqrt(u, out=u)
                np.divide(s, u, out=s)
                np.multiply(s, g, out=s)
                np.multiply(b, rho, out=b)
                np.multiply(s, s, out=u)
                np.multiply(u, 1 - rho, out=u)
                np.add(b, u, out=b)
                np.subtract(p, s, out=p)
            else:
                if name == "AdamW":
                    np.multiply(p, 1 - lr * wd, out=p)
                np.multiply(a, beta1, out=a)
                np.multiply(g, 1 - beta1, out=s)
                np.add(a, s, out=a)
                np.multiply(b, beta2, out=b)
                np.multiply(g, g, out=s)
                np.multiply(s, 1 - beta2, out=s)
                np.add(b, s, out=b)
                np.sqrt(b, out=s)
                np.divide(s, np.sqrt(1 - beta2 ** t[0]), out=s)
                np.add(s, eps, out=s)
                np.divide(a, s, out=s)
                np.multiply(s, lr / (1 - beta1 ** t[0]), out=s)
                np.subtract(p, s, out=p)

    return careful_step if careful else common


def step_bytes(optimizer):
    """Bytes a step reads and writes: each parameter read and written, its
    gradient read, each state array read and written."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    return sum(3 * p.nbytes + sum(2 * value.nbytes for key, value in state.items()
                                  if key != "step")
               for p, state in zip(params, optimizer.state))


_FUNCTIONS = {"SGD": "sgd_step", "Adagrad": "adagrad_step", "Adadelta": "adadelta_step",
              "RMSprop": "rmsprop_step", "Adam": "adam_step", "AdamW": "adamw_step"}

_TAKES_STEP = {name for name in _FUNCTIONS.values()
               if "step" in inspect.signature(getattr(rk.optim, name)).parameters}

# the functions on explicit state, each timed with the settings of one class case
FUNCTION_CASES = {"sgd_step": "SGD momentum", "adagrad_step": "Adagrad",
                  "adadelta_step": "Adadelta", "rmsprop_step": "RMSprop",
                  "adam_step": "Adam", "adamw_step": "AdamW"}

# every optimiser case's name, in order
OPTIM_OPS = (*OPTIMIZERS, *FUNCTION_CASES, "clip_grad_norm")


def function_step(optimizer, grads, module=rk.optim):
    """An optimiser's step done by its rule's function in ``module``
    (rectkern.optim, or the twins in rectkern._reference, which take the
    same arguments), on the optimiser's own parameters and state."""
    rule = optimizer._rule
    function = getattr(module, _FUNCTIONS[rule.name])
    first = 0
    for g, group in enumerate(optimizer.param_groups):
        kwargs = {name: group[name] for name in rule.hyper
                  if name not in ("betas", "initial_accumulator_value")}
        if "betas" in rule.hyper:
            kwargs["beta1"], kwargs["beta2"] = group["betas"]
        if _FUNCTIONS[rule.name] in _TAKES_STEP:
            kwargs["step"] = optimizer._steps[g] + 1
        states = {rk.optim._STATE_ARGUMENTS[name]: optimizer._states[g][name]
                  for name in optimizer._layout[g]}
        n = len(group["params"])
        function(group["params"], grads[first:first + n], **states, **kwargs)
        optimizer._steps[g] += 1
        first += n


def optim_cases(dtype, n_elements, count=1, seed=0, names=None):
    """Each optimiser case over ``count`` arrays of ``n_elements``, one
    group: a class's step, a function's step on explicit state, or
    clip_grad_norm; rectkern, NumPy's careful idiom (``numpy``) and its
    common one (``numpy_slow``), and ``np.copyto`` moving the same bytes."""
    dtype = np.dtype(dtype).type
    rng = np.random.default_rng(seed)
    result = []
    for name in names or OPTIM_OPS:
        fresh = lambda: [rng.standard_normal(n_elements).astype(dtype)   # noqa: E731
                         for _ in range(count)]
        params, grads = fresh(), fresh()
        if name == "clip_grad_norm":
            result.append(_clip_case(params))
            continue
        settings = FUNCTION_CASES.get(name, name)
        optimizer_class, hyper = OPTIMIZERS[settings]
        optimizer = optimizer_class(params, **hyper)
        half = step_bytes(optimizer) // 2
        src, dst = np.ones(half, np.uint8), np.zeros(half, np.uint8)
        numpy_params = [p.copy() for p in params]
        if name in FUNCTION_CASES:
            run = lambda optimizer=optimizer, grads=grads: function_step(optimizer, grads)  # noqa: E731
        else:
            run = lambda optimizer=optimizer, grads=grads: optimizer.step(grads)  # noqa: E731

        def check(_result, optimizer_class=optimizer_class, hyper=hyper, params=params,
                  grads=grads, function=name in FUNCTION_CASES):
            """Two steps on copies, against the twin's."""
            mine = optimizer_class([p.copy() for p in params[:3]], **hyper)
            twin = optimizer_class([p.copy() for p in params[:3]], **hyper)
            for _ in range(2):
                if function:
                    function_step(mine, grads[:3])
                else:
                    mine.step(grads[:3])
                function_step(twin, grads[:3], ref)
            return all(_same(a, b) for a, b in zip(mine.param_groups[0]["params"],
                                                   twin.param_groups[0]["params"]))

        result.append(Case(
            name, run,
            _numpy_steps(settings, hyper, numpy_params, grads, careful=True),
            _numpy_steps(settings, hyper, numpy_params, grads, careful=False),
            lambda src=src, dst=dst: np.copyto(dst, src), "copy", check))
    return result


def _clip_case(grads):
    """clip_grad_norm over grads whose norm is below max_norm (no scaling:
    each gradient read once), against np.copyto moving those bytes, NumPy's
    careful norm (np.vdot in the gradients' dtype) and its common one
    (squares in float64)."""
    total = sum(g.nbytes for g in grads)
    src, dst = np.ones(total // 2, np.uint8), np.zeros(total // 2, np.uint8)
    big = 1e30

    def check(norm, grads=grads):
        return norm == ref.clip_grad_norm([g.copy() for g in grads], big)

    return Case("clip_grad_norm", lambda: rk.optim.clip_grad_norm(grads, big),
                lambda: float(np.sqrt(sum(np.vdot(g, g) for g in grads))),
                lambda: float(np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))),
                lambda: np.copyto(dst, src), "copy", check)
