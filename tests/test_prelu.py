"""prelu and prelu_backward against their twins, on every layout and channel axis."""

import math

import numpy as np
import pytest

import rectkern as rk
from rectkern import _reference as ref

from ._arrays import (FLOAT_DTYPES, SHAPES, array, assert_same,
                      case_id, cases)


def _axes(ndim):
    """The first, second and last axis, each also in its negative spelling."""
    axes = sorted({0, min(1, ndim - 1), ndim - 1})
    return [a for a in axes] + [a - ndim for a in axes]


CASES = [(case, axis) for case in cases() for axis in _axes(len(case[1]))]


def _id(item):
    case, axis = item
    return f"{case_id(case)}-axis{axis}"


def _slopes(n, seed=0):
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(-1.5, 1.5, n)
    alpha[::5] = 0.0
    return alpha


@pytest.mark.parametrize("item", CASES, ids=_id)
def test_prelu_matches_twin(item):
    case, axis = item
    x = array(*case)
    alpha = _slopes(x.shape[axis])
    assert_same(rk.prelu(x, alpha, axis=axis), ref.prelu(x, alpha, axis=axis))


@pytest.mark.parametrize("item", CASES, ids=_id)
def test_prelu_backward_matches_twin(item):
    (dtype, shape, layout), axis = item
    x = array(dtype, shape, layout)
    dy = array(dtype, shape, "F" if len(shape) > 1 else "reversed", seed=4)
    alpha = _slopes(shape[axis])
    dx, dalpha = rk.prelu_backward(dy, x, alpha, axis=axis)
    dx_twin, dalpha_twin = ref.prelu_backward(dy, x, alpha, axis=axis)
    assert_same(dx, dx_twin)
    assert_same(dalpha, dalpha_twin)


SHARED_ALPHAS = (0.25, np.float32(0.25), np.array(0.25), np.array([0.25]),
                 np.array([0.25], np.float16), 0)


@pytest.mark.parametrize("alpha", SHARED_ALPHAS, ids=repr)
@pytest.mark.parametrize("case", cases(layouts=("C", "transposed")), ids=case_id)
def test_channel_shared_alpha(case, alpha):
    x, dy = array(*case), array(case[0], case[1], seed=5)
    assert_same(rk.prelu(x, alpha), ref.prelu(x, alpha))
    with np.errstate(over="ignore"):          # a float16 dalpha may overflow to inf
        dx, dalpha = rk.prelu_backward(dy, x, alpha)
        dx_twin, dalpha_twin = ref.prelu_backward(dy, x, alpha)
    assert_same(dx, dx_twin)
    given = np.asarray(alpha)
    assert np.shape(dalpha) == given.shape
    assert np.asarray(dalpha).dtype == (given.dtype if given.dtype.kind == "f"
                                        else np.float64)
    assert_same(dalpha, dalpha_twin)
    if given.ndim == 0:
        assert np.isscalar(dalpha) or isinstance(dalpha, np.generic)


