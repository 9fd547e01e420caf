import math
import re

import numpy as np
import pytest

from rectkern import init

N_DRAWS = 10**6
# 1000 x 1000 dense layer: fan_in = fan_out = 1000 and 10^6 draws.
BIG = (1000, 1000)


# --- fans -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((10, 20), (20, 10)),
        ((64, 3, 7, 7), (3 * 49, 64 * 49)),
        ((128, 64, 3, 3), (64 * 9, 128 * 9)),
        ((8, 4, 5), (20, 40)),
        ((8, 4, 2, 3, 5), (4 * 30, 8 * 30)),
        ((0, 3), (3, 0)),
        ([6, 2], (2, 6)),
        ((np.int64(6), np.int32(2)), (2, 6)),
    ],
)
def test_fans(shape, expected):
    result = init.fans(shape)
    assert result == expected
    assert all(type(f) is int for f in result)


@pytest.mark.parametrize("shape", [5, (5,), ()])
def test_fans_needs_two_dims(shape):
    with pytest.raises(ValueError, match=r"fans: shape must have at least 2 dimensions"):
        init.fans(shape)


def test_fans_message_shows_normalised_shape():
    with pytest.raises(
        ValueError,
        match=re.escape("fans: shape must have at least 2 dimensions, got (5,)"),
    ):
        init.fans(5)


def test_fans_rejects_negative_dims():
    with pytest.raises(ValueError, match=r"fans: shape .*negative"):
        init.fans((4, -3))


@pytest.mark.parametrize("shape", [(4.0, 3), "ab", None, (4, None)])
def test_fans_rejects_non_integer_shape(shape):
    with pytest.raises(TypeError, match=r"fans: shape"):
        init.fans(shape)


# --- gain -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "a", "expected"),
    [
        ("linear", 0.0, 1.0),
        ("identity", 0.0, 1.0),
        ("relu", 0.0, math.sqrt(2.0)),
        ("leaky_relu", 0.0, math.sqrt(2.0)),
        ("leaky_relu", 0.01, math.sqrt(2.0 / (1.0 + 0.01**2))),
        ("prelu", 0.25, math.sqrt(2.0 / 1.0625)),
        ("prelu", -1.0, 1.0),
        ("abs", 0.0, 1.0),
    ],
)
def test_gain_values(name, a, expected):
    assert init.gain(name, a) == pytest.approx(expected, rel=1e-15)


def test_gain_default_is_relu():
    assert init.gain() == math.sqrt(2.0)


def test_abs_matches_prelu_with_slope_minus_one():
    assert init.gain("abs") == pytest.approx(init.gain("prelu", a=-1.0))


@pytest.mark.parametrize("name", ["tanh", "ReLU", "", None])
def test_gain_rejects_unknown_nonlinearity(name):
    with pytest.raises(ValueError, match=r"gain: nonlinearity must be one of .*'prelu'"):
        init.gain(name)


def test_gain_rejects_bad_slope():
    with pytest.raises(ValueError, match=r"gain: a must be finite"):
        init.gain("prelu", a=float("nan"))
    for bad in ("0.25", None, True):
        with pytest.raises(TypeError, match=r"gain: a must be a real number"):
            init.gain("prelu", a=bad)


def test_he_std_rejects_bad_slope():
    with pytest.raises(TypeError, match=r"he_std: a must be a real number"):
        init.he_std((4, 3), a="0.25")
    with pytest.raises(ValueError, match=r"he_std: a must be finite"):
        init.he_std((4, 3), a=float("inf"))


def test_slope_accepts_numpy_scalars():
    assert init.he_std((4, 3), a=np.float32(0.25)) == pytest.approx(
        init.he_std((4, 3), a=0.25)
    )


# --- he_std ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "paper_value"),
    [(64, 0.059), (128, 0.042), (256, 0.029), (512, 0.021)],
)
def test_he_std_vgg_backward_figures(filters, paper_value):
    std = init.he_std((filters, filters, 3, 3), mode="fan_out")
    assert round(std, 3) == paper_value
    assert std == pytest.approx(math.sqrt(2.0 / (9 * filters)))


