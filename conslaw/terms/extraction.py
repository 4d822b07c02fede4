"""Step 4 of a multi-term pass (``conslaw.terms.search``): sparse laws from the library's forms,
judged. Extraction from the dense span at the tight limit; on noisy data the same again on the
forms with the null's yardstick near the truth's range, climbing the spectrum (``rungs``); when
a pass's extraction accepts nothing, in noiseless data the laws of the exact span, then the
library's best pair of terms (``solve.best_pair``); and, under noise, each law without the terms
it keeps only to fit the noise. Under noise, too, the laws of earlier passes are judged again in
a later pass's library (``rejudged``): one that misses a term there is superseded.
"""
from __future__ import annotations

from functools import cached_property
from typing import Callable, Optional, Sequence

import numpy as np
import scipy.linalg

from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.forms import generalized_spectrum, ratio_of
from conslaw.discovery.ranking import is_accepted, rejected_on_training
from conslaw.law import Evidence
from conslaw.terms.judging import Judge, TermValues
from conslaw.terms.limits import (ROUND_OFF, SEARCH_TOLERANCE, SPARSITY_TOLERANCE, gap_limit,
                                  noisy_max_terms, rungs)
from conslaw.terms.solve import LIMIT_FLOOR, best_pair, extract_laws, judged_elimination
from conslaw.terms.sparse_fits import R_FLOOR, SparseFits, SparseLaw, law_sizes

EXACT_GAP = 1e4
"""Directions of the dense spectrum conserved to rounding (``ROUND_OFF``) form the exact span
(``_exact_basis``) when the next direction lies at least this many times above that level."""
DUST = 1e-9
"""A coefficient of an exact-span law below this fraction of the law's largest is rounding."""


class DeferredEvidence:
    """A sparse law's evidence (``Judge.evidence``), judged on the training segments at once and
    on the held-out and control data when first asked for: a law its training ratio rejects
    (``rejected_on_training``; most candidates where nothing is conserved) needs them only if
    it is kept as a near miss. The same numbers as judging it whole."""

    def __init__(self, judge: Judge, coefficients: np.ndarray, threshold: float) -> None:
        self.ratio, self._error = judge.training_ratio(coefficients)
        self._judge, self._coefficients = judge, coefficients
        self._rejected = rejected_on_training(self.ratio, self._error, judge.data.train.truth.n_segments, threshold)

    @cached_property
    def evidence(self) -> Evidence:
        return self._judge.evidence(self._coefficients, (self.ratio, self._error))

    def accepted(self, threshold: float) -> bool:
        """``is_accepted`` of the evidence."""
        return not self._rejected and is_accepted(self.evidence, threshold)


def _records(judge: Judge, threshold: float) -> tuple[dict, Callable[[SparseLaw], bool]]:
    """A ``DeferredEvidence`` per support (None for a law that passes the ranking's rule but
    misses a term, ``Judge.missing_term``: neither a law nor a near miss), and the acceptance
    test ``extract_laws`` calls."""
    records: dict[bytes, Optional[DeferredEvidence]] = {}

    def accept(law: SparseLaw) -> bool:
        key = law.support.tobytes()
        if key not in records:
            judgement = DeferredEvidence(judge, law.coefficients, threshold)
            complete = not judgement.accepted(threshold) or judge.missing_term(law.coefficients) is None
            records[key] = judgement if complete else None
        return records[key] is not None and records[key].accepted(threshold)

    return records, accept


def _extract(judge: Judge, fits: SparseFits, candidates: np.ndarray, limit: float, ridge: float,
             threshold: float, deadline: Optional[float], max_terms: Optional[int] = None
             ) -> tuple[list, list, dict]:
    records, accept = _records(judge, threshold)

    def sparse_enough(law: SparseLaw) -> bool:
        """``accept``, and a law of more than ``max_terms`` terms that it accepts is neither a
        law nor a near miss (the ranking, which does not see the bound, would accept it)."""
        if not accept(law):
            return False
        if max_terms is not None and len(law.support) > max_terms:
            records[law.support.tobytes()] = None
            return False
        return True

    def extract(law_limit: float) -> tuple[list[SparseLaw], list[SparseLaw]]:
        return extract_laws(fits, candidates, law_limit, sparse_enough, ridge=ridge, deadline=deadline)

    accepted, rejected = extract(limit)
    if accepted:
        precision = SPARSITY_TOLERANCE * max(min(law.ratio for law in accepted), LIMIT_FLOOR)
        if any(law.ratio > precision for law in accepted) and precision < limit:
            tighter, rejected_tighter = extract(precision)
            if len(tighter) >= len(accepted):
                accepted, rejected = tighter, rejected_tighter
    return accepted, rejected, records


