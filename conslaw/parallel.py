"""Parallel execution through joblib, so that a dask.distributed cluster runs the same tasks.

``backend`` is a joblib backend name ("loky", "threading", "sequential") or "dask". With
"dask", ``scheduler`` is a scheduler address (``tcp://host:8786``); without one, a
``LocalCluster`` of ``jobs`` single-threaded worker processes on loopback is started for the call.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable, Optional, Sequence

from joblib import Parallel, delayed, parallel_config

from conslaw.errors import UsageError

BACKENDS = ("loky", "threading", "sequential", "dask")


@contextlib.contextmanager
def _dask_client(jobs: int, scheduler: Optional[str]):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=10)
        except OSError as exc:
            raise UsageError(f"cannot reach dask scheduler {scheduler!r}: {exc}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=max(jobs, 1), threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def run_parallel(function: Callable[..., Any], tasks: Iterable[Sequence[Any]], *, jobs: int = 1,
                 backend: str = "loky", scheduler: Optional[str] = None) -> list[Any]:
    """``[function(*task) for task in tasks]``, run by joblib (or dask) in order."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {jobs}")
    tasks = list(tasks)
    if backend == "dask":
        with _dask_client(jobs, scheduler), parallel_config(backend="dask"):
            return Parallel(n_jobs=-1)(delayed(function)(*task) for task in tasks)
    if jobs == 1 or backend == "sequential" or len(tasks) <= 1:
        return [function(*task) for task in tasks]
    return Parallel(n_jobs=jobs, backend=backend)(delayed(function)(*task) for task in tasks)
