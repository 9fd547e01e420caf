"""Bad input gets the contract's exception, naming the function and the argument.

Errors raised by NumPy's ufunc machinery itself (broadcasting, casting of
``out``, read-only ``out``) keep NumPy's own messages; the table checks
their exception type.
"""

import numpy as np
import pytest
from numpy.exceptions import AxisError

import rectkern as rk

X = np.linspace(-1, 1, 24).reshape(2, 3, 4)
IDX = np.zeros((2, 3, 2), np.uint8)          # maxout(X, 2, axis=-1) indices
DY_GROUPED = np.ones((2, 3, 2))


def _read_only(shape, dtype=np.float64):
    a = np.zeros(shape, dtype)
    a.flags.writeable = False
    return a


UNSUPPORTED = [np.array([1 + 2j]), np.array([1.0], np.longdouble),
               np.array(["a"]), np.array([b"a"]), np.array([None], object),
               np.array([1], "datetime64[s]"), np.array([1], "timedelta64[s]"),
               None, "text", [1, "a"], {"a": 1}]

BAD_CALLS = [
    # -- ufuncs: unsupported dtypes name the function, the argument and the dtype
    *[(f"relu-x-{i}", lambda v=v: rk.relu(v), TypeError, r"relu: x has unsupported dtype")
      for i, v in enumerate(UNSUPPORTED)],
    ("relu_backward-dy", lambda: rk.relu_backward(np.array([1j]), X),
     TypeError, r"relu_backward: dy has unsupported dtype complex128"),
    ("relu_backward-x", lambda: rk.relu_backward(X, X.astype(object)),
     TypeError, r"relu_backward: x has unsupported dtype object"),
    ("leaky-alpha", lambda: rk.leaky_relu(X, 1j),
     TypeError, r"leaky_relu: alpha has unsupported dtype complex128"),
    ("leaky-alpha-str", lambda: rk.leaky_relu(X, "0.1"),
     TypeError, r"leaky_relu: alpha has unsupported dtype"),
    ("leaky_backward-alpha", lambda: rk.leaky_relu_backward(X, X, np.array([None])),
     TypeError, r"leaky_relu_backward: alpha has unsupported dtype object"),
    ("leaky-missing-alpha", lambda: rk.leaky_relu(X), TypeError, r"leaky_relu"),
    ("ufunc-shape", lambda: rk.relu_backward(np.ones(3), np.ones(4)),
     ValueError, r"broadcast"),
    ("ufunc-out-shape", lambda: rk.relu(np.ones(3), out=np.ones(4)), ValueError,
     r"broadcast"),
    ("ufunc-out-read-only", lambda: rk.relu(X, out=_read_only(X.shape)),
     ValueError, r"read-only"),
    ("ufunc-out-dtype", lambda: rk.relu(X, out=np.empty(X.shape, np.int32)),
     TypeError, r"relu"),

    # -- prelu / prelu_backward
    ("prelu-x", lambda: rk.prelu(X.astype(complex), 0.1),
     TypeError, r"prelu: x has unsupported dtype complex128"),
    ("prelu-alpha", lambda: rk.prelu(X, np.array([1j, 1j, 1j])),
     TypeError, r"prelu: alpha has unsupported dtype complex128"),
    ("prelu-alpha-length", lambda: rk.prelu(X, np.ones(4)),
     ValueError, r"prelu: alpha has 4 values but x has 3 channels along axis 1"),
    ("prelu-alpha-empty", lambda: rk.prelu(X, np.ones(0)),
     ValueError, r"prelu: alpha has 0 values"),
    ("prelu-alpha-2d", lambda: rk.prelu(X, np.ones((3, 1))),
     ValueError, r"prelu: alpha must be a scalar, or 1-d"),
    ("prelu-axis", lambda: rk.prelu(X, np.ones(3), axis=3),
     AxisError, r"prelu: axis 3 is out of bounds"),
    ("prelu-axis-negative", lambda: rk.prelu(X, np.ones(3), axis=-4),
     AxisError, r"prelu: axis -4 is out of bounds"),
    ("prelu-axis-type", lambda: rk.prelu(X, np.ones(3), axis=1.0),
     TypeError, r"prelu: axis must be an integer"),
    ("prelu-out-shape", lambda: rk.prelu(X, 0.1, out=np.empty((2, 3))),
     ValueError, r"prelu: out must have shape \(2, 3, 4\)"),
    ("prelu-out-dtype", lambda: rk.prelu(X, 0.1, out=np.empty(X.shape, np.float32)),
     TypeError, r"prelu: out must have dtype float64, got float32"),
    ("prelu-out-read-only", lambda: rk.prelu(X, 0.1, out=_read_only(X.shape)),
     ValueError, r"prelu: out is read-only"),
    ("prelu-out-type", lambda: rk.prelu(X, 0.1, out=[0.0] * 24),
     TypeError, r"prelu: out must be a numpy.ndarray, got list"),
    ("prelu_backward-dy", lambda: rk.prelu_backward("dy", X, 0.1),
     TypeError, r"prelu_backward: dy has unsupported dtype"),
    ("prelu_backward-x", lambda: rk.prelu_backward(X, X.astype(object), 0.1),
     TypeError, r"prelu_backward: x has unsupported dtype object"),
    ("prelu_backward-shapes", lambda: rk.prelu_backward(X[0], X, 0.1),
     ValueError, r"prelu_backward: dy and x must have the same shape"),
    ("prelu_backward-alpha-length", lambda: rk.prelu_backward(X, X, np.ones(2)),
     ValueError, r"prelu_backward: alpha has 2 values but x has 3 channels"),
    ("prelu_backward-axis", lambda: rk.prelu_backward(X, X, np.ones(3), axis=-5),
     AxisError, r"prelu_backward: axis -5 is out of bounds"),
    ("prelu_backward-out-read-only",
     lambda: rk.prelu_backward(X, X, np.ones(3), out=_read_only(X.shape)),
     ValueError, r"prelu_backward: out is read-only"),
    ("prelu_backward-out-dtype",
     lambda: rk.prelu_backward(X, X, np.ones(3), out=np.empty(X.shape, np.float16)),
     TypeError, r"prelu_backward: out must have dtype float64, got float16"),
    ("prelu_backward-out-shape",
     lambda: rk.prelu_backward(X, X, np.ones(3), out=np.empty(X.shape[::-1])),
     ValueError, r"prelu_backward: out must have shape"),

    # -- maxout / maxout_backward
    ("maxout-x", lambda: rk.maxout(np.array([[1j, 2j]]), 2),
     TypeError, r"maxout: x has unsupported dtype complex128"),
    ("maxout-x-object", lambda: rk.maxout(np.ones((2, 2), object), 2),
     TypeError, r"maxout: x has unsupported dtype object"),
    ("maxout-k-zero", lambda: rk.maxout(X, 0), ValueError, r"maxout: k must be a positive"),
    ("maxout-k-negative", lambda: rk.maxout(X, -3), ValueError, r"maxout: k must be a positive"),
    ("maxout-k-divides", lambda: rk.maxout(X, 2),
     ValueError, r"maxout: k=2 does not divide the length 3 of axis 1"),
    ("maxout-k-huge", lambda: rk.maxout(X, 2**70),
     ValueError, r"maxout: k=\d+ does not divide"),
    ("maxout-k-float", lambda: rk.maxout(X, 3.0), TypeError, r"maxout: k must be an integer"),
    ("maxout-k-bool", lambda: rk.maxout(X, True), TypeError, r"maxout: k must be an integer"),
    ("maxout-k-str", lambda: rk.maxout(X, "3"), TypeError, r"maxout: k must be an integer"),
    ("maxout-axis", lambda: rk.maxout(X, 2, axis=7),
     AxisError, r"maxout: axis 7 is out of bounds"),
    ("maxout-0d", lambda: rk.maxout(np.float64(1), 1), AxisError, r"maxout: axis 1"),
    ("maxout-out-type", lambda: rk.maxout(X, 2, axis=-1, out=np.empty((2, 3, 2))),
     TypeError, r"maxout: out must be a tuple \(y, idx\)"),
    ("maxout-out-idx-dtype",
     lambda: rk.maxout(X, 2, axis=-1, out=(None, np.empty((2, 3, 2), np.int64))),
     TypeError, r"maxout: out\[1\] must have dtype uint8, got int64"),
    ("maxout-out-y-shape", lambda: rk.maxout(X, 2, axis=-1, out=(np.empty(X.shape), None)),
     ValueError, r"maxout: out\[0\] must have shape \(2, 3, 2\)"),
    ("maxout_backward-dy", lambda: rk.maxout_backward(DY_GROUPED.astype(complex), IDX, 2, -1),
     TypeError, r"maxout_backward: dy has unsupported dtype complex128"),
    ("maxout_backward-idx-float", lambda: rk.maxout_backward(DY_GROUPED, IDX * 1.0, 2, -1),
     TypeError, r"maxout_backward: idx must have an integer dtype, got float64"),
    ("maxout_backward-idx-bool", lambda: rk.maxout_backward(DY_GROUPED, IDX > 0, 2, -1),
     TypeError, r"maxout_backward: idx must have an integer dtype, got bool"),
    ("maxout_backward-idx-shape", lambda: rk.maxout_backward(DY_GROUPED, IDX[0], 2, -1),
     ValueError, r"maxout_backward: dy and idx must have the same shape"),
    ("maxout_backward-idx-too-big", lambda: rk.maxout_backward(DY_GROUPED, IDX + 2, 2, -1),
     ValueError, r"maxout_backward: idx has values outside 0 .. k-1 \(k=2\)"),
    ("maxout_backward-idx-negative",
     lambda: rk.maxout_backward(DY_GROUPED, IDX.astype(np.int8) - 1, 2, -1),
     ValueError, r"maxout_backward: idx has values outside 0 .. k-1"),
    ("maxout_backward-k", lambda: rk.maxout_backward(DY_GROUPED, IDX, 0, -1),
     ValueError, r"maxout_backward: k must be a positive"),
    ("maxout_backward-axis", lambda: rk.maxout_backward(DY_GROUPED, IDX, 2, 3),
     AxisError, r"maxout_backward: axis 3 is out of bounds"),
    ("maxout_backward-out-read-only",
     lambda: rk.maxout_backward(DY_GROUPED, IDX, 2, -1, out=_read_only(X.shape)),
     ValueError, r"maxout_backward: out is read-only"),
    ("maxout_backward-out-shape",
     lambda: rk.maxout_backward(DY_GROUPED, IDX, 2, -1, out=np.empty((2, 3, 2))),
     ValueError, r"maxout_backward: out must have shape \(2, 3, 4\)"),
    ("maxout_backward-out-dtype",
     lambda: rk.maxout_backward(DY_GROUPED, IDX, 2, -1, out=np.empty(X.shape, np.float32)),
     TypeError, r"maxout_backward: out must have dtype float64"),
]


@pytest.mark.parametrize("call, exception, match", [row[1:] for row in BAD_CALLS],
                         ids=[row[0] for row in BAD_CALLS])
def test_bad_input_raises(call, exception, match):
    with pytest.raises(exception, match=match):
        call()


def test_axis_error_carries_the_axis_passed():
    with pytest.raises(AxisError) as info:
        rk.maxout(X, 2, axis=-9)
    assert info.value.axis == -9


def test_failed_call_leaves_inputs_and_out_alone():
    dy = DY_GROUPED.copy()
    idx = IDX.copy()
    idx[1, 2, 1] = 5                     # bad value in the last group
    out = np.full(X.shape, 7.0)
    with pytest.raises(ValueError):
        rk.maxout_backward(dy, idx, 2, -1, out=out.copy())
    assert np.array_equal(dy, DY_GROUPED)
    assert np.array_equal(idx[0], IDX[0])
    x = X.copy()
    with pytest.raises(ValueError):
        rk.prelu_backward(x, x, np.ones(2), out=x)
    assert np.array_equal(x, X)
    with pytest.raises(ValueError):
        rk.prelu(x, np.ones(5), out=x)
    assert np.array_equal(x, X)
