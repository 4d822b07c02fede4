"""User data files (text tables with a header row, or NPZ with one array per column) in long format."""
from __future__ import annotations

import contextlib
import csv
import os
import re
import warnings
from pathlib import Path
from typing import Hashable, Mapping, Sequence

import numpy as np

from conslaw.datasets.header_units import merge_header_units, split_header_units
from conslaw.datasets.schmidt_lipson import read_schmidt_lipson
from conslaw.datasets.tables import (
    BLOCK_TEST_FRACTION,
    TIME_DIMENSION,
    build_trajectories,
    check_column_values,
    check_fraction,
    numeric_column,
    resolve_units,
    split_block,
    split_by_trajectory,
    time_stamp_seconds,
    unwrapped_angles,
)
from conslaw.datasets.missing import apply_missing_policy
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import ANGLE, ParsedUnit
from conslaw.errors import ConslawError, UsageError


SEPARATORS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "bars"}
"""Field separators of text tables, tried in this order on the header line; a header with none
of them is split at runs of white space (a lab program's ``.dat``)."""

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")

_DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")


COMMENT = "#"
"""A line whose first non-blank character is this is a comment (a lab program's notes)."""

_FIELDS = re.compile(r"[^,;\t| ]+")


def _table_lines(path: Path) -> list[str]:
    """The file's non-blank lines but comments, the header first: the first line that is not a
    comment or, when that line holds numbers only, the last comment line before it without its
    mark (``numpy.savetxt`` writes its header so: ``# t,x,v``)."""
    lines = [line for line in _decoded(path).splitlines() if line.strip()]
    commented = [line.lstrip().startswith(COMMENT) for line in lines]
    first = commented.index(False) if False in commented else len(lines)
    body = [line for line, comment in zip(lines[first:], commented[first:]) if not comment]
    if first and body and _numbers_only(body[0]):
        body.insert(0, lines[first - 1].lstrip()[len(COMMENT):].strip())
    return body


def _decoded(path: Path) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), else Windows-1252 with a warning (a
    Windows lab program's '°' or 'µ'); a file that is neither, or holds NUL bytes, is no text."""
    data = path.read_bytes()
    if b"\x00" not in data:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            offset = error.start
        with contextlib.suppress(UnicodeDecodeError):
            text = data.decode("cp1252")
            warnings.warn(f"data file {str(path)!r} is not UTF-8 (byte {data[offset]:#04x} at offset {offset}): "
                          "read as Windows-1252", stacklevel=5)
            return text
    raise ConslawError(f"data file {str(path)!r} is not a text table (its bytes are neither UTF-8 nor "
                       "Windows-1252 text); save it as CSV in UTF-8, or as an NPZ archive")


def _numbers_only(line: str) -> bool:
    """Whether every field of ``line``, split at any separator (decimal commas split too), is a
    number."""
    try:
        [float(field) for field in _FIELDS.findall(line)]
    except ValueError:
        return False
    return True


def _separator(header: str) -> str | None:
    """The header line's field separator (None: white space)."""
    return next((separator for separator in SEPARATORS if separator in header), None)


def _text_rows(lines: list[str], separator: str | None) -> list[list[str]]:
    """The lines split into stripped fields."""
    if separator is None:
        rows = [line.split() for line in lines]
    else:
        rows = [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=separator)]
    rows = [row for row in rows if any(row)]
    if separator == ";":
        # ';' separates fields where ',' is the decimal mark (the European spreadsheet export);
        # in files separated otherwise a comma in a number is refused as text, never guessed
        rows[1:] = [[cell.replace(",", ".") if _DECIMAL_COMMA.fullmatch(cell) else cell for cell in row]
                    for row in rows[1:]]
    return rows


