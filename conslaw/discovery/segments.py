"""Segments: trajectories cut into windows whose length is set by the data's own motion.

Conservation is judged within segments. A segment's length must not depend on how densely the
data are sampled, nor on the time unit, nor on how the user cut the recordings, so windows are
defined in **motion times**: the motion time is the lag at which the state's within-trajectory
autocorrelation falls to 1/2 (the median over the columns that move). A trajectory lasting D is
cut into ``max(1, floor(D / (window * motion time)))`` windows of equal duration; trajectories
shorter than one window are kept whole. ``window=0`` keeps every trajectory whole.

Within a segment every state carries a time weight (trapezoid rule on its own time grid), so a
segment's mean and variance converge as the sampling gets denser instead of changing with it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Sequence

import numpy as np

from conslaw.errors import ConslawError

if TYPE_CHECKING:  # annotations only: a fitting worker does not load the data sets package
    from conslaw.datasets.types import Trajectory

MIN_SEGMENT_SAMPLES = 5
"""A segment needs this many samples for a variance with some meaning; shorter trajectories are dropped."""

MAX_SEGMENT_SAMPLES = 128
"""Denser segments are thinned to this many evenly spaced samples: the statistic converges in
time, so more samples only cost time."""

MIN_SAMPLES_PER_MOTION_TIME = 3
"""Sampling coarser than this many samples per motion time cannot separate motion from noise."""

LAG_POINTS = 48


@dataclass(frozen=True)
class Segments:
    """States grouped into contiguous segments.

    ``x`` (N, d) states; ``time`` (N,) seconds since the segment's start; ``weight`` (N,) time
    weights summing to 1 within each segment; ``starts`` (K + 1,) offsets of the segments into
    the state arrays; ``source`` (K,) index of the trajectory each segment was cut from.
    """

    x: np.ndarray
    time: np.ndarray
    weight: np.ndarray
    starts: np.ndarray
    source: np.ndarray

    @property
    def n_segments(self) -> int:
        return len(self.starts) - 1

    @property
    def n_trajectories(self) -> int:
        """How many trajectories the segments were cut from."""
        return len(np.unique(self.source))

    @cached_property
    def counts(self) -> np.ndarray:
        """The number of states of each segment (K,)."""
        return _read_only(np.diff(self.starts))

    @property
    def segment(self) -> np.ndarray:
        """The segment id of every state (N,)."""
        return np.repeat(np.arange(self.n_segments), self.counts)

    @property
    def durations(self) -> np.ndarray:
        """Each segment's duration in seconds (K,)."""
        return self.time[self.starts[1:] - 1]

    @cached_property
    def pair_weight(self) -> np.ndarray:
        """Weights of consecutive state pairs (N - 1,): time gap over the segment's duration,
        0 for pairs that straddle two segments. Kept, as ``counts`` is: judging a law reads
        them several times."""
        gaps = np.diff(self.time)
        ends = np.repeat(self.durations, self.counts)[:-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(ends > 0, gaps / ends, 0.0)
        weight[self.starts[1:-1] - 1] = 0.0
        return _read_only(weight)

    def part(self, k: int) -> slice:
        return slice(int(self.starts[k]), int(self.starts[k + 1]))

    def select(self, chosen: Sequence[int]) -> "Segments":
        """The segments ``chosen`` (in that order) as a new ``Segments``."""
        parts = [self.part(int(k)) for k in chosen]
        return build_segments([self.time[p] for p in parts], [self.x[p] for p in parts],
                              self.source[list(chosen)])


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array``, no longer writable: a kept value that no caller may change."""
    array.setflags(write=False)
    return array


def _trapezoid_weights(t: np.ndarray) -> np.ndarray:
    """Time weights of samples at times ``t``, summing to 1 (equal weights for equal spacing)."""
    if len(t) < 2 or t[-1] <= t[0]:
        return np.full(len(t), 1.0 / len(t))
    gaps = np.diff(t)
    weights = np.concatenate([gaps[:1], gaps[:-1] + gaps[1:], gaps[-1:]]) / 2
    return weights / weights.sum()


def build_segments(times: Sequence[np.ndarray], states: Sequence[np.ndarray],
                   source: Sequence[int]) -> Segments:
    """Segments from per-segment time grids and states (times are taken relative to each start)."""
    lengths = [len(t) for t in times]
    return Segments(
        x=np.concatenate(states).astype(np.float64),
        time=np.concatenate([np.asarray(t, float) - t[0] for t in times]),
        weight=np.concatenate([_trapezoid_weights(np.asarray(t, float)) for t in times]),
        starts=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        source=np.asarray(source, dtype=np.int64))


def _weighted_variance(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    weights = _trapezoid_weights(t)
    mean = weights @ x
    return weights @ (x - mean) ** 2


def column_motion_times(trajectories: Sequence[Trajectory]) -> np.ndarray:
    """Each column's motion time (seconds): the lag at which its within-trajectory
    autocorrelation falls to 1/2; nan for a column that does not move, inf when the
    trajectories are too short for it.

    The autocorrelation at lag h is ``1 - S(h) / (2 V)``, with ``S(h)`` the mean squared change of
    a column over h (times interpolated on each trajectory's own grid) and V its mean
    within-trajectory variance, both pooled over trajectories. White measurement noise adds the
    same amount to S at every lag and barely moves the result.
    """
    usable = [tr for tr in trajectories if len(tr) >= 2 and tr.t[-1] > tr.t[0]]
    if not usable:
        return np.full(trajectories[0].x.shape[1] if trajectories else 0, np.inf)
    variance = np.mean([_weighted_variance(tr.t, tr.x) for tr in usable], axis=0)
    longest = max(tr.t[-1] - tr.t[0] for tr in usable)
    shortest_step = min(float(np.min(np.diff(tr.t))) for tr in usable)
    lags = np.geomspace(shortest_step, longest / 2, LAG_POINTS) if longest / 2 > shortest_step \
        else np.array([shortest_step])
    squared = np.zeros((len(lags), variance.size))
    counts = np.zeros(len(lags))
    for tr in usable:
        later = tr.t[None, :] + lags[:, None]  # (lags, samples), every lag at once
        inside = later <= tr.t[-1]
        used = inside & (inside.sum(axis=1, keepdims=True) >= 2)
        for j in range(tr.x.shape[1]):
            shifted = np.interp(np.where(used, later, tr.t[0]), tr.t, tr.x[:, j])
            squared[:, j] += np.sum(np.where(used, shifted - tr.x[:, j], 0.0) ** 2, axis=1)
        counts += used.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = 1 - squared / np.maximum(counts, 1)[:, None] / (2 * variance)
    times = np.full(variance.size, np.nan)
    for j in np.flatnonzero(variance > 0):
        below = np.flatnonzero((correlation[:, j] <= 0.5) & (counts > 0))
        times[j] = lags[below[0]] if below.size else np.inf
    return times


def motion_time(trajectories: Sequence[Trajectory]) -> float:
    """The state's motion time (seconds): the median of ``column_motion_times`` over the columns
    that move; ``inf`` when none does or the trajectories are too short for it."""
    return median_motion_time(column_motion_times(trajectories))


def median_motion_time(times: np.ndarray) -> float:
    """The median of per-column motion times over the columns that move (``inf`` for none)."""
    moving = times[~np.isnan(times)]
    return float(np.median(moving)) if moving.size else float("inf")


def _split_points(trajectory: Trajectory, window_seconds: float) -> list[np.ndarray]:
    """Index arrays of the windows of one trajectory (equal durations, enough samples each)."""
    duration = float(trajectory.t[-1] - trajectory.t[0])
    pieces = 1 if not np.isfinite(window_seconds) or window_seconds <= 0 \
        else max(1, int(duration // window_seconds))
    pieces = min(pieces, len(trajectory) // MIN_SEGMENT_SAMPLES)
    while pieces > 1:
        edges = trajectory.t[0] + duration * np.arange(1, pieces) / pieces
        labels = np.searchsorted(edges, trajectory.t, side="right")
        if np.bincount(labels, minlength=pieces).min() >= MIN_SEGMENT_SAMPLES:
            return [np.flatnonzero(labels == k) for k in range(pieces)]
        pieces -= 1
    return [np.arange(len(trajectory))]


def segment_trajectories(trajectories: Sequence[Trajectory], window: float,
                         motion_seconds: float, split: str = "training") -> Segments:
    """Cut ``trajectories`` into windows of ``window`` motion times (``motion_seconds`` each).

    A trajectory with fewer than ``MIN_SEGMENT_SAMPLES`` samples is dropped with a warning
    naming it; if none is left, a ``ConslawError`` says so.
    """
    times, states, source = [], [], []
    for index, trajectory in enumerate(trajectories):
        if len(trajectory) < MIN_SEGMENT_SAMPLES:
            warnings.warn(f"{split} trajectory {index} has {len(trajectory)} samples; conservation "
                          f"needs at least {MIN_SEGMENT_SAMPLES} per trajectory, so it is not used",
                          stacklevel=2)
            continue
        for rows in _split_points(trajectory, window * motion_seconds):
            if len(rows) > MAX_SEGMENT_SAMPLES:
                rows = rows[np.unique(np.round(np.linspace(0, len(rows) - 1, MAX_SEGMENT_SAMPLES)).astype(int))]
            times.append(trajectory.t[rows])
            states.append(trajectory.x[rows])
            source.append(index)
    if not times:
        raise ConslawError(f"no {split} trajectory has the {MIN_SEGMENT_SAMPLES} samples that "
                           "judging conservation needs")
    return build_segments(times, states, source)


def check_windows(segments: Segments, split: str, window: float, window_seconds: float) -> None:
    """Warn when ``split``'s trajectories make a single window: a ratio's standard error is the
    spread of its windows' shares, so with one window no law can be accepted
    (``ranking.is_accepted``), and the user should know why and what to change."""
    if segments.n_segments >= 2:
        return
    length = f" of {window_seconds:.3g} s" if window > 0 and np.isfinite(window_seconds) else ""
    remedy = f"a shorter --window (now {window:g} motion times)" if window > 0 else \
        "a --window above 0 (0 keeps each trajectory whole)"
    warnings.warn(f"the {split} data make one window{length}, and a conservation ratio needs two for its "
                  f"standard error, so no law can be accepted: give longer or more trajectories, or {remedy}",
                  stacklevel=2)


def check_sampling(trajectories: Sequence[Trajectory], column_times: np.ndarray,
                   columns: Sequence[str], still: Sequence[bool]) -> None:
    """Warn when the data are sampled too coarsely to tell motion from noise: as a whole, or
    in some columns (``column_times``, each column's motion time); a ``still`` column (constant
    along each trajectory, a conserved input) has no motion to resolve."""
    motion_seconds = median_motion_time(column_times)
    if not np.isfinite(motion_seconds):
        return
    steps = np.concatenate([np.diff(tr.t) for tr in trajectories if len(tr) > 1])
    step = float(np.median(steps))
    per_motion = motion_seconds / step
    fast = [name for name, seconds, constant in zip(columns, column_times, still)
            if seconds < MIN_SAMPLES_PER_MOTION_TIME * step and not constant]
    if fast and per_motion >= MIN_SAMPLES_PER_MOTION_TIME:
        warnings.warn(f"columns {', '.join(fast)} change faster than the sampling resolves, or their "
                      f"noise hides their motion (under {MIN_SAMPLES_PER_MOTION_TIME} samples per their "
                      "motion time): the conservation of a law using them cannot be judged", stacklevel=2)
    if per_motion < MIN_SAMPLES_PER_MOTION_TIME:
        warnings.warn(f"the data are sampled at {per_motion:.3g} samples per motion time "
                      f"({motion_seconds:.3g} s); at least {MIN_SAMPLES_PER_MOTION_TIME} are needed "
                      "to tell motion from noise, so conservation judgements are weak", stacklevel=2)
