"""Sparsification of the multi-term search: sparse laws from the library's forms.

A law is ``g = sum_i c_i t_i``; its fit ratio is ``(c'Ac)/(c'Bc)`` with ``A`` the smooth form of
the term values on the true segments and ``B`` their within form on the null
(``conslaw.discovery.forms``, whose eigenproblem solvers are used here). Coefficients are
handled in **scaled coordinates** ``u_i = c_i sqrt(B_ii)`` (each term's share of the law's
variation on the null), where thresholds compare like with like.
"""
from __future__ import annotations

import time
from typing import Callable, Optional, Sequence

import numpy as np

from conslaw.discovery.forms import generalized_spectrum, smallest_ratio
from conslaw.terms.sparse_fits import SparseFits, SparseLaw, description_length, law_sizes, laws_of

LIMIT_FLOOR = 1e-10
MAX_FORWARD_TERMS = 12
ELIMINATION_TERMS = 16
ELIMINATION_FRACTION = 0.2
MAX_FAILURES = 5
MAX_SWAPS = 10
NEGLIGIBLE = 1e-6
RESIDUAL_SPAN = 0.3
NEW_SHARE = 1e-6
"""The least share of a candidate's variation on the null (its B form) that must lie outside the
accepted laws' span for it to add a law: a law plus a nearly conserved part a millionth its size
says nothing new (``AcceptedSpan.adds``)."""


def _diagonal_scale(B: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(np.diag(B), 1e-300, None))


def forward_selection(fits: SparseFits, seed: int, limit: float, max_terms: int = MAX_FORWARD_TERMS,
                      known: Sequence[np.ndarray] = ()) -> SparseLaw | None:
    """Greedy forward selection from the term ``seed``: add the term whose refitted law (besides
    the ``known`` ones) has the smallest description length until the training ratio is at most
    ``limit``. Returns that law, or None if ``max_terms`` terms do not reach the limit."""
    law = fits.batch(np.array([[seed]]))[0]
    others = np.setdiff1d(np.arange(len(fits)), law.support)
    while law.ratio > limit and len(law.support) < max_terms and others.size:
        supports = np.sort(np.column_stack([np.tile(law.support, (others.size, 1)), others]), axis=1)
        law = fits.shortest(supports, known)
        others = np.setdiff1d(others, law.support)
    return fits.unpenalized(law) if law.ratio <= limit else None


def ridge_elimination(fits: SparseFits, seed: int, ridge: float,
                      known: Sequence[np.ndarray] = ()) -> SparseLaw:
    """Recursive elimination from the whole library down to ``ELIMINATION_TERMS`` terms, keeping
    ``seed``: fit ``(A + ridge diag(B), B)`` on the current terms and drop the
    ``ELIMINATION_FRACTION`` with the smallest scaled coefficients. The ridge penalizes the
    large, cancelling coefficients with which a rich library fits noise; the returned law is
    refitted on its terms without it, besides the ``known`` laws (``known_penalty``)."""
    scale = _diagonal_scale(fits.B)
    support = np.arange(len(fits))
    while len(support) > ELIMINATION_TERMS:
        coefficients = fits.ridge_fit(ridge, support)
        weight = np.abs(coefficients[support] * scale[support])
        weight[support == seed] = np.inf
        drop = min(max(1, int(ELIMINATION_FRACTION * len(support))), len(support) - ELIMINATION_TERMS)
        support = np.sort(support[np.argsort(weight)[drop:]])
    return fits.unpenalized(fits.batch(support[None, :], known)[0])


def drop_negligible(fits: SparseFits, law: SparseLaw, limit: float) -> SparseLaw:
    """Refit without the terms whose scaled coefficient is below ``NEGLIGIBLE`` x the largest,
    if the ratio stays at most ``limit`` (removes round-off terms in one step)."""
    scaled = np.abs(law.coefficients[law.support] * _diagonal_scale(fits.B)[law.support])
    support = law.support[scaled >= NEGLIGIBLE * scaled.max()]
    if len(support) == len(law.support):
        return law
    refitted = fits.batch(support[None, :])[0]
    return refitted if refitted.ratio <= limit else law


