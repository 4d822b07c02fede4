"""Friction on the drift rules: damped systems whose energy a loss drains, over friction
strengths, numbers of runs, sampling rates and noise. Each cell prints the accepted laws'
qualities, the candidates rejected as ``beating`` (a drift that does not go one way on every
trajectory) and the rank-1 law; run it with another tree first on ``PYTHONPATH`` to compare.

    python benchmarks/bench_friction.py [--seed 1] [--jobs 1] [--max-seconds 30]
"""
from __future__ import annotations

import argparse
import itertools
import time
import warnings

from conslaw.datasets import make_variant
from conslaw.engine import ConservationSearch

SYSTEMS = ("damped-pendulum", "duffing")
"""Systems whose friction rate is the constant ``gamma``."""
FRICTION = (0.005, 0.03)
RUNS = (2, 4, 12)
RATES = (10.0, 30.0)
NOISES = (0.0, 0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    args = parser.parse_args()
    started = time.perf_counter()
    totals = {"cells": 0, "with a law": 0, "laws": 0, "beating": 0}
    for system, gamma, runs, rate, noise in itertools.product(SYSTEMS, FRICTION, RUNS, RATES, NOISES):
        options = dict(gamma=gamma, n_trajectories=runs, rate=rate, noise=noise, seed=args.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search = ConservationSearch(jobs=args.jobs, tailor=False, max_seconds=args.max_seconds)
            search.fit(make_variant(system, **options).dataset)
        accepted = [law for law in search.laws_ if law.accepted]
        beating = sum(law.rejection == "beating" for law in search.laws_)
        totals.update({"cells": totals["cells"] + 1, "with a law": totals["with a law"] + bool(accepted),
                       "laws": totals["laws"] + len(accepted), "beating": totals["beating"] + beating})
        print(f"{system:16s} {options}  accepted {len(accepted)} {[law.quality for law in accepted]}  beating "
              f"{beating}  rank 1: {accepted[0].text(digits=3) if accepted else '-'}", flush=True)
    print(f"{totals['cells']} cells, {totals['with a law']} with an accepted law, {totals['laws']} laws accepted, "
          f"{totals['beating']} rejected as beating; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
