"""The worker pool: same results on every backend, shared inputs sent once per worker, a real
dask cluster of separate processes, and one-line errors for bad options."""
import dataclasses
import gc
import json
import mmap
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conslaw import cluster, parallel
from conslaw.errors import ConslawError, UsageError
from conslaw.parallel import ParallelConfig, WorkerPool, split_chunks
from conslaw.threads import collector_frozen

ROOT = Path(__file__).resolve().parents[1]
LOADS = {"count": 0}  # how many times this process unpickled a Payload


class Payload:
    """A shared input (an array and a table of Python objects) that counts its unpickling."""

    def __init__(self, states: np.ndarray, table: list):
        self.states, self.table = states, table

    def __reduce__(self):
        return _load_payload, (self.states, self.table)


def _load_payload(states, table):
    LOADS["count"] += 1
    return Payload(states, table)


def make_payload(rows: int = 2_000, formulas: int = 60) -> Payload:
    rng = np.random.default_rng(0)
    table = [(f"f{i}", tuple(rng.integers(0, 3, size=3).tolist())) for i in range(formulas)]
    return Payload(rng.normal(size=(rows, 3)), table)


def fit(payload: Payload, chunk: range) -> tuple:
    """A chunk of "formulas": ``(pid, loads in this process, values)``."""
    values = [float(np.prod(payload.states ** np.array(payload.table[i][1]), axis=1).var())
              for i in chunk]
    return os.getpid(), LOADS["count"], values


def fit_beside_a_worker(payload: Payload, chunk: range, marks: str, caller: int, share: int) -> tuple:
    """``fit``, in turn with a worker: a worker marks that it fitted a chunk of ``share``, and the
    calling process waits (at most a minute) for that mark before it fits, so that both take part
    however long the worker takes to start."""
    mark = Path(marks) / str(share)
    if os.getpid() != caller:
        mark.touch()
    deadline = time.monotonic() + 60
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return fit(payload, chunk)


def read_value(obj) -> int:
    return obj.value


def writeable(payload: Payload) -> tuple[int, bool]:
    time.sleep(0.05)  # long enough for loky to hand some of the tasks to its worker
    return os.getpid(), payload.states.flags.writeable


def fail_on(payload: Payload, chunk: range) -> list:
    if 0 in chunk:
        raise ConslawError("formula 0 is bad")
    return list(chunk)


def values(results) -> list:
    return [value for _, _, chunk_values in results for value in chunk_values]


def run(pool: WorkerPool, payload: Payload, chunks) -> list:
    handle = pool.share(payload)
    return pool.map(fit, [(handle, chunk) for chunk in chunks])


def assert_loaded_once_per_worker(results, workers: int) -> None:
    loads = {}
    for pid, count, _ in results:
        loads[pid] = max(loads.get(pid, 0), count)
    assert os.getpid() not in loads and set(loads.values()) == {1} and len(loads) <= workers


@pytest.fixture(scope="module")
def expected():
    payload = make_payload()
    return payload, split_chunks(len(payload.table), 2, per_worker=4), \
        [fit(payload, range(i, i + 1))[2][0] for i in range(len(payload.table))]


def test_split_chunks():
    chunks = split_chunks(1000, 2, per_worker=4)
    assert [c.start for c in chunks[1:]] == [c.stop for c in chunks[:-1]]
    assert chunks[0].start == 0 and chunks[-1].stop == 1000 and len(chunks) == 8
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1
    assert len(split_chunks(1000, 2, min_size=300)) == 4
    assert max(map(len, split_chunks(1000, 1, max_size=10))) == 10
    assert split_chunks(0, 2) == [] and split_chunks(3, 8) == [range(0, 1), range(1, 2), range(2, 3)]


def test_config_defaults_are_neutral_and_use_every_core():
    config = ParallelConfig()
    assert config.jobs == 0 and config.workers == parallel.joblib.cpu_count()
    assert all(field.metadata["neutral"] for field in dataclasses.fields(ParallelConfig))
    assert WorkerPool(None).config == config


@pytest.mark.parametrize("options, culprit", [
    ({"backend": "mpi"}, "--backend 'mpi'"), ({"jobs": -1}, "--jobs"), ({"jobs": 1.5}, "--jobs"),
    ({"scheduler": "tcp://127.0.0.1:8786"}, "--scheduler"),
    ({"jobs": 2, "backend": "dask", "scheduler": "tcp://127.0.0.1:8786"}, "--jobs"),
    ({"jobs": 2, "backend": "sequential"}, "--jobs does not apply with --backend sequential")])
