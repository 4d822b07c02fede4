"""Trust beyond the trust table: built-in systems with other constants, coarse and fine sampling,
2 and 10 % noise and another seed, each judged as ``bench_trust.py`` judges (accepted, false,
noise-biased, independent true laws). The constants are chosen to leave the defaults' regime (a
pendulum that swings over the top, an anisotropic oscillator, weak friction), not to suit the
search.

    python benchmarks/bench_trust_sweep.py [--systems pendulum spring ...] [--jobs 1]
        [--max-seconds 60] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time

from bench_trust import judge

from conslaw.datasets import make_variant, user_coordinates
from conslaw.engine import ConservationSearch

CONSTANTS = {
    "pendulum": {"g": 9.81, "l": 0.7, "m": 0.2, "angle_unit": "deg"},
    "spring": {"k": 5.0, "m": 0.3},
    "oscillator2d": {"anisotropic": True, "kx": 1.0},
    "coupled-springs": {"m1": 0.7, "m2": 2.0, "k2": 0.4},
    "predator-prey": {"a": 0.7, "b": 0.3, "c": 0.2, "d": 0.9},
    "rigid-body": {"I1": 2.0, "I2": 3.0, "I3": 5.0},
    "damped-pendulum": {"gamma": 0.1},
    "lorenz": {"rho": 15.0},
    "double-pendulum": {"m2": 1.3, "l2": 1.2},
    "kepler": {"k": 5.0, "m": 0.5},
    "two-body": {"k": 1.0, "m": 2.0},
    "three-oscillators": {"m2": 0.6, "k2": 2.5, "k4": 0.9},
}
CELLS = ((25, 0.0), (25, 0.02), (100, 0.1))
"""(rate in Hz, noise as a fraction of each column's spread)."""
SEED = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="*", default=list(CONSTANTS))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time budget per search")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for system in args.systems:
        for rate, noise in CELLS:
            variant = make_variant(system, coordinates=user_coordinates(system), rate=rate, noise=noise,
                                   seed=SEED, **CONSTANTS[system])
            started = time.perf_counter()
            search = ConservationSearch(jobs=args.jobs, tailor=False, max_seconds=args.max_seconds) \
                .fit(variant.dataset)
            row = {"system": system, "rate": rate, "noise": noise,
                   "seconds": round(time.perf_counter() - started, 1), **judge(variant, search)}
            rows.append(row)
            print(f"{system:16s} {rate:4d} Hz {noise:5.2f} {row['seconds']:6.1f} s  accepted {row['accepted']:2d}  "
                  f"false {len(row['false'])}  noise-biased {len(row['noise_biased'])}  independent true "
                  f"{row['independent_true']}/{row['expected_independent']}  {(row['rank1'] or '-')[:60]}", flush=True)
            for law in row["false"]:
                print(f"{'':16s} false law: {law}")
            for law in row["noise_biased"]:
                print(f"{'':16s} not a true law, labelled approximate for the noise's bias: {law}")
    print(f"false laws in all: {sum(len(row['false']) for row in rows)}; noise-biased, labelled approximate: "
          f"{sum(len(row['noise_biased']) for row in rows)}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
