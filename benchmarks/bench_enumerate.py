"""Enumeration speed: the pendulum and spring spaces at depth 7 (and the opt-in operators).

Prints wall time, formulas per second, peak traced memory (a separate tracemalloc run, since
tracing slows Python down) and, as the in-process reference, the time ratio against the same
enumeration one depth lower (the cost of one more node).
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

from conslaw.dsl import EXTENDED_OPERATORS, PAPER_OPERATORS, enumerate_formulas, parse_unit

SYSTEMS = {
    "pendulum": (["q", "p"], ["rad", "kg*m**2/s"]),
    "spring": (["q", "p"], ["m", "kg*m/s"]),
    "oscillator2d": (["x", "y", "px", "py"], ["m", "m", "kg*m/s", "kg*m/s"]),
}


def measure(columns, units, depth, operators):
    dimensions = [parse_unit(u).dimension for u in units]
    start = time.perf_counter()
    space = enumerate_formulas(columns, dimensions, depth, operators=operators)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    enumerate_formulas(columns, dimensions, depth, operators=operators)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return space, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, default=7)
    args = parser.parse_args()
    print(f"{'system':<14}{'operators':<10}{'formulas':>10}{'seconds':>10}{'formulas/s':>12}"
          f"{'peak MB':>10}{'x depth-1':>10}")
    for name, (columns, units) in SYSTEMS.items():
        for label, operators in [("paper", PAPER_OPERATORS),
                                 ("extended", PAPER_OPERATORS + EXTENDED_OPERATORS)]:
            if name == "oscillator2d" and label != "paper":
                continue
            space, seconds, peak = measure(columns, units, args.depth, operators)
            dimensions = [parse_unit(u).dimension for u in units]
            start = time.perf_counter()
            enumerate_formulas(columns, dimensions, args.depth - 1, operators=operators)
            shallower = time.perf_counter() - start
            print(f"{name:<14}{label:<10}{len(space):>10}{seconds:>10.2f}{len(space) / seconds:>12.0f}"
                  f"{peak / 2**20:>10.0f}{seconds / shallower:>10.1f}")
    print("\ncost of each opt-in operator on the pendulum: formulas (seconds) by depth")
    columns, units = SYSTEMS["pendulum"]
    dimensions = [parse_unit(u).dimension for u in units]
    print(f"{'operators':<16}" + "".join(f"{d:>16}" for d in range(4, args.depth + 1)))
    for extra in ((),) + tuple((op,) for op in EXTENDED_OPERATORS):
        cells = []
        for depth in range(4, args.depth + 1):
            start = time.perf_counter()
            space = enumerate_formulas(columns, dimensions, depth, operators=PAPER_OPERATORS + extra)
            cells.append(f"{len(space)} ({time.perf_counter() - start:.2f})")
        print(f"{'paper' + ''.join('+' + e for e in extra):<16}" + "".join(f"{c:>16}" for c in cells))
    space, _, _ = measure(*SYSTEMS["pendulum"], args.depth, PAPER_OPERATORS)
    print("\npendulum pruning (candidates removed at each step):")
    for step, removed in space.removed.items():
        print(f"  {step:<22}{removed:>8}")


if __name__ == "__main__":
    main()
