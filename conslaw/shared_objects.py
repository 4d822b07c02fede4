"""Objects a worker pool sends to its workers once, and the functions that run tasks with them.

A ``Shared`` handle stands for the object in a task's arguments. With loky the object is written
once to a file (``write_shared``): a pickle (protocol 5, by cloudpickle) followed by its numpy
arrays' buffers, aligned; each worker maps the file and unpickles it on its first task that needs
it and keeps it, its arrays read-only views of the mapped file, so the workers share their pages.
In the process that shared it, and with dask (a scattered future), the handle holds the object.
``conslaw.parallel.WorkerPool`` is the only user.
"""
from __future__ import annotations

import dataclasses
import mmap
import pickle
import sys
from typing import Any, Callable, Optional, Sequence


@dataclasses.dataclass(frozen=True, eq=False)
class Shared:
    """A handle to an object a pool sent to its workers (``WorkerPool.share``); put it in tasks."""

    token: str
    path: Optional[str] = None  # loky: the file that each worker maps and unpickles once
    layout: tuple = ()  # loky: the pickle's size, then (offset, size) of each array buffer
    value: Any = dataclasses.field(default=None, repr=False)  # the object, in the calling process
    future: Any = dataclasses.field(default=None, repr=False)  # dask: the scattered future

    def __reduce__(self):
        return Shared, (self.token, self.path, self.layout)  # what travels with a loky task


_LOADED: dict[str, Any] = {}  # worker side: token -> shared object loaded from its file
_LIMITED = False  # worker side: BLAS, OpenMP and torch limited to one thread
_ALIGN = 64  # bytes: array buffers in a shared file start at multiples of this


def write_shared(obj: Any, path: str) -> tuple:
    """Write ``obj`` as a pickle (protocol 5, by cloudpickle, so that ``__main__``'s classes and
    functions travel by value) followed by its arrays' buffers, aligned; returns the layout."""
    import cloudpickle

    buffers: list = []
    data = cloudpickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    places, offset = [], len(data)
    with open(path, "wb") as stream:
        stream.write(data)
        for buffer in buffers:
            raw = buffer.raw()
            padding = -offset % _ALIGN
            stream.write(b"\0" * padding)
            places.append((offset + padding, raw.nbytes))
            stream.write(raw)
            offset += padding + raw.nbytes
    return (len(data), tuple(places))


def _load(path: str, layout: tuple) -> Any:
    """The object of a shared file, its arrays read-only views of the mapped file."""
    with open(path, "rb") as stream:
        view = memoryview(mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ))
    size, places = layout
    return pickle.loads(view[:size], buffers=[view[start:start + n] for start, n in places])


def _resolve(argument: Any) -> Any:
    if not isinstance(argument, Shared):
        return argument
    if argument.path is None or argument.value is not None:  # in the process that shared it
        return argument.value
    if argument.token not in _LOADED:
        _LOADED[argument.token] = _load(argument.path, argument.layout)
    return _LOADED[argument.token]


def run_task(function: Callable[..., Any], args: Sequence[Any]) -> Any:
    """Run one task in the calling process or a thread: handles resolved, thread settings kept."""
    return function(*(_resolve(argument) for argument in args))


def run_in_worker(function: Callable[..., Any], args: Sequence[Any]) -> Any:
    """Run one task in a worker process, whose first task makes it single-threaded."""
    global _LIMITED
    if not _LIMITED:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        _LIMITED = True
    return run_task(function, args)


def keep_growing_workers() -> None:
    """In a loky worker: never restart it for memory growth. loky takes 300 MB of growth after a
    worker's first task for a leak and replaces the worker, with a warning; a fitting worker's
    caches and the shared data it maps grow that much on large inputs (12 columns, 100,000
    samples), so each search restarted its worker, paying its imports again. The search's own
    budgets bound its memory. loky has no option for this, hence its module constant."""
    from joblib.externals.loky import process_executor

    process_executor._MAX_MEMORY_LEAK_SIZE = sys.maxsize
