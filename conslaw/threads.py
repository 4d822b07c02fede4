"""Process settings for the searches' hot loops: BLAS threads for their small matrices, where
threads only cost, and the garbage collector."""
from __future__ import annotations

import contextlib
import functools
import gc
from typing import Any, Iterator

from threadpoolctl import ThreadpoolController


@functools.lru_cache(maxsize=1)
def _thread_pools() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas() -> Any:
    """A context in which BLAS runs one thread. The process's thread pools are found once:
    ``threadpool_limits`` scans every loaded library on each call (1.3 ms once torch is loaded,
    paid per chunk of 128 formulas)."""
    return _thread_pools().limit(limits=1, user_api="blas")


@contextlib.contextmanager
def collector_frozen() -> Iterator[None]:
    """A context in which the objects alive at its start are left out of garbage collection
    (``gc.freeze``; ``gc.unfreeze`` at its end hands them back). A search creates containers
    fast enough to trigger full collections, each of which walks every object of the process
    (140,000 after the imports and the enumeration of the pendulum's formulas: 60 ms, 4 % of
    its discovery); frozen, those walks skip the objects that were there before. A process that
    froze objects of its own is left as it is (unfreezing would hand its objects back too)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
