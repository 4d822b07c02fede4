"""Rows with a missing value in a user's table: refused (the default), or taken out with their
trajectory split there (``--missing split``).

A tracker that loses its target for a few frames leaves empty cells (or NaN) in a recording.
Dropping such a row alone would leave a gap that finite differences and the conservation
windows would read across, so ``split`` ends the trajectory's piece at each such row: the rows
after it, in the file's order, begin the next piece, a trajectory of its own (``id/2``). Pieces
shorter than ``MIN_SAMPLES`` are dropped. Everything is said in one warning.
"""
from __future__ import annotations

import warnings
from typing import Hashable, Mapping, Sequence

import numpy as np

from conslaw.datasets.tables import MIN_SAMPLES, trajectory_keys
from conslaw.errors import ConslawError

MISSING_POLICIES = ("refuse", "split")
MISSING_TEXT = frozenset({"", "nan", "na", "n/a", "null"})
"""Cell texts (case-insensitive, stripped) that mean a missing value."""


def _missing_cells(values: np.ndarray) -> np.ndarray:
    """Whether each cell of one column is missing: NaN, or a text of ``MISSING_TEXT``."""
    array = np.asarray(values)
    if array.dtype.kind in "fc":
        return np.isnan(array)
    if array.dtype.kind in "iub":
        return np.zeros(array.shape, dtype=bool)
    return np.array([str(value).strip().lower() in MISSING_TEXT for value in array.tolist()], dtype=bool)


def refuse_missing(table: Mapping[str, np.ndarray], columns: Sequence[str]) -> None:
    """A one-line error naming the first missing cell among ``columns``, if there is one."""
    for column in columns:
        rows = np.flatnonzero(_missing_cells(table[column]))
        if rows.size:
            raise ConslawError(
                f"column {column!r} row {int(rows[0]) + 1}: value missing (empty or NaN; {rows.size} in this "
                "column); --missing split drops such rows and splits their trajectory there")


def _piece_ids(keys: list[Hashable], missing: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's piece (``id/k``, or the id itself for a trajectory without missing rows) in the
    file's order, and how many trajectories are split."""
    gaps = {key for key, gap in zip(keys, missing) if gap}
    seen: dict[Hashable, int] = {}
    after_gap: dict[Hashable, bool] = {}
    pieces = []
    for key, gap in zip(keys, missing):
        if gap:
            after_gap[key] = key in seen
            continue
        if key not in seen or after_gap.get(key):
            seen[key] = seen.get(key, 0) + 1
            after_gap[key] = False
        pieces.append(f"{key}/{seen[key]}" if key in gaps else str(key))
    split = sum(1 for key in gaps if seen.get(key, 0) > 1)
    return np.array(pieces, dtype=object), split


def split_at_missing(table: Mapping[str, np.ndarray], columns: Sequence[str],
                     trajectory_column: str) -> dict[str, np.ndarray]:
    """The table without the rows missing a value in ``columns``, the trajectory column rewritten
    to pieces (module docstring; added when the table has none) and the pieces under
    ``MIN_SAMPLES`` rows dropped; one warning says what was done."""
    missing = np.any([_missing_cells(table[column]) for column in columns], axis=0)
    if not missing.any():
        return dict(table)
    ids = table.get(trajectory_column)
    keys = [1] * len(missing) if ids is None else trajectory_keys(ids)
    pieces, split = _piece_ids(keys, missing)
    names, counts = np.unique(pieces, return_counts=True)
    short = set(names[counts < MIN_SAMPLES].tolist())
    kept = np.array([piece not in short for piece in pieces], dtype=bool)
    out = {name: np.asarray(values)[~missing][kept] for name, values in table.items()}
    out[trajectory_column] = pieces[kept]
    first = int(np.flatnonzero(missing)[0]) + 1
    warnings.warn(f"{int(missing.sum())} row(s) with a missing value (the first: row {first}) were dropped, "
                  f"splitting {split} trajectory(ies) there; {len(short)} piece(s) under {MIN_SAMPLES} samples "
                  f"were dropped ({int((~kept).sum())} rows)", UserWarning, stacklevel=3)
    return out


def apply_missing_policy(table: Mapping[str, np.ndarray], columns: Sequence[str], trajectory_column: str,
                         policy: str) -> Mapping[str, np.ndarray]:
    """The table as ``policy`` (``MISSING_POLICIES``) leaves it."""
    if policy not in MISSING_POLICIES:
        raise ConslawError(f"missing must be one of {list(MISSING_POLICIES)}, got {policy!r}")
    if policy == "refuse":
        refuse_missing(table, columns)
        return table
    return split_at_missing(table, columns, trajectory_column)
