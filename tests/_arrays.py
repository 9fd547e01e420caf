"""The one array generator of the test suite, the registry of elementwise
ops with sample parameters, and the comparisons against the twins.

Every case is (dtype, shape, layout): values come from a seeded generator
with the edge values of the contract sprinkled in (NaN, +-0, +-inf, +-1,
tiny and huge), so the same case always holds the same data.  Layouts give
the same values in other memory orders: C, Fortran, transposed, sliced with
a step, and reversed (negative strides).
"""

from __future__ import annotations

import zlib

import numpy as np

import rectkern as rk
from rectkern import _ext
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


# -- the elementwise ops: one row each in the registry (src_c/rk_ops.h) --------

ELEMENTWISE = _ext.ELEMENTWISE

# Sample values of alpha per family: the rectifiers' include abs
# rectification (-1), 0 (not bitwise relu) and NaN; ELU's alpha is a scale.
ALPHAS = {
    "rectifier": (0.01, 0.25, -1.0, 0.0, 1.5, np.nan),
    "smooth": (1.0, 0.1, 1.5, np.nan),
}


def op_params(op):
    """Sample parameter tuples for a registry op: one per value of alpha, or
    the empty tuple alone for an op without parameters."""
    if not op.params:
        return ((),)
    return tuple((alpha,) for alpha in ALPHAS[op.family])


def op_inputs(op, x, dy):
    """The op's positional inputs: (x,) or (dy, x)."""
    return tuple({"x": x, "dy": dy}[name] for name in op.inputs)


def call_op(op, x, dy):
    """The registry op's ufunc on x (and dy) with its first sample parameters."""
    return getattr(rk, op.name)(*op_inputs(op, x, dy), *op_params(op)[0])


def op_id(op, params=()):
    """A pytest id: the op's name, then its parameters."""
    return "-".join([op.name, *map(str, params)])


# The smooth family against its twin, in ULPs of the result dtype: room
# above the accuracy targets (2 forward, 4 backward; DESIGN.md 1b) for the
# twin's own rounding, and float16's one double rounding (through float32).
# float64's twins compute in long double: where that is float64 itself
# (MSVC, macOS arm64) they are only as good as a textbook formula.
SMOOTH_ULPS = {np.dtype(np.float16): 1, np.dtype(np.float32): 4,
               np.dtype(np.float64): 8 if np.finfo(np.longdouble).nmant > 52 else 256}


# The gradients whose value crosses zero (near x = -0.75 for the GELU forms,
# -1.28 for SiLU): for -2 <= x <= 0 an error is measured against
# ulp(2**-10 * |dy|) at least, as the accuracy contract says (DESIGN.md 1b).
GRADIENT_ZERO = frozenset({"gelu_backward", "gelu_tanh_backward", "silu_backward"})


def _gradient_floor(op, dtype, inputs):
    """The smallest unit of error at each element, or None."""
    if op.name not in GRADIENT_ZERO or len(inputs) != 2:
        return None
    dy, x = (np.asarray(a, np.float64) for a in inputs)
    with np.errstate(all="ignore"):
        floor = np.spacing((np.abs(dy) * 2.0**-10).astype(dtype)).astype(np.float64)
    return np.where((x >= -2) & (x <= 0), floor, 0.0)


def assert_matches_twin(op, actual, expected, inputs=()):
    """A registry op's result against its twin's: bit for bit for the
    rectifiers (selects and one product), within SMOOTH_ULPS for the smooth
    family.  ``inputs`` (the op's positional inputs) let a gradient near its
    zero be measured as the contract measures it; the sign of a gradient's
    zero, which underflow decides, is not compared."""
    if op.family == "rectifier":
        assert_same(actual, expected)
    elif op.family == "smooth":
        actual = np.asarray(actual)
        floor = _gradient_floor(op, actual.dtype, inputs)
        if floor is not None:
            floor = np.broadcast_to(floor, actual.shape)
        assert_within_ulps(actual, expected, SMOOTH_ULPS[actual.dtype], floor=floor,
                           signed_zeros=len(op.inputs) == 1)
    else:
        raise AssertionError(f"{op.name}: no comparison for family {op.family!r}")


