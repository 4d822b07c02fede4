"""Judge a user-given multi-term law on the statistic the search uses."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import sympy

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData
from conslaw.discovery.forms import segment_smooth_forms, smallest_ratio
from conslaw.discovery.ranking import is_accepted
from conslaw.dsl.expressions import ExpressionLike, column_symbols, exact_float, numpy_function
from conslaw.errors import ConslawError
from conslaw.law import Evidence, StateColumns
from conslaw.terms.judging import Judge, TermValues


@dataclass(frozen=True)
class LawCheck:
    """A given law's terms (each additive term without its coefficient), their coefficients,
    its evidence and whether the acceptance rule accepts it."""

    expression: sympy.Expr
    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    evidence: Evidence
    accepted: bool


def additive_terms(expression: sympy.Expr) -> tuple[list[float], list[sympy.Expr]]:
    """Coefficients and terms of the expanded law; additive constants are dropped."""
    pairs = [term.as_coeff_Mul() for term in sympy.Add.make_args(sympy.expand(expression))]
    pairs = [(float(c), t) for c, t in pairs if t.free_symbols]
    return [c for c, _ in pairs], [t for _, t in pairs]


def _judge(terms: list[sympy.Expr], columns: StateColumns, data: ConservationData) -> Judge:
    """The judge of a law's additive ``terms`` on ``data``."""
    functions = [numpy_function(term, columns.names) for term in terms]

    def evaluate(states: np.ndarray) -> np.ndarray:
        return np.stack([np.broadcast_to(function(states), states.shape[:1]) for function in functions], axis=1)

    return Judge(TermValues.evaluate(evaluate, data), data)


def _finite(judge: Judge) -> bool:
    """Whether every term is finite on the training data (``p - 1/p`` alone is not where its
    terms are: no refit or mixture of them to judge)."""
    return all(np.isfinite(part).all() for part in judge.values.train)


def _judged_terms(law: sympy.Expr, columns: StateColumns, data: ConservationData
                  ) -> Optional[tuple[np.ndarray, list[sympy.Expr], Judge]]:
    """The coefficients and additive terms of ``law`` and the judge of those terms, or None when
    it has fewer than two or a term is not finite on the training data."""
    coefficients, terms = additive_terms(law)
    if len(terms) < 2:
        return None
    judge = _judge(terms, columns, data)
    return (np.array(coefficients), terms, judge) if _finite(judge) else None


def refit_is_steadier(law: sympy.Expr, columns: StateColumns, data: ConservationData) -> bool:
    """Whether ``law``'s own additive terms, refitted with free coefficients (the multi-term
    fit), are significantly steadier segment by segment (``Judge.steadier``): then the law only
    approximates one its template cannot express (``1.26*vx1 + vx2 + vx3`` for the momentum
    ``vx1 + 0.8*vx2 + 0.6*vx3``, which needs two parameters)."""
    judged = _judged_terms(law, columns, data)
    if judged is None:
        return False
    coefficients, _, judge = judged
    _, refitted = smallest_ratio(judge.A, judge.B)
    return judge.steadier(refitted, coefficients)


def unseen_mixture(law: sympy.Expr, columns: StateColumns, data: ConservationData, share: float
                   ) -> Optional[sympy.Expr]:
    """The quantity of ``law``'s own additive terms, not conserved, that mixed into the law at
    ``share`` of the law's variation on the null leaves it as steady within the noise
    (``Judge.unseen_mixture``), its largest term's coefficient 1; None when the data fix the
    law's coefficients. Weakly coupled oscillators at 1 % noise: the energy with its ``px**2``
    and ``x**2`` 11 % low was accepted, the energy less 0.11 times the first oscillator's own
    energy, which the weak coupling leaves nearly conserved."""
    judged = _judged_terms(law, columns, data)
    if judged is None:
        return None
    coefficients, terms, judge = judged
    other = judge.unseen_mixture(coefficients, share)
    if other is None:
        return None
    lead = other[int(np.argmax(np.abs(other) * judge.scale))]
    return sympy.Add(*[exact_float(weight / lead) * term for weight, term in zip(other, terms)])


RUNS_FOR_REFIT = 3
"""Training runs of two windows or more that ``run_refit_gain`` needs."""


