"""Columns that repeat another: on every sample ``a*x_j + b`` of an earlier column.

A lab file may hold one sensor's reading twice, an angle in radians and again in degrees, a
position in m and in cm. Such a copy is a relation between the columns, not a conservation law,
and the null (``conslaw.discovery.surrogate``), which draws each column from another segment,
would break it: a function nearly constant along the copy alone then looks conserved
(``cos(q) - cos(pi*q_deg/180 - 0.0048)``, which is ``0.0048*sin(q)`` on the data), and every
product of the copy's difference with another term is a multi-term law of its own, which crowded
three oscillators' energies out of the multi-term search. So a copy moves with its column in
every surrogate, and counts as a relation beside the identities (``Copy.relation``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy

from conslaw.dsl.expressions import column_symbols

COPY_TOLERANCE = 1e-6
"""A column is a copy when the least-squares line through another column leaves residuals (root
mean square) of at most this share of its spread: a copy written with 7 significant digits is
one; a second reading with its own noise (1e-5 of the spread and more) is not."""


@dataclass(frozen=True)
class Copy:
    """Column ``copy`` (named ``names[0]``) is ``scale * column original + offset`` (named
    ``names[1]``) on every sample it was judged on; ``equal`` when it holds its original's SI
    values (one reading in two units: ``scale`` 1, no offset)."""

    copy: int
    original: int
    scale: float
    offset: float
    names: tuple[str, str]
    equal: bool = False

    @property
    def relation(self) -> sympy.Expr:
        """``copy - scale*original - offset`` over the columns' symbols."""
        copy, original = (column_symbols(self.names)[name] for name in self.names)
        return copy - sympy.Float(self.scale) * original - sympy.Float(self.offset)


def copied_columns(states: np.ndarray, columns: Sequence[str], same_values: bool = False) -> tuple[Copy, ...]:
    """The ``columns`` of ``states`` (n, d, SI values) that copy an earlier column which copies
    none. Along one trajectory a law linear in two columns (a cyclotron's guiding centre,
    ``vx + omega*y``; two momenta's sum) is a line between them as well; across trajectories its
    level moves the line, and a copy's does not. So states from one trajectory need
    ``same_values``: there only a column equal to another in SI (one reading in two units) is a
    copy."""
    copies: list[Copy] = []
    copied = set()
    spread = states.std(axis=0)
    for k in range(states.shape[1]):
        for j in range(k):
            if j in copied or spread[j] == 0 or spread[k] == 0:
                continue
            scale, offset = (1.0, 0.0) if same_values else np.polyfit(states[:, j], states[:, k], 1)
            if _within_tolerance(states[:, k] - (scale * states[:, j] + offset), spread[k]):
                equal = same_values or _within_tolerance(states[:, k] - states[:, j], spread[k])
                copies.append(Copy(k, j, float(scale), float(offset), (columns[k], columns[j]), equal))
                copied.add(k)
                break
    return tuple(copies)


def _within_tolerance(residual: np.ndarray, spread: float) -> bool:
    return bool(np.sqrt(np.mean(residual ** 2)) <= COPY_TOLERANCE * spread)


def sources(copies: Sequence[Copy], n_columns: int) -> list[int]:
    """For each column, the column whose motion it takes in a surrogate: its original, or itself."""
    source = list(range(n_columns))
    for copy in copies:
        source[copy.copy] = copy.original
    return source
