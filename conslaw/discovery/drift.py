"""Drift: whether a law's level moves steadily along the trajectories, beyond what its own
fluctuation from window to window explains.

The ratio judges a law within windows, so a change slower than a window is invisible to it:
weak friction (a spring's energy losing 0.9 % per window) or two modes that beat slower than
the recordings last (``three-oscillators``, a 34 s beat in 5 s trajectories) leave a quantity
that looks conserved window by window and drifts from the first window to the last. For each
trajectory cut into at least ``MIN_WINDOWS`` windows, the windows' means are regressed on their
order; the slope's t statistic, against the scatter of the means about the line, gives a
two-sided p-value, and Fisher's method combines the trajectories' p-values into one. A
conserved law's window means scatter without a trend (its noise, and the fluctuation a fitted
coefficient's error leaves, change sign at random); a drifting one trends, in one direction
(friction) or in one per trajectory (a beat). A drifting law is labelled approximate when its
drift is friction's: one way on every trajectory, the held-out ones too (``one_way``); a drift
up on some trajectories and down on others, or on the training trajectories and not on the
held-out ones, is a slow exchange between motions, and such a law is rejected
(``conslaw.discovery.demotions.beating``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.special import chdtrc, stdtr  # chi-square and t tails; scipy.stats adds 0.5 s to every import

from conslaw.discovery.forms import segment_means
from conslaw.discovery.segments import Segments

MIN_WINDOWS = 3
"""A trajectory needs this many windows for a slope with an error (a line through two means has
none)."""
DRIFT_ALPHA = 1e-3
"""An exact law's drift p-value must not fall below this. Measured (2026-12-05) on the accepted
true laws of coupled springs, Kepler, the rotating trap, Duffing and predator-prey at 10-200 Hz
and 1-5 % noise (23 laws): 0.026 and up; on the false quadratic forms the windows accept (the
random trust cells of three oscillators at 10 Hz and 2 %, and coupled springs at 10 Hz and 2 %)
1.2e-11 to 1.6e-4; on a pendulum with friction 0.005/s over 40 s, 7e-50."""

REPLICATION_ALPHA = 0.01
"""A drift seen on the training trajectories must recur on the held-out ones at this level (one
trend in a named direction: a confirmation, not a search). Measured (2026-12-08): friction's
held-out trends 0.0023 on a 3-window piece of one recording (t = -140 with one degree of
freedom) and below 1e-10 on longer ones; a slowly rotating trap's drifting near-integrals,
0.031-0.147 on a 7-window held-out run (their training trends t = 9.5-16.3)."""

DRIFT_FLOOR = 1e-6
"""Scatter of the window means below this share of the law's range is rounding and integration
error, not noise."""


def trajectory_trends(values: np.ndarray, segments: Segments, scale: float) -> list[tuple[float, int]]:
    """For each trajectory of ``segments`` with ``MIN_WINDOWS`` windows or more, the t statistic
    of its window means' slope (signed) and its degrees of freedom; none when ``values`` (N,) are
    not all finite. The means' scatter counts as at least ``DRIFT_FLOOR`` times ``scale`` (the
    law's typical range): on noiseless data an integrator's drift of 1e-10 would otherwise be
    significant."""
    if not np.all(np.isfinite(values)):
        return []
    means = segment_means(values, segments)
    trends = []
    for trajectory in np.unique(segments.source):
        level = means[segments.source == trajectory]
        count = len(level)
        if count < MIN_WINDOWS:
            continue
        order = np.arange(count) - (count - 1) / 2
        slope = order @ level / (order @ order)
        residual = level - level.mean() - slope * order
        scatter = max(residual @ residual / (count - 2), (DRIFT_FLOOR * scale) ** 2)
        if scatter > 0:
            trends.append((float(slope / np.sqrt(scatter / (order @ order))), count - 2))
    return trends


def _combined(p_values: list[float]) -> Optional[float]:
    """Fisher's combination of independent p-values (None for none)."""
    if not p_values:
        return None
    log_p = [np.log(max(p, np.finfo(float).tiny)) for p in p_values]
    return float(chdtrc(2 * len(log_p), -2 * sum(log_p)))


def drift_p_value(values: np.ndarray, segments: Segments, scale: float) -> Optional[float]:
    """The combined p-value that ``values`` (N,) on ``segments`` trend along their trajectories
    (see the module docstring), or None when no trajectory has ``MIN_WINDOWS`` windows."""
    return _combined([2 * stdtr(dof, -abs(t)) for t, dof in trajectory_trends(values, segments, scale)])


def one_way(training: list[tuple[float, int]], held_out: list[tuple[float, int]]) -> bool:
    """Whether a drift seen on the training trajectories (their ``trajectory_trends``) is a loss
    or gain in one direction everywhere, as friction's is: no trajectory, training or held-out,
    trends the other way (their one-sided p-values for it, combined by Fisher's method and the
    least of them times their number, each not below ``DRIFT_ALPHA``: many weak trends or one
    strong one), and the held-out trajectories trend the training's way (Fisher's combination
    below ``REPLICATION_ALPHA``) when any of them has ``MIN_WINDOWS`` windows. Two modes that
    beat slower than the recordings move a quadratic form up on some trajectories and down on
    others, or on one and not the next."""
    direction = 1.0 if sum(t for t, _ in training) >= 0 else -1.0
    against = [stdtr(dof, direction * t) for t, dof in training + held_out]
    along = _combined([stdtr(dof, -direction * t) for t, dof in held_out])
    other_way = bool(against) and min(_combined(against), len(against) * min(against)) < DRIFT_ALPHA
    return not other_way and (along is None or along < REPLICATION_ALPHA)


def drifting(p_value: Optional[float]) -> bool:
    """Whether a law's ``drift_p_value`` says it trends (below ``DRIFT_ALPHA``)."""
    return p_value is not None and p_value < DRIFT_ALPHA
