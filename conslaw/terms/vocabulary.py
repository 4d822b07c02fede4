"""The term vocabulary: the chosen operators, widened step by step when laws are missing.

With ``vocabulary="auto"`` the search runs once with the chosen operators; while its laws are
fewer than the data could hold (``target_laws``), it widens the operators by one step of
``WIDENING`` and runs again (each step's library contains the previous one's simplest terms),
keeping every law found, until the target is met, the steps run out or the time budget does:

1. ``log``, ``exp`` (of dimensionless quantities only: the DSL's unit rules);
2. ``inv``: inverse powers;
3. ``sqrt``, ``rsqrt``: square roots, also of sums of squares of two columns of one unit
   (``1/sqrt(x**2 + y**2)``, see ``conslaw.terms.library``).
"""
from __future__ import annotations

from typing import Sequence

from conslaw.dsl.operators import resolve_operators

WIDENING: tuple[tuple[str, ...], ...] = (("log", "exp"), ("inv",), ("sqrt", "rsqrt"))


def vocabularies(operators: Sequence[str], vocabulary: str) -> list[tuple[str, ...]]:
    """The operator sets of the successive passes: the chosen ones, then (``auto``) each
    widening step that adds an operator, cumulatively."""
    chosen = resolve_operators(operators)
    passes = [chosen]
    if vocabulary == "auto":
        for step in WIDENING:
            wider = tuple(dict.fromkeys(passes[-1] + step))
            if len(wider) > len(passes[-1]):
                passes.append(wider)
    return passes


def target_laws(n_columns: int) -> int:
    """How many functionally independent conserved quantities the data could hold: a trajectory
    of an autonomous system in d dimensions is a curve, cut out locally by at most d - 1 of
    them. Most systems have fewer (chaotic ones only their energy), so the widening stops
    early only when the data are as constrained as they can be; otherwise it runs to the end
    of ``WIDENING`` or of the time budget."""
    return max(1, n_columns - 1)
