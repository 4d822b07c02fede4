"""Long-format tables to trajectories: validation, finite differences and train/test splits.

Shared by the user-file loader and the Schmidt & Lipson loader. Every bad input raises a
``ConslawError`` whose one-line message names the culprit (row, column, value or trajectory).
"""
from __future__ import annotations

import datetime
import math
import re
import warnings
from typing import Hashable, Mapping, Sequence

import numpy as np

from conslaw.datasets.types import Trajectory
from conslaw.discovery.function_forms import MAX_MAGNITUDE, MIN_MAGNITUDE
from conslaw.dsl.units import ParsedUnit, parse_unit, parse_units_spec
from conslaw.errors import ConslawError, UsageError

MIN_SAMPLES = 3
"""A trajectory needs at least this many samples (a second-order finite difference needs 3)."""

BLOCK_TEST_FRACTION = 0.2
"""A single trajectory is split in time: its last 20 % is the test block (as HNN's real pendulum)."""

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


def check_noise(noise: object) -> float:
    """Return ``noise`` as a float, or raise if it is not a finite number >= 0."""
    try:
        value = float(noise)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"noise must be a number >= 0, got {noise!r}") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"noise must be a finite number >= 0, got {noise!r}")
    return value


def check_fraction(name: str, value: object) -> float:
    """Return ``value`` as a float in the open interval (0, 1), or raise naming the option."""
    try:
        fraction = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number between 0 and 1, got {value!r}") from None
    if not 0.0 < fraction < 1.0:
        raise UsageError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return fraction


def numeric_column(values: Sequence[object] | np.ndarray, column: str, row_label: str = "row") -> np.ndarray:
    """Convert one column to float64; text raises naming row, column and value, NaN/inf too.

    Rows are reported 1-based as data rows (the header is not counted).
    """
    array = np.asarray(values)
    if np.iscomplexobj(array):  # float64 would drop the imaginary parts with only a warning
        raise ConslawError(f"column {column!r} holds complex numbers: give their real and imaginary parts "
                           "as columns of their own")
    if array.dtype.kind in "fiub":
        numbers = array.astype(np.float64)
    else:
        try:
            numbers = array.astype(np.float64)
        except (TypeError, ValueError):
            for index, value in enumerate(array.tolist()):
                try:
                    float(value)
                except (TypeError, ValueError):
                    raise ConslawError(
                        f"column {column!r} {row_label} {index + 1}: value {value!r} is not a number"
                    ) from None
            raise ConslawError(f"column {column!r} holds values that are not numbers") from None
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        index = int(bad[0])
        raise ConslawError(
            f"column {column!r} {row_label} {index + 1}: value {float(numbers[index])!r} is not finite"
            + (f" ({bad.size} non-finite values in this column)" if bad.size > 1 else "")
        )
    return numbers


def time_stamp_seconds(values: Sequence[object] | np.ndarray, column: str) -> np.ndarray | None:
    """A time column of date-times (ISO 8601 text such as ``2026-12-01T10:00:00.050``, with or
    without a zone, or numpy datetime64) as float64 seconds since the earliest, to the
    microsecond; None for a column whose first cell is a number or not a date-time (left to
    ``numeric_column``). A cell that is not a date-time, or zones given on some cells only, raise
    naming the row. Python's ``datetime`` parses the text: numpy's datetime64 drops zones."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        if np.isnat(array).any():
            raise ConslawError(f"column {column!r} row {int(np.flatnonzero(np.isnat(array))[0]) + 1}: "
                               "time stamp missing (NaT)")
        return ((array - array.min()) / np.timedelta64(1, "us")).astype(np.float64) / 1e6
    if array.dtype.kind in "fiub" or not array.size:
        return None
    if _date_time(array[0]) is None:
        if _is_time_of_day(array[0]):  # a day's change would scramble the order: not guessed
            raise ConslawError(f"column {column!r} row 1: {str(array[0]).strip()!r} is a time of day without a "
                               "date; write the date too (2026-12-01T10:00:00.050) or seconds")
        return None
    stamps = []
    for index, value in enumerate(array.tolist()):
        stamp = _date_time(value)
        if stamp is None:
            raise ConslawError(f"column {column!r} row {index + 1}: value {value!r} is not an ISO 8601 time "
                               "stamp like the first row's")
        stamps.append(stamp)
    zoned = [stamp.tzinfo is not None for stamp in stamps]
    if len(set(zoned)) > 1:
        raise ConslawError(f"column {column!r} row {zoned.index(not zoned[0]) + 1}: a time stamp "
                           f"{'with' if not zoned[0] else 'without'} a time zone among ones "
                           f"{'without' if not zoned[0] else 'with'}")
    start = min(stamps)
    return np.array([(stamp - start) / datetime.timedelta(microseconds=1) for stamp in stamps]) / 1e6


def _is_time_of_day(value: object) -> bool:
    """Whether a cell reads as a time of day (``10:00:00.050``) without a date."""
    try:
        datetime.time.fromisoformat(str(value).strip())
    except ValueError:
        return False
    return ":" in str(value)


def _date_time(value: object) -> datetime.datetime | None:
    """A cell as an ISO 8601 date-time, or None (for a number, too: ``20261201`` is one)."""
    text = str(value).strip()
    try:
        float(text)
        return None
    except ValueError:
        pass
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def id_order(key: Hashable) -> tuple:
    """The sort key of a trajectory id: integers by value, text in natural order (``run2`` before
    ``run10``), so that the trajectories' order, and with it the seeded split, is the ids' own
    and not the order of the file's rows."""
    if isinstance(key, int):
        return (0, key)
    parts = re.split(r"(\d+)", str(key))
    return (1, tuple((0, int(part), part) if part.isdigit() else (1, 0, part) for part in parts))


