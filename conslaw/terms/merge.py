"""One ranked list from whole-formula and multi-term candidates (``--mode both``).

Accepted candidates of both origins are ranked together by the discovery stage's description
length, ``log10(max(R, R_FLOOR)) + NODE_COST * size`` with ``R`` the training ratio; the same
law found both ways (equal up to ``a*g + b`` at the given states, discovery's ``SAME_LAW``) is
kept once, as its best-ranked version, which counts the other among its ``variants``. A
functionally independent set is then marked over the merged accepted laws. Rejected candidates
follow, by description length.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy

from conslaw.discovery.discover import R_FLOOR, NODE_COST, mark_independent, merge_same_laws
from conslaw.discovery.score import SegmentedStates


def expression_signatures(expressions: Sequence[str], columns: Sequence[str],
                          states: np.ndarray) -> np.ndarray:
    """Each law's values at ``states`` (n, d), centred and scaled to unit norm (zeros when not
    finite), for ``merge_same_laws``."""
    symbols = sympy.symbols(list(columns))
    local = dict(zip(columns, symbols))
    rows = []
    for expression in expressions:
        function = sympy.lambdify(symbols, sympy.sympify(expression, locals=local))
        with np.errstate(all="ignore"):
            values = np.broadcast_to(np.asarray(function(*states.T), dtype=float), (len(states),))
        values = values - values.mean()
        norm = np.linalg.norm(values)
        rows.append(values / norm if norm > 0 and np.isfinite(norm) else np.zeros(len(states)))
    return np.array(rows)


def _description_length(candidate: dict) -> float:
    ratio = candidate["conservation"]["true"]
    return float(np.log10(max(ratio, R_FLOOR)) + NODE_COST * candidate["size"])


def merge_candidates(formula_candidates: Sequence[dict], term_candidates: Sequence[dict],
                     columns: Sequence[str], train: SegmentedStates,
                     reference_states: np.ndarray) -> tuple[list[dict], list[int]]:
    """Merged, re-ranked candidates (new dicts) and the ranks of the independent laws.

    ``train``: the training states (for the independence test); ``reference_states``: where
    laws are compared (the discovery stage uses 256 random-control states).
    """
    candidates = [dict(c) for c in [*formula_candidates, *term_candidates]]
    accepted = sorted((c for c in candidates if c["accepted"]), key=_description_length)
    rejected = sorted((c for c in candidates if not c["accepted"]), key=_description_length)
    if accepted:
        accepted = merge_same_laws(
            accepted, expression_signatures([c["expression"] for c in accepted], columns,
                                            reference_states))
    for candidate in accepted:
        candidate["independent"] = False
    independent = mark_independent(accepted, tuple(columns), train)
    merged = accepted + rejected
    for rank, candidate in enumerate(merged, start=1):
        candidate["rank"] = rank
    return merged, [accepted[i]["rank"] for i in independent]
