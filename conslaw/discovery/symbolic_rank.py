"""The exact functional rank of conserved quantities: the generic rank of their Jacobian.

The numerical independence of accepted laws, judged on the data, is in
``conslaw.discovery.independence``; this is the symbolic cross-check beside it, on SymPy
expressions in the state-column symbols.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Optional, Sequence, Union

import numpy as np
import sympy as sp

from conslaw.discovery.symmetry import LawLike, vanishes
from conslaw.dsl.expressions import column_symbols, parse_expression
from conslaw.errors import ConslawError


def _jacobian(laws: Sequence[sp.Expr], symbols: Sequence[sp.Symbol]) -> sp.Matrix:
    return sp.Matrix([[sp.diff(law, s) for s in symbols] for law in laws])


def _exact_rank(matrix: sp.Matrix) -> Optional[int]:
    """Rank of a numeric SymPy matrix: exact for rationals, 60-digit SVD otherwise (complex where
    a law leaves the reals at the point, e.g. ``sqrt`` of a negative value); None when an entry is
    not finite there (the point is unusable)."""
    if all(entry.is_Rational for entry in matrix):
        return int(matrix.rank())
    import mpmath

    with mpmath.workdps(60):
        numbers = [[sp.N(entry, 60) for entry in row] for row in matrix.tolist()]
        if not all(number.is_finite for row in numbers for number in row):
            return None
        values = mpmath.matrix([[mpmath.mpc(mpmath.mpf(sp.re(number)), mpmath.mpf(sp.im(number))) for number in row]
                                for row in numbers])
        singular = mpmath.svd_c(values, compute_uv=False)
        largest = max([abs(s) for s in singular] + [mpmath.mpf(0)])
        return int(sum(1 for s in singular if abs(s) > largest * mpmath.mpf(10) ** -40))


def symbolic_independence(laws: Sequence[LawLike], symbols: Sequence[Union[str, sp.Symbol]],
                          n_points: int = 3, seed: int = 0) -> tuple[int, list[int]]:
    """Functional rank of ``laws`` and a greedy maximal independent subset (indices, given order).

    The rank is the generic rank of the Jacobian: it is evaluated exactly (rational arithmetic, or
    60-digit SVD for transcendental entries) at ``n_points`` random rational points and the
    maximum is kept; a random point hits a rank drop with probability zero. When the result is
    below the number of laws and the matrix is small, the vanishing of every (rank+1)-minor is
    confirmed with ``sympy.simplify`` (numerically at random points when simplify cannot decide).
    """
    names = [s.name if isinstance(s, sp.Symbol) else str(s) for s in symbols]
    expressions = [parse_expression(law, names) for law in laws]
    table = column_symbols(names)
    variables = [table[name] for name in names]
    jacobian = _jacobian(expressions, variables)
    rng = np.random.default_rng(seed)
    points = [
        {v: sp.Rational(int(rng.integers(1, 60)) * int(rng.choice([-1, 1])), int(rng.integers(7, 31)))
         for v in variables}
        for _ in range(n_points)
    ]
    evaluated = [jacobian.xreplace(point) for point in points]

    def generic_rank(rows: list[int]) -> int:
        if not rows:
            return 0
        ranks = [_exact_rank(matrix.extract(rows, list(range(len(variables))))) for matrix in evaluated]
        usable = [r for r in ranks if r is not None]
        if not usable:
            raise ConslawError("the laws are not finite at any of the random points of the rank test")
        return max(usable)

    subset: list[int] = []
    for index in range(len(expressions)):
        if generic_rank(subset + [index]) > len(subset):
            subset.append(index)
    rank = len(subset)
    _confirm_minors_vanish(jacobian, rank, variables, seed)
    return rank, subset


MAX_MINOR_WORK = 200 * math.factorial(3)
"""The most minors times the factorial of their size (a symbolic determinant's terms) that
``_confirm_minors_vanish`` checks: 200 minors of 3x3, 10 of 5x5. One symbolic 5x5 minor of
quartic laws in 6 columns takes about a second to decide, a 6x6 one of the three-dimensional
Kepler laws (with square roots) 19 s; bounded by size cubed, 7 of those took 135 s of a 172 s
discovery."""


def _confirm_minors_vanish(jacobian: sp.Matrix, rank: int, variables: Sequence[sp.Symbol], seed: int) -> None:
    """Check that every (rank+1)-minor vanishes (when they are few and small: ``MAX_MINOR_WORK``);
    a nonzero one means the generic rank was missed."""
    size = rank + 1
    n_rows, n_cols = jacobian.shape
    if size > min(n_rows, n_cols):
        return
    row_sets = list(itertools.combinations(range(n_rows), size))
    col_sets = list(itertools.combinations(range(n_cols), size))
    if len(row_sets) * len(col_sets) * math.factorial(size) > MAX_MINOR_WORK:
        return
    for rows in row_sets:
        for cols in col_sets:
            zero, _ = vanishes(jacobian.extract(list(rows), list(cols)).det(), variables, seed=seed)
            if not zero:
                raise ConslawError(
                    f"symbolic independence: a {size}x{size} Jacobian minor (laws {rows}) is not zero,"
                    " the random-point rank is not generic; rerun with another seed"
                )


def symbolic_check(accepted: Sequence[Any], independent: Sequence[Any], columns: Sequence[str]) -> dict:
    """The independent set's size beside the exact generic rank of the Jacobian of those laws and
    of every accepted law. Fitted numbers are first rationalized (relative tolerance 1e-6), so
    that exact identities between laws (``1.00000*px**2 + x**2`` is ``px**2 + x**2``) can hold."""
    def exact(law: Any) -> sp.Expr:
        return sp.nsimplify(law.expression, tolerance=1e-6, rational=True)

    def rank(laws: Sequence[Any]) -> Optional[int]:
        try:
            return symbolic_independence([exact(law) for law in laws], columns)[0] if laws else 0
        except ConslawError:  # undecided: a cross-check must not stop the discovery it checks
            return None

    return {"numerical": len(independent), "symbolic_rank_of_independent": rank(independent),
            "symbolic_rank_of_accepted": rank(accepted),
            "note": "on noisy data an approximation of a law (accepted, not independent) can raise "
                    "the exact rank of the accepted set; the numerical test judges it within its "
                    "conservation error"}