def trajectory_keys(trajectory_ids: np.ndarray) -> list[Hashable]:
    """Each row's trajectory id as a key: integers as ``int``, anything else as text."""
    return [int(v) if isinstance(v, (int, np.integer)) else str(v) for v in np.asarray(trajectory_ids).tolist()]


def group_rows(trajectory_ids: np.ndarray | None, n_rows: int) -> list[tuple[Hashable, np.ndarray]]:
    """Row indices of each trajectory, in the order of the ids (``id_order``); ``None`` means one
    trajectory."""
    if trajectory_ids is None:
        return [(0, np.arange(n_rows))]
    keys = trajectory_keys(trajectory_ids)
    groups: dict[Hashable, list[int]] = {}
    for row, key in enumerate(keys):
        groups.setdefault(key, []).append(row)
    return [(key, np.asarray(groups[key])) for key in sorted(groups, key=id_order)]


def finite_difference(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx/dt by second-order finite differences on the actual (possibly non-uniform) times."""
    return np.gradient(x, t, axis=0, edge_order=2)


def build_trajectories(
    trajectory_ids: np.ndarray | None,
    t: np.ndarray,
    x: np.ndarray,
    *,
    dxdt: np.ndarray | None = None,
    row_label: str = "row",
    single_label: str = "the single trajectory",
) -> tuple[list[Hashable], list[Trajectory]]:
    """Group validated long-format rows into trajectories, with finite differences if no ``dxdt``.

    A trajectory's rows are taken in the order of their times (a file sorted otherwise, or
    shuffled, gives the same trajectories; a warning says so). Raises when a trajectory has
    fewer than ``MIN_SAMPLES`` samples or two samples at one time (naming the trajectory id and
    the offending row, 1-based over the whole table).
    """
    ids: list[Hashable] = []
    trajectories: list[Trajectory] = []
    unordered: list[str] = []
    for key, rows in group_rows(trajectory_ids, len(t)):
        label = single_label if trajectory_ids is None else f"trajectory {key!r}"
        if rows.size < MIN_SAMPLES:
            raise ConslawError(
                f"{label} has {rows.size} sample(s); at least {MIN_SAMPLES} are needed"
            )
        if np.any(np.diff(t[rows]) < 0):
            unordered.append(label)
            rows = rows[np.argsort(t[rows], kind="stable")]
        times = t[rows]
        repeated = np.flatnonzero(np.diff(times) == 0)
        if repeated.size:
            first, second = rows[repeated[0]], rows[repeated[0] + 1]
            kind = ("the same states twice: drop the repeated rows" if np.array_equal(x[first], x[second])
                    else "with different states")
            raise ConslawError(
                f"{label}: two samples at t={float(times[repeated[0]])!r} ({row_label}s "
                f"{int(first) + 1} and {int(second) + 1}, {kind}; {repeated.size} such pair(s) in it)"
            )
        states = x[rows]
        rates = dxdt[rows] if dxdt is not None else finite_difference(times, states)
        ids.append(key)
        trajectories.append(Trajectory(t=times, x=states, dxdt=rates))
    if unordered:
        warnings.warn(f"the rows of {len(unordered)} trajectories are not in time order ({unordered[0]} first); "
                      "each trajectory's samples are taken in the order of their times", stacklevel=3)
    return ids, trajectories


def unwrapped_angles(trajectories: Sequence[Trajectory], angles: Sequence[int]
                     ) -> tuple[list[Trajectory], dict[int, int]]:
    """The trajectories with their angle columns ``angles`` (radians) unwrapped where they jump
    by more than half a turn between two samples (an angle logged modulo a full turn), their
    rates taken again by finite differences; and how many jumps each such column had. Without
    it a pendulum that goes over the top has rates of a full turn per sample at every wrap, and
    the learned models' rollouts are scored against a path that jumps back."""
    jumps: dict[int, int] = {}
    out = []
    for trajectory in trajectories:
        wraps = {j: int(np.sum(np.abs(np.diff(trajectory.x[:, j])) > np.pi)) for j in angles}
        wrapped = [j for j, count in wraps.items() if count]
        if not wrapped:
            out.append(trajectory)
            continue
        x = trajectory.x.copy()
        x[:, wrapped] = np.unwrap(x[:, wrapped], axis=0)
        out.append(Trajectory(t=trajectory.t, x=x, dxdt=finite_difference(trajectory.t, x)))
        for j in wrapped:
            jumps[j] = jumps.get(j, 0) + wraps[j]
    return out, jumps


