"""Functional independence at the data: which laws say something the others do not.

Laws are compared by their gradients at training states, each scaled by the columns' spreads
and normalised: a law is a function of others where its gradient adds nothing to the rank of
theirs (``INDEPENDENCE_RTOL``). Identities (relations between the columns) take part as
relations: a law must raise the rank beyond theirs, and a law along one law and the relations is
that law on the data (``along_one_law``).
"""
from __future__ import annotations

import functools
from typing import Optional, Sequence

import numpy as np
import sympy

from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.demotions import law_values, predictable
from conslaw.dsl.expressions import column_symbols, gradient_function
from conslaw.law import Law

INDEPENDENCE_RTOL = 1e-2
RELATION_RTOL = 0.1
GRADIENT_STATES = 200
FIRST_ORDER = 0.1
"""An identity whose median gradient on the data is at most this share of its median gradient
off them vanishes there to second order (rounding, or noise, is its gradient): no relation."""


def _gradient_rank(expressions: Sequence[sympy.Expr], columns: Sequence[str], states: np.ndarray,
                   spread: np.ndarray, rtol: float = INDEPENDENCE_RTOL) -> int:
    """The median over states of the rank of the expressions' stacked gradients (scaled by the
    columns' spreads, each gradient normalised; singular values above ``rtol`` of the largest)."""
    return _median_rank(np.stack([_scaled_gradient(e, columns, states, spread) for e in expressions], axis=1), rtol)


def _scaled_gradient(expression: sympy.Expr, columns: Sequence[str], states: np.ndarray,
                     spread: np.ndarray) -> np.ndarray:
    """The expression's gradient at ``states`` (n, d), scaled by the columns' spreads."""
    return gradient_function(expression, columns)(states) * spread


def _median_rank(gradients: np.ndarray, rtol: float = INDEPENDENCE_RTOL) -> int:
    """``_gradient_rank`` of stacked gradients (n states, laws, d) already scaled."""
    gradients = gradients[np.all(np.isfinite(gradients), axis=(1, 2))]
    if not len(gradients):
        return 0
    norms = np.linalg.norm(gradients, axis=2, keepdims=True)
    unit = np.divide(gradients, norms, out=np.zeros_like(gradients), where=norms > 0)
    singular = np.linalg.svd(unit, compute_uv=False)
    pointwise = np.sum((singular > rtol * singular[:, :1]) & (singular[:, :1] > 0), axis=1)
    return int(np.median(pointwise))


def functionally_dependent(expression: sympy.Expr, on: Sequence[sympy.Expr], columns: Sequence[str],
                           states: np.ndarray) -> bool:
    """Whether ``expression`` is a function of the laws ``on`` at the ``states`` (its gradient
    adds nothing to the rank of theirs): how a found law is checked against the true ones."""
    spread = np.where(states.std(axis=0) > 0, states.std(axis=0), 1.0)
    return _gradient_rank([*on, expression], columns, states, spread) <= _gradient_rank(on, columns, states, spread)


def _gradient_points(data: ConservationData, seed: int, states: Optional[np.ndarray] = None) -> np.ndarray:
    """The training states (or ``states``; at most ``GRADIENT_STATES``, drawn with ``seed``) where
    gradients are compared."""
    states = data.train.truth.x if states is None else states
    return states[np.random.default_rng(seed).choice(len(states), min(len(states), GRADIENT_STATES), replace=False)]


