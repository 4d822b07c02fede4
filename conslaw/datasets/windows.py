"""Windows: cut long recordings into short trajectories, as the paper's short sequences."""
from __future__ import annotations

from typing import Sequence

from conslaw.datasets.tables import MIN_SAMPLES
from conslaw.datasets.types import Trajectory
from conslaw.errors import UsageError

DEFAULT_WINDOW = 25
"""Samples per window; a trajectory longer than ``2 * DEFAULT_WINDOW`` samples is windowed."""


def _check_window(window: int) -> int:
    if isinstance(window, bool) or int(window) != window or window < MIN_SAMPLES:
        raise UsageError(f"window must be an integer >= {MIN_SAMPLES}, got {window!r}")
    return int(window)


def split_into_windows(trajectories: Sequence[Trajectory], window: int) -> list[Trajectory]:
    """Cut each trajectory into consecutive non-overlapping windows of ``window`` samples.

    A final remainder shorter than ``window`` is kept as a shorter window when it has at
    least 3 samples and dropped otherwise. Derivatives are sliced, not recomputed.
    """
    window = _check_window(window)
    pieces: list[Trajectory] = []
    for trajectory in trajectories:
        for start in range(0, len(trajectory), window):
            part = slice(start, start + window)
            if len(trajectory.t[part]) < MIN_SAMPLES:
                continue
            dxdt = None if trajectory.dxdt is None else trajectory.dxdt[part]
            pieces.append(Trajectory(t=trajectory.t[part], x=trajectory.x[part], dxdt=dxdt))
    return pieces


def window_long_trajectories(trajectories: Sequence[Trajectory], window: int = DEFAULT_WINDOW) -> list[Trajectory]:
    """The default rule: trajectories with more than ``2 * window`` samples are split into
    windows (``split_into_windows``); shorter ones are kept whole."""
    window = _check_window(window)
    result: list[Trajectory] = []
    for trajectory in trajectories:
        if len(trajectory) > 2 * window:
            result.extend(split_into_windows([trajectory], window))
        else:
            result.append(trajectory)
    return result
