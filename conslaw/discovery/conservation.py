"""The data every conservation judgement is made on: segments, their surrogates and the control.

``ConservationData.prepare(dataset, window, draws, seed)`` computes, once per search:

- ``train``: the training segments against their null (``draws`` surrogate draws);
- ``test``: the held-out segments against their own null (None without test trajectories);
- ``control``: one more surrogate draw of the training segments, judged against the training
  null: data with the same motion and none of the structure, on which a template refitted tells
  how low its ratio gets by chance (``Evidence.ratio_control``);
- ``noise``: each column's white-noise level on the training segments
  (``conslaw.discovery.noise``), which decides whether a law's nonlinear terms are biased;
- ``levels``: the segments whose means tell an identity's one value from a law's levels
  (``level_segments``);
- ``copies``: the columns that repeat another (``conslaw.discovery.copies``), which move with it
  in every surrogate.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Optional, Sequence

import numpy as np

from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.discovery.copies import Copy, copied_columns, sources
from conslaw.discovery.fit import FitData
from conslaw.discovery.identities import IDENTITY_TRAJECTORIES
from conslaw.discovery.noise import NoiseStencil, noise_stencil
from conslaw.discovery.segments import (
    Segments, build_segments, check_sampling, check_windows, column_motion_times, median_motion_time,
    segment_trajectories,
)
from conslaw.discovery.surrogate import still_columns, surrogate_draw
from conslaw.errors import UsageError
from conslaw.options import check_types, optional_number, option, parse_list, require

CONTROL_SEED_OFFSET = 7919
NULL_DRAWS = 2
"""Surrogate draws that make up the null (each as many segments as the data)."""
MODES = ("formulas", "terms", "both")


def _laws_list(text: str) -> tuple[str, ...]:
    """``--expect``'s laws: ``"E1; E2"`` -> ``("E1", "E2")`` (a law may hold commas, as in
    ``atan2(y, x)``); text that holds none is refused, not taken for no expectation."""
    laws = parse_list(text, name="--expect", separator=";")
    if not laws:
        raise UsageError(f"--expect holds no law, got {text!r}")
    return laws


@dataclass(frozen=True)
class DiscoveryConfig:
    """How conservation is judged and which searches run (options of the discovery stage)."""

    mode: str = option("both", "Whole-formula search, multi-term search, or both.", choices=MODES)
    threshold: float = option(100.0, "Accept a law conserved this many times better, on the training "
                              "and the held-out trajectories, than by chance (its template refitted "
                              "on surrogate data) and than a quantity that merely moves with the data.")
    window: float = option(2.0, "Window length in motion times (the lag at which the state "
                           "decorrelates to 1/2); trajectories longer than a window are cut. "
                           "0 keeps whole trajectories.")
    keep: int = option(200, "Rejected candidates kept beside the accepted laws, best first (the pool "
                       "the tailoring stage ranks).")
    max_seconds: Optional[float] = option(None, "Time budget per search in seconds (the whole-formula "
                                          "search, the multi-term search, and the unit check's trial "
                                          "searches together); a search that runs out returns the best "
                                          "found so far, marked partial.",
                                          parse=partial(optional_number, name="--max-seconds",
                                                        absent=("", "none", "0")))
    unit_check: bool = option(True, "Skip the unit check: when no law is exact, the trial searches "
                              "that try each column a unit bars from sin and cos (or exp and log) as "
                              "an angle (or a number), to point at a declared unit.", negate=True)
    expect: tuple[str, ...] = option((), "Laws you expect, in SI units (angles in radians), separated "
                                     "by ';': each is judged on the data with its coefficients as "
                                     "given, and reported with whether discovery reached it.",
                                     parse=_laws_list, metavar="LAWS")

    def __post_init__(self) -> None:
        if isinstance(self.expect, (str, list, tuple)):  # laws as text, or SymPy expressions
            object.__setattr__(self, "expect", _laws_list(self.expect) if isinstance(self.expect, str)
                               else tuple(str(law) for law in self.expect))
        check_types(self)
        require(self.mode in MODES, self, "mode", f"must be one of {', '.join(MODES)}")
        require(self.threshold > 1, self, "threshold", "must be > 1")
        require(self.window >= 0, self, "window", "must be >= 0")
        require(self.keep >= 0, self, "keep", "must be >= 0")
        require(self.max_seconds is None or self.max_seconds > 0, self, "max_seconds", "must be > 0")


def _motion_times(trajectories: Sequence[Trajectory]) -> np.ndarray:
    """Each column's motion time (``column_motion_times``), nan for a column that does not move
    along whole trajectories (``still_columns``: one value, or white noise about one, as a sensor
    channel that reads only its noise): such a column decorrelates within a sample, and counted
    in the median four of them made a pendulum's windows a sample long, its laws unresolved."""
    whole = [trajectory for trajectory in trajectories if len(trajectory) >= 2]
    times = column_motion_times(trajectories)
    if not whole:
        return times
    segments = build_segments([tr.t for tr in whole], [tr.x for tr in whole], range(len(whole)))
    return np.where(still_columns(segments), np.nan, times)


