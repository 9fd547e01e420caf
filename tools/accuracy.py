"""Measure the smooth activations' largest errors in ULP: the README's table.

    python tools/accuracy.py [--float32 N] [--float64 N] [--only TEXT]

Every float16 value (the count of results that are not correctly rounded,
each a double rounding through float32), N float32 points over every
exponent (default 10**7) against the float64 twins, and N float64 points
(default 10**6) against mpmath, for each smooth ufunc of the registry at
the instruction-set level in use (all levels give the same bits).  Prints
the largest error of each, where it is, and the Markdown rows of the
README's table.  Slow for float64 (mpmath, a few minutes per op on one
core; --float64 smaller for a quick look).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import _accuracy as acc  # noqa: E402


def _worst(row, x, dy):
    errors = acc.ulp_errors(row, x, dy)
    worst = int(np.argmax(errors))
    return float(errors[worst]), x[worst], dy[worst]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--float32", type=int, default=10**7)
    parser.add_argument("--float64", type=int, default=10**6)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    rows = []
    for row in acc.SMOOTH:
        if args.only not in row.name:
            continue
        start = time.perf_counter()
        x16, *_ = acc.float16_mismatches(row)
        results = {}
        for dtype, sample, count in ((np.float32, acc.sample_float32, args.float32),
                                     (np.float64, acc.sample_float64, args.float64)):
            x = sample(count, seed=11)
            dy = acc.gradients(x) if len(row.inputs) == 2 else np.ones_like(x)
            results[dtype] = _worst(row, x, dy), x.size
        (e64, x64, d64), n64 = results[np.float64]
        (e32, x32, d32), n32 = results[np.float32]
        print(f"{row.name}: float64 {e64:.3f} ULP at x={x64!r} dy={d64!r} ({n64} points); "
              f"float32 {e32:.3f} ULP at x={x32!r} dy={d32!r} ({n32} points); "
              f"float16 {x16.size} double roundings; {time.perf_counter() - start:.0f} s",
              flush=True)
        rounded_up = [math.ceil(e * 100) / 100 for e in (e64, e32)]
        rows.append(f"| `{row.name}` | {rounded_up[0]:.2f} | {rounded_up[1]:.2f} | {x16.size} |")
    print("\n| ufunc | float64 | float32 | float16 double roundings |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
