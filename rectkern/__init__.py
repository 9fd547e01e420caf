"""rectkern: fused rectifier-activation kernels for NumPy.

Elementwise ops are `numpy.ufunc` objects with C inner loops: `relu`,
`relu_backward`, `leaky_relu`, `leaky_relu_backward` (``leaky_relu(x, -1.0)``
is absolute-value rectification).  The fused ops run one pass over the
data: `prelu` / `prelu_backward` (dx and the per-channel slope gradient
together), `maxout` / `maxout_backward` (max and argmax together) and
`bias_act` / `bias_act_backward` (an activation of ``z + bias``, and in
backward the bias gradient with dz).
`rectkern.init` holds He and Glorot initialisers, `rectkern.optim` the
optimisers' update steps (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW) as
fused kernels; `show_config` tells which
kernels (baseline, AVX2, AVX-512) this machine runs.
"""

from . import _elementwise, init, optim
from ._bias_act import bias_act, bias_act_backward
from ._config import config, show_config
from ._elementwise import *  # noqa: F403  (the registry's ufuncs)
from ._ops import maxout, maxout_backward, prelu, prelu_backward, rrelu, rrelu_backward
from ._version import __version__

__all__ = [
    "__version__",
    "bias_act",
    "bias_act_backward",
    "config",
    "init",
    "maxout",
    "maxout_backward",
    "optim",
    "prelu",
    "prelu_backward",
    "rrelu",
    "rrelu_backward",
    "show_config",
]
__all__ += _elementwise.__all__
