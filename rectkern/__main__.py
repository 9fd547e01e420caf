"""Command line: ``rectkern demo|info`` (or ``python -m rectkern ...``)."""

from __future__ import annotations

import argparse
import sys
import timeit

import numpy as np

import rectkern as rk
from rectkern import _reference as ref


def _best_seconds(fn, repeat):
    fn()                                        # warm up: page in, first-touch
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _close(a, b):
    return np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True)


def demo(shape=(32, 64, 28, 28), dtype=np.float32, repeat=7, file=sys.stdout):
    """Run every op once against its NumPy twin and time it against a NumPy idiom."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    n, c = shape[0], shape[1]
    alpha = rng.uniform(0, 0.5, c)
    a = alpha.astype(dtype).reshape(c, 1, 1)
    y, idx = rk.maxout(x, 2, axis=1)
    dy_half = dy[:, : c // 2]
    others = tuple(d for d in range(x.ndim) if d != 1)

    def numpy_maxout():
        groups = x.reshape((n, c // 2, 2) + shape[2:])
        return groups.max(axis=2), groups.argmax(axis=2)

    def numpy_maxout_backward():
        dx = np.zeros((n, c // 2, 2) + shape[2:], dtype)
        np.put_along_axis(dx, idx[:, :, None].astype(np.intp), dy_half[:, :, None], axis=2)
        return dx.reshape(shape)

    rows = [
        # name, rectkern call, NumPy idiom, checked against the twin
        ("relu", lambda: rk.relu(x), lambda: np.maximum(x, 0),
         lambda r: _same(r, ref.relu(x))),
        ("relu_backward", lambda: rk.relu_backward(dy, x), lambda: dy * (x > 0),
         lambda r: _same(r, ref.relu_backward(dy, x))),
        ("leaky_relu", lambda: rk.leaky_relu(x, 0.01),
         lambda: np.maximum(x, x * dtype(0.01)),
         lambda r: _same(r, ref.leaky_relu(x, 0.01))),
        ("leaky_relu(x, -1)  |x|", lambda: rk.leaky_relu(x, -1.0), lambda: np.abs(x),
         lambda r: _same(r, ref.leaky_relu(x, -1.0))),
        ("leaky_relu_backward", lambda: rk.leaky_relu_backward(dy, x, 0.01),
         lambda: np.where(x > 0, dy, dy * dtype(0.01)),
         lambda r: _same(r, ref.leaky_relu_backward(dy, x, 0.01))),
        ("prelu", lambda: rk.prelu(x, alpha), lambda: np.where(x > 0, x, a * x),
         lambda r: _same(r, ref.prelu(x, alpha))),
        ("prelu_backward", lambda: rk.prelu_backward(dy, x, alpha),
         lambda: (np.where(x > 0, dy, a * dy),
                  (np.minimum(x, 0).astype(np.float64) * dy).sum(axis=others)),
         lambda r: _same(r[0], ref.prelu_backward(dy, x, alpha)[0])
         and _close(r[1], ref.prelu_backward(dy, x, alpha)[1])),
        ("maxout k=2", lambda: rk.maxout(x, 2), numpy_maxout,
         lambda r: all(_same(p, q) for p, q in zip(r, ref.maxout(x, 2)))),
        ("maxout_backward k=2", lambda: rk.maxout_backward(dy_half, idx, 2),
         numpy_maxout_backward,
         lambda r: _same(r, ref.maxout_backward(dy_half, idx, 2))),
    ]

    print(f"rectkern {rk.__version__}, numpy {np.__version__}: "
          f"{np.dtype(dtype).name} array of shape {shape} (NCHW, channel axis 1), "
          f"best of {repeat}", file=file)
    print(f"{'op':<24}{'rectkern':>12}{'NumPy':>12}{'speed-up':>10}  matches twin", file=file)
    all_ok = True
    for name, ours, theirs, check in rows:
        ok = bool(check(ours()))
        all_ok &= ok
        t_ours, t_numpy = _best_seconds(ours, repeat), _best_seconds(theirs, repeat)
        print(f"{name:<24}{t_ours * 1e3:>10.2f}ms{t_numpy * 1e3:>10.2f}ms"
              f"{t_numpy / t_ours:>9.1f}x  {'yes' if ok else 'NO'}", file=file)
    return all_ok


def main(argv=None):
    parser = argparse.ArgumentParser(prog="rectkern", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser(
        "demo", help="run every op, check it against NumPy and time both")
    run_demo.add_argument("--dtype", default="float32",
                          choices=["float16", "float32", "float64"])
    commands.add_parser("info", help="print the build and the kernels in use")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return 0 if demo(dtype=np.dtype(args.dtype).type) else 1
    if args.command == "info":
        rk.show_config()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
