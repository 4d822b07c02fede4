"""What one seed's models learn from and are scored on: training points and rollout groups.

``recording_protocol="split"`` uses the data set's own trajectories (dx/dt as given, else
second-order finite differences). ``"hnn"`` reproduces ``greydanus/hamiltonian-nn``'s protocol for
the recorded pendulum (``experiment-real/data.py``, ``analyze-real.ipynb``): the recording is one
time series; targets are FORWARD differences ``(x[i+1] - x[i]) / (t[i+1] - t[i])`` and the last
sample is dropped; the test set is the contiguous block ``[int(0.8 n), int(0.8 n) + int(0.2 n))``
and the rest is training; the test rollout starts at the block's first state and runs over the
whole block.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from conslaw.datasets.tables import finite_difference
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import format_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.tailoring.models import Scaling
from conslaw.tailoring.protocol import HNN_TRAIN_FRACTION, LARGE_INPUT


@dataclass
class SeedData:
    """One seed's data: training points ``x``/``dxdt`` ``(N, d)`` and the rollout trajectories."""

    seed: int
    dataset: TrajectoryDataset
    x: np.ndarray
    dxdt: np.ndarray
    train: list[Trajectory]
    test: list[Trajectory]


@dataclass
class Group:
    """Trajectories sharing one time grid, for every member: ``t`` ``(T,)``, ``truth`` ``(M, B, T, d)``."""

    t: torch.Tensor
    truth: torch.Tensor


def _recording(dataset: TrajectoryDataset) -> tuple[np.ndarray, np.ndarray]:
    """Every sample of the data set as one time series ``(t, x)``, ordered by time."""
    trajectories = sorted(dataset.train + dataset.test, key=lambda tr: float(tr.t[0]))
    t = np.concatenate([tr.t for tr in trajectories])
    x = np.concatenate([tr.x for tr in trajectories])
    if not np.all(np.diff(t) > 0):
        raise UsageError(f"--recording-protocol hnn needs one recording; the trajectories of {dataset.name!r} "
                         "overlap in time (use --recording-protocol split)")
    return t, x


def hnn_split(dataset: TrajectoryDataset, train_fraction: float = HNN_TRAIN_FRACTION
              ) -> tuple[np.ndarray, np.ndarray, list[Trajectory], list[Trajectory]]:
    """HNN's real-pendulum split: (training x, forward-difference dx/dt, training trajectories,
    the test block as one trajectory)."""
    t, x = _recording(dataset)
    dxdt = np.diff(x, axis=0) / np.diff(t)[:, None]
    t, x = t[:-1], x[:-1]
    a = int(len(x) * train_fraction)
    b = a + int(len(x) * (1 - train_fraction))
    pieces = [Trajectory(t[:a], x[:a], dxdt[:a])]
    if len(x) - b > 1:  # HNN trains on samples after the test block too (none for this recording)
        pieces.append(Trajectory(t[b:], x[b:], dxdt[b:]))
    train_x = np.concatenate([x[:a], x[b:]])
    train_dxdt = np.concatenate([dxdt[:a], dxdt[b:]])
    return train_x, train_dxdt, pieces, [Trajectory(t[a:b], x[a:b], dxdt[a:b])]


def seed_data(dataset: TrajectoryDataset, seed: int, recording_protocol: str) -> SeedData:
    """The data one seed trains and is scored on, by ``recording_protocol``."""
    if not dataset.train or not dataset.test:
        raise ConslawError(f"dataset {dataset.name!r} needs training and test trajectories for tailoring")
    if recording_protocol == "hnn":
        x, dxdt, train, test = hnn_split(dataset)
        return SeedData(seed, dataset, x, dxdt, train, test)
    rates = [tr.dxdt if tr.dxdt is not None else finite_difference(tr.t, tr.x) for tr in dataset.train]
    return SeedData(seed, dataset, np.concatenate([tr.x for tr in dataset.train]), np.concatenate(rates),
                    list(dataset.train), list(dataset.test))


