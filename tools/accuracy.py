"""Measure the smooth activations' largest errors in ULP: the README's table.

    python tools/accuracy.py [--float32 N] [--float64 N] [--only TEXT]
    python tools/accuracy.py --every-float32 [--alpha A] [--only TEXT]

Every float16 value (the count of results that are not correctly rounded,
each a double rounding through float32), N float32 points over every
exponent (default 10**7) against the float64 twins, and N float64 points
(default 10**6) against mpmath, for each smooth ufunc of the registry at
the instruction-set level in use (all levels give the same bits).  Prints
the largest error of each, where it is, and the Markdown rows of the
README's table.  Slow for float64 (mpmath, a few minutes per op on one
core; --float64 smaller for a quick look).

--every-float32 checks every finite float32 x instead (a few minutes per
op), against the float64 kernel (within 3 float64 ULP): a forward op's
largest error in ULP, and a gradient's largest relative error with
dy = 1 (the slope's), in units of 2**-24, where the slope is normal:
with any dy, dy * slope rounded is within that many ULP plus a half.
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


def _every_float32(row, alpha, chunk=1 << 24):
    """The largest error over every finite float32 x, and where: in ULP for
    a forward op, relative to the slope in units of 2**-24 for a gradient."""
    ufunc = getattr(acc.rk, row.name)
    params = (float(np.float32(alpha)),) * len(row.params)   # as float32 applies it
    gradient = len(row.inputs) == 2
    worst, where = 0.0, None
    for start in range(0, 1 << 32, chunk):
        x = np.arange(start, start + chunk, dtype=np.uint64).astype(np.uint32).view(np.float32)
        x = x[np.isfinite(x)]
        inputs = (np.ones_like(x), x) if gradient else (x,)
        with np.errstate(all="ignore"):
            got = ufunc(*inputs, *params).astype(np.float64)
            exact = ufunc(*[a.astype(np.float64) for a in inputs], *params)
            if gradient:
                normal = np.abs(exact) >= float(np.finfo(np.float32).smallest_normal)
                error = np.where(normal, np.abs(got - exact) / np.abs(exact) * 2.0**24, 0.0)
            else:
                rounded = exact.astype(np.float32)
                finite = np.isfinite(rounded)
                unit = acc.ulp_unit(row.name, np.float32, np.where(finite, exact, 0.0),
                                x.astype(np.float64), np.ones(x.shape))
                error = np.where(finite, np.abs(got - exact) / unit,
                                 np.where(got == rounded, 0.0, np.inf))
        at = int(np.argmax(error))
        if error[at] > worst:
            worst, where = float(error[at]), x[at]
    return worst, where


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--float32", type=int, default=10**7)
    parser.add_argument("--float64", type=int, default=10**6)
    parser.add_argument("--only", default="")
    parser.add_argument("--every-float32", action="store_true")
    parser.add_argument("--alpha", type=float, default=acc.ALPHA,
                        help="ELU's alpha for --every-float32 (default 1)")
    args = parser.parse_args(argv)
    if args.every_float32:
        for row in acc.SMOOTH:
            if args.only in row.name:
                worst, where = _every_float32(row, args.alpha)
                unit = "x 2**-24 relative (slope)" if len(row.inputs) == 2 else "ULP"
                print(f"{row.name}: every float32: {worst:.3f} {unit} at x={where!r}", flush=True)
        return
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
