"""Enumeration speed and memory, old against new in one run, and the budget's estimate.

Every measurement runs in a fresh subprocess, so that its peak RSS growth is the enumeration's
own; each is repeated (``--repeat``) and the table shows the median time and the median RSS
growth. ``--baseline REV`` also measures the enumerator of that git revision (default 1f7acef,
the one-candidate-at-a-time implementation), extracted with ``git archive``, on the same machine
in the same run. The load average is printed before and after (2 shared cores: compare the
columns of one run, not runs of different days).

    python benchmarks/bench_enumerate.py                       # all sections, depths 7-10
    python benchmarks/bench_enumerate.py --baseline none --depths 7 8
    python benchmarks/bench_enumerate.py --profile             # where the time goes, old and new
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = {
    "pendulum": (["q", "p"], ["rad", "kg*m**2/s"]),
    "spring": (["q", "p"], ["m", "kg*m/s"]),
    "oscillator2d": (["x", "y", "px", "py"], ["m", "m", "kg*m/s", "kg*m/s"]),
}
PAPER = "+,-,*,/,sin,cos,square"
ALL = PAPER + ",cube,sqrt,inv,rsqrt,exp,log,abs"


# ---- one measurement, in a subprocess ------------------------------------------------------
def worker(task: dict) -> dict:
    """Run one task in this process (the tree on PYTHONPATH decides old or new code)."""
    import cProfile
    import inspect
    import pstats
    import resource
    import time

    from conslaw.dsl import enumerate_formulas, parse_unit
    from conslaw.errors import UsageError

    columns, units = SYSTEMS[task["system"]]
    dimensions = [parse_unit(u).dimension for u in units]
    operators = task["operators"].split(",")
    enumerate_formulas(columns, dimensions, 3, operators=operators)  # imports, caches
    options = {}
    budgeted = "max_formulas" in inspect.signature(enumerate_formulas).parameters
    if task["kind"] != "refuse" and budgeted:  # measure, never refuse (old code has no budget)
        options = {"max_formulas": None, "max_memory_gb": None}
    if task["kind"] == "estimate":
        from conslaw.dsl import estimate_enumeration
        start = time.perf_counter()
        estimate = estimate_enumeration(columns, dimensions, task["depth"], operators=operators)
        return {"seconds": time.perf_counter() - start, "formulas": estimate.formulas,
                "memory_gb": estimate.memory_gb}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    profile = cProfile.Profile() if task["kind"] == "profile" else None
    start = time.perf_counter()
    try:
        if profile:
            profile.enable()
        space = enumerate_formulas(columns, dimensions, task["depth"], operators=operators,
                                   **options)
    except UsageError as error:
        return {"seconds": time.perf_counter() - start, "refused": str(error)}
    finally:
        if profile:
            profile.disable()
    seconds = time.perf_counter() - start
    if profile:
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(14)
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {"seconds": seconds, "formulas": len(space), "nodes": len(space.table.nodes),
            "rss_mb": growth / 1024, "removed": space.removed}


def run(tree: Path, task: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    result = subprocess.run([sys.executable, __file__, "--worker", json.dumps(task)], env=env,
                            capture_output=True, text=True, check=True)
    if task["kind"] == "profile":
        print(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_run(tree: Path, task: dict, repeat: int) -> dict:
    results = [run(tree, task) for _ in range(repeat)]
    merged = dict(results[0])
    for key in ("seconds", "rss_mb"):
        if key in merged:
            merged[key] = statistics.median(r[key] for r in results)
    return merged


# ---- sections ------------------------------------------------------------------------------
def by_depth(trees: dict, depths: list[int], repeat: int, old_max_depth: int) -> None:
    print("\npendulum, paper operators: median seconds, formulas/s, median peak RSS growth (MB)")
    print(f"{'depth':>5}{'formulas':>10}" + "".join(
        f"{n + ' s':>10}{n + ' f/s':>11}{n + ' MB':>9}" for n in trees) + f"{'speed-up':>10}")
    removed = None
    for depth in depths:
        task = {"kind": "enumerate", "system": "pendulum", "depth": depth, "operators": PAPER}
        rows = {n: median_run(t, task, repeat) for n, t in trees.items()
                if n == "new" or depth <= old_max_depth}
        cells = "".join(f"{'-':>10}{'-':>11}{'-':>9}" if n not in rows else
                        f"{rows[n]['seconds']:>10.2f}"
                        f"{rows[n]['formulas'] / rows[n]['seconds']:>11,.0f}"
                        f"{rows[n]['rss_mb']:>9.0f}" for n in trees)
        speed_up = (f"{rows['old']['seconds'] / rows['new']['seconds']:>9.1f}x" if "old" in rows
                    else f"{'-':>10}")
        print(f"{depth:>5}{rows['new']['formulas']:>10,}{cells}{speed_up}", flush=True)
        if "old" in rows:
            assert rows["old"]["removed"] == rows["new"]["removed"], "the pruning counts differ"
        removed = removed or rows["new"]["removed"]
    print(f"candidates removed per step at depth {depths[0]}: {removed}")


def systems(trees: dict, repeat: int) -> None:
    print("\ndepth 7, other systems: median seconds (formulas)")
    for system, label, operators in [("spring", "paper", PAPER), ("oscillator2d", "paper", PAPER),
                                     ("pendulum", "all", ALL), ("spring", "all", ALL)]:
        task = {"kind": "enumerate", "system": system, "depth": 7, "operators": operators}
        cells = []
        for name, tree in trees.items():
            r = median_run(tree, task, repeat)
            cells.append(f"{name} {r['seconds']:.2f} s ({r['formulas']:,}, {r['rss_mb']:.0f} MB)")
        print(f"  {system:<13}{label:<6}" + "   ".join(cells), flush=True)


def opt_in_costs(tree: Path, depths: list[int]) -> None:
    print("\neach opt-in operator on the pendulum: formulas (seconds) by depth, new code")
    print(f"{'operators':<16}" + "".join(f"{d:>18}" for d in depths))
    for extra in ["", "cube", "sqrt", "inv", "rsqrt", "exp", "log", "abs"]:
        operators = PAPER + ("," + extra if extra else "")
        cells = []
        for depth in depths:
            r = run(tree, {"kind": "enumerate", "system": "pendulum", "depth": depth,
                           "operators": operators})
            cells.append(f"{r['formulas']:,} ({r['seconds']:.2f})")
        label = "paper" + ("+" + extra if extra else "")
        print(f"{label:<16}" + "".join(f"{c:>18}" for c in cells), flush=True)


def estimates(tree: Path) -> None:
    print("\nbudget estimate against the enumeration (new code)")
    print(f"{'system':<22}{'depth':>6}{'estimated':>12}{'true':>10}{'ratio':>7}"
          f"{'est. GB':>9}{'RSS GB':>8}{'probe s':>9}")
    for system, operators, depth in [("pendulum", PAPER, 8), ("pendulum", PAPER, 9),
                                     ("pendulum", PAPER, 10), ("spring", PAPER, 9),
                                     ("spring", PAPER, 10), ("oscillator2d", PAPER, 8),
                                     ("oscillator2d", PAPER, 9), ("pendulum", ALL, 7),
                                     ("pendulum", ALL, 8)]:
        task = {"system": system, "depth": depth, "operators": operators}
        guess = run(tree, dict(task, kind="estimate"))
        truth = run(tree, dict(task, kind="enumerate"))
        label = system + (" +all" if operators == ALL else "")
        print(f"{label:<22}{depth:>6}{guess['formulas']:>12,.0f}{truth['formulas']:>10,}"
              f"{guess['formulas'] / truth['formulas']:>7.2f}{guess['memory_gb']:>9.2f}"
              f"{truth['rss_mb'] / 1024:>8.2f}{guess['seconds']:>9.2f}", flush=True)
    for depth in (12, 14):
        r = run(tree, {"kind": "refuse", "system": "pendulum", "depth": depth, "operators": PAPER})
        print(f"pendulum --depth {depth}: {r['seconds']:.2f} s: {r.get('refused', 'not refused')}")


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--depths", type=int, nargs="+", default=[7, 8, 9, 10])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default="1f7acef", help="git revision, or 'none'")
    parser.add_argument("--baseline-max-depth", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    with tempfile.TemporaryDirectory() as old_tree:
        trees = {"new": ROOT}
        if args.baseline != "none":
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "conslaw"],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", old_tree], input=archive, check=True)
            trees = {"old": Path(old_tree), "new": ROOT}
        print(f"{machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"load average {os.getloadavg()}")
        if args.profile:
            for name, tree in trees.items():
                print(f"\n== {name}: profile of the pendulum at depth {max(args.depths)}")
                run(tree, {"kind": "profile", "system": "pendulum", "depth": max(args.depths),
                           "operators": PAPER})
            return
        by_depth(trees, args.depths, args.repeat, args.baseline_max_depth)
        systems(trees, args.repeat)
        opt_in_costs(ROOT, [d for d in args.depths if d <= 8] or [7])
        estimates(ROOT)
        print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
