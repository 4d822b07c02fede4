"""The multi-term library: products of short, unit-valid DSL terms, evaluated and pruned.

A **factor** is a parameter-free DSL formula of at most ``term_depth`` nodes over the chosen
operators (the roots of ``enumerate_formulas(..., parameters=False)``), plus two lifts that let
a factor's argument be as long as ``term_depth`` itself:

- the sine and cosine of every angle-valued root of two or more nodes (``cos(q1 - q2)``) and,
  where the term depth is too short to hold them as factors, of every angle column (below
  depth 2: ``cos(q1)``) and of the sum and the difference of two (below depth 3): the lean
  libraries of the auto vocabulary (depth 1) then hold a double pendulum's energy,
  ``w1*w2*cos(q1 - q2)`` beside ``cos(q1)``, in few terms;
- ``sqrt``, ``rsqrt`` and ``inv`` (those among the operators) of the sum of the squares of two
  or three columns of one unit (``1/sqrt(x**2 + y**2)``, the Kepler potential; in 3D
  ``1/sqrt(x**2 + y**2 + z**2)``).

A **term** is a product of up to ``max_factors`` factors; its unit is the product of the factors'
units and its size the DSL node count of the product tree (factor sizes plus one ``*`` node per
extra factor). Factors that are not finite, out of range or constant on the data are dropped
before any product is formed. Terms are ordered simple to complex (``build_library``).

The library is evaluated and pruned by ``conslaw.terms.pruning``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations, combinations_with_replacement, product
from typing import Collection, Optional, Sequence

import numpy as np
import sympy

from conslaw.discovery.function_forms import MAX_MAGNITUDE, MIN_MAGNITUDE
from conslaw.dsl.enumerate import enumerate_formulas
from conslaw.dsl.grammar import Evaluator, Node, NodeTable
from conslaw.dsl.operators import OPERATORS
from conslaw.dsl.units import ANGLE, DIMENSIONLESS, Dimension, dimension_product
from conslaw.errors import ConslawError
NORM_OPERATORS = ("sqrt", "rsqrt", "inv")
"""Operators applied to sums of squares of two same-unit columns when they are chosen."""
LIBRARY_COPIES = 3
"""Peak memory of a library pass, in copies of its factors' values at every judging state: the
values ``prune_library`` keeps, the evaluator's cache of their sub-formulas and the products
(pendulum, ``--term-depth`` 8 to 10 and the paper's operators: 3.4-6 copies measured above a
0.2-0.5 GB base, 4.2 GB at depth 10)."""


def library_memory_gb(factors: float, judging_states: float) -> float:
    """The estimated peak memory of a library of ``factors`` factors evaluated on
    ``judging_states`` states."""
    return LIBRARY_COPIES * 8 * factors * judging_states / 1e9


@dataclass
class TermLibrary:
    """Terms as products of factor nodes of one ``NodeTable``.

    ``factors`` holds node ids; ``terms[i]`` the factor positions (into ``factors``) of term i.
    """

    table: NodeTable
    factors: list[int]
    terms: list[tuple[int, ...]]
    sizes: list[int]
    counts: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    _law_terms: dict[int, sympy.Expr] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.terms)

    @cached_property
    def units(self) -> list[Dimension]:
        """Each term's unit (computed on first use: exact unit arithmetic is slow, and most
        products are dropped before they need one)."""
        return [dimension_product(self.table[self.factors[f]].unit for f in term) for term in self.terms]

    def sympy_term(self, index: int) -> sympy.Expr:
        return sympy.Mul(*[self.table.to_sympy(self.factors[f]) for f in self.terms[index]])

    def law_term(self, index: int) -> sympy.Expr:
        """Term ``index`` over real column symbols, as a law's expression holds it: made once
        (a law of a dozen terms rebuilt onto the columns' symbols cost 15 ms, and the kept
        candidates share their terms)."""
        if index not in self._law_terms:
            self._law_terms[index] = sympy.Mul(*[self.table.to_sympy(self.factors[f], real=True)
                                                 for f in self.terms[index]])
        return self._law_terms[index]

    def text(self, index: int) -> str:
        return str(self.sympy_term(index))

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {self.text(i): i for i in range(len(self.terms))}

    def support_of(self, texts: Sequence[str]) -> Optional[np.ndarray]:
        """The sorted positions of the terms written ``texts`` (SymPy's text of each term), or
        None when one of them is not a term of the library (or ``texts`` is empty)."""
        if not texts or not all(text in self._positions for text in texts):
            return None
        return np.array(sorted(self._positions[text] for text in texts))

    def subset(self, keep: Sequence[int], removed: dict[str, int] | None = None) -> "TermLibrary":
        """The terms at positions ``keep`` (in that order); ``removed`` adds pruning counts."""
        keep = [int(i) for i in keep]
        return TermLibrary(self.table, self.factors, [self.terms[i] for i in keep],
                           [self.sizes[i] for i in keep],
                           dict(self.counts), {**self.removed, **(removed or {})})

    def summary(self) -> dict:
        """Factors, products, what each pruning or sizing step removed, and the final size."""
        return {**self.counts, **{f"removed_{k}": v for k, v in self.removed.items()},
                "library_terms": len(self.terms)}


def _angle_arguments(table: NodeTable, roots: list[int], term_depth: int, operators: Sequence[str]) -> list[int]:
    """The angles whose sine and cosine are lifted (module docstring); new nodes of ``table``
    for the sums and differences of two angle columns below depth 3."""
    arguments = [root for root in roots if table[root].unit == ANGLE and table[root].size >= 2]
    columns = [root for root in roots if table[root].op == "input" and table[root].unit == ANGLE]
    if term_depth < 2:
        arguments += columns
    if term_depth < 3:
        arguments += [table.add(Node(op, pair, 3, ANGLE, True, 0))
                      for pair in combinations(columns, 2) for op in ("+", "-") if op in operators]
    return arguments


def _lift(table: NodeTable, roots: list[int], dimensions: Sequence[Dimension],
          operators: Sequence[str], term_depth: int) -> list[int]:
    """The lifted factors of the module docstring (new nodes of ``table``)."""
    lifted = [table.add(Node(op, (angle,), table[angle].size + 1, DIMENSIONLESS, True, 0))
              for angle in _angle_arguments(table, roots, term_depth, operators)
              for op in ("sin", "cos") if op in operators]
    norms = [op for op in NORM_OPERATORS if op in operators]
    if not norms:
        return lifted
    leaves = {table[r].column: r for r in roots if table[r].op == "input"}
    for group in [*combinations(sorted(leaves), 2), *combinations(sorted(leaves), 3)]:
        unit = dimensions[group[0]]
        if any(dimensions[c] != unit for c in group):
            continue
        squares = [table.add(Node("square", (leaves[c],), 2, unit ** 2, True, 0)) for c in group]
        total = table.add(Node("+", tuple(squares[:2]), 5, unit ** 2, True, 0))
        for square in squares[2:]:
            total = table.add(Node("+", (total, square), table[total].size + 3, unit ** 2, True, 0))
        size = table[total].size + 1
        lifted += [table.add(Node(op, (total,), size, OPERATORS[op].unit_rule(unit ** 2), True, 0))
                   for op in norms]
    return lifted


def _usable_factors(table: NodeTable, factors: list[int], states: Sequence[np.ndarray]) -> list[int]:
    """The factors finite, within range and not constant at all ``states`` (a product of such
    factors is finite; one of the others is not, or carries nothing)."""
    usable = np.ones(len(factors), dtype=bool)
    low, high = np.full(len(factors), np.inf), np.full(len(factors), -np.inf)
    for part in states:
        evaluator = Evaluator(table, np.asarray(part, dtype=float))
        for i, factor in enumerate(factors):
            values = np.broadcast_to(np.asarray(evaluator(factor), dtype=float), (len(part),))
            peak = np.abs(values).max(initial=0.0)
            usable[i] &= bool(np.isfinite(values).all() and MIN_MAGNITUDE <= peak <= MAX_MAGNITUDE)
            low[i], high[i] = min(low[i], values.min(initial=np.inf)), max(high[i], values.max(initial=-np.inf))
    return [f for f, ok, a, b in zip(factors, usable, low, high) if ok and b > a]


def _products_by_rank(ranks: Sequence[int], lifted: Sequence[bool], max_factors: int,
                      max_lifted: int, key_limit: int) -> list[tuple]:
    """Every product of up to ``max_factors`` factors (factor positions, ascending), at most
    ``max_lifted`` of them lifted, whose key (rank sum plus one per extra factor) is at most
    ``key_limit``: generated group by group of equal rank, so that the products beyond the
    limit are never formed."""
    groups: dict[tuple[int, bool], list[int]] = {}
    for position, group in enumerate(zip(ranks, lifted)):
        groups.setdefault(group, []).append(position)
    records = []
    for count in range(1, max_factors + 1):
        for chosen in combinations_with_replacement(sorted(groups), count):
            key = sum(rank for rank, _ in chosen) + count - 1
            if key > key_limit or sum(lift for _, lift in chosen) > max_lifted:
                continue
            parts = [list(combinations_with_replacement(groups[group], chosen.count(group)))
                     for group in sorted(set(chosen))]
            records += [(key, count, tuple(sorted(sum(pieces, ())))) for pieces in product(*parts)]
    return records


def _key_limit(ranks: Sequence[int], lifted: Sequence[bool], max_factors: int, max_lifted: int,
               wanted: Optional[int]) -> tuple[int, int]:
    """The smallest key within which at least ``wanted`` products lie (the largest key when
    there are fewer, or when ``wanted`` is None), and the number of all products: counted by
    rank, never enumerated."""
    top = max_factors * max(ranks, default=0) + max_factors  # no usable factor: no product
    # ways[factors, lifted factors, rank sum]
    ways = np.zeros((max_factors + 1, max_lifted + 2, top + 1), dtype=object)
    ways[0, 0, 0] = 1
    for rank, lift in zip(ranks, lifted):
        for count in range(1, max_factors + 1):
            ways[count, int(lift):, rank:] += ways[count - 1, :max_lifted + 2 - int(lift), :top + 1 - rank]
    by_key = np.zeros(top + 1, dtype=object)
    for count in range(1, max_factors + 1):
        by_key[count - 1:] += ways[count, :max_lifted + 1].sum(axis=0)[:top + 2 - count]
    cumulative = np.cumsum(by_key)
    total = int(cumulative[-1])
    if wanted is None or wanted >= total:
        return top, total
    return int(np.argmax(cumulative >= wanted)), total


def build_library(columns: Sequence[str], dimensions: Sequence[Dimension], term_depth: int,
                  max_factors: int, *, operators: Sequence[str], seed: int = 0,
                  states: Sequence[np.ndarray] = (), limit: Optional[int] = None,
                  max_lifted: Optional[int] = None, skipped_columns: Collection[int] = ()) -> TermLibrary:
    """The simplest ``limit`` (default: all) products of up to ``max_factors`` factors, at most
    ``max_lifted`` (default: any number) of them lifted (unpruned), ordered simple to complex;
    with ``states``, of the factors usable there only (``_usable_factors``). The others are
    counted, not formed (``removed["unevaluated"]``). Factors that read one of
    ``skipped_columns`` (``ConservationData.equal_copies``: each has a twin in the original) are
    left out before any is evaluated.

    The order is by size, a lifted factor counting as ``term_depth + 1`` nodes (its argument is
    one unit-valid block, so that a library shrunk to its simplest terms keeps the lifts it was
    widened for), then number of factors, then factor order."""
    if len(columns) < 2:
        raise ConslawError(
            f"multi-term search needs at least 2 state columns, got {len(columns)} ({', '.join(columns)}): "
            "a quantity conserved by a one-dimensional flow is a constant")
    space = enumerate_formulas(columns, dimensions, term_depth, operators=operators,
                               parameters=False, seed=seed, max_formulas=None, max_memory_gb=None)
    table = space.table
    lifted = _lift(table, list(space.roots), dimensions, space.operators, term_depth)
    skipped = set(skipped_columns)
    candidates = [f for f in list(space.roots) + lifted if not table.columns_of(f) & skipped]
    factors = _usable_factors(table, candidates, states) if len(states) else candidates
    sizes = [table[f].size for f in factors]
    ranks = [min(size, term_depth + 1) if f in lifted else size for f, size in zip(factors, sizes)]
    is_lifted = [f in lifted for f in factors]
    max_lifted = max_factors if max_lifted is None else min(max_lifted, max_factors)
    key_limit, total = _key_limit(ranks, is_lifted, max_factors, max_lifted, limit)
    records = sorted(_products_by_rank(ranks, is_lifted, max_factors, max_lifted, key_limit))[:limit]
    terms = [r[2] for r in records]
    library = TermLibrary(table, factors, terms, [sum(sizes[f] for f in t) + len(t) - 1 for t in terms])
    library.counts = {"factors": len(factors), "lifted_factors": len(set(factors) & set(lifted)),
                      "unusable_factors": len(candidates) - len(factors), "products": total}
    if len(terms) < total:
        library.removed["unevaluated"] = total - len(terms)
    return library


def moving_terms(library: TermLibrary, still: Sequence[bool]) -> list[int]:
    """Positions of the terms that read at least one column the data move (``still[j]``: column
    j does not move within a segment, ``conslaw.discovery.surrogate.still_columns``). A term of
    still columns only is conserved whatever its coefficient; its law is the still column
    itself, which the whole-formula search finds."""
    moving = [{j for j in library.table.columns_of(factor) if not still[j]} for factor in library.factors]
    return [k for k, term in enumerate(library.terms) if any(moving[f] for f in term)]


def simplest(library: TermLibrary, allowed: int, step: str) -> TermLibrary:
    """The ``allowed`` simplest terms (the library is ordered simple to complex: the most complex
    go first, by DSL size, then number of factors, then factor order); the rest are counted as
    removed by ``step``."""
    if len(library) <= allowed:
        return library
    return library.subset(range(allowed), {step: len(library) - allowed})
