"""rectkern.optim: every rule against its NumPy twin, bit for bit, and the
optimisers' contract around the kernels (classes, parameter groups, state
dicts, errors that change nothing, the GIL, allocations, gradient clipping).
"""

import gc
import io
import math
import re
import subprocess
import sys
import time
import tracemalloc
from typing import Callable, NamedTuple

import numpy as np
import pytest

from rectkern import _reference as ref
from rectkern import optim

from ._arrays import FLOAT_DTYPES, LAYOUTS, assert_same, case_id, cases, in_layout, values
from ._gil import runs_beside

NAN, INF = float("nan"), float("inf")


# ---------------------------------------------------------------------------
# The rules, as the tests see them
# ---------------------------------------------------------------------------

class Rule(NamedTuple):
    cls: type
    function: Callable
    twin: Callable
    takes_step: bool           # adadelta_step and rmsprop_step have no step argument


RULES = {
    "SGD": Rule(optim.SGD, optim.sgd_step, ref.sgd_step, True),
    "Adagrad": Rule(optim.Adagrad, optim.adagrad_step, ref.adagrad_step, True),
    "Adadelta": Rule(optim.Adadelta, optim.adadelta_step, ref.adadelta_step, False),
    "RMSprop": Rule(optim.RMSprop, optim.rmsprop_step, ref.rmsprop_step, False),
    "Adam": Rule(optim.Adam, optim.adam_step, ref.adam_step, True),
    "AdamW": Rule(optim.AdamW, optim.adamw_step, ref.adamw_step, True),
}

# torch.optim's defaults (torch 2.x), which the classes promise
TORCH_DEFAULTS = {
    "SGD": dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                maximize=False),
    "Adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                    eps=1e-10, maximize=False),
    "Adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False),
    "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                    centered=False, maximize=False),
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False),
    "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                  maximize=False),
}

# the classes' state names -> the functions' state arguments
STATE_ARGUMENT = {
    "momentum_buffer": "momentum_buffers", "sum": "state_sums", "square_avg": "square_avgs",
    "acc_delta": "acc_deltas", "grad_avg": "grad_avgs", "exp_avg": "exp_avgs",
    "exp_avg_sq": "exp_avg_sqs", "max_exp_avg_sq": "max_exp_avg_sqs",
}
# states that are averages or sums of squares: they start >= 0
SQUARES = {"state_sums", "square_avgs", "acc_deltas", "exp_avg_sqs", "max_exp_avg_sqs"}


def _state_arguments(rule, kw):
    """The state arguments a function call with options kw needs, in order."""
    if rule == "SGD":
        return ["momentum_buffers"] if kw.get("momentum", 0.0) != 0 else []
    if rule == "Adagrad":
        return ["state_sums"]
    if rule == "Adadelta":
        return ["square_avgs", "acc_deltas"]
    if rule == "RMSprop":
        return (["square_avgs"] + (["momentum_buffers"] if kw.get("momentum", 0.0) > 0 else [])
                + (["grad_avgs"] if kw.get("centered", False) else []))
    return ["exp_avgs", "exp_avg_sqs"] + (["max_exp_avg_sqs"] if kw.get("amsgrad") else [])


def _function_kwargs(rule, hyper, step):
    """A class's group hyperparameters as the function's keyword arguments."""
    kw = {k: v for k, v in hyper.items()
          if k not in ("params", "betas", "initial_accumulator_value")}
    if "betas" in hyper:
        kw["beta1"], kw["beta2"] = hyper["betas"]
    if RULES[rule].takes_step:
        kw["step"] = step
    return kw


def _call(function, rule, params, grads, states, kw, step):
    extra = {"step": step} if RULES[rule].takes_step else {}
    function(params, grads, **states, **kw, **extra)


# ---------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------

SENTINEL = 1234.0          # exact in float16; fills the gaps of sliced views


def _placed(data, layout):
    """data in layout; a sliced view's gaps hold SENTINEL, so that a write
    outside the view shows."""
    out = in_layout(data, layout)
    if layout == "sliced" and out.ndim:
        out.base[..., 0::2] = SENTINEL
    return out


def _gaps_intact(a):
    base = a.base
    if (a.ndim and base is not None and base.shape == a.shape[:-1] + (2 * a.shape[-1] + 1,)
            and a.strides[-1] == 2 * a.itemsize):
        assert np.all(a.base[..., 0::2] == SENTINEL), "a write outside the sliced view"


def _values(dtype, shape, seed):
    if shape == ():
        return values((1,), dtype, seed).reshape(())
    return values(shape, dtype, seed)


def _state(name, dtype, shape, layout, seed):
    data = _values(ref.compute_dtype(dtype), shape, seed)
    return _placed(np.abs(data) if name in SQUARES else data, layout)


def _finite(dtype, shape, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _same(actual, expected, what):
    try:
        assert_same(actual, expected)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


def _bytes(arrays):
    return [(a.dtype, a.shape, a.tobytes()) for a in arrays]


# ---------------------------------------------------------------------------
# 1. The functions against the twins, bit for bit
# ---------------------------------------------------------------------------

# the functions' hyperparameters, besides the options; none exact in binary
BASE = {
    "SGD": dict(lr=0.05),
    "Adagrad": dict(lr=0.1, eps=1e-10),
    "Adadelta": dict(lr=0.9, rho=0.9, eps=1e-6),
    "RMSprop": dict(lr=0.01, alpha=0.99, eps=1e-8),
    "Adam": dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8),
    "AdamW": dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8),
}

SGD_MOMENTA = (dict(momentum=0.0), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3),
               dict(momentum=0.9, nesterov=True))
OPTIONS = {
    "SGD": [dict(maximize=m, weight_decay=w, **mo)
            for m in (False, True) for w in (0.0, 0.1) for mo in SGD_MOMENTA],
    "Adagrad": [dict(maximize=m, weight_decay=w, lr_decay=d)
                for m in (False, True) for w in (0.0, 0.1) for d in (0.0, 0.05)],
    "Adadelta": [dict(maximize=m, weight_decay=w) for m in (False, True) for w in (0.0, 0.1)],
    "RMSprop": [dict(maximize=m, weight_decay=w, momentum=mo, centered=c)
                for m in (False, True) for w in (0.0, 0.1) for mo in (0.0, 0.9)
                for c in (False, True)],
    "Adam": [dict(maximize=m, weight_decay=w, amsgrad=a)
             for m in (False, True) for w in (0.0, 0.1) for a in (False, True)],
    "AdamW": [dict(maximize=m, weight_decay=w, amsgrad=a)
              for m in (False, True) for w in (0.0, 0.1) for a in (False, True)],
}


def _options_id(rule, options):
    on = [k if v is True else f"{k}={v}" for k, v in options.items() if v not in (0.0, False)]
    return "-".join([rule] + on) if on else f"{rule}-plain"


def _three_steps(rule, options, items):
    """Steps 1, 2, 3 of the function and of the twin over the parameters of
    items (dtype, shape, param layout, grad layout, state layout), all in one
    call; params, states and grads compared after each step."""
    kw = {**BASE[rule], **options}
    names = _state_arguments(rule, kw)
    params = [_placed(_values(d, s, 1), lay) for d, s, lay, _, _ in items]
    states = {name: [_state(name, d, s, sl, 20 + k) for d, s, _, _, sl in items]
              for k, name in enumerate(names)}
    twin_params = [np.array(p) for p in params]
    twin_states = {name: [np.array(a) for a in arrays] for name, arrays in states.items()}
    grads = []
    for step in (1, 2, 3):
        grads = [_placed(_values(d, s, 10 + step), gl) for d, s, _, gl, _ in items]
        grads_before = [np.array(g) for g in grads]
        _call(RULES[rule].function, rule, params, grads, states, kw, step)
        _call(RULES[rule].twin, rule, twin_params, grads_before, twin_states, kw, step)
        for i, (d, s, lay, gl, sl) in enumerate(items):
            where = f"{_options_id(rule, options)} step {step}, {case_id((d, s, lay))}"
            _same(params[i], twin_params[i], f"params[{i}] {where}")
            for name in names:
                _same(states[name][i], twin_states[name][i], f"{name}[{i}] {where}")
            _same(grads[i], grads_before[i], f"grads[{i}] (read only) {where}")
    for a in params + grads + [a for arrays in states.values() for a in arrays]:
        _gaps_intact(a)


# a few parameters in one call: a tail, F order, sliced, reversed and 0-d
OPTION_ITEMS = (((33,), "C", "C", "C"), ((3, 5), "F", "reversed", "transposed"),
                ((4, 1, 33), "sliced", "F", "reversed"), ((2, 65), "reversed", "sliced", "sliced"),
                ((), "C", "C", "C"), ((0, 4), "C", "F", "C"))
