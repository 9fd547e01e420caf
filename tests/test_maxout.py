"""maxout and maxout_backward against their twins, on every layout and axis."""

import numpy as np
import pytest

import rectkern as rk
from rectkern import _reference as ref

from ._arrays import FLOAT_DTYPES, LAYOUTS, array, assert_same, case_id

# shapes with axis lengths that 1, 2, 3, 4 and larger groups divide
SHAPES = ((0,), (4,), (12,), (96,), (2, 12), (3, 0), (12, 5), (2, 6, 7),
          (5, 8, 3), (2, 6, 3, 4), (1, 4, 2, 2, 6), (3, 40, 17))


def _items():
    items = []
    for dtype in FLOAT_DTYPES:
        for shape in SHAPES:
            for layout in LAYOUTS:
                if len(shape) == 1 and layout in ("F", "transposed"):
                    continue
                for axis in sorted({0, min(1, len(shape) - 1), len(shape) - 1}):
                    ks = [k for k in (1, 2, 3, 4, 5, 8) if shape[axis] % k == 0][:3]
                    for k in ks:
                        items.append(((dtype, shape, layout), axis, k))
    return items


ITEMS = _items()


def _id(item):
    case, axis, k = item
    return f"{case_id(case)}-axis{axis}-k{k}"


@pytest.mark.parametrize("item", ITEMS, ids=_id)
def test_maxout_matches_twin(item):
    case, axis, k = item
    x = array(*case)
    y, idx = rk.maxout(x, k, axis=axis)
    y_twin, idx_twin = ref.maxout(x, k, axis=axis)
    assert_same(y, y_twin)
    assert_same(idx, idx_twin)
    # the negative spelling of the axis gives the same
    y_neg, idx_neg = rk.maxout(x, k, axis=axis - x.ndim)
    assert_same(y_neg, y)
    assert_same(idx_neg, idx)


@pytest.mark.parametrize("item", ITEMS, ids=_id)
def test_maxout_backward_matches_twin(item):
    (dtype, shape, layout), axis, k = item
    x = array(dtype, shape, layout)
    _, idx = rk.maxout(x, k, axis=axis)
    dy = array(dtype, idx.shape, layout, seed=6)
    assert_same(rk.maxout_backward(dy, idx, k, axis=axis),
                ref.maxout_backward(dy, idx, k, axis=axis))


def test_ties_go_to_the_first_and_nan_wins():
    x = np.array([[3.0, 3.0, 1.0, 2.0],
                  [-0.0, 0.0, 0.0, -0.0],
                  [1.0, np.nan, 5.0, np.nan],
                  [np.nan, np.inf, -np.inf, np.nan],
                  [-np.inf, -np.inf, -np.inf, -np.inf]])
    y, idx = rk.maxout(x, 4, axis=1)
    assert idx.ravel().tolist() == [0, 0, 1, 0, 0]
    assert y[0, 0] == 3.0
    assert np.signbit(y[1, 0])                  # the first zero, -0.0, kept as is
    assert np.isnan(y[2, 0]) and np.isnan(y[3, 0])
    assert y[4, 0] == -np.inf
    assert_same(y, ref.maxout(x, 4, axis=1)[0])


@pytest.mark.parametrize("k, dtype", [(1, np.uint8), (2, np.uint8), (256, np.uint8),
                                      (257, np.uint16), (65536, np.uint16),
                                      (65537, np.uint32)])
def test_idx_is_the_smallest_unsigned_type(k, dtype):
    x = array(np.float32, (2, k))
    y, idx = rk.maxout(x, k, axis=1)
    assert idx.dtype == dtype
    assert_same(idx, ref.maxout(x, k, axis=1)[1])
    assert_same(y, ref.maxout(x, k, axis=1)[0])


@pytest.mark.parametrize("idx_dtype", ["uint8", "uint16", "uint32", "uint64",
                                       "int8", "int16", "int32", "int64"])
