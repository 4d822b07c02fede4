"""Run directories: config.json, the log file, checkpoints, resume and overwrite.

A run directory holds everything one ``conslaw search`` produced (see docs/output.md); every file
in it is written atomically (``conslaw.report.atomic``). ``--overwrite`` never destroys an
earlier result before the new run has finished: the new run is written into a staging sibling
``.<name>.staging`` and swapped in by :meth:`RunDirectory.finalize`.
"""
from __future__ import annotations

import datetime as _datetime
import io
import json
import logging
import os
import pickle
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Optional, Union

import numpy as np

import conslaw
from conslaw.errors import ConslawError, UsageError
from conslaw.report.atomic import (
    PathLike, atomic_save_npz, atomic_save_pickle, atomic_save_torch, atomic_write_json, fsync_directory,
    to_jsonable,
)

CONFIG_FILE = "config.json"
LOG_FILE = "conslaw.log"
CHECKPOINT_DIR = "checkpoints"
PLOTS_DIR = "plots"
LOGGER_NAME = "conslaw"

def default_run_path(dataset_name: str, now: Optional[_datetime.datetime] = None) -> Path:
    """``runs/<dataset>-<YYYYmmdd-HHMMSS>`` relative to the working directory."""
    stamp = (now or _datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    safe_name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dataset_name) or "run"
    return Path("runs") / f"{safe_name}-{stamp}"