OPTION_CASES = [(rule, i) for rule in RULES for i in range(len(OPTIONS[rule]))]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("rule_options", OPTION_CASES,
                         ids=[_options_id(r, OPTIONS[r][i]) for r, i in OPTION_CASES])
def test_every_option_matches_twin(rule_options, dtype):
    rule, i = rule_options
    items = [(dtype, s, lay, gl, sl) for s, lay, gl, sl in OPTION_ITEMS]
    _three_steps(rule, OPTIONS[rule][i], items)


# per rule, the options with the most state, and another set
FULL_OPTIONS = {
    "SGD": (dict(momentum=0.9, dampening=0.3, weight_decay=0.1),
            dict(momentum=0.9, nesterov=True, maximize=True)),
    "Adagrad": (dict(lr_decay=0.05, weight_decay=0.1), dict(maximize=True)),
    "Adadelta": (dict(weight_decay=0.1), dict(maximize=True)),
    "RMSprop": (dict(momentum=0.9, centered=True, weight_decay=0.1), dict(maximize=True)),
    "Adam": (dict(amsgrad=True, weight_decay=0.1), dict(maximize=True)),
    "AdamW": (dict(amsgrad=True, weight_decay=0.1), dict(maximize=True)),
}
FULL_CASES = [(rule, options) for rule in RULES for options in FULL_OPTIONS[rule]]


def _next_layout(layout, k):
    return LAYOUTS[(LAYOUTS.index(layout) + k) % len(LAYOUTS)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("rule_options", FULL_CASES,
                         ids=[_options_id(r, o) for r, o in FULL_CASES])
def test_every_shape_dtype_and_layout_matches_twin(rule_options, layout):
    # every dtype and shape of the generator in this layout, in one call;
    # gradients and states in two other layouts
    rule, options = rule_options
    items = [(d, s, lay, _next_layout(lay, 1), _next_layout(lay, 2))
             for d, s, lay in cases() if lay == layout]
    _three_steps(rule, options, items)


def test_sgd_first_step_sets_the_buffer_whatever_it_held():
    # step 1 sets the buffer to the gradient (NaN and inf in it are dropped)
    p = np.array([1.0, 2.0, 3.0], np.float32)
    buf = np.array([NAN, INF, 5.0], np.float32)
    optim.sgd_step([p], [np.array([0.5, 0.5, 0.5], np.float32)], [buf], step=1, lr=0.5,
                   momentum=0.9)
    assert_same(buf, np.array([0.5, 0.5, 0.5], np.float32))
    assert_same(p, np.array([0.75, 1.75, 2.75], np.float32))
    optim.sgd_step([p], [np.array([0.5, 0.5, 0.5], np.float32)], [buf], step=2, lr=0.5,
                   momentum=0.5)
    assert_same(buf, np.array([0.75, 0.75, 0.75], np.float32))


# ---------------------------------------------------------------------------
# 2. The classes: the twins' bits, over groups, a schedule, a late group
# ---------------------------------------------------------------------------

class _Twin:
    """An optimiser kept by hand: groups of parameters, their states and
    step counts, stepped by a function (the twin, by default) as the classes
    promise to."""

    def __init__(self, rule, function=None, frozen_step=None):
        self.rule = rule
        self.function = function or RULES[rule].twin
        self.frozen_step = frozen_step
        self.groups = []

    def add(self, params, hyper):
        kw = _function_kwargs(self.rule, hyper, 1)
        fill = hyper.get("initial_accumulator_value", 0.0)
        states = {name: [np.full(p.shape, fill, ref.compute_dtype(p.dtype)) for p in params]
                  for name in _state_arguments(self.rule, kw)}
        self.groups.append(dict(params=params, hyper=dict(hyper), states=states, step=0))

    def step(self, grads):
        first = 0
        for group in self.groups:
            n = len(group["params"])
            group["step"] += 1
            kw = _function_kwargs(self.rule, group["hyper"], self.frozen_step or group["step"])
            self.function(group["params"], grads[first:first + n], **group["states"], **kw)
            first += n

    def state_list(self, i):
        """The states of parameter i (over all groups), by function argument."""
        for group in self.groups:
            if i < len(group["params"]):
                return {name: arrays[i] for name, arrays in group["states"].items()}, group["step"]
            i -= len(group["params"])
        raise IndexError(i)


# the classes' keyword arguments (group 0); group 1 holds PReLU slopes
CLASS_HYPER = {
    "SGD": dict(lr=0.05, momentum=0.9, weight_decay=0.01),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    "Adadelta": dict(weight_decay=0.01),
    "RMSprop": dict(momentum=0.5, centered=True, weight_decay=0.01),
    "Adam": dict(weight_decay=0.01, amsgrad=True),
    "AdamW": dict(amsgrad=True),
}
SLOPES_GROUP = {
    "SGD": dict(weight_decay=0.0, lr=0.02, nesterov=True),
    "Adagrad": dict(weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-8),
    "Adadelta": dict(weight_decay=0.0, rho=0.8),
    "RMSprop": dict(weight_decay=0.0, alpha=0.9, maximize=True),
    "Adam": dict(weight_decay=0.0, betas=(0.8, 0.99), amsgrad=True),
    "AdamW": dict(weight_decay=0.0, lr=3e-3),
}


def _full_hyper(rule, *overrides):
    hyper = dict(TORCH_DEFAULTS[rule])
    for o in overrides:
        hyper.update(o)
    return hyper


def _compare_optimizer(opt, params, twin, twin_params, where):
    for i, (p, q) in enumerate(zip(params, twin_params)):
        _same(p, q, f"params[{i}] {where}")
    for i, entry in enumerate(opt.state):
        states, step = twin.state_list(i)
        assert entry["step"] == step, (i, entry["step"], step)
        assert {STATE_ARGUMENT[k] for k in entry if k != "step"} == set(states), (i, entry)
        for name, value in entry.items():
            if name != "step":
                _same(value, states[STATE_ARGUMENT[name]], f"state[{i}][{name!r}] {where}")


@pytest.mark.parametrize("rule", RULES)
def test_class_gives_the_twins_bits(rule):
    spec = RULES[rule]
    weights = _placed(_finite(np.float32, (16, 9), 1), "F")
    bias = _finite(np.float16, (9,), 2)
    slopes = _finite(np.float64, (16,), 3, 0.25)
    slopes2 = _placed(_finite(np.float32, (3, 5), 4, 0.25), "reversed")
    late = _finite(np.float32, (2, 65), 5)
    params = [weights, bias, slopes, slopes2]
    twin_params = [np.array(p) for p in params]
    fn_params = [np.array(p) for p in params]
    opt = spec.cls([{"params": [weights, bias]},
                    {"params": [slopes, slopes2], **SLOPES_GROUP[rule]}], **CLASS_HYPER[rule])
    twin, fn = _Twin(rule), _Twin(rule, spec.function)
    for keep, kept in ((twin, twin_params), (fn, fn_params)):
        keep.add(kept[:2], _full_hyper(rule, CLASS_HYPER[rule]))
        keep.add(kept[2:], _full_hyper(rule, CLASS_HYPER[rule], SLOPES_GROUP[rule]))
    for g, group in enumerate(opt.param_groups):
        assert {k: v for k, v in group.items() if k != "params"} == twin.groups[g]["hyper"]
    for step in range(1, 6):
        if step == 3:             # a schedule: every group's lr changes
            for group, a, b in zip(opt.param_groups, twin.groups, fn.groups):
                group["lr"] = a["hyper"]["lr"] = b["hyper"]["lr"] = group["lr"] * 0.5
        if step == 4:             # a late group: its step 1 while the others' 4
            opt.add_param_group({"params": [late], "lr": 0.003})
            params.append(late)
            for keep, kept in ((twin, twin_params), (fn, fn_params)):
                kept.append(np.array(late))
                keep.add(kept[-1:], _full_hyper(rule, CLASS_HYPER[rule], {"lr": 0.003}))
        grads = [_finite(p.dtype, p.shape, 100 * step + i) for i, p in enumerate(params)]
        opt.step(grads)
        twin.step([g.copy() for g in grads])
        fn.step([g.copy() for g in grads])
        _compare_optimizer(opt, params, twin, twin_params, f"{rule} step {step}")
        for i, (p, q) in enumerate(zip(fn_params, twin_params)):
            _same(p, q, f"function params[{i}] step {step}")
    assert [entry["step"] for entry in opt.state] == [5, 5, 5, 5, 2]


@pytest.mark.parametrize("rule", RULES)
def test_defaults_are_torchs(rule):
    opt = RULES[rule].cls([np.zeros(3)])
    assert opt.defaults == TORCH_DEFAULTS[rule]
    assert {k: v for k, v in opt.param_groups[0].items() if k != "params"} == TORCH_DEFAULTS[rule]


# ---------------------------------------------------------------------------
# 3. 100 steps in float32 and float16 against the twin in float64
# ---------------------------------------------------------------------------

ACCURACY_HYPER = {
    "SGD": dict(lr=0.01, momentum=0.9),
    "Adagrad": {}, "Adadelta": {}, "RMSprop": {}, "Adam": {}, "AdamW": {},
}
STEPS = 100


def _trajectory(rule, dtype, p0, target, twin=None):
    """STEPS steps on g = p - target: the class in dtype, and the float64
    twin (or the given _Twin); the twin's largest |p| and |target|."""
    hyper = _full_hyper(rule, ACCURACY_HYPER[rule])
    p, t = p0.astype(dtype), target.astype(dtype)
    p64, t64 = p.astype(np.float64), t.astype(np.float64)
    opt = RULES[rule].cls([p], **ACCURACY_HYPER[rule])
    twin = twin or _Twin(rule)
    twin.add([p64], hyper)
    scale = np.maximum(np.abs(p64), np.abs(t64))
    for _ in range(STEPS):
        opt.step([p - t])
        twin.step([p64 - t64])
        scale = np.maximum(scale, np.abs(p64))
    return p.astype(np.float64), p64, scale


def _tolerance(dtype, scale):
    # One step rounds, in the parameter's dtype, the gradient p - target and
    # the new parameter (half an ulp of a value below scale each), and, in the
    # compute type, the handful of operations of the update (a few units of
    # float32's or float64's epsilon relative to the update, which is much
    # smaller than the parameter). The quadratic is stable for these
    # hyperparameters: an error made at one step is not amplified by the
    # later ones. So one ulp of the scale per step bounds the difference
    # after STEPS steps. Measured on this data, at every level: at most 28
    # ulps of the scale (float32, AdamW), 49 (float16, Adam: there storing
    # the parameter alone costs up to half an ulp a step, 50 in all).
    # A 0.1% error in lr, a missing bias correction or coupled weight decay
    # in AdamW is far outside it (test_accuracy_bound_is_tight).
    return STEPS * np.spacing(scale.astype(dtype)).astype(np.float64)


def _accuracy_data():
    rng = np.random.default_rng(2024)
    return rng.standard_normal(1000), rng.standard_normal(1000)


@pytest.mark.parametrize("dtype", (np.float32, np.float16), ids=("float32", "float16"))
@pytest.mark.parametrize("rule", RULES)
def test_hundred_steps_stay_within_rounding_of_float64(rule, dtype):
    p0, target = _accuracy_data()
    actual, exact, scale = _trajectory(rule, dtype, p0, target)
    error = np.abs(actual - exact)
    tolerance = _tolerance(dtype, scale)
    worst = int(np.argmax(error / tolerance))
    assert np.all(error <= tolerance), (worst, actual[worst], exact[worst], tolerance[worst])
    assert np.abs(exact - p0.astype(dtype)).max() > 0.05      # it did move


def _mutants(rule):
    """Twins with a wrong step: the bound must see each of them."""
    def with_hyper(changes):
        def function(*args, **kw):
            RULES[rule].twin(*args, **{**kw, **changes})
        return function
    lr = ACCURACY_HYPER[rule].get("lr", TORCH_DEFAULTS[rule]["lr"])
    out = {"lr off by 0.1%": _Twin(rule, with_hyper(dict(lr=lr * 1.001)))}
    if rule == "SGD":
        out["nesterov"] = _Twin(rule, with_hyper(dict(nesterov=True)))
    if rule in ("Adam", "AdamW"):
        out["no bias correction"] = _Twin(rule, frozen_step=10**6)
        out["bias correction of step 1"] = _Twin(rule, frozen_step=1)
    if rule == "AdamW":
        out["coupled weight decay"] = _Twin(rule, ref.adam_step)
    return out


@pytest.mark.parametrize("rule", RULES)
def test_accuracy_bound_is_tight(rule):
    p0, target = _accuracy_data()
    _, exact, scale = _trajectory(rule, np.float32, p0, target)
    tolerance = _tolerance(np.float32, scale)
    for name, mutant in _mutants(rule).items():
        _, wrong, _ = _trajectory(rule, np.float32, p0, target, mutant)
        assert np.any(np.abs(wrong - exact) > tolerance), name


# ---------------------------------------------------------------------------
# 4. state_dict: a round trip gives the same bits; bad ones change nothing
# ---------------------------------------------------------------------------

ROUND_TRIP_HYPER = {
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adagrad": dict(lr_decay=0.1, initial_accumulator_value=0.1),
    "Adadelta": dict(weight_decay=0.01),
    "RMSprop": dict(momentum=0.5, centered=True),
    "Adam": dict(amsgrad=True),
    "AdamW": dict(amsgrad=True, betas=(0.8, 0.99)),
}


def _round_trip_params():
    return [_placed(_finite(np.float32, (3, 5), 1), "F"), _finite(np.float16, (7,), 2),
            _placed(_finite(np.float64, (2, 3, 4), 3), "reversed"), _finite(np.float32, (0,), 4)]


def _grads_for(params, seed):
    return [_finite(p.dtype, p.shape, seed * 10 + i) for i, p in enumerate(params)]


def _make(rule, params, **changes):
    hyper = {**ROUND_TRIP_HYPER[rule], **changes}
    return RULES[rule].cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.007}],
                           **hyper)


