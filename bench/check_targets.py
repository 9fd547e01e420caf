"""Check rectkern's speed targets as ratios to NumPy's memory-traffic limit.

    python bench/check_targets.py [--rounds N] [--percentile P] [--only TEXT]

Every kernel is timed against the time NumPy needs to move the same bytes,
in this process, in interleaved rounds (each round times every op's kernel
and then its limit), and the given percentile of the per-round ratios is
compared with its target.  Outputs are preallocated (``out=``) on both
sides and touched before timing, so page faults are not counted.

In-cache arrays are drawn afresh every round, kernel's and limit's alike,
with the earlier rounds' kept alive so that each round lands on other
memory: where an allocation's pages fall in the cache sets moves its
timings (np.add on 256 KiB arrays: 1.15x to 1.23x between the fastest and
the slowest of twelve allocations), and one placement would decide a ratio
near its target.  Large arrays stream from memory wherever they are and
are drawn once.

- large (64x64x56x56, past the caches) and in-cache (about 256 KiB) arrays,
  NCHW (axis=1) and NHWC (axis=-1): forward ops and maxout_backward against
  ``np.copyto`` on an array of the input's size (maxout_backward: dx's
  size), the other backward ops against ``np.add(a, b, out=c)``.  Targets:
  1.25 for float32/float64 and 1.5 for float16 on large arrays, 2 in cache.
  The smooth activations (ELU, SELU, GELU, GELU-tanh, SiLU, softplus) and
  RReLU in training are timed the same way; their targets are on large
  float32 arrays only: 1.5 (RReLU 2), the other rows are shown without one.
- tiny (64 elements): one call against ``np.maximum(x, 0, out=y)``, target 1.5.
- optimisers (rectkern.optim), float32 and float64: a step of SGD (with
  and without momentum), Adagrad, Adadelta, RMSprop, Adam and AdamW, and of
  sgd_step, adagrad_step, adadelta_step, rmsprop_step, adam_step and
  adamw_step on explicit state, and clip_grad_norm, over one array of 4M
  elements (target 1.15) and over 200 arrays of 1,000 elements in one
  group (target 2), against ``np.copyto`` moving the bytes the call reads
  and writes (Adam in float32: 28 per element); and, with no target, how
  many times faster each is than NumPy's careful idiom (in-place ufuncs into
  scratch) and its common one (expressions with temporaries).

The level in use is the best this CPU runs, or RECTKERN_CPU's.  Exits 1 when
a ratio misses its target.  A tool for people: timings on shared machines are
noisy, so it is not a timed test in CI.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np

import rectkern as rk
from rectkern import _ext
from rectkern._bench import cases, optim_cases

OPTIM_SIZES = {"4M": (4 << 20, 1, 1, 1.15), "200x1000": (1000, 200, 5, 2.0)}   # n, count, repeat, target
LARGE = (64, 64, 56, 56)
IN_CACHE = {2: (1, 64, 32, 64), 4: (1, 64, 32, 32), 8: (1, 32, 32, 32)}  # 256 KiB
TINY = (1, 4, 4, 4)                                               # 64 elements


def _nhwc(shape):
    n, c, h, w = shape
    return (n, h, w, c)


def _ratios(make_cases, rounds, repeat, fresh):
    """Each op's per-round ratios of kernel time to limit time, by op name.

    make_cases(seed) gives the cases; with fresh, every round takes new
    ones, the earlier rounds' kept alive so that the new arrays are
    allocated elsewhere.
    """
    kept, ratios = [], {}
    for round_ in range(rounds):
        if round_ == 0 or fresh:
            kept.append(make_cases(round_))
            for case in kept[-1]:
                case.rectkern(), case.limit()   # warm up: first touch, code paths
        for case in kept[-1]:
            times = []
            for fn in (case.rectkern, case.limit):
                start = time.perf_counter()
                for _ in range(repeat):
                    fn()
                times.append(time.perf_counter() - start)
            ratios.setdefault(case.op, []).append(times[0] / times[1])
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--percentile", type=float, default=50.0)
    parser.add_argument("--only", default="", help="run the rows whose name holds this")
    args = parser.parse_args(argv)

    print(f"rectkern {rk.__version__}, level {_ext.LEVEL} (CPU: {_ext.CPU_LEVEL}), "
          f"float16 conversions: {_ext.HALF_CONVERSION}; "
          f"percentile {args.percentile:g} of {args.rounds} rounds")
    print(f"{'size':<9}{'layout':<7}{'dtype':<8}{'op':<24}{'ratio':>7}{'target':>8}")
    misses = 0

    # the smooth ops and RReLU have one target, on large float32 arrays
    own_targets = {case.op: case.float32_large_target for case in cases(np.float32, TINY)
                   if case.float32_large_target is not None}

    def report(size, layout, dtype, ratios, target):
        nonlocal misses
        for name, values in ratios.items():
            ratio = float(np.percentile(values, args.percentile))
            goal = target
            if name in own_targets:
                goal = own_targets[name] if (size, dtype) == ("large", np.float32) else None
            ok = goal is None or ratio <= goal
            misses += not ok
            goal_text = "-" if goal is None else f"{goal:.2f}"
            print(f"{size:<9}{layout:<7}{np.dtype(dtype).name:<8}{name:<24}"
                  f"{ratio:>7.2f}{goal_text:>8}{'' if ok else '  MISS'}")

    def chosen(case_list):
        return [case for case in case_list if args.only in case.op]

    for dtype in (np.float32, np.float64, np.float16):
        itemsize = np.dtype(dtype).itemsize
        for size, shape, repeat in (("large", LARGE, 1), ("in-cache", IN_CACHE[itemsize], 50)):
            for layout in ("NCHW", "NHWC"):
                layout_shape = shape if layout == "NCHW" else _nhwc(shape)
                make = lambda seed: chosen(cases(dtype, layout_shape, layout, seed))  # noqa: E731
                target = 2.0 if size == "in-cache" else (1.5 if itemsize == 2 else 1.25)
                report(size, layout, dtype,
                       _ratios(make, args.rounds, repeat, fresh=size == "in-cache"), target)

    # tiny arrays: call overhead against np.maximum(x, 0, out=y)
    x = np.random.default_rng(1).standard_normal(TINY).astype(np.float32)
    y = np.empty_like(x)
    floor = lambda: np.maximum(x, 0, out=y)           # noqa: E731

    def tiny_cases(seed):
        return [replace(case, limit=floor) for case in chosen(cases(np.float32, TINY, "NCHW"))]

    report("tiny", "NCHW", np.float32, _ratios(tiny_cases, args.rounds, 200, fresh=False), 1.5)

    for dtype in (np.float32, np.float64):
        for size, (n, count, repeat, target) in OPTIM_SIZES.items():
            make = lambda seed: chosen(optim_cases(dtype, n, count, seed))  # noqa: E731
            report(size, "optim", dtype, _ratios(make, args.rounds, repeat, fresh=False), target)
            # and, no target, the speed-ups over NumPy's careful and common idioms
            for idiom in ("numpy", "numpy_slow"):
                against = lambda seed, idiom=idiom: [  # noqa: E731
                    replace(case, limit=getattr(case, idiom)) for case in make(seed)]
                ratios = _ratios(against, max(3, args.rounds // 3), repeat, fresh=False)
                for name, values in ratios.items():
                    print(f"{size:<9}{'optim':<7}{np.dtype(dtype).name:<8}{name:<24}"
                          f"{1 / float(np.percentile(values, args.percentile)):>6.1f}x faster "
                          f"than NumPy's {'careful' if idiom == 'numpy' else 'common'} idiom")
    print(f"{misses} target(s) missed" if misses else "all targets met")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
