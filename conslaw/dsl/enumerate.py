"""Exhaustive, unit-valid, duplicate-free enumeration of formulas by size.

Depth is the **number of nodes** (tokens) in the formula tree: ``p**2 + c*cos(q)`` is
``+, square, p, *, c, cos, q``, so 7. Formulas are grown bottom-up, size by size, from the
representatives of smaller sizes, so pruned sub-formulas never reach a larger formula.

Pruning, in the order it is applied to each candidate (each step counted in ``removed``):

1. ``unit_invalid``: the operator's unit rule rejects the children's units (never built).
2. ``commutative``: ``b + a`` when ``a + b`` is built (skipped by ordering, counted).
3. ``trivial``: a non-leaf sub-formula without any input (``c*c``, ``sin(c)``).
4. ``redundant_parameter``: two bare parameters in one flattened sum or product
   (``x + c1 + c2``, ``c1*c2*x``), a product or quotient of two parameter-scaled factors, or a
   power/abs of a parameter-scaled argument (``(c*p)**2`` is ``c'*p**2``).
5. ``associative``: the same flattened, sorted sum or product as an earlier formula; inside these
   keys ``c``, ``-c`` and ``1/c`` are one parameter.
6. ``constant``: a sub-formula whose value does not vary over the probe points (``q/q``).
7. ``observational``: equal values at random probe points (for two random parameter values) and
   the same unit as an earlier formula; the earlier (smaller) one represents both everywhere.

Roots (the formulas returned) are further filtered: ``free_unit`` (a formula whose unit is free
is a constant multiple of another formula), ``constant_offset`` (``g + c`` conserves exactly what
``g`` does) and ``affine_duplicate`` (equal to an earlier root up to ``a*g + b`` at the probes,
for each of the two parameter values, e.g. ``q*(p - c/q)`` is ``p*q - c``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from conslaw.dsl.budget import EnumerationConfig, check_budget, estimate_from, probe_done
from conslaw.dsl.grammar import NodeTable
from conslaw.dsl.growth import Grower
from conslaw.dsl.operators import EXTENDED_OPERATORS, PAPER_OPERATORS, resolve_operators
from conslaw.dsl.unit_table import count_unit_valid_trees
from conslaw.dsl.units import Dimension
from conslaw.errors import ConslawError, UsageError


@dataclass
class FormulaSpace:
    """The enumeration stage's output: a node table and the ids of the root formulas."""

    table: NodeTable
    roots: list[int]
    depth: int
    operators: tuple[str, ...]
    parameters: bool
    counts_by_size: dict[int, int]
    removed: dict[str, int]
    raw_counts_by_size: dict[int, int]
    commutative_counts_by_size: dict[int, int]
    seconds: float

    @property
    def columns(self) -> tuple[str, ...]:
        return self.table.columns

    def __len__(self) -> int:
        return len(self.roots)

    def summary(self) -> dict:
        cumulative, total = {}, 0
        for size in sorted(self.counts_by_size):
            total += self.counts_by_size[size]
            cumulative[size] = total
        return {
            "depth": self.depth,
            "depth_definition": "number of nodes (tokens) in the formula tree",
            "operators": list(self.operators),
            "formulas": len(self.roots),
            "formulas_by_size": dict(self.counts_by_size),
            "formulas_up_to_size": cumulative,
            "unit_valid_trees_by_size": dict(self.raw_counts_by_size),
            "unit_valid_trees_modulo_commutativity_by_size": dict(self.commutative_counts_by_size),
            "removed": dict(self.removed),
            "seconds": round(self.seconds, 4),
        }


def enumerate_formulas(
    columns: Sequence[str],
    dimensions: Sequence[Dimension],
    depth: int = 7,
    *,
    operators: Sequence[str] = PAPER_OPERATORS,
    parameters: bool = True,
    probes: int = 16,
    seed: int = 0,
    progress: Optional[Callable[[int], None]] = None,
    max_formulas: Optional[int] = EnumerationConfig.max_formulas,
    max_memory_gb: Optional[float] = EnumerationConfig.max_memory_gb,
) -> FormulaSpace:
    """Every unit-valid formula with at most ``depth`` nodes over the given input columns.

    ``parameters=False`` lists parameter-free terms (the multi-term library's building blocks).
    ``progress`` is called with each finished size. Once the first sizes are grown, the total is
    estimated; a ``UsageError`` refuses the rest when it passes ``max_formulas`` or
    ``max_memory_gb`` (None: no limit). ``operators`` is resolved by ``resolve_operators``.
    """
    if not isinstance(depth, int) or depth < 1:
        raise UsageError(f"depth must be an integer >= 1, got {depth!r}")
    if len(columns) != len(dimensions) or not columns:
        raise ConslawError("need at least one input column, each with a unit")
    if len(set(columns)) != len(columns):
        raise ConslawError(f"duplicate column names in {list(columns)}")
    operators = resolve_operators(operators)
    start = time.perf_counter()
    enumerator = Grower(columns, dimensions, operators, parameters, probes, seed, depth)
    checked = max_formulas is None and max_memory_gb is None
    while enumerator.size < depth:
        enumerator.grow()
        if progress is not None and enumerator.size > 1:
            progress(enumerator.size)
        if not checked and enumerator.size < depth and probe_done(enumerator, depth):
            check_budget(estimate_from(enumerator, depth, parameters), max_formulas, max_memory_gb)
            checked = True
    seconds = time.perf_counter() - start
    raw = count_unit_valid_trees(dimensions, depth, operators, parameters)
    commutative = count_unit_valid_trees(dimensions, depth, operators, parameters, commutative=True)
    return FormulaSpace(
        table=enumerator.table,
        roots=enumerator.roots,
        depth=depth,
        operators=operators,
        parameters=parameters,
        counts_by_size={s: int(enumerator.counts_by_size.get(s, 0)) for s in range(1, depth + 1)},
        removed=dict(enumerator.removed),
        raw_counts_by_size=raw,
        commutative_counts_by_size=commutative,
        seconds=seconds,
    )


__all__ = [
    "EXTENDED_OPERATORS", "FormulaSpace", "PAPER_OPERATORS", "count_unit_valid_trees",
    "enumerate_formulas",
]