def along_one_law(laws: Sequence[Law], data: ConservationData, seed: int,
                  relations: Sequence[sympy.Expr] = ()) -> np.ndarray:
    """``(n, n)``: whether dependent exact law m's gradient lies, at the data, along independent
    law k's and the ``relations``' (``independent_relations``, at the independence test's
    tolerance): on the data, where each identity takes one value, m is a function of k alone (in
    an epidemic whose outbreaks all hold ``S + I + R = N``, ``log(S) + 0.003*R`` plus multiples
    of that identity says nothing more than ``log(S) + 0.003*R``)."""
    parallel = np.zeros((len(laws), len(laws)), dtype=bool)
    if not laws:
        return parallel
    points, spread = _gradient_points(data, seed), data.train.truth.x.std(axis=0)
    columns = laws[0].columns.names
    along = [_scaled_gradient(expression, columns, points, spread) for expression in relations]
    bases = [k for k, law in enumerate(laws) if law.independent]
    copies = [m for m, law in enumerate(laws) if law.quality == "exact" and not law.independent]
    gradients = {i: _scaled_gradient(laws[i].expression, columns, points, spread) for i in bases + copies}
    for k in bases:
        for m in copies:
            stacked = np.stack(along + [gradients[k], gradients[m]], axis=1)
            parallel[k, m] = _median_rank(stacked) <= len(along) + 1
    return parallel


def function_of(laws: Sequence[Law], data: ConservationData, seed: int,
                relations: Sequence[sympy.Expr] = ()) -> list[tuple[int, ...]]:
    """For each law not marked independent, the positions of the independent laws it is a
    function of at the data: the fewest whose gradients, with the ``relations``', span its
    gradient (at the independence test's tolerance), found by dropping from all of them those it
    does not need, the last first. Where all of them do not span it, all of them when their
    values predict its values (``predictable``: the test that kept it out of the independent set
    when the noise tilts its gradient off theirs; its polynomial of trajectories' values is too
    loose to tell which of them it needs) or when they are as many as the columns allow
    (``independent_set``: they fix each trajectory's curve) and it is exact. ``()`` for an
    independent law, and for an approximate law that leans off the exact laws' span."""
    bases = [k for k, law in enumerate(laws) if law.independent]
    found: list[tuple[int, ...]] = [()] * len(laws)
    if not bases or len(bases) == len(laws):
        return found
    truth = data.train.truth
    points, spread = _gradient_points(data, seed), truth.x.std(axis=0)
    columns = laws[0].columns.names
    along = [_scaled_gradient(expression, columns, points, spread) for expression in relations]
    gradients = [_scaled_gradient(law.expression, columns, points, spread) for law in laws]
    full = len(bases) >= _most_independent(spread, len(relations))

    def spans(subset: list[int], m: int) -> bool:
        stacked = np.stack(along + [gradients[k] for k in subset] + [gradients[m]], axis=1)
        return _median_rank(stacked) <= _median_rank(stacked[:, :-1])

    @functools.cache
    def bases_values() -> np.ndarray:
        return np.array([law_values(laws[k], truth.x) for k in bases])

    for m in (m for m in range(len(laws)) if m not in bases):
        if not spans(bases, m):
            of_all = (full and laws[m].quality == "exact") \
                or predictable(law_values(laws[m], truth.x), bases_values(), truth)
            found[m] = tuple(bases) if of_all else ()
            continue
        needed = list(bases)
        for k in reversed(bases):
            if spans([j for j in needed if j != k], m):
                needed.remove(k)
        found[m] = tuple(needed)
    return found


def _most_independent(spread: np.ndarray, relations: int) -> int:
    """How many independent first integrals the columns allow beside ``relations`` relations: one
    fewer than the columns that vary (``spread`` > 0), less the relations."""
    return int(np.sum(spread > 0)) - 1 - relations


