"""Units as evidence: point at a declared unit that keeps a better law out of reach.

A unit decides which operators may touch a column: only an angle enters ``sin`` and ``cos``, only
a dimensionless quantity ``exp`` and ``log``. When no exact law was accepted but some candidate
is nearly conserved (``NEARLY_CONSERVED``), each column whose declared unit bars it from such
operators is tried once more as if it were an angle (or dimensionless), with a whole-formula
search (to the search's depth, at most ``DEPTH``) of only the formulas that use the column inside
those operators (every other formula was judged already). If that finds an exact law, or one
conserved ``BETTER`` times better than the best accepted law, a one-line warning names the column
and its declared unit. An approximate law found only under the trial unit is no evidence: a
cosine with a fitted frequency imitates a square on any data (measured on the coupled springs);
so when no law was accepted at all, only an exact trial law warns (a damped oscillator once got
a warning for each column that compared two searches that both found nothing).
The trial takes the column's numbers as written (a column of radians declared in cm is tried
as those radians, not as the hundredths of them its declared unit makes in SI). The right unit
is not guessed: the warning only says which declaration to check.
The trials run only beside a whole-formula search (``--mode formulas`` or ``both``), whose
judgement of every other formula they complete; together they have one search's time budget
(``--max-seconds``): each trial gets what is left of it, and the check stops, with a warning
naming the columns left untried, when it has run out (eight columns of four oscillators once
took 192 s of trials under a budget of 60 s, each trial having its own). With ``--mode terms``
there is no check (a noisy double pendulum at 200 Hz spent 63 of 169 s on it), and
``--no-unit-check`` skips it (a user sure of the units).
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Optional, Sequence

import numpy as np

from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import ANGLE, DIMENSIONLESS, Dimension, format_unit
from conslaw.law import Law

BETTER = 100.0
NEARLY_CONSERVED = 0.1
"""Trials run only when some candidate is at least this close to conserved (ten times steadier
than a quantity that merely moves with the data): then a unit may be what keeps it inexact."""
DEPTH = 7
"""Largest depth of the search that tries a column under another dimension."""

BARRED = ((ANGLE, ("sin", "cos"), "sin and cos"), (DIMENSIONLESS, ("exp", "log"), "exp and log"))


def _best_ratio(laws: Sequence[Law]) -> float:
    ratios = [law.evidence.ratio for law in laws if law.accepted]
    return min(ratios) if ratios else float("inf")


def unit_warnings(dataset: TrajectoryDataset, laws: Sequence[Law], operators: Sequence[str],
                  search: Callable[[TrajectoryDataset, str, Sequence[str], Optional[float]], list[Law]],
                  max_seconds: Optional[float] = None) -> list[str]:
    """Warnings for columns whose declared unit keeps a better law out of reach (see the module
    docstring); ``search(trial, column, operators, seconds)`` ranks the laws of the data set with
    the trial dimensions among the formulas that use ``column`` inside one of ``operators``,
    within ``seconds`` (None: no limit). The trials share ``max_seconds``; when it runs out the
    check stops with a warning that names the columns it did not try."""
    nearly = min((law.evidence.ratio for law in laws), default=float("inf")) <= NEARLY_CONSERVED
    if not nearly or any(law.quality == "exact" for law in laws if law.accepted):
        return []
    best, warnings, warned = _best_ratio(laws), [], set()
    trials = [(index, column, trial, needed, names)
              for index, (column, dimension) in enumerate(zip(dataset.columns, dataset.dimensions))
              for trial, needed, names in BARRED if dimension != trial and set(needed) & set(operators)]
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    for done, (index, column, trial, needed, names) in enumerate(trials):
        if column in warned:  # one warning per column
            continue
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            untried = ", ".join(dict.fromkeys(repr(entry[1]) for entry in trials[done:] if entry[1] not in warned))
            warnings.append(f"the unit check ran out of its time budget of {max_seconds:g} s (--max-seconds) "
                            f"after {done} of {len(trials)} trial searches; columns not tried: {untried}")
            break
        found = search(_trial_data(dataset, index, trial), column, needed, left)
        exact = any(law.accepted and law.quality == "exact" for law in found)
        ratio = _best_ratio(found)
        if exact or (math.isfinite(best) and ratio * BETTER <= best):
            gain = "exactly (none of the laws found is)" if exact \
                else f"{best / ratio:.3g} times better than the best law found" if ratio > 0 \
                else f"perfectly (ratio 0; the best law found has {best:.3g})"
            declared = dataset.units.get(column, format_unit(dataset.dimensions[index]))
            warnings.append(f"column {column!r} is declared in {declared}, which keeps it out of "
                            f"{names}; a law using it there is conserved {gain}: check its unit in --units")
            warned.add(column)
    return warnings


def _trial_data(dataset: TrajectoryDataset, index: int, dimension: Dimension) -> TrajectoryDataset:
    """``dataset`` with column ``index`` of ``dimension`` and the numbers it was written with (its
    declared unit's factor and offset to SI undone)."""
    column = dataset.columns[index]
    factor, offset = dataset.to_si.get(column, 1.0), dataset.si_offset.get(column, 0.0)
    scale, shift = np.ones(len(dataset.columns)), np.zeros(len(dataset.columns))
    scale[index], shift[index] = factor, offset

    def as_written(trajectory: Trajectory) -> Trajectory:
        rates = None if trajectory.dxdt is None else trajectory.dxdt / scale
        return Trajectory(trajectory.t, (trajectory.x - shift) / scale, rates)

    dimensions = tuple(dimension if j == index else d for j, d in enumerate(dataset.dimensions))
    return dataclasses.replace(dataset, dimensions=dimensions, train=[as_written(tr) for tr in dataset.train],
                               test=[as_written(tr) for tr in dataset.test],
                               to_si={**dataset.to_si, column: 1.0}, si_offset={**dataset.si_offset, column: 0.0})