def _assert_same_optimizer(a, b, a_params, b_params):
    for i, (p, q) in enumerate(zip(a_params, b_params)):
        _same(p, q, f"params[{i}]")
    da, db = a.state_dict(), b.state_dict()
    assert sorted(da) == sorted(db)
    for key in da:
        _same(da[key], db[key], key)


@pytest.mark.parametrize("how", ("savez", "dict"))
@pytest.mark.parametrize("k", (1, 3))
@pytest.mark.parametrize("rule", RULES)
def test_state_dict_round_trip(rule, k, how):
    params = _round_trip_params()
    opt = _make(rule, params)
    for step in range(k):
        opt.step(_grads_for(params, step))
    saved = opt.state_dict()
    assert str(saved["rule"]) == rule
    if how == "savez":
        buffer = io.BytesIO()
        np.savez(buffer, **saved)
        buffer.seek(0)
        loaded = np.load(buffer)
    else:
        loaded = saved
    copies = [np.array(p, order="K") for p in params]
    again = _make(rule, copies, lr=0.5)          # other hyperparameters: the dict's win
    again.load_state_dict(loaded)
    if how == "dict":                            # the optimiser holds copies
        for key, value in saved.items():
            if key.startswith("state."):
                value[...] = 7.0
        saved = opt.state_dict()
    assert [g["lr"] for g in again.param_groups] == [g["lr"] for g in opt.param_groups]
    assert [e["step"] for e in again.state] == [k] * len(params)
    _assert_same_optimizer(opt, again, params, copies)
    for step in range(k, k + 3):
        opt.step(_grads_for(params, step))
        again.step(_grads_for(copies, step))
        _assert_same_optimizer(opt, again, params, copies)


def test_state_dict_returns_copies():
    params = _round_trip_params()
    opt = _make("Adam", params)
    opt.step(_grads_for(params, 0))
    saved = opt.state_dict()
    saved["state.0.exp_avg"][...] = 9.0
    assert not np.any(opt.state[0]["exp_avg"] == 9.0)


def _saved(rule="Adam", n=4, **changes):
    """The state dict of a two-group optimiser like _make("Adam", ...) after a
    step, of another rule or parameter count, or other hyperparameters."""
    ps = (_round_trip_params() + [_finite(np.float32, (2,), 9)])[:n]
    hyper = {**ROUND_TRIP_HYPER["Adam" if rule in ("Adam", "AdamW") else rule], **changes}
    opt = RULES[rule].cls([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.007}], **hyper)
    opt.step(_grads_for(ps, 0))
    return opt.state_dict()


def _changed(**edits):
    """Adam's state dict with keys replaced (or removed: None)."""
    d = dict(_saved())
    for key, value in edits.items():
        if value is None:
            del d[key]
        else:
            d[key] = value
    return d