def _shortest(options: Sequence[SparseLaw], novel: Callable[[SparseLaw], bool] | None) -> SparseLaw | None:
    """The option of least description length among those ``novel`` holds (when given and any
    does), else among all; ``novel`` is called in order of description length until one holds."""
    ordered = sorted(options, key=lambda option: option.description_length)
    found = next((option for option in ordered if novel(option)), None) if novel else None
    return found or (ordered[0] if ordered else None)


def _without_one(support: np.ndarray) -> np.ndarray:
    """Each way (s, s - 1) of dropping one term of ``support`` (s,), the first term first."""
    return np.array([np.delete(support, i) for i in range(len(support))])


def backward_elimination(fits: SparseFits, law: SparseLaw, limit: float,
                         novel: Callable[[SparseLaw], bool] | None = None) -> list[SparseLaw]:
    """From ``law``, repeatedly drop the one term whose removal gives the smallest description
    length while the refitted ratio stays at most ``limit``. Returns every law met within the
    limit (all single removals at each step, so equally sparse alternatives are all kept).
    With ``novel``, each removal prefers the shortest option that ``novel`` holds."""
    pool = [law]
    current = law
    while len(current.support) > 1:
        options = fits.batch(_without_one(current.support), limit=limit)
        if not options:
            break
        pool.extend(options)
        current = _shortest(options, novel)
    return pool


def judged_elimination(fits: SparseFits, law: SparseLaw, accept: Callable[[SparseLaw], bool]) -> SparseLaw:
    """``law`` with terms dropped one at a time, each step to the shortest refit (in description
    length) that ``accept`` accepts (in the search: the full acceptance test, which refuses a
    law that misses a term, and the same law). Under noise a law extracted at a tight limit
    keeps terms fitted to the noise, which a ratio limit cannot drop: without them the ratio
    rises, but not beyond chance."""
    while len(law.support) > 1:
        options = sorted(fits.batch(_without_one(law.support)), key=lambda option: option.description_length)
        shorter = next((option for option in options if accept(option)), None)
        if shorter is None:
            break
        law = shorter
    return law


def swap_search(fits: SparseFits, law: SparseLaw, limit: float,
                novel: Callable[[SparseLaw], bool] | None = None, max_swaps: int = MAX_SWAPS) -> SparseLaw:
    """Exchange one term of ``law`` for one outside it while that gives a shorter law (in
    description length) within ``limit``, or, with ``novel``, a law that ``novel`` holds and the
    current one does not: finds an equally sparse but simpler law, e.g. the energy with the
    cross term ``x1*x2`` instead of a mode combination with ``p1*p2``. (``novel`` is costly, so
    it is asked only of the options that could improve on the current law.)"""
    law_is_novel = bool(novel and novel(law))
    for _ in range(max_swaps):
        outside = np.setdiff1d(np.arange(len(fits)), law.support)
        if outside.size == 0:
            break
        kept = _without_one(law.support)
        supports = np.sort(np.column_stack([np.repeat(kept, outside.size, axis=0),
                                            np.tile(outside, len(kept))]), axis=1)
        options = sorted(fits.batch(supports, limit=limit), key=lambda option: option.description_length)
        shorter = [option for option in options if option.description_length < law.description_length]
        # a novel law improves on any law that is not, and on a novel one only when shorter
        best = next((option for option in (shorter if law_is_novel else options) if novel(option)), None) \
            if novel else None
        if best is not None:
            law, law_is_novel = best, True
        elif not law_is_novel and shorter:
            law = shorter[0]
        else:
            break
    return law