@pytest.mark.parametrize("alpha_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dalpha_has_alphas_dtype_and_x_keeps_its_own(dtype, alpha_dtype):
    x, dy = array(dtype, (2, 3, 4)), array(dtype, (2, 3, 4), seed=1)
    alpha = np.array([0.1, 0.2, 0.3], alpha_dtype)
    y = rk.prelu(x, alpha)
    with np.errstate(over="ignore"):          # a float16 dalpha may overflow to inf
        dx, dalpha = rk.prelu_backward(dy, x, alpha)
    assert y.dtype == dtype and dx.dtype == dtype and dalpha.dtype == alpha_dtype
    assert_same(y, ref.prelu(x, alpha))
    with np.errstate(over="ignore"):
        assert_same(dx, ref.prelu_backward(dy, x, alpha)[0])


@pytest.mark.parametrize("dy_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("x_dtype", FLOAT_DTYPES + (np.dtype("int16"),))
def test_mixed_dtypes(dy_dtype, x_dtype):
    if x_dtype.kind == "i":
        x = np.random.default_rng(3).integers(-50, 50, (3, 4, 5)).astype(x_dtype)
    else:
        x = array(x_dtype, (3, 4, 5))
    dy = array(dy_dtype, (3, 4, 5), seed=1)
    alpha = _slopes(4)
    dx, dalpha = rk.prelu_backward(dy, x, alpha)
    dx_twin, dalpha_twin = ref.prelu_backward(dy, x, alpha)
    assert dx.dtype == ref.result_dtype(dy, x)
    assert_same(dx, dx_twin)
    assert_same(dalpha, dalpha_twin)


def test_contract_rows():
    # x == 0 adds nothing, even with an infinite dy; a NaN x poisons its channel
    x = np.array([[0.0, -0.0, -2.0], [1.0, np.nan, -1.0]]).T      # (3, 2): C = 2
    dy = np.array([[np.inf, -np.inf, 3.0], [5.0, 1.0, 4.0]]).T
    dx, dalpha = rk.prelu_backward(dy, x, np.array([0.5, 0.5]))
    assert dalpha[0] == -6.0
    assert np.isnan(dalpha[1])
    assert np.isnan(dx[1, 1])
    assert dx[0, 0] == np.inf * 0.5 and dx[2, 0] == 1.5 and dx[0, 1] == 5.0
    # dy NaN where x > 0 does not reach dalpha, and is selected into dx
    dx, dalpha = rk.prelu_backward(np.array([np.nan, 1.0]), np.array([1.0, -1.0]), 0.5)
    assert np.isnan(dx[0]) and dx[1] == 0.5 and dalpha == -1.0


@pytest.mark.parametrize("axis", (1, -1))
def test_dalpha_is_the_same_bits_every_run(axis):
    x = array(np.float32, (8, 16, 9, 9), "C")
    dy = array(np.float32, (8, 16, 9, 9), seed=1)
    alpha = _slopes(x.shape[axis])
    first = rk.prelu_backward(dy, x, alpha, axis=axis)[1]
    for _ in range(3):
        assert_same(rk.prelu_backward(dy, x, alpha, axis=axis)[1], first)


def test_long_sums_are_correctly_rounded():
    # many terms per channel, channels-last, where naive summation drifts
    rng = np.random.default_rng(7)
    x = -rng.random((4096, 3, 64))
    dy = rng.standard_normal((4096, 3, 64))
    dalpha = rk.prelu_backward(dy, x, np.ones(64), axis=-1)[1]
    exact = np.array([math.fsum((x[..., c] * dy[..., c]).ravel()) for c in range(64)])
    assert_same(dalpha, exact)


@pytest.mark.parametrize("target", ("dy", "x"))
def test_backward_in_place(target):
    x, dy = array(np.float64, (3, 4, 17)), array(np.float64, (3, 4, 17), seed=1)
    alpha = _slopes(4)
    dx_twin, dalpha_twin = ref.prelu_backward(dy, x, alpha)
    arrays = {"dy": dy.copy(), "x": x.copy()}
    dx, dalpha = rk.prelu_backward(arrays["dy"], arrays["x"], alpha,
                                   out=arrays[target])
    assert dx is arrays[target]
    assert_same(dx, dx_twin)
    assert_same(dalpha, dalpha_twin)


def test_backward_out_overlapping_partly():
    base = array(np.float64, (2, 3, 40))
    dy = base[..., :30]
    x = array(np.float64, (2, 3, 30), seed=2)
    expected = ref.prelu_backward(dy.copy(), x, _slopes(3))[0]
    out = base[..., 5:35]                      # overlaps dy shifted by 5
    result, _ = rk.prelu_backward(dy, x, _slopes(3), out=out)
    assert result is out
    assert_same(out, expected)


def test_forward_out_and_in_place():
    x = array(np.float32, (2, 5, 3))
    alpha = _slopes(5)
    expected = ref.prelu(x, alpha)
    out = np.empty_like(x)
    assert rk.prelu(x, alpha, out=out) is out
    assert_same(out, expected)
    rk.prelu(x, alpha, out=x)
    assert_same(x, expected)


def test_nhwc_and_nchw_agree():
    x = array(np.float64, (4, 6, 5, 7))               # NCHW
    dy = array(np.float64, (4, 6, 5, 7), seed=1)
    alpha = _slopes(6)
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    dy_nhwc = np.ascontiguousarray(dy.transpose(0, 2, 3, 1))
    assert_same(rk.prelu(nhwc, alpha, axis=-1).transpose(0, 3, 1, 2),
                rk.prelu(x, alpha, axis=1))
    dx_a, da_a = rk.prelu_backward(dy, x, alpha, axis=1)
    dx_b, da_b = rk.prelu_backward(dy_nhwc, nhwc, alpha, axis=-1)
    assert_same(dx_b.transpose(0, 3, 1, 2), dx_a)
    assert_same(da_b, da_a)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(150, 7), (5, 40, 3), (300, 64), (2, 70, 33), (9, 600),
                                   (1031, 16), (20000, 2), (4100, 1)])
