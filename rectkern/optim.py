"""Optimisers: the update rules of ``torch.optim`` as fused one-pass kernels.

Each rule updates its parameters **in place**, every array of a parameter
group in one C call with the GIL released: one pass over the parameter, its
gradient and its state, at the speed of moving their bytes.  The rules have
the hyperparameter names, defaults and update equations of ``torch.optim``
(so ported code gives the same numbers, to rounding):

======================  ==============================================
class                   function on explicit state
======================  ==============================================
`SGD`                   `sgd_step`
`Adagrad`               `adagrad_step`
`Adadelta`              `adadelta_step`
`RMSprop`               `rmsprop_step`
`Adam`                  `adam_step`
`AdamW`                 `adamw_step`
======================  ==============================================

and `clip_grad_norm` scales gradients to a global norm.

Parameters are float16, float32 or float64 arrays of any shape and strides
(contiguous ones take the fast path).  The state has the parameter's dtype,
except for float16 parameters, whose state is float32: their update is
computed in float32 and rounded to float16 once.  Every equation below is
computed in that compute type, in the order written, each hyperparameter
rounded to it once; the kernels give the same bits as the NumPy twins in
``rectkern._reference`` at every instruction-set level.  NaN or inf in a
gradient reaches its parameter: a diverging model stays visible.

Every argument is checked before any array is written: a call that raises
has changed nothing.

The seeds' notation maps onto these rules as follows.  Momentum,
``v = γ v + η ∇J; θ = θ - v``, is `SGD` with ``momentum=γ``: torch (and
rectkern) keep ``buf = γ buf + ∇J`` and step ``θ = θ - η buf``, the same
update with the learning rate folded out of the buffer (equal while η is
constant).  Nesterov's accelerated gradient is ``nesterov=True``, in the
form that needs no gradient at the look-ahead point.  Adagrad's
``θ = θ - η g / sqrt(G + ε)`` is `Adagrad`, with ε added after the square
root as torch does.  Adadelta's ``E[g²] = γ E[g²] + (1 - γ) g²`` and
``Δθ = -(RMS[Δθ] / RMS[g]) g`` are `Adadelta` with ``rho=γ`` (and a further
factor ``lr``, 1 by default).  RMSprop's decaying average of g² is
`RMSprop` with ``alpha=γ``, and Adam's bias-corrected moments are `Adam`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from . import _ext

__all__ = [
    "SGD",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Adam",
    "AdamW",
    "sgd_step",
    "adagrad_step",
    "adadelta_step",
    "rmsprop_step",
    "adam_step",
    "adamw_step",
    "clip_grad_norm",
]

_FLAGS = _ext.OPT_FLAGS

Arrays = Sequence[NDArray[Any]]                 # a list (or tuple) of arrays
Params = Union[Arrays, Sequence[Mapping[str, Any]]]   # arrays, or parameter groups

# ---------------------------------------------------------------------------
# Hyperparameters: their ranges, checked in one place
# ---------------------------------------------------------------------------

# name: (lowest, highest, whether the highest is excluded); None: unbounded
_RANGES = {
    "lr": (0.0, None, False),
    "lr_decay": (0.0, None, False),
    "weight_decay": (0.0, None, False),
    "eps": (0.0, None, False),
    "momentum": (0.0, None, False),
    "dampening": (0.0, 1.0, False),
    "initial_accumulator_value": (0.0, None, False),
    "rho": (0.0, 1.0, False),
    "alpha": (0.0, 1.0, False),
    "beta": (0.0, 1.0, True),
    "max_norm": (0.0, None, False),
}
_OPTIONS = ("nesterov", "maximize", "amsgrad", "centered")
_IMMUTABLE = (float, int, bool, tuple)     # hyperparameter values a group may hold as checked


def _number(func, name, value, kind=None):
    """value as a float in the range of ``kind`` (default: name), or an error."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    low, high, open_high = _RANGES[kind or name]
    bad = (not math.isfinite(value) or value < low
           or (high is not None and (value >= high if open_high else value > high)))
    if bad:
        if high is None:
            wanted = f"a finite number >= {low:g}"
        else:
            wanted = f"in [{low:g}, {high:g}{')' if open_high else ']'}"
        raise ValueError(f"{func}: {name} must be {wanted}, got {value!r}")
    return value


def _option(func, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be True or False, got {value!r}")
    return bool(value)


def _checked_hyper(func, rule, hyper, beta_names=("betas[0]", "betas[1]")):
    """The hyperparameters of a group, each checked, as plain Python values."""
    out = {}
    for name in rule.hyper:
        value = hyper[name]
        if name == "betas":
            if not isinstance(value, (tuple, list, np.ndarray)) or np.shape(value) != (2,):
                raise ValueError(f"{func}: betas must be a pair (beta1, beta2), got {value!r}")
            out[name] = (_number(func, beta_names[0], value[0], "beta"),
                         _number(func, beta_names[1], value[1], "beta"))
        elif name in _OPTIONS:
            out[name] = _option(func, name, value)
        else:
            out[name] = _number(func, name, value)
    if rule.check is not None:
        rule.check(func, out)
    return out


def _step_number(func, step):
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral) or step < 1:
        raise ValueError(f"{func}: step must be an integer >= 1 (this step's number), "
                         f"got {step!r}")
    return int(step)


