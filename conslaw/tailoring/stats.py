"""Multi-seed statistics: per-method summaries and paired comparisons with a bootstrap interval."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def summarize(values: Sequence[float]) -> dict:
    """Mean, sample standard deviation (ddof 1; 0 for one seed), median and count of finite values."""
    array = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if array.size == 0:
        return {"mean": None, "std": None, "median": None, "n": 0}
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
        "median": float(np.median(array)),
        "n": int(array.size),
    }


def paired_comparison(
    method: Sequence[float], reference: Sequence[float], *, resamples: int = 10000, seed: int = 0
) -> dict:
    """Paired per-seed difference ``method - reference`` (negative = method better).

    Returns the mean difference, a percentile-bootstrap 95 % interval of that mean (resampling
    seeds with replacement), and how many seeds the method wins (strictly lower RMSE).
    Seeds where either value is missing or non-finite are dropped.
    """
    pairs = [
        (m, r)
        for m, r in zip(method, reference)
        if m is not None and r is not None and np.isfinite(m) and np.isfinite(r)
    ]
    if not pairs:
        return {"mean_diff": None, "ci95": None, "wins": 0, "n": 0}
    difference = np.array([m - r for m, r in pairs])
    rng = np.random.default_rng(seed)
    resampled = difference[rng.integers(0, difference.size, size=(resamples, difference.size))].mean(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return {
        "mean_diff": float(difference.mean()),
        "ci95": [float(low), float(high)],
        "wins": int((difference < 0).sum()),
        "n": int(difference.size),
    }