def test_long_channels_last_runs(dtype, shape):
    """Many contiguous rows of channels (alpha tiled over several rows per
    call, and the rows left over; float32 channel counts that divide 64 as
    one run in lanes, over several flushes and a tail), forward, backward
    and in place."""
    x = array(dtype, shape)
    dy = array(dtype, shape, seed=1)
    alpha = _slopes(shape[-1])
    dx, dalpha = rk.prelu_backward(dy, x, alpha, axis=-1)
    expected_dx, expected_dalpha = ref.prelu_backward(dy, x, alpha, axis=-1)
    assert_same(dx, expected_dx)
    assert_same(dalpha, expected_dalpha)
    expected = ref.prelu(x, alpha, axis=-1)
    assert_same(rk.prelu(x, alpha, axis=-1), expected)
    rk.prelu(x, alpha, axis=-1, out=x)
    assert_same(x, expected)


@pytest.mark.parametrize("shape", [s for s in SHAPES if len(s) >= 2][:6])
def test_non_native_byte_order_and_misaligned_input(shape):
    x = array(np.float64, shape)
    dy = array(np.float64, shape, seed=1)
    alpha = _slopes(shape[1])
    swapped = x.astype(x.dtype.newbyteorder())
    raw = np.zeros(x.nbytes + 1, np.uint8)
    misaligned = raw[1:].view(np.float64).reshape(shape) if x.size else x.copy()
    misaligned[...] = dy
    expected = ref.prelu_backward(dy, x, alpha)
    dx, dalpha = rk.prelu_backward(misaligned, swapped, alpha)
    assert_same(dx, expected[0])
    assert_same(dalpha, expected[1])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("axis", (1, -1))
def test_out_over_alpha(dtype, axis):
    """out in alpha's memory: the slopes are read as they were passed."""
    x = array(dtype, (3, 4, 4))
    dy = array(dtype, (3, 4, 4), seed=1)
    buffer = np.zeros(60, dtype)
    alpha = buffer[:4]
    alpha[:] = [0.5, -1.0, 2.0, 0.25]
    slopes = alpha.copy()
    out = buffer[2:50].reshape(3, 4, 4)              # starts inside alpha
    assert_same(rk.prelu(x, alpha, axis=axis, out=out), ref.prelu(x, slopes, axis=axis))
    alpha[:] = slopes
    dx, dalpha = rk.prelu_backward(dy, x, alpha, axis=axis, out=out)
    expected_dx, expected_dalpha = ref.prelu_backward(dy, x, slopes, axis=axis)
    assert_same(dx, expected_dx)
    assert_same(dalpha, expected_dalpha)


@pytest.mark.parametrize("dtype", (np.float16, np.float32), ids=str)
@pytest.mark.parametrize("channels", (3, 64, 65, 200))
@pytest.mark.parametrize("step", (1, 2, -1))
def test_float64_slopes_of_float32_kernels(dtype, channels, step):
    """float64 alpha, converted to float32 per call (inline up to 64
    channels, allocated past that), contiguous or strided."""
    x = array(dtype, (3, channels, 5))
    dy = array(dtype, (3, channels, 5), seed=1)
    alpha = _slopes(abs(step) * channels)[::step][:channels]
    for axis, xs, dys in ((1, x, dy), (-1, np.moveaxis(x, 1, -1), np.moveaxis(dy, 1, -1))):
        assert_same(rk.prelu(xs, alpha, axis=axis), ref.prelu(xs, alpha, axis=axis))
        dx, dalpha = rk.prelu_backward(dys, xs, alpha, axis=axis)
        expected_dx, expected_dalpha = ref.prelu_backward(dys, xs, alpha, axis=axis)
        assert_same(dx, expected_dx)
        assert_same(dalpha, expected_dalpha)