# ---------------------------------------------------------------------------
# The rules: one row each
# ---------------------------------------------------------------------------

def _base_flags(h):
    flags = _FLAGS["maximize"] if h["maximize"] else 0
    if h.get("weight_decay", 0.0) != 0.0 and not h.get("decoupled", False):
        flags |= _FLAGS["weight_decay"]
    return flags


def _sgd_check(func, h):
    if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
        raise ValueError(f"{func}: nesterov needs momentum > 0 and dampening = 0, got "
                         f"momentum={h['momentum']!r}, dampening={h['dampening']!r}")


def _sgd_states(h):
    return ("momentum_buffer",) if h["momentum"] != 0 else ()


def _sgd_constants(h, step):
    flags = _base_flags(h)
    if h["momentum"] != 0:
        flags |= _FLAGS["momentum"]
        flags |= _FLAGS["nesterov"] if h["nesterov"] else 0
        flags |= _FLAGS["first_step"] if step == 1 else 0
    return dict(lr=h["lr"], weight_decay=h["weight_decay"], momentum=h["momentum"],
                dampening_complement=1.0 - h["dampening"], flags=flags)


def _adagrad_constants(h, step):
    return dict(lr=h["lr"] / (1.0 + (step - 1) * h["lr_decay"]), eps=h["eps"],
                weight_decay=h["weight_decay"], flags=_base_flags(h))


def _adadelta_constants(h, step):
    return dict(lr=h["lr"], decay=h["rho"], decay_complement=1.0 - h["rho"], eps=h["eps"],
                weight_decay=h["weight_decay"], flags=_base_flags(h))


def _rmsprop_states(h):
    return (("square_avg",) + (("momentum_buffer",) if h["momentum"] > 0 else ())
            + (("grad_avg",) if h["centered"] else ()))


def _rmsprop_constants(h, step):
    flags = _base_flags(h)
    flags |= _FLAGS["momentum"] if h["momentum"] > 0 else 0
    flags |= _FLAGS["centered"] if h["centered"] else 0
    return dict(lr=h["lr"], decay=h["alpha"], decay_complement=1.0 - h["alpha"],
                eps=h["eps"], momentum=h["momentum"], weight_decay=h["weight_decay"],
                flags=flags)


def _adam_states(h):
    return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if h["amsgrad"] else ())


def _adam_constants(h, step, decoupled=False):
    beta1, beta2 = h["betas"]
    flags = _base_flags(dict(h, decoupled=decoupled))
    flags |= _FLAGS["amsgrad"] if h["amsgrad"] else 0
    flags |= _FLAGS["decoupled"] if decoupled else 0
    return dict(lr=h["lr"] / (1.0 - beta1 ** step), beta1=beta1, one_minus_beta1=1.0 - beta1,
                beta2=beta2, one_minus_beta2=1.0 - beta2,
                bias_correction2_sqrt=math.sqrt(1.0 - beta2 ** step), eps=h["eps"],
                weight_decay=h["weight_decay"],
                decay_factor=1.0 - h["lr"] * h["weight_decay"], flags=flags)


class _Rule(NamedTuple):
    """An update rule: everything the classes and functions need to know."""

    name: str                   # the class
    kernel: str                 # the C kernel (a key of _ext.RULES)
    hyper: tuple[str, ...]      # hyperparameter names, as torch.optim's
    # (hyper) -> state names, in the kernel's operand order
    states: Callable[[dict[str, Any]], tuple[str, ...]]
    # (hyper, step) -> fields of the kernel's rk_optim_hyper
    constants: Callable[[dict[str, Any], int], dict[str, Any]]
    # (func, hyper) -> None: rules across hyperparameters
    check: Optional[Callable[[str, dict[str, Any]], None]] = None
    initial: Union[float, str] = 0.0   # the state's first value (or a hyperparameter's name)


RULES = {
    rule.name: rule for rule in (
        _Rule("SGD", "sgd",
              ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
              _sgd_states, _sgd_constants, _sgd_check),
        _Rule("Adagrad", "adagrad",
              ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
               "maximize"),
              lambda h: ("sum",), _adagrad_constants, initial="initial_accumulator_value"),
        _Rule("Adadelta", "adadelta",
              ("lr", "rho", "eps", "weight_decay", "maximize"),
              lambda h: ("square_avg", "acc_delta"), _adadelta_constants),
        _Rule("RMSprop", "rmsprop",
              ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
              _rmsprop_states, _rmsprop_constants),
        _Rule("Adam", "adam",
              ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
              _adam_states, _adam_constants),
        _Rule("AdamW", "adam",
              ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
              _adam_states, lambda h, step: _adam_constants(h, step, decoupled=True)),
    )
}


