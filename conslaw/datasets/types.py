"""The plain data type every later stage receives: trajectories with units, split into train/test."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from conslaw.dsl.units import Dimension, format_unit


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

    ``true_law`` is a SymPy-parsable string in the column names (the known conserved
    quantity, for the oracle), ``true_field`` maps states (n, d) to exact dx/dt (n, d).
    ``derivatives`` is ``"exact"`` or ``"finite-difference"``.
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

    def __post_init__(self) -> None:
        if not self.units:
            self.units = {c: format_unit(d) for c, d in zip(self.columns, self.dimensions)}

    @property
    def n_state(self) -> int:
        return len(self.columns)

    def stacked(self, split: str = "train") -> np.ndarray:
        """All states of a split as one (N, d) array."""
        return np.concatenate([trajectory.x for trajectory in getattr(self, split)], axis=0)

    def summary(self) -> dict:
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
            "true_law": self.true_law,
        }
