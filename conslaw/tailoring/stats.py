"""Multi-seed statistics: per-method summaries and paired comparisons with a t interval."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy import stats

INTERVAL = "95 % paired t interval of the mean per-seed difference (scipy.stats.ttest_rel)"


def _finite(value: Optional[float]) -> bool:
    return value is not None and bool(np.isfinite(value))


def summarize(values: Sequence[Optional[float]]) -> dict:
    """Mean, sample standard deviation (ddof 1; 0 for one seed), median and count of finite values."""
    array = np.asarray([v for v in values if _finite(v)], dtype=float)
    if array.size == 0:
        return {"mean": None, "std": None, "median": None, "n": 0}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
            "median": float(np.median(array)), "n": int(array.size)}


def paired_comparison(method: Sequence[Optional[float]], reference: Sequence[Optional[float]]) -> dict:
    """Per-seed ``method - reference`` (negative: the method is better): the mean, its 95 % paired
    t interval (None under two seeds or with no spread) and the seeds the method wins."""
    pairs = np.array([(m, r) for m, r in zip(method, reference) if _finite(m) and _finite(r)], dtype=float)
    if pairs.size == 0:
        return {"mean_diff": None, "ci95": None, "wins": 0, "n": 0}
    difference = pairs[:, 0] - pairs[:, 1]
    interval = None
    if difference.size > 1 and np.ptp(difference) > 0:
        low, high = stats.ttest_rel(pairs[:, 0], pairs[:, 1]).confidence_interval(0.95)
        interval = [float(low), float(high)]
    return {"mean_diff": float(difference.mean()), "ci95": interval, "wins": int((difference < 0).sum()),
            "n": int(difference.size)}
