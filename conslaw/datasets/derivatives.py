"""Time derivatives of recorded columns, for data that hold positions and not velocities.

A camera tracking a bob records where it is, not how fast it moves, and most laws need both.
``derive_columns(dataset, "x=vx,y=vy")`` adds ``vx = dx/dt`` and ``vy = dy/dt`` as state
columns, in the column's unit per the time unit (``px/ms`` for ``px`` over ``ms``).

How: at each sample a polynomial of degree ``DEGREE`` is fitted by least squares to the samples
around it (``2 h + 1`` of them, on their actual times, so dropped frames and uneven sampling are
fine; near a trajectory's ends the window shifts inwards), and its slope there is the
derivative. The half-width ``h`` is chosen for each column over all its trajectories by
cross-validation of the fitted values (leave-one-out residuals from the fit's hat matrix), among
half-widths growing by a quarter from 3: narrow windows for clean data, wide ones where noise
dominates. Where the narrowest window wins, the data are resolved beyond the fit's bias, and the
slope is that of the polynomial through the window's 7 samples (degree 6: on a clean pendulum's
angle at 30 / 100 Hz, 1.5e-7 / 1.7e-10 of the velocity's spread against 2.5e-5 / 1.9e-7 for the
degree-4 fit; clean laws then come out exact). An angle column is unwrapped first (a jump over
half a turn between samples is a wrap, not motion). A single recording split in time into
training and test blocks is differentiated block by block (each block's ends by windows shifted
inwards).

Measured on a pendulum's bob (x, y at 30 to 1000 Hz, clean and with 1-5 % noise): the
velocities' RMS error over their spread is 3.5e-6 at 30 Hz clean (``np.gradient``: 3.9e-3) and
0.9-4.5 % with 1-5 % noise (``np.gradient``: 9-260 %; SciPy's GCV smoothing spline, whose natural
ends bend the slope, 1.4-5.2 % under noise and 6e-3 to 1e-2 clean; ``docs/datasets.md``).
``scipy.signal.savgol_filter`` makes the same fits on uniform times only, hence this module.
Cost: a bob's x recorded at 1 kHz with 1 % noise, 100,020 samples (half-width 260 chosen), takes
2.8 s and 262 MB (88.8 s before the half-widths were scored on a subsample and the powers taken
by ``np.vander``).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np

from conslaw.datasets.tables import finite_difference
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import parse_unit
from conslaw.errors import UsageError

DEGREE = 4
"""The local polynomial's degree (``2 * MIN_HALF_WIDTH`` where the narrowest window wins)."""
MIN_HALF_WIDTH = 3
"""The narrowest window, 7 samples: with 5 a degree-4 fit interpolates, and no residual is left to
cross-validate."""
MAX_HALF_WIDTH = 400
"""The widest window considered (801 samples)."""
SCORED_SAMPLES = 4096
"""At most about this many samples, evenly spaced over the trajectories, score each half-width;
the slopes at the chosen one are fitted at every sample."""
WORSE_IN_A_ROW = 3
"""The search over half-widths stops after this many candidates in a row scored worse than the
best (the score is U-shaped: the bias grows, the noise has been averaged)."""
BLOCK_VALUES = 1 << 22
"""Window values fitted together (32 MB of float64 per array: bounds the memory of wide windows)."""


def parse_derive(spec: str, columns: Sequence[str]) -> dict[str, str]:
    """``"x=vx,y"`` -> ``{"vx": "x", "y_dot": "y"}`` (new column -> the column it is the time
    derivative of); every name is checked against ``columns``."""
    derived: dict[str, str] = {}
    for item in (part.strip() for part in str(spec).split(",")):
        if not item:
            raise UsageError(f"--derive {spec!r} has an empty entry; expected e.g. \"x=vx,y=vy\"")
        source, _, name = (part.strip() for part in item.partition("="))
        name = name or f"{source}_dot"
        if source not in columns:
            raise UsageError(f"--derive entry {item!r}: no state column {source!r} (the state columns are "
                             f"{', '.join(columns)})")
        if not name.isidentifier():
            raise UsageError(f"--derive entry {item!r}: {name!r} is not a valid column name")
        if name in columns or name in derived:
            raise UsageError(f"--derive entry {item!r}: a column {name!r} exists already")
        if source in derived.values():
            raise UsageError(f"--derive entry {item!r}: {source!r} is derived twice")
        derived[name] = source
    return derived


