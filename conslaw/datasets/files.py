"""User data files (CSV with a header row, or NPZ with one array per column) in long format."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from conslaw.datasets.tables import (
    BLOCK_TEST_FRACTION,
    build_trajectories,
    check_fraction,
    numeric_column,
    split_block,
    split_by_trajectory,
    warn_constant_columns,
)
from conslaw.datasets.types import TrajectoryDataset
from conslaw.dsl.units import ParsedUnit, parse_unit, parse_units_spec
from conslaw.errors import ConslawError, UsageError

TIME_DIMENSION = parse_unit("s").dimension


def resolve_units(units: str | Mapping[str, str | ParsedUnit]) -> dict[str, ParsedUnit]:
    """``"q=rad,p=kg*m**2/s"`` or ``{"q": "rad", ...}`` to an ordered column -> ``ParsedUnit``."""
    if isinstance(units, str):
        return parse_units_spec(units)
    if not isinstance(units, Mapping) or not units:
        raise UsageError(f"units must be a non-empty 'name=unit,...' string or mapping, got {units!r}")
    parsed: dict[str, ParsedUnit] = {}
    for column, unit in units.items():
        if isinstance(unit, ParsedUnit):
            parsed[column] = unit
            continue
        try:
            parsed[column] = parse_unit(str(unit))
        except ConslawError as exc:
            raise UsageError(f"units entry for {column!r}: {exc}") from None
    return parsed


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise ConslawError(f"data file {str(path)!r} is empty")
    header = [name.strip() for name in rows[0]]
    if len(rows) == 1:
        raise ConslawError(f"data file {str(path)!r} has a header but no data rows")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ConslawError(f"data file {str(path)!r}: column(s) {duplicates} appear more than once in the header")
    for index, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise ConslawError(
                f"data file {str(path)!r} row {index}: {len(row)} fields, but the header has {len(header)}"
            )
    body = np.array([[cell.strip() for cell in row] for row in rows[1:]], dtype=object)
    return {name: body[:, index] for index, name in enumerate(header)}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            table = {name: np.asarray(archive[name]) for name in archive.files}
    except (ValueError, OSError) as exc:
        raise ConslawError(f"data file {str(path)!r} is not a readable NPZ archive ({exc})") from None
    if not table:
        raise ConslawError(f"data file {str(path)!r} is empty (no arrays)")
    lengths = {}
    for name, array in table.items():
        if array.ndim != 1:
            raise ConslawError(f"data file {str(path)!r}: array {name!r} has shape {array.shape}; columns must be 1-D")
        lengths[name] = array.shape[0]
    if len(set(lengths.values())) > 1:
        raise ConslawError(f"data file {str(path)!r}: columns have different lengths {lengths}")
    if not next(iter(lengths.values())):
        raise ConslawError(f"data file {str(path)!r} is empty (no rows)")
    return table


def read_schmidt_lipson(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read a Schmidt & Lipson file: (state names, all column names, values (rows, columns)).

    Format: a header ``% name1 name2 ...`` naming the states, then whitespace-separated rows
    ``trial t name1 ...``, optionally followed by one derivative column ``d<name>`` per state.
    """
    if not path.is_file():
        raise ConslawError(f"data file {str(path)!r} not found")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ConslawError(f"data file {str(path)!r} is empty")
    if not lines[0].lstrip().startswith("%"):
        raise ConslawError(
            f"data file {str(path)!r}: first line {lines[0][:40]!r} is not a '% name ...' header"
        )
    names = lines[0].lstrip()[1:].split()
    if not names:
        raise ConslawError(f"data file {str(path)!r}: the '%' header names no columns")
    rows = [line.split() for line in lines[1:] if not line.lstrip().startswith("%")]
    if not rows:
        raise ConslawError(f"data file {str(path)!r} has a header but no data rows")
    width = len(rows[0])
    if width not in (2 + len(names), 2 + 2 * len(names)):
        raise ConslawError(
            f"data file {str(path)!r}: {width} columns per row, but the header names {len(names)} "
            f"state(s), so expected {2 + len(names)} (trial t states) or {2 + 2 * len(names)} (with derivatives)"
        )
    for index, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ConslawError(f"data file {str(path)!r} row {index}: {len(row)} fields, expected {width}")
    columns = ["trial", "t", *names] + ([f"d{name}" for name in names] if width > 2 + len(names) else [])
    text = np.array(rows, dtype=object)
    values = np.stack([numeric_column(text[:, i], column) for i, column in enumerate(columns)], axis=1)
    return names, columns, values


