"""Discovery speed on the pendulum at depth 7 (whole-formula search).

Prints per-stage wall times, formulas fitted per second and peak RSS, and the speed-ups of
``--jobs 2`` over ``--jobs 1`` and of a 2-worker dask LocalCluster over a 1-worker one, all
measured in this process on the same formula space.
"""
from __future__ import annotations

import argparse
import resource
import time

from conslaw.datasets import load_dataset
from conslaw.discovery import DiscoveryConfig, discover
from conslaw.dsl import enumerate_formulas


def run(dataset, space, **options):
    start = time.perf_counter()
    result = discover(dataset, DiscoveryConfig(**options), space=space)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="pendulum")
    parser.add_argument("--depth", type=int, default=7)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    start = time.perf_counter()
    space = enumerate_formulas(dataset.columns, dataset.dimensions, args.depth)
    enumerate_s = time.perf_counter() - start

    timings = {}
    for jobs in (1, 2):
        result, seconds = run(dataset, space, depth=args.depth, jobs=jobs)
        timings[f"joblib jobs={jobs}"] = seconds
        if jobs == 2:
            print(f"{args.dataset}, depth {args.depth}: {len(space)} formulas, "
                  f"top law {result.candidates[0]['expression']}")
            print(f"  enumerate   {enumerate_s:6.2f} s")
            for stage in ("fit_s", "rank_s"):
                print(f"  {stage[:-2]:<11} {result.timings[stage]:6.2f} s")
            print(f"  total       {enumerate_s + seconds:6.2f} s  (target <= 20 s on 2 cores)")
            print(f"  fitted      {result.timings['formulas_per_second']:6.0f} formulas/s")
    if not args.skip_dask:
        for workers in (1, 2):
            _, seconds = run(dataset, space, depth=args.depth, jobs=workers, backend="dask")
            timings[f"dask workers={workers}"] = seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS    {peak_mb:6.0f} MB (this process)")
    for name, seconds in timings.items():
        print(f"  {name:<18} {seconds:6.2f} s")
    print(f"  speed-up joblib 2 vs 1: {timings['joblib jobs=1'] / timings['joblib jobs=2']:.2f}x")
    if not args.skip_dask:
        print(f"  speed-up dask 2 vs 1 workers: "
              f"{timings['dask workers=1'] / timings['dask workers=2']:.2f}x")


if __name__ == "__main__":
    main()
