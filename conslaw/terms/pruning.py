"""Evaluating a term library (``conslaw.terms.library``) and pruning it.

Pruning, in order (each step's removals are counted in ``TermLibrary.removed``):

1. ``non_finite``: a term not finite at some training, held-out or control state (truth or null);
2. ``out_of_range``: a term whose peak magnitude is beyond ``MAX_MAGNITUDE`` or below
   ``MIN_MAGNITUDE`` (rounding, not the data, would decide its forms);
3. ``constant``: a term with no spread over those states;
4. ``heavy_tailed``: a term whose largest deviation from its median passes ``HEAVY_TAIL`` times
   its median absolute deviation (``exp(y**2)``, ``x*exp(x**2)``): a handful of states rule its
   share of the linear forms, and mixtures of such terms look conserved to them (predator-prey
   at 1 % noise: raw ratios of 3e-7 judged 0.66, which pushed the true law out of the search
   limit). ``1/sqrt(x**2 + y**2)`` on eccentric Kepler orbits reaches about 200;
5. ``equal_on_data``: equal to a simpler term up to ``a*t + b`` (``sin(q)**2``, ``cos(q)**2``);
6. ``linearly_dependent``: in the span of simpler terms, by an unpivoted QR factorization of the
   centred, unit-norm term matrix ordered simple to complex (a diagonal entry of R below
   ``RANK_TOLERANCE``).

Steps 1 and 2 look at every state, but most terms are settled without forming their values
there: a product of factors finite at every state is at most the product of the factors' peak
magnitudes anywhere (finite and in range when that is), and its peak is at least its magnitude
at any one state. Only terms that these bounds leave in doubt are formed at every state
(``_usable``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from conslaw.discovery.function_forms import MAX_MAGNITUDE, MIN_MAGNITUDE
from conslaw.dsl.grammar import Evaluator
from conslaw.terms.library import TermLibrary
from conslaw.threads import single_threaded_blas

HEAVY_TAIL = 1e6
"""Largest deviation from the median, in median absolute deviations, of a term that is kept."""
RANK_TOLERANCE = 1e-6
DUPLICATE_DIGITS = 8
PRUNING_STATES = 4096
"""At most this many states (evenly spaced, and about twice as many as terms) on which terms are
compared for equality and rank: an identity holds at any states, and spread states show it."""
CHUNK = 256
BOUND_STATES = 32
"""States at which a term's magnitude is read to settle that it is not below range."""


def factor_values(library: TermLibrary, states: np.ndarray) -> np.ndarray:
    """Factor values (N, f+1); the last column is the constant 1 that pads short products."""
    evaluator = Evaluator(library.table, states)
    columns = [np.broadcast_to(np.asarray(evaluator(f), dtype=float), (len(states),))
               for f in library.factors]
    return np.stack(columns + [np.ones(len(states))], axis=1)


def _product_index(library: TermLibrary) -> np.ndarray:
    """Factor positions (k, m) of each term, padded with the constant factor."""
    width = max((len(t) for t in library.terms), default=1)
    pad = len(library.factors)
    return np.array([list(t) + [pad] * (width - len(t)) for t in library.terms],
                    dtype=np.int64).reshape(len(library.terms), width)


