"""The worker pool on a workload shaped like formula fitting, every backend side by side.

Many independent chunks (``--chunk`` formulas each, a few to tens of ms) read one shared input
(a states array and a table of formula objects, about 25 MB); each formula is a small
generalized fit (Gram matrices and eigenvalues over a window of states), a third of them over a
grid of a nonlinear parameter. Prints wall times, speed-ups as ratios and the peak resident
memory of this process and its workers (summed RSS, so shared pages count once per process),
for: the sequential path, ``WorkerPool`` loky with 1 and 2 jobs, dask LocalClusters of 1 and 2
workers, and the old ``run_parallel`` called per wave as discovery called it (its dask variant
starts a cluster per wave, so only ``--old-dask-waves`` waves are run and the total is
extrapolated, and marked so). Every configuration must give the sequential results exactly.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import sys
import threading
import time
import warnings
from typing import Any, Callable

import numpy as np
import psutil
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_limits

from conslaw.parallel import WorkerPool, split_chunks

WINDOW = 1500


@dataclasses.dataclass(frozen=True)
class Formula:
    """A stand-in for a formula-table entry: Python objects, as in ``NodeTable``."""

    name: str
    columns: tuple[int, ...]
    powers: tuple[float, ...]
    start: int
    grid: tuple[float, ...]


def make_inputs(formulas: int, states: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(states, 4))
    table = []
    for i in range(formulas):
        k = int(rng.integers(3, 6))
        grid = tuple(np.linspace(0.5, 2.0, 8)) if i % 3 == 0 else (1.0,)
        table.append(Formula(f"f{i}", tuple(rng.integers(0, 4, size=k).tolist()),
                             tuple(rng.integers(1, 3, size=k).astype(float).tolist()),
                             int(rng.integers(0, states - WINDOW)), grid))
    return {"states": x, "table": table}


def fit_chunk(shared: dict, chunk: range) -> list[float]:
    """The smallest eigenvalue ratio of each formula's Gram matrix, best over its grid."""
    states, table = shared["states"], shared["table"]
    results = []
    with threadpool_limits(limits=1, user_api="blas"):
        for i in chunk:
            f = table[i]
            rows = states[f.start:f.start + WINDOW]
            features = rows[:, list(f.columns)] ** np.array(f.powers)
            best = np.inf
            for g in f.grid:
                scaled = np.cos(g * rows[:, :1]) * features
                eigenvalues = np.linalg.eigvalsh(scaled.T @ scaled)
                best = min(best, eigenvalues[0] / eigenvalues[-1])
            results.append(float(best))
    return results


def run_pool(inputs: dict, chunks: list[range], jobs: int, backend: str) -> list:
    with WorkerPool(jobs, backend) as pool:
        shared = pool.share(inputs)
        return pool.map(fit_chunk, chunks, shared=shared)


def run_parallel(function: Callable[..., Any], tasks: list, jobs: int, backend: str) -> list:
    """The old ``conslaw.parallel.run_parallel`` (deleted from the package once discovery used the
    pool), kept here as the baseline: a new dask cluster per call, every argument pickled into
    every task."""
    if backend == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster), \
                parallel_config(backend="dask"):
            return Parallel(n_jobs=-1)(delayed(function)(*task) for task in tasks)
    return Parallel(n_jobs=jobs, backend=backend)(delayed(function)(*task) for task in tasks)


def run_old(inputs: dict, chunks: list[range], jobs: int, backend: str) -> list:
    """``run_parallel`` per wave of ``2 * jobs`` chunks, the arguments pickled into every task."""
    results = []
    for offset in range(0, len(chunks), 2 * jobs):
        wave = [(inputs, chunk) for chunk in chunks[offset:offset + 2 * jobs]]
        results += run_parallel(fit_chunk, wave, jobs, backend)
    return results


def measure(runner: Callable[[], list]) -> tuple[float, float, list]:
    """Wall seconds, peak summed RSS (MB) of this process and its children, and the results."""
    me, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    results = runner()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return seconds, peak[0] / 2**20, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formulas", type=int, default=30_000)
    parser.add_argument("--states", type=int, default=800_000)
    parser.add_argument("--chunk", type=int, default=40, help="formulas per chunk")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--old-dask-waves", type=int, default=3)
    args = parser.parse_args()
    inputs = make_inputs(args.formulas, args.states)
    chunks = split_chunks(args.formulas, 2, max_size=args.chunk)
    old_dask = chunks[:4 * args.old_dask_waves]
    configurations = {
        "sequential": lambda: run_pool(inputs, chunks, 1, "sequential"),
        "loky jobs=1": lambda: run_pool(inputs, chunks, 1, "loky"),
        "loky jobs=2": lambda: run_pool(inputs, chunks, 2, "loky"),
        "dask workers=1": lambda: run_pool(inputs, chunks, 1, "dask"),
        "dask workers=2": lambda: run_pool(inputs, chunks, 2, "dask"),
        "old run_parallel loky jobs=2": lambda: run_old(inputs, chunks, 2, "loky"),
        "old run_parallel dask workers=2": lambda: run_old(inputs, old_dask, 2, "dask"),
    }
    size = (inputs["states"].nbytes + len(pickle.dumps(inputs["table"]))) / 2**20
    print(f"{args.formulas} formulas in {len(chunks)} chunks of <= {args.chunk}; shared input "
          f"{size:.0f} MB; {os.cpu_count()} CPUs; load average before "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    reference, times, peaks = None, {name: [] for name in configurations}, {}
    for _ in range(args.repeat):
        for name, runner in configurations.items():
            seconds, peak, results = measure(runner)
            reference = reference if reference is not None else results
            assert results == reference[:len(results)], f"{name} changed the results"
            if name.startswith("old run_parallel dask"):
                seconds *= len(chunks) / len(old_dask)
            times[name].append(seconds)
            peaks[name] = max(peaks.get(name, 0.0), peak)
    report(times, peaks, args.repeat)


def report(times: dict, peaks: dict, repeat: int) -> None:
    best = {name: min(values) for name, values in times.items()}
    print(f"{'configuration':<34}{'best s':>8}  {'all s':<18}{'peak MB':>8}")
    for name, values in times.items():
        note = "  (extrapolated)" if name.startswith("old run_parallel dask") else ""
        print(f"{name:<34}{best[name]:8.2f}  {' '.join(f'{v:.2f}' for v in values):<18}"
              f"{peaks[name]:8.0f}{note}")
    ratios = [("loky jobs 2 vs 1 (target >= 1.7)", "loky jobs=1", "loky jobs=2"),
              ("dask 2 vs 1 workers (target >= 1.6)", "dask workers=1", "dask workers=2"),
              ("dask 2 workers vs loky 2 jobs (target >= 1.0)", "loky jobs=2", "dask workers=2"),
              ("loky jobs 2 vs old run_parallel jobs 2", "old run_parallel loky jobs=2", "loky jobs=2"),
              ("dask 2 vs old run_parallel dask 2", "old run_parallel dask workers=2",
               "dask workers=2")]
    for label, slow, fast in ratios:
        print(f"speed-up {label}: {best[slow] / best[fast]:.2f}x")
    print(f"best of {repeat}; load average after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    warnings.filterwarnings("ignore", "Sending large graph")  # the old path's, by design
    # Run as the importable module, so that workers unpickle Formula by name, as conslaw's tables.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    __import__("bench_parallel").main()