def _read_text_table(path: Path) -> dict[str, np.ndarray]:
    """A text table with a header row, separated by commas, tabs, semicolons (whose numbers may
    have decimal commas), bars or white space, comment lines left out (``_table_lines``), as
    column name -> text cells; ragged rows and duplicate names raise."""
    lines = _table_lines(path)
    separator = _separator(lines[0]) if lines else None
    rows = _text_rows(lines, separator)
    if not rows:
        raise ConslawError(f"data file {str(path)!r} is empty")
    header = rows[0]
    if len(rows) == 1:
        raise ConslawError(f"data file {str(path)!r} has a header but no data rows")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ConslawError(f"data file {str(path)!r}: column(s) {duplicates} appear more than once in the header")
    fields = SEPARATORS.get(separator, "white space")
    for index, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise ConslawError(f"data file {str(path)!r} row {index}: {len(row)} fields, but the header "
                               f"has {len(header)} (fields separated by {fields})")
    body = np.array(rows[1:], dtype=object)
    return {name: body[:, index] for index, name in enumerate(header)}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """An NPZ archive of equally long 1-D arrays as column name -> array."""
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


def _starts_with_percent_header(path: Path) -> bool:
    """Whether the first non-blank line starts with ``%`` (a Schmidt & Lipson file)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line.lstrip().startswith("%")
    return False


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a text table, NPZ or Schmidt & Lipson file into column name -> 1-D array (text cells
    stay text)."""
    file = Path(path)
    if not file.is_file():
        raise ConslawError(f"data file {str(file)!r} not found")
    suffix = file.suffix.lower()
    if suffix == ".npz":
        return _read_npz(file)
    if suffix in TEXT_SUFFIXES:
        if file.stat().st_size == 0:
            raise ConslawError(f"data file {str(file)!r} is empty")
        if _starts_with_percent_header(file):
            _, columns, values = read_schmidt_lipson(file)
            return {column: values[:, i] for i, column in enumerate(columns)}
        return _read_text_table(file)
    raise ConslawError(f"data file {str(file)!r}: unsupported format {suffix or '(no suffix)'!r}; "
                       f"use {', '.join(TEXT_SUFFIXES)} or .npz")


def _require_column(table: Mapping[str, np.ndarray], column: str, role: str, path: Path) -> np.ndarray:
    """The column's values, or a ``ConslawError`` listing the available columns."""
    if column not in table:
        raise ConslawError(
            f"{role} column {column!r} not found in {path.name}; available columns: {', '.join(table)}"
            + (" (--time-column names another)" if role == "time" else "")
        )
    return table[column]


def load_file(
    path: str | os.PathLike,
    units: str | Mapping[str, str | ParsedUnit] | None = None,
    *,
    trajectory_column: str = "trajectory",
    time_column: str = "t",
    test_fraction: float = 0.5,
    seed: int = 0,
    block_test_fraction: float = BLOCK_TEST_FRACTION,
    missing: str = "refuse",
) -> TrajectoryDataset:
    """Load a long-format text table or NPZ file as a ``TrajectoryDataset`` in coherent SI units
    (see ``dataset_from_table`` for the columns, units, missing values and split). Header names
    such as ``theta [deg]`` give their column's unit (``header_units``); ``units`` may then be
    left out, or must agree with them."""
    file = Path(path)
    table, header = split_header_units(read_table(file), str(file))
    units = merge_header_units(units, header, (time_column, trajectory_column), str(file), list(table))
    return dataset_from_table(
        table, units, name=file.stem, source=str(file),
        trajectory_column=trajectory_column, time_column=time_column,
        test_fraction=test_fraction, seed=seed, block_test_fraction=block_test_fraction, missing=missing)


def _pop_time_unit(parsed: dict[str, ParsedUnit], time_column: str, trajectory_column: str) -> ParsedUnit:
    """Remove the time column's unit from ``parsed`` (seconds if absent); check what remains."""
    time_unit = ParsedUnit("s", TIME_DIMENSION, 1.0)
    if time_column in parsed:
        time_unit = parsed.pop(time_column)
        if time_unit.dimension != TIME_DIMENSION:
            raise UsageError(f"time column {time_column!r} has unit {time_unit.text!r}, which is not a time")
    if trajectory_column in parsed:
        raise UsageError(f"column {trajectory_column!r} is the trajectory column; it cannot be a state in units")
    if not parsed:
        raise UsageError("units names no state column (only the time column)")
    return time_unit


