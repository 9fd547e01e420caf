"""The one array generator of the test suite, and the bit-exact comparison.

Every case is (dtype, shape, layout): values come from a seeded generator
with the edge values of the contract sprinkled in (NaN, +-0, +-inf, +-1,
tiny and huge), so the same case always holds the same data.  Layouts give
the same values in other memory orders: C, Fortran, transposed, sliced with
a step, and reversed (negative strides).
"""

from __future__ import annotations

import zlib

import numpy as np

from rectkern import _reference as ref

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
LAYOUTS = ("C", "F", "transposed", "sliced", "reversed")

# ranks 1-5; sizes 0, 1, around SIMD widths (8, 16, 32 lanes) and with tails
SHAPES = (
    (0,), (1,), (7,), (8,), (17,), (33,), (64,), (131,), (1000,),
    (0, 4), (4, 0), (1, 1), (3, 5), (16, 9), (2, 65),
    (2, 3, 5), (4, 1, 33), (3, 8, 8),
    (2, 4, 3, 5), (1, 6, 2, 17), (2, 3, 0, 4),
    (2, 2, 3, 2, 5), (1, 4, 1, 2, 9),
)

EDGE_VALUES = (0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-7, -1e-7, 3e4, -3e4)


def _seed(*key):
    return zlib.crc32(repr(key).encode())


def values(shape, dtype, seed=0, edge_fraction=0.15):
    """C-ordered data: standard normal with edge values sprinkled in."""
    rng = np.random.default_rng(_seed(shape, str(dtype), seed))
    data = rng.standard_normal(shape) * 3
    mask = rng.random(shape) < edge_fraction
    data[mask] = rng.choice(np.array(EDGE_VALUES), size=int(mask.sum()))
    with np.errstate(over="ignore", under="ignore"):
        return data.astype(dtype)


def in_layout(data, layout):
    """The same values as ``data`` in the given memory layout."""
    shape = data.shape
    if layout == "C":
        out = np.empty(shape, data.dtype)
    elif layout == "F":
        out = np.empty(shape, data.dtype, order="F")
    elif layout == "transposed":
        out = np.empty(shape[::-1], data.dtype).T
    elif layout == "sliced":
        base = np.empty(shape[:-1] + (2 * shape[-1] + 1,), data.dtype) if shape else None
        out = base[..., 1::2] if shape else np.empty((), data.dtype)
    elif layout == "reversed":
        out = np.empty(shape, data.dtype)[tuple(slice(None, None, -1) for _ in shape)]
    else:
        raise ValueError(layout)
    out[...] = data
    return out


def array(dtype, shape, layout="C", seed=0):
    return in_layout(values(shape, dtype, seed), layout)


def cases(shapes=SHAPES, dtypes=FLOAT_DTYPES, layouts=LAYOUTS):
    """(dtype, shape, layout) triples, for pytest.mark.parametrize."""
    return [(np.dtype(d), s, lay) for d in dtypes for s in shapes for lay in layouts
            if not (lay != "C" and len(s) == 1 and lay in ("F", "transposed"))]


def case_id(case):
    dtype, shape, layout = case
    return f"{dtype}-{'x'.join(map(str, shape))}-{layout}"


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def assert_same(actual, expected):
    """Equal shape, dtype and bits (so -0.0 != +0.0); any NaN matches any NaN."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if actual.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected)
        return
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    np.testing.assert_array_equal(nan_a, nan_e, err_msg="NaN positions differ")
    bits_a, bits_e = _bits(actual)[~nan_a], _bits(expected)[~nan_e]
    if not np.array_equal(bits_a, bits_e):
        bad = np.flatnonzero(bits_a != bits_e)[:5]
        raise AssertionError(
            f"bits differ at {len(np.flatnonzero(bits_a != bits_e))} places, e.g. "
            f"actual {actual[~nan_a][bad]} expected {expected[~nan_e][bad]}")


def assert_dalpha_close(actual, expected, dy, x, axis, shared):
    """Within 1e-12 * sum |x * dy| of each channel, plus one rounding to
    dalpha's dtype (float32 or float16 alpha); NaN and inf exactly.

    A channel whose finite terms sum past float64's range is left out: there
    an infinity, or a NaN from adding opposite infinities, depends on the
    order of the sum, and the twin's ``np.sum`` adds in another order.
    """
    dy, x = np.asarray(dy), np.asarray(x)
    dtype = ref.result_dtype(dy, x)
    x64 = x.astype(dtype).astype(np.float64)
    dy64 = dy.astype(dtype).astype(np.float64)
    others = None if shared else tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.abs(np.where(x64 < 0, x64 * dy64, 0.0))
        scale = np.asarray(terms.sum(axis=others)).reshape(np.shape(expected))
        finite_part = np.where(np.isfinite(terms), terms, 0.0).sum(axis=others)
    checked = np.isfinite(np.asarray(finite_part).reshape(np.shape(expected)))
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    actual, expected, scale = actual[checked], expected[checked], scale[checked]
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(actual[~finite], expected[~finite])
    error = np.abs(actual[finite].astype(np.float64) - expected[finite])
    rounding = 0.0
    if expected.dtype != np.float64:         # one rounding of the float64 sum
        with np.errstate(over="ignore"):     # spacing of the largest float: inf
            rounding = np.spacing(np.abs(expected[finite])).astype(np.float64)
    assert np.all(error <= 1e-12 * scale[finite] + rounding), (actual, expected)