def _bad_dicts():
    """name -> (a state dict that does not fit _make("Adam", ...), the
    exception, text in its message)."""
    return {
        "AdamW's": (_saved("AdamW"), ValueError, "'AdamW'"),
        "SGD's": (_saved("SGD"), ValueError, "'SGD'"),
        "fewer params": (_saved(n=3), ValueError, "param_groups[1]"),
        "more params": (_saved(n=5), ValueError, "param_groups[1]"),
        "state shape": (_changed(**{"state.0.exp_avg": np.zeros((3, 6), np.float32)}),
                        ValueError, "state.0.exp_avg has shape (3, 6)"),
        "state transposed": (_changed(**{"state.0.exp_avg": np.zeros((5, 3), np.float32)}),
                             ValueError, "state.0.exp_avg"),
        "state dtype": (_changed(**{"state.2.exp_avg_sq": np.zeros((2, 3, 4), np.float32)}),
                        ValueError, "state.2.exp_avg_sq"),
        "float16 state": (_changed(**{"state.1.exp_avg": np.zeros(7, np.float16)}),
                          ValueError, "state.1.exp_avg"),
        "missing state": (_changed(**{"state.1.max_exp_avg_sq": None}), ValueError,
                          "state.1.max_exp_avg_sq"),
        "missing hyper": (_changed(**{"param_groups.1.lr": None}), ValueError,
                          "param_groups.1.lr"),
        "missing step": (_changed(**{"param_groups.0.step": None}), ValueError,
                         "param_groups.0.step"),
        "missing rule": (_changed(rule=None), ValueError, "rule"),
        "extra state": (_changed(**{"state.0.momentum_buffer": np.zeros((3, 5), np.float32)}),
                        ValueError, "state.0.momentum_buffer"),
        "extra group": (_changed(**{"param_groups.2.lr": np.array(0.1)}), ValueError,
                        "param_groups.2.lr"),
        "bad lr": (_changed(**{"param_groups.0.lr": np.array(-1.0)}), ValueError, "lr"),
        "bad betas": (_changed(**{"param_groups.1.betas": np.array([0.9, 1.0])}), ValueError,
                      "betas[1]"),
        "bad amsgrad": (_changed(**{"param_groups.1.amsgrad": np.array(1)}), TypeError,
                        "amsgrad"),
        "negative step": (_changed(**{"param_groups.0.step": np.array(-1)}), ValueError, "step"),
        "float step": (_changed(**{"param_groups.0.step": np.array(1.5)}), ValueError, "step"),
        "rule array": (_changed(rule=np.array(["Adam", "Adam"])), ValueError, "state_dict is of"),
        "not a mapping": ([("rule", np.array("Adam"))], TypeError, "state_dict"),
    }


BAD_DICTS = _bad_dicts()


@pytest.mark.parametrize("name", BAD_DICTS)
def test_bad_state_dict_changes_nothing(name):
    bad, kind, text = BAD_DICTS[name]
    params = _round_trip_params()
    opt = _make("Adam", params)
    for step in range(2):
        opt.step(_grads_for(params, step + 5))
    before = opt.state_dict()
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    with pytest.raises(kind, match=r"load_state_dict: .*" + re.escape(text)):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert sorted(before) == sorted(after)
    for key in before:
        _same(after[key], before[key], key)
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups
    # and it steps on as if nothing had happened
    copies = [np.array(p) for p in params]
    fresh = _make("Adam", copies)
    fresh.load_state_dict(before)
    opt.step(_grads_for(params, 9))
    fresh.step(_grads_for(copies, 9))
    _assert_same_optimizer(opt, fresh, params, copies)


# ---------------------------------------------------------------------------
# 5. Errors change nothing
# ---------------------------------------------------------------------------

def _error_optimizer(rule="Adam", **hyper):
    """Two groups, one step taken (the states are not zeros)."""
    params = [_finite(np.float32, (17,), 1), _placed(_finite(np.float64, (3, 5), 2), "F"),
              _finite(np.float16, (4, 33), 3)]
    opt = RULES[rule].cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}],
                          **hyper)
    opt.step(_grads_for(params, 0))
    return opt, params


def _optimizer_bytes(opt):
    out = _bytes(p for g in opt.param_groups for p in g["params"])
    for entry in opt.state:
        out.append(entry["step"])
        out += _bytes(v for k, v in sorted(entry.items()) if k != "step")
    return out


def _bad_grads(opt, params):
    """name -> (grads for _error_optimizer, exception, regex of the message)."""
    g = _grads_for(params, 1)
    p2 = params[2]
    return {
        "shape": (g[:2] + [np.zeros((4, 32), np.float16)], ValueError,
                  r"grads\[2\] has shape \(4, 32\), expected \(4, 33\)"),
        "dtype": (g[:2] + [g[2].astype(np.float32)], TypeError,
                  r"grads\[2\] has dtype float32, expected float16"),
        "byte order": (g[:2] + [g[2].astype(">f2")], TypeError, r"grads\[2\] has dtype"),
        "not an array": (g[:2] + [g[2].tolist()], TypeError,
                         r"grads\[2\] must be a NumPy array"),
        "the param itself": (g[:2] + [p2], ValueError,
                             r"params\[2\] shares memory with grads\[2\]"),
        "a view of a param": (g[:2] + [p2[::-1, ::-1][::-1, ::-1]], ValueError,
                              r"params\[2\] shares memory with grads\[2\]"),
        "another param": ([g[0], params[1], g[2]], ValueError,
                          r"params\[1\] shares memory with grads\[1\]"),
        "a state array": ([opt.state[0]["exp_avg"][:]] + g[1:], ValueError,
                          r"state\['exp_avg'\]\[0\] shares memory with grads\[0\]"),
        "too few": (g[:2], ValueError, "grads has 2 arrays, expected 3"),
        "too many": (g + [g[0]], ValueError, "grads has 4 arrays, expected 3"),
        "an array": (np.stack([g[0], g[0]]), TypeError, "grads must be a list"),
    }


BAD_GRADS = list(_bad_grads(*_error_optimizer()))


@pytest.mark.parametrize("name", BAD_GRADS)
def test_bad_grads_change_nothing(name):
    opt, params = _error_optimizer(amsgrad=True)
    grads, kind, text = _bad_grads(opt, params)[name]
    before = _optimizer_bytes(opt)
    with pytest.raises(kind, match=r"Adam\.step: " + text):
        opt.step(grads)
    assert _optimizer_bytes(opt) == before


@pytest.mark.parametrize("single_group", (True, False))
def test_read_only_arrays_and_unaligned_grads_change_nothing(single_group):
    params = [_finite(np.float32, (17,), 1), _finite(np.float64, (3, 5), 2),
              _finite(np.float16, (4, 33), 3)]
    groups = ([{"params": params}] if single_group
              else [{"params": params[:2]}, {"params": params[2:]}])
    opt = optim.Adam(groups)
    opt.step(_grads_for(params, 0))
    before = _optimizer_bytes(opt)
    params[2].flags.writeable = False
    with pytest.raises(ValueError, match=r"Adam\.step: params\[2\] is read-only"):
        opt.step(_grads_for(params, 1))
    params[2].flags.writeable = True
    assert _optimizer_bytes(opt) == before
    # a state array made read-only behind the optimiser's back
    state = opt.state[2]["exp_avg"]
    state.flags.writeable = False
    with pytest.raises(ValueError, match=r"Adam\.step: state\['exp_avg'\]\[2\] is read-only"):
        opt.step(_grads_for(params, 1))
    state.flags.writeable = True
    assert _optimizer_bytes(opt) == before
    # an unaligned gradient
    raw = np.zeros(4 * 33 * 2 + 1, np.uint8)[1:].view(np.float16).reshape(4, 33)
    assert not raw.flags.aligned
    with pytest.raises(ValueError, match=r"grads\[2\] is not aligned"):
        opt.step(_grads_for(params, 1)[:2] + [raw])
    assert _optimizer_bytes(opt) == before
    opt.step(_grads_for(params, 1))
    assert _optimizer_bytes(opt) != before