@pytest.mark.parametrize("filters", [64, 128, 256, 512])
def test_he_std_forward_form(filters):
    # Layer growing from filters/2 to filters channels: n_l = k^2 * c.
    c = filters // 2
    expected = math.sqrt(2.0 / (3 * 3 * c))
    assert init.he_std((filters, c, 3, 3)) == pytest.approx(expected, rel=1e-15)
    assert init.he_std((filters, c, 3, 3), mode="fan_in") == pytest.approx(
        expected, rel=1e-15
    )


def test_he_std_dense():
    assert init.he_std((256, 512)) == pytest.approx(math.sqrt(2.0 / 512))
    assert init.he_std((256, 512), mode="fan_out") == pytest.approx(math.sqrt(2.0 / 256))


def test_he_std_prelu_aware():
    shape = (128, 64, 3, 3)
    fan_in, fan_out = init.fans(shape)
    assert init.he_std(shape, a=0.25) == pytest.approx(
        math.sqrt(2.0 / ((1 + 0.0625) * fan_in)), rel=1e-15
    )
    assert init.he_std(shape, a=0.25, mode="fan_out") == pytest.approx(
        math.sqrt(2.0 / ((1 + 0.0625) * fan_out)), rel=1e-15
    )


def test_he_std_is_gain_over_sqrt_fan():
    shape = (32, 16, 5, 5)
    fan_in, _ = init.fans(shape)
    for a in (0.0, 0.1, 0.25, -1.0):
        assert init.he_std(shape, a=a) == pytest.approx(
            init.gain("prelu", a) / math.sqrt(fan_in), rel=1e-15
        )


def test_he_std_rejects_bad_mode():
    with pytest.raises(ValueError, match=r"he_std: mode must be 'fan_in' or 'fan_out'"):
        init.he_std((4, 3), mode="fan_avg")


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((0, 3), "fan_in"), ((0, 3), "fan_out"), ((3, 0), "fan_in"), ((4, 3, 0), "fan_out")],
)
def test_he_std_rejects_zero_fan(shape, mode):
    with pytest.raises(ValueError, match=r"he_std: shape .* has a zero fan"):
        init.he_std(shape, mode=mode)


def test_he_std_rejects_one_dim_shape():
    with pytest.raises(ValueError, match=r"he_std: shape must have at least 2 dimensions"):
        init.he_std(7)


# --- sampling: statistics -------------------------------------------------


def _check_mean(w, std):
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)


def test_he_normal_statistics():
    w = init.he_normal(BIG, rng=123)
    target = init.he_std(BIG)
    assert w.size == N_DRAWS
    assert w.std() == pytest.approx(target, rel=0.01)
    _check_mean(w, target)


def test_he_normal_prelu_fan_out_statistics():
    shape = (400, 100, 5, 5)  # 10^6 draws, fan_out = 10^4
    w = init.he_normal(shape, a=0.25, mode="fan_out", rng=7)
    target = math.sqrt(2.0 / ((1 + 0.0625) * 400 * 25))
    assert w.std() == pytest.approx(target, rel=0.01)
    _check_mean(w, target)


def test_he_uniform_statistics():
    w = init.he_uniform(BIG, rng=123)
    bound = math.sqrt(3.0) * init.he_std(BIG)
    assert np.abs(w).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3.0), rel=0.01)
    assert w.std() == pytest.approx(init.he_std(BIG), rel=0.01)
    _check_mean(w, bound / math.sqrt(3.0))


def test_xavier_normal_statistics():
    shape = (500, 2000)
    w = init.xavier_normal(shape, gain=init.gain("relu"), rng=5)
    target = math.sqrt(2.0) * math.sqrt(2.0 / 2500)
    assert w.std() == pytest.approx(target, rel=0.01)
    _check_mean(w, target)


def test_xavier_uniform_statistics():
    shape = (500, 2000)
    w = init.xavier_uniform(shape, rng=5)
    bound = math.sqrt(6.0 / 2500)
    assert np.abs(w).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3.0), rel=0.01)
    _check_mean(w, bound / math.sqrt(3.0))


def test_xavier_uniform_gain_scales_bound():
    shape = (500, 2000)
    g = 2.5
    w = init.xavier_uniform(shape, gain=g, rng=6)
    bound = g * math.sqrt(6.0 / 2500)
    assert np.abs(w).max() <= bound
    # A loose bound would leave the top of the range empty.
    assert np.abs(w).max() > 0.99 * bound


def test_glorot_aliases():
    assert init.glorot_normal is init.xavier_normal
    assert init.glorot_uniform is init.xavier_uniform