def _grid_groups(trajectories: Sequence[Trajectory]) -> list[tuple[np.ndarray, np.ndarray]]:
    by_grid: dict[bytes, list[Trajectory]] = {}
    for trajectory in trajectories:
        by_grid.setdefault(np.asarray(trajectory.t, dtype=np.float64).tobytes(), []).append(trajectory)
    return [(members[0].t, np.stack([m.x for m in members])) for members in by_grid.values()]


def stacked_groups(per_member: Sequence[Sequence[Trajectory]], dtype: torch.dtype) -> Optional[list[Group]]:
    """The members' trajectories as groups stacked over members, or None when the members' time
    grids differ (then each member is scored on its own)."""
    grouped = [_grid_groups(trajectories) for trajectories in per_member]
    first = grouped[0]
    for other in grouped[1:]:
        if len(other) != len(first) or any(a[1].shape != b[1].shape or not np.array_equal(a[0], b[0])
                                           for a, b in zip(first, other)):
            return None
    return [Group(torch.as_tensor(first[i][0], dtype=dtype),
                  torch.as_tensor(np.stack([g[i][1] for g in grouped]), dtype=dtype)) for i in range(len(first))]


def shared_groups(trajectories: Sequence[Trajectory], members: int, dtype: torch.dtype) -> list[Group]:
    """The same trajectories for every member (expanded, not copied)."""
    return [Group(torch.as_tensor(t, dtype=dtype), torch.as_tensor(truth, dtype=dtype).expand(members, *truth.shape))
            for t, truth in _grid_groups(trajectories)]


def loss_dt(data: SeedData, configured: Optional[float]) -> float:
    """The Noether loss time step: the configured one, else the median training time step."""
    if configured is not None:
        return float(configured)
    return float(np.median(np.concatenate([np.diff(tr.t) for tr in data.train])))


def _far_from_one(sizes: np.ndarray) -> np.ndarray:
    return (sizes > LARGE_INPUT) | (sizes < 1 / LARGE_INPUT)


def _sizes(values: np.ndarray) -> np.ndarray:
    """Each column's size: its root mean square."""
    return np.sqrt(np.mean(values ** 2, axis=0))


def column_scaling(data: SeedData, standardize: str) -> Optional[Scaling]:
    """What the models see the columns of ``data`` (training states and rates) through: None (as
    they are) with ``"off"``, or with ``"auto"`` while every column and every rate is within
    ``1/LARGE_INPUT``-``LARGE_INPUT`` in size (root mean square, coherent SI); else each column
    centred and divided by its spread, each output multiplied by its rate's size."""
    sizes, rates = _sizes(data.x), _sizes(data.dxdt)
    if standardize == "off" or (standardize == "auto" and not _far_from_one(np.concatenate([sizes, rates])).any()):
        return None
    spread = data.x.std(axis=0)
    return Scaling(tuple(map(float, data.x.mean(axis=0))), tuple(float(v) if v > 0 else 1.0 for v in spread),
                   tuple(float(v) if v > 0 else 1.0 for v in rates))


def scale_warnings(data: SeedData, scaling: Optional[Scaling]) -> list[str]:
    """One warning naming the columns of ``data`` far from 1 in size (``LARGE_INPUT``) when the
    models see them as they are (``scaling`` None)."""
    if scaling is not None:
        return []
    dataset = data.dataset
    sizes = _sizes(data.x)
    far = [f"{name} about {size:.3g} {format_unit(dimension)}"
           for name, dimension, size, flag in zip(dataset.columns, dataset.dimensions, sizes, _far_from_one(sizes))
           if flag]
    if not far:
        return []
    return [f"the models train on the columns as they are (--standardize off), and {', '.join(far)} in size "
            "(root mean square, coherent SI): a tanh network is made for inputs about 1, so the baselines, "
            "and what tailoring adds to them, may predict poorly"]
