"""The elementwise ops, one `numpy.ufunc` per row of the registry
(src_c/rk_ops.h); setup.py writes their type stub from the same rows."""

from . import _ext

__all__ = [op.name for op in _ext.ELEMENTWISE]
globals().update({name: getattr(_ext, name) for name in __all__})
