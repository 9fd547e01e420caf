"""relu, relu_backward, leaky_relu, leaky_relu_backward: the ufuncs against their twins."""

import numpy as np
import pytest

import rectkern as rk
from rectkern import _reference as ref

from ._arrays import FLOAT_DTYPES, array, assert_same, case_id, cases

CASES = cases()
ALPHAS = (0.01, 0.25, -1.0, 0.0, 1.5, np.nan)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_relu_matches_twin(case):
    x = array(*case)
    assert_same(rk.relu(x), ref.relu(x))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_relu_backward_matches_twin(case):
    dtype, shape, layout = case
    x, dy = array(*case), array(dtype, shape, "C", seed=1)
    assert_same(rk.relu_backward(dy, x), ref.relu_backward(dy, x))
    # given y = relu(x) instead of x: same result
    assert_same(rk.relu_backward(dy, rk.relu(x)), ref.relu_backward(dy, x))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_leaky_relu_matches_twin(case, alpha):
    x = array(*case)
    with np.errstate(invalid="ignore"):
        actual = rk.leaky_relu(x, alpha)
    assert_same(actual, ref.leaky_relu(x, alpha))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_leaky_relu_backward_matches_twin(case, alpha):
    dtype, shape, layout = case
    x, dy = array(*case), array(dtype, shape, "reversed", seed=2)
    with np.errstate(invalid="ignore"):
        actual = rk.leaky_relu_backward(dy, x, alpha)
    assert_same(actual, ref.leaky_relu_backward(dy, x, alpha))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_leaky_relu_backward_from_output_for_nonnegative_alpha(dtype):
    x, dy = array(dtype, (3, 33)), array(dtype, (3, 33), seed=3)
    for alpha in (0.0, 0.01, 0.5):
        y = rk.leaky_relu(x, alpha)
        with np.errstate(invalid="ignore"):
            from_y = rk.leaky_relu_backward(dy, y, alpha)
        # y <= 0 exactly where x <= 0 except where alpha * x underflows or x = -inf
        # with alpha = 0 (NaN); compare where y keeps the sign information
        keep = ~np.isnan(y) | np.isnan(x)
        assert_same(from_y[keep], ref.leaky_relu_backward(dy, x, alpha)[keep])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_channel_alpha_broadcasts_into_prelu_forward(dtype):
    x = array(dtype, (2, 4, 3, 5), "F")
    alpha = np.array([0.1, -1.0, 0.0, 2.0])
    actual = rk.leaky_relu(x, alpha[:, None, None])
    assert_same(actual, ref.prelu(x, alpha, axis=1))
    assert_same(actual, rk.prelu(x, alpha, axis=1))


# -- the contract's table, pinned value by value -----------------------------

def _signbit(v):
    return bool(np.signbit(v))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_contract_rows(dtype):
    f = np.dtype(dtype).type
    # relu: y = +0.0 at zero of either sign, NaN stays
    assert rk.relu(f(-0.0)) == 0 and not _signbit(rk.relu(f(-0.0)))
    assert rk.relu(f(0.0)) == 0 and not _signbit(rk.relu(f(0.0)))
    assert np.isnan(rk.relu(f(np.nan)))
    assert rk.relu(f(np.inf)) == np.inf and rk.relu(f(-np.inf)) == 0
    # relu backward: 0 at x == 0, NaN at NaN x, dy NaN blocked where x <= 0
    assert rk.relu_backward(f(5), f(0.0)) == 0
    assert np.isnan(rk.relu_backward(f(5), f(np.nan)))
    assert rk.relu_backward(f(np.nan), f(-1)) == 0
    assert np.isnan(rk.relu_backward(f(np.nan), f(1)))
    # leaky: a * -0.0 keeps the sign rule of multiplication
    assert _signbit(rk.leaky_relu(f(-0.0), 0.5))
    assert not _signbit(rk.leaky_relu(f(-0.0), -1.0))
    with np.errstate(invalid="ignore"):
        assert np.isnan(rk.leaky_relu(f(-np.inf), 0.0))     # not bitwise relu
    assert rk.leaky_relu(f(-2), -1.0) == 2                 # abs rectification
    assert np.isnan(rk.leaky_relu(f(np.nan), 0.1))
    # leaky backward: x == 0 takes the alpha branch
    assert rk.leaky_relu_backward(f(4), f(0.0), 0.25) == 1
    assert rk.leaky_relu_backward(f(4), f(-0.0), 0.25) == 1
    assert np.isnan(rk.leaky_relu_backward(f(4), f(np.nan), 0.25))
    assert np.isnan(rk.leaky_relu_backward(f(np.nan), f(-1), 0.0))   # 0 * NaN


