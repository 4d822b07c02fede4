"""An existing dask cluster, as a search's workers: connect, and check that its workers run this
conslaw (the setup is in ``docs/discovery.md``, Parallelism)."""
from __future__ import annotations

from typing import Any

from conslaw.errors import UsageError

CONNECT_TIMEOUT = 5.0  # seconds to reach a dask scheduler
WORKER_TIMEOUT = 30.0  # seconds for the first dask worker to join it


def connect(address: str) -> Any:
    """A ``Client`` of the cluster at ``address`` whose workers run this conslaw (or a UsageError)."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except Exception as exc:  # a timeout, a malformed address, or a server that is not dask
        reason = (str(exc).splitlines() or [""])[0][:120]
        raise UsageError(f"--scheduler {address!r}: no dask scheduler answered within "
                         f"{CONNECT_TIMEOUT:g} s ({type(exc).__name__}: {reason})") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        versions = set(client.run(conslaw_version).values())
    except TimeoutError:
        client.close()
        raise UsageError(f"--scheduler {address!r}: no dask worker joined "
                         f"within {WORKER_TIMEOUT:g} s") from None
    except Exception as exc:  # a worker's error, such as ModuleNotFoundError: no conslaw
        client.close()
        raise UsageError(f"--scheduler {address!r}: workers cannot import conslaw "
                         f"({type(exc).__name__}); install it on every worker or put it on "
                         "their PYTHONPATH") from None
    if versions != {conslaw_version()}:
        client.close()
        raise UsageError(f"--scheduler {address!r}: workers run conslaw {sorted(versions)}, "
                         f"this process {conslaw_version()}")
    return client


def conslaw_version() -> str:
    from conslaw import __version__

    return __version__
