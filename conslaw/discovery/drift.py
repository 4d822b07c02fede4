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
(friction) or in one per trajectory (a beat).
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

DRIFT_FLOOR = 1e-6
"""Scatter of the window means below this share of the law's range is rounding and integration
error, not noise."""


def drift_p_value(values: np.ndarray, segments: Segments, scale: float) -> Optional[float]:
    """The combined p-value that ``values`` (N,) on ``segments`` trend along their trajectories
    (see the module docstring), or None when no trajectory has ``MIN_WINDOWS`` windows. The
    means' scatter counts as at least ``DRIFT_FLOOR`` times ``scale`` (the law's typical range):
    on noiseless data an integrator's drift of 1e-10 would otherwise be significant."""
    if not np.all(np.isfinite(values)):
        return None
    means = segment_means(values, segments)
    log_p = []
    for trajectory in np.unique(segments.source):
        level = means[segments.source == trajectory]
        count = len(level)
        if count < MIN_WINDOWS:
            continue
        order = np.arange(count) - (count - 1) / 2
        slope = order @ level / (order @ order)
        residual = level - level.mean() - slope * order
        scatter = max(residual @ residual / (count - 2), (DRIFT_FLOOR * scale) ** 2)
        if scatter <= 0:
            continue
        t = abs(slope) / np.sqrt(scatter / (order @ order))
        log_p.append(np.log(max(2 * stdtr(count - 2, -t), np.finfo(float).tiny)))
    if not log_p:
        return None
    return float(chdtrc(2 * len(log_p), -2 * sum(log_p)))


def drifting(p_value: Optional[float]) -> bool:
    """Whether a law's ``drift_p_value`` says it trends (below ``DRIFT_ALPHA``)."""
    return p_value is not None and p_value < DRIFT_ALPHA
