"""pytest-benchmark: every op against NumPy and the memory-traffic limit.

    python -m pytest bench                      # time everything
    python -m pytest bench --benchmark-disable  # run each once, as tests

One group per op x dtype x size x layout, holding rectkern, the fastest
NumPy idiom, the common slower idiom where it differs, and the limit
(``np.copyto`` or ``np.add`` moving the same bytes), so
``--benchmark-group-by``, ``--benchmark-compare`` and
``--benchmark-histogram`` work as usual.  rectkern's result is checked
against the op's NumPy twin after timing.  The cases live in
``rectkern._bench``.
"""

from functools import lru_cache

import numpy as np
import pytest

from rectkern._bench import LAYOUTS, OPTIM_OPS, cases, optim_cases, shape_for

SIZES = {"in-cache": 64 * 1024, "large": 64 * 64 * 56 * 56}
DTYPES = ("float32", "float64", "float16")


@lru_cache(maxsize=1)     # the params below keep one data set's tests together
def _cases(dtype, size, layout):
    return {c.op: c for c in cases(dtype, shape_for(SIZES[size], layout), layout)}


def _params():
    sample = cases(np.float32, (1, 8, 2, 2))
    for dtype in DTYPES:
        for size in SIZES:
            for layout in LAYOUTS:
                for case in sample:
                    impls = ["rectkern", "numpy", "limit"]
                    if case.numpy_slow is not None:
                        impls.insert(2, "numpy_slow")
                    for impl in impls:
                        yield pytest.param(dtype, size, layout, case.op, impl,
                                           id=f"{case.op}-{dtype}-{size}-{layout}-{impl}")


def test_every_op_is_benchmarked():
    import rectkern as rk
    ops = {name for name in rk.__all__ if callable(getattr(rk, name))} - {"config", "show_config"}
    benchmarked = {case.op.split()[0] for case in cases(np.float32, (1, 8, 2, 2))}
    assert ops <= benchmarked, ops - benchmarked


@pytest.mark.parametrize("dtype, size, layout, op, impl", list(_params()))
def test_op(benchmark, dtype, size, layout, op, impl):
    case = _cases(dtype, size, layout)[op]
    benchmark.group = f"{op}-{dtype}-{size}-{layout}"
    benchmark.extra_info["limit"] = case.limit_name
    result = benchmark(getattr(case, impl))
    if impl == "rectkern":
        assert case.check(result)


# Optimisers: a step of SGD (with and without momentum), Adagrad, Adadelta,
# RMSprop, Adam and AdamW, of the functions sgd_step, adagrad_step,
# adadelta_step, rmsprop_step, adam_step and adamw_step on explicit state,
# and clip_grad_norm, over one large array or many small ones in one group;
# "numpy" is the careful NumPy idiom, "numpy_slow" the common one.
OPTIM_SIZES = {"4M": (4 << 20, 1), "200x1000": (1000, 200)}


@lru_cache(maxsize=1)
def _optim_cases(dtype, size):
    return {c.op: c for c in optim_cases(dtype, *OPTIM_SIZES[size])}


@pytest.mark.parametrize("impl", ["rectkern", "numpy", "numpy_slow", "limit"])
@pytest.mark.parametrize("rule", OPTIM_OPS)
@pytest.mark.parametrize("size", list(OPTIM_SIZES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optim(benchmark, dtype, size, rule, impl):
    case = _optim_cases(dtype, size)[rule]
    benchmark.group = f"optim-{rule}-{dtype}-{size}"
    benchmark.extra_info["limit"] = case.limit_name
    result = benchmark(getattr(case, impl))
    if impl == "rectkern":
        assert case.check(result)