def best_pair(A: np.ndarray, B: np.ndarray, term_sizes: np.ndarray) -> SparseLaw | None:
    """The law of two terms of least description length, every pair of the library fitted at
    once (one batch of 2 x 2 eigenproblems; about 0.05 s for 300 terms). Extraction from the
    dense span misses a two-term law whose ratio lies above a continuum of overfitted
    directions (noise with a rich library); no span is needed to fit all pairs."""
    if len(A) < 2:
        return None
    supports = np.column_stack(np.triu_indices(len(A), 1))
    ratios, vectors = smallest_ratio(A[supports[:, :, None], supports[:, None, :]],
                                     B[supports[:, :, None], supports[:, None, :]])
    sizes = law_sizes(term_sizes, supports)
    lengths = description_length(ratios, sizes)
    lengths = np.where(np.isfinite(lengths), lengths, np.inf)
    best = int(np.argmin(lengths))
    if not np.isfinite(lengths[best]):
        return None
    return laws_of(len(A), supports[[best]], ratios[[best]], vectors[[best]], sizes[[best]])[0]


class AcceptedSpan:
    """The span of the accepted laws, against which candidates are tested (``adds``) at one
    ratio ``limit``.

    The forms restricted to the span are kept, so that a test costs the candidate's own
    products with the forms (over its few terms), not the whole span's, and each candidate's
    verdict is kept too: a library with constraints among its columns (a bob's
    ``x**2 + y**2``, times every other term) holds dozens of exact laws, tested thousands of
    times.
    """

    def __init__(self, A: np.ndarray, B: np.ndarray, accepted: list[np.ndarray], limit: float) -> None:
        self.A, self.B, self.accepted, self.limit = A, B, accepted, limit
        self.vectors = np.column_stack(accepted) if accepted else np.zeros((len(A), 0))
        self.A_inner, self.B_inner = (self.vectors.T @ form @ self.vectors for form in (A, B))
        self.verdicts: dict[bytes, bool] = {}

    def adds(self, candidate: np.ndarray) -> bool:
        """Does ``candidate`` add a conserved direction to the span of the accepted laws?

        True when the span of all of them holds one more law within ``limit`` than the accepted
        ones alone: the generalized eigenproblem restricted to the span has ``len(accepted) + 1``
        ratios at most ``limit``, and the part of the candidate outside the accepted span holds
        at least ``NEW_SHARE`` of its B form. A law that is an accepted one plus a small
        non-conserved part (a noisy variant) does not, nor does one inside the span, nor one
        plus a nearly conserved part a millionth its size (noiseless two-body data: a Runge-Lenz
        component plus terms of 1e-6 in the speed and the distance, themselves steady to 1.7e-7).
        """
        key = candidate.tobytes()
        if key not in self.verdicts:
            B = self._restricted(self.B, self.B_inner, candidate)
            ratios, _ = generalized_spectrum(self._restricted(self.A, self.A_inner, candidate), B)
            self.verdicts[key] = len(ratios) == len(self.accepted) + 1 and bool(np.all(ratios <= self.limit)) \
                and _outside_share(B) >= NEW_SHARE
        return self.verdicts[key]

    def _restricted(self, form: np.ndarray, inner: np.ndarray, candidate: np.ndarray) -> np.ndarray:
        """``form`` restricted to the accepted laws and ``candidate``: (k + 1, k + 1)."""
        terms = np.flatnonzero(candidate)
        form_candidate = form[:, terms] @ candidate[terms]
        k = len(inner)
        restricted = np.empty((k + 1, k + 1))
        restricted[:k, :k] = inner
        restricted[:k, k] = restricted[k, :k] = self.vectors.T @ form_candidate
        restricted[k, k] = candidate[terms] @ form_candidate[terms]
        return restricted


def _outside_share(B: np.ndarray) -> float:
    """The share of the last vector's B form (``B``: the form restricted to k accepted laws and
    one candidate, last) that lies B-orthogonal to the first k: its Schur complement over it."""
    inner, across, total = B[:-1, :-1], B[:-1, -1], B[-1, -1]
    if total <= 0:
        return 0.0
    if not len(across):
        return 1.0
    within_span = across @ np.linalg.lstsq(inner, across, rcond=None)[0]
    return float(max(total - within_span, 0.0) / total)