def concatenate(parts: Sequence[Segments]) -> Segments:
    """Several ``Segments`` as one (segments in order)."""
    times, states, source = [], [], []
    for part in parts:
        for k in range(part.n_segments):
            piece = part.part(k)
            times.append(part.time[piece])
            states.append(part.x[piece])
            source.append(part.source[k])
    return build_segments(times, states, source)


def null_of(segments: Segments, draws: int, rng: np.random.Generator, column_sources: Sequence[int] = ()) -> Segments:
    """``draws`` surrogate draws of ``segments``, as one ``Segments``, a copy moving with its
    column (``column_sources``: ``copies.sources``)."""
    still = still_columns(segments)
    return concatenate([surrogate_draw(segments, still, rng, column_sources) for _ in range(draws)])


def level_segments(train: Segments, test: Optional[Segments], separate_runs: bool) -> Segments:
    """The segments whose means tell an identity (one value on every sample) from a law (a
    level per trajectory): the training ones, joined by the held-out ones when the training runs
    are fewer than ``IDENTITY_TRAJECTORIES`` and the held-out runs are runs of their own
    (``TrajectoryDataset.separate_test_runs``). A lab's three runs, one trained on, then show a
    rod's length at one value and the energy at three. A held-out piece of a training run shares
    every law's level, so it would make the energy an identity; and with enough training runs the
    decision stays theirs alone."""
    if test is None or not separate_runs or train.n_trajectories >= IDENTITY_TRAJECTORIES:
        return train
    return concatenate([train, dataclasses.replace(test, source=test.source + int(train.source.max()) + 1)])


@dataclass(frozen=True)
class ConservationData:
    """Training, held-out and control data, each with its null; see the module docstring."""

    train: FitData
    test: Optional[FitData]
    control: FitData
    motion_seconds: float
    window_seconds: float
    still: tuple[bool, ...]
    noise: tuple[float, ...]
    """Each column's estimated noise standard deviation on the training segments (SI units)."""
    stencil: NoiseStencil
    """The training segments' cubic stencil and each of its states' noise level, which every law's
    ``unresolved_change`` uses."""
    levels: Segments
    """The segments whose means tell an identity from a law (``level_segments``)."""
    derived: tuple[bool, ...] = ()
    """Whether each column was derived from another by ``--derive`` (``conslaw.datasets.derivatives``)."""
    copies: tuple[Copy, ...] = ()
    """The columns that repeat another on every sample of ``levels``, when those come from two
    trajectories or more (``conslaw.discovery.copies``)."""

    @classmethod
    def prepare(cls, dataset: TrajectoryDataset, window: float, draws: int, seed: int) -> "ConservationData":
        times = _motion_times(dataset.train)
        seconds = median_motion_time(times)
        rng = np.random.default_rng(seed)
        window_seconds = window * seconds if np.isfinite(seconds) else float("inf")
        train = segment_trajectories(dataset.train, window, seconds, "training")
        check_windows(train, "training", window, window_seconds)
        still = still_columns(train)
        check_sampling(dataset.train, times, dataset.columns, still)
        held_out = None
        if dataset.test:
            held_out = segment_trajectories(dataset.test, window, seconds, "test")
            check_windows(held_out, "held-out", window, window_seconds)
        levels = level_segments(train, held_out, dataset.separate_test_runs)
        copies = copied_columns(levels.x, dataset.columns, same_values=levels.n_trajectories < 2)
        column_sources = sources(copies, train.x.shape[1])
        train_null = null_of(train, draws, rng, column_sources)
        test = FitData(held_out, null_of(held_out, draws, rng, column_sources)) if held_out is not None else None
        control_rng = np.random.default_rng(seed + CONTROL_SEED_OFFSET)
        control = FitData(surrogate_draw(train, still, control_rng, column_sources), train_null)
        stencil = noise_stencil(train)
        derived = tuple(column in dataset.metadata.get("derived", {}) for column in dataset.columns)
        return cls(FitData(train, train_null), test, control, seconds, window_seconds,
                   tuple(bool(s) for s in still), tuple(float(level) for level in stencil.columns), stencil,
                   levels, derived, copies)

    @property
    def equal_copies(self) -> frozenset[int]:
        """The columns that hold another column's SI values (``Copy.equal``): each formula or
        term of one has a twin in the original, so the searches leave them out."""
        return frozenset(copy.copy for copy in self.copies if copy.equal)

    @property
    def segment_counts(self) -> dict[str, Optional[int]]:
        """The training and held-out segments a law's ratio errors come from, as ``Evidence``
        keeps them (``segments``, ``segments_test``; None without held-out data)."""
        return {"segments": self.train.truth.n_segments,
                "segments_test": self.test.truth.n_segments if self.test is not None else None}

    def summary(self) -> dict:
        """For result.json: the time scales and segment counts the judgement used."""
        return {
            "motion_time_s": self.motion_seconds if np.isfinite(self.motion_seconds) else None,
            "window_s": self.window_seconds if np.isfinite(self.window_seconds) else None,
            "train_segments": self.train.truth.n_segments,
            "test_segments": self.test.truth.n_segments if self.test else 0,
            "null_segments": self.train.null.n_segments,
            "still_columns": list(self.still),
            "noise": list(self.noise),
            "copied_columns": {copy.names[0]: copy.names[1] for copy in self.copies},
        }
