"""The registry's ufuncs (rectkern._ext.ELEMENTWISE) against their twins."""

from types import SimpleNamespace

import numpy as np
import pytest

import rectkern as rk
from rectkern import _reference as ref

from ._arrays import (ELEMENTWISE, FLOAT_DTYPES, SMOOTH_ULPS, array, assert_matches_twin,
                      assert_same, call_op, case_id, cases, op_id, op_inputs, op_params,
                      values)

CASES = cases()
OP_PARAMS = [pytest.param(op, params, id=op_id(op, params))
             for op in ELEMENTWISE for params in op_params(op)]


@pytest.mark.parametrize("op, params", OP_PARAMS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_twin(case, op, params):
    dtype, shape, layout = case
    x, dy = array(*case), array(dtype, shape, "reversed", seed=2)
    inputs = op_inputs(op, x, dy)
    with np.errstate(all="ignore"):       # the values are checked here, not warnings
        actual = getattr(rk, op.name)(*inputs, *params)
    assert_matches_twin(op, actual, getattr(ref, op.name)(*inputs, *params), inputs)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_relu_backward_from_output(case):
    # given y = relu(x) instead of x: same result
    dtype, shape, layout = case
    x, dy = array(*case), array(dtype, shape, "C", seed=1)
    assert_same(rk.relu_backward(dy, rk.relu(x)), ref.relu_backward(dy, x))


# -- the comparison itself ----------------------------------------------------

SMOOTH = SimpleNamespace(name="a_smooth_op", family="smooth", inputs=("x",), params=())


def _shifted(a, ulps):
    """a moved ``ulps`` ULPs away from zero (finite nonzero values)."""
    bits = a.view(f"i{a.dtype.itemsize}")        # sign and magnitude: adding moves |a|
    return (bits + np.asarray(ulps, bits.dtype)).view(a.dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_smooth_comparison_catches_wrong_values(dtype):
    # the smooth family's comparison on the generator's values (NaN, inf and
    # zeros among them): it passes values within the bound and no other
    dtype = np.dtype(dtype)
    expected = values((2000,), dtype)
    moved = np.isfinite(expected) & (expected != 0)
    one_ulp = expected.copy()
    one_ulp[moved] = np.nextafter(expected[moved], np.inf)
    assert_matches_twin(SMOOTH, one_ulp, expected)
    finite = expected[moved & (np.abs(expected) < np.finfo(dtype).max / 4)]
    bound = SMOOTH_ULPS[dtype]
    assert_matches_twin(SMOOTH, _shifted(finite, bound), finite)
    assert_matches_twin(SMOOTH, _shifted(finite, -1), finite)
    wrong = {
        "one ULP beyond the bound": (_shifted(finite, bound + 1), finite),
        "twice the value": (finite * 2, finite),
        "the sign flipped": (-finite, finite),
        "a zero's sign flipped": (np.array([-0.0, 1], dtype), np.array([0.0, 1], dtype)),
        "a NaN lost": (np.array([1, 1], dtype), np.array([np.nan, 1], dtype)),
        "overflow to inf": (np.array([np.inf], dtype), np.array([np.finfo(dtype).max], dtype)),
        "another dtype": (finite.astype(np.float64 if dtype != np.float64 else np.float32),
                          finite),
    }
    for what, (actual, twin) in wrong.items():
        try:
            assert_matches_twin(SMOOTH, actual, twin)
        except AssertionError:
            continue
        pytest.fail(f"{what}: not caught")


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


@pytest.mark.parametrize("op", ELEMENTWISE, ids=op_id)
def test_no_warnings_on_nan_input(op):
    # NaN is data: comparing it must not surface as "invalid value" warnings
    x = np.array([np.nan, -1.0, 1.0] * 40)
    call_op(op, x, x)


# -- dtypes ------------------------------------------------------------------

INTEGER_AND_BOOL = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                    "int64", "uint64")
BACKWARD = [op for op in ELEMENTWISE if op.inputs == ("dy", "x")]
WITH_PARAMS = [op for op in ELEMENTWISE if op.params]


@pytest.mark.parametrize("op", ELEMENTWISE, ids=op_id)
@pytest.mark.parametrize("dtype", INTEGER_AND_BOOL)
def test_integer_inputs_cast_as_numpy_float_ufuncs(dtype, op):
    x = np.array([-3, 0, 1, 2, 5]).astype(dtype)
    inputs, params = op_inputs(op, x, x), op_params(op)[0]
    actual = getattr(rk, op.name)(*inputs, *params)
    assert actual.dtype == np.exp(x[:0]).dtype
    assert_matches_twin(op, actual, getattr(ref, op.name)(*inputs, *params), inputs)


@pytest.mark.parametrize("op", BACKWARD, ids=op_id)
@pytest.mark.parametrize("dy_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("x_dtype", FLOAT_DTYPES)
def test_backward_dtype_is_result_type(dy_dtype, x_dtype, op):
    x, dy = array(x_dtype, (5, 7)), array(dy_dtype, (5, 7), seed=1)
    params = op_params(op)[0]
    actual = getattr(rk, op.name)(dy, x, *params)
    assert actual.dtype == np.result_type(dy, x)
    assert_matches_twin(op, actual, getattr(ref, op.name)(dy, x, *params), (dy, x))


@pytest.mark.parametrize("op", WITH_PARAMS, ids=op_id)
@pytest.mark.parametrize("x_dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("alpha_dtype", FLOAT_DTYPES + (np.dtype("int64"),))
def test_alpha_never_changes_the_result_dtype(x_dtype, alpha_dtype, op):
    x = array(x_dtype, (4, 9))
    alpha = np.array([0.1, 0.2, 0.3, 2.0]).astype(alpha_dtype)[:, None]
    inputs = op_inputs(op, x, x)
    with np.errstate(all="ignore"):
        actual = getattr(rk, op.name)(*inputs, alpha)
    assert actual.dtype == x_dtype
    assert_matches_twin(op, actual, getattr(ref, op.name)(*inputs, alpha), inputs)


FLOAT16_ALPHAS = (1.0, 0.1, 1 / 3, 1e-3, 7.77, -1.0)


@pytest.mark.parametrize("op, params", [
    pytest.param(op, params, id=op_id(op, params)) for op in ELEMENTWISE
    for params in ([(alpha,) for alpha in FLOAT16_ALPHAS] if op.params else [()])])
def test_every_float16_value(op, params):
    # all 65536 bit patterns: binary16 <-> binary32 and the rounding of
    # alpha * x to float16 (subnormals, overflow to inf, ties) against NumPy;
    # forward and reversed strides
    x = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    for a in (x, x[::-1]):
        inputs = op_inputs(op, a, a[::-1])
        with np.errstate(all="ignore"):
            actual = getattr(rk, op.name)(*inputs, *params)
        assert_matches_twin(op, actual, getattr(ref, op.name)(*inputs, *params), inputs)


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
    for op in ELEMENTWISE:
        uf = getattr(rk, op.name)
        assert isinstance(uf, np.ufunc)
        assert (uf.nin, uf.nout) == (len(op.inputs) + len(op.params), 1)
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


@pytest.mark.parametrize("op, params", OP_PARAMS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_each_result_depends_on_its_own_inputs_alone(op, params, dtype):
    # some float32 gradients give their far tails (x < -87) the float64
    # path apart from the rest of a block: mixed with other values, in
    # place, reversed, shuffled or alone, an element's result is the same
    x = np.concatenate([values((2000,), dtype, seed=6),
                        np.linspace(-200, 10, 600).astype(dtype)])
    dy = values(x.shape, dtype, seed=7)
    inputs = op_inputs(op, x, dy)
    ufunc = getattr(rk, op.name)
    order = np.random.default_rng(8).permutation(x.size)
    with np.errstate(all="ignore"):
        whole = ufunc(*inputs, *params)
        assert_same(ufunc(*[a[::-1] for a in inputs], *params)[::-1], whole)
        assert_same(ufunc(*[a[order] for a in inputs], *params), whole[order])
        for i in order[:40]:
            assert_same(ufunc(*[a[i:i + 1] for a in inputs], *params), whole[i:i + 1])
        for target in range(len(inputs)):
            copies = [a.copy() for a in inputs]
            ufunc(*copies, *params, out=copies[target])
            assert_same(copies[target], whole)


def test_float32_gradients_in_far_tails_and_near_overflow():
    # where a float32 slope leaves the normal range (small alpha, x far
    # below 0) or dy * slope nears float32's largest values, the kernels
    # take the float64 path: the twin's results, infinities included
    rows = {op.name: op for op in ELEMENTWISE}
    x = np.concatenate([np.linspace(-110, 0, 2201), [float.fromhex("-0x1.a1cacp-2")]]).astype(np.float32)
    for dy_value in (1.0, 1e30, float.fromhex("0x1.b5f1b2p127"), -3.3e38, np.inf):
        dy = np.full_like(x, dy_value)
        cases = [("selu_backward", ()), ("softplus_backward", ())]
        cases += [("elu_backward", (alpha,)) for alpha in (1e-30, 1e-10, 0.5, 1.0, 1.7, 0.0)]
        for name, params in cases:
            with np.errstate(all="ignore"):
                actual = getattr(rk, name)(dy, x, *params)
                expected = getattr(ref, name)(dy, x, *params)
            assert_matches_twin(rows[name], actual, expected, (dy, x))


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
    for op in ELEMENTWISE:
        result = call_op(op, x, x)
        assert isinstance(result, Tagged), op.name
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
