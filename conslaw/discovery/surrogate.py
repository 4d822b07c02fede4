"""The null: surrogate segments that move like the data but carry none of its structure.

A surrogate segment takes every column's time series from a *different* segment (when there are
fewer segments than columns, some from segments already used, run the other way), mapped onto the
target segment's time grid. Never one segment forwards and backwards while others are unused: the
two runs meet at its midpoint, in a true state. Each column therefore keeps
its own motion, smoothness, amplitude and noise, while the relations between columns, which is
what a conservation law is, are broken; but a column that copies another
(``conslaw.discovery.copies``: one reading recorded twice) takes that column's source, so the
copy holds. A quantity that is constant only because the data move little is constant on the
surrogates too, so it gains nothing against this null, however dense the sampling or short the
windows; a conserved quantity stays constant on the true segments only.

A column that the data never move (a conserved input, such as a free particle's momentum) cannot
be moved by any reshuffling of its own motion. Its null motion is its spread across segments:
in a surrogate it glides linearly from one segment's series to another's. A column is taken as
not moving when its within-segment variation has no smooth part, i.e. looks like white
measurement noise (von Neumann ratio of successive differences to variance near 2), or is zero.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from conslaw.discovery.segments import Segments, build_segments

WHITE_NOISE_RATIO = 1.5
"""A column whose mean squared successive difference exceeds this times its within-segment
variance (2 for white noise, near 0 for motion sampled finer than it moves) does not move."""

CONSTANT = 1e-24
"""Within-segment variance below this fraction of the total variance is rounding: no motion."""


def _within_variance_and_steps(segments: Segments) -> tuple[np.ndarray, np.ndarray]:
    """Per column: mean within-segment variance and mean squared successive difference."""
    variance = np.zeros(segments.x.shape[1])
    steps = np.zeros(segments.x.shape[1])
    for k in range(segments.n_segments):
        x, w = segments.x[segments.part(k)], segments.weight[segments.part(k)]
        variance += w @ (x - w @ x) ** 2
        steps += np.mean(np.diff(x, axis=0) ** 2, axis=0)
    return variance / segments.n_segments, steps / segments.n_segments


def still_columns(segments: Segments) -> np.ndarray:
    """Columns the data do not move along any segment (bool, d): conserved inputs."""
    variance, steps = _within_variance_and_steps(segments)
    total = segments.x.var(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        white = steps >= WHITE_NOISE_RATIO * variance
    # steps == 0: one value along every segment; a column of one value everywhere has a total
    # variance of 0 and a within variance of rounding (its weighted mean is not exact)
    return (variance <= CONSTANT * np.maximum(total, 1e-300)) | (steps == 0) | white


def _column_options(n_segments: int, n_columns: int, rng: np.random.Generator) -> list[tuple[int, bool]]:
    """A (segment offset, reversed) per column, all different while 2 x segments allow, and
    from different segments while the segments allow: a segment run backwards beside itself
    run forwards meets its own true state at its midpoint."""
    options = [(offset, backwards) for backwards in (False, True) for offset in range(n_segments)]
    cycle = [options[0]] + [options[i] for i in 1 + rng.permutation(len(options) - 1)]
    first_of_each: dict[int, tuple[int, bool]] = {}
    for option in cycle:
        first_of_each.setdefault(option[0], option)
    # a stable reorder: a draw whose columns already come from different segments is unchanged
    distinct = list(first_of_each.values())
    cycle = distinct + [option for option in cycle if first_of_each[option[0]] != option]
    return [cycle[j % len(cycle)] for j in range(n_columns)]


def _series(segments: Segments, k: int, column: int, times: np.ndarray, backwards: bool) -> np.ndarray:
    part = segments.part(k)
    source_time, values = segments.time[part], segments.x[part, column]
    query = source_time[-1] - times if backwards else times
    return np.interp(query, source_time, values)


def surrogate_draw(segments: Segments, still: np.ndarray, rng: np.random.Generator,
                   sources: Sequence[int] = ()) -> Segments:
    """One surrogate of every segment (see the module docstring); a column that copies another
    (``sources[j]``, ``conslaw.discovery.copies``) takes that column's source segment and
    direction, so that the copy holds in the surrogate too."""
    n, d = segments.n_segments, segments.x.shape[1]
    order = rng.permutation(n)
    position = np.argsort(order)
    options = _column_options(n, d, rng)
    options = [options[source] for source in sources] if len(sources) else options
    durations = segments.durations
    times, states = [], []
    for k in range(n):
        sources = [order[(position[k] + offset) % n] for offset, _ in options]
        targets = segments.time[segments.part(k)]
        horizon = min(durations[k], *(durations[s] for s in sources))
        grid = targets[targets <= horizon + 1e-12 * max(horizon, 1.0)]
        columns = []
        for j, (source, (_, backwards)) in enumerate(zip(sources, options)):
            column = _series(segments, source, j, grid, backwards)
            if still[j] and n > 1:
                other = order[(position[source] + 1) % n]
                ramp = grid / grid[-1] if grid[-1] > 0 else np.zeros_like(grid)
                column = (1 - ramp) * column + ramp * _series(segments, other, j, grid, backwards)
            columns.append(column)
        times.append(grid)
        states.append(np.stack(columns, axis=1))
    return build_segments(times, states, segments.source)


def surrogates(segments: Segments, draws: int, seed: int) -> list[Segments]:
    """``draws`` independent surrogates of ``segments`` (the still columns found once)."""
    rng = np.random.default_rng(seed)
    still = still_columns(segments)
    return [surrogate_draw(segments, still, rng) for _ in range(draws)]
