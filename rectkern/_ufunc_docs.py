"""Docstrings of the rectkern ufuncs (NumPy prepends the call signature)."""

_UFUNC_KWARGS = """\
out : ndarray, None, or tuple of ndarray and None, optional
    A location into which the result is stored; may be an input itself
    (in place).  Partial overlap with an input is handled.
where : array_like, optional
    Where False, ``out`` keeps its value (see `numpy.ufunc`).
**kwargs
    For other keyword-only arguments, see the `ufunc docs
    <https://numpy.org/doc/stable/reference/ufuncs.html#ufuncs-kwargs>`_."""

_DTYPES = """\
The result has the dtype of the activations: float16, float32 or float64
(bool and integer inputs are cast as `numpy.exp` casts them; complex,
object and other dtypes raise TypeError).  float16 is computed in float32
and rounded once."""

_ALPHA_DTYPE = """\
``alpha`` never changes the result dtype: it is applied as float32 for
float16 and float32 activations, as float64 for float64 ones."""

DOCS = {
    "relu": f"""\
Rectified linear unit, elementwise: ``x > 0 ? x : +0.0``.

Parameters
----------
x : array_like
    Input activations.
{_UFUNC_KWARGS}

Returns
-------
y : ndarray or scalar
    ``max(x, 0)`` with NaN propagated and ``relu(-0.0) == +0.0``.

See Also
--------
relu_backward, leaky_relu

Notes
-----
{_DTYPES}

Examples
--------
>>> import numpy as np
>>> import rectkern as rk
>>> rk.relu(np.array([-2.0, -0.0, 0.5, np.nan]))
array([0. , 0. , 0.5, nan])
""",
    "relu_backward": f"""\
Gradient of `relu`: ``dx = x > 0 ? dy : 0``, elementwise.

Parameters
----------
dy : array_like
    Gradient of the loss with respect to ``relu(x)``.
x : array_like
    The input of the forward pass; ``relu(x)`` gives the same result.
{_UFUNC_KWARGS}

Returns
-------
dx : ndarray or scalar
    The gradient selected, not multiplied: a NaN in ``dy`` reaches ``dx``
    only where ``x > 0``.  A NaN in ``x`` gives NaN.  At ``x == 0`` the
    gradient is 0.

See Also
--------
relu

Notes
-----
{_DTYPES}  The dtype is ``np.result_type(dy, x)``.

Examples
--------
>>> import numpy as np
>>> import rectkern as rk
>>> x = np.array([-1.0, 0.0, 2.0, np.nan])
>>> rk.relu_backward(np.array([5.0, 5.0, 5.0, 5.0]), x)
array([ 0.,  0.,  5., nan])
""",
    "leaky_relu": f"""\
Leaky rectifier, elementwise: ``x > 0 ? x : alpha * x``.

``leaky_relu(x, -1.0)`` is absolute-value rectification, and an ``alpha``
of shape ``(C, 1, 1)`` broadcast against NCHW data is PReLU forward.

Parameters
----------
x : array_like
    Input activations.
alpha : array_like
    Negative slope; broadcast against ``x``.
{_UFUNC_KWARGS}

Returns
-------
y : ndarray or scalar
    ``x`` where ``x > 0``, else ``alpha * x`` (so ``-0.0`` gives
    ``alpha * -0.0`` and NaN stays NaN).  ``leaky_relu(x, 0.0)`` follows
    the formula (``-inf * 0`` is NaN), so it is not bitwise `relu`.

See Also
--------
leaky_relu_backward, prelu

Notes
-----
{_DTYPES}  {_ALPHA_DTYPE}

Examples
--------
>>> import numpy as np
>>> import rectkern as rk
>>> rk.leaky_relu(np.array([-2.0, 3.0]), 0.1)
array([-0.2,  3. ])
>>> rk.leaky_relu(np.array([-2.0, 3.0]), -1.0)     # |x|
array([2., 3.])
""",
    "leaky_relu_backward": f"""\
Gradient of `leaky_relu`: ``dx = x > 0 ? dy : alpha * dy``, elementwise.

Parameters
----------
dy : array_like
    Gradient of the loss with respect to ``leaky_relu(x, alpha)``.
x : array_like
    The input of the forward pass (the output gives the same result
    only when ``alpha >= 0``).
alpha : array_like
    Negative slope; broadcast against ``dy`` and ``x``.
{_UFUNC_KWARGS}

Returns
-------
dx : ndarray or scalar
    ``dy`` where ``x > 0``, ``alpha * dy`` where ``x <= 0`` (including
    ``x == 0``), NaN where ``x`` is NaN.

See Also
--------
leaky_relu, prelu_backward

Notes
-----
{_DTYPES}  The dtype is ``np.result_type(dy, x)``.  {_ALPHA_DTYPE}

Examples
--------
>>> import numpy as np
>>> import rectkern as rk
>>> x = np.array([-2.0, 0.0, 3.0])
>>> rk.leaky_relu_backward(np.ones(3), x, 0.1)
array([0.1, 0.1, 1. ])
""",
}

# Collected by pytest --doctest-modules: the ufunc docstrings as written.
__test__ = DOCS
