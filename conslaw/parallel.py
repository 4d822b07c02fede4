"""One worker pool per search: large inputs sent to each worker once, results streamed back.

    with WorkerPool(jobs=2) as pool:
        data = pool.share((table, states))      # sent to each worker once
        chunks = split_chunks(len(table), pool.workers, min_size=50)
        for index, records in pool.as_completed(fit, [(data, chunk) for chunk in chunks]):
            checkpoint.save(f"chunk-{index}", records)

A task is a tuple of positional arguments (anything else is the single argument); every
``Shared`` handle among them reaches the function as the object it stands for.

Backends and how a shared object travels:

- "sequential": tasks run in order in the calling process; the handle holds the object.
- "threading": a thread pool of the calling process; the handle holds the object. For work that
  releases the GIL; the caller's BLAS and torch thread settings are left as they are.
- "loky" (default): ``jobs`` processes work, the calling process and ``jobs - 1`` of joblib's
  loky worker processes, started once per pool. The calling process is warm (its imports and the
  shared objects are there already) and would otherwise wait: a worker costs about 0.5 s of CPU
  to start, a fifth of the pendulum's whole fit. Every task is submitted to the workers, which
  loky feeds from its queue; the calling process takes the next task not yet handed to a worker
  (cancelling it there) whenever it is free, so a worker never waits for it to come back from a
  task of its own, and a stream of results arrives at most one task later than from ``jobs``
  workers. ``share`` writes the object once to a file in a temporary directory (``TMPDIR``) that
  each worker maps (``conslaw.shared_objects``); the calling process uses the object itself.
  With one job, loky and threading run in the calling process only.
- "dask": a ``distributed.Client``; ``share`` is ``client.scatter(obj, broadcast=True)``, one copy
  per worker that every task on that worker receives. With ``scheduler="tcp://host:port"`` the
  client connects to that cluster (``jobs`` is then refused: the cluster's threads are the
  workers); without one, a ``LocalCluster`` of ``jobs`` single-threaded worker processes on
  127.0.0.1 is started once per pool, in a thread beside the search's preparation and enumeration
  (0.5-0.7 s of process starts; the first ``share`` or task waits for it and raises its error).
  Its client gathers results straight from the workers, several at a time as they finish, and
  its workers run without dask's profiler and system monitors (``_QUIET_LOCAL_CLUSTER``) and
  start without the ``MALLOC_TRIM_THRESHOLD_`` that dask's nanny sets by default:
  setting it turns off glibc's adaptive mmap threshold, so every numpy temporary over 128 KiB
  becomes fresh pages (faults and zeroing), which made the formula fit take 1.8x the CPU
  (pendulum, measured in and out of dask).

Shared objects are read-only by contract. Worker processes (loky, dask) run BLAS, OpenMP and
torch single-threaded, so that ``jobs`` workers use ``jobs`` cores: the matrices of a fitting
task are tiny and the parallelism comes from the tasks.

An existing dask cluster: how to set one up is in ``docs/discovery.md`` (Parallelism).
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import math
import os
import shutil
import tempfile
import uuid
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import joblib

from conslaw.cluster import connect
from conslaw.errors import UsageError
from conslaw.options import check_types, option, require
from conslaw.shared_objects import Shared, keep_growing_workers, run_in_worker, run_task, write_shared

BACKENDS = ("loky", "threading", "sequential", "dask")
_SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_QUIET_LOCAL_CLUSTER = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,  # a stack sample of every thread each 10 ms
    "distributed.admin.system-monitor.gil.enabled": False,  # a GIL probe each 1 ms
    "distributed.admin.system-monitor.interval": "2s",  # CPU and memory readings (0.5 s)
    "distributed.worker.memory.monitor-interval": "2s",  # each nanny's reading of its worker (0.1 s)
    "distributed.admin.tick.interval": "1s",  # the check for a blocked event loop (20 ms)
}
"""The local cluster's config. Without the profiler and the monitors, side by side with them
(double pendulum, depth 7, 2 workers): 15.7 s of the workers' CPU against 16.1 s, fit 1.02x.
The nannies' memory readings and the event loops' ticks run in the calling process, beside the
scheduler and the client: with them slowed, results gathered in batches and straight from the
workers, that process took 0.67 s of CPU instead of 1.01 s over a 10 s fit, fit 1.08x."""


@dataclasses.dataclass(frozen=True)
class ParallelConfig:
    """How a search spreads its work over cores; it never changes the numbers (neutral options).

    ``jobs`` defaults to 0, every core this process may use (``joblib.cpu_count()``: the CPU
    affinity and a container's CPU quota): the fitting tasks are independent and CPU-bound, so
    a second core nearly halves a search, and ``--jobs N`` caps it on a shared machine. The 0
    itself is stored, so that a run's configuration reads the same on every machine.
    """

    jobs: int = option(0, "Tasks run at once (0: every usable core); with loky, this process and "
                       "jobs - 1 worker processes.", neutral=True)
    backend: str = option("loky", "Parallel backend: joblib's loky processes, threads, none, or "
                          "dask.distributed.", choices=BACKENDS, neutral=True)
    scheduler: Optional[str] = option(None, "Address of an existing dask scheduler "
                                      "(tcp://host:8786); needs --backend dask.",
                                      metavar="ADDRESS", neutral=True)

    def __post_init__(self) -> None:
        check_types(self)
        require(self.jobs >= 0, self, "jobs", "must be an integer >= 0 (0: every usable core)")
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown --backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        require(not self.scheduler or self.backend == "dask", self, "scheduler",
                f"needs --backend dask (not {self.backend!r})")
        require(self.backend != "sequential" or self.jobs <= 1, self, "jobs",
                "does not apply with --backend sequential, which runs one task at a time")
        require(not self.scheduler or self.jobs == 0, self, "jobs",
                "does not apply with --scheduler: the cluster's workers are the jobs (start one "
                "single-threaded worker per core)")

    @property
    def workers(self) -> int:
        """``jobs``, with 0 resolved to the number of usable cores."""
        return self.jobs or joblib.cpu_count()


def _arguments(task: Any, shared: Optional[Shared]) -> tuple:
    args = task if isinstance(task, tuple) else (task,)
    return args if shared is None else (shared, *args)


def split_chunks(total: int, workers: int, *, per_worker: int = 8, min_size: int = 1,
                 max_size: Optional[int] = None) -> list[range]:
    """``range(total)`` cut into contiguous chunks, about ``per_worker`` of them per worker.

    Several chunks per worker balance uneven costs (a worker that drew cheap chunks takes more);
    ``min_size`` keeps each task long enough to amortise its overhead (about a millisecond for
    loky or dask), and ``max_size`` bounds the work a crash loses; ``max_size`` wins over
    ``min_size``, which wins over ``per_worker``. Sizes differ by at most one. The bounds depend
    on ``workers``, so a caller that checkpoints chunks should name them by their bounds.
    """
    if total <= 0:
        return []
    size = max(math.ceil(total / (max(workers, 1) * max(per_worker, 1))), min_size, 1)
    if max_size is not None:
        size = min(size, max(max_size, 1))
    count = math.ceil(total / size)
    bounds = [total * i // count for i in range(count + 1)]
    return [range(start, stop) for start, stop in zip(bounds, bounds[1:])]


def start_order(costs: Sequence[float]) -> list[int]:
    """The order in which tasks of estimated ``costs`` start on several processes: in order, but
    the cheapest quarter kept for the end, costliest of them first, so that the processes
    finish together on small pieces of work. The rest keep their order, in which neighbours
    share cached work. Measured against the plain order and against costliest first (pendulum
    and double pendulum, 2 jobs, three and two runs each): fit 0.73-0.77 s against 0.82-0.85 s
    and 0.78-0.84 s, and 6.29-6.39 s against 6.51-6.67 s and 6.56-6.70 s."""
    tail = sorted(range(len(costs)), key=lambda index: costs[index])[:len(costs) // 4]
    kept = set(tail)
    return [index for index in range(len(costs)) if index not in kept] + tail[::-1]


class WorkerPool:
    """Workers opened once (a ``with`` block) and reused by every stage of a search.

    ``jobs`` 0 or None means every usable core; see the module docstring for the backends.
    """

    def __init__(self, jobs: Optional[int] = 0, backend: str = "loky",
                 scheduler: Optional[str] = None) -> None:
        self.config = ParallelConfig(0 if jobs is None else jobs, backend, scheduler)
        self._executor: Optional[concurrent.futures.Executor] = None
        self._client: Any = None
        self._cluster: Any = None
        self._starting: Optional[concurrent.futures.Future] = None  # dask: (cluster, client)
        self._directory: Optional[str] = None
        self._shared: list[Shared] = []
        self._open = False

    @classmethod
    def from_config(cls, config: ParallelConfig) -> "WorkerPool":
        return cls(config.jobs, config.backend, config.scheduler)

    @property
    def in_process(self) -> bool:
        """Whether tasks run in the calling process (sequential, or one loky/threading job)."""
        return self.config.backend == "sequential" or (
            self.config.backend != "dask" and self.config.workers == 1)

    @property
    def workers(self) -> int:
        """How many tasks run at once: for an existing dask cluster, the sum of its workers'
        threads; for a local one, ``jobs`` (one thread each)."""
        if self._client is not None and self.config.scheduler:
            return max(sum(self._client.nthreads().values()), 1)
        return 1 if self.in_process else self.config.workers

    def __enter__(self) -> "WorkerPool":
        try:
            if self.config.backend == "dask":
                self._open_dask()
            elif not self.in_process:
                self._open_local()
        except BaseException:
            self.close()
            raise
        self._open = True
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close()

    def _open_local(self) -> None:
        if self.config.backend == "threading":
            self._executor = concurrent.futures.ThreadPoolExecutor(self.config.workers)
            return
        from joblib.externals.loky import ProcessPoolExecutor

        self._executor = ProcessPoolExecutor(self.config.workers - 1, env=_SINGLE_THREADED,
                                             initializer=keep_growing_workers)
        self._executor.submit(os.getpid)  # the workers start (import) while the caller shares

    def _open_dask(self) -> None:
        import dask
        from distributed import Client, LocalCluster

        if self.config.scheduler:
            self._client = connect(self.config.scheduler)
            return

        def start() -> tuple:
            # dask's nanny gives each worker process the single-threaded environment; None unsets
            # its MALLOC_TRIM_THRESHOLD_ (see the module docstring). The nanny hands this config
            # to its worker, which then skips housekeeping nobody reads (no dashboard).
            with dask.config.set(_QUIET_LOCAL_CLUSTER):
                cluster = LocalCluster(n_workers=self.config.workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1", dashboard_address=None)
            try:
                return cluster, Client(cluster, direct_to_workers=True)
            except BaseException:
                cluster.close()
                raise

        starter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="conslaw-dask")
        self._starting = starter.submit(start)
        starter.shutdown(wait=False)  # the thread ends when the cluster is up

    def _dask_client(self) -> Any:
        """The dask client, once the local cluster (started in a thread) is up."""
        if self._starting is not None:
            starting, self._starting = self._starting, None
            self._cluster, self._client = starting.result()
        return self._client

    def close(self) -> None:
        """Stop the workers (after their running tasks) and drop the shared objects."""
        self._open = False
        if self._starting is not None:  # a local dask cluster still starting, or that failed to
            try:
                self._dask_client()
            except Exception:  # its error was not asked for: nothing used the pool
                pass
        if self._executor is not None:  # pending tasks were cancelled by as_completed
            self._executor.shutdown(wait=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._executor = self._client = self._cluster = self._directory = None
        self._shared = []

    def share(self, obj: Any) -> Shared:
        """Send ``obj`` (read-only) to every worker once; tasks refer to it by the handle."""
        self._require_open()
        token = uuid.uuid4().hex
        if self.config.backend == "dask":
            future = self._dask_client().scatter([obj], broadcast=True, hash=False)[0]
            handle = Shared(token, future=future)
        elif self._executor is not None and self.config.backend == "loky":
            if self._directory is None:
                self._directory = tempfile.mkdtemp(prefix="conslaw-shared-")
            path = os.path.join(self._directory, f"{token}.pickle")
            handle = Shared(token, path=path, layout=write_shared(obj, path), value=obj)
        else:
            handle = Shared(token, value=obj)
        self._shared.append(handle)
        return handle

    def map(self, function: Callable[..., Any], tasks: Iterable[Any],
            shared: Optional[Shared] = None) -> list[Any]:
        """``[function(*task) for task in tasks]`` run by the workers; ``shared`` comes first."""
        tasks = list(tasks)
        results: list[Any] = [None] * len(tasks)
        for index, result in self.as_completed(function, tasks, shared):
            results[index] = result
        return results

    def as_completed(self, function: Callable[..., Any], tasks: Iterable[Any],
                     shared: Optional[Shared] = None,
                     costs: Optional[Sequence[float]] = None) -> Iterator[tuple[int, Any]]:
        """Yield ``(task index, result)`` as each task finishes (in order when in process).

        Tasks start in order; with ``costs`` (an estimate per task, in any unit) and more than one
        process, in ``start_order``. A task's exception is raised when its result is reached;
        stopping early (or an exception) cancels the tasks not yet started.
        """
        self._require_open()
        calls = [_arguments(task, shared) for task in tasks]
        if self.in_process:
            for index, args in enumerate(calls):
                yield index, run_task(function, args)
            return
        order = start_order(costs) if costs is not None else list(range(len(calls)))
        if self.config.backend == "dask":
            yield from self._dask_completed(function, calls, order)
            return
        if self.config.backend == "threading":
            futures = {self._executor.submit(run_task, function, calls[index]): index for index in order}
            try:
                for future in concurrent.futures.as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for future in futures:
                    future.cancel()
            return
        yield from self._loky_completed(function, calls, order)

    def _loky_completed(self, function: Callable[..., Any], calls: list[tuple],
                        order: list[int]) -> Iterator[tuple[int, Any]]:
        """Every task is submitted, in ``order``, to the loky workers, which loky feeds from its
        queue; the calling process takes the first task not yet handed to a worker (cancelling
        it there) whenever it is free, and waits once none is left. A worker never waits for the
        calling process to come back from a long task of its own."""
        futures = {index: self._executor.submit(run_in_worker, function, calls[index]) for index in order}
        with_workers = {future: index for index, future in futures.items()}
        untaken = collections.deque(order)
        try:
            while with_workers:
                for future in [future for future in with_workers if future.done()]:
                    yield with_workers.pop(future), future.result()
                taken = None
                while taken is None and untaken:
                    index = untaken.popleft()
                    if futures[index].cancel():  # not yet handed to a worker
                        taken = with_workers.pop(futures[index])
                if taken is not None:
                    yield taken, run_task(function, calls[taken])
                elif with_workers:
                    concurrent.futures.wait(with_workers, return_when=concurrent.futures.FIRST_COMPLETED)
        finally:
            for future in futures.values():
                future.cancel()

    def _dask_completed(self, function: Callable[..., Any], calls: list[tuple],
                        order: list[int]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        # Lists, not tuples, so that dask looks inside for the shared futures and nothing else.
        arguments = [[a.future if isinstance(a, Shared) else a for a in calls[index]] for index in order]
        client = self._dask_client()
        futures = client.map(run_in_worker, [function] * len(calls), arguments, pure=False)
        index = {future.key: i for i, future in zip(order, futures)}
        try:
            for future, result in as_completed(futures, with_results=True):
                yield index[future.key], result
        finally:
            client.cancel(futures)

    def _require_open(self) -> None:
        if not self._open:
            raise RuntimeError("WorkerPool is not open: use it in a with block")