# The argument of the functions that holds each state, and when an optional
# state is needed.
_STATE_ARGUMENTS = {
    "momentum_buffer": "momentum_buffers", "sum": "state_sums",
    "square_avg": "square_avgs", "acc_delta": "acc_deltas", "grad_avg": "grad_avgs",
    "exp_avg": "exp_avgs", "exp_avg_sq": "exp_avg_sqs", "max_exp_avg_sq": "max_exp_avg_sqs",
}
_NEEDED_WHEN = {"momentum_buffer": "momentum is not 0", "grad_avg": "centered is True",
                "max_exp_avg_sq": "amsgrad is True"}


def _array_list(func, name, values):
    if isinstance(values, np.ndarray) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{func}: {name} must be a list of arrays, got "
                        f"{type(values).__name__}")
    return list(values)


def _run_rule(func, rule, params, grads, hyper, step, **given):
    """The functions' common part: check everything, then one kernel call
    over every array.  ``given`` holds the state arguments (a list, or None
    where the caller passed none)."""
    hyper = _checked_hyper(func, rule, hyper, beta_names=("beta1", "beta2"))
    step = _step_number(func, step)
    needed = rule.states(hyper)
    for state, argument in _STATE_ARGUMENTS.items():
        if argument not in given:
            continue
        if state in needed and given[argument] is None:
            raise ValueError(f"{func}: {argument} is required when {_NEEDED_WHEN[state]}")
        if state not in needed and given[argument] is not None:
            raise ValueError(f"{func}: {argument} is given but only used when "
                             f"{_NEEDED_WHEN[state]}")
    names = ("params", "grads", *(_STATE_ARGUMENTS[state] for state in needed))
    lists = [_array_list(func, "params", params), _array_list(func, "grads", grads)]
    lists += [_array_list(func, name, given[name]) for name in names[2:]]
    for name, arrays in zip(names[1:], lists[1:]):
        if len(arrays) != len(lists[0]):
            raise ValueError(f"{func}: {name} has {len(arrays)} arrays, expected "
                             f"{len(lists[0])} (one per parameter)")
    _ext.prepare_step(func, rule.kernel, rule.constants(hyper, step), lists, names).run()


# ---------------------------------------------------------------------------
# The functions on explicit state
# ---------------------------------------------------------------------------

def sgd_step(params: Arrays, grads: Arrays, momentum_buffers: Optional[Arrays] = None, *,
             step: int, lr: float, momentum: float = 0.0, dampening: float = 0.0,
             weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> None:
    """One step of stochastic gradient descent (with momentum) on explicit state.

    For each parameter ``p`` with gradient ``g``, in its compute type::

        g = -g                                    (maximize)
        g = g + weight_decay * p                  (weight_decay != 0)
        buf = g                                   (momentum != 0, step 1)
        buf = buf * momentum + (1 - dampening) * g   (momentum != 0, later steps)
        g = g + momentum * buf if nesterov else buf  (momentum != 0)
        p = p - lr * g

    Parameters
    ----------
    params : list of ndarray
        Updated in place.
    grads : list of ndarray
        One per parameter, of its shape and dtype.
    momentum_buffers : list of ndarray, optional
        Needed when ``momentum != 0``; updated in place.  The parameter's
        shape, and dtype (float32 for float16 parameters).
    step : int
        This step's number, from 1: step 1 sets the buffers to the gradient.
    lr, momentum, dampening, weight_decay, nesterov, maximize
        As `SGD`.

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> p, g = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    >>> rk.optim.sgd_step([p], [g], step=1, lr=0.1)
    >>> p
    array([0.95, 2.05])
    """
    hyper = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                 nesterov=nesterov, maximize=maximize)
    _run_rule("sgd_step", RULES["SGD"], params, grads, hyper, step,
              momentum_buffers=momentum_buffers)


def adagrad_step(params: Arrays, grads: Arrays, state_sums: Arrays, *, step: int, lr: float,
                 eps: float, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 maximize: bool = False) -> None:
    """One step of Adagrad on explicit state.

    For each parameter ``p`` with gradient ``g`` and sum of squares ``sum``::

        g = -g                                 (maximize)
        g = g + weight_decay * p               (weight_decay != 0)
        sum = sum + g * g
        p = p - (clr * g) / (sqrt(sum) + eps)  where clr = lr / (1 + (step - 1) * lr_decay)

    Parameters
    ----------
    params, grads : list of ndarray
        As `sgd_step`.
    state_sums : list of ndarray
        The running sums of squared gradients (``initial_accumulator_value``
        at first), updated in place.
    step : int
        This step's number, from 1.
    lr, eps, lr_decay, weight_decay, maximize
        As `Adagrad`.

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> p, g, s = np.array([1.0]), np.array([2.0]), np.zeros(1)
    >>> rk.optim.adagrad_step([p], [g], [s], step=1, lr=0.1, eps=0.0)
    >>> p, s
    (array([0.9]), array([4.]))
    """
    hyper = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                 initial_accumulator_value=0.0, eps=eps, maximize=maximize)
    _run_rule("adagrad_step", RULES["Adagrad"], params, grads, hyper, step,
              state_sums=state_sums)


