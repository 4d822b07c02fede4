"""Discovery speed, measured side by side in one run: seconds per stage, formulas fitted per second,
peak memory, and speed-ups as ratios.

    python benchmarks/bench_discovery.py                        # pendulum, depth 7, --jobs 2
    python benchmarks/bench_discovery.py --baseline f514f9e     # also that commit's code, alternating
    python benchmarks/bench_discovery.py --system double-pendulum --options rate=200,t_end=2,n_trajectories=30 \
        --jobs 1 2                                              # --jobs 2 over --jobs 1
    python benchmarks/bench_discovery.py --jobs 1 2 --backends loky dask   # also dask LocalClusters

Every run is a fresh process (so that each pays its imports and its worker start, as a user's run
does) with this tree, or an extracted copy of ``--baseline``, first on its path; runs of
different code and job counts alternate, ``--repeat`` times each, and the best of each is
reported with the load average around it. Stages: the worker pool's start, prepare (segments,
null, control), enumerate, fit (every formula on the training data, held-out and control
scoring, workers' start included; formulas/s counts the formulas of the space), laws (the
candidates' records made laws, SymPy), rank (``rank_laws``). CPU seconds are counted too (the
searching process, and each worker with psutil), since on a shared machine wall times measure
the neighbours as much as the code: the search's CPU on its longest path (``_critical_cpu``) is
what its wall time would be on idle cores. Peak memory is the largest
resident set of the run's process and of any of its workers. Each run also prints a digest of
its ranked laws (accepted ones with coefficients, then the next best), which must agree between
the code versions.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import resource
import time

import baseline  # benchmarks/baseline.py, beside this script


def measure(system: str, options: str, depth: int, jobs: int, backend: str = "loky") -> dict:
    """One discovery (formulas only) with ``jobs`` workers of ``backend`` (loky processes, or a
    dask LocalCluster of ``jobs`` one-thread workers); timings and a result digest."""
    import warnings

    from conslaw.discovery.conservation import NULL_DRAWS, ConservationData
    from conslaw.discovery.formula_search import search_formulas
    from conslaw.discovery.ranking import rank_laws
    from conslaw.dsl.enumerate import enumerate_formulas
    from conslaw.law import StateColumns
    from conslaw.parallel import WorkerPool

    # the engine's discovery runs with the collector frozen; code from before that had none
    frozen = getattr(importlib.import_module("conslaw.threads"), "collector_frozen", contextlib.nullcontext)
    warnings.simplefilter("ignore")
    dataset = baseline.dataset(system, options)
    seconds, load = {}, os.getloadavg()[0]
    clock = time.perf_counter()
    with frozen(), WorkerPool(jobs=jobs, backend=backend) as pool:
        seconds["pool"] = time.perf_counter() - clock
        clock = time.perf_counter()
        data = ConservationData.prepare(dataset, 2.0, NULL_DRAWS, 0)
        seconds["prepare"] = time.perf_counter() - clock
        clock = time.perf_counter()
        space = enumerate_formulas(dataset.columns, dataset.dimensions, depth, seed=0)
        seconds["enumerate"] = time.perf_counter() - clock
        clock, cpu = time.perf_counter(), time.process_time()
        outcome = search_formulas(space, data, StateColumns.from_dataset(dataset), threshold=100.0,
                                  keep=200, seed=0, pool=pool)
        seconds["fit"] = outcome.timings["fit_s"]
        seconds["laws"] = time.perf_counter() - clock - seconds["fit"]
        workers = _workers_cpu()
    cpu = time.process_time() - cpu
    clock = time.perf_counter()
    laws = rank_laws(outcome.candidates, data, 100.0, 0)
    seconds["rank"] = time.perf_counter() - clock
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    digest = [f"{law.template} {[round(p.value, 9) for p in law.parameters]} {law.evidence.ratio:.6g}"
              + (" accepted" if law.accepted else "") for law in laws[:sum(law.accepted for law in laws) + 5]]
    return {"seconds": seconds, "formulas": len(space), "peak_mb": peak / 1024, "digest": digest,
            "load": [load, os.getloadavg()[0]], "counts": outcome.counts, "backend": backend,
            "cpu": {"search": cpu, "workers": workers}}


def _workers_cpu() -> list[float]:
    """CPU seconds of each worker process so far (their start included); [] without psutil."""
    try:
        import psutil
    except ImportError:
        return []
    return [sum(child.cpu_times()[:2]) for child in psutil.Process().children(recursive=True)]


def _run(tree: str, args: argparse.Namespace, jobs: int, backend: str) -> dict:
    return baseline.measured(__file__, tree, [args.system, args.options, str(args.depth), str(jobs), backend])


STAGES = ("prepare", "enumerate", "fit", "laws", "rank")


def _total(result: dict) -> float:
    return sum(result["seconds"][stage] for stage in STAGES)


def _critical_cpu(result: dict) -> float:
    """The search's CPU seconds on its longest path (what the wall time would be on idle cores):
    with loky the calling process fits beside its workers, so the larger of its CPU and its
    busiest worker's; with dask, whose client only waits, the two added. A baseline's result
    without a backend predates the fitting caller (its loky parent only waited)."""
    searching, busiest = result["cpu"]["search"], max(result["cpu"]["workers"], default=0.0)
    return max(searching, busiest) if result.get("backend") == "loky" else searching + busiest


def _report(name: str, result: dict) -> None:
    seconds = result["seconds"]
    stages = "  ".join(f"{stage} {value:5.2f}" for stage, value in seconds.items())
    print(f"{name:<26} {stages}  discovery {_total(result):6.2f} s  "
          f"{result['formulas'] / seconds['fit']:6.0f} formulas/s  search CPU {result['cpu']['search']:.2f} s "
          f"+ workers {sum(result['cpu']['workers']):.2f} s  peak {result['peak_mb']:4.0f} MB  "
          f"load {result['load'][0]:.1f}-{result['load'][1]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default="pendulum")
    parser.add_argument("--options", default="", help="make_variant options, e.g. rate=200,noise=0.05")
    parser.add_argument("--depth", type=int, default=7)
    parser.add_argument("--jobs", type=int, nargs="+", default=[2])
    parser.add_argument("--baseline", help="a git revision whose code runs beside this tree's")
    parser.add_argument("--backends", nargs="+", default=["loky"], choices=["loky", "dask"],
                        help="worker pools to run each job count with (dask: a LocalCluster)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        system, options, depth, jobs, backend = args.measure
        print(json.dumps(measure(system, options, int(depth), int(jobs), backend)))
        return
    trees = {"this tree": str(baseline.ROOT)}
    if args.baseline:
        trees[f"baseline {args.baseline}"] = baseline.extract(args.baseline)
    print(f"{args.system} {args.options} depth {args.depth}; {os.cpu_count()} CPUs; "
          f"load {os.getloadavg()[0]:.1f}")
    best: dict = {}
    for _ in range(args.repeat):
        for label, tree in trees.items():
            for backend in args.backends:
                for jobs in args.jobs:
                    result = _run(tree, args, jobs, backend)
                    key = f"{label}, {_pool_name(backend, jobs)}"
                    if key not in best or result["seconds"]["fit"] < best[key]["seconds"]["fit"]:
                        best[key] = result
    for key, result in best.items():
        _report(key, result)
    first = next(iter(best.values()))
    for key, result in best.items():
        if result["digest"] != first["digest"]:
            print(f"RESULTS DIFFER: {key}")
    print("ranked laws:", *first["digest"], sep="\n  ")
    _ratios(best, trees, args.jobs, args.backends)


def _pool_name(backend: str, jobs: int) -> str:
    return f"jobs {jobs}" if backend == "loky" else f"dask {jobs} worker{'s' if jobs > 1 else ''}"


def _with_pool(result: dict) -> float:
    """The discovery's wall time with the worker pool's start (a dask LocalCluster starts in a
    thread beside the preparation, so its start is partly inside the fit)."""
    return _total(result) + result["seconds"]["pool"]


def _compare(name: str, faster: dict, slower: dict) -> None:
    print(f"{name}: fit {slower['seconds']['fit'] / faster['seconds']['fit']:.2f}x wall, "
          f"discovery with the pool's start {_with_pool(slower) / _with_pool(faster):.2f}x wall, "
          f"{_critical_cpu(slower) / _critical_cpu(faster):.2f}x by CPU on the longest path")


def _ratios(best: dict, trees: dict, jobs: list[int], backends: list[str]) -> None:
    labels = list(trees)
    for backend in backends:
        for j in jobs:
            if len(labels) > 1:
                pool = _pool_name(backend, j)
                new, old = best[f"{labels[0]}, {pool}"], best[f"{labels[1]}, {pool}"]
                _compare(f"speed-up over the baseline, {pool}: discovery {_total(old) / _total(new):.2f}x,",
                         new, old)
    for label in labels:
        for backend in backends:
            if 1 in jobs and 2 in jobs:
                _compare(f"{label}: {_pool_name(backend, 2)} over {_pool_name(backend, 1)}",
                         best[f"{label}, {_pool_name(backend, 2)}"], best[f"{label}, {_pool_name(backend, 1)}"])
        if "dask" in backends and "loky" in backends and 2 in jobs:
            _compare(f"{label}: {_pool_name('dask', 2)} over {_pool_name('loky', 2)}",
                     best[f"{label}, {_pool_name('dask', 2)}"], best[f"{label}, {_pool_name('loky', 2)}"])


if __name__ == "__main__":
    main()
