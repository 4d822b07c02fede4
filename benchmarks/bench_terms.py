"""Benchmark of the multi-term search: wall time per stage, library sizes, laws found.

Run: ``python benchmarks/bench_terms.py [--quick] [--systems a,b] [--noise 0.01]``. Each system
runs as ``discover`` runs it (``ConservationData.prepare``, ``search_terms`` with the default
``TermsConfig``, the default operators, seed 0), then ``rank_laws``. ``--quick``: the pendulum
and two-body only. Prints one block per system: the data, each vocabulary pass's library sizes
(products, kept after pruning, the fitted library, whether it was shrunk), seconds per stage,
and the accepted laws (quality, independence, ratio, expression).

``--options coordinates=cartesian,noise=0.01`` runs variants (``make_variant`` options) instead
of the built-in data sets. ``--baseline REV`` also runs that revision's package, each system
in fresh processes, this tree first, and prints the speed-up as a ratio of the search's seconds
and CPU, and whether the accepted laws agree to 6 significant digits.
"""
from __future__ import annotations

import argparse
import json
import resource
import time

import baseline  # benchmarks/baseline.py, beside this script

SYSTEMS = ("pendulum", "two-body", "kepler", "three-body")
QUICK = ("pendulum", "two-body")
THRESHOLD = 100.0


def measure(name: str, noise: float, options: str, max_seconds: float | None) -> dict:
    """One multi-term search and its ranking: timings, library sizes and the accepted laws."""
    from conslaw.datasets import load_dataset
    from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
    from conslaw.discovery.ranking import rank_laws
    from conslaw.dsl.operators import PAPER_OPERATORS
    from conslaw.law import StateColumns
    from conslaw.terms import TermsConfig, search_terms

    dataset = baseline.dataset(name, options) if options else \
        load_dataset(name, seed=0, noise=noise, **({"relative_noise": True} if noise else {}))
    started, cpu = time.perf_counter(), time.process_time()
    data = ConservationData.prepare(dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    prepared = time.perf_counter() - started
    outcome = search_terms(dataset, data, StateColumns.from_dataset(dataset), TermsConfig(),
                           operators=PAPER_OPERATORS, threshold=THRESHOLD, keep=20, seed=0,
                           max_seconds=max_seconds)
    started = time.perf_counter()
    laws = rank_laws(outcome.candidates, data, THRESHOLD, 0)
    return {"name": name, "columns": len(dataset.columns), "noise": noise, "options": options,
            "states": int(data.train.truth.x.shape[0]), "segments": int(data.train.truth.n_segments),
            "passes": [{**counts, "added": " ".join(counts["operators"][len(PAPER_OPERATORS):]) or "base"}
                       for counts in outcome.counts["passes"]],
            "prepare": prepared, "timings": outcome.timings, "rank": time.perf_counter() - started,
            "partial": outcome.partial, "reason": outcome.reason, "cpu": time.process_time() - cpu,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "laws": [[law.quality, law.independent, law.evidence.ratio, law.text(), law.text(digits=6)]
                     for law in laws if law.accepted]}


def report(result: dict, label: str = "") -> None:
    """The block of one measured search (see the module docstring)."""
    data = result["options"] or f"noise {result['noise']:g}"
    print(f"\n== {result['name']} {label}({result['columns']} columns, {data}): "
          f"{result['states']} training states, {result['segments']} segments")
    for counts in result["passes"]:
        print(f"  depth {counts['term_depth']} x{counts['max_factors']} lifted {counts['max_lifted']} {counts['added']}: "
              f"factors {counts['factors']} (lifted {counts['lifted_factors']}), products {counts['products']}, "
              f"evaluated {counts['products'] - counts.get('removed_unevaluated', 0)}, "
              f"fitted {counts['library_terms']} of {counts['allowed_terms']} allowed, "
              f"dense best {counts['dense_best_ratio']:.2e}, sparse laws {counts['sparse_found']}, "
              f"{counts['seconds']:.1f} s")
    timings = {key: round(value, 2) for key, value in result["timings"].items()}
    print(f"  seconds: prepare {result['prepare']:.2f}, {timings}, rank {result['rank']:.2f}; "
          f"partial {result['partial']}; CPU {result['cpu']:.1f} s; peak RSS {result['peak_mb']:.0f} MB")
    if result["reason"]:
        print(f"  reason: {result['reason']}")
    for quality, independent, ratio, text, _ in result["laws"]:
        print(f"  {quality:11s} {'independent' if independent else '           '} {ratio:.1e} {text[:140]}")


def _in_process(tree: str, name: str, args: argparse.Namespace) -> dict:
    """``measure`` in a fresh process with ``tree``'s package first on its path."""
    arguments = [name, "--noise", str(args.noise), "--options", args.options]
    return baseline.measured(__file__, tree, arguments + (["--max-seconds", str(args.max_seconds)]
                                                          if args.max_seconds else []))


def side_by_side(names: list[str], args: argparse.Namespace) -> None:
    """Each system with this tree, then with the ``--baseline`` revision; their ratio."""
    trees = {"this tree": str(baseline.ROOT), f"baseline {args.baseline}": baseline.extract(args.baseline)}
    for name in names:
        results = {label: _in_process(tree, name, args) for label, tree in trees.items()}
        for label, result in results.items():
            report(result, f"[{label}] ")
        new, old = results.values()
        same = [law[:2] + law[4:] for law in new["laws"]] == [law[:2] + law[4:] for law in old["laws"]]
        print(f"  speed-up over the baseline: search {old['timings']['total_s'] / new['timings']['total_s']:.2f}x "
              f"wall, {old['cpu'] / new['cpu']:.2f}x CPU; the same accepted laws (6 digits): {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--noise", type=float, default=0.0, help="relative noise (built-in data sets)")
    parser.add_argument("--options", default="", help="make_variant options, e.g. coordinates=cartesian,noise=0.01")
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--baseline", help="a git revision whose code runs beside this tree's")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one system, as JSON (a baseline's run)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(arguments.measure, arguments.noise, arguments.options, arguments.max_seconds)))
        return
    names = list(QUICK) if arguments.quick else arguments.systems.split(",")
    if arguments.baseline:
        side_by_side(names, arguments)
        return
    for name in names:
        report(measure(name, arguments.noise, arguments.options, arguments.max_seconds))


if __name__ == "__main__":
    main()