def _window_fits(t: np.ndarray, x: np.ndarray, half: int, degree: int = DEGREE,
                 rows: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local polynomial fits of ``degree`` and half-width ``half`` at the samples ``rows``
    (every sample by default) of one trajectory's column ``x``: the fitted values, the slopes and
    each sample's own weight in its fitted value (the hat matrix's diagonal), one each per row."""
    n, width = len(t), 2 * half + 1
    rows = np.arange(n) if rows is None else rows
    values, slopes, hat = np.empty(len(rows)), np.empty(len(rows)), np.empty(len(rows))
    block = max(1, BLOCK_VALUES // (width * (degree + 1)))
    for start in range(0, len(rows), block):
        part = slice(start, start + block)
        at = rows[part]
        first = np.clip(at - half, 0, n - width)
        window = first[:, None] + np.arange(width)
        offsets = t[window] - t[at, None]
        scale = np.maximum(np.abs(offsets).max(axis=1), np.finfo(float).tiny)
        powers = np.vander((offsets / scale[:, None]).ravel(), degree + 1, increasing=True).reshape(
            offsets.shape + (degree + 1,))  # 5.7x faster than ** on a wide window's block
        # rows 0 and 1 of the pseudo-inverse (V^T V)^-1 V^T, the weights of the value and the slope
        # at the sample, as V (V^T V)^-1 e_0 and V (V^T V)^-1 e_1 (V^T V is symmetric)
        gram = np.matmul(np.swapaxes(powers, 1, 2), powers)
        picked = np.linalg.solve(gram, np.broadcast_to(np.eye(degree + 1)[:, :2], (len(at), degree + 1, 2)))
        weights = np.matmul(powers, picked)
        values[part] = np.einsum("rw,rw->r", weights[..., 0], x[window])
        slopes[part] = np.einsum("rw,rw->r", weights[..., 1], x[window]) / scale
        hat[part] = weights[np.arange(len(at)), at - first, 0]
    return values, slopes, hat


def _half_widths(longest: int) -> list[int]:
    """Candidate half-widths: from ``MIN_HALF_WIDTH`` up by a quarter each, as long as a window
    fits the longest trajectory."""
    widest = min((longest - 1) // 2, MAX_HALF_WIDTH)
    halves, value = [], float(MIN_HALF_WIDTH)
    while round(value) <= widest:
        if not halves or round(value) > halves[-1]:
            halves.append(round(value))
        value *= 1.25
    return halves


def _degree(half: int) -> int:
    """The degree of the fit at half-width ``half``: the interpolant's through the narrowest
    window (see the module docstring), ``DEGREE`` otherwise."""
    return 2 * MIN_HALF_WIDTH if half == MIN_HALF_WIDTH else DEGREE


def smoothed_slopes(times: Sequence[np.ndarray], columns: Sequence[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """The slopes of one column's trajectories (``columns[i]`` sampled at ``times[i]``) at the
    half-width that cross-validates best over all of them (through the narrowest window's samples
    when it wins), and that half-width."""
    stride = max(1, -(-sum(len(t) for t in times) // SCORED_SAMPLES))
    scored = [np.arange(0, len(t), stride) for t in times]
    best_half, best_score, worse = MIN_HALF_WIDTH, np.inf, 0
    for half in _half_widths(max(len(t) for t in times)):
        score = 0.0
        for t, x, rows in zip(times, columns, scored):
            values, _, hat = _window_fits(t, x, min(half, (len(t) - 1) // 2), rows=rows)
            score += float(np.sum(((x[rows] - values) / np.maximum(1.0 - hat, 1e-12)) ** 2))
        if score < best_score:
            best_half, best_score, worse = half, score, 0
        else:
            worse += 1
            if worse >= WORSE_IN_A_ROW:
                break
    slopes = [_window_fits(t, x, min(best_half, (len(t) - 1) // 2), _degree(best_half))[1]
              for t, x in zip(times, columns)]
    return slopes, best_half


def derive_columns(dataset: TrajectoryDataset, spec: str) -> TrajectoryDataset:
    """``dataset`` with the time derivatives ``spec`` names (``"x=vx,y=vy"``; ``"x"`` names its
    derivative ``x_dot``) appended as state columns (see the module docstring). Their rates are
    finite differences, as a file's are, and the data set has no true field."""
    derived = parse_derive(spec, dataset.columns)
    trajectories = dataset.train + dataset.test
    short = [len(tr) for tr in trajectories if len(tr) < 2 * MIN_HALF_WIDTH + 1]
    if short:
        raise UsageError(f"--derive needs {2 * MIN_HALF_WIDTH + 1} samples a trajectory; {len(short)} of "
                         f"{len(trajectories)} trajectories has fewer (the shortest: {min(short)})")
    times = [tr.t for tr in trajectories]
    added, units, chosen = [], {}, {}
    for name, source in derived.items():
        k = dataset.columns.index(source)
        values = [tr.x[:, k] for tr in trajectories]
        if dataset.dimensions[k].is_angle:
            values = [np.unwrap(v) for v in values]
        slopes, chosen[name] = smoothed_slopes(times, values)
        added.append(slopes)
        units[name] = _rate_unit(dataset.units[source], dataset.time_unit)
    parsed = {name: parse_unit(unit) for name, unit in units.items()}

    def extended(index: int, trajectory: Trajectory) -> Trajectory:
        x = np.column_stack([trajectory.x, *(slopes[index] for slopes in added)])
        return Trajectory(trajectory.t, x, finite_difference(trajectory.t, x))

    extended_trajectories = [extended(i, tr) for i, tr in enumerate(trajectories)]
    account = {name: {"of": source, "unit": units[name], "half_width": chosen[name], "degree": _degree(chosen[name])}
               for name, source in derived.items()}
    return dataclasses.replace(
        dataset, columns=dataset.columns + tuple(derived),
        dimensions=dataset.dimensions + tuple(parsed[name].dimension for name in derived),
        train=extended_trajectories[:len(dataset.train)], test=extended_trajectories[len(dataset.train):],
        units={**dataset.units, **units}, to_si={**dataset.to_si, **{n: p.to_si for n, p in parsed.items()}},
        si_offset={**dataset.si_offset, **{name: 0.0 for name in derived}},
        true_field=None, derivatives="finite-difference",
        metadata={**dataset.metadata, "derived": account})


def derived_text(account: Mapping[str, Mapping]) -> str:
    """``vx = dx/dt, vy = dy/dt`` for a data set's ``metadata["derived"]`` (or ``result.json``'s
    ``dataset.derived``)."""
    return ", ".join(f"{name} = d{entry['of']}/dt" for name, entry in account.items())


def _rate_unit(unit: str, time_unit: str) -> str:
    """The text of ``unit`` per ``time_unit`` (``m/s``, ``(kg*m)/(s/30)``)."""
    def grouped(text: str) -> str:
        return text if text.replace("_", "").isalnum() else f"({text})"
    return f"{grouped(unit)}/{grouped(time_unit)}"
