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
or wider and rounded to float16."""

_ALPHA_DTYPE = """\
``alpha`` never changes the result dtype: it is applied as float32 for
float16 and float32 activations, as float64 for float64 ones."""

_ACCURACY = """\
Computed without the C library's math functions, the same bits at every
instruction-set level.  float16 is evaluated in float64, rounded to
float32 and then to float16.  float32 is evaluated in float64 and rounded
once, but for ELU and SELU (both directions) and softplus's gradient,
which compute in float32 arithmetic (the gradients' far tails, x < -87,
in float64).  The largest errors, measured against correctly rounded
results, are in the README."""


def _smooth(name, forward, gradient, summary, params="", edges="", example="",
            gradient_example=""):
    """The docstrings of a smooth activation and of its gradient."""
    signature = "x" + (", alpha" if params else "")
    param_text = f"alpha : array_like\n    {params}\n" if params else ""
    alpha_note = f"  {_ALPHA_DTYPE}" if params else ""
    return {
        name: f"""\
{summary}, elementwise: ``{forward}``.

Parameters
----------
x : array_like
    Input activations.
{param_text}{_UFUNC_KWARGS}

Returns
-------
y : ndarray or scalar
    ``{name}({signature})``; NaN stays NaN.{edges}

See Also
--------
{name}_backward

Notes
-----
{_DTYPES}{alpha_note}

{_ACCURACY}

Examples
--------
>>> import numpy as np
>>> import rectkern as rk
{example}""",
        f"{name}_backward": f"""\
Gradient of `{name}`: ``dx = dy * ({gradient})``, elementwise.

Parameters
----------
dy : array_like
    Gradient of the loss with respect to ``{name}({signature})``.
x : array_like
    The input of the forward pass.
{param_text}{_UFUNC_KWARGS}

Returns
-------
dx : ndarray or scalar
    NaN where ``dy`` or ``x`` is NaN.

See Also
--------
{name}

Notes
-----
{_DTYPES}  The dtype is ``np.result_type(dy, x)``.{alpha_note}

{_ACCURACY}

Examples
--------
>>> import numpy as np
>>> import rectkern as rk
>>> rk.{name}_backward(np.ones(3), np.array([-1.0, 0.0, 2.0]){", 1.0" if params else ""})
{gradient_example}
""",
    }


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

DOCS.update(_smooth(
    "elu", "x > 0 ? x : alpha * expm1(x)", "x > 0 ? 1 : alpha * exp(x)",
    "Exponential linear unit (Clevert et al., 2015)",
    params="Scale of the negative part (1.0 in PyTorch); broadcast against ``x``.",
    edges="  ``elu(-inf, alpha) == -alpha``, ``elu(-0.0)`` is ``-0.0``.",
    example=""">>> rk.elu(np.array([-1.0, 0.0, 2.0]), 1.0)
array([-0.63212056,  0.        ,  2.        ])
""",
    gradient_example="array([0.36787944, 1.        , 1.        ])"))
DOCS.update(_smooth(
    "selu", "scale * (x > 0 ? x : alpha * expm1(x))",
    "scale * (x > 0 ? 1 : alpha * exp(x))",
    "Scaled exponential linear unit (Klambauer et al., 2017), with PyTorch's "
    "constants\nalpha = 1.6732632423543772848 and scale = 1.0507009873554804934",
    edges="  ``selu(-inf) == -scale * alpha``.",
    example=""">>> rk.selu(np.array([-1.0, 0.0, 2.0]))
array([-1.11133074,  0.        ,  2.10140197])
""",
    gradient_example="array([0.6467686 , 1.75809934, 1.05070099])"))
DOCS.update(_smooth(
    "gelu", "x * Phi(x)", "Phi(x) + x * phi(x)",
    "Gaussian error linear unit (Hendrycks and Gimpel, 2016), the exact\n"
    "form: Phi is the standard normal distribution function, ``Phi(x) =\n"
    "erfc(-x / sqrt(2)) / 2``, and phi its density",
    edges="  ``gelu(-inf)`` is ``-0.0``; deep in the negative tail the result\n"
          "    underflows gradually to ``-0.0``.",
    example=""">>> rk.gelu(np.array([-1.0, 0.0, 2.0]))
array([-0.15865525,  0.        ,  1.95449974])
""",
    gradient_example="array([-0.08331547,  0.5       ,  1.0852318 ])"))
DOCS.update(_smooth(
    "gelu_tanh", "x * (1 + tanh(u)) / 2", "d/dx of it",
    "GELU, tanh approximation (PyTorch's ``approximate='tanh'``), with\n"
    "``u = sqrt(2 / pi) * (x + 0.044715 * x**3)``; ``(1 + tanh(u)) / 2`` is\n"
    "evaluated as ``1 / (1 + exp(-2 u))``, which does not cancel",
    edges="  ``gelu_tanh(-inf)`` is ``-0.0``.",
    example=""">>> rk.gelu_tanh(np.array([-1.0, 0.0, 2.0]))
array([-0.15880801,  0.        ,  1.95459769])
""",
    gradient_example="array([-0.08296408,  0.5       ,  1.08609926])"))
DOCS.update(_smooth(
    "silu", "x * sigmoid(x)", "s * (1 + x * (1 - s)), s = sigmoid(x)",
    "Sigmoid linear unit (swish with beta 1; Elfwing et al., 2017)",
    edges="  ``silu(-inf)`` is ``-0.0``.",
    example=""">>> rk.silu(np.array([-1.0, 0.0, 2.0]))
array([-0.26894142,  0.        ,  1.76159416])
""",
    gradient_example="array([0.07232949, 0.5       , 1.09078425])"))
DOCS.update(_smooth(
    "softplus", "log(1 + exp(x))", "sigmoid(x)",
    "Softplus (beta 1), evaluated as ``max(x, 0) + log1p(exp(-|x|))``: no\n"
    "overflow, and exactly ``x`` wherever that is the correctly rounded result",
    edges="  ``softplus(-inf) == 0.0``, ``softplus(inf) == inf``.",
    example=""">>> rk.softplus(np.array([-1.0, 0.0, 2.0]))
array([0.31326169, 0.69314718, 2.12692801])
""",
    gradient_example="array([0.26894142, 0.5       , 0.88079708])"))

# Collected by pytest --doctest-modules: the ufunc docstrings as written.
__test__ = DOCS
