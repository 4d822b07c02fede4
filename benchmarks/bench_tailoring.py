"""Benchmark the tailoring stage on the HNN pendulum (or spring): per-stage wall times and Table 1.

    python benchmarks/bench_tailoring.py --system pendulum --seeds 5 --jobs 2
    python benchmarks/bench_tailoring.py --discover-depth 5     # candidates from conslaw.discovery

Without ``--discover-depth`` the candidates are a fixed list of plausible laws (the energy, rescaled
and perturbed energies, small-angle and wrong laws), so this measures the tailoring stage alone.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from conslaw.datasets import load_dataset
from conslaw.tailoring import TailoringProtocol, run_tailoring

PAPER = {  # Noether Networks Tables 1-2: vanilla, Noether Nets, oracle
    "pendulum": {"vanilla": 0.0563, "noether": 0.0423, "oracle": 0.0422},
    "spring": {"vanilla": 0.0174, "noether": 0.0165, "oracle": 0.0166},
}

BUILTIN = {
    "pendulum": ["p**2 - 3*cos(q)", "p**2 - 2.99*cos(q)", "p**2 + 3*(1 - cos(q))", "2*p**2 - 6*cos(q)",
                 "p**2 - 2.9*cos(q)", "p**2 - 3.1*cos(q)", "p**2 - 2.5*cos(q)", "p**2 - 3.5*cos(q)",
                 "p**2 - 2*cos(q)", "p**2 - 4*cos(q)", "p**2 + 1.5*q**2", "p**2 + 1.4*q**2 - 0.1*q**4",
                 "p**2 + q**2", "p**2 + 3*q**2", "p**2", "cos(q)", "p**2*cos(q)", "p*q", "q", "p",
                 "p**2 - 3*cos(q) + 0.1*p*q", "sin(q)**2 + p**2"],
    "spring": ["q**2 + p**2", "q**2 + 1.002*p**2", "2*q**2 + 2*p**2", "q**2 + 0.9*p**2", "q**2 + 1.1*p**2",
               "q**2 + 0.5*p**2", "q**2 + 2*p**2", "q**2", "p**2", "q*p", "q", "p", "q**2 - p**2",
               "cos(q) + p**2", "q**2 + p**2 + 0.1*q*p", "sin(q)**2 + p**2"],
}


def discovered_candidates(system: str, depth: int) -> list[dict]:
    from conslaw.discovery.discover import DiscoveryConfig, discover

    result = discover(load_dataset(system, seed=0), DiscoveryConfig(depth=depth))
    return [{"id": str(i), "expression": c["expression"]} for i, c in enumerate(result.accepted)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="pendulum", choices=sorted(PAPER))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--backend", default="loky")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--meta-epochs", type=int, default=100)
    parser.add_argument("--loss-form", default="central")
    parser.add_argument("--dtype", default="float32", choices=["float64", "float32"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the ranking process")
    parser.add_argument("--discover-depth", type=int, default=None)
    parser.add_argument("--true-law-only", action="store_true", help="rank only the true law (loss-form study)")
    parser.add_argument("--cache-dir", default="/tmp/conslaw-bench-cache")
    parser.add_argument("--json", default=None, help="write result.json-style output here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    if args.discover_depth:
        candidates = discovered_candidates(args.system, args.discover_depth)
        print(f"discovery (depth {args.discover_depth}): {len(candidates)} accepted candidates "
              f"in {time.perf_counter() - started:.1f} s")
    elif args.true_law_only:
        candidates = [{"id": "true", "expression": load_dataset(args.system, seed=0).true_law}]
    else:
        candidates = [{"id": str(i), "expression": e} for i, e in enumerate(BUILTIN[args.system])]

    def progress(stage: str, done: int, total: int) -> None:
        print(f"  [{time.perf_counter() - started:7.1f} s] {stage} {done}/{total}", flush=True)

    results = run_tailoring(
        lambda seed: load_dataset(args.system, seed=seed), candidates, top=args.top, meta_epochs=args.meta_epochs,
        loss_form=args.loss_form, seeds=args.seeds, jobs=args.jobs, backend=args.backend,
        cache_dir=args.cache_dir, progress=progress, protocol=TailoringProtocol(dtype=args.dtype),
    )
    total = time.perf_counter() - started
    print(f"\n{args.system}: {len(candidates)} candidates, top {args.top}, {args.meta_epochs} meta epochs, "
          f"{args.seeds} seeds, jobs {args.jobs} ({args.backend}), loss form {args.loss_form}, {args.dtype}")
    for stage, seconds in results.timings.items():
        print(f"  {stage:12s} {seconds:8.1f} s")
    print(f"  {'total':12s} {total:8.1f} s   (ranking-process CPU {time.process_time():.1f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"selected: {results.selected}")
    print()
    print(results.table())
    evaluation = results.evaluation
    paper = PAPER[args.system]
    print(f"\npaper: vanilla {paper['vanilla']}, Noether {paper['noether']}, oracle {paper['oracle']}")
    print("per-seed:", json.dumps(evaluation["per_seed"]))
    print("inner lrs:", json.dumps(evaluation["inner_lrs"]))
    print("wins:", json.dumps(evaluation["wins"]))
    print("ci95:", json.dumps(evaluation["ci95"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(dict(results.to_dict(), benchmark={"total_s": total, **vars(args)}), handle, indent=1)


if __name__ == "__main__":
    main()
