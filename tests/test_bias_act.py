"""bias_act and bias_act_backward against the activations' own ops and the
twins, and the one exact summation behind dbias, dalpha and clip_grad_norm."""

import math
from fractions import Fraction

import numpy as np
import pytest

import rectkern as rk
from rectkern import _reference as ref
from rectkern import optim

from ._arrays import FLOAT_DTYPES, LAYOUTS, array, assert_same, bias_act_expected, in_layout

ACTIVATIONS = tuple(ref.BIAS_ACTIVATIONS)
RECTIFIERS = ("identity", "relu", "leaky_relu", "prelu")
# (shape, axis): dense layers, NCHW and NHWC maps, rows longer than a chunk,
# more channels than a chunk, one channel, no rows
SHAPES = (((5, 7), -1), ((3, 64), -1), ((2, 3, 4, 5), 1), ((2, 4, 5, 3), -1),
          ((2, 3, 1500), 1), ((3, 1100), -1), ((6, 1), -1), ((0, 4), -1), ((4, 3, 2), 0))


def _alpha(activation, channels, dtype):
    if activation in ("leaky_relu", "elu"):
        return 0.3
    if activation == "prelu":
        return np.linspace(-0.5, 0.75, channels).astype(dtype) if channels > 1 else 0.25
    return None


def _inputs(dtype, shape, axis, layout, seed=0):
    z = array(dtype, shape, layout, seed)
    dy = array(dtype, shape, layout, seed + 1)
    bias = array(dtype, (shape[axis],), "C", seed + 2)
    return z, dy, bias


# the layout walk is the same for every activation: every layout with the
# rectifiers, two with the others
COMBINATIONS = [(layout, activation) for activation in ACTIVATIONS
                for layout in (LAYOUTS if activation in RECTIFIERS else ("C", "reversed"))]


