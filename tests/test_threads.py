"""Calls from many threads at once on shared read-only inputs give the serial bits."""

import threading

import numpy as np
import pytest

import rectkern as rk

from ._arrays import ELEMENTWISE, array, assert_same, call_op
from ._gil import runs_beside

N_THREADS = 8


def _calls(dtype):
    x = array(dtype, (4, 16, 33, 9), "F")
    dy = array(dtype, (4, 16, 33, 9), seed=1)
    alpha = np.linspace(-1, 1, 16)
    _, idx = rk.maxout(x, 4)
    dy_groups = array(dtype, idx.shape, seed=2)
    return {
        **{op.name: lambda op=op: [call_op(op, x, dy)] for op in ELEMENTWISE},
        "prelu": lambda: [rk.prelu(x, alpha)],
        "prelu_backward": lambda: list(rk.prelu_backward(dy, x, alpha)),
        "prelu_backward_nhwc": lambda: list(rk.prelu_backward(dy, x, alpha[:9], axis=-1)),
        "bias_act": lambda: [rk.bias_act(x, alpha, "gelu", axis=1)],
        "bias_act_backward": lambda: list(rk.bias_act_backward(dy, x, alpha, "prelu",
                                                               alpha=alpha, axis=1)),
        "bias_act_backward_nhwc": lambda: list(rk.bias_act_backward(dy, x, alpha[:9])),
        "maxout": lambda: list(rk.maxout(x, 4)),
        "maxout_backward": lambda: [rk.maxout_backward(dy_groups, idx, 4)],
        "rrelu": lambda: [rk.rrelu(x, seed=3)],
        "rrelu_backward": lambda: [rk.rrelu_backward(dy, x, seed=3)],
    }


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_threads_give_the_serial_bits(dtype):
    calls = _calls(dtype)
    serial = {name: call() for name, call in calls.items()}
    results, errors = [], []
    start = threading.Barrier(N_THREADS)

    def worker():
        try:
            start.wait()
            for _ in range(3):
                results.append({name: call() for name, call in calls.items()})
        except Exception as exc:          # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 3 * N_THREADS
    for result in results:
        for name, outputs in result.items():
            for got, expected in zip(outputs, serial[name]):
                assert_same(got, expected)


@pytest.fixture(scope="module")
def big_calls():
    """A call of every kernel on arrays big enough to take milliseconds."""
    x = array(np.float64, (8, 16, 128, 256))            # 4M elements, 32 MiB
    dy = array(np.float64, x.shape, seed=1)
    alpha = np.linspace(-1, 1, 16)
    _, idx = rk.maxout(x, 4)
    dy_groups = array(np.float64, idx.shape, seed=2)
    return {
        **{op.name: lambda op=op: call_op(op, x, dy) for op in ELEMENTWISE},
        "prelu": lambda: rk.prelu(x, alpha),
        "prelu_backward": lambda: rk.prelu_backward(dy, x, alpha),
        "bias_act": lambda: rk.bias_act(x, alpha, "relu", axis=1),
        "bias_act_backward": lambda: rk.bias_act_backward(dy, x, alpha, "relu", axis=1),
        "maxout": lambda: rk.maxout(x, 4),
        "maxout_backward": lambda: rk.maxout_backward(dy_groups, idx, 4),
        "rrelu": lambda: rk.rrelu(x, seed=3),
        "rrelu_backward": lambda: rk.rrelu_backward(dy, x, seed=3),
    }


@pytest.mark.parametrize("name", [op.name for op in ELEMENTWISE]
                         + ["prelu", "prelu_backward", "bias_act", "bias_act_backward",
                            "maxout", "maxout_backward", "rrelu", "rrelu_backward"])
def test_kernels_release_the_gil(big_calls, name):
    call = big_calls[name]
    call()                                # first touch of the output pages
    assert runs_beside(call) > 0
