"""BLAS thread settings for the searches' small matrices, where threads only cost."""
from __future__ import annotations

import functools
from typing import Any

from threadpoolctl import ThreadpoolController


@functools.lru_cache(maxsize=1)
def _thread_pools() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas() -> Any:
    """A context in which BLAS runs one thread. The process's thread pools are found once:
    ``threadpool_limits`` scans every loaded library on each call (1.3 ms once torch is loaded,
    paid per chunk of 128 formulas)."""
    return _thread_pools().limit(limits=1, user_api="blas")
