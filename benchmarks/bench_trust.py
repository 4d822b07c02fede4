"""Trust on data never seen: dense variants of every built-in system, in the coordinates a user
would record, at 0, 1 and 5 % noise. For each: accepted laws, false laws (accepted but not a
function of the system's true laws), whether rank 1 is a true law, how many independent true
laws were found against how many exist, and seconds.

    python benchmarks/bench_trust.py [--systems pendulum spring ...] [--rate 200] [--jobs 2]
        [--noises 0 0.01 0.05] [--depth 7] [--mode both] [--max-seconds 120] [--coordinates NAME]
        [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import resource
import time

from conslaw.datasets import SYSTEMS, make_variant, user_coordinates
from conslaw.discovery.noise import biased
from conslaw.discovery.independence import functionally_dependent
from conslaw.engine import ConservationSearch


def judge(variant, search) -> dict:
    """The accepted laws checked against the variant's true laws (on a system without any, every
    accepted law is false). A false law whose term the data's noise biases, and which the run
    labels approximate with a warning for it (``conslaw.discovery.noise``), is listed apart."""
    dataset = variant.dataset
    states = dataset.stacked("train")
    states = states[:: max(1, len(states) // 300)]
    truths = list(variant.laws.values())
    true_flags = [bool(truths) and functionally_dependent(law.expression, truths, dataset.columns, states)
                  for law in search.accepted_laws_]
    independent_true = [law for law, ok in zip(search.accepted_laws_, true_flags) if ok and law.independent]
    false = [law for law, ok in zip(search.accepted_laws_, true_flags) if not ok]
    return {
        "accepted": len(search.accepted_laws_),
        "false": [f"{law.sympy('si')} ({law.quality})" for law in false if not biased(law.evidence.noise_bias)],
        "noise_biased": [str(law.sympy("si")) for law in false if biased(law.evidence.noise_bias)],
        "rank1_true": bool(true_flags[0]) if true_flags else False,
        "independent_true": len(independent_true),
        "expected_independent": variant.n_independent,
        "rank1": search.accepted_laws_[0].text() if search.accepted_laws_ else None,
    }


def print_judged_laws(row: dict) -> None:
    """The false laws of a judged row, then those labelled approximate for the noise's bias."""
    for law in row["false"]:
        print(f"{'':18s} false law: {law}")
    for law in row["noise_biased"]:
        print(f"{'':18s} not a true law, labelled approximate for the noise's bias: {law}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="*", default=list(SYSTEMS))
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--noises", type=float, nargs="*", default=[0.0, 0.01, 0.05])
    parser.add_argument("--depth", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--mode", default="both", choices=("formulas", "terms", "both"))
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="time budget per search (a search that runs out is marked partial)")
    parser.add_argument("--coordinates", default=None,
                        help="the coordinates of every system (default: those a user records, user_coordinates)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    print(f"{'system':18s} {'noise':>5s} {'sec':>6s} {'acc':>4s} {'false':>5s} {'rank1':>5s} "
          f"{'indep':>5s}  rank-1 law")
    for system in args.systems:
        for noise in args.noises:
            variant = make_variant(system, coordinates=args.coordinates or user_coordinates(system), rate=args.rate,
                                   noise=noise)
            started = time.perf_counter()
            search = ConservationSearch(depth=args.depth, jobs=args.jobs, mode=args.mode, tailor=False,
                                        max_seconds=args.max_seconds).fit(variant.dataset)
            seconds = time.perf_counter() - started
            partial = [name for name, account in search.discovery_.searches.items() if account.get("partial")]
            row = {"system": system, "label": variant.label, "noise": noise, "seconds": seconds,
                   "partial": partial, **judge(variant, search)}
            rows.append(row)
            print(f"{system:18s} {noise:5.2f} {seconds:6.1f} {row['accepted']:4d} {len(row['false']):5d} "
                  f"{'yes' if row['rank1_true'] else 'no':>5s} {row['independent_true']}/{row['expected_independent']:<3d}"
                  f"  {(row['rank1'] or '-')[:70]}{'  (partial: ' + ', '.join(partial) + ')' if partial else ''}",
                  flush=True)
            print_judged_laws(row)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {peak:.0f} MB; false laws in all: {sum(len(r['false']) for r in rows)}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
