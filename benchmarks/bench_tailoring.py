"""Benchmark the tailoring stage: wall time per stage, the figures, and vectorized vs sequential.

    python benchmarks/bench_tailoring.py --system pendulum --seeds 5          # the defaults
    python benchmarks/bench_tailoring.py --compare --seeds 5 --meta-epochs 20 --train-steps 300
    python benchmarks/bench_tailoring.py --search --seeds 5                   # the whole search
    python benchmarks/bench_tailoring.py --training --train-steps 150         # the baselines' training

The candidates are a fixed list of plausible laws (the energy, rescaled and perturbed energies,
small-angle and wrong laws), so the tailoring stage is measured alone; ``--search`` times
``ConservationSearch.run`` (discovery + tailoring) instead. ``--compare`` runs the same stage
vectorized and one model at a time and prints both wall times per stage side by side.
``--training`` times the MLP and HNN baselines' training on the system's 5-seed data, side by side
in one run: each kind as one ensemble on every torch thread, one kind after the other (before
2026-12-04), against ``pretrained_params``' ensembles on one thread each, side by side.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import time

import sympy
import torch

from conslaw.datasets import load_dataset
from conslaw.tailoring import TailoringCandidate, TailoringConfig, run_tailoring

BUILTIN = {
    "pendulum": ["p**2 - 3*cos(q)", "p**2 - 2.99*cos(q)", "p**2 + 3*(1 - cos(q))", "2*p**2 - 6*cos(q)",
                 "p**2 - 2.9*cos(q)", "p**2 - 3.1*cos(q)", "p**2 - 2.5*cos(q)", "p**2 - 3.5*cos(q)",
                 "p**2 - 2*cos(q)", "p**2 - 4*cos(q)", "p**2 + 1.5*q**2", "p**2 + 1.4*q**2 - 0.1*q**4",
                 "p**2 + q**2", "p**2 + 3*q**2", "p**2", "cos(q)", "p**2*cos(q)", "p*q", "q", "p",
                 "p**2 - 3*cos(q) + 0.1*p*q", "sin(q)**2 + p**2"],
    "spring": ["q**2 + p**2", "q**2 + 1.002*p**2", "2*q**2 + 2*p**2", "q**2 + 0.9*p**2", "q**2 + 1.1*p**2",
               "q**2 + 0.5*p**2", "q**2 + 2*p**2", "q**2", "p**2", "q*p", "q", "p", "q**2 - p**2",
               "cos(q) + p**2", "q**2 + p**2 + 0.1*q*p", "sin(q)**2 + p**2"],
    # the recording: conslaw's discovered law (docs/protocol.md), HNN's fit k = 2.4, the paper's 2.39
    "real-pendulum": ["p**2 - 2.44425*cos(q)", "p**2 - 2.4*cos(q)", "p**2 - 2.39*cos(q)", "p**2 - 3*cos(q)",
                      "p**2 + q**2", "p**2", "p*q", "q"],
}
FIELDS = {f.name for f in dataclasses.fields(TailoringConfig)}


def source(system: str, data_dir):
    if system == "real-pendulum":
        dataset = load_dataset(system, data_dir=data_dir)
        return lambda seed: dataset
    return lambda seed: load_dataset(system, seed=seed)


def candidates(system: str) -> list[TailoringCandidate]:
    laws = BUILTIN[system]
    return [TailoringCandidate(str(i), sympy.sympify(law), True, i, i == 0) for i, law in enumerate(laws)]


def run(args, config: TailoringConfig, vectorize: bool) -> tuple[dict, float]:
    started = time.perf_counter()
    last = [started]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if args.verbose:
            print(f"  [{now - started:7.1f} s, +{now - last[0]:5.1f}] {stage} {done}/{total}", flush=True)
        last[0] = now

    results = run_tailoring(source(args.system, args.data_dir), candidates(args.system), config,
                            cache_dir=args.cache_dir if vectorize else None, progress=progress, vectorize=vectorize)
    return results.to_dict(), time.perf_counter() - started


def search(args, config: TailoringConfig) -> None:
    from conslaw.engine import ConservationSearch

    started = time.perf_counter()
    recorded = {"data_dir": args.data_dir} if args.system == "real-pendulum" else {}  # a simulated system refuses it
    found = ConservationSearch(dataset=args.system, **recorded, **dataclasses.asdict(config))
    found.run(cache_dir=args.cache_dir, progress=lambda s, d, t: args.verbose and print(
        f"  [{time.perf_counter() - started:7.1f} s] {s} {d}/{t}", flush=True))
    print(f"whole search on {args.system}: {time.perf_counter() - started:.1f} s; tailoring timings "
          f"{json.dumps({k: round(v, 1) for k, v in (found.tailoring_ or {}).get('timings', {}).items()})}")
    print(f"selected: {(found.tailoring_ or {}).get('selected')}")


def training(args, config: TailoringConfig) -> None:
    """The baselines' training both ways (see the module docstring), ms per step of both kinds."""
    import numpy as np

    from conslaw.tailoring.models import pretrained_params, train_ensemble
    from conslaw.tailoring.splits import seed_data

    data = [seed_data(source(args.system, args.data_dir)(k), k, config.recording_protocol) for k in range(config.seeds)]
    x, dxdt = np.stack([d.x for d in data]).astype(np.float32), np.stack([d.dxdt for d in data]).astype(np.float32)
    recipe = dict(hidden=config.hidden, steps=config.train_steps, lr=config.train_lr,
                  weight_decay=config.train_weight_decay)
    cores = torch.get_num_threads()
    started = time.perf_counter()
    for kind in ("mlp", "hnn"):
        train_ensemble(kind, x, dxdt, [d.seed for d in data], **recipe, threads=cores)
    before = time.perf_counter() - started
    started = time.perf_counter()
    pretrained_params(("mlp", "hnn"), list(x), list(dxdt), [d.seed for d in data], **recipe, workers=cores)
    after = time.perf_counter() - started
    steps = config.train_steps
    print(f"{len(data)} seeds x {x.shape[1]} states, {steps} steps of each kind, {cores} cores")
    print(f"  one ensemble per kind on {cores} threads, in turn: {before:.1f} s, {1000 * before / steps:.1f} ms/step")
    print(f"  ensembles on 1 thread each, side by side:       {after:.1f} s, {1000 * after / steps:.1f} ms/step")
    print(f"  speed-up {before / after:.2f}x; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="pendulum", choices=["pendulum", "spring", "real-pendulum"])
    parser.add_argument("--data-dir", default=os.environ.get("CONSLAW_DATA_DIR"))
    parser.add_argument("--cache-dir", default="/tmp/conslaw-bench-cache")
    parser.add_argument("--compare", action="store_true", help="also run one model at a time (no cache)")
    parser.add_argument("--search", action="store_true", help="time the whole ConservationSearch.run")
    parser.add_argument("--training", action="store_true", help="time the baselines' training both ways")
    parser.add_argument("--verbose", action="store_true", help="print every progress call")
    parser.add_argument("--json", default=None, help="write the tailoring section here")
    for field in dataclasses.fields(TailoringConfig):  # every option of the stage, by its name
        if field.name != "inner_lrs" and not isinstance(field.default, bool):
            parser.add_argument("--" + field.name.replace("_", "-"), type=type(field.default)
                                if field.default is not None else float, default=None)
    parser.add_argument("--combine", action="store_true")
    args = parser.parse_args()
    options = {k: v for k, v in vars(args).items() if k in FIELDS and v is not None and v is not False}
    config = TailoringConfig(**options)
    print(f"{args.system}: {json.dumps(options)}; torch threads {config.threads or torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.search:
        search(args, config)
        return
    if args.training:
        training(args, config)
        return
    result, total = run(args, config, vectorize=True)
    rows = [("vectorized", result["timings"], total)]
    if args.compare:
        sequential, seconds = run(args, config, vectorize=False)
        rows.append(("sequential", sequential["timings"], seconds))
    stages = ["training", "stage1", "stage2", "evaluation"]
    print(f"{'':12s}" + "".join(f"{s:>12s}" for s in stages + ["total"]))
    for name, timings, seconds in rows:
        print(f"{name:12s}" + "".join(f"{timings.get(s, 0.0):11.1f}s" for s in stages) + f"{seconds:11.1f}s")
    if args.compare:
        print(f"{'speed-up':12s}" + "".join(f"{rows[1][1][s] / max(rows[0][1][s], 1e-9):11.1f}x" for s in stages)
              + f"{rows[1][2] / rows[0][2]:11.1f}x")
    print(f"selected: {result['selected']}")
    evaluation = result["evaluation"]
    for method, stats in evaluation["summary"].items():
        print(f"  {method:10s} {stats['mean']:.4f} ± {stats['std']:.4f} (median {stats['median']:.4f}, n {stats['n']})"
              if stats["mean"] is not None else f"  {method:10s} -")
    for key, comparison in evaluation["paired"].items():
        print(f"  {key:22s} {json.dumps(comparison)}")
    print("inner lrs:", json.dumps(evaluation["inner_lrs"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
