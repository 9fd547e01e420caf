# Types of the compiled module rectkern._ext.
from typing import Any

import numpy as np
from numpy.typing import NDArray

class ElementwiseOp:
    name: str
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    family: str

ELEMENTWISE: tuple[ElementwiseOp, ...]

LEVELS: tuple[str, ...]
LEVEL: str
CPU_LEVEL: str
CPU_FEATURES: str
COMPILER: str
BUILD_FLAGS: dict[str, str]
REQUESTED_LEVEL: str
HALF_CONVERSION: str

def activation_dtype(func: str, arg: str, dtype: np.dtype[Any]) -> np.dtype[Any]: ...
def run_prelu(x: NDArray[Any], alpha: NDArray[Any], y: NDArray[Any], axis: int) -> None: ...
def run_prelu_backward(dy: NDArray[Any], x: NDArray[Any], alpha: NDArray[Any],
                       dx: NDArray[Any], axis: int, dalpha: NDArray[np.float64]) -> None: ...
def run_maxout(x: NDArray[Any], k: int, axis: int, y: NDArray[Any],
               idx: NDArray[Any]) -> None: ...
def run_maxout_backward(dy: NDArray[Any], idx: NDArray[Any], k: int, axis: int,
                        dx: NDArray[Any]) -> bool: ...
def prelu_fast(x: object, alpha: object, axis: object, out: object) -> Any: ...
def prelu_backward_fast(dy: object, x: object, alpha: object, axis: object,
                        out: object) -> Any: ...
def index_dtype(k: int) -> np.dtype[Any] | None: ...
def maxout_fast(x: object, k: object, axis: object, out: object) -> Any: ...
def maxout_backward_fast(dy: object, idx: object, k: object, axis: object,
                         out: object) -> Any: ...

# optimisers (rectkern.optim)
RULES: dict[str, int]
OPT_FLAGS: dict[str, int]

class Step:
    def run(self) -> None: ...

class WrittenMemory:
    def __init__(self, func: str, groups: list[list[NDArray[Any]]],
                 states: list[list[NDArray[Any]]], names: tuple[str, ...]) -> None: ...
    def check(self, func: str, groups: list[list[NDArray[Any]]],
              grads: list[NDArray[Any]]) -> None: ...

def check_params(func: str, params: list[Any]) -> None: ...
def prepare_step(func: str, rule: str, hyper: dict[str, Any], lists: list[list[Any]],
                 names: tuple[str, ...], first: int = ..., check_memory: bool = ...) -> Step: ...
def sum_squares(func: str, arrays: list[Any], name: str) -> float: ...