# (rule, hyperparameters, exception, text in the message)
BAD_HYPER = [
    ("SGD", dict(lr=-0.1), ValueError, "lr must be a finite number >= 0"),
    ("SGD", dict(lr=NAN), ValueError, "lr must be"),
    ("SGD", dict(lr=INF), ValueError, "lr must be"),
    ("SGD", dict(lr=-INF), ValueError, "lr must be"),
    ("SGD", dict(lr="0.1"), TypeError, "lr must be a real number"),
    ("SGD", dict(lr=None), TypeError, "lr must be a real number"),
    ("SGD", dict(lr=True), TypeError, "lr must be a real number"),
    ("SGD", dict(lr=1j), TypeError, "lr must be a real number"),
    ("SGD", dict(lr=np.array([0.1])), TypeError, "lr must be a real number"),
    ("SGD", dict(momentum=-0.5), ValueError, "momentum must be"),
    ("SGD", dict(momentum=NAN), ValueError, "momentum must be"),
    ("SGD", dict(dampening=1.5), ValueError, "dampening must be in [0, 1]"),
    ("SGD", dict(dampening=-0.1), ValueError, "dampening must be"),
    ("SGD", dict(nesterov=True), ValueError, "nesterov needs momentum > 0"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError,
     "nesterov needs momentum > 0 and dampening = 0"),
    ("SGD", dict(weight_decay=-1e-4), ValueError, "weight_decay must be"),
    ("SGD", dict(weight_decay=INF), ValueError, "weight_decay must be"),
    ("SGD", dict(maximize=1), TypeError, "maximize must be True or False"),
    ("SGD", dict(nesterov="yes"), TypeError, "nesterov must be True or False"),
    ("Adagrad", dict(lr_decay=-0.1), ValueError, "lr_decay must be"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), ValueError,
     "initial_accumulator_value must be"),
    ("Adagrad", dict(eps=-1e-10), ValueError, "eps must be"),
    ("Adagrad", dict(eps=NAN), ValueError, "eps must be"),
    ("Adadelta", dict(rho=1.5), ValueError, "rho must be in [0, 1]"),
    ("Adadelta", dict(rho=-0.5), ValueError, "rho must be"),
    ("Adadelta", dict(eps=-1.0), ValueError, "eps must be"),
    ("RMSprop", dict(alpha=-0.1), ValueError, "alpha must be"),
    ("RMSprop", dict(alpha=1.01), ValueError, "alpha must be"),
    ("RMSprop", dict(momentum=INF), ValueError, "momentum must be"),
    ("RMSprop", dict(centered=None), TypeError, "centered must be True or False"),
    ("Adam", dict(betas=(1.0, 0.999)), ValueError, "betas[0] must be in [0, 1)"),
    ("Adam", dict(betas=(0.9, -0.1)), ValueError, "betas[1] must be"),
    ("Adam", dict(betas=(0.9, NAN)), ValueError, "betas[1] must be"),
    ("Adam", dict(betas=(0.9, "a")), TypeError, "betas[1] must be a real number"),
    ("Adam", dict(betas=(0.9,)), ValueError, "betas must be a pair"),
    ("Adam", dict(betas=(0.9, 0.99, 0.999)), ValueError, "betas must be a pair"),
    ("Adam", dict(betas=0.9), ValueError, "betas must be a pair"),
    ("Adam", dict(eps=-1e-8), ValueError, "eps must be"),
    ("Adam", dict(amsgrad="no"), TypeError, "amsgrad must be True or False"),
    ("AdamW", dict(weight_decay=-0.01), ValueError, "weight_decay must be"),
    ("AdamW", dict(lr=INF), ValueError, "lr must be"),
    ("AdamW", dict(betas=[0.9, 1.5]), ValueError, "betas[1] must be"),
]


def _hyper_id(row):
    rule, hyper, _, _ = row
    return f"{rule}-" + "-".join(f"{k}={v!r}" for k, v in hyper.items())


@pytest.mark.parametrize("row", BAD_HYPER, ids=_hyper_id)
def test_bad_hyperparameter_at_construction(row):
    rule, hyper, kind, text = row
    p = _finite(np.float32, (5,), 0)
    before = p.copy()
    with pytest.raises(kind, match=f"{rule}: " + re.escape(text)):
        RULES[rule].cls([p], **hyper)
    assert_same(p, before)
    # the same in a group of its own
    with pytest.raises(kind, match=re.escape(text)):
        RULES[rule].cls([{"params": [_finite(np.float32, (3,), 1)]}, {"params": [p], **hyper}])


@pytest.mark.parametrize("row", BAD_HYPER, ids=_hyper_id)
def test_bad_hyperparameter_in_param_groups_changes_nothing(row):
    rule, hyper, kind, text = row
    opt, params = _error_optimizer(rule)
    before = _optimizer_bytes(opt)
    saved = dict(opt.param_groups[-1])
    opt.param_groups[-1].update(hyper)
    with pytest.raises(kind, match=f"{rule}.step: " + re.escape(text)):
        opt.step(_grads_for(params, 1))
    assert _optimizer_bytes(opt) == before
    opt.param_groups[-1].clear()
    opt.param_groups[-1].update(saved)
    opt.step(_grads_for(params, 1))                 # and it steps on
    assert _optimizer_bytes(opt) != before


@pytest.mark.parametrize("rule, hyper, change", [
    ("SGD", dict(momentum=0.9), dict(momentum=0.0)),
    ("SGD", dict(), dict(momentum=0.5)),
    ("RMSprop", dict(), dict(centered=True)),
    ("RMSprop", dict(momentum=0.5), dict(momentum=0.0)),
    ("Adam", dict(), dict(amsgrad=True)),
    ("AdamW", dict(amsgrad=True), dict(amsgrad=False)),
])
def test_changing_an_option_that_decides_the_state_raises(rule, hyper, change):
    opt, params = _error_optimizer(rule, **hyper)
    before = _optimizer_bytes(opt)
    opt.param_groups[-1].update(change)
    with pytest.raises(ValueError, match=r"param_groups\[1\] changed an option"):
        opt.step(_grads_for(params, 1))
    assert _optimizer_bytes(opt) == before


def _function_setup():
    params = [_finite(np.float32, (17,), 1), _finite(np.float16, (3, 5), 2),
              _finite(np.float32, (17,), 3)]
    grads = _grads_for(params, 1)
    ct = [ref.compute_dtype(p.dtype) for p in params]
    m = [np.full(p.shape, 0.1, c) for p, c in zip(params, ct)]
    v = [np.full(p.shape, 0.2, c) for p, c in zip(params, ct)]
    vmax = [np.full(p.shape, 0.3, c) for p, c in zip(params, ct)]
    return params, grads, m, v, vmax


ADAM_KW = dict(step=2, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)


def _function_errors():
    """name -> (call(params, grads, m, v, vmax), exception, text)."""
    adam, sgd, rms = optim.adam_step, optim.sgd_step, optim.rmsprop_step
    kw = ADAM_KW
    return {
        "grads[2] shape": (lambda p, g, m, v, x: adam(p, g[:2] + [g[2][:-1]], m, v, **kw),
                           ValueError, r"adam_step: grads\[2\] has shape \(16,\)"),
        "grads[2] dtype": (lambda p, g, m, v, x: adam(p, g[:2] + [g[2].astype(np.float64)],
                                                     m, v, **kw),
                           TypeError, r"adam_step: grads\[2\] has dtype float64"),
        "float16 state": (lambda p, g, m, v, x: adam(p, g, m[:1] + [m[1].astype(np.float16)]
                                                     + m[2:], v, **kw),
                          TypeError, r"adam_step: exp_avgs\[1\] has dtype float16, "
                                     r"expected float32"),
        "state shape": (lambda p, g, m, v, x: adam(p, g, m, v[:2] + [v[2][1:]], **kw),
                        ValueError, r"exp_avg_sqs\[2\] has shape"),
        "params[2] read-only": (lambda p, g, m, v, x: adam(p[:2] + [_read_only(p[2])], g, m, v,
                                                           **kw),
                                ValueError, r"params\[2\] is read-only"),
        "state read-only": (lambda p, g, m, v, x: adam(p, g, m, v[:2] + [_read_only(v[2])],
                                                       **kw),
                            ValueError, r"exp_avg_sqs\[2\] is read-only"),
        "grad is a param": (lambda p, g, m, v, x: adam(p, g[:2] + [p[0]], m, v, **kw),
                            ValueError, r"params\[0\] shares memory with grads\[2\]"),
        "state is a state": (lambda p, g, m, v, x: adam(p, g, m, v[:2] + [m[2]], **kw),
                             ValueError, r"exp_avgs\[2\] shares memory with exp_avg_sqs\[2\]"),
        "param twice": (lambda p, g, m, v, x: adam(p[:2] + [p[0]], g, m, v, **kw),
                        ValueError, r"params\[0\] shares memory with params\[2\]"),
        "grads short": (lambda p, g, m, v, x: adam(p, g[:2], m, v, **kw),
                        ValueError, "grads has 2 arrays, expected 3"),
        "states short": (lambda p, g, m, v, x: adam(p, g, m, v[:2], **kw),
                         ValueError, "exp_avg_sqs has 2 arrays, expected 3"),
        "amsgrad without max": (lambda p, g, m, v, x: adam(p, g, m, v, amsgrad=True, **kw),
                                ValueError, "max_exp_avg_sqs is required when amsgrad is True"),
        "max without amsgrad": (lambda p, g, m, v, x: adam(p, g, m, v, max_exp_avg_sqs=x,
                                                           **kw),
                                ValueError, "max_exp_avg_sqs is given but only used"),
        "adamw max short": (lambda p, g, m, v, x: optim.adamw_step(
                                p, g, m, v, amsgrad=True, max_exp_avg_sqs=x[:2], **kw),
                            ValueError, "max_exp_avg_sqs has 2 arrays"),
        "step 0": (lambda p, g, m, v, x: adam(p, g, m, v, **{**kw, "step": 0}),
                   ValueError, "step must be an integer >= 1"),
        "step 1.0": (lambda p, g, m, v, x: adam(p, g, m, v, **{**kw, "step": 1.0}),
                     ValueError, "step must be an integer"),
        "step True": (lambda p, g, m, v, x: adam(p, g, m, v, **{**kw, "step": True}),
                      ValueError, "step must be an integer"),
        "beta1 1": (lambda p, g, m, v, x: adam(p, g, m, v, **{**kw, "beta1": 1.0}),
                    ValueError, r"beta1 must be in \[0, 1\)"),
        "beta2 nan": (lambda p, g, m, v, x: adam(p, g, m, v, **{**kw, "beta2": NAN}),
                      ValueError, "beta2 must be"),
        "lr inf": (lambda p, g, m, v, x: adam(p, g, m, v, **{**kw, "lr": INF}),
                   ValueError, "lr must be"),
        "eps negative": (lambda p, g, m, v, x: adam(p, g, m, v, **{**kw, "eps": -1.0}),
                         ValueError, "eps must be"),
        "params an array": (lambda p, g, m, v, x: adam(p[0], g, m, v, **kw),
                            TypeError, "params must be a list of arrays"),
        "sgd without buffers": (lambda p, g, m, v, x: sgd(p, g, step=1, lr=0.1, momentum=0.9),
                                ValueError, "momentum_buffers is required when momentum"),
        "sgd buffers unused": (lambda p, g, m, v, x: sgd(p, g, m, step=1, lr=0.1),
                               ValueError, "momentum_buffers is given but only used"),
        "sgd nesterov": (lambda p, g, m, v, x: sgd(p, g, m, step=1, lr=0.1, momentum=0.9,
                                                   nesterov=True, dampening=0.5),
                         ValueError, "nesterov needs"),
        "rmsprop centered": (lambda p, g, m, v, x: rms(p, g, v, lr=0.1, alpha=0.9, eps=1e-8,
                                                       centered=True),
                             ValueError, "grad_avgs is required when centered"),
        "rmsprop momentum": (lambda p, g, m, v, x: rms(p, g, v, lr=0.1, alpha=0.9, eps=1e-8,
                                                       momentum=0.5),
                             ValueError, "momentum_buffers is required"),
        "rmsprop grad_avgs unused": (lambda p, g, m, v, x: rms(p, g, v, lr=0.1, alpha=0.9,
                                                               eps=1e-8, grad_avgs=m),
                                     ValueError, "grad_avgs is given but only used"),
        "adagrad state list": (lambda p, g, m, v, x: optim.adagrad_step(
                                   p, g, v[0], step=1, lr=0.1, eps=1e-10),
                               TypeError, "state_sums must be a list of arrays"),
        "adadelta rho": (lambda p, g, m, v, x: optim.adadelta_step(
                             p, g, m, v, lr=1.0, rho=1.5, eps=1e-6),
                         ValueError, "adadelta_step: rho must be"),
    }


