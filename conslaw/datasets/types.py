"""The plain data type every later stage receives: trajectories with units, split into train/test."""
from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from conslaw.dsl.units import Dimension, format_unit, parse_unit
from conslaw.errors import UsageError


@dataclass(frozen=True)
class Trajectory:
    """One trajectory in coherent SI units: times ``t`` (n,), states ``x`` (n, d), ``dxdt`` (n, d)."""

    t: np.ndarray
    x: np.ndarray
    dxdt: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass
class TrajectoryDataset:
    """Trajectories of one system, with each state column's name and physical dimension.

    States, times and derivatives are stored in coherent SI units. ``units`` holds the unit
    text the data were declared in (e.g. ``deg``), ``to_si`` the factor of each column from
    that declared unit to SI and ``si_offset`` its offset (SI value = factor x declared value +
    offset; factor 1.0 when the declared unit is the SI one, offset 0 but for units such as degC),
    and ``time_unit`` / ``time_to_si`` the same for the time column, so a law
    found in SI can be reported in the user's units. ``true_law`` is a SymPy-parsable string in
    the column names (the known conserved quantity, for the oracle; in SI values), ``true_field``
    maps states (n, d) to exact dx/dt (n, d). ``derivatives`` is ``"exact"`` or ``"finite-difference"``.
    """

    name: str
    columns: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    train: list[Trajectory]
    test: list[Trajectory]
    units: dict[str, str] = field(default_factory=dict)
    true_law: Optional[str] = None
    true_laws: tuple[str, ...] = ()
    true_field: Optional[Callable[[np.ndarray], np.ndarray]] = None
    derivatives: str = "exact"
    metadata: dict = field(default_factory=dict)
    to_si: dict[str, float] = field(default_factory=dict)
    time_unit: str = "s"
    time_to_si: float = 1.0
    si_offset: dict[str, float] = field(default_factory=dict)
    separate_test_runs: bool = False
    """Whether the test trajectories are runs of their own, started apart from the training ones
    (a split by trajectory), not later pieces of them (one recording split in time, or a
    recording's pieces between gaps): only then can they show a law's other levels, and
    ``conslaw.discovery`` may count them when the training runs are too few to tell an identity
    from a law."""

    def __post_init__(self) -> None:
        if not self.units:
            self.units = {c: format_unit(d) for c, d in zip(self.columns, self.dimensions)}
        for mapping in ("to_si", "si_offset"):
            unknown = sorted(set(getattr(self, mapping)) - set(self.columns))
            if unknown:
                raise ValueError(f"{mapping} names column(s) {unknown} that the data set does not have")
        self.to_si = {c: float(self.to_si.get(c, 1.0)) for c in self.columns}
        self.si_offset = {c: float(self.si_offset.get(c, 0.0)) for c in self.columns}
        for name, factor in [*self.to_si.items(), ("time", self.time_to_si)]:
            if not (math.isfinite(factor) and factor > 0):
                raise ValueError(f"to_si factor of {name!r} must be a finite number > 0, got {factor!r}")

    @property
    def n_state(self) -> int:
        """The number of state columns."""
        return len(self.columns)

    @property
    def si_factors(self) -> np.ndarray:
        """The ``to_si`` factors in column order, shape (d,)."""
        return np.array([self.to_si[c] for c in self.columns])

    def declared(self, x: np.ndarray) -> np.ndarray:
        """States (..., d) in SI converted to the declared units (the values as the user recorded them)."""
        return (np.asarray(x) - np.array([self.si_offset[c] for c in self.columns])) / self.si_factors

    def stacked(self, split: str = "train") -> np.ndarray:
        """All states of a split as one (N, d) array."""
        return np.concatenate([trajectory.x for trajectory in getattr(self, split)], axis=0)

    def with_repeated_column(self, column: str, name: str, unit: str, noise: float = 0.0,
                             seed: int = 0) -> "TrajectoryDataset":
        """This data set with ``column`` recorded a second time as ``name``, declared in ``unit``
        (an angle in degrees beside radians, as lab files often have), by a second sensor when
        ``noise`` > 0 (its own Gaussian noise, ``noise`` times the column's standard deviation):
        ``column - name`` in SI holds on every sample (to within the noise), an identity between
        the columns, not a conservation law."""
        if column not in self.columns or name in self.columns:
            raise UsageError(f"cannot repeat column {column!r} as {name!r}: columns are {list(self.columns)}")
        k, parsed = self.columns.index(column), parse_unit(unit)
        if parsed.dimension != self.dimensions[k]:
            raise UsageError(f"unit {unit!r} of {name!r} is not that of {column!r} ({self.units[column]})")

        rng, scale = np.random.default_rng(seed), noise * float(self.stacked("train")[:, k].std())

        def repeat(values: Optional[np.ndarray], noisy: bool = False) -> Optional[np.ndarray]:
            if values is None:
                return None
            copy = values[..., k:k + 1] + (scale * rng.standard_normal(values.shape[:-1] + (1,)) if noisy else 0.0)
            return np.concatenate([values, copy], axis=-1)

        field_ = self.true_field
        return dataclasses.replace(
            self, columns=self.columns + (name,), dimensions=self.dimensions + (parsed.dimension,),
            **self._mapped(lambda x: repeat(x, noise > 0), repeat), units={**self.units, name: unit},
            to_si={**self.to_si, name: parsed.to_si}, si_offset={**self.si_offset, name: parsed.offset},
            true_field=None if field_ is None else (lambda x: repeat(field_(np.asarray(x)[..., :-1]))))

    def with_columns_in_order(self, columns: Sequence[str]) -> "TrajectoryDataset":
        """This data set with its columns in the order ``columns`` (a permutation of them), as a
        file that interleaves them (``x1, p1, x2, p2``) has them; the laws are the same."""
        if sorted(columns) != sorted(self.columns):
            raise UsageError(f"cannot order the columns as {list(columns)}: they are {list(self.columns)}")
        order = [self.columns.index(column) for column in columns]

        def ordered(values: Optional[np.ndarray]) -> Optional[np.ndarray]:
            return None if values is None else values[..., order]

        field_ = self.true_field
        return dataclasses.replace(
            self, columns=tuple(columns), dimensions=tuple(self.dimensions[k] for k in order),
            **self._mapped(ordered, ordered), true_field=None if field_ is None else
            (lambda x: ordered(field_(np.asarray(x)[..., np.argsort(order)]))))

    def without_column(self, column: str) -> "TrajectoryDataset":
        """This data set with ``column`` left out, as a file that did not record it (each run's
        setting, which the dynamics depend on): its known laws and its field may need the column,
        so the data set has neither."""
        if column not in self.columns:
            raise UsageError(f"cannot leave out column {column!r}: columns are {list(self.columns)}")
        keep = [k for k, name in enumerate(self.columns) if name != column]
        names = tuple(self.columns[k] for k in keep)

        def kept(values: Optional[np.ndarray]) -> Optional[np.ndarray]:
            return None if values is None else values[..., keep]

        return dataclasses.replace(
            self, columns=names, dimensions=tuple(self.dimensions[k] for k in keep), **self._mapped(kept, kept),
            units={c: self.units[c] for c in names}, to_si={c: self.to_si[c] for c in names},
            si_offset={c: self.si_offset[c] for c in names}, true_law=None, true_laws=(), true_field=None)

    def _mapped(self, states: Callable, rates: Callable) -> dict[str, list[Trajectory]]:
        """``train`` and ``test`` with each trajectory's states and rates through ``states`` and
        ``rates`` (train first, each trajectory's states before its rates)."""
        return {split: [Trajectory(tr.t, states(tr.x), rates(tr.dxdt)) for tr in getattr(self, split)]
                for split in ("train", "test")}

    def with_setting_column(self, name: str, unit: str, low: float, high: float,
                            seed: int = 0) -> "TrajectoryDataset":
        """This data set with a column ``name`` that holds one value per trajectory, drawn
        uniformly between ``low`` and ``high`` (in ``unit``) and recorded without noise: a
        setting of each run (a mass label, a bath temperature) that the dynamics ignore. It is
        conserved along every trajectory, so it is a law of the data beside the system's own."""
        rng = np.random.default_rng(seed)
        parsed = parse_unit(unit)
        values = rng.uniform(low, high, len(self.train) + len(self.test)) * parsed.to_si + parsed.offset
        return self._with_column(name, unit, [np.full(len(tr), v) for tr, v in zip(self.train + self.test, values)],
                                 rate=0.0)

    def with_time_column(self, name: str = "t", unit: str = "s") -> "TrajectoryDataset":
        """This data set with each sample's time as a state column ``name`` (in ``unit``), as a
        lab file whose time column the user declares as a state has it."""
        return self._with_column(name, unit, [tr.t for tr in self.train + self.test], rate=1.0)

    def with_drifting_column(self, name: str, unit: str, level: float, spread: float, drift: float,
                             seed: int = 0) -> "TrajectoryDataset":
        """This data set with a column ``name`` (in ``unit``) that the dynamics ignore and that
        drifts slowly about a large value, as a room temperature logged beside an experiment:
        each trajectory starts at ``level`` plus a uniform offset within ``spread`` and wanders
        as a random walk of ``drift`` per square root of second. No law involves it."""
        rng, parsed = np.random.default_rng(seed), parse_unit(unit)
        columns = []
        for trajectory in self.train + self.test:
            intervals = np.diff(trajectory.t, prepend=trajectory.t[0])
            steps = drift * np.sqrt(intervals) * rng.standard_normal(len(trajectory))
            columns.append(parsed.to_si * (level + rng.uniform(-spread, spread) + np.cumsum(steps)) + parsed.offset)
        return self._with_column(name, unit, columns, rate=None)

    def with_noise_column(self, name: str, unit: str, level: float, noise: float,
                          seed: int = 0) -> "TrajectoryDataset":
        """This data set with a column ``name`` (in ``unit``) that reads only its noise, as a
        spare sensor channel: ``level`` plus white noise of standard deviation ``noise`` on
        every sample. No law involves it."""
        rng, parsed = np.random.default_rng(seed), parse_unit(unit)
        columns = [parsed.to_si * (level + noise * rng.standard_normal(len(trajectory))) + parsed.offset
                   for trajectory in self.train + self.test]
        return self._with_column(name, unit, columns, rate=None)

    def _with_column(self, name: str, unit: str, columns: list[np.ndarray],
                     rate: Optional[float]) -> "TrajectoryDataset":
        """``columns`` (SI values, one array per train then test trajectory) appended as ``name``;
        its time derivative is ``rate`` everywhere, or, when None, its finite difference (and the
        data set has no true field)."""
        if name in self.columns:
            raise UsageError(f"cannot add column {name!r}: columns are {list(self.columns)}")
        parsed = parse_unit(unit)

        def extended(trajectory: Trajectory, column: np.ndarray) -> Trajectory:
            change = np.gradient(column, trajectory.t) if rate is None else np.full(len(column), rate)
            dxdt = None if trajectory.dxdt is None else np.column_stack([trajectory.dxdt, change])
            return Trajectory(trajectory.t, np.column_stack([trajectory.x, column]), dxdt)

        trajectories = [extended(tr, column) for tr, column in zip(self.train + self.test, columns)]
        field_ = None if rate is None else self.true_field

        def field_with_column(x: np.ndarray) -> np.ndarray:
            inner = field_(np.asarray(x)[..., :-1])
            return np.concatenate([inner, np.full(inner.shape[:-1] + (1,), rate)], axis=-1)

        return dataclasses.replace(
            self, columns=self.columns + (name,), dimensions=self.dimensions + (parsed.dimension,),
            train=trajectories[:len(self.train)], test=trajectories[len(self.train):],
            units={**self.units, name: unit}, to_si={**self.to_si, name: parsed.to_si},
            si_offset={**self.si_offset, name: parsed.offset},
            true_field=None if field_ is None else field_with_column)

    def with_glitches(self, column: str, count: int, size: float, seed: int = 0) -> "TrajectoryDataset":
        """This data set with ``count`` samples of ``column`` (drawn at random over every
        trajectory) off by ``size`` times the column's standard deviation, as a tracker that
        loses its target for one frame records them; derivatives stay as given."""
        if column not in self.columns:
            raise UsageError(f"no column {column!r} to glitch: columns are {list(self.columns)}")
        k, trajectories = self.columns.index(column), self.train + self.test
        offsets = np.cumsum([0] + [len(tr) for tr in trajectories])
        chosen = np.random.default_rng(seed).choice(offsets[-1], count, replace=False)
        jump = size * float(self.stacked("train")[:, k].std())

        def glitched(index: int, trajectory: Trajectory) -> Trajectory:
            rows = chosen[(chosen >= offsets[index]) & (chosen < offsets[index + 1])] - offsets[index]
            x = trajectory.x.copy()
            x[rows, k] += jump
            return Trajectory(trajectory.t, x, trajectory.dxdt)

        glitches = [glitched(i, tr) for i, tr in enumerate(trajectories)]
        return dataclasses.replace(self, train=glitches[:len(self.train)], test=glitches[len(self.train):])

    def summary(self) -> dict:
        """Name, columns, units, sizes, the true law and a digest of the states (sha256 of their
        SI values, train then test: the same data, loaded again, give the same), as plain
        JSON-ready values."""
        digest = hashlib.sha256()
        for trajectory in self.train + self.test:
            digest.update(np.ascontiguousarray(trajectory.x, dtype=np.float64).tobytes())
        return {
            "name": self.name,
            "columns": list(self.columns),
            "units": {c: self.units[c] for c in self.columns},
            "si_units": {c: format_unit(d) for c, d in zip(self.columns, self.dimensions)},
            "trajectories": {"train": len(self.train), "test": len(self.test)},
            "samples": {
                "train": int(sum(len(t) for t in self.train)),
                "test": int(sum(len(t) for t in self.test)),
            },
            "derivatives": self.derivatives,
            **({"derived": self.metadata["derived"]} if "derived" in self.metadata else {}),
            "true_law": self.true_law,
            "states_sha256": digest.hexdigest(),
        }