def adadelta_step(params: Arrays, grads: Arrays, square_avgs: Arrays, acc_deltas: Arrays, *,
                  lr: float, rho: float, eps: float, weight_decay: float = 0.0,
                  maximize: bool = False) -> None:
    """One step of Adadelta on explicit state.

    For each parameter ``p`` with gradient ``g``::

        g = -g                                          (maximize)
        g = g + weight_decay * p                        (weight_decay != 0)
        square_avg = square_avg * rho + ((1 - rho) * g) * g
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = acc_delta * rho + ((1 - rho) * delta) * delta
        p = p - lr * delta

    Parameters
    ----------
    params, grads : list of ndarray
        As `sgd_step`.
    square_avgs, acc_deltas : list of ndarray
        The running averages of g² and of the squared updates, updated in place.
    lr, rho, eps, weight_decay, maximize
        As `Adadelta`.

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> p, g = np.array([1.0]), np.array([1.0])
    >>> sq, acc = np.zeros(1), np.zeros(1)
    >>> rk.optim.adadelta_step([p], [g], [sq], [acc], lr=1.0, rho=0.9, eps=1e-6)
    >>> sq
    array([0.1])
    """
    hyper = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
    _run_rule("adadelta_step", RULES["Adadelta"], params, grads, hyper, 1,
              square_avgs=square_avgs, acc_deltas=acc_deltas)


def rmsprop_step(params: Arrays, grads: Arrays, square_avgs: Arrays, *, lr: float, alpha: float,
                 eps: float, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, momentum_buffers: Optional[Arrays] = None,
                 grad_avgs: Optional[Arrays] = None, maximize: bool = False) -> None:
    """One step of RMSprop on explicit state.

    For each parameter ``p`` with gradient ``g``::

        g = -g                                          (maximize)
        g = g + weight_decay * p                        (weight_decay != 0)
        square_avg = square_avg * alpha + ((1 - alpha) * g) * g
        grad_avg = grad_avg * alpha + (1 - alpha) * g   (centered)
        avg = sqrt(square_avg - grad_avg * grad_avg) + eps   (centered)
        avg = sqrt(square_avg) + eps                    (otherwise)
        buf = buf * momentum + g / avg; p = p - lr * buf     (momentum > 0)
        p = p - (lr * g) / avg                          (otherwise)

    Parameters
    ----------
    params, grads : list of ndarray
        As `sgd_step`.
    square_avgs : list of ndarray
        The running averages of g², updated in place.
    momentum_buffers : list of ndarray, optional
        Needed when ``momentum > 0``.
    grad_avgs : list of ndarray, optional
        Needed when ``centered``.
    lr, alpha, eps, weight_decay, momentum, centered, maximize
        As `RMSprop`.

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> p, g, sq = np.array([1.0]), np.array([2.0]), np.zeros(1)
    >>> rk.optim.rmsprop_step([p], [g], [sq], lr=0.01, alpha=0.75, eps=0.0)
    >>> p, sq
    (array([0.98]), array([1.]))
    """
    hyper = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                 centered=centered, maximize=maximize)
    _run_rule("rmsprop_step", RULES["RMSprop"], params, grads, hyper, 1,
              square_avgs=square_avgs, momentum_buffers=momentum_buffers,
              grad_avgs=grad_avgs)


def adam_step(params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *,
              step: int, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float = 0.0, amsgrad: bool = False,
              max_exp_avg_sqs: Optional[Arrays] = None, maximize: bool = False) -> None:
    """One step of Adam on explicit state.

    For each parameter ``p`` with gradient ``g``, at step ``t``::

        g = -g                                        (maximize)
        g = g + weight_decay * p                      (weight_decay != 0)
        m = m * beta1 + (1 - beta1) * g
        v = v * beta2 + ((1 - beta2) * g) * g
        vmax = maximum(vmax, v), used as v below      (amsgrad)
        p = p - (step_size * m) / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    where ``step_size = lr / (1 - beta1**t)``.  torch computes ``m`` as
    ``m.lerp(g, 1 - beta1)``, equal to rounding.

    Parameters
    ----------
    params, grads : list of ndarray
        As `sgd_step`.
    exp_avgs, exp_avg_sqs : list of ndarray
        The moments ``m`` and ``v``, updated in place.
    step : int
        This step's number ``t``, from 1.
    lr, beta1, beta2, eps : float
        As `Adam` (``betas=(beta1, beta2)``).
    weight_decay : float, default 0
    amsgrad : bool, default False
    max_exp_avg_sqs : list of ndarray, optional
        ``vmax``, needed when ``amsgrad``.
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> p, g = np.array([1.0, -1.0]), np.array([0.5, -2.0])
    >>> m, v = np.zeros(2), np.zeros(2)
    >>> rk.optim.adam_step([p], [g], [m], [v], step=1, lr=0.1, beta1=0.9, beta2=0.999,
    ...                    eps=1e-8)
    >>> p.round(6)
    array([ 0.9, -0.9])
    """
    hyper = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                 amsgrad=amsgrad, maximize=maximize)
    _run_rule("adam_step", RULES["Adam"], params, grads, hyper, step, exp_avgs=exp_avgs,
              exp_avg_sqs=exp_avg_sqs, max_exp_avg_sqs=max_exp_avg_sqs)