def _read_only(a):
    a = a.view()
    a.flags.writeable = False
    return a


FUNCTION_ERRORS = _function_errors()


@pytest.mark.parametrize("name", FUNCTION_ERRORS)
def test_function_errors_change_nothing(name):
    call, kind, text = FUNCTION_ERRORS[name]
    arrays = _function_setup()
    before = [_bytes(group) for group in arrays]
    with pytest.raises(kind, match=text):
        call(*arrays)
    assert [_bytes(group) for group in arrays] == before


# ---------------------------------------------------------------------------
# 6. NaN and inf in a gradient reach the parameter
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("rule", RULES)
def test_nan_and_inf_gradients_reach_the_parameter(rule):
    # gradient NaN: the parameter becomes NaN, in every rule. Gradient +-inf:
    # SGD (a plain step of -lr * g, and with momentum) makes it -+inf; the
    # rules that divide by a running RMS of the gradient (Adagrad, Adadelta,
    # RMSprop, Adam, AdamW) compute inf / inf there and make it NaN. Either
    # way it stays non-finite, and the other elements stay finite.
    for hyper in ({}, {"momentum": 0.9} if rule in ("SGD", "RMSprop") else {"maximize": True}):
        p = np.array([1.0, -2.0, 0.5, 3.0, 0.25], np.float32)
        opt = RULES[rule].cls([p], **hyper)
        for _ in range(2):
            opt.step([np.array([NAN, INF, -INF, 0.5, -1.0], np.float32)])
            assert np.isnan(p[0])
            if rule == "SGD":
                assert p[1] == -INF and p[2] == INF
            else:
                assert np.isnan(p[1]) and np.isnan(p[2])
            assert np.all(np.isfinite(p[3:]))


# ---------------------------------------------------------------------------
# 7. The GIL is released during a step
# ---------------------------------------------------------------------------

def _runs_beside(call):
    """How many times another Python thread ran while ``call`` ran (at least
    five times, over at least 50 ms)."""
    return runs_beside(call, times=5, window=0.05)


@pytest.fixture(scope="module")
def big():
    n = 4 * 1024 * 1024
    p = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    g = np.random.default_rng(1).standard_normal(n, dtype=np.float32)
    return p, g


def test_step_releases_the_gil(big):
    p, g = big
    opt = optim.Adam([p])
    opt.step([g])
    assert _runs_beside(lambda: opt.step([g])) > 0


def test_function_and_clip_release_the_gil(big):
    p, g = big
    m, v = np.zeros_like(p), np.zeros_like(p)
    optim.adam_step([p], [g], [m], [v], **ADAM_KW)
    assert _runs_beside(lambda: optim.adam_step([p], [g], [m], [v], **ADAM_KW)) > 0
    assert _runs_beside(lambda: optim.clip_grad_norm([g], 1e30)) > 0


def test_gil_check_sees_a_call_that_holds_it():
    # the control: a long pure-Python call holds the GIL, nothing runs beside
    def spin():
        end = time.perf_counter() + 0.02
        while time.perf_counter() < end:
            pass
    assert _runs_beside(spin) == 0


# ---------------------------------------------------------------------------
# 8. No allocation per step beyond O(number of arrays)
# ---------------------------------------------------------------------------

