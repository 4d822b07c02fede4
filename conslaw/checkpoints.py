"""Where finished pieces of work are kept, so that an interrupted search resumes without redoing them.

Every stage takes a ``Checkpoints`` store and asks it for each piece of work by key
(``"fit/chunk-0003"``, ``"tailoring/stage1/12"``, ``"tailoring/seed-2"``) before computing it.
A run directory provides one that writes files (``conslaw.report.rundir``); the Python API uses
``MemoryCheckpoints``. Values are anything picklable.
"""
from __future__ import annotations

from typing import Any, Optional, Protocol


class Checkpoints(Protocol):
    """``load(key)`` returns the stored value, or ``None`` when that work is not done yet."""

    def load(self, key: str) -> Optional[Any]: ...

    def save(self, key: str, value: Any) -> None: ...


class MemoryCheckpoints:
    """A ``Checkpoints`` store in memory (a search that is not written to a run directory)."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def load(self, key: str) -> Optional[Any]:
        return self._values.get(key)

    def save(self, key: str, value: Any) -> None:
        self._values[key] = value