def test_backward_takes_any_integer_idx(idx_dtype):
    x = array(np.float64, (3, 12, 5))
    groups = x.reshape(3, 4, 3, 5)
    idx = np.argmax(groups, axis=2)              # np.argmax gives intp
    dy = array(np.float64, (3, 4, 5), seed=2)
    expected = ref.maxout_backward(dy, idx, 3, axis=1)
    assert_same(rk.maxout_backward(dy, idx.astype(idx_dtype), 3, axis=1), expected)
    swapped = idx.astype(np.dtype(idx_dtype).newbyteorder())
    assert_same(rk.maxout_backward(dy, swapped, 3, axis=1), expected)


@pytest.mark.parametrize("idx_dtype", ["uint8", "uint16", "uint32", "uint64",
                                       "int8", "int16", "int32", "int64"])
@pytest.mark.parametrize("k", [2, 127, 128, 129, 200, 256, 300])
@pytest.mark.parametrize("axis", [1, -1])
def test_backward_idx_range_at_the_limits_of_its_dtype(idx_dtype, k, axis):
    # A signed idx is read through the unsigned kernel of its width: its
    # negative values must still be refused when k exceeds the signed range
    # (int8 with k = 200: -56 read as uint8 is 200, -57 is 199).
    info = np.iinfo(idx_dtype)
    candidates = sorted({0, 1, k - 2, k - 1, k, k + 1, -1, -56, -57, -128, info.min, info.max})
    groups = 5
    for value in candidates:
        if not info.min <= value <= info.max:
            continue
        idx = np.zeros((2, groups, 3) if axis == 1 else (2, 3, groups), idx_dtype)
        idx.flat[7] = value
        dy = np.arange(idx.size, dtype=np.float32).reshape(idx.shape) + 1
        if 0 <= value < k:
            expected = ref.maxout_backward(dy, idx, k, axis=axis)
            assert_same(rk.maxout_backward(dy, idx, k, axis=axis), expected)
        else:
            with pytest.raises(ValueError, match="outside 0 .. k-1"):
                rk.maxout_backward(dy, idx, k, axis=axis)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_backward_writes_every_element(dtype):
    x = array(dtype, (4, 6, 9))
    y, idx = rk.maxout(x, 3, axis=1)
    dy = array(dtype, y.shape, seed=3)
    out = np.full(x.shape, np.nan, dtype)
    assert rk.maxout_backward(dy, idx, 3, axis=1, out=out) is out
    assert_same(out, ref.maxout_backward(dy, idx, 3, axis=1))


def test_backward_selects_nan_gradients_only_at_idx():
    dy = np.array([[np.nan, 1.0]])
    dx = rk.maxout_backward(dy, np.array([[1, 0]]), 2, axis=1)
    assert dx[0, 0] == 0 and not np.signbit(dx[0, 0])
    assert np.isnan(dx[0, 1])
    assert dx[0, 2] == 1.0 and dx[0, 3] == 0


def test_round_trip_is_the_gradient_of_max():
    # d/dx sum(maxout(x) * w) is w at the argmax: check against finite differences
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 8, 3))
    w = rng.standard_normal((2, 4, 3))
    y, idx = rk.maxout(x, 2, axis=1)
    dx = rk.maxout_backward(w, idx, 2, axis=1)
    eps = 1e-6
    for flat in range(x.size):
        bumped = x.copy().ravel()
        bumped[flat] += eps
        numeric = ((rk.maxout(bumped.reshape(x.shape), 2, axis=1)[0] * w).sum()
                   - (y * w).sum()) / eps
        assert abs(numeric - dx.ravel()[flat]) < 1e-4


def test_integer_input_is_cast_as_numpy_float_ufuncs():
    x = np.array([[1, 7, -2, 4]], np.int16)
    y, idx = rk.maxout(x, 2)
    assert y.dtype == np.exp(x[:0]).dtype
    assert_same(y, ref.maxout(x, 2)[0])


def test_layout_of_outputs_follows_input():
    x = np.asfortranarray(array(np.float32, (4, 6, 5)))
    y, idx = rk.maxout(x, 2, axis=1)
    assert y.flags.f_contiguous and idx.flags.f_contiguous
    dx = rk.maxout_backward(y, idx, 2, axis=1)
    assert dx.flags.f_contiguous