def test_no_warnings_on_nan_input():
    # NaN is data: comparing it must not surface as "invalid value" warnings
    x = np.array([np.nan, -1.0, 1.0] * 40)
    for call in (lambda: rk.relu(x), lambda: rk.relu_backward(x, x),
                 lambda: rk.leaky_relu(x, 0.1), lambda: rk.leaky_relu_backward(x, x, 0.1)):
        call()


# -- dtypes ------------------------------------------------------------------

INTEGER_AND_BOOL = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                    "int64", "uint64")


@pytest.mark.parametrize("dtype", INTEGER_AND_BOOL)
def test_integer_inputs_cast_as_numpy_float_ufuncs(dtype):
    x = np.array([-3, 0, 1, 2, 5]).astype(dtype)
    expected_dtype = np.exp(x[:0]).dtype
    assert rk.relu(x).dtype == expected_dtype
    assert rk.leaky_relu(x, 0.5).dtype == expected_dtype
    assert rk.relu_backward(x, x).dtype == expected_dtype
    assert_same(rk.relu(x), ref.relu(x))
    assert_same(rk.leaky_relu(x, 0.5), ref.leaky_relu(x, 0.5))


@pytest.mark.parametrize("dy_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("x_dtype", FLOAT_DTYPES)
def test_backward_dtype_is_result_type(dy_dtype, x_dtype):
    x, dy = array(x_dtype, (5, 7)), array(dy_dtype, (5, 7), seed=1)
    expected = np.result_type(dy, x)
    for actual, twin in ((rk.relu_backward(dy, x), ref.relu_backward(dy, x)),
                         (rk.leaky_relu_backward(dy, x, 0.1),
                          ref.leaky_relu_backward(dy, x, 0.1))):
        assert actual.dtype == expected
        assert_same(actual, twin)


@pytest.mark.parametrize("x_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("alpha_dtype", FLOAT_DTYPES + (np.dtype("int64"),))
def test_alpha_never_changes_the_result_dtype(x_dtype, alpha_dtype):
    x = array(x_dtype, (4, 9))
    alpha = np.array([0.1, 0.2, 0.3, 2.0]).astype(alpha_dtype)[:, None]
    y = rk.leaky_relu(x, alpha)
    assert y.dtype == x_dtype
    assert_same(y, ref.leaky_relu(x, alpha))
    assert rk.leaky_relu_backward(x, x, alpha).dtype == x_dtype


@pytest.mark.parametrize("alpha", (1.0, 0.1, 1 / 3, 1e-3, 7.77, -1.0))
def test_every_float16_value(alpha):
    # all 65536 bit patterns: binary16 <-> binary32 and the rounding of
    # alpha * x to float16 (subnormals, overflow to inf, ties) against NumPy
    x = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    assert_same(rk.relu(x), ref.relu(x))
    assert_same(rk.relu(x[::-1]), ref.relu(x[::-1]))
    assert_same(rk.relu_backward(x[::-1], x), ref.relu_backward(x[::-1], x))
    assert_same(rk.leaky_relu(x, alpha), ref.leaky_relu(x, alpha))
    assert_same(rk.leaky_relu_backward(x[::-1], x, alpha),
                ref.leaky_relu_backward(x[::-1], x, alpha))


def test_float16_alpha_is_applied_in_float32():
    # every negative float16 from -1 to -2048
    x = -np.arange(np.float16(1), np.float16(2048), dtype=np.float16)
    in_float32 = (np.float32(0.01) * x.astype(np.float32)).astype(np.float16)
    in_float16 = np.float16(0.01) * x
    assert not np.array_equal(in_float32, in_float16)     # the test can tell them apart
    assert_same(rk.leaky_relu(x, 0.01), in_float32)
    assert_same(rk.leaky_relu_backward(x, -np.ones_like(x), 0.01), in_float32)


def test_python_scalars_are_weak():
    x32 = np.ones(3, np.float32)
    assert rk.relu_backward(2.0, x32).dtype == np.float32
    assert rk.leaky_relu(x32, 0.5).dtype == np.float32
    assert rk.relu(2.0) == 2.0 and isinstance(rk.relu(2.0), np.float64)
    assert rk.relu(-2) == 0.0


# -- ufunc machinery ----------------------------------------------------------

def test_they_are_real_ufuncs():
    for uf, nin in ((rk.relu, 1), (rk.relu_backward, 2), (rk.leaky_relu, 2),
                    (rk.leaky_relu_backward, 3)):
        assert isinstance(uf, np.ufunc)
        assert (uf.nin, uf.nout) == (nin, 1)
        assert uf.ntypes == 3
        assert uf.__name__ in repr(uf)
    assert rk.leaky_relu.types == ["ef->e", "ff->f", "dd->d"]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_out_where_and_in_place(dtype):
    x = array(dtype, (4, 17))
    expected = ref.relu(x)
    out = np.full_like(x, 7)
    assert rk.relu(x, out=out) is out
    assert_same(out, expected)
    inplace = x.copy()
    rk.relu(inplace, out=inplace)
    assert_same(inplace, expected)
    mask = np.arange(x.size).reshape(x.shape) % 3 == 0
    out = np.full_like(x, 7)
    rk.relu(x, out=out, where=mask)
    assert_same(out[mask], expected[mask])
    assert np.all(out[~mask] == 7)


def test_partial_overlap_is_handled():
    base = array(np.float64, (200,))
    x = base.copy()
    expected = ref.leaky_relu(x[:-3], 0.1)
    rk.leaky_relu(x[:-3], 0.1, out=x[3:])
    assert_same(x[3:], expected)


def test_broadcasting_and_casting_rules():
    x = array(np.float32, (3, 1, 5))
    dy = array(np.float32, (4, 1), seed=1)
    assert_same(rk.relu_backward(dy, x), ref.relu_backward(dy, x))
    out64 = np.empty((3, 4, 5))
    rk.relu_backward(dy, x, out=out64)                    # safe cast on output
    assert_same(out64, ref.relu_backward(dy, x).astype(np.float64))
    with pytest.raises(TypeError, match="relu"):
        rk.relu(np.ones(3), out=np.empty(3, np.int64))    # same_kind forbids this
    assert rk.relu(x, dtype=np.float64).dtype == np.float64


class Tagged:
    """A minimal array-like that wraps results, as dask/xarray do."""

    def __init__(self, data):
        self.data = np.asarray(data)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raw = [i.data if isinstance(i, Tagged) else i for i in inputs]
        return Tagged(getattr(ufunc, method)(*raw, **kwargs))


def test_array_ufunc_dispatch():
    x = Tagged([-1.0, 2.0])
    for result in (rk.relu(x), rk.leaky_relu(x, 0.5), rk.relu_backward(x, x),
                   rk.leaky_relu_backward(x, x, 0.5)):
        assert isinstance(result, Tagged)
    assert_same(rk.leaky_relu(x, 0.5).data, np.array([-0.5, 2.0]))


def test_dask_array_comes_back_as_dask():
    import dask.array as da
    x = array(np.float32, (8, 6))
    lazy = da.from_array(x, chunks=(4, 3))
    result = rk.leaky_relu(lazy, 0.1)
    assert isinstance(result, da.Array)
    assert_same(result.compute(), ref.leaky_relu(x, 0.1))


def test_xarray_comes_back_as_dataarray():
    import xarray as xr
    x = array(np.float64, (3, 4))
    arr = xr.DataArray(x, dims=("batch", "channel"))
    result = rk.relu(arr)
    assert isinstance(result, xr.DataArray)
    assert result.dims == ("batch", "channel")
    assert_same(result.values, ref.relu(x))