def _split(
    ids: list[Hashable], trajectories: list[Trajectory], test_fraction: float, block_test_fraction: float, seed: int
) -> tuple[list[Trajectory], list[Trajectory], list[Hashable], str]:
    """One trajectory is split in time; several are split whole by a seeded shuffle."""
    if len(trajectories) == 1:
        train_piece, test_piece = split_block(trajectories[0], block_test_fraction)
        return [train_piece], [test_piece], [], f"one trajectory: contiguous time blocks, last {block_test_fraction:.0%} test"
    train, test, test_indices = split_by_trajectory(trajectories, test_fraction, seed)
    split = f"by trajectory: seeded shuffle (seed {seed}), {len(test)} of {len(trajectories)} test"
    return train, test, [ids[i] for i in test_indices], split


def _si_columns(table: Mapping[str, np.ndarray], parsed: Mapping[str, ParsedUnit], time: tuple[str, float],
                trajectory_column: str, missing: str, file: Path
                ) -> tuple[Mapping[str, np.ndarray], np.ndarray, np.ndarray]:
    """The table once every used column is there and the ``missing`` policy applied, its times
    (``time``: the column and its factor to seconds) and its states (the columns of ``parsed``, in
    order), as numbers in coherent SI."""
    time_column, time_factor = time
    for column in parsed:
        _require_column(table, column, "state", file)
    table = apply_missing_policy(table, [time_column, *parsed], trajectory_column, missing)
    stamps = time_stamp_seconds(table[time_column], time_column)
    if stamps is not None and time_factor != 1.0:
        raise UsageError(f"time column {time_column!r} holds date-times, which carry their own unit: "
                         "give it no unit (or s)")
    t = stamps if stamps is not None else numeric_column(table[time_column], time_column) * time_factor
    states = np.stack([numeric_column(table[c], c) * parsed[c].to_si + parsed[c].offset for c in parsed], axis=1)
    return table, t, states


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
    missing: str = "refuse",
) -> TrajectoryDataset:
    """A long-format table (column name -> values) as a ``TrajectoryDataset`` in coherent SI.

    The state columns are exactly those named in ``units`` (other columns are ignored, with one
    warning naming them). A unit given for ``time_column`` sets the time unit (seconds
    otherwise). Without ``trajectory_column`` the table is one trajectory, split in time (last
    ``block_test_fraction`` is test); otherwise whole trajectories are split by a seeded
    shuffle with ``test_fraction`` of them in test. Derivatives are finite differences in t.
    A row missing the time or a state is refused, or with ``missing="split"`` dropped and its
    trajectory split there (``conslaw.datasets.missing``).
    """
    file = Path(source)
    parsed = resolve_units(units)
    test_fraction = check_fraction("test_fraction", test_fraction)
    block_test_fraction = check_fraction("block_test_fraction", block_test_fraction)

    time_unit = _pop_time_unit(parsed, time_column, trajectory_column)
    rows = len(np.asarray(_require_column(table, time_column, "time", file)))
    table, t, states = _si_columns(table, parsed, (time_column, time_unit.to_si), trajectory_column, missing, file)
    columns = tuple(parsed)
    ignored = [name for name in table if name not in (*columns, time_column, trajectory_column)]
    if ignored:
        warnings.warn(f"{file.name}: column(s) {', '.join(ignored)} not named in the units, ignored", stacklevel=2)
    id_like = _id_like(table, ignored, t) if trajectory_column not in table else []
    hint = (f"; column {id_like[0]!r} changes wherever the time starts again: --trajectory-column {id_like[0]}"
            if id_like else "")
    single = (f"the single trajectory (no column {trajectory_column!r} in the file; --trajectory-column "
              f"names the id column of a file with several{hint})")
    ids, trajectories = build_trajectories(table.get(trajectory_column), t, states, single_label=single)
    trajectories = _unwrapped(trajectories, columns, parsed, file)
    check_column_values(columns, states)

    train, test, test_ids, split = _split(ids, trajectories, test_fraction, block_test_fraction, seed)
    metadata = {"source": source, "trajectory_ids": ids, "test_trajectory_ids": test_ids, "split": split,
                "rows": rows, "rows_dropped": rows - int(t.shape[0])}
    return TrajectoryDataset(
        name=name, columns=columns, dimensions=tuple(parsed[c].dimension for c in columns), train=train,
        test=test, units={c: parsed[c].text for c in columns}, derivatives="finite-difference",
        metadata=metadata, to_si={c: parsed[c].to_si for c in columns},
        si_offset={c: parsed[c].offset for c in columns}, time_unit=time_unit.text,
        time_to_si=time_unit.to_si, separate_test_runs=len(trajectories) > 1 and metadata["rows_dropped"] == 0,
    )