def _peak(call):
    """The peak traced memory above the start during call()."""
    call()
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _adam_call(n_arrays, size, dtype=np.float32, layout="C", function=False):
    params = [_placed(_finite(dtype, (size // 64, 64), i), layout) for i in range(n_arrays)]
    grads = _grads_for(params, 1)
    if function:
        ct = ref.compute_dtype(dtype)
        m = [np.zeros(p.shape, ct) for p in params]
        v = [np.zeros(p.shape, ct) for p in params]
        return lambda: optim.adam_step(params, grads, m, v, **ADAM_KW)
    opt = optim.AdamW(params, amsgrad=True)
    return lambda: opt.step(grads)


def test_tracemalloc_sees_array_allocations():
    # the control: an array of 1M float32 shows as 4 MB
    assert _peak(lambda: np.ones(1 << 20, np.float32)) >= 4 << 20


@pytest.mark.parametrize("dtype, layout, function", [
    (np.float32, "C", False), (np.float16, "C", False), (np.float32, "F", False),
    (np.float64, "sliced", False), (np.float32, "C", True)])
def test_a_step_allocates_no_array(dtype, layout, function):
    big = _peak(_adam_call(4, 1 << 20, dtype, layout, function))
    small = _peak(_adam_call(4, 1 << 10, dtype, layout, function))
    assert big < 32 << 10, big                 # one array is 2 to 8 MB
    assert big <= small + 1024, (big, small)   # not growing with the size


@pytest.mark.parametrize("function", (False, True), ids=("Adam.step", "adam_step"))
def test_step_allocations_grow_with_the_number_of_arrays_only(function):
    four = _peak(_adam_call(4, 1 << 10, function=function))
    many = _peak(_adam_call(128, 1 << 10, function=function))
    assert many <= four + 124 * 1024, (four, many)     # under 1 KiB per array


def test_clip_allocates_no_array():
    grads = [_finite(np.float32, (1 << 20,), i) for i in range(4)]
    assert _peak(lambda: optim.clip_grad_norm(grads, 1e30)) < 32 << 10
    assert _peak(lambda: optim.clip_grad_norm(grads, 1.0)) < 32 << 10


# ---------------------------------------------------------------------------
# 9. clip_grad_norm
# ---------------------------------------------------------------------------

CLIP_SHAPES = ((33,), (3, 5), (0,), (4, 1, 33), (1,), (16, 9), (2, 3, 0, 4), (1000,))


def _clip_grads(dtype, data, seed=0):
    out = []
    for i, shape in enumerate(CLIP_SHAPES):
        d = FLOAT_DTYPES[i % 3] if dtype == "mixed" else dtype
        layout = LAYOUTS[i % len(LAYOUTS)]
        v = _values(d, shape, seed + i) if data == "edges" else _finite(d, shape, seed + i, 3.0)
        out.append(_placed(v, layout))
    return out


def _norm_bits(norm):
    assert isinstance(norm, float)
    return np.float64(norm)


@pytest.mark.parametrize("data", ("finite", "edges"))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("mixed",), ids=str)
def test_clip_grad_norm_matches_twin(dtype, data):
    norm = ref.clip_grad_norm([np.array(g) for g in _clip_grads(dtype, data)], 1e300)
    for max_norm in (0.0, norm / 3 if math.isfinite(norm) else 1.0, norm, norm * 2,
                     norm + 1.0):
        if not math.isfinite(max_norm):
            continue
        grads = _clip_grads(dtype, data)
        twins = [np.array(g) for g in grads]
        got = optim.clip_grad_norm(grads, max_norm)
        expected = ref.clip_grad_norm(twins, max_norm)
        _same(_norm_bits(got), np.float64(expected), f"norm, max_norm={max_norm}")
        for i, (g, t) in enumerate(zip(grads, twins)):
            _same(g, t, f"grads[{i}], max_norm={max_norm}")
            _gaps_intact(g)
    if data == "edges":
        assert math.isnan(norm)                  # the edge values hold NaN


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_clip_norm_is_the_same_bits_in_any_layout_and_split(dtype):
    data = _finite(dtype, (6, 7, 45), 3, 3.0)          # 1890 values, past a 256 chunk
    flat = data.ravel()
    norm = optim.clip_grad_norm([np.array(data)], 1e300)
    assert norm == math.sqrt(math.fsum(float(x) ** 2 for x in flat))
    for layout in LAYOUTS:
        _same(_norm_bits(optim.clip_grad_norm([in_layout(data, layout)], 1e300)),
              np.float64(norm), layout)
    for cuts in ((1,), (31, 33), (0, 0, 256, 257, 1000), (5, 37, 69, 101, 1889), (1890,)):
        pieces = np.split(flat, cuts)
        arrays = [in_layout(piece.reshape(-1, 1) if len(piece) % 2 else piece.reshape(2, -1),
                            LAYOUTS[i % len(LAYOUTS)]) for i, piece in enumerate(pieces)]
        _same(_norm_bits(optim.clip_grad_norm(arrays, 1e300)), np.float64(norm), str(cuts))


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=str)
def test_clip_norm_sums_the_squares_exactly(dtype):
    # squares 1e16, then 32 ones: any order of float64 additions loses some
    # of the ones (1e16 + 1 rounds back to 1e16, ties to even); the exact sum
    # keeps all 32, in every order and split
    flat = np.array([1e8] + [1.0] * 32, dtype)
    expected = math.sqrt(1e16 + 32.0)
    assert expected != math.sqrt(1e16 + 30.0) and expected != 1e8
    assert optim.clip_grad_norm([flat.copy()], 1e300) == expected
    assert ref.clip_grad_norm([flat.copy()], 1e300) == expected
    for cuts in ((1,), (5, 32), (32,), (33,)):
        assert optim.clip_grad_norm(np.split(flat.copy(), cuts), 1e300) == expected, cuts
        assert optim.clip_grad_norm(np.split(flat[::-1].copy(), cuts), 1e300) == expected, cuts


def test_no_scaling_below_max_norm():
    grads = _clip_grads("mixed", "finite")
    before = _bytes(grads)
    norm = optim.clip_grad_norm(grads, 1e300)
    assert math.isfinite(norm) and norm > 0
    assert _bytes(grads) == before
    assert optim.clip_grad_norm(grads, norm + 1e-5) == norm   # max_norm / (norm + 1e-6) >= 1
    assert _bytes(grads) == before
    # at max_norm = norm, the documented factor norm / (norm + 1e-6) applies (as torch)
    optim.clip_grad_norm(grads, norm)
    assert _bytes(grads) != before
    # zero gradients: a zero norm, nothing scaled
    zeros = [np.zeros(3, np.float32), np.zeros((2, 2))]
    assert optim.clip_grad_norm(zeros, 1.0) == 0.0
    assert_same(zeros[0], np.zeros(3, np.float32))


def test_clip_scales_to_max_norm():
    grads = [np.array([3.0, 0.0], np.float32), np.array([[4.0]])]
    assert optim.clip_grad_norm(grads, 1.0) == 5.0
    np.testing.assert_allclose(grads[0], [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(grads[1], [[0.8]], rtol=1e-6)
    assert optim.clip_grad_norm([], 1.0) == 0.0


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_clip_with_an_infinite_gradient_gives_nan_quietly(dtype):
    """norm inf, factor 0: finite gradients become 0 and inf * 0 NaN, as the
    twin (and torch) give, with no warning even where NumPy would raise."""
    grads = [np.array([1.0, -2.0], dtype), np.array([np.inf], dtype)]
    expected = [g.copy() for g in grads]
    with np.errstate(invalid="raise"):
        norm = optim.clip_grad_norm(grads, 1.0)
    assert norm == ref.clip_grad_norm(expected, 1.0) == np.inf
    for got, want in zip(grads, expected):
        assert_same(got, want)
    assert np.array_equal(grads[0], [0.0, 0.0]) and np.isnan(grads[1]).all()


def _clip_errors(grads):
    read_only = _read_only(grads[-1])
    return {
        "read-only": (grads[:-1] + [read_only], 1.0, ValueError,
                      r"clip_grad_norm: grads\[2\] is read-only"),
        "int dtype": (grads[:-1] + [np.ones(3, np.int32)], 1.0, TypeError,
                      r"clip_grad_norm: grads\[2\] has dtype int32"),
        "complex": (grads[:-1] + [np.ones(3, np.complex64)], 1.0, TypeError,
                    r"grads\[2\] has dtype complex64"),
        "not an array": (grads[:-1] + [[1.0, 2.0]], 1.0, TypeError, r"grads\[2\]"),
        "max_norm < 0": (grads, -1.0, ValueError, "max_norm must be"),
        "max_norm nan": (grads, NAN, ValueError, "max_norm must be"),
        "max_norm str": (grads, "1", TypeError, "max_norm must be a real number"),
        "an array": (grads[0], 1.0, TypeError, "grads must be a list"),
    }


CLIP_ERRORS = list(_clip_errors([np.ones(2)] * 3))


@pytest.mark.parametrize("name", CLIP_ERRORS)
def test_clip_errors_change_nothing(name):
    grads = [_finite(np.float32, (17,), 1) * 10, _finite(np.float64, (3, 5), 2) * 10,
             _finite(np.float16, (4, 33), 3)]
    before = _bytes(grads)
    args = _clip_errors(grads)[name]
    with pytest.raises(args[2], match=args[3]):
        optim.clip_grad_norm(args[0], args[1])
    assert _bytes(grads) == before


# ---------------------------------------------------------------------------
# 10. Parameter groups
# ---------------------------------------------------------------------------

def test_group_hyperparameters_and_defaults():
    a, b = _finite(np.float32, (5,), 1), _finite(np.float32, (5,), 2)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"][0] is b
    a0, b0 = a.copy(), b.copy()
    ga, gb = _finite(np.float32, (5,), 3), _finite(np.float32, (5,), 4)
    opt.step([ga, gb])
    ref.sgd_step([a0], [ga], step=1, lr=0.1)
    ref.sgd_step([b0], [gb], [np.zeros(5, np.float32)], step=1, lr=0.5, momentum=0.9)
    assert_same(a, a0)
    assert_same(b, b0)
    assert set(opt.state[0]) == {"step"}
    assert set(opt.state[1]) == {"step", "momentum_buffer"}


@pytest.mark.parametrize("group, kind, text", [
    ({"params": [np.ones(3)], "learning_rate": 0.1}, ValueError,
     "unknown hyperparameter 'learning_rate'"),
    ({"params": [np.ones(3)], "betas": (0.9, 0.999)}, ValueError,
     "unknown hyperparameter 'betas'"),
    ({"lr": 0.1}, TypeError, "'params' list"),
    ({"params": [np.ones(3, np.int64)]}, TypeError, r"params\[\d\] has dtype int64"),
    ({"params": [np.ones(3, np.complex128)]}, TypeError, "complex128"),
    ({"params": [[1.0, 2.0]]}, TypeError, r"params\[\d\] must be a NumPy array"),
    ({"params": [np.ones(3), np.ones(3)], "lr": -1.0}, ValueError, "lr must be"),
])
def test_bad_groups(group, kind, text):
    base = _finite(np.float32, (4,), 0)
    with pytest.raises(kind, match=text):
        optim.SGD([{"params": [base]}, group])
    opt = optim.SGD([base])
    with pytest.raises(kind, match=text):
        opt.add_param_group(group)
    assert len(opt.param_groups) == 1 and len(opt.state) == 1


def test_overlapping_parameters_are_refused():
    w = np.zeros((4, 6), np.float32)
    for first, second in (([w], [w]), ([w[:2]], [w[1:]]), ([w[:, ::2]], [w[0]]), ([w], [w.T])):
        with pytest.raises(ValueError, match="shares memory"):
            optim.Adam([{"params": first}, {"params": second}])
        with pytest.raises(ValueError, match="shares memory"):
            optim.Adam(first + second)
        opt = optim.Adam(first)
        with pytest.raises(ValueError, match="shares memory"):
            opt.add_param_group({"params": second})
        assert len(opt.param_groups) == 1 and len(opt.state) == len(first)
    # interleaved views do not overlap: accepted
    optim.Adam([{"params": [w[:, ::2]]}, {"params": [w[:, 1::2]]}])


def test_read_only_param_refused_at_construction():
    p = np.zeros(3)
    p.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] is read-only"):
        optim.SGD([p])


@pytest.mark.parametrize("params, kind", [
    ([], ValueError), (np.zeros(3), TypeError), ([np.zeros(3), {"params": []}], TypeError),
    ("abc", TypeError)])
def test_bad_params_argument(params, kind):
    with pytest.raises(kind):
        optim.SGD(params)


def test_state_reports_steps_and_live_arrays():
    a, b, c = (_finite(np.float32, (3,), i) for i in range(3))
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.1}])
    assert [e["step"] for e in opt.state] == [0, 0, 0]
    assert all(np.all(e["exp_avg"] == 0) and e["exp_avg"].dtype == np.float32 for e in opt.state)
    opt.step(_grads_for([a, b, c], 1))
    opt.step(_grads_for([a, b, c], 2))
    d = _finite(np.float16, (2, 2), 3)
    opt.add_param_group({"params": [d]})
    assert [e["step"] for e in opt.state] == [2, 2, 2, 0]
    assert opt.state[3]["exp_avg"].dtype == np.float32            # float16: float32 state
    live = opt.state[0]["exp_avg"]
    opt.step(_grads_for([a, b, c, d], 3))
    assert [e["step"] for e in opt.state] == [3, 3, 3, 1]
    assert live is opt.state[0]["exp_avg"] and np.any(live != 0)
    assert "Parameter Group 1" in repr(opt) and "lr: 0.1" in repr(opt)