def run_refit_gain(law: sympy.Expr, columns: StateColumns, data: ConservationData) -> Optional[float]:
    """How many times steadier ``law``'s own additive terms are when refitted on each training
    run apart: refitted on a run's even windows and judged on its odd ones, and the other way
    round, against the law itself on the same windows (ratios of the summed smooth forms, each
    per unit of its variation on the null). None for fewer than two terms, a term not finite on
    the training data, or fewer than ``RUNS_FOR_REFIT`` runs of two windows. A law refitted to
    one run's noise does no better on its other windows (true laws measured: 0.0-1.1, approximate
    ones 0.5-1.0); a law that is an average of laws each run has on its own, a pendulum's
    energy where each run has its own g, does far better (58)."""
    judged = _judged_terms(law, columns, data)
    if judged is None:
        return None
    w, _, judge = judged
    truth, values, B = data.train.truth, judge.values.train[0], judge.B
    runs = [np.flatnonzero(truth.source == run) for run in np.unique(truth.source)]
    runs = [windows for windows in runs if len(windows) >= 2]
    if len(runs) < RUNS_FOR_REFIT:
        return None
    forms = segment_smooth_forms(values, truth)  # a window set's smooth form is the mean of its windows'
    law_total = refit_total = 0.0
    for windows in runs:
        even, odd = (forms[windows[start::2]].mean(axis=0) for start in (0, 1))
        for fitted_on, A in ((even, odd), (odd, even)):
            _, refit = smallest_ratio(fitted_on, B)
            law_total += max(float(w @ A @ w / (w @ B @ w)), 0.0)
            refit_total += max(float(refit @ A @ refit / (refit @ B @ refit)), 0.0)
    return law_total / refit_total if refit_total > 0 else (np.inf if law_total > 0 else 1.0)


def unneeded_column(law: sympy.Expr, columns: StateColumns, data: ConservationData) -> Optional[str]:
    """The first column of ``law`` that it does not need, or None: held at its mean over the
    training states, on the truth and the null alike, the law is not significantly less steady
    segment by segment (``Judge.steadier``). A column that drifts slowly about a large offset
    (a room temperature beside a pendulum) can stand in for a constant factor, as in
    ``0.00038*T*w**2`` for ``0.111*w**2``; such a law does not show that the column has a role."""
    used = [k for k, symbol in enumerate(column_symbols(columns.names).values()) if symbol in law.free_symbols]
    if len(used) < 2:
        return None
    function = numpy_function(law, columns.names)
    means = data.train.truth.x.mean(axis=0)
    for k in used:
        def with_and_without(states: np.ndarray, k: int = k) -> np.ndarray:
            held = np.array(states, dtype=float)
            held[:, k] = means[k]
            return np.stack([function(states), function(held)], axis=1)

        judge = Judge(TermValues.evaluate(with_and_without, data), data)
        if _finite(judge) and not judge.steadier(np.array([1.0, 0.0]), np.array([0.0, 1.0])):
            return columns.names[k]
    return None


def check_law(dataset: TrajectoryDataset, expression: ExpressionLike, *, threshold: float = 100.0,
              window: float = 2.0, seed: int = 0) -> LawCheck:
    """Judge ``expression`` (text or SymPy over the data's columns, in SI) as a multi-term law
    found by the search is: each additive term keeps its coefficient on the training and the
    held-out data, and the terms are refitted on the control (``conslaw.terms.judging``)."""
    columns = StateColumns.from_dataset(dataset)
    law = columns.parse(expression)
    data = ConservationData.prepare(dataset, window, NULL_DRAWS, seed)
    return judge_given(law, columns, data, threshold, name=str(expression))


@np.errstate(all="ignore")  # a user's law may overflow on the data: its ratios are then not finite
def judge_given(law: sympy.Expr, columns: StateColumns, data: ConservationData, threshold: float,
                name: str) -> LawCheck:
    """``check_law`` on prepared ``data``, for a parsed ``law`` (``name`` in its error)."""
    coefficients, terms = additive_terms(law)
    if not terms:
        raise ConslawError(f"law {name!r} has no term that depends on a state column")
    judge = _judge(terms, columns, data)
    evidence = judge.evidence(np.array(coefficients))
    return LawCheck(law, tuple(str(t) for t in terms), tuple(coefficients), evidence,
                    is_accepted(evidence, threshold))
