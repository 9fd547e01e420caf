"""Property tests: random shapes, layouts and values (hypothesis) against the twins."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rectkern as rk
from rectkern import _reference as ref

from ._arrays import ELEMENTWISE, assert_matches_twin, assert_same, op_id, op_inputs

settings.register_profile("rectkern", max_examples=150, deadline=None)
settings.load_profile("rectkern")

float_dtypes = st.sampled_from([np.float16, np.float32, np.float64])


@st.composite
def activations(draw, min_dims=1, max_dims=4):
    """An array of any float dtype and shape, in a random view layout."""
    dtype = draw(float_dtypes)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0,
                                  max_side=9))
    data = draw(hnp.arrays(dtype, shape, elements=st.floats(
        allow_nan=True, allow_infinity=True, width=np.dtype(dtype).itemsize * 8)))
    view = draw(st.sampled_from(["C", "F", "reversed", "transposed"]))
    if view == "F":
        data = np.asfortranarray(data)
    elif view == "reversed":
        data = data[::-1]
    elif view == "transposed":
        data = np.ascontiguousarray(data.T).T
    return data


@pytest.mark.parametrize("op", ELEMENTWISE, ids=op_id)
@given(x=activations(), data=st.data())
def test_elementwise_ops(op, x, data):
    dy = x[::-1] if x.ndim == 1 else x * 0.5
    inputs = op_inputs(op, x, dy)
    params = data.draw(st.tuples(*[st.floats(-4, 4, width=32) for _ in op.params]))
    with np.errstate(all="ignore"):
        actual = getattr(rk, op.name)(*inputs, *params)
        expected = getattr(ref, op.name)(*inputs, *params)
    assert_matches_twin(op, actual, expected, inputs)


@given(activations(min_dims=1), st.data())
def test_prelu_ops(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    alpha = data.draw(hnp.arrays(np.float64, x.shape[axis], elements=st.floats(-2, 2)))
    dy = np.roll(x, 1)
    assert_same(rk.prelu(x, alpha, axis=axis), ref.prelu(x, alpha, axis=axis))
    dx, dalpha = rk.prelu_backward(dy, x, alpha, axis=axis)
    with np.errstate(invalid="ignore", over="ignore"):
        dx_twin, dalpha_twin = ref.prelu_backward(dy, x, alpha, axis=axis)
    assert_same(dx, dx_twin)
    assert_same(dalpha, dalpha_twin)


@given(activations(min_dims=1), st.data())
def test_bias_act_ops(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    activation = data.draw(st.sampled_from(["identity", "relu", "leaky_relu", "prelu"]))
    bias = data.draw(hnp.arrays(np.float64, x.shape[axis], elements=st.floats(-2, 2)))
    alpha = {"leaky_relu": 0.1, "prelu": bias[::-1] / 2}.get(activation)
    dy = np.roll(x, 1)
    with np.errstate(invalid="ignore", over="ignore"):
        assert_same(rk.bias_act(x, bias, activation, alpha=alpha, axis=axis),
                    ref.bias_act(x, bias, activation, alpha, axis))
        grads = rk.bias_act_backward(dy, x, bias, activation, alpha=alpha, axis=axis)
        twins = ref.bias_act_backward(dy, x, bias, activation, alpha, axis)
    assert len(grads) == len(twins)
    for got, expected in zip(grads, twins):
        assert_same(got, expected)


@given(activations(min_dims=1), st.data())
def test_maxout_ops(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    length = x.shape[axis]
    k = data.draw(st.sampled_from([d for d in range(1, length + 1) if length % d == 0]
                                  or [1, 2, 5]))
    y, idx = rk.maxout(x, k, axis=axis)
    y_twin, idx_twin = ref.maxout(x, k, axis=axis)
    assert_same(y, y_twin)
    assert_same(idx, idx_twin)
    assert_same(rk.maxout_backward(y, idx, k, axis=axis),
                ref.maxout_backward(y, idx, k, axis=axis))
