"""How long the lab takes to build organizations and draw them, on this machine.

    .venv/bin/python benchmarks/lab_build.py            # the three figures
    .venv/bin/python benchmarks/lab_build.py --profile  # plus where the 1,000-account build spends its time

Targets (issue 2): apply the recommended design < 2 s; build 50 OUs and 1,000 accounts < 5 s;
render that tree to SVG < 5 s. Each figure is the best of ``--repeat`` runs in a fresh lab.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import time


def _timed(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ous", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    from labkit import Lab
    from labkit.design import apply_design, generated_design, load_design
    from labkit.diagrams import org_tree

    recommended = load_design("recommended")
    big = generated_design(ous=args.ous, accounts=args.accounts)

    def build(design):
        with Lab() as lab:
            start = time.perf_counter()
            applied = apply_design(lab, design)
            return time.perf_counter() - start, applied.calls

    rec = [build(recommended) for _ in range(args.repeat)]
    large = [build(big) for _ in range(max(1, args.repeat - 1))]
    graph = org_tree(big)
    render, svg = _timed(lambda: graph.pipe(format="svg"), args.repeat)

    print(f"machine: {platform.machine()} {platform.python_implementation()} "
          f"{platform.python_version()}")
    print(f"apply recommended design:            {min(t for t, _ in rec):6.2f} s "
          f"({rec[0][1]} API calls; target < 2 s)")
    print(f"build {args.ous} OUs, {args.accounts} accounts:          "
          f"{min(t for t, _ in large):6.2f} s ({large[0][1]} API calls; target < 5 s)")
    print(f"render its tree to SVG:              {render:6.2f} s "
          f"({len(svg) // 1024} KiB; target < 5 s)")
    if args.profile:
        profiler = cProfile.Profile()
        with Lab() as lab:
            profiler.enable()
            apply_design(lab, big)
            profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
