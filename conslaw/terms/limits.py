"""Where the multi-term search extracts sparse laws from the dense spectrum: the tight limit
(``SEARCH_TOLERANCE`` times the smallest ratio), and on noisy data the ``gap_limit`` and the
looser ``rungs`` above it, with at most ``noisy_max_terms`` terms per law."""
from __future__ import annotations

import numpy as np

from conslaw.terms.solve import LIMIT_FLOOR

SEARCH_TOLERANCE = 10.0
SPARSITY_TOLERANCE = 2.5
GAP = 10.0
ROUND_OFF = 1e-12
"""A law whose raw fit ratio is at most this is exact to rounding: the data carry no noise
along it, and a law the noise would lift to the gap limit is not expected."""
NOISY_MIN_TERMS = 8


def noisy_max_terms(columns: int) -> int:
    """Most terms of a law found in noisy data (no law exact to rounding, ``ROUND_OFF``): as
    many as a quadratic form of the columns has (an energy of coupled oscillators, the widest
    law of the built-in systems), and at least ``NOISY_MIN_TERMS``. Noise admits
    approximations of a law as conserved, and approximating a function such as a logarithm by
    polynomial terms takes many of them (predator-prey at 5 % noise: 11 and 12 terms, exact
    within the noise, found before the library that holds the logarithms)."""
    return max(NOISY_MIN_TERMS, columns * (columns + 1) // 2)


def gap_limit(ratios: np.ndarray, threshold: float) -> float:
    """The search limit for noisy data: in the dense spectrum up to the first ratio above
    ``1 / threshold`` (no law beyond it can be accepted), the geometric middle of the last
    relative gap of at least ``GAP`` (of the widest gap when there is none). Noise lifts the
    laws' ratios above the tight limit, which a few overfitted directions of a rich library
    still reach; the laws stay separated from the merely slow directions by a gap."""
    head = np.maximum(ratios[:int(np.sum(ratios <= 1.0 / threshold)) + 1], LIMIT_FLOOR)
    if len(head) < 2:
        return float(head[0]) if len(head) else LIMIT_FLOOR
    gaps = head[1:] / head[:-1]
    wide = np.flatnonzero(gaps >= GAP)
    chosen = int(wide[-1]) if len(wide) else int(np.argmax(gaps))
    return float(np.sqrt(head[chosen] * head[chosen + 1]))


def rungs(limit: float, loose: float, threshold: float) -> list[float]:
    """The limits of the extractions after the tight one on noisy data: the ``gap_limit`` when
    it is looser, then limits ``SEARCH_TOLERANCE`` times higher each, up to ``1 / threshold``."""
    limits = [loose] if loose > limit else []
    step = max(limit, loose) * SEARCH_TOLERANCE
    while step <= 1.0 / threshold:
        limits.append(step)
        step *= SEARCH_TOLERANCE
    return limits