def ulps_apart(actual, expected):
    """|actual - expected| in ULPs of their dtype: the distance between the
    bit patterns in the order of the values (through zero for opposite
    signs; -0.0 and +0.0 are 0 apart).  Finite values only."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    sign = np.uint64(1 << (8 * actual.dtype.itemsize - 1))
    a, e = _bits(actual).astype(np.uint64), _bits(expected).astype(np.uint64)
    mag_a, mag_e = a & (sign - np.uint64(1)), e & (sign - np.uint64(1))
    same_sign = (a & sign) == (e & sign)
    # below 2**64: the largest finite magnitudes are below 2**63
    return np.where(same_sign, np.maximum(mag_a, mag_e) - np.minimum(mag_a, mag_e),
                    mag_a + mag_e)


def assert_within_ulps(actual, expected, ulps, floor=None, signed_zeros=True):
    """Equal shape and dtype, NaN at the same places, the same infinities,
    zeros where both are zero with the same sign (if signed_zeros); every
    other value within ``ulps`` ULPs of the expected one (across zero, the
    distance of the bit patterns), or within ``ulps * floor`` where a floor
    is given."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype.kind == "f", actual.dtype
    actual, expected = actual.ravel(), expected.ravel()
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    np.testing.assert_array_equal(nan_a, nan_e, err_msg="NaN positions differ")
    inf = np.isinf(actual) | np.isinf(expected)
    np.testing.assert_array_equal(actual[inf], expected[inf], err_msg="infinities differ")
    # zeros keep their sign; a tiny result beside a zero counts its distance
    both_zero = (expected == 0) & (actual == 0)
    if signed_zeros:
        np.testing.assert_array_equal(np.signbit(actual[both_zero]),
                                      np.signbit(expected[both_zero]),
                                      err_msg="zeros differ in sign")
    rest = ~(nan_e | inf | both_zero)
    apart = ulps_apart(actual[rest], expected[rest])
    within = apart <= ulps
    if floor is not None:
        error = np.abs(actual[rest].astype(np.float64) - expected[rest].astype(np.float64))
        within |= error <= ulps * np.asarray(floor).ravel()[rest]
    bad = np.flatnonzero(~within)
    if bad.size:
        worst = bad[np.argsort(apart[bad])[::-1][:5]]
        raise AssertionError(
            f"{bad.size} values more than {ulps} ULP from the twin's, e.g. actual "
            f"{actual[rest][worst]} expected {expected[rest][worst]} "
            f"({apart[worst]} ULP)")


# -- bias_act ------------------------------------------------------------------

def bias_act_expected(*args, alpha=None, axis=-1):
    """What bias_act(z, bias, activation) or its backward (dy first) must
    give, as the contract has it: rectkern's own op on s = z + bias in the
    compute type (the ops are tested against their twins), and the exact
    sums (dbias of that dz, dalpha the twin's)."""
    *arrays, activation = args
    arrays = [np.asarray(a) for a in arrays]
    with np.errstate(all="ignore"):
        return _bias_act_expected(arrays, activation, alpha, axis % arrays[-2].ndim)


def _bias_act_expected(arrays, activation, alpha, axis):
    z, bias = arrays[-2:]
    dtype = ref.result_dtype(*arrays)
    s = ref.bias_preactivation(z, bias, axis, dtype)
    forward, backward, takes_alpha = ref.BIAS_ACTIVATIONS[activation]
    params = (alpha,) if takes_alpha else ()
    if len(arrays) == 2:
        if forward is None:
            return s.astype(dtype)
        if activation == "prelu":
            return rk.prelu(s, alpha, axis=axis).astype(dtype)
        return getattr(rk, forward)(s, *params).astype(dtype)
    g = ref._compute(arrays[0], dtype)
    if backward is None:
        dz = g.astype(dtype)
    elif activation == "prelu":
        dz = rk.prelu_backward(g, s, alpha, axis=axis)[0].astype(dtype)
    else:
        dz = getattr(rk, backward)(g, s, *params).astype(dtype)
    sums = ref.bias_act_backward(*arrays, activation, alpha, axis)[1:]
    exact = ref.exact_sum(dz.astype(np.float64), axis).astype(sums[0].dtype)
    return (dz, exact, *sums[1:])
