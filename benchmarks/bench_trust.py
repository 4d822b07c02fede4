"""Trust on data never seen: dense variants of every built-in system, in the coordinates a user
would record, at 0, 1 and 5 % noise. For each: accepted laws, false laws (accepted but not a
function of the system's true laws), whether rank 1 is a true law, how many independent true
laws were found against how many exist, and seconds.

    python benchmarks/bench_trust.py [--systems pendulum spring ...] [--rate 200] [--jobs 2]
        [--noises 0 0.01 0.05] [--depth 7] [--mode both] [--max-seconds 120] [--coordinates NAME]
        [--derive] [--json out.json]

``--derive`` judges the data as a camera records them: each column that is another's time
derivative is dropped, and derived again from the recorded positions (``--derive``,
``conslaw.datasets.derivatives``) under its own name, so that the system's true laws apply.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import sympy

from conslaw.datasets import SYSTEMS, derive_columns, load_file, make_variant, units_spec, user_coordinates, write_csv
from conslaw.discovery.noise import biased
from conslaw.discovery.independence import functionally_dependent
from conslaw.engine import ConservationSearch


def judge(variant, search, copies: dict[str, str] | None = None) -> dict:
    """The accepted laws checked against the variant's true laws (on a system without any, every
    accepted law is false), each read with the ``copies`` (a column recorded a second time: its
    name -> the column's) replaced by their columns. A false law whose term the data's noise
    biases, and which the run labels approximate with a warning for it
    (``conslaw.discovery.noise``), is listed apart."""
    dataset = variant.dataset
    states = dataset.stacked("train")
    states = states[:: max(1, len(states) // 300)]
    truths = list(variant.laws.values())
    originals = {sympy.Symbol(copy, real=True): sympy.Symbol(column, real=True)
                 for copy, column in (copies or {}).items()}
    true_flags = [bool(truths) and functionally_dependent(law.expression.subs(originals), truths, dataset.columns,
                                                          states)
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


def derivative_columns(dataset) -> dict[str, str]:
    """The columns of noiseless ``dataset`` that are another's time derivative (exact rates:
    ``{"vx": "x"}`` where ``dx/dt = vx``)."""
    rates, states = (np.concatenate([getattr(tr, kind) for tr in dataset.train]) for kind in ("dxdt", "x"))
    return {dataset.columns[j]: dataset.columns[k] for j in range(dataset.n_state) for k in range(dataset.n_state)
            if j != k and np.allclose(rates[:, k], states[:, j], rtol=1e-9, atol=1e-12 * np.abs(states[:, j]).max())}


def positions_only(dataset, derived: dict[str, str], directory: str):
    """``dataset`` without the ``derived`` columns, written as a file and read back with them
    derived from the columns they are the derivatives of (``--derive "x=vx"``)."""
    path = write_csv(dataset, Path(directory) / f"{dataset.name}.csv")
    kept = ",".join(item for item in units_spec(dataset).split(",") if item.split("=")[0] not in derived)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dropped columns are "not named in the units"
        recorded = load_file(path, kept)
    return derive_columns(recorded, ",".join(f"{source}={name}" for name, source in derived.items()))


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
    parser.add_argument("--derive", action="store_true",
                        help="drop the velocity columns and derive them from the positions (--derive)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="conslaw-trust-") if args.derive else None  # the written files
    rows = []
    print(f"{'system':18s} {'noise':>5s} {'sec':>6s} {'acc':>4s} {'false':>5s} {'rank1':>5s} "
          f"{'indep':>5s}  rank-1 law")
    for system in args.systems:
        coordinates = args.coordinates or user_coordinates(system)
        derived = derivative_columns(make_variant(system, coordinates=coordinates, rate=args.rate).dataset) \
            if args.derive else {}
        if args.derive and not derived:
            print(f"{system:18s} no column is another's derivative: skipped")
            continue
        for noise in args.noises:
            variant = make_variant(system, coordinates=coordinates, rate=args.rate, noise=noise)
            data = positions_only(variant.dataset, derived, directory) if derived else variant.dataset
            started = time.perf_counter()
            search = ConservationSearch(depth=args.depth, jobs=args.jobs, mode=args.mode, tailor=False,
                                        max_seconds=args.max_seconds).fit(data)
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
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {peak:.0f} MB; false laws in all: {sum(len(r['false']) for r in rows)}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