def extract_laws(fits: SparseFits, candidates: np.ndarray, limit: float,
                 judge: Callable[[SparseLaw], bool], ridge: float,
                 max_failures: int = MAX_FAILURES, deadline: Optional[float] = None
                 ) -> tuple[list[SparseLaw], list[SparseLaw]]:
    """Sparse laws in (or near) the span of the dense ``candidates`` (k, p): (accepted, rejected).

    Repeatedly: seed with the untried term of largest leverage in the part of the span not yet
    explained by accepted laws; grow a law from it (``forward_selection``; if that does not
    reach ``limit``, ``ridge_elimination`` from the whole library instead); prune it
    (``drop_negligible``, then ``backward_elimination`` preferring removals that leave a law
    not in the span of the accepted ones and keeping equally sparse alternatives, then
    ``swap_search`` on the best); accept the first alternative, in order of description
    length, that adds a law to the accepted ones (``AcceptedSpan.adds``) and that ``judge`` accepts.
    One law per seed, so that each law is searched for with the previous ones known. Stops
    when the span is explained (no direction with singular value above ``RESIDUAL_SPAN`` is
    left), the seeds run out, ``max_failures`` seeds in a row add nothing, or the clock
    (``time.perf_counter``) passes ``deadline``.
    """
    scale = _diagonal_scale(fits.B)
    accepted: list[SparseLaw] = []
    rejected: dict[bytes, SparseLaw] = {}
    directions = np.zeros((len(fits), 0))
    tried = np.zeros(len(fits), dtype=bool)
    failures = 0
    basis = np.linalg.qr(candidates * scale[:, None])[0] if candidates.shape[1] else candidates
    span = AcceptedSpan(fits.A, fits.B, [], limit)  # kept, with its verdicts, until a law is added
    while basis.shape[1] and failures < max_failures and \
            (deadline is None or time.perf_counter() < deadline):
        seed = _next_seed(basis, directions, tried)
        if seed is None:
            break
        tried[seed] = True
        added = False
        for option in _alternatives(fits, seed, limit, ridge, span):
            if not span.adds(option.coefficients):
                continue
            if judge(option):
                accepted.append(option)
                span = AcceptedSpan(fits.A, fits.B, [law.coefficients for law in accepted], limit)
                vector = option.coefficients * scale
                outside = vector - directions @ (directions.T @ vector)
                directions = np.column_stack([directions, outside / np.linalg.norm(outside)])
                added = True
                break
            rejected.setdefault(option.support.tobytes(), option)
        failures = 0 if added else failures + 1
    accepted.sort(key=lambda law: (law.description_length, law.size))
    return accepted, sorted(rejected.values(), key=lambda law: (law.description_length, law.size))


def _next_seed(basis: np.ndarray, directions: np.ndarray, tried: np.ndarray) -> Optional[int]:
    """The untried term of largest leverage in the part of the candidate span (orthonormal
    ``basis``) not explained by the accepted laws' ``directions``; None when nothing is left."""
    left, singular, _ = np.linalg.svd(basis - directions @ (directions.T @ basis),
                                      full_matrices=False)
    residual = left[:, singular > RESIDUAL_SPAN]
    if residual.shape[1] == 0:
        return None
    leverage = np.where(tried, -1.0, np.sum(residual ** 2, axis=1))
    seed = int(np.argmax(leverage))
    return seed if leverage[seed] > 0 else None


def _alternatives(fits: SparseFits, seed: int, limit: float, ridge: float,
                  span: AcceptedSpan) -> list[SparseLaw]:
    """The laws grown from ``seed`` and pruned (see ``extract_laws``), by description length."""
    law = forward_selection(fits, seed, limit, known=span.accepted) \
        or ridge_elimination(fits, seed, ridge, span.accepted)
    law = drop_negligible(fits, law, limit)

    def novel(option: SparseLaw) -> bool:
        """Does ``option`` add a law to the accepted ones?"""
        return span.adds(option.coefficients)

    pool = backward_elimination(fits, law, limit, novel) if law.ratio <= limit else []
    if pool:
        pool.append(swap_search(fits, _shortest(pool, novel), limit, novel))
    return sorted(pool, key=lambda option: (option.description_length, option.size))
