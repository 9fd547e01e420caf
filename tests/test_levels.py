"""Every instruction-set level gives the same bits; RECTKERN_CPU and show_config."""

import io
import os
import re
import subprocess
import sys

import pytest

import rectkern as rk
from rectkern import _ext

# Every op on the shared generator's arrays, each registry op with each of
# its sample parameters, hashed (NaN payloads aside: hardware and software
# float16 conversions quiet NaNs differently).
BATTERY = r"""
import hashlib, numpy as np, rectkern as rk
from rectkern import _reference as ref
from tests._arrays import ELEMENTWISE, array, cases, op_inputs, op_params
digest = hashlib.sha256()
# (function, keyword arguments, (positional state count, keyword state names...))
OPTIMISERS = [
    ("sgd_step", dict(step=1, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), (1,)),
    ("sgd_step", dict(step=1, lr=0.1, momentum=0.9, dampening=0.5, maximize=True), (1,)),
    ("adagrad_step", dict(step=1, lr=0.1, eps=1e-10, lr_decay=0.1, weight_decay=0.01), (1,)),
    ("adadelta_step", dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01), (2,)),
    ("rmsprop_step", dict(lr=0.01, alpha=0.99, eps=1e-8, momentum=0.9, centered=True),
     (1, "momentum_buffers", "grad_avgs")),
    ("adam_step", dict(step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
                       amsgrad=True), (2, "max_exp_avg_sqs")),
    ("adamw_step", dict(step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8), (2,)),
]
def add(*arrays):
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = np.where(np.isnan(a), np.nan, a).astype(a.dtype)
        digest.update(np.ascontiguousarray(a).tobytes())
with np.errstate(all="ignore"):
    for dtype, shape, layout in cases(shapes=[(33,), (2, 6, 17), (3, 4, 5, 8), (2, 8, 3, 4), (700, 3, 16)]):
        x, dy = array(dtype, shape, layout), array(dtype, shape, seed=1)
        axis = -1 if len(shape) % 2 else 1
        alpha = np.linspace(-1, 1, shape[axis])
        for op in ELEMENTWISE:
            for params in op_params(op):
                add(getattr(rk, op.name)(*op_inputs(op, x, dy), *params))
        add(rk.prelu(x, alpha, axis=axis), *rk.prelu_backward(dy, x, alpha, axis=axis))
        bias = array(dtype, (shape[axis],), seed=2)
        for activation, (_, _, takes_alpha) in ref.BIAS_ACTIVATIONS.items():
            a = (alpha if activation == "prelu" else 0.3) if takes_alpha else None
            add(rk.bias_act(x, bias, activation, alpha=a, axis=axis),
                *rk.bias_act_backward(dy, x, bias, activation, alpha=a, axis=axis))
        add(rk.rrelu(x, seed=5), rk.rrelu_backward(dy, x, 0.0, 1.0, seed=5))
        for k in (1, 2, 4):
            if shape[axis] % k == 0:
                y, idx = rk.maxout(x, k, axis=axis)
                add(y, idx, rk.maxout_backward(y, idx, k, axis=axis))
    # the optimisers: three steps of every rule and option set, the state too
    for dtype, shape, layout in cases(shapes=[(33,), (3, 40), (2, 3, 17)]):
        state_dtype = np.float64 if dtype == np.float64 else np.float32
        for name, kwargs, states in OPTIMISERS:
            p, g = array(dtype, shape, layout), array(dtype, shape, seed=1)
            arrays = [np.abs(array(state_dtype, shape, layout, seed=2 + i))
                      for i in range(states[0] + len(states) - 1)]
            for step in (1, 2, 3):
                extra = {"step": step} if "step" in kwargs else {}
                getattr(rk.optim, name)([p], [g], *[[a] for a in arrays[:states[0]]],
                                        **{k: v for k, v in kwargs.items() if k != "step"},
                                        **{k: [a] for k, a in zip(states[1:], arrays[states[0]:])},
                                        **extra)
            add(p, *arrays)
        add(np.array(rk.optim.clip_grad_norm([p, g], 1.0)), p, g)
print(rk.config()["level"], digest.hexdigest())
"""

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNABLE = _ext.LEVELS[: _ext.LEVELS.index(_ext.CPU_LEVEL) + 1]


def _run(code, level):
    env = dict(os.environ, RECTKERN_CPU=level)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                          capture_output=True, text=True)


def test_every_level_gives_the_same_bits():
    results = {}
    for level in RUNNABLE:
        done = _run(BATTERY, level)
        assert done.returncode == 0, done.stderr
        used, digest = done.stdout.split()
        assert used == level
        results[level] = digest
    assert len(set(results.values())) == 1, results


def test_a_level_above_the_cpu_falls_back_to_the_best():
    done = _run("import rectkern as rk; print(rk.config()['level'])", "avx512")
    assert done.returncode == 0, done.stderr
    expected = _ext.CPU_LEVEL if "avx512" in _ext.LEVELS else "baseline"
    assert done.stdout.strip() == expected


def test_bad_rectkern_cpu_raises():
    done = _run("import rectkern", "sse9")
    assert done.returncode != 0
    assert "RECTKERN_CPU must be one of baseline, avx2, avx512" in done.stderr


def test_show_config_names_the_level_and_every_op():
    buffer = io.StringIO()
    rk.show_config(file=buffer)
    text = buffer.getvalue()
    assert f"level in use: {_ext.LEVEL}" in text
    names = [op.name for op in _ext.ELEMENTWISE] + ["prelu_backward", "maxout_backward",
                                                     "rrelu_backward", "bias_act_backward",
                                                     "optim.Adam"]
    for name in names:                                   # a line of its own
        assert re.search(rf"^ +{re.escape(name)} ", text, re.M), name
    assert set(rk.config()["build_flags"]) == set(_ext.LEVELS)
    for flags in rk.config()["build_flags"].values():
        assert "-march" not in flags and "-ffast-math" not in flags


@pytest.mark.parametrize("command", ["info", "demo"])
def test_command_line(command):
    done = subprocess.run([sys.executable, "-m", "rectkern", command], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "rectkern" in done.stdout
    if command == "demo":
        assert "NO" not in done.stdout.split()
