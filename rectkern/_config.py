"""What rectkern was built with and which kernels it runs: show_config()."""

from __future__ import annotations

import platform
import sys
from typing import Any, TextIO

import numpy as np

from . import _ext
from ._version import __version__

__all__ = ["config", "show_config"]

# the elementwise ops (the registry's rows), then the fused ops
OPS = tuple(op.name for op in _ext.ELEMENTWISE) + (
    "prelu", "prelu_backward", "maxout", "maxout_backward", "rrelu", "rrelu_backward",
    "bias_act", "bias_act_backward",
    "optim.SGD", "optim.Adagrad", "optim.Adadelta", "optim.RMSprop", "optim.Adam",
    "optim.AdamW", "optim.clip_grad_norm")


def config() -> dict[str, Any]:
    """The build and runtime configuration, as a dict.

    Returns
    -------
    dict
        ``version``, ``numpy``, ``python``, ``platform``; ``compiler`` and
        ``build_flags`` (per instruction-set level compiled); ``cpu_features``
        and ``cpu_level`` (the best level this CPU and OS run);
        ``requested_level`` (``$RECTKERN_CPU``, or ``""``), ``level`` (in
        use), ``float16_conversions``, and ``kernels``: the level each op
        runs at.

    Examples
    --------
    >>> import rectkern as rk
    >>> info = rk.config()
    >>> info["level"] in info["build_flags"]
    True
    """
    return {
        "version": __version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.machine()}",
        "compiler": _ext.COMPILER,
        "build_flags": dict(_ext.BUILD_FLAGS),
        "cpu_features": _ext.CPU_FEATURES,
        "cpu_level": _ext.CPU_LEVEL,
        "requested_level": _ext.REQUESTED_LEVEL,
        "level": _ext.LEVEL,
        "float16_conversions": _ext.HALF_CONVERSION,
        "kernels": {op: _ext.LEVEL for op in OPS},
    }


def show_config(file: TextIO | None = None) -> None:
    """Print how rectkern was built and which kernels it runs.

    Like `numpy.show_config`: the version, the compiler and the flags of
    each instruction-set level compiled (baseline, and AVX2 and AVX-512 on
    x86-64), the CPU features found, and the level each op runs at.  The
    level is chosen once at import: the best the CPU supports, or lower if
    the environment variable ``RECTKERN_CPU`` (``baseline``, ``avx2``,
    ``avx512``) says so.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default: ``sys.stdout``).

    Examples
    --------
    >>> import io
    >>> import rectkern as rk
    >>> buffer = io.StringIO()
    >>> rk.show_config(file=buffer)
    >>> buffer.getvalue().splitlines()[0].startswith("rectkern")
    True
    """
    info = config()
    out = file if file is not None else sys.stdout
    requested = info["requested_level"]
    lines = [
        f"rectkern {info['version']} (numpy {info['numpy']}, python {info['python']}, "
        f"{info['platform']})",
        f"compiler: {info['compiler']}",
        "build flags:",
        *(f"  {level:<9} {flags}" for level, flags in info["build_flags"].items()),
        f"CPU features: {info['cpu_features']}",
        f"CPU level: {info['cpu_level']}",
        f"RECTKERN_CPU: {requested or '(unset)'}",
        f"level in use: {info['level']} (float16 conversions: "
        f"{info['float16_conversions']})",
        "kernels:",
        *(f"  {op:<20} {level}" for op, level in info["kernels"].items()),
    ]
    print("\n".join(lines), file=out)
