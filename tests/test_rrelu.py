"""rrelu, rrelu_backward: the twins, the slopes' generator and its contract."""

import numpy as np
import pytest

import rectkern as rk
from rectkern import _reference as ref

from ._arrays import FLOAT_DTYPES, array, assert_same, case_id, cases, in_layout

CASES = cases()
RANGES = ((1 / 8, 1 / 3), (0.0, 1.0), (0.25, 0.25), (-1.0, 2.0))


@pytest.mark.parametrize("bounds", RANGES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rrelu_matches_twin(case, bounds):
    x = array(*case)
    with np.errstate(invalid="ignore", over="ignore"):
        actual = rk.rrelu(x, *bounds, seed=12)
    assert_same(actual, ref.rrelu(x, *bounds, seed=12))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rrelu_backward_matches_twin(case):
    dtype, shape, layout = case
    x, dy = array(*case), array(dtype, shape, "reversed", seed=2)
    with np.errstate(invalid="ignore", over="ignore"):
        actual = rk.rrelu_backward(dy, x, seed=5)
    assert_same(actual, ref.rrelu_backward(dy, x, seed=5))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_slopes_depend_on_the_logical_index_not_the_layout(dtype):
    x = -np.abs(array(dtype, (3, 4, 5, 6))) - 1
    expected = rk.rrelu(x, seed=3)
    for layout in ("F", "transposed", "sliced", "reversed"):
        assert_same(rk.rrelu(in_layout(x, layout), seed=3), expected)
    out = np.empty(x.shape[::-1], dtype).T         # an F-ordered out
    assert_same(rk.rrelu(x, seed=3, out=out), expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_backward_draws_the_forward_slopes(dtype):
    x = -np.abs(array(dtype, (4, 33))) - 0.5
    y = rk.rrelu(x, 0.1, 0.9, seed=2**63 + 5)
    # dy of the compute type (float32 for float16) gives the slopes exactly
    compute = np.float64 if dtype == np.float64 else np.float32
    slope = rk.rrelu_backward(np.ones(x.shape, compute), x, 0.1, 0.9, seed=2**63 + 5)
    # y = slope * x in the compute type, rounded once to dtype
    expected = (slope * x.astype(compute)).astype(dtype)
    assert_same(y, expected)
    slope = slope[~np.isnan(x)]              # NaN x, NaN gradient
    assert np.all((slope >= np.float32(0.1)) & (slope <= np.float32(0.9)))


def test_slopes_are_uniform_and_seeds_differ():
    x = -np.ones(200_000)
    slopes = -rk.rrelu(x, 0.2, 0.6, seed=1)
    assert slopes.min() >= 0.2 and slopes.max() < 0.6
    # ten equal bins hold 20,000 each; a count beyond 5 standard deviations
    # (about 670) of a fair draw would mean a biased generator
    counts, _ = np.histogram(slopes, bins=10, range=(0.2, 0.6))
    assert np.all(np.abs(counts - 20_000) < 670), counts
    # neighbours are not correlated
    centred = slopes - slopes.mean()
    assert abs(np.mean(centred[1:] * centred[:-1]) / np.var(slopes)) < 0.01
    other = -rk.rrelu(x, 0.2, 0.6, seed=2)
    assert np.mean(other == slopes) < 1e-3
    assert_same(-rk.rrelu(x, 0.2, 0.6, seed=1), slopes)


def test_seed_kinds():
    x = -np.ones(64, np.float32)
    from_int = rk.rrelu(x, seed=9)
    assert_same(rk.rrelu(x, seed=np.int64(9)), from_int)
    assert_same(rk.rrelu(x, seed=np.random.SeedSequence(9)), from_int)
    # a Generator's key is drawn from it: reproducible from its seed
    a = rk.rrelu(x, seed=np.random.default_rng(4))
    b = rk.rrelu(x, seed=np.random.default_rng(4))
    assert_same(a, b)
    assert not np.array_equal(a, from_int)
    # None: a fresh key each call
    assert not np.array_equal(rk.rrelu(x), rk.rrelu(x))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_evaluation_uses_the_mean_slope(dtype):
    x, dy = array(dtype, (5, 7)), array(dtype, (5, 7), seed=1)
    with np.errstate(invalid="ignore"):
        assert_same(rk.rrelu(x, 0.1, 0.3, training=False), rk.leaky_relu(x, 0.2))
        assert_same(rk.rrelu_backward(dy, x, 0.1, 0.3, training=False),
                    rk.leaky_relu_backward(dy, x, 0.2))
        assert_same(rk.rrelu(x, 0.1, 0.3, training=False),
                    ref.rrelu(x, 0.1, 0.3, training=False))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_in_nan_out_and_out_in_place(dtype):
    x = np.array([np.nan, -1.0, 0.0, -0.0, 2.0, -np.inf, np.inf], dtype)
    y = rk.rrelu(x, seed=1)
    assert np.isnan(y[0]) and y[4] == 2 and y[6] == np.inf and y[5] == -np.inf
    assert y[2] == 0 and np.signbit(y[3])
    dx = rk.rrelu_backward(np.ones_like(x), x, seed=1)
    assert np.isnan(dx[0]) and dx[4] == 1
    inplace = x.copy()
    assert rk.rrelu(inplace, seed=1, out=inplace) is inplace
    assert_same(inplace, y)
    dy = np.ones_like(x)
    assert rk.rrelu_backward(dy, x, seed=1, out=dy) is dy
    assert_same(dy, dx)
    # partial overlap with the input
    buffer = np.arange(-10, 10, dtype=dtype)
    expected = rk.rrelu(buffer[2:].copy(), seed=4)
    assert_same(rk.rrelu(buffer[2:], seed=4, out=buffer[:-2]), expected)


def test_dtypes_follow_the_rules():
    assert rk.rrelu(np.arange(-3, 3), seed=1).dtype == np.float64
    assert rk.rrelu(np.array([True, False]), seed=1).dtype == np.float16
    assert rk.rrelu_backward(np.ones(3, np.float16), np.ones(3, np.float32), seed=1).dtype \
        == np.float32


@pytest.mark.parametrize("call, error, text", [
    (lambda: rk.rrelu(np.ones(3), 0.5, 0.25), ValueError, "lower must be at most upper"),
    (lambda: rk.rrelu(np.ones(3), np.nan), ValueError, "lower must be finite"),
    (lambda: rk.rrelu(np.ones(3), 0.1, "a"), TypeError, "upper must be a real number"),
    (lambda: rk.rrelu(np.ones(3), seed=-1), ValueError, "seed must be non-negative"),
    (lambda: rk.rrelu(np.ones(3), seed=1.5), TypeError, "seed must be an integer"),
    (lambda: rk.rrelu(np.ones(3, complex), seed=1), TypeError, "rrelu: x has unsupported"),
    (lambda: rk.rrelu_backward(np.ones(3), np.ones(3)), TypeError, "seed is required"),
    (lambda: rk.rrelu_backward(np.ones(3), np.ones(3), seed=np.random.default_rng()),
     TypeError, "not a Generator"),
    (lambda: rk.rrelu_backward(np.ones(3), np.ones(4), seed=1), ValueError, "same shape"),
    (lambda: rk.rrelu(np.ones(3), seed=1, out=np.ones(4)), ValueError, "out must have shape"),
    (lambda: rk.rrelu(np.ones(3), seed=1, out=np.ones(3, np.float32)), TypeError,
     "out must have dtype"),
])
def test_errors_name_the_function_and_argument(call, error, text):
    with pytest.raises(error, match=text):
        call()
