"""The multi-term library: products of short, unit-valid DSL terms, evaluated and pruned.

A **factor** is a parameter-free DSL formula of at most ``term_depth`` nodes (the roots of
``enumerate_formulas(..., parameters=False)``, so ``cos(p)`` or ``q + p`` never enter), or the
sine or cosine of an angle-valued one (``cos(q1 - q2)`` with ``term_depth=3``). A **term** is a
product of up to ``max_factors`` factors; its unit is the product of the factors' units and its
size the DSL node count of the product tree (factor sizes plus one ``*`` node per extra factor).

Pruning, in order (each step's removals are counted in ``TermLibrary.removed``):

1. ``non_finite``: a term that is not finite at some training, test or random-control state.
2. ``constant``: a term with no spread over those states (it cannot carry a law).
3. ``equal_on_data``: a term equal to a simpler one up to ``a*t + b`` at those states
   (``w1*w1`` and ``w1**2``, ``sin(q)**2`` and ``cos(q)**2``): the conservation ratio cannot
   tell them apart.
4. ``linearly_dependent``: a term in the span of simpler ones at those states
   (``cos(q1)*cos(q2)`` once ``cos(q1 - q2)`` and ``sin(q1)*sin(q2)`` are in), found by an
   unpivoted QR factorization of the centred, unit-norm term matrix with the terms ordered
   from simple to complex: a diagonal entry of R below ``RANK_TOLERANCE`` is a dependent term.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations_with_replacement
from typing import Sequence

import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from conslaw.dsl.enumerate import enumerate_formulas
from conslaw.dsl.grammar import Evaluator, Node, NodeTable
from conslaw.dsl.units import ANGLE, DIMENSIONLESS, Dimension, dimension_product
from conslaw.errors import ConslawError, UsageError

TERM_OPERATORS = ("+", "-", "*", "sin", "cos", "square")
PRUNING_STEPS = ("non_finite", "constant", "equal_on_data", "linearly_dependent")
RANK_TOLERANCE = 1e-6
DUPLICATE_DIGITS = 8
GRADIENT_STEP = 1e-5


@dataclass
class TermLibrary:
    """Terms as products of factor nodes of one ``NodeTable``.

    ``factors`` holds node ids; ``terms[i]`` the factor positions (into ``factors``) of term i.
    """

    table: NodeTable
    factors: list[int]
    terms: list[tuple[int, ...]]
    units: list[Dimension]
    sizes: list[int]
    counts: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.terms)

    @cached_property
    def texts(self) -> list[str]:
        """Each term as SymPy text (computed on first use: pruning needs no text)."""
        return [str(self.sympy_term(i)) for i in range(len(self.terms))]

    def sympy_term(self, index: int) -> sympy.Expr:
        return sympy.Mul(*[self.table.to_sympy(self.factors[f]) for f in self.terms[index]])

    def subset(self, keep: Sequence[int], removed: dict[str, int] | None = None) -> "TermLibrary":
        """The terms at positions ``keep``; ``removed`` adds pruning counts."""
        keep = list(keep)
        return TermLibrary(self.table, self.factors, [self.terms[i] for i in keep],
                           [self.units[i] for i in keep], [self.sizes[i] for i in keep],
                           {**self.counts, "kept": len(keep)}, {**self.removed, **(removed or {})})

    def summary(self) -> dict:
        """Sizes: ``counts`` (factors, products, kept), ``removed`` per pruning step, and
        ``size_after`` each step in order, starting from the products."""
        size_after, size = {}, self.counts.get("products", len(self.terms))
        for step, count in self.removed.items():
            size -= count
            size_after[step] = size
        return {"factors": len(self.factors), "terms": len(self.terms),
                "counts": dict(self.counts), "removed": dict(self.removed),
                "size_after": size_after}


def _trigonometric_lift(table: NodeTable, roots: list[int], operators: Sequence[str]) -> list[int]:
    """sin/cos of every angle-valued root of two or more nodes (single columns are roots already)."""
    lifted = []
    for root in roots:
        node = table[root]
        if node.unit != ANGLE or node.size < 2:
            continue
        for op in ("sin", "cos"):
            if op in operators:
                lifted.append(table.add(Node(op, (root,), node.size + 1, DIMENSIONLESS, True, 0)))
    return lifted


def build_library(columns: Sequence[str], dimensions: Sequence[Dimension], term_depth: int,
                  max_factors: int, *, operators: Sequence[str] = TERM_OPERATORS,
                  seed: int = 0) -> TermLibrary:
    """All products of up to ``max_factors`` factors (unpruned), ordered simple to complex:
    by size, then number of factors, then enumeration order of the factors."""
    if isinstance(term_depth, bool) or not isinstance(term_depth, int) or term_depth < 1:
        raise UsageError(f"--term-depth must be an integer >= 1, got {term_depth!r}")
    if isinstance(max_factors, bool) or not isinstance(max_factors, int) or max_factors < 1:
        raise UsageError(f"--max-factors must be an integer >= 1, got {max_factors!r}")
    if len(columns) < 2:
        raise ConslawError(
            f"multi-term search needs at least 2 state columns, got {len(columns)} ({', '.join(columns)}): "
            "a quantity conserved by a one-dimensional flow is a constant")
    space = enumerate_formulas(columns, dimensions, term_depth, operators=operators,
                               parameters=False, seed=seed)
    table = space.table
    factors = list(space.roots) + _trigonometric_lift(table, list(space.roots), operators)
    factor_sizes = [table[f].size for f in factors]
    records = []
    for count in range(1, max_factors + 1):
        for combination in combinations_with_replacement(range(len(factors)), count):
            size = sum(factor_sizes[f] for f in combination) + count - 1
            unit = dimension_product(table[factors[f]].unit for f in combination)
            records.append((size, count, combination, unit))
    records.sort(key=lambda r: r[:3])
    library = TermLibrary(table, factors, [r[2] for r in records], [r[3] for r in records],
                          [r[0] for r in records])
    library.counts = {"factors": len(factors), "lifted_factors": len(factors) - len(space.roots),
                      "products": len(records)}
    return library


def _factor_values(library: TermLibrary, states: np.ndarray) -> np.ndarray:
    """Factor values (N, f+1); the last column is the constant 1 used to pad short products."""
    evaluator = Evaluator(library.table, states)
    columns = [np.broadcast_to(np.asarray(evaluator(f), dtype=float), (len(states),))
               for f in library.factors]
    return np.stack(columns + [np.ones(len(states))], axis=1)


def _padded_terms(library: TermLibrary) -> np.ndarray:
    width = max((len(t) for t in library.terms), default=1)
    pad = len(library.factors)
    return np.array([list(t) + [pad] * (width - len(t)) for t in library.terms], dtype=np.int64)


def term_values(library: TermLibrary, states: np.ndarray) -> np.ndarray:
    """Term values (N, k) at ``states`` (N, d)."""
    with np.errstate(all="ignore"):
        return np.prod(_factor_values(library, states)[:, _padded_terms(library)], axis=2)


def term_values_and_gradients(library: TermLibrary, states: np.ndarray,
                              scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Term values (N, k) and gradients (N, k, d); factor gradients by central differences
    with step ``GRADIENT_STEP * scale`` per column, products by the product rule."""
    index = _padded_terms(library)
    values = _factor_values(library, states)
    steps = GRADIENT_STEP * np.asarray(scale, dtype=float)
    with np.errstate(all="ignore"):
        factor_gradients = np.stack(
            [(_factor_values(library, states + h * e) - _factor_values(library, states - h * e)) / (2 * h)
             for h, e in zip(steps, np.eye(states.shape[1]))], axis=-1)
        gathered = values[:, index]                       # (N, k, m)
        gathered_gradients = factor_gradients[:, index]   # (N, k, m, d)
        term = np.prod(gathered, axis=2)
        gradient = np.zeros(term.shape + (states.shape[1],))
        for j in range(index.shape[1]):
            others = np.prod(np.delete(gathered, j, axis=2), axis=2)
            gradient += gathered_gradients[:, :, j, :] * others[..., None]
    return term, gradient


