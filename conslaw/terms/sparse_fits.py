"""Sparse laws and their refits: the best law on each of many supports of the term library.

A law is ``g = sum_i c_i t_i`` over the terms of its support; its refit on a support is the
smallest generalized eigenpair of the forms restricted to it (``forms.smallest_ratio``), one
batch of small eigenproblems for many supports. ``SparseFits`` keeps every refit it has made:
the sparsification (``conslaw.terms.solve``) meets the same support again and again (forward
selection from two seeds reaching one pair, a swap undone, the next swap round's options), and
on the recorded pendulum more than half of the refits repeated one made before. A kept refit is
bitwise the one made again: each support's eigenproblem is solved on its own, whatever else is
in the batch.
"""
from __future__ import annotations

from dataclasses import dataclass
import functools
from typing import Optional, Sequence

import numpy as np

from conslaw.discovery.forms import ratio_of, smallest_ratio

R_FLOOR = 1e-12
NODE_COST = 0.5


def law_sizes(term_sizes: np.ndarray, supports: np.ndarray) -> np.ndarray:
    """DSL nodes of ``t0 + c1*t1 + ...`` for each row of ``supports`` (n, s): the terms, one
    ``+`` and a ``c*`` pair per extra term."""
    return term_sizes[supports].sum(axis=1) + 3 * (supports.shape[1] - 1)


def description_length(ratio: float | np.ndarray, size: int | np.ndarray) -> float | np.ndarray:
    """The discovery ranking's rule: log10 of the ratio (floored) plus ``NODE_COST`` per node
    (scalars or arrays)."""
    return np.log10(np.maximum(ratio, R_FLOOR)) + NODE_COST * np.asarray(size)


@dataclass
class SparseLaw:
    """A sparse combination: the kept terms, full-length coefficients and the training ratio."""

    support: np.ndarray
    coefficients: np.ndarray
    ratio: float
    size: int

    @functools.cached_property
    def description_length(self) -> float:
        return float(description_length(self.ratio, self.size))


def known_penalty(A: np.ndarray, B: np.ndarray, supports: np.ndarray,
                  known: Sequence[np.ndarray]) -> np.ndarray:
    """``A`` restricted to each row of ``supports`` (n, s), plus, for every ``known`` law whose
    terms all lie in that row, ``(B u)(B u)' / (u'Bu)``: a combination along a known law then
    has a ratio of 1, so that a fit on those terms finds the best law *besides* the known ones
    (B-orthogonal to them, which their own terms allow) instead of a known law plus a
    negligible multiple of the other terms."""
    restricted = A[supports[:, :, None], supports[:, None, :]]
    for u in known:
        terms = np.flatnonzero(u)
        inside = np.isin(supports, terms).sum(axis=1) == len(terms)
        if not np.any(inside):
            continue
        b = B @ u
        part = b[supports]
        restricted = restricted + inside[:, None, None] * part[:, :, None] * part[:, None, :] / float(u @ b)
    return restricted


def laws_of(n_terms: int, supports: np.ndarray, ratios: np.ndarray, vectors: np.ndarray,
            sizes: np.ndarray) -> list[SparseLaw]:
    """One ``SparseLaw`` per row: its support, the vector's weights at those of ``n_terms``
    terms (zero elsewhere), its ratio and size."""
    coefficients = np.zeros((len(supports), n_terms))
    np.put_along_axis(coefficients, supports, vectors, axis=1)
    return [SparseLaw(support, full, float(ratio), int(size))
            for support, full, ratio, size in zip(supports, coefficients, ratios, sizes)]


def restricted_fit(A: np.ndarray, B: np.ndarray, support: np.ndarray) -> tuple[float, np.ndarray]:
    """The best law using only the terms in ``support``: (ratio, full-length coefficients)."""
    ratio, w = smallest_ratio(A[np.ix_(support, support)], B[np.ix_(support, support)])
    full = np.zeros(len(A))
    full[support] = w
    return float(ratio), full