def _products(factors: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Term values (N, k): the product of each row of ``index``'s factor columns. ``np.take``
    gathers the columns into a C-ordered array, about twice as fast as fancy indexing on
    30,000 states x 256 terms (the pruning's chunks)."""
    values = np.take(factors, index[:, 0], axis=1)
    with np.errstate(all="ignore"):
        for j in range(1, index.shape[1]):
            values *= np.take(factors, index[:, j], axis=1)
    return values


def term_values(library: TermLibrary, states: np.ndarray) -> np.ndarray:
    """Term values (N, k) at ``states`` (N, d)."""
    return _products(factor_values(library, states), _product_index(library))


def _usable(factors: Sequence[np.ndarray], index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per term, over all parts: finite everywhere; and magnitude within range. The terms that
    ``_surely_usable`` settles are not formed; the rest are, at every state, ``CHUNK`` terms at a
    time, so that an unpruned library never lies in memory at once."""
    finite, in_range = np.ones(len(index), dtype=bool), np.ones(len(index), dtype=bool)
    for part in factors:
        doubtful = np.flatnonzero(~_surely_usable(part, index))
        for start in range(0, len(doubtful), CHUNK):
            terms = doubtful[start:start + CHUNK]
            values = _products(part, index[terms])
            usable = np.isfinite(values)
            finite[terms] &= usable.all(axis=0)
            peak = np.where(usable, np.abs(values), 0.0).max(axis=0, initial=0.0)
            in_range[terms] &= (peak <= MAX_MAGNITUDE) & (peak >= MIN_MAGNITUDE)
    return finite, in_range


def _surely_usable(part: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per term: whether its values at the states of ``part`` (factor values (N, f+1)) are
    certainly finite and within range, judged without forming them. Its factors are all finite
    and the product of their peak magnitudes is within half of ``MAX_MAGNITUDE`` (the half
    bounds the rounding of both products), so no value overflows or exceeds the range; and at
    one of ``BOUND_STATES`` evenly spaced states its value, computed as ``_products`` computes
    it there, is at least ``MIN_MAGNITUDE``."""
    if not len(part):
        return np.zeros(len(index), dtype=bool)
    finite = np.isfinite(part).all(axis=0)
    with np.errstate(all="ignore"):
        bound = np.prod(np.abs(part).max(axis=0)[index], axis=1)
        sample = part[np.unique(np.linspace(0, len(part) - 1, BOUND_STATES).astype(int))]
        least = np.abs(_products(sample, index)).max(axis=0)
    return finite[index].all(axis=1) & (bound <= MAX_MAGNITUDE / 2) & (least >= MIN_MAGNITUDE)


def _distinct(unit: np.ndarray, seed: int) -> list[int]:
    """Positions of the first of each group of columns equal up to sign (rounded)."""
    direction = np.random.default_rng(seed).standard_normal(len(unit))
    signed = np.round(unit * np.where(direction @ unit < 0, -1.0, 1.0), DUPLICATE_DIGITS)
    seen: set[bytes] = set()
    distinct = []
    for position in range(signed.shape[1]):
        signature = signed[:, position].tobytes()
        if signature not in seen:
            seen.add(signature)
            distinct.append(position)
    return distinct


def _independent(values: np.ndarray, removed: dict[str, int], seed: int) -> np.ndarray:
    """Positions of the varying, distinct, linearly independent columns of ``values``."""
    centred = values - values.mean(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    varying = np.flatnonzero(norms > 1e-12 * np.abs(values).max(axis=0) * np.sqrt(len(values)))
    removed["constant"] = values.shape[1] - len(varying)
    median = np.median(values[:, varying], axis=0)
    deviation = np.abs(values[:, varying] - median)
    spread = np.median(deviation, axis=0)
    tame = np.flatnonzero((spread == 0) | (deviation.max(axis=0) <= HEAVY_TAIL * spread))
    removed["heavy_tailed"] = len(varying) - len(tame)
    varying = varying[tame]
    unit = centred[:, varying] / norms[varying]
    distinct = _distinct(unit, seed)
    removed["equal_on_data"] = unit.shape[1] - len(distinct)
    unit = unit[:, distinct]
    diagonal = np.zeros(unit.shape[1])
    with single_threaded_blas():
        r = np.linalg.qr(unit, mode="r")
    diagonal[:min(r.shape)] = np.abs(np.diag(r))  # columns beyond the number of states are dependent
    independent = diagonal > RANK_TOLERANCE
    removed["linearly_dependent"] = int((~independent).sum())
    return varying[distinct][independent]


def prune_library(library: TermLibrary, parts: Sequence[np.ndarray], seed: int = 0
                  ) -> tuple[TermLibrary, list[np.ndarray]]:
    """Remove the terms of the module docstring's pruning steps: finiteness and range judged at
    all states of ``parts``, the rest on ``PRUNING_STATES`` evenly spaced among them. Returns
    the pruned library (order preserved) and its values on each part."""
    factors = [factor_values(library, np.asarray(p, dtype=float)) for p in parts]
    index = _product_index(library)
    finite, in_range = _usable(factors, index)
    removed = {"non_finite": int((~finite).sum()), "out_of_range": int((finite & ~in_range).sum())}
    keep = np.flatnonzero(finite & in_range)
    stacked = np.concatenate(factors)
    rows = min(PRUNING_STATES, 2 * len(keep) + 256)
    sample = stacked[np.unique(np.linspace(0, len(stacked) - 1, rows).astype(int))]
    keep = keep[_independent(_products(sample, index[keep]), removed, seed)]
    return library.subset(keep, removed), [_products(part, index[keep]) for part in factors]