# --- sampling: shapes, dtypes, reproducibility ----------------------------

SAMPLERS = [
    init.he_normal,
    init.he_uniform,
    init.xavier_normal,
    init.xavier_uniform,
]


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("shape", [(7, 5), (8, 4, 3, 3), (2, 3, 4)])
def test_shape_and_default_dtype(sampler, shape):
    w = sampler(shape, rng=0)
    assert w.shape == shape
    assert w.dtype == np.float64


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, "float32"])
def test_dtype_honoured(sampler, dtype):
    w = sampler((16, 8, 3, 3), rng=0, dtype=dtype)
    assert w.dtype == np.dtype(dtype)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_float32_is_rounded_float64(sampler):
    w64 = sampler((32, 16), rng=11)
    w32 = sampler((32, 16), rng=11, dtype=np.float32)
    np.testing.assert_array_equal(w32, w64.astype(np.float32))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_seed_same_array(sampler):
    a = sampler((64, 32, 3, 3), rng=42)
    b = sampler((64, 32, 3, 3), rng=42)
    np.testing.assert_array_equal(a, b)
    c = sampler((64, 32, 3, 3), rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_different_seeds_differ(sampler):
    a = sampler((64, 32), rng=1)
    b = sampler((64, 32), rng=2)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_generator_state_advances(sampler):
    gen = np.random.default_rng(3)
    a = sampler((10, 10), rng=gen)
    b = sampler((10, 10), rng=gen)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_rng_none_works(sampler):
    w = sampler((10, 10))
    assert w.shape == (10, 10)
    assert np.all(np.isfinite(w))


def test_numpy_integer_seed_and_dims():
    a = init.he_normal((np.int64(6), 4), rng=np.int64(9))
    b = init.he_normal((6, 4), rng=9)
    np.testing.assert_array_equal(a, b)


# --- sampling: argument errors --------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize(
    "rng", [1.5, "0", np.random.RandomState(0), [1, 2], True]
)
def test_bad_rng_type(sampler, rng):
    name = sampler.__name__
    with pytest.raises(TypeError, match=rf"{name}: rng must be None, an int seed or"):
        sampler((4, 3), rng=rng)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_negative_seed(sampler):
    with pytest.raises(ValueError, match=rf"{sampler.__name__}: rng seed must be non-negative"):
        sampler((4, 3), rng=-1)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("dtype", [np.int32, int, np.complex128, bool, "not-a-dtype"])
def test_bad_dtype(sampler, dtype):
    name = sampler.__name__
    with pytest.raises(TypeError, match=rf"{name}: dtype must be float16, float32 or float64"):
        sampler((4, 3), rng=0, dtype=dtype)


@pytest.mark.parametrize("sampler", [init.he_normal, init.he_uniform])
def test_he_samplers_bad_mode(sampler):
    with pytest.raises(ValueError, match=rf"{sampler.__name__}: mode must be"):
        sampler((4, 3), mode="in")


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_reject_one_dim(sampler):
    with pytest.raises(
        ValueError, match=rf"{sampler.__name__}: shape must have at least 2 dimensions"
    ):
        sampler(10, rng=0)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_reject_zero_fan(sampler):
    with pytest.raises(ValueError, match=rf"{sampler.__name__}: shape .* has a zero fan"):
        sampler((0, 3), rng=0)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_reject_negative_dims(sampler):
    with pytest.raises(ValueError, match=rf"{sampler.__name__}: shape .*negative"):
        sampler((4, -3), rng=0)


@pytest.mark.parametrize("sampler", [init.xavier_normal, init.xavier_uniform])
def test_xavier_bad_gain(sampler):
    name = sampler.__name__
    with pytest.raises(ValueError, match=rf"{name}: gain must be non-negative"):
        sampler((4, 3), gain=-1.0)
    with pytest.raises(ValueError, match=rf"{name}: gain must be finite"):
        sampler((4, 3), gain=float("inf"))
    with pytest.raises(TypeError, match=rf"{name}: gain must be a real number"):
        sampler((4, 3), gain="relu")


def test_public_names():
    assert sorted(init.__all__) == sorted(
        [
            "fans",
            "gain",
            "he_std",
            "he_normal",
            "he_uniform",
            "xavier_normal",
            "xavier_uniform",
            "glorot_normal",
            "glorot_uniform",
        ]
    )
    for name in init.__all__:
        assert callable(getattr(init, name))