class SparseFits:
    """The forms ``A`` (truth) and ``B`` (null) of a term library and its terms' sizes, with
    every refit made on them so far (by the known laws it was made beside, then by support)."""

    def __init__(self, A: np.ndarray, B: np.ndarray, term_sizes: np.ndarray) -> None:
        self.A, self.B, self.term_sizes = A, B, term_sizes
        self._made: dict[bytes, dict[bytes, tuple[float, np.ndarray]]] = {}
        self._ridge_made: dict[tuple[float, bytes], np.ndarray] = {}
        self._regularized: dict[float, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.A)

    def _refits(self, supports: np.ndarray, known: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The refit's ratios (n,) and vectors (n, s) on each row of ``supports`` (n, s), made
        once per support (``batch``)."""
        made = self._made.setdefault(b"".join(u.tobytes() for u in known), {})
        keys = [row.tobytes() for row in supports]
        new = [i for i, key in enumerate(keys) if key not in made]
        if new:
            fresh = supports[new]
            ratios, vectors = smallest_ratio(known_penalty(self.A, self.B, fresh, known),
                                             self.B[fresh[:, :, None], fresh[:, None, :]])
            made.update((keys[i], (float(ratio), vector)) for i, ratio, vector in zip(new, ratios, vectors))
        found = [made[key] for key in keys]
        return np.array([ratio for ratio, _ in found]), np.stack([vector for _, vector in found])

    def batch(self, supports: np.ndarray, known: Sequence[np.ndarray] = (),
              limit: Optional[float] = None) -> list[SparseLaw]:
        """One refitted law per row of ``supports`` (n, s); with ``known`` laws, the best law
        besides them (``known_penalty``) and its penalized ratio; with ``limit``, only the
        laws whose ratio is at most ``limit``."""
        supports = np.asarray(supports, dtype=np.int64)
        ratios, vectors = self._refits(supports, known)
        rows = np.flatnonzero(ratios <= limit) if limit is not None else np.arange(len(supports))
        if not len(rows):
            return []
        return laws_of(len(self.A), supports[rows], ratios[rows], vectors[rows],
                       law_sizes(self.term_sizes, supports[rows]))

    def shortest(self, supports: np.ndarray, known: Sequence[np.ndarray] = ()) -> SparseLaw:
        """``batch``'s first law of least description length, without making the others (forward
        selection compares hundreds of refits a step and keeps one)."""
        supports = np.asarray(supports, dtype=np.int64)
        ratios, vectors = self._refits(supports, known)
        sizes = law_sizes(self.term_sizes, supports)
        lengths = description_length(ratios, sizes)
        best = int(np.argmin(np.where(np.isnan(lengths), np.inf, lengths)))
        return laws_of(len(self.A), supports[[best]], ratios[[best]], vectors[[best]], sizes[[best]])[0]

    def ridge_fit(self, ridge: float, support: np.ndarray) -> np.ndarray:
        """The law on ``support`` (s,) of the ridge-penalized ratio ``w'(A + ridge diag(B))w /
        w'Bw``: full-length coefficients, made once per ridge and support (ridge elimination
        starts every seed from the whole library and often drops the same terms)."""
        key = (float(ridge), support.tobytes())
        if key not in self._ridge_made:
            if key[0] not in self._regularized:
                self._regularized[key[0]] = self.A + ridge * np.diag(np.diag(self.B))
            self._ridge_made[key] = restricted_fit(self._regularized[key[0]], self.B, support)[1]
        return self._ridge_made[key]

    def unpenalized(self, law: SparseLaw) -> SparseLaw:
        """``law`` with its training ratio on ``A`` (not the known laws' penalty)."""
        return SparseLaw(law.support, law.coefficients, float(ratio_of(law.coefficients, self.A, self.B)),
                         law.size)