def _is_nonempty_directory(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _probe_writable(directory: Path) -> None:
    """Check that ``directory`` can be created and written, without creating it (bad data found
    later must leave no directory behind); ConslawError naming it if not."""
    existing = next(path for path in (directory, *directory.parents) if path.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConslawError(f"cannot write the run directory {directory}: {existing} is not a "
                           "writable directory")


def _parse_log_level(level: Union[int, str]) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(str(level).strip().upper())
    if not isinstance(value, int):
        raise UsageError(
            f"--log-level {level!r} is not a level; choose DEBUG, INFO, WARNING, ERROR or CRITICAL"
        )
    return value


class RunDirectory:
    """One run's output directory.

    - New run (``path`` missing or empty): files are written straight into ``path``.
    - ``path`` holds files and neither flag is given: :class:`ConslawError` naming ``--overwrite``
      and ``--resume``.
    - ``resume=True``: ``path`` must be a conslaw run (it has ``config.json``); finished work is
      found through :meth:`has_checkpoint`. If an ``--overwrite`` run into ``path`` was
      interrupted, its staging directory is the run that is resumed.
    - ``overwrite=True`` on an existing run: the new run is written into the staging sibling
      ``.<name>.staging`` and :meth:`finalize` swaps it in; until then the old run is untouched.
      Only a conslaw run (a directory with ``config.json``) is ever replaced.

    ``work_path`` is where files go now (``path`` or the staging directory); ``os.fspath(run)``
    gives it too. Use as a context manager: a clean exit calls :meth:`finalize`, an exception
    leaves the staging directory (resumable) and the old run as they are.
    """

    def __init__(self, path: PathLike, *, resume: bool = False, overwrite: bool = False) -> None:
        if resume and overwrite:
            raise UsageError("--resume and --overwrite exclude each other: resume keeps the run, overwrite replaces it")
        self.path = Path(path)
        self.resume = resume
        self.overwrite = overwrite
        self.staging_path = self.path.parent / f".{self.path.name}.staging"
        self._log_handler: Optional[logging.Handler] = None
        self._log_level = logging.INFO
        self._finalized = False
        if self.path.exists() and not self.path.is_dir():
            raise ConslawError(f"the run directory {self.path} exists and is not a directory")
        if resume:
            self.work_path = self._resume_target()
        elif _is_nonempty_directory(self.path):
            if not overwrite:
                raise ConslawError(
                    f"{self.path} already holds files: pass --overwrite to replace it "
                    f"(the old run is kept until the new one finishes) or --resume to finish it"
                )
            if not (self.path / CONFIG_FILE).is_file():
                raise ConslawError(
                    f"{self.path} holds files but is not a conslaw run (no {CONFIG_FILE}); "
                    f"--overwrite only replaces runs: choose another --out"
                )
            if self.staging_path.exists():  # left behind by an interrupted earlier --overwrite
                shutil.rmtree(self.staging_path)
            self.work_path = self.staging_path
        else:
            self.work_path = self.path
        _probe_writable(self.work_path)

    def _resume_target(self) -> Path:
        if (self.staging_path / CONFIG_FILE).is_file():
            return self.staging_path
        if not self.path.is_dir():
            raise ConslawError(f"--resume {self.path}: no such directory")
        if not (self.path / CONFIG_FILE).is_file():
            raise ConslawError(f"--resume {self.path}: not a conslaw run directory (it has no {CONFIG_FILE})")
        return self.path

    def __fspath__(self) -> str:
        return os.fspath(self.work_path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r}, work_path={str(self.work_path)!r})"

    @property
    def is_staging(self) -> bool:
        """True while the run is written into the staging sibling (an ``--overwrite`` run)."""
        return self.work_path != self.path

    def file(self, name: str) -> Path:
        """The path of ``name`` inside the current work directory."""
        return self.work_path / name

    @property
    def plots_dir(self) -> Path:
        return self.work_path / PLOTS_DIR

    # ------------------------------------------------------------------ config

    def write_config(self, config: Mapping[str, Any]) -> Path:
        """Store the search's configuration and the conslaw version in ``config.json``."""
        record = {"conslaw_version": conslaw.__version__, "config": to_jsonable(dict(config))}
        self.work_path.mkdir(parents=True, exist_ok=True)
        return atomic_write_json(self.file(CONFIG_FILE), record)

    def read_config(self) -> dict:
        """The stored configuration (``SearchConfig.to_dict()``), after checking that this conslaw
        version wrote it."""
        path = self.file(CONFIG_FILE)
        try:
            stored = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ConslawError(f"cannot read {path}: {error}") from None
        if stored.get("conslaw_version") != conslaw.__version__ or "config" not in stored:
            raise ConslawError(f"--resume {self.path}: the run was made by conslaw "
                               f"{stored.get('conslaw_version')}, this is {conslaw.__version__}; start a new run")
        return stored["config"]

    # ------------------------------------------------------------------ logging

    def attach_logging(self, level: Union[int, str] = "INFO") -> logging.Handler:
        """Send the ``conslaw`` logger's records at ``level`` and above to ``conslaw.log`` (appending)."""
        self._log_level = _parse_log_level(level)
        self.detach_logging()
        handler = logging.FileHandler(self.file(LOG_FILE), mode="a", encoding="utf-8")
        handler.setLevel(self._log_level)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger(LOGGER_NAME)
        if logger.level == logging.NOTSET or logger.level > self._log_level:
            logger.setLevel(self._log_level)
        logger.addHandler(handler)
        self._log_handler = handler
        return handler

    def detach_logging(self) -> None:
        """Remove and close the log file handler, if attached."""
        if self._log_handler is not None:
            logging.getLogger(LOGGER_NAME).removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    # ------------------------------------------------------------------ checkpoints

    def checkpoint(self, name: str) -> Path:
        """The path of checkpoint ``name`` (e.g. ``"enumeration.pkl"``, ``"fit/chunk-0003.npz"``).

        The suffix picks the format in :meth:`save_checkpoint`: ``.json``, ``.npz``, ``.pt``
        (torch) or ``.pkl`` (pickle, also used when there is no suffix: ``.pkl`` is appended).
        """
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"checkpoint name {name!r} must be a relative path inside the run")
        if not relative.suffix:
            relative = relative.with_name(relative.name + ".pkl")
        return self.work_path / CHECKPOINT_DIR / Path(*relative.parts)

    def has_checkpoint(self, name: str) -> bool:
        return self.checkpoint(name).is_file()

    def save_checkpoint(self, name: str, obj: Any) -> Path:
        """Store ``obj`` atomically under ``name`` in the format its suffix names."""
        path = self.checkpoint(name)
        suffix = path.suffix
        if suffix == ".json":
            return atomic_write_json(path, obj)
        if suffix == ".npz":
            return atomic_save_npz(path, obj)
        if suffix == ".pt":
            return atomic_save_torch(path, obj)
        return atomic_save_pickle(path, obj)

    def load_checkpoint(self, name: str) -> Any:
        """Load checkpoint ``name`` (an ``.npz`` comes back as a dict of arrays)."""
        path = self.checkpoint(name)
        if not path.is_file():
            raise ConslawError(f"checkpoint {name!r} is missing from {self.work_path}")
        try:
            if path.suffix == ".json":
                return json.loads(path.read_text())
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as archive:
                    return {key: archive[key] for key in archive.files}
            if path.suffix == ".pt":
                import torch

                return torch.load(io.BytesIO(path.read_bytes()), weights_only=False)
            with path.open("rb") as handle:
                return pickle.load(handle)
        except Exception as error:  # a checkpoint from an incompatible build or a damaged disk
            raise ConslawError(f"checkpoint {path} cannot be read ({type(error).__name__}: {error})") from None

    @property
    def checkpoint_dir(self) -> Path:
        """``checkpoints/`` of the current work directory (e.g. a cache directory for models)."""
        return self.work_path / CHECKPOINT_DIR

    def store(self) -> "RunCheckpoints":
        """The run's checkpoints as a ``conslaw.checkpoints.Checkpoints`` store (pickles)."""
        return RunCheckpoints(self)

    # ------------------------------------------------------------------ completion

    def finalize(self) -> Path:
        """Mark the run complete: an ``--overwrite`` run's staging directory replaces ``path``.

        The old run is first renamed aside and deleted only after the new one is in place.
        Returns ``path``. Calling it again does nothing.
        """
        if self._finalized:
            return self.path
        if self.is_staging:
            reattach = self._log_handler is not None
            self.detach_logging()
            retired = self.path.parent / f".{self.path.name}.retired"
            if retired.exists():
                shutil.rmtree(retired)
            if self.path.exists():
                os.replace(self.path, retired)
            os.replace(self.staging_path, self.path)
            fsync_directory(self.path.parent)
            shutil.rmtree(retired, ignore_errors=True)
            self.work_path = self.path
            if reattach:
                self.attach_logging(self._log_level)
        self._finalized = True
        return self.path

    def close(self) -> None:
        """Stop writing the log file (the directory stays as it is)."""
        self.detach_logging()

    def output_paths(self) -> list[Path]:
        """The result files present in the run (result, tables, config, log, plots), for a summary."""
        names = ("result.json", "candidates.csv", "formulas.tex", "rollouts.npz", CONFIG_FILE, LOG_FILE)
        paths = [self.work_path / name for name in names if (self.work_path / name).is_file()]
        paths += sorted(self.plots_dir.glob("*.png")) if self.plots_dir.is_dir() else []
        return paths

    def __enter__(self) -> "RunDirectory":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None:
                self.finalize()
        finally:
            self.close()


class RunCheckpoints:
    """A run directory's checkpoints as ``load``/``save`` by key (``conslaw.checkpoints.Checkpoints``);
    each key is a pickle ``checkpoints/<key>.pkl``, and ``/`` in a key makes subfolders."""

    def __init__(self, run: RunDirectory) -> None:
        self.run = run

    def load(self, name: str) -> Any:
        """The stored value, or ``None`` when that piece of work has not been done yet."""
        key = name + ".pkl"
        return self.run.load_checkpoint(key) if self.run.has_checkpoint(key) else None

    def save(self, name: str, value: Any) -> None:
        self.run.save_checkpoint(name + ".pkl", value)
