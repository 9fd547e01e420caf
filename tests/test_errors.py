"""Hostile input: one test for each row of docs/hostile-input.md.

The document tables what every public function does with input it was not
made for; ``CALLS`` holds each row's call.  The rows every elementwise ufunc
shares are written once in the document, with ``{op}`` for the op's name;
``ufunc_rows`` makes their calls for each op of the registry.  A row that
raises must raise the documented exception, with a message that contains the
documented text, and leave every array argument as it was.  An accepted row
must give what the op's NumPy twin gives.
"""

import inspect
import math
import re
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest
from numpy.exceptions import AxisError

import rectkern as rk
from rectkern import _reference as ref
from rectkern import init

from ._arrays import ELEMENTWISE, assert_matches_twin, assert_same

DOC = Path(__file__).resolve().parents[1] / "docs" / "hostile-input.md"

# The arrays the document's calls use, as its opening code block defines them.
X = np.linspace(-1, 1, 24).reshape(2, 3, 4)
A = np.array([0.1, 0.2, 0.3])
DY = np.ones((2, 3, 2))
IDX = np.zeros((2, 3, 2), np.uint8)
B_VALUES = np.linspace(-2, 2, 10**5)
B = B_VALUES.copy()
P = np.ones((4, 3), np.float32)
G = np.full((4, 3), 0.5, np.float32)
M, V = np.zeros((4, 3), np.float32), np.zeros((4, 3), np.float32)
R = np.ones((4, 3), np.float32)
R.flags.writeable = False

EXCEPTIONS = {kind.__name__: kind
              for kind in (TypeError, ValueError, AxisError, MemoryError)}

# After this error the contents of out are unspecified (the document says why).
OUT_UNSPECIFIED_AFTER = "maxout_backward: idx has values outside 0 .. k-1"


# ---------------------------------------------------------------------------
# The document's rows
# ---------------------------------------------------------------------------

class Row(NamedTuple):
    """A table row: the exception's name, or "accepted" if the call returns;
    the text the message contains, or the description of the result."""

    raises: str
    message: str


def _cells(line):
    """The cells of a Markdown table row; ``\\|`` is a literal bar."""
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _code_span(cell):
    """The text of the first code span in ``cell``, as Markdown renders it.

    The span may be fenced by two backticks so that it can hold one; a space
    just inside both fences is padding, not text.
    """
    found = re.search(r"(`+)(.+?)(?<!`)\1(?!`)", cell)
    if found is None:
        raise ValueError(f"no code span in {cell!r}")
    text = found.group(2)
    if len(text) > 2 and text.startswith(" ") and text.endswith(" "):
        text = text[1:-1]
    return text


def read_rows(path=DOC):
    """``{row id: Row}`` from every table row in ``path`` whose first cell is
    a code span (headers and rules have none).

    Raises
    ------
    ValueError
        If a row has not five cells or an id appears twice.
    """
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = _cells(line)
        if len(cells) != 5:
            raise ValueError(f"{path.name}: a row needs 5 cells, got {len(cells)}: {line}")
        row_id, _input, _call, raises, message = cells
        row_id, raises = _code_span(row_id), raises.strip("`")
        if row_id in rows:
            raise ValueError(f"{path.name}: row {row_id} appears twice")
        rows[row_id] = Row(raises, message if raises == "accepted" else _code_span(message))
    return rows


DOC_ROWS = read_rows()
# the table every elementwise ufunc shares: its ids hold "{op}"
SHARED = {row_id: row for row_id, row in DOC_ROWS.items() if "{op}" in row_id}


# ---------------------------------------------------------------------------
# The calls, row by row
# ---------------------------------------------------------------------------

def _step(optimizer, params, grads):
    """optimizer(params).step(grads), with the arrays in the call's arguments."""
    optimizer(params).step(grads)


def _load(optimizer, params, state_dict):
    optimizer(params).load_state_dict(state_dict)


class Call(NamedTuple):
    func: Callable[..., Any]
    args: tuple
    kwargs: dict


def call(func, *args, **kwargs):
    return Call(func, args, kwargs)


