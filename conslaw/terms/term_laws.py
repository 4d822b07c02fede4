"""Sparse combinations of library terms as ``Law`` records.

A law is written ``t_ref + c0*t_1 + c1*t_2 + ...``: the **reference term** (the one with the
largest scaled coefficient, so that no coefficient is a ratio to a near-zero one) has
coefficient 1 and fixes the law's unit; every other coefficient has the unit
``unit(t_ref) / unit(t_i)`` (the DSL's rule for a parameter in a scaling position). Numbers are
kept at full precision (``exact_float``).
"""
from __future__ import annotations

import numpy as np
import sympy

from conslaw.dsl.expressions import exact_float
from conslaw.law import Evidence, Law, Parameter, StateColumns
from conslaw.terms.library import TermLibrary
from conslaw.terms.sparse_fits import SparseLaw


def reference_term(law: SparseLaw, scale: np.ndarray) -> int:
    """The term with the largest scaled coefficient: the law is reported relative to it."""
    scaled = np.abs(law.coefficients[law.support]) * scale[law.support]
    return int(law.support[int(np.argmax(scaled))])


def term_law(library: TermLibrary, law: SparseLaw, scale: np.ndarray, evidence: Evidence,
             columns: StateColumns) -> Law:
    """The ``Law`` of a sparse combination (origin ``terms``)."""
    reference = reference_term(law, scale)
    others = [int(i) for i in law.support if i != reference]
    relative = law.coefficients / law.coefficients[reference]
    terms = [library.law_term(i) for i in [reference] + others]
    names = [sympy.Symbol(f"c{j}") for j in range(len(others))]
    template = sympy.Add(terms[0], *[name * term for name, term in zip(names, terms[1:])])
    expression = sympy.Add(terms[0], *[exact_float(relative[i]) * term
                                       for i, term in zip(others, terms[1:])])
    unit = library.units[reference]
    parameters = tuple(Parameter(f"c{j}", float(relative[i]), unit / library.units[i])
                       for j, i in enumerate(others))
    return Law(expression=columns.parse(expression), columns=columns, unit=unit, size=law.size,
               origin="terms", template=str(template), parameters=parameters, evidence=evidence,
               terms=tuple(str(term) for term in terms))