def sparse_laws(judge: Judge, sizes: np.ndarray, spectrum: tuple[np.ndarray, np.ndarray],
                threshold: float, deadline: Optional[float], columns: Optional[int] = None
                ) -> tuple[list[SparseLaw], list[SparseLaw], dict, dict]:
    """Accepted and rejected sparse laws, their judgements by support (``DeferredEvidence``),
    and the dense spectrum's account, extracted at the tight limit (``SEARCH_TOLERANCE`` times
    the smallest ratio). With ``columns`` (noisy data), at most ``noisy_max_terms(columns)``
    terms per law, and again at each of the looser limits of ``rungs``: noise lifts every law.
    When all that accepts nothing, without ``columns`` the exact span's laws are judged
    (``_exact_basis``), and if none is accepted, the library's best pair of terms
    (``_pair_probe``)."""
    ratios, vectors = spectrum
    ridge = max(float(ratios[0]), R_FLOOR)
    limit = SEARCH_TOLERANCE * max(float(ratios[0]), LIMIT_FLOOR)
    longest = noisy_max_terms(columns) if columns is not None else None
    fits = SparseFits(judge.A, judge.B, sizes)  # shared by every extraction on these forms
    accepted, rejected, records = _extract(judge, fits, vectors[:, ratios <= limit], limit, ridge,
                                           threshold, deadline, longest)
    loose = gap_limit(ratios, threshold)
    account = {"dense_spectrum": int(len(ratios)), "dense_best_ratio": float(ratios[0]),
               "dense_candidates": int(np.sum(ratios <= limit)), "search_limit": limit,
               "gap_limit": loose, "gap_candidates": int(np.sum(ratios <= loose)),
               "noiseless": any(law.ratio <= ROUND_OFF for law in accepted)}
    for rung in rungs(limit, loose, threshold) if columns is not None else []:
        if np.sum(ratios <= rung) <= len(accepted):  # no direction beyond the laws found
            continue
        more, others, judged = _extract(judge, fits, vectors[:, ratios <= rung], rung, ridge,
                                        threshold, deadline, longest)
        known = {law.support.tobytes() for law in accepted + rejected}
        new = [law for law in more if law.support.tobytes() not in known]
        accepted += new
        rejected += [law for law in others if law.support.tobytes() not in known]
        records.update(judged)
        if rung > loose and not new:
            break
    account["pair_probe"], account["exact_basis"] = None, 0
    if not accepted and columns is None:
        accepted, missed, judged = _exact_basis(judge, sizes, spectrum, threshold)
        rejected += missed
        records.update(judged)
        account["exact_basis"] = len(accepted)
        account["noiseless"] = any(law.ratio <= ROUND_OFF for law in accepted)
    if not accepted:
        accepted, missed, judged = _pair_probe(judge, sizes, threshold)
        rejected += missed
        records.update(judged)
        account["pair_probe"] = "accepted" if accepted else "rejected" if missed else None
        account["noiseless"] = any(law.ratio <= ROUND_OFF for law in accepted)
    if columns is not None:
        accepted, judged = _without_noise_terms(judge, fits, accepted, threshold)
        records.update(judged)
    return accepted, rejected, records, account


def _exact_basis(judge: Judge, sizes: np.ndarray, spectrum: tuple[np.ndarray, np.ndarray],
                 threshold: float) -> tuple[list, list, dict]:
    """When the extraction accepts nothing though the dense spectrum holds directions conserved
    to rounding, set apart by ``EXACT_GAP``: their span in reduced row-echelon form, each law 1 at
    a term of its own and 0 at the others' (column-pivoted QR picks those terms), each judged:
    (accepted, rejected, judgements). Noiseless data only, where the span is the library's
    conserved quantities exactly. Found by a chain of 4 masses between walls (8 columns): its 4
    mode energies, 20 terms each, are the 4 exact directions of the quadratic library, beyond
    forward selection's ``MAX_FORWARD_TERMS``, and the pass accepted nothing."""
    ratios, vectors = spectrum
    count = int(np.sum(ratios <= ROUND_OFF))
    if count == 0 or (count < len(ratios) and ratios[count] < EXACT_GAP * ROUND_OFF):
        return [], [], {}
    span = vectors[:, :count]
    pivots = scipy.linalg.qr(span.T, mode="r", pivoting=True)[1][:count]
    basis = span @ np.linalg.inv(span[pivots])
    basis[np.abs(basis) <= DUST * np.abs(basis).max(axis=0)] = 0.0
    records, accept = _records(judge, threshold)
    accepted, rejected = [], []
    for w in basis.T:
        support = np.flatnonzero(w)
        law = SparseLaw(support, w, float(ratio_of(w, judge.A, judge.B)), int(law_sizes(sizes, support[None])[0]))
        (accepted if accept(law) else rejected).append(law)
    return accepted, rejected, records