@pytest.mark.parametrize("layout, activation", COMBINATIONS)
@pytest.mark.parametrize("shape_axis", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_bias_act_is_the_activation_of_z_plus_bias(dtype, shape_axis, layout, activation):
    shape, axis = shape_axis
    z, dy, bias = _inputs(dtype, shape, axis, layout)
    alpha = _alpha(activation, shape[axis], dtype)
    with np.errstate(all="ignore"):
        y = rk.bias_act(z, bias, activation, alpha=alpha, axis=axis)
        grads = rk.bias_act_backward(dy, z, bias, activation, alpha=alpha, axis=axis)
        twin = ref.bias_act_backward(dy, z, bias, activation, alpha, axis)
    assert_same(y, bias_act_expected(z, bias, activation, alpha=alpha, axis=axis))
    expected = bias_act_expected(dy, z, bias, activation, alpha=alpha, axis=axis)
    assert len(grads) == len(expected) == (3 if activation == "prelu" else 2)
    for got, want in zip(grads, expected):
        assert_same(got, want)
    if activation in RECTIFIERS:       # their twins are exact: the same bits again
        assert_same(y, ref.bias_act(z, bias, activation, alpha, axis))
        for got, expected in zip(grads, twin):
            assert_same(got, expected)


@pytest.mark.parametrize("activation", ("relu", "prelu", "gelu", "identity"))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_the_sums_are_the_same_bits_in_every_layout(dtype, activation):
    # the same logical data as NCHW, NHWC, Fortran order, sliced, reversed
    z, dy, bias = _inputs(dtype, (4, 6, 9, 11), 1, "C", seed=5)
    alpha = _alpha(activation, 6, dtype)
    first = rk.bias_act_backward(dy, z, bias, activation, alpha=alpha, axis=1)
    nhwc = [np.ascontiguousarray(np.moveaxis(a, 1, -1)) for a in (dy, z)]
    second = rk.bias_act_backward(*nhwc, bias, activation, alpha=alpha, axis=-1)
    assert_same(np.moveaxis(second[0], -1, 1), first[0])
    for got, expected in zip(second[1:], first[1:]):
        assert_same(got, expected)
    for layout in LAYOUTS[1:]:
        again = rk.bias_act_backward(in_layout(dy, layout), in_layout(z, layout), bias,
                                     activation, alpha=alpha, axis=1)
        for got, expected in zip(again, first):
            assert_same(got, expected)


@pytest.mark.parametrize("target", ("z", "dy"))
def test_in_place(target):
    z, dy, bias = _inputs(np.float32, (3, 4, 17), 1, "C", seed=2)
    expected_y = rk.bias_act(z, bias, "gelu", axis=1)
    expected = rk.bias_act_backward(dy, z, bias, "prelu", alpha=0.2, axis=1)
    y = z.copy()
    assert rk.bias_act(y, bias, "gelu", axis=1, out=y) is y
    assert_same(y, expected_y)
    arrays = {"z": z.copy(), "dy": dy.copy()}
    got = rk.bias_act_backward(arrays["dy"], arrays["z"], bias, "prelu", alpha=0.2, axis=1,
                               out=arrays[target])
    assert got[0] is arrays[target]
    for a, e in zip(got, expected):
        assert_same(a, e)


def test_gradient_dtypes_follow_the_parameters():
    z = array(np.float16, (8, 3), "C", 1)
    dy = array(np.float16, (8, 3), "C", 2)
    # float32 bias: float32 results; dbias in bias's dtype, dalpha in alpha's
    dz, dbias, dalpha = rk.bias_act_backward(dy, z, np.zeros(3, np.float32), "prelu",
                                             alpha=np.float64(0.1))
    assert dz.dtype == np.float32 and dbias.dtype == np.float32
    assert isinstance(dalpha, np.float64)
    # float16 throughout: float16 results and dbias
    dz, dbias = rk.bias_act_backward(dy, z, np.zeros(3, np.float16))
    assert dz.dtype == np.float16 and dbias.dtype == np.float16
    # an integer bias joins the result type as NumPy's does, dbias in float64
    dz, dbias = rk.bias_act_backward(dy, z, np.array([1, 2, 3]))
    assert dz.dtype == np.result_type(np.float16, np.int64) and dbias.dtype == np.float64


# ---------------------------------------------------------------------------
# The one summation: dbias of the identity is the exact sum of dy itself
# ---------------------------------------------------------------------------

def _hostile_terms():
    rng = np.random.default_rng(11)
    big = np.finfo(np.float64).max
    normal = rng.standard_normal(5000)
    yield "normal", normal
    yield "cancelling", np.concatenate([normal, -normal[::-1], [1e-300]])
    yield "1e16 and ones", np.array([1e16] + [1.0] * 3000 + [-1e16])
    yield "every exponent", rng.standard_normal(4000) * 2.0 ** rng.integers(-1074, 1000, 4000)
    yield "subnormals", rng.integers(-2**40, 2**40, 3000) * 5e-324
    yield "past the largest double midway", np.array([big, big, -big, big * 2**-60])
    yield "rounding to overflow", np.array([big, big * 2**-53, big * 2**-54])
    yield "huge and tiny interleaved", np.tile([1e300, 1e-300, -1e300, 3e-310], 700)
    yield "growing", np.concatenate([normal * 1e-20, normal, normal * 1e20])
    yield "shrinking", np.concatenate([normal * 1e20, normal, normal * 1e-20])
    yield "zeros and minus zeros", np.array([0.0, -0.0] * 600)
    yield "all minus zero", np.full(40, -0.0)
    yield "ties", np.array([2.0**53, 1.0, 1.0, 2.0**-60] * 300)
    yield "inf", np.concatenate([normal, [np.inf]])
    yield "both infinities", np.concatenate([normal, [np.inf, -np.inf]])
    yield "nan", np.concatenate([[np.nan], normal])


@pytest.mark.parametrize("name_terms", list(_hostile_terms()), ids=lambda nt: nt[0])
def test_dbias_is_the_correctly_rounded_sum_in_any_order(name_terms):
    _, terms = name_terms
    n = len(terms) - len(terms) % 4
    terms = terms[:n]
    expected = ref.exact_sum(terms)
    if np.isfinite(terms).all():             # the twin against fractions
        exact = sum(map(Fraction, terms.tolist()), Fraction(0))
        try:
            assert expected == float(exact)
        except OverflowError:
            assert expected == (math.inf if exact > 0 else -math.inf)
    rng = np.random.default_rng(3)
    for order in (terms, terms[::-1], rng.permutation(terms)):
        column = order.reshape(-1, 1)
        for z in (np.zeros_like(column), np.zeros_like(column.T)):
            dy = column if z.shape == column.shape else column.T
            axis = 1 if z.shape == column.shape else 0
            _, dbias = rk.bias_act_backward(dy, z, np.zeros(1), "identity", axis=axis)
            assert_same(dbias[0], expected)
        # four channels: the terms split four ways, summed apart, in both layouts
        split = order.reshape(-1, 4)
        parts = np.array([ref.exact_sum(split[:, c]) for c in range(4)])
        for dy, axis in ((split, 1), (np.ascontiguousarray(split.T), 0)):
            _, dbias = rk.bias_act_backward(dy, np.zeros_like(dy), np.zeros(4), "identity",
                                            axis=axis)
            assert_same(dbias, parts)


def test_clip_grad_norm_and_dalpha_share_the_exact_sum():
    rng = np.random.default_rng(4)
    g = rng.standard_normal(3001) * 2.0 ** rng.integers(-30, 30, 3001)
    expected = math.sqrt(math.fsum(g * g))
    assert optim.clip_grad_norm([g.copy()], 1e300) == expected
    assert optim.clip_grad_norm([g[:1000].copy(), g[1000:].copy()], 1e300) == expected
    x = -np.abs(g)
    _, dalpha = rk.prelu_backward(g, x, 0.5)
    assert dalpha == math.fsum(x * g)


def test_dalpha_is_the_same_in_nchw_and_nhwc_where_a_fixed_order_differed():
    # summed in float64 in an order fixed by the layout, 13 of these 16
    # channels came out different in NCHW and NHWC (channel 0:
    # -43.34598382223551 and -43.34598382223552); the exact sum is one value
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 12, 12)).astype(np.float32)
    dy = rng.standard_normal((8, 16, 12, 12)).astype(np.float32)
    alpha = np.full(16, 0.25)
    _, nchw = rk.prelu_backward(dy, x, alpha, axis=1)
    _, nhwc = rk.prelu_backward(np.ascontiguousarray(dy.transpose(0, 2, 3, 1)),
                                np.ascontiguousarray(x.transpose(0, 2, 3, 1)), alpha, axis=-1)
    terms = np.where(x < 0, x.astype(np.float64) * dy, 0.0)
    exact = np.array([math.fsum(terms[:, c].ravel()) for c in range(16)])
    assert_same(nchw, exact)
    assert_same(nhwc, exact)
    assert nchw[0] == -43.34598382223551
