"""Units interned as small integer ids, the operators' unit rules applied to whole arrays of
them, and the count of unit-valid trees of each size (a dynamic program over units).

Enumeration and the tree count meet the same few hundred units millions of times.
A ``UnitTable`` stores each distinct unit once, as a row of integer exponents scaled by a common
denominator (exact: every exponent the grammar can build is a multiple of ``1/scale``), and
applies a ``UnitRule`` to arrays of ids. Id 0 is ``FREE``; -1 marks an invalid combination.
"""
from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from conslaw.dsl.operators import FREE, OPERATORS, Unit, UnitRule
from conslaw.dsl.units import ANGLE, DIMENSIONLESS, BASE_NAMES, Dimension

FREE_ID = 0
INVALID_ID = -1


class UnitTable:
    """Interned units over the base dimensions; ``scale`` makes every exponent an integer."""

    def __init__(self, dimensions: Sequence[Dimension], operators: Sequence[str], depth: int):
        denominators = [e.denominator for d in dimensions for e in d.exponents]
        powers = [OPERATORS[name].unit_rule.power.denominator for name in operators]
        # Each node divides the exponents by at most one power's denominator.
        self.scale = math.lcm(1, *denominators) * math.lcm(1, *powers) ** max(depth - 1, 0)
        self.rows = np.zeros((1, len(BASE_NAMES)), dtype=np.int64)  # row 0: FREE (unused)
        self.units: list[Unit] = [FREE]
        self._ids: dict[bytes, int] = {}
        self.angle = self.of(ANGLE)
        self.dimensionless = self.of(DIMENSIONLESS)

    def of(self, unit: Unit) -> int:
        """The id of one unit (interned on first use)."""
        if unit is FREE:
            return FREE_ID
        row = np.array([[int(e * self.scale) for e in unit.exponents]], dtype=np.int64)
        return int(self.intern(row)[0])

    def unit(self, unit_id: int) -> Unit:
        """The ``Dimension`` (or ``FREE``) of an id, built exactly from its integer row."""
        return self.objects([unit_id])[0]

    def objects(self, unit_ids: Sequence[int]) -> list[Unit]:
        """The ``Dimension`` (or ``FREE``) of each id."""
        for row in self.rows[len(self.units):]:
            self.units.append(Dimension(tuple(Fraction(int(v), self.scale) for v in row)))
        return [self.units[unit_id] for unit_id in unit_ids]

    def intern(self, rows: np.ndarray) -> np.ndarray:
        """Ids of exponent rows (never FREE), adding the new ones to the table."""
        if not len(rows):
            return np.zeros(0, dtype=np.int64)
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        unique, inverse = _unique_rows(rows)
        ids = np.empty(len(unique), dtype=np.int64)
        new_rows = []
        for index, key in enumerate(unique.view(f"V{8 * unique.shape[1]}").ravel().tolist()):
            found = self._ids.get(key)
            if found is None:
                found = self._ids[key] = len(self.rows) + len(new_rows)
                new_rows.append(unique[index])
            ids[index] = found
        if new_rows:
            self.rows = np.concatenate([self.rows, np.array(new_rows)])
        return ids[inverse]

    def apply(self, rule: UnitRule, first: np.ndarray, second: Optional[np.ndarray] = None
              ) -> np.ndarray:
        """The rule applied elementwise to arrays of ids: result ids, ``INVALID_ID`` if rejected."""
        first = np.asarray(first, dtype=np.int64)
        free = first == FREE_ID
        if rule.kind == "identity":
            return first.copy()
        if rule.kind in ("angle", "dimensionless"):
            if rule.kind == "angle":
                ok = free | (first == self.angle)
            else:
                ok = free | ~self.rows[first].any(axis=1)
            return np.where(ok, self.dimensionless, INVALID_ID)
        if rule.kind == "power":
            scaled = self.rows[first] * rule.power.numerator
            if np.any(scaled % rule.power.denominator):
                raise ValueError("unit exponent outside the table's exact scale")
            result = np.full(first.shape, FREE_ID, dtype=np.int64)
            result[~free] = self.intern(scaled[~free] // rule.power.denominator)
            return result
        second = np.asarray(second, dtype=np.int64)
        other_free = second == FREE_ID
        if rule.kind == "equal":
            same = np.where(first == second, first, INVALID_ID)
            return np.where(free, second, np.where(other_free, first, same))
        fixed = ~(free | other_free)
        sign = 1 if rule.kind == "product" else -1
        result = np.full(first.shape, FREE_ID, dtype=np.int64)
        result[fixed] = self.intern(self.rows[first[fixed]] + sign * self.rows[second[fixed]])
        return result


def count_unit_valid_trees(
    dimensions: Sequence[Dimension], depth: int, operators: Sequence[str], parameters: bool = True,
    *, commutative: bool = False,
) -> dict[int, int]:
    """Number of unit-valid trees of each size before any other pruning (a dynamic program).

    With ``commutative=True``, ``a + b`` and ``b + a`` (and ``a * b``, ``b * a``) count once:
    the paper's stated pruning (units and commutativity).
    """
    units = UnitTable(dimensions, operators, depth)
    first = Counter(units.of(d) for d in dimensions)
    if parameters:
        first[FREE_ID] += 1
    by_size = {1: (np.array(list(first)), np.array(list(first.values()), dtype=object))}
    # Counts are exact Python integers (object arrays): they pass 2**63 beyond about 18 nodes.
    for size in range(2, depth + 1):
        found, weights = [], []
        for operator in (OPERATORS[name] for name in operators):
            splits = [(size - 1, None)] if operator.arity == 1 else [
                (left, size - 1 - left) for left in range(1, size - 1)
                if not (commutative and operator.commutative and left > size - 1 - left)]
            for left_size, right_size in splits:
                pair_units, pair_counts = _unit_pairs(
                    by_size[left_size], None if right_size is None else by_size[right_size],
                    triangle=commutative and operator.commutative and left_size == right_size)
                result = units.apply(operator.unit_rule, *pair_units)
                found.append(result[result != INVALID_ID])
                weights.append(pair_counts[result != INVALID_ID])
        by_size[size] = _total_by_unit(np.concatenate(found), np.concatenate(weights))
    return {size: int(sum(counts)) for size, (_, counts) in by_size.items()}


def _unit_pairs(left: tuple, right: Optional[tuple], triangle: bool) -> tuple[list, np.ndarray]:
    """Argument unit ids and the number of trees for each (pair of) unit(s)."""
    left_units, left_counts = left
    if right is None:
        return [left_units], left_counts
    right_units, right_counts = right
    i, j = np.divmod(np.arange(len(left_units) * len(right_units)), len(right_units))
    counts = left_counts[i] * right_counts[j]
    if triangle:  # unordered pairs of trees: i < j as is, i == j as n*(n+1)/2
        keep = i <= j
        i, j, counts = i[keep], j[keep], counts[keep]
        same = i == j
        counts[same] = [n * (n + 1) // 2 for n in left_counts[i[same]]]
    return [left_units[i], right_units[j]], counts


def _total_by_unit(units: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distinct, inverse = np.unique(units, return_inverse=True)
    totals = np.zeros(len(distinct), dtype=object)
    np.add.at(totals, inverse, counts)
    return distinct, totals


_ROW_WEIGHTS = np.random.default_rng(7).integers(1, 2**63, size=len(BASE_NAMES), dtype=np.uint64)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` (in any order), through a 64-bit code
    per row; exact, because a code shared by different rows falls back to the row sort."""
    codes = rows.view(np.uint64) @ _ROW_WEIGHTS[:rows.shape[1]]
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(rows[first][inverse], rows):
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        return unique, inverse.ravel()
    return rows[first], inverse


__all__ = ["FREE_ID", "INVALID_ID", "UnitTable", "count_unit_valid_trees"]