def test_backward_out_overlapping_dy():
    dy = array(np.float64, (3, 10))
    idx = np.zeros((3, 10), np.uint8)
    base = np.zeros((3, 40))
    base[:, :10] = dy
    expected = ref.maxout_backward(dy, idx, 2, axis=1)
    out = base[:, 5:25]                           # overlaps the dy view below
    rk.maxout_backward(base[:, :10], idx, 2, axis=1, out=out)
    assert_same(out, expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_out(dtype):
    x = array(dtype, (3, 8, 5), "F")
    y_twin, idx_twin = ref.maxout(x, 4, axis=1)
    y, idx = np.full(y_twin.shape, np.nan, dtype), np.full(idx_twin.shape, 9, np.uint8)
    result = rk.maxout(x, 4, axis=1, out=(y, idx))
    assert result[0] is y and result[1] is idx
    assert_same(y, y_twin)
    assert_same(idx, idx_twin)
    only_y = np.empty_like(y_twin)
    y2, idx2 = rk.maxout(x, 4, axis=1, out=(only_y, None))
    assert y2 is only_y
    assert_same(idx2, idx_twin)


def test_forward_out_overlapping_the_input():
    base = array(np.float64, (4, 16))
    x = base.copy()
    expected = ref.maxout(x, 2, axis=1)
    y, idx = rk.maxout(x, 2, axis=1, out=(x[:, :8], None))  # y over x's own first half
    assert_same(y, expected[0])
    assert_same(idx, expected[1])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_outs_overlapping_each_other(dtype):
    """idx given over y's bytes: idx comes out whole (it is written into a
    temporary and copied after y), and y holds what was written last."""
    x = array(dtype, (4, 16, 40))
    expected = ref.maxout(x, 2, axis=1)
    shared = np.empty(x.size // 2 * x.itemsize, np.uint8)
    y_out = shared.view(dtype).reshape(expected[0].shape)
    idx_out = shared[-(x.size // 2):].reshape(expected[1].shape)   # y's last bytes
    y, idx = rk.maxout(x, 2, axis=1, out=(y_out, idx_out))
    assert idx is idx_out
    assert_same(idx, expected[1])
    assert np.shares_memory(y, idx)


@pytest.mark.parametrize("k", (2, 4))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_channels_last_runs(dtype, k):
    # groups side by side along the last axis, rows continuing one another
    x = array(dtype, (3, 5, 7, 8 * k))
    y, idx = rk.maxout(x, k, axis=-1)
    assert_same(y, ref.maxout(x, k, axis=-1)[0])
    assert_same(idx, ref.maxout(x, k, axis=-1)[1])
    dy = array(dtype, y.shape, seed=4)
    assert_same(rk.maxout_backward(dy, idx, k, axis=-1),
                ref.maxout_backward(dy, idx, k, axis=-1))
    bad = idx.copy()
    bad[2, 4, 6, 7] = k
    with pytest.raises(ValueError, match="idx has values outside"):
        rk.maxout_backward(dy, bad, k, axis=-1)


@pytest.mark.parametrize("axis", (1, -1))
@pytest.mark.parametrize("k", (2, 4))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_arrays_past_the_caches(dtype, k, axis):
    # past 4 MiB the kernels add prefetch hints: for the next chunk of groups
    # side by side, and for the rows of the next group (of odd length here),
    # the next outer row's first group after the last
    shape = (9, 8, 29, 1031) if axis == 1 else (9, 29, 1031, 8)
    x = array(dtype, shape, seed=k)
    assert x.nbytes >= 4 << 20
    y, idx = rk.maxout(x, k, axis=axis)
    y_twin, idx_twin = ref.maxout(x, k, axis=axis)
    assert_same(y, y_twin)
    assert_same(idx, idx_twin)


HALF_EDGE_BITS = (0x0000, 0x8000, 0x0001, 0x8001, 0x3c00, 0xbc00, 0x7bff, 0xfbff,
                  0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00, 0xffff)


@pytest.mark.parametrize("edge", HALF_EDGE_BITS, ids=hex)
def test_float16_every_bit_pattern_against_the_edges(edge):
    """float16 maxout orders the stored bits without converting them: every
    pattern meets each edge value (zeros, subnormals, infinities, NaNs of
    either sign and payload) first and second, in long rows of members
    (contiguous and strided) and in groups side by side."""
    every = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    same = np.full_like(every, edge)
    for pair in ((every, same), (same, every)):
        rows = np.stack(pair).view(np.float16)               # members are rows
        side_by_side = np.ascontiguousarray(rows.T)          # groups along the last axis
        strided = np.repeat(rows, 2, axis=1)[:, ::2]         # rows, group by group
        for x, axis in ((rows, 0), (side_by_side, -1), (strided, 0)):
            for actual, expected in zip(rk.maxout(x, 2, axis=axis), ref.maxout(x, 2, axis)):
                assert_same(actual, expected)


@pytest.mark.parametrize("k", (2, 4))
def test_float16_groups_side_by_side_among_edges(k):
    """Groups side by side in long runs (the channels-last kernels, a vector
    step of groups at a time at AVX2 and AVX-512, then the rest), half of
    their members edge values:
    NaNs of either sign and several payloads meet each other, zeros and
    infinities."""
    rng = np.random.default_rng(k)
    edges = np.array(HALF_EDGE_BITS + (0x7c02, 0xfc02, 0x7fff, 0x7e01), dtype=np.uint16)
    shape = (515, 8 * k)
    bits = np.where(rng.random(shape) < 0.5, rng.choice(edges, shape),
                    rng.integers(0, 2**16, shape, dtype=np.uint16))
    x = bits.view(np.float16)
    for case in (x, np.ascontiguousarray(x[:, :-k]), x[:, :-k]):
        for actual, expected in zip(rk.maxout(case, k, axis=-1), ref.maxout(case, k, -1)):
            assert_same(actual, expected)


@pytest.mark.parametrize("k", (2, 4))
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_groups_side_by_side_among_edges(dtype, k):
    """Groups side by side in long runs (the channels-last kernels, several
    groups a vector step, then the rest), most members edge values: ties of
    equal values and of -0.0 against +0.0, infinities, and NaNs of either
    sign and several payloads, which the first of them wins as stored."""
    rng = np.random.default_rng(k)
    info = np.finfo(dtype)
    uint = np.dtype(f"u{np.dtype(dtype).itemsize}")
    quiet = np.array(np.nan, dtype).view(uint)
    sign = uint.type(1) << uint.type(8 * uint.itemsize - 1)
    nans = np.array([quiet, quiet | sign, quiet + 1, quiet + 3 | sign], uint).view(dtype)
    edges = np.concatenate([nans, np.array(
        [0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, info.max, -info.max,
         info.smallest_subnormal, -info.smallest_subnormal], dtype)])
    shape = (257, 16 * k + 3 * k)
    x = np.where(rng.random(shape) < 0.8, rng.choice(edges, shape),
                 rng.standard_normal(shape).astype(dtype))
    for case in (x, np.ascontiguousarray(x[:, :-k]), x[:, :-k], x[1::2]):
        y, idx = rk.maxout(case, k, axis=-1)
        y_twin, idx_twin = ref.maxout(case, k, -1)
        assert_same(idx, idx_twin)
        assert_same(y.view(uint), y_twin.view(uint))     # NaN payloads too


@pytest.mark.parametrize("k", [3, 4, 5, 8])
def test_float16_random_bit_patterns(k):
    bits = np.random.default_rng(k).integers(0, 2**16, (k, 3000), dtype=np.uint16)
    rows = bits.view(np.float16)
    for x, axis in ((rows, 0), (np.ascontiguousarray(rows.T), -1)):
        for actual, expected in zip(rk.maxout(x, k, axis=axis), ref.maxout(x, k, axis)):
            assert_same(actual, expected)
