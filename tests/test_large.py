"""Arrays of more than 2**31 elements index correctly: no 32-bit index anywhere.

The arrays are float16, 2**31 + 2**16 elements (4 GiB).  Inputs come from
``np.zeros``, whose pages the system maps only when written, so an input
costs memory only where a test sets a value; stride-0 inputs cost none.
A test that writes a whole output needs its 4 GiB.  The values that matter
sit past element 2**31 (and past byte 2**32), where a 32-bit index or
offset would wrap.  ``-m "not bigmem"`` leaves these tests out.
"""

import numpy as np
import pytest

import rectkern as rk

pytestmark = pytest.mark.bigmem

ROWS, COLS = 2**15 + 1, 2**16           # ROWS * COLS = 2**31 + 2**16
N = ROWS * COLS
FAR = 2**31 + 3                          # an element past 2**31
CHUNK = 2**26


def _count_not_equal(a, value):
    """How many elements of the 1-d float16 ``a`` differ in bits from
    ``value``, a chunk at a time (no 4 GiB temporary)."""
    bits, expected = a.view(np.uint16), np.float16(value).view(np.uint16)
    return sum(int(np.count_nonzero(bits[i:i + CHUNK] != expected))
               for i in range(0, a.size, CHUNK))


def test_maxout_reads_past_2_31():
    x = np.zeros((ROWS, COLS), np.float16)
    x[-1, 5], x[-1, 7] = 3.0, -2.0       # the last group starts past element 2**31
    x[ROWS // 2, COLS - 1] = 1.0
    y, idx = rk.maxout(x, COLS, axis=1)
    expected_y = np.zeros((ROWS, 1), np.float16)
    expected_idx = np.zeros((ROWS, 1), np.uint16)
    expected_y[-1], expected_idx[-1] = 3.0, 5
    expected_y[ROWS // 2], expected_idx[ROWS // 2] = 1.0, COLS - 1
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(idx, expected_idx)


def test_relu_writes_past_2_31():
    x = np.zeros(N, np.float16)
    x[FAR], x[-1] = -2.0, 5.0
    assert rk.relu(x, out=x) is x
    assert x[-1] == 5.0
    assert _count_not_equal(x, 0.0) == 1             # +0.0 everywhere else


def test_prelu_backward_sums_past_2_31():
    x = np.zeros(N, np.float16)
    x[7], x[FAR], x[-1] = 5.0, -2.0, -4.0
    dy = np.broadcast_to(np.float16(1.5), (N,))     # stride 0: no memory
    dx, dalpha = rk.prelu_backward(dy, x, 0.25, axis=0, out=x)
    assert dx is x
    assert dalpha == (-2.0 - 4.0) * 1.5              # x == 0 adds nothing
    assert dx[7] == 1.5 and dx[FAR] == 0.375 and dx[-1] == 0.375
    assert _count_not_equal(dx, 0.375) == 1          # alpha * dy, but where x > 0


def test_bias_act_backward_sums_past_2_31():
    # two channels first, (2, N/2): channel 1 ends past element 2**31 (byte 2**32)
    z = np.zeros(N, np.float16)
    z[7], z[FAR], z[-1] = 3.0, 3.0, 2.0              # channel 0, then channel 1 twice
    z = z.reshape(2, -1)
    dy = np.broadcast_to(np.float16(0.5), z.shape)  # stride 0: no memory
    dz, dbias = rk.bias_act_backward(dy, z, np.array([-1.0, -1.0], np.float16), "relu",
                                     axis=0, out=z)
    assert dz is z
    # z + bias > 0 only where z was set
    assert dbias.dtype == np.float16 and dbias[0] == 0.5 and dbias[1] == 1.0
    flat = dz.reshape(-1)
    assert flat[7] == flat[FAR] == flat[-1] == 0.5
    assert _count_not_equal(flat, 0.0) == 3


def test_maxout_backward_scatters_past_2_31():
    dy = np.arange(1, ROWS + 1, dtype=np.float32).astype(np.float16).reshape(ROWS, 1)
    idx = (np.arange(ROWS, dtype=np.uint64) * 40503 % COLS).astype(np.uint16).reshape(ROWS, 1)
    dx = rk.maxout_backward(dy, idx, COLS, axis=1)
    assert dx.shape == (ROWS, COLS) and dx.dtype == np.float16
    rows = np.arange(ROWS)
    np.testing.assert_array_equal(dx[rows, idx[:, 0]], dy[:, 0])
    assert _count_not_equal(dx.reshape(-1), 0.0) == ROWS   # every other one is +0.0
