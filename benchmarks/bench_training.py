"""The baselines' training, measured side by side in one run: milliseconds per step of the
5-seed MLP and HNN ensembles (HNN pendulum data, 1125 points per seed, hidden 200, float32,
full-batch Adam), peak memory, and the speed-up of ``reuse_freed_memory`` (glibc's malloc keeps
freed blocks) over the allocator's default policy.

    python benchmarks/bench_training.py                 # 200 steps, 3 alternating runs each
    python benchmarks/bench_training.py --steps 2001    # the whole training of a search

Each measurement is a fresh process (the allocator's policy is per process); the two policies
alternate, ``--repeat`` times each, and the best of each is reported with the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("mlp", "hnn")


def measure(steps: int, reuse: bool) -> dict:
    """Train both kinds for ``steps`` steps in this process; milliseconds per step and peak RSS."""
    import numpy as np

    from conslaw.datasets import load_dataset
    from conslaw.tailoring.models import train_ensemble
    from conslaw.tailoring.pipeline import reuse_freed_memory
    from conslaw.tailoring.splits import seed_data

    applied = reuse_freed_memory() if reuse else False
    data = [seed_data(load_dataset("pendulum", seed=seed), seed, "split") for seed in range(5)]
    x, dxdt = np.stack([d.x for d in data]), np.stack([d.dxdt for d in data])
    result = {"reuse": applied, "points": int(x.shape[1]), "load": os.getloadavg()[0]}
    for kind in KINDS:
        started = time.perf_counter()
        train_ensemble(kind, x, dxdt, list(range(5)), hidden=200, steps=steps, lr=1e-3, weight_decay=1e-4)
        result[kind] = (time.perf_counter() - started) / steps * 1e3
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["default", "reuse"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.steps, args.child == "reuse")))
        return
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for policy in ("default", "reuse"):
            output = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--child", policy],
                                    capture_output=True, text=True, check=True, cwd=ROOT).stdout
            run = json.loads(output.splitlines()[-1])
            if policy not in best or run["mlp"] + run["hnn"] < best[policy]["mlp"] + best[policy]["hnn"]:
                best[policy] = run
    print(f"5-seed ensembles, {best['default']['points']} points per seed, {args.steps} steps; "
          f"{os.cpu_count()} CPUs; best of {args.repeat}")
    for policy, run in best.items():
        print(f"  {policy:8s} mlp {run['mlp']:6.1f} ms/step  hnn {run['hnn']:6.1f} ms/step  "
              f"peak {run['peak_mb']:5.0f} MB  load {run['load']:.1f}"
              + ("" if policy == "default" or run["reuse"] else "  (mallopt unavailable: default policy)"))
    for kind in KINDS:
        print(f"speed-up of reuse_freed_memory, {kind}: {best['default'][kind] / best['reuse'][kind]:.2f}x")


if __name__ == "__main__":
    main()