CALLS = {
    # -- the ufuncs' own rows; the rows they share are generated (ufunc_rows)
    "relu-x-bytes-dtype": call(rk.relu, np.array([b"a"])),
    "relu-x-timedelta": call(rk.relu, np.array([1], "timedelta64[s]")),
    "relu-x-longdouble": call(rk.relu, np.array([1.0], np.longdouble)),
    "relu-x-list": call(rk.relu, [-1.5, 2.0]),
    "relu-x-int8": call(rk.relu, np.arange(-3, 3, dtype=np.int8)),
    "relu-out-float32": call(rk.relu, X, out=np.empty(X.shape, np.float32)),
    "relu-out-byteswapped": call(rk.relu, X, out=np.empty(X.shape, ">f8")),
    "relu_backward-shape-overflow": call(
        rk.relu_backward, np.broadcast_to(1.0, (2**40, 1)), np.broadcast_to(1.0, (1, 2**40))),
    "relu_backward-int-and-float32":
        call(rk.relu_backward, np.ones(3, np.float32), np.arange(-1, 2)),
    "leaky_relu-alpha-int": call(rk.leaky_relu, X, 2),
    "leaky_relu-alpha-channels": call(rk.leaky_relu, X, A[:, None]),
    # -- prelu
    "prelu-x-none": call(rk.prelu, None, A),
    "prelu-x-str": call(rk.prelu, "text", A),
    "prelu-x-dict": call(rk.prelu, {"a": 1}, A),
    "prelu-x-mixed-list": call(rk.prelu, [1, "a"], A),
    "prelu-x-object": call(rk.prelu, np.array([1.0], object), A),
    "prelu-x-complex": call(rk.prelu, np.array([1 + 2j]), A),
    "prelu-x-str-dtype": call(rk.prelu, np.array(["a"]), A),
    "prelu-x-datetime": call(rk.prelu, np.array([1], "datetime64[s]"), A),
    "prelu-alpha-none": call(rk.prelu, X, None),
    "prelu-alpha-str": call(rk.prelu, X, "0.1"),
    "prelu-alpha-complex": call(rk.prelu, X, np.array([1j, 1j, 1j])),
    "prelu-alpha-length": call(rk.prelu, X, np.ones(4)),
    "prelu-alpha-empty": call(rk.prelu, X, np.ones(0)),
    "prelu-alpha-2d": call(rk.prelu, X, np.ones((3, 1))),
    "prelu-alpha-length-out-is-x": call(rk.prelu, B, np.ones(5), axis=0, out=B),
    "prelu-alpha-nan": call(rk.prelu, X, np.array([np.nan, 0.2, 0.3])),
    "prelu-alpha-shared-nan": call(rk.prelu, X, np.nan),
    "prelu-alpha-int": call(rk.prelu, X, np.array([1, 2, 3])),
    "prelu-x-int": call(rk.prelu, np.arange(-3, 3).reshape(2, 3), A),
    "prelu-x-bool": call(rk.prelu, np.ones((2, 3), bool), A),
    "prelu-x-byteswapped": call(rk.prelu, X.astype(">f8"), A.astype(">f8")),
    "prelu-x-0d": call(rk.prelu, np.array(-1.0), A),
    "prelu-x-0d-shared": call(rk.prelu, np.array(-1.0), 0.5),
    "prelu-axis": call(rk.prelu, X, A, axis=3),
    "prelu-axis-negative": call(rk.prelu, X, A, axis=-4),
    "prelu-axis-huge": call(rk.prelu, X, A, axis=2**40),
    "prelu-axis-beyond-int64": call(rk.prelu, X, A, axis=2**70),
    "prelu-axis-float": call(rk.prelu, X, A, axis=1.0),
    "prelu-axis-shared": call(rk.prelu, X, 0.5, axis=7),
    "prelu-out-read-only": call(rk.prelu, X, A, out=np.broadcast_to(0.0, X.shape)),
    "prelu-out-dtype": call(rk.prelu, X, A, out=np.empty(X.shape, np.float32)),
    "prelu-out-shape": call(rk.prelu, X, A, out=np.empty((2, 3))),
    "prelu-out-list": call(rk.prelu, X, A, out=[0.0] * 24),
    "prelu-out-byteswapped": call(rk.prelu, X, A, out=np.empty(X.shape, ">f8")),
    "prelu-out-overlap": call(rk.prelu, B[:-1], 0.5, out=B[1:]),
    # -- prelu_backward
    "prelu_backward-dy-none": call(rk.prelu_backward, None, X, A),
    "prelu_backward-x-str": call(rk.prelu_backward, X, "text", A),
    "prelu_backward-dy-dict": call(rk.prelu_backward, {"a": 1}, X, A),
    "prelu_backward-x-mixed-list": call(rk.prelu_backward, X, [1, "a"], A),
    "prelu_backward-dy-object": call(rk.prelu_backward, np.array([1.0], object), X, A),
    "prelu_backward-x-complex": call(rk.prelu_backward, X, np.array([1 + 2j]), A),
    "prelu_backward-dy-str-dtype": call(rk.prelu_backward, np.array(["a"]), X, A),
    "prelu_backward-x-datetime": call(rk.prelu_backward, X, np.array([1], "datetime64[s]"), A),
    "prelu_backward-alpha-none": call(rk.prelu_backward, X, X, None),
    "prelu_backward-alpha-complex": call(rk.prelu_backward, X, X, np.array([1j, 1j, 1j])),
    "prelu_backward-shapes": call(rk.prelu_backward, X[0], X, A),
    "prelu_backward-alpha-length": call(rk.prelu_backward, X, X, np.ones(2)),
    "prelu_backward-alpha-length-out-is-x":
        call(rk.prelu_backward, B, B, np.ones(2), axis=0, out=B),
    "prelu_backward-alpha-nan": call(rk.prelu_backward, X, X, np.array([np.nan, 0.2, 0.3])),
    "prelu_backward-int": call(
        rk.prelu_backward, np.ones((2, 3), int), np.arange(-3, 3).reshape(2, 3),
        np.array([1, 2, 3])),
    "prelu_backward-bool":
        call(rk.prelu_backward, np.ones((2, 3), bool), np.zeros((2, 3), bool), A),
    "prelu_backward-byteswapped":
        call(rk.prelu_backward, X.astype(">f8"), X.astype(">f8"), A.astype(">f8")),
    "prelu_backward-0d": call(rk.prelu_backward, np.array(1.0), np.array(-1.0), A),
    "prelu_backward-0d-shared": call(rk.prelu_backward, np.array(1.0), np.array(-1.0), 0.5),
    "prelu_backward-axis": call(rk.prelu_backward, X, X, A, axis=-5),
    "prelu_backward-axis-huge": call(rk.prelu_backward, X, X, A, axis=2**40),
    "prelu_backward-axis-beyond-int64": call(rk.prelu_backward, X, X, A, axis=-2**70),
    "prelu_backward-axis-none": call(rk.prelu_backward, X, X, A, axis=None),
    "prelu_backward-out-read-only":
        call(rk.prelu_backward, X, X, A, out=np.broadcast_to(0.0, X.shape)),
    "prelu_backward-out-dtype":
        call(rk.prelu_backward, X, X, A, out=np.empty(X.shape, np.float16)),
    "prelu_backward-out-shape": call(rk.prelu_backward, X, X, A, out=np.empty((4, 3, 2))),
    "prelu_backward-out-list": call(rk.prelu_backward, X, X, A, out=[0.0] * 24),
    "prelu_backward-out-overlap":
        call(rk.prelu_backward, B[2:], B[:-2], 0.5, axis=0, out=B[1:-1]),
    # -- bias_act
    "bias_act-z-none": call(rk.bias_act, None, A, axis=1),
    "bias_act-z-str": call(rk.bias_act, "text", A, axis=1),
    "bias_act-z-complex": call(rk.bias_act, X + 1j, A, axis=1),
    "bias_act-z-0d": call(rk.bias_act, np.array(1.0), A),
    "bias_act-bias-none": call(rk.bias_act, X, None, axis=1),
    "bias_act-bias-complex": call(rk.bias_act, X, A + 1j, axis=1),
    "bias_act-bias-length": call(rk.bias_act, X, np.ones(4), axis=1),
    "bias_act-bias-scalar": call(rk.bias_act, X, 0.5, axis=1),
    "bias_act-bias-2d": call(rk.bias_act, X, np.ones((3, 1)), axis=1),
    "bias_act-activation-unknown": call(rk.bias_act, X, A, "tanh", axis=1),
    "bias_act-activation-none": call(rk.bias_act, X, A, None, axis=1),
    "bias_act-alpha-not-taken": call(rk.bias_act, X, A, "relu", alpha=0.1, axis=1),
    "bias_act-alpha-missing": call(rk.bias_act, X, A, "leaky_relu", axis=1),
    "bias_act-alpha-missing-prelu": call(rk.bias_act, X, A, "prelu", axis=1),
    "bias_act-alpha-array": call(rk.bias_act, X, A, "elu", alpha=A, axis=1),
    "bias_act-alpha-str": call(rk.bias_act, X, A, "leaky_relu", alpha="0.1", axis=1),
    "bias_act-alpha-bool": call(rk.bias_act, X, A, "leaky_relu", alpha=True, axis=1),
    "bias_act-alpha-length": call(rk.bias_act, X, A, "prelu", alpha=np.ones(4), axis=1),
    "bias_act-axis": call(rk.bias_act, X, A, axis=3),
    "bias_act-axis-float": call(rk.bias_act, X, A, axis=1.0),
    "bias_act-out-shape": call(rk.bias_act, X, A, axis=1, out=np.empty((2, 3))),
    "bias_act-out-dtype": call(rk.bias_act, X, A, axis=1, out=np.empty(X.shape, np.float32)),
    "bias_act-out-read-only": call(rk.bias_act, X, A, axis=1, out=np.broadcast_to(0.0, X.shape)),
    "bias_act-out-list": call(rk.bias_act, X, A, axis=1, out=[0.0] * 24),
    "bias_act-out-overlap":
        call(rk.bias_act, B[:-2].reshape(-1, 2), np.ones(2), out=B[2:].reshape(-1, 2)),
    "bias_act-int": call(rk.bias_act, np.arange(-3, 3).reshape(2, 3), np.array([1, 2, 3])),
    "bias_act-bias-float32": call(rk.bias_act, X, A.astype(np.float32), axis=1),
    "bias_act-z-float16-bias-float32":
        call(rk.bias_act, X.astype(np.float16), A.astype(np.float32), axis=1),
    "bias_act-bias-nan": call(rk.bias_act, X, np.array([np.nan, 0.2, 0.3]), axis=1),
    "bias_act-empty": call(rk.bias_act, np.empty((0, 3)), A),
    "bias_act-byteswapped":
        call(rk.bias_act, X.astype(">f8"), A.astype(">f8"), "prelu", alpha=A, axis=1),
    # -- bias_act_backward
    "bias_act_backward-dy-none": call(rk.bias_act_backward, None, X, A, axis=1),
    "bias_act_backward-z-str": call(rk.bias_act_backward, X, "text", A, axis=1),
    "bias_act_backward-shapes": call(rk.bias_act_backward, X[0], X, A, axis=1),
    "bias_act_backward-bias-length": call(rk.bias_act_backward, X, X, np.ones(2), axis=1),
    "bias_act_backward-activation-unknown": call(rk.bias_act_backward, X, X, A, "swish", axis=1),
    "bias_act_backward-alpha-missing": call(rk.bias_act_backward, X, X, A, "prelu", axis=1),
    "bias_act_backward-alpha-not-taken":
        call(rk.bias_act_backward, X, X, A, "gelu", alpha=1.0, axis=1),
    "bias_act_backward-alpha-length":
        call(rk.bias_act_backward, X, X, A, "prelu", alpha=np.ones(2), axis=1),
    "bias_act_backward-axis": call(rk.bias_act_backward, X, X, A, axis=-4),
    "bias_act_backward-z-0d": call(rk.bias_act_backward, np.array(1.0), np.array(1.0), A),
    "bias_act_backward-out-dtype":
        call(rk.bias_act_backward, X, X, A, axis=1, out=np.empty(X.shape, np.float16)),
    "bias_act_backward-out-shape":
        call(rk.bias_act_backward, X, X, A, axis=1, out=np.empty((4, 3, 2))),
    "bias_act_backward-out-overlap":
        call(rk.bias_act_backward,
             B[4:].reshape(-1, 4), B[:-4].reshape(-1, 4), np.ones(4), out=B[2:-2].reshape(-1, 4)),
    "bias_act_backward-int":
        call(rk.bias_act_backward,
             np.ones((2, 3), int), np.arange(-3, 3).reshape(2, 3), np.array([1, 2, 3])),
    "bias_act_backward-prelu-shared":
        call(rk.bias_act_backward, X, X, A, "prelu", alpha=0.25, axis=1),
    "bias_act_backward-prelu-float32-alpha":
        call(rk.bias_act_backward, X, X, A, "prelu", alpha=A.astype(np.float32), axis=1),
    "bias_act_backward-empty": call(rk.bias_act_backward, np.empty((0, 3)), np.empty((0, 3)), A),
    # -- maxout
    "maxout-x-none": call(rk.maxout, None, 1, axis=0),
    "maxout-x-str": call(rk.maxout, "text", 1, axis=0),
    "maxout-x-dict": call(rk.maxout, {"a": 1}, 1, axis=0),
    "maxout-x-mixed-list": call(rk.maxout, [1, "a"], 1, axis=0),
    "maxout-x-object": call(rk.maxout, np.array([1.0], object), 1, axis=0),
    "maxout-x-complex": call(rk.maxout, np.array([1 + 2j]), 1, axis=0),
    "maxout-x-str-dtype": call(rk.maxout, np.array(["a"]), 1, axis=0),
    "maxout-x-datetime": call(rk.maxout, np.array([1], "datetime64[s]"), 1, axis=0),
    "maxout-k-zero": call(rk.maxout, X, 0),
    "maxout-k-negative": call(rk.maxout, X, -3),
    "maxout-k-divides": call(rk.maxout, X, 2),
    "maxout-k-2-63": call(rk.maxout, X, 2**63),
    "maxout-k-2-70": call(rk.maxout, X, 2**70),
    "maxout-k-2-63-empty": call(rk.maxout, np.empty((2, 0)), 2**63),
    "maxout-k-2-70-empty": call(rk.maxout, np.empty((2, 0)), 2**70),
    "maxout-k-float": call(rk.maxout, X, 3.0),
    "maxout-k-bool": call(rk.maxout, X, True),
    "maxout-k-str": call(rk.maxout, X, "3"),
    "maxout-k-none": call(rk.maxout, X, None),
    "maxout-k-numpy": call(rk.maxout, X, np.int64(3)),
    "maxout-axis": call(rk.maxout, X, 2, axis=7),
    "maxout-axis-negative": call(rk.maxout, X, 2, axis=-9),
    "maxout-axis-huge": call(rk.maxout, X, 2, axis=2**40),
    "maxout-axis-beyond-int64": call(rk.maxout, X, 3, axis=2**70),
    "maxout-axis-float": call(rk.maxout, X, 2, axis=2.0),
    "maxout-x-0d": call(rk.maxout, np.array(1.0), 1),
    "maxout-x-int": call(rk.maxout, np.arange(12).reshape(2, 6), 3),
    "maxout-x-bool": call(rk.maxout, np.array([[False, True]]), 2),
    "maxout-x-byteswapped": call(rk.maxout, X.astype(">f8"), 3),
    "maxout-out-not-tuple": call(rk.maxout, X, 2, axis=-1, out=np.empty((2, 3, 2))),
    "maxout-out-list": call(rk.maxout, X, 2, axis=-1, out=[np.empty((2, 3, 2)), None]),
    "maxout-out-y-list": call(rk.maxout, X, 2, axis=-1, out=([0.0] * 12, None)),
    "maxout-out-y-read-only":
        call(rk.maxout, X, 2, axis=-1, out=(np.broadcast_to(0.0, (2, 3, 2)), None)),
    "maxout-out-y-dtype":
        call(rk.maxout, X, 2, axis=-1, out=(np.empty((2, 3, 2), np.float32), None)),
    "maxout-out-y-shape": call(rk.maxout, X, 2, axis=-1, out=(np.empty(X.shape), None)),
    "maxout-out-idx-dtype":
        call(rk.maxout, X, 2, axis=-1, out=(None, np.empty((2, 3, 2), np.int64))),
    "maxout-out-idx-read-only": call(
        rk.maxout, X, 2, axis=-1,
        out=(np.empty((2, 3, 2)), np.broadcast_to(np.uint8(0), (2, 3, 2)))),
    "maxout-out-idx-only":
        call(rk.maxout, X, 2, axis=-1, out=(None, np.empty((2, 3, 2), np.uint8))),
    "maxout-out-overlap": call(rk.maxout, B[:12], 2, axis=0, out=(B[4:10], None)),
    # -- maxout_backward
    "maxout_backward-dy-none":
        call(rk.maxout_backward, None, np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-dy-str":
        call(rk.maxout_backward, "text", np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-dy-dict":
        call(rk.maxout_backward, {"a": 1}, np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-dy-mixed-list":
        call(rk.maxout_backward, [1, "a"], np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-dy-object":
        call(rk.maxout_backward, np.array([1.0], object), np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-dy-complex":
        call(rk.maxout_backward, np.array([1 + 2j]), np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-dy-str-dtype":
        call(rk.maxout_backward, np.array(["a"]), np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-dy-datetime": call(
        rk.maxout_backward, np.array([1], "datetime64[s]"), np.zeros(1, np.uint8), 2, axis=0),
    "maxout_backward-idx-none": call(rk.maxout_backward, DY, None, 2, axis=-1),
    "maxout_backward-idx-float": call(rk.maxout_backward, DY, IDX * 1.0, 2, axis=-1),
    "maxout_backward-idx-bool": call(rk.maxout_backward, DY, IDX > 0, 2, axis=-1),
    "maxout_backward-idx-shape": call(rk.maxout_backward, DY, IDX[0], 2, axis=-1),
    "maxout_backward-idx-too-big": call(rk.maxout_backward, DY, IDX + 2, 2, axis=-1),
    "maxout_backward-idx-negative":
        call(rk.maxout_backward, DY, IDX.astype(np.int8) - 1, 2, axis=-1),
    "maxout_backward-idx-too-big-out": call(
        rk.maxout_backward, np.ones(10**5), np.append(np.zeros(10**5 - 1, np.uint8), 2), 2,
        axis=0, out=np.zeros(2 * 10**5)),
    "maxout_backward-idx-too-big-out-over-dy": call(
        rk.maxout_backward, B[:5 * 10**4], np.append(np.zeros(5 * 10**4 - 1, np.uint8), 2),
        2, axis=0, out=B),
    "maxout_backward-idx-int64":
        call(rk.maxout_backward, DY, IDX.astype(np.int64), 2, axis=-1),
    "maxout_backward-idx-byteswapped":
        call(rk.maxout_backward, DY, IDX.astype(">u2"), 2, axis=-1),
    "maxout_backward-k-zero": call(rk.maxout_backward, DY, IDX, 0, axis=-1),
    "maxout_backward-k-float": call(rk.maxout_backward, DY, IDX, 2.0, axis=-1),
    "maxout_backward-k-2-63": call(rk.maxout_backward, DY, IDX, 2**63, axis=-1),
    "maxout_backward-k-2-70-empty":
        call(rk.maxout_backward, np.ones((2, 0)), np.zeros((2, 0), np.uint8), 2**70),
    "maxout_backward-dx-too-long": call(
        rk.maxout_backward, np.broadcast_to(1.0, (2**40,)),
        np.broadcast_to(np.uint8(0), (2**40,)), 2**24, axis=0),
    "maxout_backward-dx-too-big": call(
        rk.maxout_backward, np.broadcast_to(1.0, (2**40,)),
        np.broadcast_to(np.uint8(0), (2**40,)), 2**22, axis=0),
    "maxout_backward-dx-wraps-to-out": call(
        rk.maxout_backward, np.broadcast_to(np.float16(1), (3689348814741910324,)),
        np.broadcast_to(np.uint8(0), (3689348814741910324,)), 5, axis=0,
        out=np.zeros(4, np.float16)),
    "maxout_backward-dx-too-long-empty": call(
        rk.maxout_backward, np.ones((0, 2**40)), np.zeros((0, 2**40), np.uint8), 2**24, axis=1),
    "maxout_backward-axis": call(rk.maxout_backward, DY, IDX, 2, axis=3),
    "maxout_backward-axis-huge": call(rk.maxout_backward, DY, IDX, 2, axis=-2**40),
    "maxout_backward-axis-beyond-int64": call(rk.maxout_backward, DY, IDX, 2, axis=2**70),
    "maxout_backward-axis-float": call(rk.maxout_backward, DY, IDX, 2, axis=-1.0),
    "maxout_backward-0d": call(rk.maxout_backward, np.array(1.0), np.array(0), 1),
    "maxout_backward-dy-int":
        call(rk.maxout_backward, np.arange(3), np.array([1, 0, 1]), 2, axis=0),
    "maxout_backward-dy-bool":
        call(rk.maxout_backward, np.array([True]), np.array([1]), 2, axis=0),
    "maxout_backward-dy-byteswapped":
        call(rk.maxout_backward, DY.astype(">f8"), IDX, 2, axis=-1),
    "maxout_backward-out-read-only":
        call(rk.maxout_backward, DY, IDX, 2, axis=-1, out=np.broadcast_to(0.0, X.shape)),
    "maxout_backward-out-dtype":
        call(rk.maxout_backward, DY, IDX, 2, axis=-1, out=np.empty(X.shape, np.float32)),
    "maxout_backward-out-shape":
        call(rk.maxout_backward, DY, IDX, 2, axis=-1, out=np.empty((2, 3, 2))),
    "maxout_backward-out-list": call(rk.maxout_backward, DY, IDX, 2, axis=-1, out=[0.0] * 24),
    "maxout_backward-out-overlap":
        call(rk.maxout_backward, B[:6], np.ones(6, np.uint8), 2, axis=0, out=B[1:13]),
    # -- rrelu, rrelu_backward
    "rrelu-x-none": call(rk.rrelu, None, seed=1),
    "rrelu-x-complex": call(rk.rrelu, np.array([1 + 2j]), seed=1),
    "rrelu-lower-above-upper": call(rk.rrelu, X, 0.5, 0.25, seed=1),
    "rrelu-lower-nan": call(rk.rrelu, X, np.nan, seed=1),
    "rrelu-upper-inf": call(rk.rrelu, X, 0.1, np.inf, seed=1),
    "rrelu-upper-str": call(rk.rrelu, X, 0.1, "0.3", seed=1),
    "rrelu-lower-bool": call(rk.rrelu, X, True, seed=1),
    "rrelu-lower-array": call(rk.rrelu, X, np.array([0.1, 0.2]), seed=1),
    "rrelu-seed-negative": call(rk.rrelu, X, seed=-1),
    "rrelu-seed-float": call(rk.rrelu, X, seed=1.5),
    "rrelu-seed-bool": call(rk.rrelu, X, seed=True),
    "rrelu-out-shape": call(rk.rrelu, X, seed=1, out=np.empty(3)),
    "rrelu-out-dtype": call(rk.rrelu, X, seed=1, out=np.empty(X.shape, np.float32)),
    "rrelu-out-read-only": call(rk.rrelu, X, seed=1, out=np.broadcast_to(0.0, X.shape)),
    "rrelu-out-list": call(rk.rrelu, X, seed=1, out=[0.0] * 24),
    "rrelu-out-overlap": call(rk.rrelu, B[1:], seed=1, out=B[:-1]),
    "rrelu-int": call(rk.rrelu, np.arange(-3, 3), seed=1),
    "rrelu-bool": call(rk.rrelu, np.array([True, False]), seed=1),
    "rrelu-0d": call(rk.rrelu, np.array(-1.5), seed=1),
    "rrelu-byteswapped": call(rk.rrelu, X.astype(">f8"), seed=1),
    "rrelu-seed-sequence": call(rk.rrelu, X, seed=np.random.SeedSequence(1)),
    "rrelu-evaluation": call(rk.rrelu, X, 0.1, 0.3, training=False),
    "rrelu_backward-seed-missing": call(rk.rrelu_backward, X, X),
    "rrelu_backward-seed-generator": call(rk.rrelu_backward, X, X, seed=np.random.default_rng(1)),
    "rrelu_backward-shapes": call(rk.rrelu_backward, np.ones(3), np.ones(4), seed=1),
    "rrelu_backward-dy-object": call(rk.rrelu_backward, np.array([1.0], object), np.ones(1), seed=1),
    "rrelu_backward-upper-below-lower": call(rk.rrelu_backward, X, X, 0.3, 0.1, seed=1),
    "rrelu_backward-mixed-dtypes": call(rk.rrelu_backward, np.ones(4, np.float16), np.linspace(-1, 1, 4, dtype=np.float32), seed=1),
    "rrelu_backward-out-over-dy": call(rk.rrelu_backward, B, B[::-1].copy(), seed=1, out=B),
    "rrelu_backward-evaluation": call(rk.rrelu_backward, X, X, 0.1, 0.3, training=False),
    # -- init.fans
    "fans-shape-none": call(init.fans, None),
    "fans-shape-str": call(init.fans, "ab"),
    "fans-shape-dict": call(init.fans, {"a": 1}),
    "fans-shape-mixed-list": call(init.fans, [4, "a"]),
    "fans-shape-float": call(init.fans, (4, 3.0)),
    "fans-shape-1d": call(init.fans, 5),
    "fans-shape-negative": call(init.fans, (4, -3)),
    "fans-shape-numpy": call(init.fans, (np.int64(4), np.uint8(3))),
    "fans-shape-huge": call(init.fans, (2**40, 2**40, 2**40)),
    # -- init.gain
    "gain-name-none": call(init.gain, None),
    "gain-name-unknown": call(init.gain, "tanh"),
    "gain-a-str": call(init.gain, "leaky_relu", "0.1"),
    "gain-a-bool": call(init.gain, "leaky_relu", True),
    "gain-a-nan": call(init.gain, "leaky_relu", np.nan),
    # -- init.he_std
    "he_std-shape-none": call(init.he_std, None),
    "he_std-shape-str": call(init.he_std, "ab"),
    "he_std-shape-dict": call(init.he_std, {"a": 1}),
    "he_std-shape-mixed-list": call(init.he_std, [4, "a"]),
    "he_std-zero-fan": call(init.he_std, (0, 3)),
    "he_std-mode": call(init.he_std, (4, 3), mode="fan_avg"),
    "he_std-a-nan": call(init.he_std, (4, 3), a=np.nan),
    "he_std-a-str": call(init.he_std, (4, 3), a="0.25"),
    "he_std-shape-huge": call(init.he_std, (2**40, 2**40)),
    "he_std-shape-beyond-float": call(init.he_std, (1, 2**1100)),
    "xavier_normal-shape-beyond-float": call(init.xavier_normal, (2**1100, 1), rng=0),
    # -- init.he_normal
    "he_normal-shape-none": call(init.he_normal, None),
    "he_normal-shape-str": call(init.he_normal, "ab"),
    "he_normal-shape-dict": call(init.he_normal, {"a": 1}),
    "he_normal-shape-mixed-list": call(init.he_normal, [4, "a"]),
    "he_normal-shape-huge": call(init.he_normal, (2**40, 2**40), rng=0),
    "he_normal-shape-too-long": call(init.he_normal, (2**70, 1), rng=0),
    "he_normal-dtype-object": call(init.he_normal, (4, 3), dtype=object),
    "he_normal-dtype-complex": call(init.he_normal, (4, 3), dtype=np.complex128),
    "he_normal-rng-float": call(init.he_normal, (4, 3), rng=0.5),
    "he_normal-a-nan": call(init.he_normal, (4, 3), a=np.nan),
    "he_normal-shape-list": call(init.he_normal, [4, 3], rng=0),
    # -- init.he_uniform
    "he_uniform-shape-none": call(init.he_uniform, None),
    "he_uniform-shape-str": call(init.he_uniform, "ab"),
    "he_uniform-shape-dict": call(init.he_uniform, {"a": 1}),
    "he_uniform-shape-mixed-list": call(init.he_uniform, [4, "a"]),
    "he_uniform-shape-huge": call(init.he_uniform, (2**40, 2**40), rng=0),
    "he_uniform-shape-too-long": call(init.he_uniform, (2**70, 1), rng=0),
    "he_uniform-dtype-str": call(init.he_uniform, (4, 3), dtype="U4"),
    "he_uniform-dtype-datetime": call(init.he_uniform, (4, 3), dtype="datetime64[s]"),
    "he_uniform-rng-negative": call(init.he_uniform, (4, 3), rng=-1),
    "he_uniform-mode": call(init.he_uniform, (4, 3), mode="avg"),
    # -- init.xavier_normal
    "xavier_normal-shape-none": call(init.xavier_normal, None),
    "xavier_normal-shape-str": call(init.xavier_normal, "ab"),
    "xavier_normal-shape-dict": call(init.xavier_normal, {"a": 1}),
    "xavier_normal-shape-mixed-list": call(init.xavier_normal, [4, "a"]),
    "xavier_normal-shape-huge": call(init.xavier_normal, (2**40, 2**40), rng=0),
    "xavier_normal-shape-too-long": call(init.xavier_normal, (2**70, 1), rng=0),
    "xavier_normal-dtype-int": call(init.xavier_normal, (4, 3), dtype=np.int32),
    "xavier_normal-dtype-bool": call(init.xavier_normal, (4, 3), dtype=bool),
    "xavier_normal-rng-bool": call(init.xavier_normal, (4, 3), rng=True),
    "xavier_normal-gain-negative": call(init.xavier_normal, (4, 3), gain=-1.0),
    # -- init.xavier_uniform
    "xavier_uniform-shape-none": call(init.xavier_uniform, None),
    "xavier_uniform-shape-str": call(init.xavier_uniform, "ab"),
    "xavier_uniform-shape-dict": call(init.xavier_uniform, {"a": 1}),
    "xavier_uniform-shape-mixed-list": call(init.xavier_uniform, [4, "a"]),
    "xavier_uniform-shape-huge": call(init.xavier_uniform, (2**40, 2**40), rng=0),
    "xavier_uniform-shape-too-long": call(init.xavier_uniform, (2**70, 1), rng=0),
    "xavier_uniform-dtype-byteswapped": call(init.xavier_uniform, (4, 3), dtype=">f8"),
    "xavier_uniform-dtype-unknown": call(init.xavier_uniform, (4, 3), dtype="float80"),
    "xavier_uniform-rng-str": call(init.xavier_uniform, (4, 3), rng="0"),
    "xavier_uniform-gain-inf": call(init.xavier_uniform, (4, 3), gain=np.inf),
    "xavier_uniform-shape-numpy": call(init.xavier_uniform, (np.int64(4), np.int8(3)), rng=0),
    # -- optim
    "sgd_step-params-array": call(rk.optim.sgd_step, P, [G], step=1, lr=0.1),
    "sgd_step-params-int": call(rk.optim.sgd_step, [np.ones(3, np.int64)], [G], step=1, lr=0.1),
    "sgd_step-params-byteswapped": call(rk.optim.sgd_step, [P.astype(">f4")], [G], step=1, lr=0.1),
    "sgd_step-params-read-only": call(rk.optim.sgd_step, [R], [G], step=1, lr=0.1),
    "sgd_step-params-unaligned": call(rk.optim.sgd_step, [np.zeros(49, np.uint8)[1:].view(np.float32).reshape(4, 3)], [G], step=1, lr=0.1),
    "sgd_step-grads-count": call(rk.optim.sgd_step, [P], [G, G], step=1, lr=0.1),
    "sgd_step-grads-list": call(rk.optim.sgd_step, [P], [[0.5] * 3] * 4, step=1, lr=0.1),
    "sgd_step-grads-not-array": call(rk.optim.sgd_step, [P], [[[0.5] * 3] * 4], step=1, lr=0.1),
    "sgd_step-grads-shape": call(rk.optim.sgd_step, [P], [G.T], step=1, lr=0.1),
    "sgd_step-grads-dtype": call(rk.optim.sgd_step, [P], [G.astype(np.float64)], step=1, lr=0.1),
    "sgd_step-grads-is-param": call(rk.optim.sgd_step, [P], [P], step=1, lr=0.1),
    "sgd_step-momentum-no-buffers": call(rk.optim.sgd_step, [P], [G], step=1, lr=0.1, momentum=0.9),
    "sgd_step-buffers-no-momentum": call(rk.optim.sgd_step, [P], [G], [M], step=1, lr=0.1),
    "sgd_step-step-zero": call(rk.optim.sgd_step, [P], [G], step=0, lr=0.1),
    "SGD-params-empty": call(rk.optim.SGD, []),
    "SGD-params-overlap": call(rk.optim.SGD, [P, P[0]]),
    "SGD-params-mixed": call(rk.optim.SGD, [P, {"params": [G]}]),
    "SGD-group-unknown": call(rk.optim.SGD, [{"params": [P], "betas": (0.9, 0.99)}]),
    "SGD-momentum-negative": call(rk.optim.SGD, [P], momentum=-0.9),
    "SGD-nesterov-no-momentum": call(rk.optim.SGD, [P], nesterov=True),
    "SGD-nesterov-dampening": call(rk.optim.SGD, [P], momentum=0.9, dampening=0.1, nesterov=True),
    "SGD-step-grads-shape": call(_step, rk.optim.SGD, [P], [G.T]),
    "SGD-step-grads-count": call(_step, rk.optim.SGD, [P], []),
    "Adagrad-lr-decay-negative": call(rk.optim.Adagrad, [P], lr_decay=-0.1),
    "Adadelta-rho-above-one": call(rk.optim.Adadelta, [P], rho=1.5),
    "RMSprop-eps-negative": call(rk.optim.RMSprop, [P], eps=-1e-8),
    "RMSprop-centered-str": call(rk.optim.RMSprop, [P], centered="yes"),
    "Adam-lr-negative": call(rk.optim.Adam, [P], lr=-1.0),
    "Adam-lr-nan": call(rk.optim.Adam, [P], lr=np.nan),
    "Adam-lr-str": call(rk.optim.Adam, [P], lr="0.1"),
    "Adam-betas-one": call(rk.optim.Adam, [P], betas=(0.9, 1.0)),
    "Adam-betas-single": call(rk.optim.Adam, [P], betas=0.9),
    "Adam-amsgrad-int": call(rk.optim.Adam, [P], amsgrad=1),
    "AdamW-weight-decay-inf": call(rk.optim.AdamW, [P], weight_decay=np.inf),
    "Adam-load-other-rule": call(_load, rk.optim.Adam, [P], rk.optim.SGD([P]).state_dict()),
    "Adam-load-other-shape": call(_load, rk.optim.Adam, [P], rk.optim.Adam([G.T]).state_dict()),
    "Adam-load-not-mapping": call(_load, rk.optim.Adam, [P], [M]),
    "adam_step-beta1-negative": call(rk.optim.adam_step, [P], [G], [M], [V], step=1, lr=0.1, beta1=-0.1, beta2=0.999, eps=1e-8),
    "adam_step-amsgrad-no-max": call(rk.optim.adam_step, [P], [G], [M], [V], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=True),
    "adam_step-states-same": call(rk.optim.adam_step, [P], [G], [M], [M], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8),
    "adam_step-state-dtype": call(rk.optim.adam_step, [P.astype(np.float16)], [G.astype(np.float16)], [M.astype(np.float16)], [V], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8),
    "adam_step-last-state-shape": call(rk.optim.adam_step, [P, G], [M, V], [P.copy(), G.copy()], [P.copy(), G.T.copy()], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8),
    "adagrad_step-state-dtype": call(rk.optim.adagrad_step, [P], [G], [M.astype(np.float64)], step=1, lr=0.1, eps=1e-10),
    "adagrad_step-states-array": call(rk.optim.adagrad_step, [P], [G], M, step=1, lr=0.1, eps=1e-10),
    "adadelta_step-states-overlap": call(rk.optim.adadelta_step, [P], [G], [M], [M[::-1]], lr=1.0, rho=0.9, eps=1e-6),
    "adadelta_step-rho-negative": call(rk.optim.adadelta_step, [P], [G], [M], [V], lr=1.0, rho=-0.1, eps=1e-6),
    "rmsprop_step-centered-no-grad-avgs": call(rk.optim.rmsprop_step, [P], [G], [M], lr=0.01, alpha=0.99, eps=1e-8, centered=True),
    "rmsprop_step-buffers-no-momentum": call(rk.optim.rmsprop_step, [P], [G], [M], lr=0.01, alpha=0.99, eps=1e-8, momentum_buffers=[V]),
    "adamw_step-weight-decay-negative": call(rk.optim.adamw_step, [P], [G], [M], [V], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=-0.01),
    "adamw_step-states-count": call(rk.optim.adamw_step, [P], [G], [M], [V, V], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8),
    "clip_grad_norm-grads-same": call(rk.optim.clip_grad_norm, [G, G], 1.0),
    "clip_grad_norm-max-norm-negative": call(rk.optim.clip_grad_norm, [G], -1.0),
    "clip_grad_norm-grads-int": call(rk.optim.clip_grad_norm, [G, np.arange(3)], 1.0),
    "clip_grad_norm-grads-read-only": call(rk.optim.clip_grad_norm, [G, R], 1.0),
}

# ---------------------------------------------------------------------------
# The rows every elementwise ufunc shares, for each op of the registry
# ---------------------------------------------------------------------------

# values of no float dtype, for any argument
NOT_FLOAT = {
    "none": None,
    "str": "0.1",
    "dict": {"a": 1},
    "mixed-list": [1, "a"],
    "object": np.array([1.0], object),
    "complex": np.array([1 + 2j]),
    "str-dtype": np.array(["a"]),
    "datetime": np.array([1], "datetime64[s]"),
}
# arguments the ufuncs cast or take as they are: (dy, x, each parameter)
CAST = {
    "int": (np.arange(6), np.arange(-3, 3), 2),
    "bool": (np.array([True, True]), np.array([True, False]), 0.1),
    "byteswapped": (X.astype(">f8"), X.astype(">f8"), np.array(0.1, ">f8")),
    "0d": (np.array(2.0), np.array(-1.5), 0.1),
}


def ufunc_rows(op):
    """(shared row's id, its fields, the call) for each row of the shared
    table that applies to ``op``, a row of the registry.  The fields fill in
    the shared row's id and message: op, arg (any argument), param (a
    parameter), last (the last argument), nin and nargs (the ufunc's)."""
    func = getattr(rk, op.name)
    names = op.inputs + op.params
    fields = dict(op=op.name, nin=func.nin, nargs=func.nargs)

    def row(shared_id, arguments, out=None, **named):
        kwargs = {} if out is None else {"out": out}
        return shared_id, dict(fields, **named), call(func, *arguments, **kwargs)

    def args(**given):
        """X for each input and 0.1 for each parameter, but where given."""
        return [given.get(n, X if n in op.inputs else 0.1) for n in names]

    for name in names:
        for kind, value in NOT_FLOAT.items():
            yield row(f"{{op}}-{{arg}}-{kind}", args(**{name: value}), arg=name)
    yield row("{op}-missing-{last}", args()[:-1], last=names[-1])
    if len(op.inputs) == 2:
        yield row("{op}-shapes", args(dy=np.ones(3), x=np.ones(4)))
    for name in op.params:
        yield row("{op}-{param}-shape", args(**{name: np.ones(3)}), param=name)
        yield row("{op}-{param}-nan", args(**{name: np.nan}), param=name)
    # rows about all the inputs name x in an op of one input: relu-x-int,
    # relu_backward-int
    prefix = "{op}-x-" if op.inputs == ("x",) else "{op}-"
    for kind, (dy, x, param) in CAST.items():
        yield row(prefix + kind, args(dy=dy, x=x, **{name: param for name in op.params}))
    yield row("{op}-out-read-only", args(), out=np.broadcast_to(0.0, X.shape))
    yield row("{op}-out-int", args(), out=np.empty(X.shape, np.int32))
    yield row("{op}-out-shape", args(), out=np.empty((3, 4)))
    yield row("{op}-out-list", args(), out=[0.0] * 24)
    # each input, then out, starts one element further along B
    n = len(op.inputs)
    yield row("{op}-out-overlap",
              args(**{name: B[i:len(B) - n + i] for i, name in enumerate(op.inputs)}),
              out=B[n:])


def _generated_rows(ops):
    """The shared rows made for ``ops``: ``({row id: Row}, {row id: Call},
    the shared ids used)``."""
    rows, calls, used = {}, {}, set()
    for op in ops:
        for shared_id, fields, made in ufunc_rows(op):
            row_id = shared_id.format(**fields)
            if row_id in CALLS or row_id in calls:
                raise ValueError(f"row {row_id} is made twice")
            used.add(shared_id)
            calls[row_id] = made
            if shared_id in SHARED:
                shared = SHARED[shared_id]
                rows[row_id] = Row(shared.raises, shared.message.format(**fields))
    return rows, calls, used


GENERATED_ROWS, GENERATED_CALLS, SHARED_USED = _generated_rows(ELEMENTWISE)
ROWS = {row_id: row for row_id, row in DOC_ROWS.items() if row_id not in SHARED}
if set(ROWS) & set(GENERATED_ROWS):
    raise ValueError(f"{DOC.name}: rows of the shared table written out for an op: "
                     f"{sorted(set(ROWS) & set(GENERATED_ROWS))}")
ROWS.update(GENERATED_ROWS)
CALLS.update(GENERATED_CALLS)

# the registry's ops: their twins and comparisons
UFUNC_OPS = {getattr(rk, op.name): op for op in ELEMENTWISE}
TWINS = {
    **{func: getattr(ref, op.name) for func, op in UFUNC_OPS.items()},
    rk.prelu: ref.prelu, rk.prelu_backward: ref.prelu_backward,
    rk.bias_act: ref.bias_act, rk.bias_act_backward: ref.bias_act_backward,
    rk.maxout: ref.maxout, rk.maxout_backward: ref.maxout_backward,
    rk.rrelu: ref.rrelu, rk.rrelu_backward: ref.rrelu_backward,
}

# Accepted rows whose result no twin gives; each takes the call's arguments.
EXPECTED = {
    # the twins reshape into groups of k, which NumPy refuses for k >= 2**63
    "maxout-k-2-63-empty": lambda x, k: (np.empty((2, 0)), np.empty((2, 0), np.uint64)),
    "maxout_backward-k-2-70-empty": lambda dy, idx, k: np.empty((2, 0)),
    # the initialisers have no twin: the value itself, or the plain spelling
    "fans-shape-numpy": lambda shape: (3, 4),
    "fans-shape-huge": lambda shape: (2**80, 2**80),
    "he_std-shape-huge": lambda shape: math.sqrt(2.0 / 2**40),
    "he_normal-shape-list": lambda shape, rng: init.he_normal((4, 3), rng=rng),
    "xavier_uniform-shape-numpy": lambda shape, rng: init.xavier_uniform((4, 3), rng=rng),
}


@pytest.fixture(autouse=True)
def _fresh_b():
    """Rows whose out overlaps an input write into B; each starts from the same B."""
    B[...] = B_VALUES


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def _arrays(values):
    """The ndarrays among ``values``, looking into tuples and lists (maxout's out)."""
    for value in values:
        if isinstance(value, np.ndarray):
            yield value
        elif isinstance(value, (tuple, list)):
            yield from _arrays(value)


def _owner(a):
    """The array that owns a's memory: a copy of it sees any write through a,
    and stays small for a broadcast view (2**40 elements over one)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class Snapshot:
    """The bytes of the memory behind some arrays, to tell whether it changed."""

    def __init__(self, arrays):
        owners = {id(owner): owner for owner in map(_owner, arrays)}
        self._saved = [(owner, owner.copy()) for owner in owners.values()]

    def changed(self):
        return [owner for owner, before in self._saved
                if owner.tobytes() != before.tobytes()]


def _copy(value):
    """An argument with its arrays copied: what the twin is given."""
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def _axis_passed(func, args, kwargs):
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments["axis"]


def _written_into(expected, out):
    """``expected`` as stored in ``out``: a ufunc casts its result to out's dtype."""
    if out is None:
        return expected
    outs = out if isinstance(out, tuple) else (out,)
    values = expected if isinstance(expected, tuple) else (expected,)
    values = tuple(np.asarray(value).astype(outs[i].dtype)
                   if i < len(outs) and outs[i] is not None else value
                   for i, value in enumerate(values))
    return values if isinstance(expected, tuple) else values[0]


def _assert_result(func, actual, expected, args, kwargs):
    """The result against the twin's: bit for bit, but a registry op's as its
    family is compared (assert_matches_twin), and dalpha, summed in the
    kernel's order, within rounding of the twin's ``np.sum``."""
    if func in UFUNC_OPS:
        op = UFUNC_OPS[func]
        assert_matches_twin(op, actual, expected, args[:len(op.inputs)])
        return
    if not isinstance(expected, tuple):
        assert_same(actual, expected)
        return
    assert isinstance(actual, tuple) and len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert_same(a, e)


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_every_row_has_a_call_and_every_call_a_row():
    assert sorted(set(ROWS) - set(CALLS)) == [], "rows without a call"
    assert sorted(set(CALLS) - set(ROWS)) == [], "calls without a row"


def test_the_shared_table_is_the_generated_one():
    # a shared row no op makes is a row without a call for every op
    assert sorted(set(SHARED) - SHARED_USED) == [], "shared rows no ufunc makes"
    assert sorted(SHARED_USED - set(SHARED)) == [], f"shared rows {DOC.name} lacks"


def test_every_row_names_a_known_outcome():
    for row_id, row in ROWS.items():
        assert row.raises == "accepted" or row.raises in EXCEPTIONS, row_id
        assert row.message, row_id


def _check_raises(row, func, args, kwargs):
    watched = list(_arrays(args))
    for name, value in kwargs.items():
        if name != "out" or not row.message.startswith(OUT_UNSPECIFIED_AFTER):
            watched.extend(_arrays([value]))
    snapshot = Snapshot(watched)
    with pytest.raises(EXCEPTIONS[row.raises]) as info:
        func(*args, **kwargs)
    assert row.message in str(info.value)
    if isinstance(info.value, AxisError):
        assert info.value.axis == _axis_passed(func, args, kwargs)
    assert snapshot.changed() == [], "a failed call changed its arguments"


def _check_accepted(row_id, func, args, kwargs):
    out = kwargs.get("out")
    inputs = [*_arrays(args), *_arrays([v for k, v in kwargs.items() if k != "out"])]
    # an input that out overlaps is written on purpose; the others must stay
    apart = [a for a in inputs
             if not any(np.may_share_memory(a, o) for o in _arrays([out]))]
    snapshot = Snapshot(apart)
    twin_args = [_copy(a) for a in args]
    twin_kwargs = {k: _copy(v) for k, v in kwargs.items() if k != "out"}

    result = func(*args, **kwargs)

    twin = EXPECTED.get(row_id) or TWINS[func]
    _assert_result(func, result, _written_into(twin(*twin_args, **twin_kwargs), out),
                   twin_args, twin_kwargs)
    if out is not None:
        outs = out if isinstance(out, tuple) else (out,)
        results = result if isinstance(result, tuple) else (result,)
        assert all(r is o for r, o in zip(results, outs) if o is not None), \
            "the result is not out itself"
    assert snapshot.changed() == [], "the call changed an input out does not overlap"


@pytest.mark.parametrize("row_id", list(CALLS))
def test_row(row_id):
    assert row_id in ROWS, f"{row_id} has no row in {DOC.name}"
    row, (func, args, kwargs) = ROWS[row_id], CALLS[row_id]
    if row.raises == "accepted":
        _check_accepted(row_id, func, args, kwargs)
    else:
        _check_raises(row, func, args, kwargs)