def independent_set(laws: Sequence[Law], data: ConservationData, seed: int,
                    relations: Sequence[sympy.Expr] = ()) -> list[int]:
    """Positions (in ``laws``' order) of a maximal functionally independent subset: never more
    than d - 1 laws for d columns that vary (every law's gradient is orthogonal to the flow, so a
    flow that moves has at most d - 1 independent first integrals; approximate laws can look like
    more), less the ``relations`` between the columns (``independent_relations``), beyond whose
    gradients a law must raise the rank (the same law written with ``x_cm`` for ``x`` does not).
    A column of one value on all the training data carries no state: it is not counted, and its
    gradient, scaled by its spread of 0, raises no rank."""
    truth = data.train.truth
    points = _gradient_points(data, seed)
    spread = truth.x.std(axis=0)
    values = np.array([law_values(law, truth.x) for law in laws])
    columns = laws[0].columns.names if laws else ()
    relations = list(relations) + _unlisted_still(laws, data, varying=spread > 0)
    base = len(relations)
    chosen: list[int] = []
    for i, law in enumerate(laws):
        if len(chosen) >= _most_independent(spread, base):
            break
        expressions = relations + [laws[j].expression for j in chosen] + [law.expression]
        if _gradient_rank(expressions, columns, points, spread) <= base + len(chosen):
            continue
        if chosen and predictable(values[i], values[chosen], truth):
            continue
        chosen.append(i)
    return chosen


def _unlisted_still(laws: Sequence[Law], data: ConservationData, varying: np.ndarray) -> list[sympy.Expr]:
    """The still columns (``ConservationData.still``: a run's setting, a conserved input) that
    take more than one value (``varying``) as conserved quantities beside ``laws``, when none of
    these reads still columns only: the multi-term search leaves such laws to the whole-formula
    search, and without them ``m*E`` beside ``E`` raised the rank of the laws found and was
    marked independent."""
    if not laws or not any(data.still):
        return []
    still = [symbol for symbol, is_still, varies in zip(column_symbols(laws[0].columns.names).values(),
                                                         data.still, varying) if is_still and varies]
    if any(law.expression.free_symbols <= set(still) for law in laws):
        return []
    return still


def independent_relations(identities: Sequence[Law], data: ConservationData, seed: int) -> list[sympy.Expr]:
    """The simplest identities whose gradients (finite at every point) raise the rank by more
    than ``RELATION_RTOL``: on noisy data a product ``vy*(x - 0.01*x_cm)`` leans off its factor's
    gradient by the noise's share, about 1e-2, which the laws' tolerance would count. An identity
    whose gradient vanishes on the data (``_first_order``) is no relation. The columns that
    repeat another (``ConservationData.copies``) are relations first: the null keeps them, so
    no identity shows them."""
    relations: list[sympy.Expr] = [copy.relation for copy in data.copies]
    if not identities:
        return relations
    points, spread = _gradient_points(data, seed), data.train.truth.x.std(axis=0)
    off_data = _gradient_points(data, seed, data.train.null.x)
    columns = identities[0].columns.names
    for law in sorted(identities, key=lambda law: law.size):
        if not np.all(np.isfinite(gradient_function(law.expression, columns)(points))):
            continue
        if not _first_order(law.expression, columns, points, off_data, spread):
            continue
        if _gradient_rank(relations + [law.expression], columns, points, spread, RELATION_RTOL) > len(relations):
            relations.append(law.expression)
    return relations


def _first_order(expression: sympy.Expr, columns: Sequence[str], points: np.ndarray, off_data: np.ndarray,
                 spread: np.ndarray) -> bool:
    """Whether an identity's gradient on the data is of the size it has off them (at surrogate
    states, more than ``FIRST_ORDER`` of it, medians): ``p*(1 - cos(q - q_deg))`` and
    ``(q - q_deg)**2`` vanish to second order where ``q = q_deg``, so their gradients there are
    rounding (or noise) whose directions, normalised, would count as relations and leave no
    room for the laws (a pendulum with its angle repeated in degrees once had none). An identity
    whose gradient off the data is nowhere finite cannot be judged so, and counts."""
    on, off = (_median_norm(_scaled_gradient(expression, columns, states, spread)) for states in (points, off_data))
    return bool(not np.isfinite(off) or on > FIRST_ORDER * off)


def _median_norm(gradients: np.ndarray) -> float:
    """The median norm of the finite gradients (n, d); NaN when none is finite."""
    norms = np.linalg.norm(gradients, axis=1)
    norms = norms[np.isfinite(norms)]
    return float(np.median(norms)) if len(norms) else float("nan")