def _pair_probe(judge: Judge, sizes: np.ndarray, threshold: float) -> tuple[list, list, dict]:
    """The library's best law of two terms (``solve.best_pair``), judged: ([law], [], judgements)
    when accepted, ([], [law], judgements) when not. One candidate per pass, so that fitting
    every pair adds one test, not thousands, to the judge's."""
    pair = best_pair(judge.A, judge.B, sizes)
    if pair is None:
        return [], [], {}
    records, accept = _records(judge, threshold)
    return ([pair], [], records) if accept(pair) else ([], [pair], records)


def _without_noise_terms(judge: Judge, fits: SparseFits, laws: list[SparseLaw], threshold: float
                         ) -> tuple[list[SparseLaw], dict]:
    """Each law with the terms it keeps only to fit the noise dropped (``judged_elimination``:
    while what is left is accepted and is the same law, ``Judge.same_law``), once per support,
    and the judgements made on the way."""
    records, accept = _records(judge, threshold)
    simplified: dict[bytes, SparseLaw] = {}
    for law in laws:
        def same_and_accepted(option: SparseLaw, law: SparseLaw = law) -> bool:
            return judge.same_law(option.coefficients, law.coefficients) and accept(option)

        shorter = judged_elimination(fits, law, same_and_accepted)
        simplified.setdefault(shorter.support.tobytes(), shorter)
    return list(simplified.values()), records


def rejudged(judge: Judge, sizes: np.ndarray, supports: Sequence[Optional[np.ndarray]], threshold: float
             ) -> tuple[list[int], list[SparseLaw], dict]:
    """Earlier passes' laws judged in this pass's library, each given by its support here (None
    when a term of it is not in the library): the positions of those it supersedes, their
    replacements and the judgements made on the way. A law this library's judge does not
    accept (``_records``: under noise, a term outside it makes it significantly steadier) is
    superseded, and replaced by the shortest of the laws (``judged_elimination``) that remain
    when such a term (``Judge.missing_terms``) joins it and that this judge accepts as the same
    law. Found on a bob on a spring in polar coordinates at 5 % noise: the lean library (three
    factors) cannot hold the energy's ``omega**2*r**2`` and its pass accepted ``0.031*omega**2*r
    - 0.010*omega**2 + ...`` in its place, a polynomial about the spring's length that the noise
    hides; in a library of products of two factors it misses ``omega**2*r**2``, and with it the
    energy remains."""
    fits = SparseFits(judge.A, judge.B, sizes)
    records, accept = _records(judge, threshold)
    superseded, replacements = [], []
    for position, support in enumerate(supports):
        if support is None:
            continue
        law = fits.batch(support[None])[0]
        if accept(law):
            continue
        superseded.append(position)
        options = [_remaining(judge, fits, law, term, accept) for term in judge.missing_terms(law.coefficients)]
        options = [option for option in options if accept(option)]
        if options:
            replacements.append(min(options, key=lambda option: option.description_length))
    return superseded, replacements, records


def _remaining(judge: Judge, fits: SparseFits, law: SparseLaw, term: int,
               accept: Callable[[SparseLaw], bool]) -> SparseLaw:
    """The shortest law (``judged_elimination``) that remains of ``law`` with ``term`` added and
    is accepted as the same law as that wider one."""
    wider = fits.batch(np.sort(np.append(law.support, term))[None])[0]

    def same_and_accepted(option: SparseLaw) -> bool:
        return judge.same_law(option.coefficients, wider.coefficients) and accept(option)

    return judged_elimination(fits, wider, same_and_accepted)


def judged_laws(values: TermValues, data: ConservationData, sizes: np.ndarray, columns: int,
                threshold: float, deadline: Optional[float]) -> tuple[Judge, dict, tuple]:
    """The judge of a pass, its dense account and its sparse laws (``sparse_laws``): on the
    forms of the term values as they are; when no law found there (at the tight limit, or the
    best pair) is exact to rounding (``ROUND_OFF``), i.e. the data carry noise, all over again on
    the forms whose null yardstick counts values only near the truth's range
    (``Judge(within_range=True)``), climbing the spectrum. In noiseless data the looser limits hold approximate invariants
    (the binary's own angular momentum of the three-body data at 1e-6), and the plain
    yardstick lets the extraction reach the three-body angular momentum."""
    judge = Judge(values, data)
    laws = sparse_laws(judge, sizes, generalized_spectrum(judge.A, judge.B), threshold, deadline)
    noiseless = laws[3]["noiseless"]
    if not noiseless:
        judge = Judge(values, data, within_range=True)
        laws = sparse_laws(judge, sizes, generalized_spectrum(judge.A, judge.B), threshold, deadline,
                           columns)
    account = {**laws[3], "noiseless": noiseless, "dense_control_ratio":
               float(generalized_spectrum(judge.A_control, judge.B_control)[0][0])}
    return judge, account, laws[:3]