def constant_columns(x: np.ndarray) -> np.ndarray:
    """Whether each state column of ``x`` (N, d) has one value everywhere (d,)."""
    return np.all(x == x[:1], axis=0) if len(x) else np.zeros(x.shape[1], bool)


OFFSET_RATIO = 1e3
"""A column whose mean is this many times its spread loses float64 precision in formulas that
need its offset: a spring's position measured from a wall 1,000 m away (2,250 times the
spread) gave its energy with the ratio 2e-15 (4e-22 without the offset), 3,000 m approximate,
30,000 m nothing."""


def check_column_values(columns: Sequence[str], x: np.ndarray) -> None:
    """Refuse data in which every state column has one value everywhere (nothing moves, so every
    formula is constant and none says anything), or a column moves beyond the magnitudes at which
    formulas are judged (``MAX_MAGNITUDE``; every formula of it is out of range, and numpy's
    overflow warnings were all the user saw); warn for each column that has one value
    everywhere, or whose offset dwarfs its spread (``OFFSET_RATIO``)."""
    constant = constant_columns(x)
    if len(columns) and constant.all():
        raise ConslawError(f"every state column ({', '.join(columns)}) has one value everywhere: the data "
                           "hold no motion, so no quantity can be found conserved along it")
    peak = np.abs(x).max(axis=0, initial=0.0)
    beyond = np.flatnonzero(~constant & ((peak > MAX_MAGNITUDE) | (peak < MIN_MAGNITUDE)))
    if len(beyond):
        index = beyond[0]
        raise ConslawError(
            f"state column {columns[index]!r} peaks at {peak[index]:.1e} in SI units, outside the "
            f"{MIN_MAGNITUDE:g} to {MAX_MAGNITUDE:g} within which formulas are judged (beyond, float64 "
            "rounding decides): no formula of it can be judged; rescale the column")
    for index in np.flatnonzero(constant):
        warnings.warn(
            f"state column {columns[index]!r} is constant ({float(x[0, index])!r}) everywhere; "
            "it cannot take part in a conservation law",
            stacklevel=3,
        )
    spread, offset = x.std(axis=0), np.abs(x.mean(axis=0))  # a constant's std is rounding, not spread
    for index in np.flatnonzero(~constant & (spread > 0) & (offset > OFFSET_RATIO * spread)):
        warnings.warn(
            f"state column {columns[index]!r} varies by only {spread[index] / offset[index]:.1e} of its "
            f"magnitude: formulas that need its offset, such as ({columns[index]} - c)**2, lose float64 "
            "precision and may not be found; subtract a reference value from the column",
            stacklevel=3,
        )


def split_block(trajectory: Trajectory, test_fraction: float = BLOCK_TEST_FRACTION) -> tuple[Trajectory, Trajectory]:
    """Split one trajectory in time: the first ``int(n*(1-f))`` samples train, the rest test.

    The test block is enlarged to ``MIN_SAMPLES`` samples when the fraction gives fewer.
    """
    n = len(trajectory)
    n_train = min(int(n * (1.0 - test_fraction)), n - MIN_SAMPLES)
    if n_train < MIN_SAMPLES:
        raise ConslawError(
            f"a single trajectory of {n} samples is too short to split into train and test "
            f"blocks of at least {MIN_SAMPLES} samples each"
        )

    def piece(part: slice) -> Trajectory:
        dxdt = None if trajectory.dxdt is None else trajectory.dxdt[part]
        return Trajectory(t=trajectory.t[part], x=trajectory.x[part], dxdt=dxdt)

    return piece(slice(0, n_train)), piece(slice(n_train, n))


def split_by_trajectory(
    trajectories: Sequence[Trajectory], test_fraction: float, seed: int
) -> tuple[list[Trajectory], list[Trajectory], np.ndarray]:
    """Seeded shuffle, then ``round(n*f)`` trajectories (at least 1, at most n-1) go to test.

    Returns train, test and the test indices (sorted, into ``trajectories``). Both splits keep
    the original order of the trajectories.
    """
    n = len(trajectories)
    n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
    order = np.random.RandomState(seed).permutation(n)
    test_indices = np.sort(order[:n_test])
    is_test = np.zeros(n, dtype=bool)
    is_test[test_indices] = True
    train = [trajectories[i] for i in range(n) if not is_test[i]]
    test = [trajectories[i] for i in range(n) if is_test[i]]
    return train, test, test_indices


def add_state_noise(x: np.ndarray, noise: float, rng: np.random.RandomState) -> np.ndarray:
    """Gaussian noise of standard deviation ``noise`` (SI units of each column) on states."""
    if noise == 0.0:
        return x
    return x + rng.standard_normal(x.shape) * noise