def _starts_with_percent_header(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line.lstrip().startswith("%")
    return False


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a CSV, NPZ or Schmidt & Lipson file into column name -> 1-D array (CSV cells stay text)."""
    file = Path(path)
    if not file.is_file():
        raise ConslawError(f"data file {str(file)!r} not found")
    suffix = file.suffix.lower()
    if suffix == ".npz":
        return _read_npz(file)
    if suffix in (".csv", ".txt"):
        if file.stat().st_size == 0:
            raise ConslawError(f"data file {str(file)!r} is empty")
        if _starts_with_percent_header(file):
            _, columns, values = read_schmidt_lipson(file)
            return {column: values[:, i] for i, column in enumerate(columns)}
        return _read_csv(file)
    raise ConslawError(f"data file {str(file)!r}: unsupported format {suffix or '(no suffix)'!r}; use .csv or .npz")


def _require_column(table: Mapping[str, np.ndarray], column: str, role: str, path: Path) -> np.ndarray:
    if column not in table:
        raise ConslawError(
            f"{role} column {column!r} not found in {path.name}; available columns: {', '.join(table)}"
        )
    return table[column]


def load_file(
    path: str | os.PathLike,
    units: str | Mapping[str, str | ParsedUnit],
    *,
    trajectory_column: str = "trajectory",
    time_column: str = "t",
    test_fraction: float = 0.5,
    seed: int = 0,
    block_test_fraction: float = BLOCK_TEST_FRACTION,
) -> TrajectoryDataset:
    """Load a long-format CSV/NPZ file as a ``TrajectoryDataset`` in coherent SI units
    (see ``dataset_from_table`` for the columns, units and split)."""
    file = Path(path)
    return dataset_from_table(
        read_table(file), units, name=file.stem, source=str(file),
        trajectory_column=trajectory_column, time_column=time_column,
        test_fraction=test_fraction, seed=seed, block_test_fraction=block_test_fraction)


def dataset_from_table(
    table: Mapping[str, np.ndarray],
    units: str | Mapping[str, str | ParsedUnit],
    *,
    name: str,
    source: str,
    trajectory_column: str = "trajectory",
    time_column: str = "t",
    test_fraction: float = 0.5,
    seed: int = 0,
    block_test_fraction: float = BLOCK_TEST_FRACTION,
) -> TrajectoryDataset:
    """A long-format table (column name -> values) as a ``TrajectoryDataset`` in coherent SI.

    The state columns are exactly those named in ``units`` (other columns are ignored). A
    unit given for ``time_column`` sets the time unit (seconds otherwise). Without
    ``trajectory_column`` the table is one trajectory, split in time (last
    ``block_test_fraction`` is test); otherwise whole trajectories are split by a seeded
    shuffle with ``test_fraction`` of them in test. Derivatives are finite differences in t.
    """
    file = Path(source)
    parsed = resolve_units(units)
    test_fraction = check_fraction("test_fraction", test_fraction)
    block_test_fraction = check_fraction("block_test_fraction", block_test_fraction)

    time_factor = 1.0
    if time_column in parsed:
        time_unit = parsed.pop(time_column)
        if time_unit.dimension != TIME_DIMENSION:
            raise UsageError(f"time column {time_column!r} has unit {time_unit.text!r}, which is not a time")
        time_factor = time_unit.to_si
    if trajectory_column in parsed:
        raise UsageError(f"column {trajectory_column!r} is the trajectory column; it cannot be a state in units")
    if not parsed:
        raise UsageError("units names no state column (only the time column)")

    t = numeric_column(_require_column(table, time_column, "time", file), time_column) * time_factor
    columns = tuple(parsed)
    states = np.stack(
        [numeric_column(_require_column(table, c, "state", file), c) * parsed[c].to_si for c in columns],
        axis=1,
    )
    trajectory_ids = table.get(trajectory_column)
    ids, trajectories = build_trajectories(
        trajectory_ids,
        t,
        states,
        single_label=f"the single trajectory (no column {trajectory_column!r} in the file)",
    )
    warn_constant_columns(columns, states)

    if len(trajectories) == 1:
        train_piece, test_piece = split_block(trajectories[0], block_test_fraction)
        train, test, test_ids = [train_piece], [test_piece], []
        split = f"one trajectory: contiguous time blocks, last {block_test_fraction:.0%} test"
    else:
        train, test, test_indices = split_by_trajectory(trajectories, test_fraction, seed)
        test_ids = [ids[i] for i in test_indices]
        split = f"by trajectory: seeded shuffle (seed {seed}), {len(test)} of {len(trajectories)} test"

    return TrajectoryDataset(
        name=name,
        columns=columns,
        dimensions=tuple(parsed[c].dimension for c in columns),
        train=train,
        test=test,
        units={c: parsed[c].text for c in columns},
        derivatives="finite-difference",
        metadata={
            "source": source,
            "trajectory_ids": ids,
            "test_trajectory_ids": test_ids,
            "split": split,
            "to_si": {c: parsed[c].to_si for c in columns},
            "time_to_si": time_factor,
            "rows": int(t.shape[0]),
        },
    )
