"""Command line: ``rectkern demo|info|bench`` (or ``python -m rectkern ...``)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

import rectkern as rk
from rectkern._bench import LAYOUTS, best_time, cases, optim_cases, shape_for

PLOT_SIZES = [64 * 16**i for i in range(6)]           # 64 ... 64M elements


def demo(dtype=np.float32, shape=(32, 64, 28, 28), file=sys.stdout):
    """Every op once against its NumPy twin, and timed against a NumPy idiom."""
    print(f"rectkern {rk.__version__} ({rk.config()['level']} kernels), numpy "
          f"{np.__version__}: {np.dtype(dtype).name} batch of shape {shape}, NCHW",
          file=file)
    print(f"{'op':<24}{'rectkern':>12}{'NumPy':>12}{'speed-up':>10}  matches twin",
          file=file)
    all_ok = True
    size = int(np.prod(shape))
    for case in cases(dtype, shape) + optim_cases(dtype, size):
        ok = bool(case.check(case.rectkern()))
        all_ok &= ok
        ours, theirs = best_time(case.rectkern, 0.1), best_time(case.numpy, 0.1)
        print(f"{case.op:<24}{ours * 1e3:>10.3f}ms{theirs * 1e3:>10.3f}ms"
              f"{theirs / ours:>9.1f}x  {'yes' if ok else 'NO'}", file=file)
    return all_ok


def bench(dtype, layout, sizes, file=sys.stdout):
    """Per op: rectkern's time, its speed-up over NumPy and % of the memory limit.

    Returns {op: {"rectkern": [...], "numpy": [...], "limit": [...]}} in
    seconds, one entry per size.
    """
    times = {}
    print(f"rectkern {rk.__version__} ({rk.config()['level']} kernels), numpy "
          f"{np.__version__}, {np.dtype(dtype).name}, {layout}", file=file)
    print("speed-up: NumPy's time / rectkern's; limit: the time np.copyto or np.add "
          "needs for the same bytes / rectkern's", file=file)
    rows = {}
    for n in sizes:
        for case in cases(dtype, shape_for(n, layout), layout):
            ours, theirs, limit = (best_time(case.rectkern), best_time(case.numpy),
                                   best_time(case.limit))
            entry = times.setdefault(case.op, {"rectkern": [], "numpy": [], "limit": []})
            entry["rectkern"].append(ours)
            entry["numpy"].append(theirs)
            entry["limit"].append(limit)
            rows.setdefault(case.op, []).append(
                f"  {n:>10,}{ours * 1e3:>12.4f}ms{theirs / ours:>9.1f}x"
                f"{100 * limit / ours:>9.0f}%  ({case.limit_name})")
    for op, lines in rows.items():
        print(f"\n{op}\n  {'elements':>10}{'rectkern':>14}{'speed-up':>10}{'limit':>10}",
              file=file)
        print("\n".join(lines), file=file)
    bench_optim(dtype, sizes, file=file)
    return times


def bench_optim(dtype, sizes, file=sys.stdout):
    """Per optimiser case (each class's step, each function's, and
    clip_grad_norm), over one array of each size and over 200 arrays of
    1,000: rectkern's time, its speed-up over NumPy's careful idiom (in-place
    ufuncs into scratch) and its common one (expressions), % of the limit."""
    print("\noptimisers (rectkern.optim): a step over every array of a group; speed-up "
          "over NumPy's careful idiom (out= ufuncs) and its common one (expressions)",
          file=file)
    rows = {}
    for n, count in [(n, 1) for n in sizes] + [(1000, 200)]:
        for case in optim_cases(dtype, n, count):
            ours, careful, common, limit = (best_time(f) for f in (
                case.rectkern, case.numpy, case.numpy_slow, case.limit))
            label = f"{n:,}" if count == 1 else f"{count} x {n:,}"
            rows.setdefault(case.op, []).append(
                f"  {label:>12}{ours * 1e3:>12.4f}ms{careful / ours:>9.1f}x"
                f"{common / ours:>9.1f}x{100 * limit / ours:>9.0f}%")
    for op, lines in rows.items():
        print(f"\n{op}\n  {'elements':>12}{'rectkern':>14}{'careful':>10}{'common':>10}"
              f"{'limit':>10}", file=file)
        print("\n".join(lines), file=file)


def plot(times, sizes, path, title):
    """Time against size, log-log, one panel per op."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'rectkern[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = list(times)
    columns = 4
    rows = (len(ops) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows),
                             sharex=True, squeeze=False)
    for ax, op in zip(axes.flat, ops):
        for label, style in (("rectkern", "o-"), ("numpy", "s--"), ("limit", "k:")):
            ax.loglog(sizes, times[op][label], style, label=label, markersize=4)
        ax.set_title(op, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.flat[len(ops):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("elements")
    for ax in axes[:, 0]:
        ax.set_ylabel("seconds")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="rectkern", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser(
        "demo", help="run every op, check it against NumPy and time both")
    run_demo.add_argument("--dtype", default="float32",
                          choices=["float16", "float32", "float64"])
    commands.add_parser("info", help="print the build and the kernels in use")
    run_bench = commands.add_parser(
        "bench", help="a table per op: time, speed-up over NumPy, %% of the memory limit")
    run_bench.add_argument("--dtype", default="float32",
                           choices=["float16", "float32", "float64"])
    run_bench.add_argument("--layout", default="NCHW", choices=LAYOUTS)
    run_bench.add_argument("--sizes", type=int, nargs="+", default=[64, 64 * 1024, 12845056],
                           help="array sizes in elements (default: 64, 65536, 12845056)")
    run_bench.add_argument("--plot", metavar="FILE.png",
                           help="also draw time against size, 64 to 64M elements")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return 0 if demo(dtype=np.dtype(args.dtype).type) else 1
    if args.command == "info":
        rk.show_config()
        return 0
    dtype = np.dtype(args.dtype).type
    sizes = PLOT_SIZES if args.plot else args.sizes
    times = bench(dtype, args.layout, sizes)
    if args.plot:
        plot(times, sizes, args.plot,
             f"rectkern {rk.__version__} ({rk.config()['level']}), "
             f"{args.dtype} {args.layout}")
        print(f"\nplot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
