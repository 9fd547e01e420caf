"""Speed-up of two threads over one, per op: the kernels release the GIL.

    python bench/threads.py [--rounds N] [--calls N]

Each op runs ``2 * calls`` times on in-cache float16 arrays (256 KiB, the
float16 conversions make the calls compute-bound, not memory-bound), once
in one thread and once split over two threads, each thread with outputs of
its own.  Rounds alternate the two ways; the median of the per-round ratios
(one thread's time over two threads') is printed.  A ratio near 2 on a
machine with two free cores means the calls ran side by side; a kernel that
held the GIL would give 1 or less.  A tool for people, not a timed test.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import numpy as np

import rectkern as rk
from rectkern import _ext


def _calls(seed):
    """Each op as a call with outputs of its own (one set per thread)."""
    rng = np.random.default_rng(seed)
    shape = (1, 64, 64, 128)                               # 512K float16 values
    x = rng.standard_normal(shape).astype(np.float16)
    dy = rng.standard_normal(shape).astype(np.float16)
    alpha = np.linspace(-1, 1, 64, dtype=np.float32)
    bias = alpha.astype(np.float16)
    y, idx = rk.maxout(x, 4)
    dy_groups = rng.standard_normal(y.shape).astype(np.float16)
    out = np.empty_like(x)

    def elementwise(op):
        """The registry op's call: inputs x or (dy, x), 0.1 for alpha."""
        args = [{"x": x, "dy": dy}[name] for name in op.inputs] + [0.1] * len(op.params)
        return lambda: getattr(rk, op.name)(*args, out=out)

    return {
        **{op.name: elementwise(op) for op in _ext.ELEMENTWISE},
        "prelu": lambda: rk.prelu(x, alpha, out=out),
        "prelu_backward": lambda: rk.prelu_backward(dy, x, alpha, out=out),
        "bias_act": lambda: rk.bias_act(x, bias, "relu", axis=1, out=out),
        "bias_act_backward": lambda: rk.bias_act_backward(dy, x, bias, "relu", axis=1, out=out),
        "maxout": lambda: rk.maxout(x, 4, out=(y, idx)),
        "maxout_backward": lambda: rk.maxout_backward(dy_groups, idx, 4, out=out),
        "rrelu": lambda: rk.rrelu(x, seed=1, out=out),
        "rrelu_backward": lambda: rk.rrelu_backward(dy, x, seed=1, out=out),
    }


def _time(calls_per_thread, n):
    """Wall time for each thread to make its call n times, all at once."""
    start = threading.Barrier(len(calls_per_thread) + 1)

    def work(call):
        start.wait()
        for _ in range(n):
            call()

    threads = [threading.Thread(target=work, args=(c,)) for c in calls_per_thread]
    for t in threads:
        t.start()
    start.wait()
    begin = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - begin


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--calls", type=int, default=300, help="calls per thread")
    args = parser.parse_args(argv)
    print(f"rectkern {rk.__version__}, level {rk.config()['level']}, "
          f"{os.cpu_count()} CPUs; median of {args.rounds} rounds")
    print(f"{'op':<22}{'1 thread':>12}{'2 threads':>12}{'speed-up':>10}")
    first, second = _calls(0), _calls(1)
    for name in first:
        one, two = first[name], second[name]
        one(), two()                                        # warm up
        ratios, singles, pairs = [], [], []
        for _ in range(args.rounds):
            single = _time([one], 2 * args.calls)
            pair = _time([one, two], args.calls)
            singles.append(single)
            pairs.append(pair)
            ratios.append(single / pair)
        print(f"{name:<22}{np.median(singles) * 1e3:>9.1f} ms{np.median(pairs) * 1e3:>9.1f} ms"
              f"{np.median(ratios):>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