def adamw_step(params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *,
               step: int, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float = 1e-2, amsgrad: bool = False,
               max_exp_avg_sqs: Optional[Arrays] = None, maximize: bool = False) -> None:
    """One step of AdamW on explicit state.

    As `adam_step`, but the weight decay is decoupled from the gradient:
    ``p = p * (1 - lr * weight_decay)`` comes first, and ``g`` is used as
    it is.  ``weight_decay`` defaults to 1e-2.

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> p, g = np.array([1.0]), np.array([0.0])
    >>> m, v = np.zeros(1), np.zeros(1)
    >>> rk.optim.adamw_step([p], [g], [m], [v], step=1, lr=0.1, beta1=0.9, beta2=0.999,
    ...                     eps=1e-8, weight_decay=0.5)
    >>> p
    array([0.95])
    """
    hyper = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                 amsgrad=amsgrad, maximize=maximize)
    _run_rule("adamw_step", RULES["AdamW"], params, grads, hyper, step, exp_avgs=exp_avgs,
              exp_avg_sqs=exp_avg_sqs, max_exp_avg_sqs=max_exp_avg_sqs)



# ---------------------------------------------------------------------------
# The classes
# ---------------------------------------------------------------------------

class _Optimizer:
    """Base of the optimisers: parameter groups, their state, state dicts.

    ``params`` is a list of arrays, updated in place, or a list of dicts
    (parameter groups): each with a ``"params"`` list and any
    hyperparameters of its own, the others taken from the constructor's.
    ``opt.param_groups`` is that list of dicts; a hyperparameter may be
    changed there between steps (a learning-rate schedule), except the
    options that decide the state (``momentum`` on or off, ``centered``,
    ``amsgrad``).  The state is created at construction, as zeros (Adagrad:
    ``initial_accumulator_value``) of each parameter's shape and memory
    order, in its compute dtype (float32 for float16 parameters).
    """

    _rule: _Rule
    param_groups: list[dict[str, Any]]
    defaults: dict[str, Any]

    def __init__(self, params: Params, **hyper: Any) -> None:
        func = self._rule.name
        self.defaults = _checked_hyper(func, self._rule, hyper)
        self.param_groups = []
        self._states = []          # per group: {state name: list of arrays}
        self._steps = []           # per group: steps taken
        self._layout = []          # per group: the state names its options need
        self._memory: Optional[_ext.WrittenMemory] = None   # the parameters' and state's memory
        self._checked = {}         # per group: its hyperparameter values, and them checked
        if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
            raise TypeError(f"{func}: params must be a list of arrays or of dicts, got "
                            f"{type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError(f"{func}: params is an empty list")
        if not all(isinstance(group, Mapping) for group in groups):
            if any(isinstance(group, Mapping) for group in groups):
                raise TypeError(f"{func}: params must be all arrays or all dicts")
            groups = [{"params": groups}]
        for group in groups:
            self._add_group(func, group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {name}: {group[name]}" for name in self._rule.hyper]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group: a dict with a ``"params"`` list and, optionally, its
        own hyperparameters (the others are the constructor's)."""
        self._add_group(f"{self._rule.name}.add_param_group", param_group)

    def _add_group(self, func, param_group):
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise TypeError(f"{func}: a parameter group must be a dict with a 'params' list")
        unknown = sorted(set(param_group) - set(self._rule.hyper) - {"params"})
        if unknown:
            raise ValueError(f"{func}: unknown hyperparameter {unknown[0]!r} for "
                             f"{self._rule.name}")
        params = param_group["params"]
        if isinstance(params, np.ndarray):
            params = [params]
        params = _array_list(func, "params", params)
        hyper = _checked_hyper(func, self._rule, {**self.defaults, **param_group})
        groups = [list(group["params"]) for group in self.param_groups] + [params]
        _ext.check_params(func, [p for group in groups for p in group])
        layout = self._rule.states(hyper)
        initial = self._rule.initial
        fill = hyper[initial] if isinstance(initial, str) else initial
        states = {name: [_new_state(p, fill) for p in params] for name in layout}
        # the new parameters against the state too (a state array given as one)
        memory = _written_memory(func, groups, self._states + [states],
                                 self._layout + [layout])
        self.param_groups.append({"params": params, **hyper})
        self._states.append(states)
        self._steps.append(0)
        self._layout.append(layout)
        self._memory = memory

    @property
    def state(self) -> list[dict[str, Any]]:
        """Per parameter (in the order of the groups), a dict of its state
        arrays (the live ones) and its ``"step"`` count."""
        out = []
        for group, states, steps in zip(self.param_groups, self._states, self._steps):
            for i in range(len(group["params"])):
                out.append({"step": steps, **{name: arrays[i] for name, arrays in states.items()}})
        return out

    def step(self, grads: Arrays) -> None:
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of ndarray
            One per parameter, in the order of the groups and of their
            ``"params"``; of its parameter's shape and dtype.

        Every array and hyperparameter is checked before any is written:
        a step that raises has changed nothing.
        """
        func = f"{self._rule.name}.step"
        grads = _array_list(func, "grads", grads)
        # each group's params read once: user code (a float() of a
        # hyperparameter, a list's len) runs here, not between a prepared
        # step and its run
        groups = [list(group["params"]) for group in self.param_groups]
        total = sum(map(len, groups))
        if len(grads) != total:
            raise ValueError(f"{func}: grads has {len(grads)} arrays, expected {total} "
                             f"(one per parameter)")
        hypers = [self._group_hyper(func, g, group) for g, group in enumerate(self.param_groups)]
        prepared, first = [], 0
        for g, (params, hyper) in enumerate(zip(groups, hypers)):
            n = len(params)
            layout = self._layout[g]
            states = [self._states[g][name] for name in layout]
            if any(len(arrays) != n for arrays in states):
                raise ValueError(f"{func}: param_groups[{g}]['params'] has changed since it was "
                                 f"added; add parameters with add_param_group")
            lists = [params, grads[first:first + n], *states]
            names = ("params", "grads", *(f"state[{name!r}]" for name in layout))
            constants = self._rule.constants(hyper, self._steps[g] + 1)
            prepared.append(_ext.prepare_step(func, self._rule.kernel, constants, lists,
                                              names, first, check_memory=False))
            first += n
        if self._memory is None:
            self._memory = _written_memory(func, groups, self._states, self._layout)
        self._memory.check(func, groups, grads)
        for g, ready in enumerate(prepared):
            ready.run()
            self._steps[g] += 1

    def _group_hyper(self, func, g, group):
        """Group g's hyperparameters, checked; checked again only when one
        of them has been replaced since (a schedule setting ``lr``)."""
        values = [group[name] for name in self._rule.hyper]
        cached = self._checked.get(g)
        if cached is not None and all(value is old and type(value) in _IMMUTABLE
                                      for value, old in zip(values, cached[0])):
            return cached[1]
        hyper = _checked_hyper(func, self._rule, group)
        if self._rule.states(hyper) != self._layout[g]:
            raise ValueError(f"{func}: param_groups[{g}] changed an option that decides "
                             f"its state (momentum on or off, centered, amsgrad)")
        self._checked[g] = (values, hyper)
        return hyper

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """The optimiser's state as a flat dict of arrays, for ``np.savez``.

        Keys: ``"rule"`` (the class name); ``"param_groups.G.NAME"`` for each
        hyperparameter of group G, its ``"step"`` count and ``"params"`` (the
        parameters' positions); ``"state.I.NAME"`` for each state array of
        parameter I (copies).

        Examples
        --------
        >>> import io, numpy as np, rectkern as rk
        >>> w = np.ones(3, np.float32)
        >>> opt = rk.optim.Adam([w], lr=0.1)
        >>> opt.step([np.full(3, 0.5, np.float32)])
        >>> saved = io.BytesIO()
        >>> np.savez(saved, **opt.state_dict())
        >>> _ = saved.seek(0)
        >>> again = rk.optim.Adam([w.copy()], lr=0.1)
        >>> again.load_state_dict(np.load(saved))
        >>> again.state[0]["step"], again.state[0]["exp_avg"]
        (1, array([0.05, 0.05, 0.05], dtype=float32))
        """
        out = {"rule": np.array(self._rule.name)}
        index = 0
        for g, group in enumerate(self.param_groups):
            prefix = f"param_groups.{g}."
            for name in self._rule.hyper:
                out[prefix + name] = np.array(group[name])
            out[prefix + "step"] = np.array(self._steps[g], np.int64)
            n = len(group["params"])
            out[prefix + "params"] = np.arange(index, index + n, dtype=np.int64)
            for name, arrays in self._states[g].items():
                for i, array in enumerate(arrays):
                    out[f"state.{index + i}.{name}"] = array.copy()
            index += n
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Continue from a state dict of the same rule and parameters.

        ``state_dict`` is what `state_dict` returned, or ``np.load`` of a
        file ``np.savez`` wrote from it.  The step then gives the same bits
        as if the optimiser had never been saved.  Everything is checked
        before anything changes.
        """
        func = f"{self._rule.name}.load_state_dict"
        if not isinstance(state_dict, Mapping) and not hasattr(state_dict, "files"):
            raise TypeError(f"{func}: state_dict must be a mapping of arrays, got "
                            f"{type(state_dict).__name__}")
        keys = set(state_dict.keys())

        def get(key):
            if key not in keys:
                raise ValueError(f"{func}: state_dict has no {key!r}")
            keys.discard(key)
            return np.asarray(state_dict[key])

        rule = get("rule")
        if rule.shape != () or str(rule) != self._rule.name:
            raise ValueError(f"{func}: state_dict is of {str(rule)!r}, not {self._rule.name!r}")
        groups, states, steps, layouts = [], [], [], []
        index = 0
        for g, group in enumerate(self.param_groups):
            prefix = f"param_groups.{g}."
            given = {}
            for name in self._rule.hyper:
                value = get(prefix + name)
                if name == "betas":
                    given[name] = tuple(value.tolist()) if value.shape == (2,) else value
                elif name in _OPTIONS:
                    given[name] = value.item() if value.dtype == np.bool_ and value.shape == () \
                        else value
                else:
                    given[name] = value.item() if value.shape == () and value.dtype.kind in "iuf" \
                        else value
            hyper = _checked_hyper(func, self._rule, given)
            step = get(prefix + "step")
            if step.shape != () or step.dtype.kind not in "iu" or step < 0:
                raise ValueError(f"{func}: {prefix}step must be an integer >= 0")
            n = len(group["params"])
            positions = get(prefix + "params")
            if positions.shape != (n,) or not np.array_equal(positions, np.arange(index, index + n)):
                raise ValueError(f"{func}: param_groups[{g}] of state_dict holds other parameters "
                                 f"than this optimiser's ({n} from position {index})")
            layout = self._rule.states(hyper)
            loaded = {name: [] for name in layout}
            for i, p in enumerate(group["params"]):
                for name in layout:
                    value = get(f"state.{index + i}.{name}")
                    like = _new_state(p, 0.0)
                    if value.shape != like.shape or value.dtype != like.dtype:
                        raise ValueError(
                            f"{func}: state.{index + i}.{name} has shape {value.shape} and dtype "
                            f"{value.dtype}, expected {like.shape} and {like.dtype}")
                    np.copyto(like, value)
                    loaded[name].append(like)
            groups.append(hyper)
            states.append(loaded)
            steps.append(int(step))
            layouts.append(layout)
            index += n
        if keys:
            raise ValueError(f"{func}: state_dict has keys this optimiser does not use: "
                             f"{sorted(keys)[:3]}")
        for group, hyper in zip(self.param_groups, groups):
            group.update(hyper)
        self._states, self._steps, self._layout = states, steps, layouts
        self._memory = None
        self._checked = {}


def _written_memory(func, groups, states, layouts):
    """The memory of the parameters (a list per group) and of their state
    (per group, {name: list}), checked to share none: _ext.WrittenMemory,
    with a list per state name across the groups (an empty array where a
    group has no such state)."""
    names = sorted({name for layout in layouts for name in layout})
    empty = np.empty(0)
    lists = [[array for group_states, params in zip(states, groups)
              for array in group_states.get(name, [empty] * len(params))]
             for name in names]
    return _ext.WrittenMemory(func, groups, lists,
                              ("params", "grads", *(f"state[{name!r}]" for name in names)))


def _new_state(p, fill):
    """A state array for parameter p: its shape and memory order, its compute dtype."""
    dtype = np.float64 if p.dtype == np.float64 else np.float32
    return np.full_like(p, fill, dtype=dtype)


class SGD(_Optimizer):
    """Stochastic gradient descent, with momentum and Nesterov momentum.

    The equations are `sgd_step`'s; the momentum buffer is set to the
    gradient at the first step.  Seed 001's ``v = γ v + η ∇J; θ = θ - v`` is
    ``SGD(params, lr=η, momentum=γ)``, with the learning rate folded out of
    the buffer.

    Parameters
    ----------
    params : list of ndarray, or list of dict
        The parameters (updated in place), or parameter groups.
    lr : float, default 1e-3
    momentum : float, default 0
    dampening : float, default 0
    weight_decay : float, default 0
        L2 penalty, added to the gradient.
    nesterov : bool, default False
        Needs momentum > 0 and dampening = 0.
    maximize : bool, default False
        Ascend the objective instead.

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> w = np.array([1.0, 2.0])
    >>> opt = rk.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> opt.step([np.array([1.0, 1.0])])
    >>> opt.step([np.array([1.0, 1.0])])
    >>> w
    array([0.71, 1.71])
    """

    _rule = RULES["SGD"]

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)


class Adagrad(_Optimizer):
    """Adagrad: steps scaled by the root of the sum of squared gradients.

    The equations are `adagrad_step`'s, with ``clr = lr / (1 + (t - 1) *
    lr_decay)`` at step t.

    Parameters
    ----------
    params : list of ndarray, or list of dict
    lr : float, default 1e-2
    lr_decay : float, default 0
    weight_decay : float, default 0
    initial_accumulator_value : float, default 0
        The sums' first value.
    eps : float, default 1e-10
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> w = np.array([1.0])
    >>> opt = rk.optim.Adagrad([w], lr=0.5, eps=0.0)
    >>> opt.step([np.array([3.0])])
    >>> w
    array([0.5])
    """

    _rule = RULES["Adagrad"]

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps,
                         maximize=maximize)


class Adadelta(_Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of updates and gradients.

    The equations are `adadelta_step`'s.

    Parameters
    ----------
    params : list of ndarray, or list of dict
    lr : float, default 1.0
    rho : float, default 0.9
    eps : float, default 1e-6
    weight_decay : float, default 0
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> w = np.array([1.0])
    >>> opt = rk.optim.Adadelta([w])
    >>> opt.step([np.array([1.0])])
    >>> w.round(6)
    array([0.996838])
    """

    _rule = RULES["Adadelta"]

    def __init__(self, params: Params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                         maximize=maximize)


class RMSprop(_Optimizer):
    """RMSprop: steps scaled by a running RMS of the gradients.

    The equations are `rmsprop_step`'s.

    Parameters
    ----------
    params : list of ndarray, or list of dict
    lr : float, default 1e-2
    alpha : float, default 0.99
        The decay of the running average of g².
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum : float, default 0
    centered : bool, default False
        Subtract the squared running mean of the gradients.
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> w = np.array([1.0])
    >>> opt = rk.optim.RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> opt.step([np.array([2.0])])
    >>> w
    array([0.98])
    """

    _rule = RULES["RMSprop"]

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered, maximize=maximize)


class Adam(_Optimizer):
    """Adam: bias-corrected running moments of the gradient.

    The equations are `adam_step`'s.

    Parameters
    ----------
    params : list of ndarray, or list of dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        The decays of the first and second moments, each in [0, 1).
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty, added to the gradient (`AdamW` decouples it).
    amsgrad : bool, default False
        Use the running maximum of the second moment.
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> w = np.zeros(3, np.float32)
    >>> opt = rk.optim.Adam([w], lr=0.1)
    >>> for _ in range(3):
    ...     opt.step([w - np.float32(1.0)])      # the gradient of (w - 1)**2 / 2
    >>> w.round(3)
    array([0.298, 0.298, 0.298], dtype=float32)
    """

    _rule = RULES["Adam"]

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class AdamW(_Optimizer):
    """AdamW: Adam with decoupled weight decay.

    The equations are `adamw_step`'s: ``p = p * (1 - lr * weight_decay)``,
    then Adam's step without weight decay in the gradient.

    Parameters
    ----------
    params : list of ndarray, or list of dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 1e-2
    amsgrad : bool, default False
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> w = np.ones(2)
    >>> opt = rk.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> opt.step([np.zeros(2)])
    >>> w
    array([0.95, 0.95])
    """

    _rule = RULES["AdamW"]

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


# ---------------------------------------------------------------------------
# Gradient clipping
# ---------------------------------------------------------------------------

def clip_grad_norm(grads: Arrays, max_norm: float) -> float:
    """Scale gradients in place so that their global L2 norm is at most max_norm.

    The norm is that of all the gradients together: the square root of the
    sum of their squares, each square in float64 and their sum exact,
    rounded once (equal to ``math.fsum``; see "Sums" in the README), so the
    same gradients give the same bits in any order, memory layout or split,
    and at every level.  When
    ``max_norm / (norm + 1e-6)`` is below 1 every gradient is multiplied by
    it, in its compute type (float32 for float16 and float32), as
    ``torch.nn.utils.clip_grad_norm_`` does.

    Parameters
    ----------
    grads : list of ndarray
        float16, float32 or float64 arrays, scaled in place.
    max_norm : float
        The largest norm, >= 0.

    Returns
    -------
    float
        The norm before clipping (inf or NaN if a gradient holds them; the
        gradients are then scaled by 0 or NaN, as torch does).

    Examples
    --------
    >>> import numpy as np, rectkern as rk
    >>> g = [np.array([3.0]), np.array([4.0])]
    >>> rk.optim.clip_grad_norm(g, 1.0)
    5.0
    >>> [x.round(6) for x in g]
    [array([0.6]), array([0.8])]
    """
    func = "clip_grad_norm"
    grads = _array_list(func, "grads", grads)
    max_norm = _number(func, "max_norm", max_norm)
    _ext.check_params(func, grads, "grads")     # written in place: no two may share memory
    norm = math.sqrt(_ext.sum_squares(func, grads, "grads"))
    coefficient = max_norm / (norm + 1e-6)
    if not coefficient < 1.0 and not math.isnan(coefficient):
        return norm
    # an inf gradient gives a factor of 0, and inf * 0 is NaN, as in torch:
    # the result the equations say, not an error
    with np.errstate(invalid="ignore"):
        for g in grads:
            scale = np.float64(coefficient) if g.dtype == np.float64 else np.float32(coefficient)
            np.multiply(g, scale, out=g, casting="same_kind")
    return norm
