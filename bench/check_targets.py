"""Check rectkern's speed targets as ratios to NumPy's memory-traffic limit.

    python bench/check_targets.py [--rounds N] [--percentile P] [--only TEXT]

Every kernel is timed against the time NumPy needs to move the same bytes,
in this process, in interleaved rounds (kernel, limit, kernel, limit, ...),
and the given percentile of the per-round ratios is compared with its
target.  Outputs are preallocated (``out=``) on both sides, so page faults
of fresh allocations are not counted.

- large (64x64x56x56, past the caches) and in-cache (about 256 KiB) arrays,
  NCHW (axis=1) and NHWC (axis=-1): forward ops and maxout_backward against
  ``np.copyto`` on an array of the input's size (maxout_backward: dx's
  size), the other backward ops against ``np.add(a, b, out=c)``.  Targets:
  1.25 for float32/float64 and 1.5 for float16 on large arrays, 2 in cache.
- tiny (64 elements): one call against ``np.maximum(x, 0, out=y)``, target 1.5.

The level in use is the best this CPU runs, or RECTKERN_CPU's.  Exits 1 when
a ratio misses its target.  A tool for people: timings on shared machines are
noisy, so it is not a timed test in CI.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import rectkern as rk
from rectkern import _ext
from rectkern._bench import cases

LARGE = (64, 64, 56, 56)
IN_CACHE = {2: (1, 64, 32, 64), 4: (1, 64, 32, 32), 8: (1, 32, 32, 32)}  # 256 KiB
TINY = (1, 4, 4, 4)                                               # 64 elements


def _nhwc(shape):
    n, c, h, w = shape
    return (n, h, w, c)


def _ratio(kernel, limit, rounds, percentile, repeat):
    kernel(), limit()                     # warm up: first touch, code paths
    ratios = []
    for _ in range(rounds):
        times = []
        for fn in (kernel, limit):
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            times.append(time.perf_counter() - start)
        ratios.append(times[0] / times[1])
    return float(np.percentile(ratios, percentile))


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
    for dtype in (np.float32, np.float64, np.float16):
        itemsize = np.dtype(dtype).itemsize
        for size, shape, repeat in (("large", LARGE, 1), ("in-cache", IN_CACHE[itemsize], 50)):
            for layout in ("NCHW", "NHWC"):
                for case in cases(dtype, shape if layout == "NCHW" else _nhwc(shape), layout):
                    name = case.op
                    if args.only not in name:
                        continue
                    target = 2.0 if size == "in-cache" else (1.5 if itemsize == 2 else 1.25)
                    ratio = _ratio(case.rectkern, case.limit, args.rounds, args.percentile,
                                   repeat)
                    ok = ratio <= target
                    misses += not ok
                    print(f"{size:<9}{layout:<7}{np.dtype(dtype).name:<8}{name:<24}"
                          f"{ratio:>7.2f}{target:>8.2f}{'' if ok else '  MISS'}")
    # tiny arrays: call overhead against np.maximum(x, 0, out=y)
    x = np.random.default_rng(1).standard_normal(TINY).astype(np.float32)
    y = np.empty_like(x)
    floor = lambda: np.maximum(x, 0, out=y)           # noqa: E731
    for case in cases(np.float32, TINY, "NCHW"):
        name = case.op
        if args.only not in name:
            continue
        ratio = _ratio(case.rectkern, floor, args.rounds, args.percentile, 200)
        ok = ratio <= 1.5
        misses += not ok
        print(f"{'tiny':<9}{'NCHW':<7}{'float32':<8}{name:<24}{ratio:>7.2f}{1.5:>8.2f}"
              f"{'' if ok else '  MISS'}")
    print(f"{misses} target(s) missed" if misses else "all targets met")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
