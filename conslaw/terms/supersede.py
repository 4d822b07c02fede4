"""Whole formulas judged in the multi-term search's lean library, under noise.

The whole-formula search judges a formula by its own ratio: a formula that leaves out a small
term of a law (the energy of a pendulum on a cart, ``omega**2 - 41.1*cos(theta)``, without the
cart's share) can be conserved to within 5 % noise as well as the law. The multi-term search
asks more of its laws: no term of its library may make one significantly steadier, segment by
segment (``Judge.missing_term``, a paired test where the noise is common to both).
``superseded_formulas`` asks the same of the accepted whole formulas whose additive terms are
all terms of the lean library (products of up to three columns and one lifted factor, with the
default operators): one that misses a term there is superseded, as an earlier pass's law is by
a later pass (``conslaw.terms.extraction.rejudged``). A polynomial formula that varies beyond the
noise is asked the same among the monomials up to the fourth degree (``QUARTIC``): the series
its missing terms would begin.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.ranking import is_accepted, within_noise
from conslaw.dsl.operators import resolve_operators
from conslaw.errors import ConslawError
from conslaw.law import Law
from conslaw.terms.check import additive_terms
from conslaw.terms.judging import Judge
from conslaw.terms.search import fitted_library
from conslaw.terms.sparse_fits import SparseFits
from conslaw.terms.term_config import TermsConfig
from conslaw.terms.vocabulary import LEAN_DEPTH, LEAN_FACTORS, LEAN_LIFTED, LibraryStage
from conslaw.threads import single_threaded_blas

QUARTIC = LibraryStage(1, 4, resolve_operators("default"), max_lifted=0)
"""Products of up to four columns: the monomials a polynomial formula that varies beyond the
noise is judged among. A relativistic oscillator's harmonic part ``p**2 + 5.37*x**2`` (1 %
noise; its energy ``sqrt(p**2 + 1) + 2*x**2``) was accepted as approximate: the lean library
(three factors) holds no ``p**4``, which makes it significantly steadier."""


def superseded_formulas(dataset: TrajectoryDataset, data: ConservationData, candidates: Sequence[Law],
                        threshold: float, seed: int) -> list[int]:
    """Positions of the accepted whole formulas (two additive terms or more) to which a term adds
    significant steadiness (the module docstring): each whose terms are all lean library terms,
    judged there; and each that varies beyond the noise and whose terms are all monomials of
    the columns up to the fourth degree, judged among those monomials (``QUARTIC``). For noisy
    data: in noiseless data a law that leaves out a term is not exact to rounding, and the
    ranking labels it approximate."""
    formulas = [i for i, law in enumerate(candidates)
                if law.origin == "formula" and is_accepted(law.evidence, threshold)]
    terms = {i: additive_terms(candidates[i].expression)[1] for i in formulas}
    texts = {i: [str(term) for term in terms[i]] for i in formulas}
    formulas = [i for i in formulas if len(texts[i]) >= 2]
    lean = LibraryStage(LEAN_DEPTH, LEAN_FACTORS, resolve_operators("default"), LEAN_LIFTED)
    superseded = _missing_a_term(dataset, data, formulas, texts, lean, seed)
    polynomial = [i for i in formulas if i not in superseded and not within_noise(candidates[i].evidence)
                  and all(_monomial(term) for term in terms[i])]  # the quartic library is built for these
    return sorted(superseded + _missing_a_term(dataset, data, polynomial, texts, QUARTIC, seed))


def _monomial(term: sympy.Expr) -> bool:
    """Whether ``term`` is a product of columns' powers of degree at most 4 (``x**2*y``)."""
    symbols = sorted(term.free_symbols, key=str)
    return bool(symbols and term.is_polynomial(*symbols) and sympy.Poly(term, *symbols).total_degree() <= 4)


def _missing_a_term(dataset: TrajectoryDataset, data: ConservationData, formulas: Sequence[int],
                    texts: dict[int, list[str]], stage: LibraryStage, seed: int) -> list[int]:
    """Those of ``formulas`` whose terms ``texts`` are all terms of ``stage``'s library and to
    which one of its terms adds significant steadiness (``Judge.missing_term``)."""
    if not formulas:
        return []
    with single_threaded_blas():  # small eigenproblems: threads only cost
        try:
            library, values, _ = fitted_library(dataset, data, TermsConfig().max_terms, stage, seed)
        except ConslawError:  # too few constraints or terms for a library: nothing to judge with
            return []
        judge = Judge(values, data, within_range=True)
        fits = SparseFits(judge.A, judge.B, np.array(library.sizes))
        supports = {i: library.support_of(texts[i]) for i in formulas}
        return [i for i in formulas if supports[i] is not None
                and judge.missing_term(fits.batch(supports[i][None])[0].coefficients) is not None]
