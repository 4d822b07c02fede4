"""Atomic file writes: a reader (or a crash) sees either the old file or the new one, never half.

The bytes go to a temporary file in the same directory, are fsync'ed, and the temporary file is
renamed over the target with ``os.replace``. JSON is strict (non-finite floats become ``null``).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Union

import numpy as np

from conslaw.errors import ConslawError

PathLike = Union[str, "os.PathLike[str]"]



def fsync_directory(directory: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write via ``write(file)`` to a temporary sibling, fsync it and rename it onto ``path``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise ConslawError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(target.parent)
    return target


def atomic_save_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    return _atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    return atomic_save_bytes(path, text.encode("utf-8"))


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, paths, tuples and sets.

    Non-finite floats become ``null`` (strict JSON has no NaN or Infinity), so the files load in
    any JSON reader, not only Python's.
    """
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(item) for item in items]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in JSON: {value!r}")


def json_text(obj: Any) -> str:
    """``obj`` as indented, strict JSON (see :func:`to_jsonable`)."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"


def atomic_write_json(path: PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented, strict JSON (see :func:`to_jsonable`) atomically."""
    return atomic_write_text(path, json_text(obj))


def atomic_save_npz(path: PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Save named arrays as a compressed ``.npz`` atomically (loaded with ``np.load``)."""
    return _atomic_write(path, lambda handle: np.savez_compressed(handle, **dict(arrays)))


def atomic_save_torch(path: PathLike, obj: Any) -> Path:
    """``torch.save(obj)`` atomically (a state dict, tensors, ...)."""
    import torch

    return _atomic_write(path, lambda handle: torch.save(obj, handle))


def atomic_save_pickle(path: PathLike, obj: Any) -> Path:
    """Pickle ``obj`` atomically."""
    return _atomic_write(path, lambda handle: pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL))
