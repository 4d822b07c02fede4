"""Which of a data set's known laws discovery reached.

A built-in system (or a variant of one) knows its true conserved quantities. After a search,
each of them is *found* when it is a function of the accepted laws at the data (its gradient
adds nothing to the rank of theirs: ``independence.functionally_dependent``), so that a run says
plainly which laws it did not reach, for instance within a ``--max-seconds`` budget. One not
found may still equal an accepted law to within the data's noise (``near``: under noise a law's
fitted coefficients are a few percent off, and its gradient then leaves the true law's by more
than the rank test's tolerance), which the report names. User data carry no known laws, and
this report is then empty.

A user may name the laws they expect (``--expect``): each is judged on the data with its
coefficients as given, as the multi-term search judges a law (``conslaw.terms.check``), and
reported beside whether the accepted laws reach it, so that a run says why an expected law is
missing (not conserved on these data, or conserved but not reached by the searches).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import sympy

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.demotions import law_values
from conslaw.discovery.forms import within_own_variation
from conslaw.discovery.independence import functionally_dependent
from conslaw.discovery.ranking import is_exact
from conslaw.dsl.expressions import numpy_function
from conslaw.errors import ConslawError
from conslaw.law import Law, StateColumns

CHECK_STATES = 300
"""States (evenly spaced through the training data) at which the gradients are compared."""


def _reached_by(reaching: Sequence[sympy.Expr], dataset: TrajectoryDataset) -> Callable[[sympy.Expr], bool]:
    """Whether an SI expression is a function of the ``reaching`` expressions at ``CHECK_STATES``
    training states of ``dataset`` (gradient rank, ``independence.functionally_dependent``)."""
    states = dataset.stacked("train")
    states = states[:: max(1, len(states) // CHECK_STATES)]
    return lambda expression: bool(reaching) and bool(
        functionally_dependent(expression, list(reaching), dataset.columns, states))


def known_laws(dataset: TrajectoryDataset, laws: Sequence[Law],
               data: Optional[ConservationData] = None) -> list[dict]:
    """One entry per known law of ``dataset``: its name, its SI expression, whether the
    accepted ``laws`` reach it and, with ``data``, for one they do not, the rank of the first
    accepted law that equals it to within the data's noise (``near``, else None).

    A data set with more columns than degrees of freedom knows its constraints too (a bob's
    distance from the pivot): one is reached by the accepted laws and the identities, and every
    other law by the accepted laws on the constraints' surface (with the known constraints), where
    a law may be written otherwise: a bob's energy ``vx**2 + vy**2 + 2*g*y`` is its angle's there."""
    if not dataset.true_laws:
        return []
    names = dataset.metadata.get("true_law_names") or [f"law {k + 1}" for k in range(len(dataset.true_laws))]
    columns = StateColumns.from_dataset(dataset)
    known = {str(name): columns.parse(text) for name, text in zip(names, dataset.true_laws)}
    constraints = set(dataset.metadata.get("constraint_names", ()))
    accepted = [law for law in laws if law.accepted]
    identities = [law.expression for law in laws if law.quality == "identity"]
    expressions = [law.expression for law in accepted]
    by_identities = _reached_by(expressions + identities, dataset)
    on_surface = _reached_by(expressions + [law for name, law in known.items() if name in constraints]
                             if accepted else [], dataset)
    entries = []
    for name, text in zip(known, dataset.true_laws):
        found = (by_identities if name in constraints else on_surface)(known[name])
        near = None if found or data is None else _near(known[name], accepted, columns, data)
        entries.append({"name": name, "law": text, "found": found, "near": near})
    return entries


def _near(expression: sympy.Expr, accepted: Sequence[Law], columns: StateColumns,
          data: ConservationData) -> Optional[int]:
    """The rank of the first accepted law that an affine function of ``expression`` predicts,
    on the training truth, to within the law's own within-segment variation (its noise, for a
    conserved law: ``forms.within_own_variation``, the multi-term search's rule for one law),
    or None."""
    truth = data.train.truth
    values = np.broadcast_to(numpy_function(expression, columns.names)(truth.x), truth.x.shape[:1])
    if not np.all(np.isfinite(values)):
        return None
    for law in accepted:
        own = law_values(law, truth.x)
        if np.all(np.isfinite(own)) and within_own_variation(own, values, truth):
            return law.rank
    return None


def parse_expected(columns: StateColumns, expected: Sequence[str]) -> list[sympy.Expr]:
    """The expected laws parsed over ``columns`` (a one-line ConslawError naming a bad one), before
    any search runs."""
    laws = [columns.parse(text) for text in expected]
    for text, law in zip(expected, laws):
        if not law.free_symbols:
            raise ConslawError(f"expected law {text!r} has no term that depends on a state column")
    return laws


def expected_laws(dataset: TrajectoryDataset, laws: Sequence[Law], data: ConservationData,
                  expected: Sequence[str], parsed: Sequence[sympy.Expr], threshold: float) -> list[dict]:
    """One entry per law the user expects (its text, ``parsed`` by ``parse_expected``): its judged
    ratio and margin over chance with its coefficients as given, whether that would be accepted
    and whether it is exact (``ranking.is_exact``: conserved to within the noise, so its
    coefficients are the data's), and whether the accepted ``laws`` reach it."""
    from conslaw.terms.check import judge_given  # conslaw.terms imports the discovery package

    columns = StateColumns.from_dataset(dataset)
    reached = _reached_by([law.expression for law in laws if law.accepted], dataset)
    entries = []
    for text, law in zip(expected, parsed):
        check = judge_given(law, columns, data, threshold, name=text)
        entries.append({"law": text, "ratio": check.evidence.ratio, "margin": check.evidence.margin,
                        "conserved": check.accepted, "exact": is_exact(check.evidence, threshold),
                        "found": reached(law)})
    return entries