def prune_library(library: TermLibrary, states: Sequence[np.ndarray], seed: int = 0) -> TermLibrary:
    """Remove non-finite, constant, duplicate and linearly dependent terms (see module doc),
    judged on the stacked ``states``; the order of the kept terms is preserved."""
    stacked = np.concatenate([np.asarray(s, dtype=float) for s in states], axis=0)
    values = term_values(library, stacked)
    removed = dict.fromkeys(PRUNING_STEPS, 0)

    finite = np.isfinite(values).all(axis=0)
    removed["non_finite"] = int((~finite).sum())
    keep = np.flatnonzero(finite)
    centred = values[:, keep] - values[:, keep].mean(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    magnitude = np.abs(values[:, keep]).max(axis=0)
    varying = norms > 1e-12 * np.maximum(magnitude, 1e-300) * np.sqrt(len(stacked))
    removed["constant"] = int((~varying).sum())
    keep, unit = keep[varying], centred[:, varying] / norms[varying]

    direction = np.random.default_rng(seed).standard_normal(len(stacked))
    unit = unit * np.where(direction @ unit < 0, -1.0, 1.0)
    seen: set[bytes] = set()
    distinct = []
    for position in range(unit.shape[1]):
        signature = np.round(unit[:, position], DUPLICATE_DIGITS).tobytes()
        if signature not in seen:
            seen.add(signature)
            distinct.append(position)
    removed["equal_on_data"] = unit.shape[1] - len(distinct)
    keep, unit = keep[distinct], unit[:, distinct]

    diagonal = np.zeros(unit.shape[1])
    with threadpool_limits(limits=1, user_api="blas"):
        r = np.linalg.qr(unit, mode="r")
    diagonal[:min(r.shape)] = np.abs(np.diag(r))  # columns beyond the number of states are dependent
    independent = diagonal > RANK_TOLERANCE
    removed["linearly_dependent"] = int((~independent).sum())
    return library.subset(keep[independent], removed)
