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


class SparseFits:
    """The forms ``A`` (truth) and ``B`` (null) of a term library and its terms' sizes, with
    every refit made on them so far (by the known laws it was made beside, then by support)."""

    def __init__(self, A: np.ndarray, B: np.ndarray, term_sizes: np.ndarray) -> None:
        self.A, self.B, self.term_sizes = A, B, term_sizes
        self._made: dict[bytes, dict[bytes, tuple[float, np.ndarray]]] = {}

    def __len__(self) -> int:
        return len(self.A)

    def batch(self, supports: np.ndarray, known: Sequence[np.ndarray] = (),
              limit: Optional[float] = None) -> list[SparseLaw]:
        """One refitted law per row of ``supports`` (n, s); with ``known`` laws, the best law
        besides them (``known_penalty``) and its penalized ratio; with ``limit``, only the
        laws whose ratio is at most ``limit``."""
        supports = np.asarray(supports, dtype=np.int64)
        made = self._made.setdefault(b"".join(u.tobytes() for u in known), {})
        keys = [row.tobytes() for row in supports]
        new = [i for i, key in enumerate(keys) if key not in made]
        if new:
            fresh = supports[new]
            ratios, vectors = smallest_ratio(known_penalty(self.A, self.B, fresh, known),
                                             self.B[fresh[:, :, None], fresh[:, None, :]])
            made.update((keys[i], (float(ratio), vector)) for i, ratio, vector in zip(new, ratios, vectors))
        found = [made[key] for key in keys]
        rows = [i for i, (ratio, _) in enumerate(found) if limit is None or ratio <= limit]
        if not rows:
            return []
        return laws_of(len(self.A), supports[rows], np.array([found[i][0] for i in rows]),
                       np.stack([found[i][1] for i in rows]), law_sizes(self.term_sizes, supports[rows]))

    def unpenalized(self, law: SparseLaw) -> SparseLaw:
        """``law`` with its training ratio on ``A`` (not the known laws' penalty)."""
        return SparseLaw(law.support, law.coefficients, float(ratio_of(law.coefficients, self.A, self.B)),
                         law.size)