def test_bad_options_are_one_line_usage_errors(options, culprit):
    with pytest.raises(UsageError) as error:
        WorkerPool(**options)
    assert culprit in str(error.value) and "\n" not in str(error.value)


def test_unreachable_scheduler_is_a_one_line_usage_error(monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as probe:  # a free port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(UsageError) as error:
        with WorkerPool(backend="dask", scheduler=address):
            pass
    assert address in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("backend, jobs", [("sequential", 1), ("threading", 2), ("loky", 1)])
def test_in_process_backends_pass_the_object_itself(expected, backend, jobs):
    payload, chunks, reference = expected
    with WorkerPool(jobs, backend) as pool:
        handle = pool.share(payload)
        assert pool.map(lambda shared, chunk: shared is payload, chunks, shared=handle) == \
            [True] * len(chunks)
        assert values(run(pool, payload, chunks)) == reference


def test_loky_two_jobs_match_sequential_and_load_the_input_once(expected, tmp_path):
    """Two jobs: the calling process, which uses the object itself, and one loky worker, which
    maps it read-only and unpickles it once per share."""
    payload, chunks, reference = expected
    caller, loaded = os.getpid(), LOADS["count"]

    def run_beside_a_worker(pool: WorkerPool, share: int) -> list:
        handle = pool.share(payload)
        return pool.map(fit_beside_a_worker, [(handle, chunk, str(tmp_path), caller, share) for chunk in chunks])

    with WorkerPool(2, "loky") as pool:
        results = run_beside_a_worker(pool, 1)
        again = run_beside_a_worker(pool, 2)  # a second stage: its new share loads once more
        streamed = list(pool.as_completed(fit, chunks, shared=pool.share(payload)))
        script_class = type("Script", (), {"__module__": "__main__", "value": 7})  # a script's class
        assert pool.map(read_value, [()] * 4, shared=pool.share(script_class())) == [7] * 4
        flags = dict(pool.map(writeable, [()] * 6, shared=pool.share(payload)))
    assert flags.pop(caller) is True and list(flags.values()) == [False]  # the worker's is mapped
    assert values(results) == reference and values(again) == reference
    workers = [(pid, count) for pid, count, _ in results if pid != caller]
    assert {pid for pid, _ in workers} and len({pid for pid, _ in workers}) == 1
    assert {count for _, count in workers} == {1}
    assert {count for pid, count, _ in results if pid == caller} == {loaded}  # the object itself
    assert {count for pid, count, _ in again if pid != caller} == {2}
    assert sorted(index for index, _ in streamed) == list(range(len(chunks)))
    assert [v for _, (_, _, chunk) in sorted(streamed, key=lambda s: s[0]) for v in chunk] == reference


def note_or_wait(caller: int, notes: str, task: int) -> tuple[int, bool]:
    """A worker notes the task in the file ``notes``; the calling process waits until the
    workers have done 4 tasks (at most 60 s) and says whether they did."""
    if os.getpid() != caller:
        with open(notes, "a") as stream:
            stream.write(f"{task}\n")
        return task, True
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Path(notes).exists() and len(Path(notes).read_text().split()) >= 4:
            return task, True
        time.sleep(0.01)
    return task, False


def test_loky_workers_go_on_while_the_caller_runs_a_long_task(tmp_path):
    """The calling process's task lasts until the worker has done four others: loky keeps
    feeding the worker (it used to get two tasks ahead, then wait for the caller)."""
    notes = str(tmp_path / "done.txt")
    with WorkerPool(2, "loky") as pool:
        results = dict(pool.as_completed(note_or_wait, [(os.getpid(), notes, i) for i in range(10)]))
    assert sorted(results) == list(range(10)) and all(ok for _, ok in results.values())


def test_the_frozen_collector_hands_every_object_back_and_leaves_a_callers_own_frozen():
    assert gc.get_freeze_count() == 0
    with collector_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        with collector_frozen():
            pass
        # still frozen (unfreezing gives 0); not an exact count: frozen objects may be freed meanwhile
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_cheapest_quarter_of_the_tasks_starts_last():
    assert parallel.start_order([5, 1, 7, 3, 9, 2, 8, 4]) == [0, 2, 3, 4, 6, 7, 5, 1]
    assert parallel.start_order([2, 1, 3]) == [0, 1, 2]  # no quarter to keep


@pytest.mark.parametrize("backend, jobs", [("loky", 2), ("threading", 2)])
def test_with_costs_every_result_comes_back(expected, backend, jobs):
    payload, chunks, reference = expected
    costs = [len(chunk) * (i % 3) for i, chunk in enumerate(chunks)]
    with WorkerPool(jobs, backend) as pool:
        streamed = list(pool.as_completed(fit, chunks, shared=pool.share(payload), costs=costs))
    assert sorted(index for index, _ in streamed) == list(range(len(chunks)))
    assert [v for _, (_, _, chunk) in sorted(streamed, key=lambda s: s[0]) for v in chunk] == reference


GROWTH = {"calls": 0, "held": None}


def grow_once(_: int) -> int:
    """The second call in a process keeps 400 MB (as a worker's caches and mapped data grow on a
    large input) and lasts past loky's memory check interval (1 s), counted from the first. The
    pages are mapped resident at once (``MAP_POPULATE``): writing them one fault at a time cost
    1.2 s of CPU for the same resident size."""
    GROWTH["calls"] += 1
    if GROWTH["calls"] == 2:
        GROWTH["held"] = mmap.mmap(-1, 400_000_000, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
        time.sleep(1.05)
    return os.getpid()


def test_a_loky_worker_that_grows_is_kept():
    """loky replaces a worker whose memory grew 300 MB after its first task (with a warning to
    the user); the pool keeps its one worker for the whole search."""
    with WorkerPool(2, "loky") as pool:
        pids = pool.map(grow_once, range(8))
    workers = set(pids) - {os.getpid()}
    assert len(workers) == 1, pids


@pytest.mark.parametrize("backend", ["loky", pytest.param("dask", marks=pytest.mark.slow)])
def test_a_task_error_reaches_the_caller_and_stopping_early_is_clean(expected, backend):
    payload, chunks, _ = expected
    with WorkerPool(2, backend) as pool:
        handle = pool.share(payload)
        with pytest.raises(ConslawError, match="formula 0 is bad"):
            pool.map(fail_on, chunks, shared=handle)
        for _ in pool.as_completed(fit, chunks, shared=handle):
            break
        assert values(pool.map(fit, chunks[:2], shared=handle)) == expected[2][:chunks[1].stop]


def test_a_closed_pool_refuses_work():
    with WorkerPool(1) as pool:
        pass
    with pytest.raises(RuntimeError, match="with block"):
        pool.map(len, [()])


@pytest.mark.slow
def test_dask_local_cluster_matches_sequential_and_scatters_once(expected):
    payload, chunks, reference = expected
    with WorkerPool(2, "dask") as pool:
        assert pool.workers == 2
        results = run(pool, payload, chunks)
        # the nanny's default would turn off glibc's adaptive mmap threshold (parallel.py)
        assert pool.map(os.environ.get, [("MALLOC_TRIM_THRESHOLD_",)] * 2) == [None, None]
    assert values(results) == reference
    assert_loaded_once_per_worker(results, workers=2)
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ


@pytest.mark.slow
def test_a_dask_pool_closed_while_its_cluster_starts_leaves_no_process():
    """The local cluster starts in a thread; a pool closed before any use waits for it and
    stops its workers."""
    import psutil

    def spawned() -> list:
        return [child for child in psutil.Process().children(recursive=True)
                if "spawn_main" in " ".join(child.cmdline())]

    before = len(spawned())
    with WorkerPool(2, "dask") as pool:
        assert pool.workers == 2
    deadline = time.monotonic() + 30
    while len(spawned()) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(spawned()) == before


def _stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and its children (the nanny's worker)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def dask_cluster(tmp_path, request):
    """``dask scheduler`` and two ``dask worker`` processes on loopback; yields the address."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = tmp_path / "scheduler.json"
    processes = []
    request.addfinalizer(lambda: [_stop(p) for p in reversed(processes)])

    def start(*arguments):
        processes.append(subprocess.Popen([dask, *arguments], env=env, cwd=tmp_path,
                                          start_new_session=True, stdout=subprocess.DEVNULL,
                                          stderr=open(tmp_path / f"log{len(processes)}", "w")))

    start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
          "--scheduler-file", str(scheduler_file), "--idle-timeout", "300s")
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    for _ in range(2):
        start("worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
              "--death-timeout", "60s")
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    return address


@pytest.mark.slow
def test_a_real_dask_cluster_gives_the_local_results(expected, dask_cluster):
    payload, chunks, reference = expected
    with WorkerPool(backend="dask", scheduler=dask_cluster) as pool:
        assert pool.workers == 2
        results = run(pool, payload, chunks)
    assert values(results) == reference
    assert_loaded_once_per_worker(results, workers=2)
    with WorkerPool(backend="dask", scheduler=dask_cluster) as pool:  # the cluster outlives a pool
        assert values(run(pool, payload, chunks[:1])) == reference[:chunks[0].stop]
