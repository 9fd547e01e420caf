"""Inputs are never modified, and repeated calls neither leak references nor memory."""

import gc
import sys
import tracemalloc

import numpy as np
import pytest

import rectkern as rk

from ._arrays import ELEMENTWISE, array, call_op

X = array(np.float32, (4, 6, 5, 3), "F")
DY = array(np.float32, (4, 6, 5, 3), seed=1)
ALPHA = np.linspace(-1, 1, 6)
Y, IDX = rk.maxout(X, 2, axis=1)

CALLS = {
    **{op.name: lambda op=op: call_op(op, X, DY) for op in ELEMENTWISE},
    "prelu": lambda: rk.prelu(X, ALPHA),
    "prelu_backward": lambda: rk.prelu_backward(DY, X, ALPHA),
    "prelu_backward_nhwc": lambda: rk.prelu_backward(DY, X, ALPHA[:3], axis=-1),
    "bias_act": lambda: rk.bias_act(X, ALPHA, "prelu", alpha=ALPHA, axis=1),
    "bias_act_backward": lambda: rk.bias_act_backward(DY, X, ALPHA, "prelu", alpha=ALPHA,
                                                      axis=1),
    "bias_act_backward_nhwc": lambda: rk.bias_act_backward(DY, X, ALPHA[:3], "gelu"),
    "failing_bias_act": lambda: rk.bias_act(X, ALPHA[:2], axis=1),
    "maxout": lambda: rk.maxout(X, 2),
    "maxout_backward": lambda: rk.maxout_backward(Y, IDX, 2),
    "failing_maxout_backward": lambda: rk.maxout_backward(Y, IDX + 5, 2),
    "failing_prelu": lambda: rk.prelu(X, ALPHA[:2]),
    "rrelu": lambda: rk.rrelu(X, seed=3),
    "rrelu_backward": lambda: rk.rrelu_backward(DY, X, seed=3),
    "failing_rrelu_backward": lambda: rk.rrelu_backward(DY, X[:1], seed=3),
}
INPUTS = (X, DY, ALPHA, Y, IDX)


def _call(name):
    try:
        CALLS[name]()
    except ValueError:
        assert name.startswith("failing")


@pytest.mark.parametrize("name", CALLS)
def test_inputs_are_not_modified(name):
    before = [a.copy() for a in INPUTS]
    _call(name)
    for original, now in zip(before, INPUTS):
        assert np.array_equal(original, now, equal_nan=True)
        assert original.dtype == now.dtype


@pytest.fixture(scope="module", autouse=True)
def _frozen_heap():
    """The objects alive before these tests are frozen, so that each
    gc.collect() here scans only what the calls make (a full collection
    of the whole suite's objects took most of this file's time)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.mark.parametrize("name", CALLS)
def test_no_reference_leaks(name):
    for _ in range(5):
        _call(name)
    gc.collect()
    counts = [sys.getrefcount(a) for a in INPUTS]
    for _ in range(200):
        _call(name)
    gc.collect()
    assert [sys.getrefcount(a) for a in INPUTS] == counts


@pytest.mark.parametrize("name", CALLS)
def test_no_memory_growth(name):
    for _ in range(5):
        _call(name)
    gc.collect()
    tracemalloc.start()
    try:
        _call(name)
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            _call(name)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert growth < 16 * 1024, growth


class Subclass(np.ndarray):
    """An ndarray subclass: the fused ops take their checked way for it."""


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("layout", ["C", "F", "transposed", "reversed"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_fast_and_checked_paths_agree(dtype, layout):
    x = array(dtype, (3, 4, 5, 6), layout)
    dy = array(dtype, (3, 4, 5, 6), seed=1)
    alpha = np.linspace(-1, 1, 4)
    bias = alpha.astype(dtype)                # the plain way takes z's own dtype
    _, idx = rk.maxout(x, 2)
    dy_groups = array(dtype, idx.shape, seed=2)
    calls = [
        lambda a: rk.prelu(a, alpha),
        lambda a: rk.prelu(a, 0.3),
        lambda a: rk.prelu_backward(dy, a, alpha),
        lambda a: rk.prelu_backward(dy, a, 0.3),
        lambda a: rk.bias_act(a, bias, "prelu", alpha=alpha, axis=1),
        lambda a: rk.bias_act_backward(dy, a, bias, "prelu", alpha=0.3, axis=1),
        lambda a: rk.bias_act_backward(dy, a, bias[:3], "gelu", axis=0),
        lambda a: rk.maxout(a, 2),
        lambda a: rk.maxout(a, 3, axis=-1),
        lambda a: rk.maxout_backward(dy_groups, idx.view(type(a)), 2),
    ]
    for call in calls:
        plain, checked = _outputs(call(x)), _outputs(call(x.view(Subclass)))
        for p, c in zip(plain, checked):
            assert type(p) is np.ndarray or np.isscalar(p)
            assert np.asarray(p).dtype == np.asarray(c).dtype
            assert np.array_equal(p, c, equal_nan=True)


ALLOCATING_CALLS = {
    # name: (call, bytes of its outputs)
    **{op.name: (lambda x, dy, op=op: call_op(op, x, dy), lambda x: x.nbytes)
       for op in ELEMENTWISE},
    "prelu": (lambda x, dy: rk.prelu(x, np.linspace(0, 1, x.shape[1])), lambda x: x.nbytes),
    "prelu_backward": (lambda x, dy: rk.prelu_backward(dy, x, np.linspace(0, 1, x.shape[1])),
                       lambda x: x.nbytes + 8 * x.shape[1]),
    "prelu_backward_nhwc": (
        lambda x, dy: rk.prelu_backward(dy, x, np.linspace(0, 1, x.shape[-1]), axis=-1),
        lambda x: x.nbytes + 8 * x.shape[-1]),
    "bias_act": (lambda x, dy: rk.bias_act(x, np.linspace(0, 1, x.shape[1], dtype=x.dtype),
                                           axis=1), lambda x: x.nbytes),
    "bias_act_backward": (
        lambda x, dy: rk.bias_act_backward(dy, x, np.linspace(0, 1, x.shape[-1], dtype=x.dtype),
                                           "prelu", alpha=np.linspace(0, 1, x.shape[-1])),
        lambda x: x.nbytes + 16 * x.shape[-1]),
    "maxout": (lambda x, dy: rk.maxout(x, 2), lambda x: x.nbytes // 2 + x.size // 2),
    "maxout_backward": (lambda x, dy: rk.maxout_backward(dy[:, :8], IDX_OF[x.dtype], 2),
                        lambda x: x.nbytes),
    "rrelu": (lambda x, dy: rk.rrelu(x, seed=3), lambda x: x.nbytes),
    "rrelu_backward": (lambda x, dy: rk.rrelu_backward(dy, x, seed=3), lambda x: x.nbytes),
}


IDX_OF = {}    # maxout's idx for each dtype's batch, made outside the traced call


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", ALLOCATING_CALLS)
def test_allocates_only_its_outputs(name, dtype):
    # a large batch: any temporary of the data's size would show
    x = array(dtype, (8, 16, 64, 64), "C")
    dy = array(dtype, (8, 16, 64, 64), seed=1)
    IDX_OF[x.dtype] = rk.maxout(x, 2)[1]
    call, output_bytes = ALLOCATING_CALLS[name]
    call(x, dy)
    tracemalloc.start()
    try:
        result = call(x, dy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    assert peak <= output_bytes(x) + 64 * 1024, (peak, output_bytes(x))