def test_state_keeps_the_parameters_memory_order():
    f = _placed(_finite(np.float32, (3, 5), 0), "F")
    opt = optim.Adagrad([f], initial_accumulator_value=0.25)
    total = opt.state[0]["sum"]
    assert total.flags.f_contiguous and total.shape == (3, 5)
    assert np.all(total == 0.25)


# ---------------------------------------------------------------------------
# param_groups edited between steps: every edit is seen, checked, or refused
# ---------------------------------------------------------------------------

def test_param_group_edits_are_seen_at_the_next_step():
    p = _finite(np.float32, (33,), 1)
    twin_p = [np.array(p)]
    opt = optim.Adam([p], lr=0.01)
    twin = _Twin("Adam")
    twin.add(twin_p, _full_hyper("Adam", {"lr": 0.01}))
    group, kept = opt.param_groups[0], twin.groups[0]["hyper"]
    edits = [dict(betas=[0.9, 0.999]), dict(eps=1e-3), dict(lr=np.float64(0.02)),
             dict(weight_decay=0.5), dict(betas=(0.5, 0.9)), dict(maximize=True)]
    for step, edit in enumerate(edits, 1):
        group.update(edit)
        kept.update({k: tuple(v) if k == "betas" else v for k, v in edit.items()})
        grads = _grads_for([p], step)
        opt.step(grads)
        twin.step([g.copy() for g in grads])
        _same(p, twin_p[0], f"after {edit}")
    # a list of betas edited in place is checked again
    group["betas"] = [0.9, 0.999]
    opt.step(_grads_for([p], 10))
    before = _optimizer_bytes(opt)
    group["betas"][1] = 1.0
    with pytest.raises(ValueError, match=r"betas\[1\] must be"):
        opt.step(_grads_for([p], 11))
    assert _optimizer_bytes(opt) == before
    group["betas"][1] = 0.99
    group["lr"] = np.float64(-0.5)
    with pytest.raises(ValueError, match="lr must be"):
        opt.step(_grads_for([p], 11))
    assert _optimizer_bytes(opt) == before


def test_replaced_parameters_are_checked_again():
    a, b = _finite(np.float32, (5,), 1), _finite(np.float32, (5,), 2)
    opt = optim.Adam([a, b])
    opt.step(_grads_for([a, b], 0))
    params = opt.param_groups[0]["params"]
    states = [v for entry in opt.state for k, v in sorted(entry.items()) if k != "step"]
    before = _bytes([a, b] + states)
    for other in (opt.state[0]["exp_avg"], a[::-1], opt.state[1]["exp_avg_sq"][:]):
        params[1] = other
        with pytest.raises(ValueError, match="shares memory"):
            opt.step(_grads_for([a, b], 1))
        assert _bytes([a, b] + states) == before
    params[1] = b
    with pytest.raises(ValueError, match="has changed since it was added"):
        params.append(np.zeros(5, np.float32))
        opt.step(_grads_for([a, b, b], 1))
    del params[2]
    # a parameter replaced by a fresh array steps on
    c = b.copy()
    params[1] = c
    opt.step(_grads_for([a, b], 1))
    assert _bytes([b]) == before[1:2] and _bytes([c]) != before[1:2]


@pytest.mark.parametrize("single_group", (True, False))
def test_grad_sharing_memory_with_an_interleaved_param_is_refused(single_group):
    # parameters whose bytes interleave (even and odd columns of one array)
    # share no memory and are accepted; a gradient that is an element of
    # the first one must still be refused, as the functions refuse it
    w = np.zeros((4, 8), np.float32)
    params = [w[:, ::2], w[0, 1:2], w[0, 3:4]]
    grads = [np.ones((4, 4), np.float32), w[3, 0:1], np.ones(1, np.float32)]
    with pytest.raises(ValueError, match=r"params\[0\] shares memory with grads\[1\]"):
        optim.sgd_step(params, grads, step=1, lr=0.5)
    groups = [{"params": params}] if single_group else [{"params": params[:1]},
                                                        {"params": params[1:]}]
    opt = optim.SGD(groups, lr=0.5)
    with pytest.raises(ValueError, match=r"params\[0\] shares memory with grads\[1\]"):
        opt.step(grads)
    assert not np.any(w)


def test_params_replaced_by_a_tuple_do_not_crash():
    # run in a child: a crash must fail this test, not end the test run
    code = "\n".join([
        "import numpy as np",
        "from rectkern import optim",
        "a, b = np.ones(3), np.ones(4)",
        "opt = optim.SGD([a, b], lr=0.5)",
        "opt.step([np.ones(3), np.ones(4)])",
        "opt.param_groups[0]['params'] = (a, b)",
        "try:",
        "    opt.step([np.ones(3), np.ones(4)])",
        "    assert a[0] == 0.0 and b[0] == 0.0, (a, b)",
        "except (TypeError, ValueError) as exc:",
        "    assert a[0] == 0.5 and b[0] == 0.5, (a, b)",
        "print('done')",
    ])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "done", (done.returncode,
                                                                     done.stderr[-2000:])


# ---------------------------------------------------------------------------
# User code that runs during a step cannot undo its checks
# ---------------------------------------------------------------------------

def test_a_hyperparameter_that_reshapes_a_parameter_is_seen_before_any_write():
    """Every group's hyperparameters are read before any group's step is
    prepared: a float() that reshapes a parameter of the first group makes
    the step refuse its gradient, and nothing is written."""
    w, slopes = np.ones((4, 6), np.float32), np.ones(3, np.float32)

    class ReshapingLr(float):
        def __float__(self):
            w.shape = (6, 4)
            return 0.5

    opt = optim.SGD([{"params": [w]}, {"params": [slopes]}], lr=0.1)
    opt.param_groups[1]["lr"] = ReshapingLr(0.5)
    grads = [np.ones((4, 6), np.float32), np.ones(3, np.float32)]
    with pytest.raises(ValueError, match=re.escape("grads[0] has shape (4, 6), expected (6, 4)")):
        opt.step(grads)
    assert (w == 1).all() and (slopes == 1).all()


def test_a_params_list_that_misreports_its_length_is_read_whole():
    class Lying(list):
        def __len__(self):
            return 1

    a, b = np.ones(3), np.ones(4)
    opt = optim.SGD([a, b], lr=0.5)
    opt.param_groups[0]["params"] = Lying([a, b])
    opt.step([np.ones(3), np.ones(4)])
    assert (a == 0.5).all() and (b == 0.5).all()


def test_a_group_holding_the_state_is_refused_and_the_optimiser_goes_on():
    p = np.ones(5)
    opt = optim.Adam([p], lr=0.1)
    with pytest.raises(ValueError, match=re.escape("params[1] shares memory with "
                                                   "state['exp_avg'][0]")):
        opt.add_param_group({"params": [opt.state[0]["exp_avg"]]})
    assert len(opt.param_groups) == 1
    opt.step([np.ones(5)])
    twin = optim.Adam([np.ones(5)], lr=0.1)
    twin.step([np.ones(5)])
    assert_same(p, twin.param_groups[0]["params"][0])