def _unwrapped(trajectories: list[Trajectory], columns: Sequence[str], parsed: Mapping[str, ParsedUnit],
               file: Path) -> list[Trajectory]:
    """The trajectories with their angle columns unwrapped (``tables.unwrapped_angles``), and a
    warning naming the columns that were logged modulo a full turn."""
    angles = [j for j, column in enumerate(columns) if parsed[column].dimension == ANGLE]
    trajectories, jumps = unwrapped_angles(trajectories, angles)
    if jumps:
        named = ", ".join(f"{columns[j]} ({count} jump(s))" for j, count in jumps.items())
        warnings.warn(f"{file.name}: angle column(s) {named} jump by more than half a turn between samples, "
                      "as angles logged modulo a full turn do: unwrapped, so that their rates follow the "
                      "motion (laws in sin and cos of them are unchanged)", stacklevel=3)
    return trajectories


def _id_like(table: Mapping[str, np.ndarray], names: Sequence[str], t: np.ndarray) -> list[str]:
    """Those of the columns ``names`` whose value changes wherever the time ``t`` does not
    increase: a trajectory id under another name (``run``, ``trial``)."""
    restarts = np.flatnonzero(np.diff(t) <= 0)
    if not restarts.size:
        return []
    values = {name: np.asarray(table[name]) for name in names}
    return [name for name in names if (values[name][restarts + 1] != values[name][restarts]).all()]


def units_spec(dataset: TrajectoryDataset, time_column: str = "t") -> str:
    """The ``--units`` text that reads back a file written by ``write_csv`` (time unit first).

    E.g. ``"t=ms,theta=deg,omega=deg/s"``.
    """
    return ",".join([f"{time_column}={dataset.time_unit}", *(f"{c}={dataset.units[c]}" for c in dataset.columns)])


def write_csv(
    dataset: TrajectoryDataset,
    path: str | os.PathLike,
    *,
    trajectory_column: str = "trajectory",
    time_column: str = "t",
    splits: tuple[str, ...] = ("train", "test"),
) -> Path:
    """Write a data set as a long-format CSV in its declared units; returns the path.

    Columns: ``trajectory_column`` (0, 1, ... over the train then the test trajectories),
    ``time_column`` (in ``dataset.time_unit``) and the state columns, each in its declared
    unit (SI value / ``to_si``), printed with 17 significant digits so that ``load_file(path,
    units_spec(dataset))`` reads the same numbers back to rounding. Derivatives are not written.
    """
    clashes = sorted({trajectory_column, time_column} & set(dataset.columns))
    if clashes or trajectory_column == time_column:
        raise UsageError(f"trajectory and time column names must differ from each other and from the states; clash: {clashes}")
    unknown = [s for s in splits if s not in ("train", "test")]
    if unknown:
        raise UsageError(f"splits must be 'train' and/or 'test', got {unknown}")
    trajectories = [trajectory for split in splits for trajectory in getattr(dataset, split)]
    blocks = [
        np.column_stack([np.full(len(tr), i), tr.t / dataset.time_to_si, dataset.declared(tr.x)])
        for i, tr in enumerate(trajectories)
    ]
    file = Path(path)
    header = ",".join([trajectory_column, time_column, *dataset.columns])
    formats = ["%d"] + ["%.17g"] * (1 + dataset.n_state)
    np.savetxt(file, np.concatenate(blocks), fmt=formats, delimiter=",", header=header, comments="")
    return file
