"""Benchmark of the multi-term search: wall time per stage, library sizes, laws found.

Run: ``python benchmarks/bench_terms.py [--quick] [--systems a,b] [--noise 0.01]``. Each system
runs as ``discover`` runs it (``ConservationData.prepare``, ``search_terms`` with the default
``TermsConfig``, the default operators, seed 0), then ``rank_laws``. ``--quick``: the pendulum
and two-body only. Prints one block per system: the data, each vocabulary pass's library sizes
(products, kept after pruning, the fitted library, whether it was shrunk), seconds per stage,
and the accepted laws (quality, independence, ratio, expression).
"""
from __future__ import annotations

import argparse
import resource
import time

from conslaw.datasets import load_dataset
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.ranking import rank_laws
from conslaw.dsl.operators import PAPER_OPERATORS
from conslaw.law import StateColumns
from conslaw.terms import TermsConfig, search_terms

SYSTEMS = ("pendulum", "two-body", "kepler", "three-body")
QUICK = ("pendulum", "two-body")
THRESHOLD = 100.0


def run(name: str, noise: float, max_seconds: float | None) -> None:
    options = {"relative_noise": True} if noise else {}
    dataset = load_dataset(name, seed=0, noise=noise, **options)
    started, cpu = time.perf_counter(), time.process_time()
    data = ConservationData.prepare(dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    prepared = time.perf_counter() - started
    outcome = search_terms(dataset, data, StateColumns.from_dataset(dataset), TermsConfig(),
                           operators=PAPER_OPERATORS, threshold=THRESHOLD, keep=20, seed=0,
                           max_seconds=max_seconds)
    started = time.perf_counter()
    laws = rank_laws(outcome.candidates, data, THRESHOLD, 0)
    ranked = time.perf_counter() - started
    print(f"\n== {name} ({len(dataset.columns)} columns, noise {noise:g}): "
          f"{data.train.truth.x.shape[0]} training states, {data.train.truth.n_segments} segments")
    for counts in outcome.counts["passes"]:
        added = " ".join(counts["operators"][len(PAPER_OPERATORS):]) or "base"
        print(f"  depth {counts['term_depth']} x{counts['max_factors']} lifted {counts['max_lifted']} {added}: "
              f"factors {counts['factors']} "
              f"(lifted {counts['lifted_factors']}), products {counts['products']}, "
              f"evaluated {counts['products'] - counts.get('removed_unevaluated', 0)}, "
              f"fitted {counts['library_terms']} of {counts['allowed_terms']} allowed, "
              f"dense best {counts['dense_best_ratio']:.2e}, sparse laws {counts['sparse_found']}, "
              f"{counts['seconds']:.1f} s")
    timings = {k: round(v, 2) for k, v in outcome.timings.items()}
    print(f"  seconds: prepare {prepared:.2f}, {timings}, rank {ranked:.2f}; partial {outcome.partial}; "
          f"CPU {time.process_time() - cpu:.1f} s; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (process so far)")
    if outcome.reason:
        print(f"  reason: {outcome.reason}")
    for law in laws:
        if law.accepted:
            print(f"  {law.quality:11s} {'independent' if law.independent else '           '} "
                  f"{law.evidence.ratio:.1e} {law.text()[:140]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--noise", type=float, default=0.0, help="relative noise")
    parser.add_argument("--max-seconds", type=float, default=None)
    arguments = parser.parse_args()
    for name in QUICK if arguments.quick else arguments.systems.split(","):
        run(name, arguments.noise, arguments.max_seconds)


if __name__ == "__main__":
    main()
