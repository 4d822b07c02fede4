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
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from conslaw.dsl.grammar import Node, NodeTable
from conslaw.dsl.operators import EXTENDED_OPERATORS, FREE, INVALID, OPERATORS, PAPER_OPERATORS
from conslaw.dsl.units import Dimension
from conslaw.errors import ConslawError, UsageError

PRUNING_STEPS = (
    "unit_invalid", "commutative", "trivial", "redundant_parameter", "associative", "constant",
    "observational",
)
ROOT_FILTERS = ("free_unit", "constant_offset", "affine_duplicate")
PARAMETER_KEY = 0


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


def _check_operators(operators: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in operators if name not in OPERATORS]
    if unknown:
        raise UsageError(
            f"unknown operator {unknown[0]!r}; choose from {', '.join(OPERATORS)}"
        )
    return tuple(dict.fromkeys(operators))


class _Enumerator:
    def __init__(self, columns, dimensions, operators, parameters, probes, seed):
        self.table = NodeTable(columns, dimensions)
        self.operators = [OPERATORS[name] for name in operators]
        self.parameters = parameters
        rng = np.random.default_rng(seed)
        magnitudes = np.exp(rng.uniform(np.log(0.3), np.log(3.0), size=(probes, len(columns))))
        points = magnitudes * rng.choice([-1.0, 1.0], size=magnitudes.shape)
        # Every probe point is evaluated twice, with all parameters at one of two random values.
        self.points = np.concatenate([points, points], axis=0)
        self.parameter_values = np.repeat(rng.uniform(0.55, 1.45, size=2), probes)
        self.values: list[np.ndarray] = []
        self.keys: list[int] = []
        self.flat: list[Optional[tuple]] = []
        self.key_ids: dict[tuple, int] = {("param",): PARAMETER_KEY}
        self.seen_values: set[tuple] = set()
        self.seen_roots: set[bytes] = set()
        self.by_size: dict[int, list[int]] = {}
        self.removed: Counter = Counter({step: 0 for step in PRUNING_STEPS + ROOT_FILTERS})
        self.roots: list[int] = []
        self.counts_by_size: Counter = Counter()

    # ---- keys ---------------------------------------------------------------------------
    def _key_id(self, key: tuple) -> tuple[int, bool]:
        if key in self.key_ids:
            return self.key_ids[key], False
        self.key_ids[key] = len(self.key_ids)
        return self.key_ids[key], True

    def _flattened(self, op: str, children: tuple[int, ...]) -> tuple:
        """Sorted (sign or exponent, key) atoms of a sum or product, nested ones flattened."""
        family = "+-" if op in "+-" else "*/"
        atoms = []
        for position, child in enumerate(children):
            inverted = position == 1 and op in "-/"
            nested = self.flat[child]
            if nested is not None and nested[0] == family:
                child_atoms = nested[1]
            else:
                child_atoms = ((1, self.keys[child]),)
            for weight, key in child_atoms:
                weight = -weight if inverted else weight
                atoms.append((1 if key == PARAMETER_KEY else weight, key))
        return family, tuple(sorted(atoms))

    # ---- growth -------------------------------------------------------------------------
    def _leaf(self, node: Node, key: tuple, values: np.ndarray) -> int:
        node_id = self.table.add(node)
        self.values.append(values)
        self.keys.append(self._key_id(key)[0])
        self.flat.append(None)
        self.seen_values.add(self._value_signature(values, node.unit))
        self.by_size.setdefault(1, []).append(node_id)
        return node_id

    @staticmethod
    def _is_constant(values: np.ndarray) -> bool:
        """Constant over the probe points for each of the two parameter values."""
        for half in np.split(values, 2):
            finite = half[np.isfinite(half)]
            if finite.size and np.ptp(finite) > 1e-9 * max(1.0, float(np.max(np.abs(finite)))):
                return False
        return True

    @staticmethod
    def _value_signature(values: np.ndarray, unit) -> tuple:
        """Values rounded relative to their largest finite magnitude (non-finite ones marked)."""
        finite = np.isfinite(values)
        scale = float(np.max(np.abs(values[finite]))) if finite.any() else 1.0
        scale = scale if scale > 0 else 1.0
        rounded = np.where(finite, np.round(values / scale, 9), 0.0)
        return (unit, round(scale, 9), rounded.tobytes(), finite.tobytes())

    def _try(self, op: str, children: tuple[int, ...], size: int) -> None:
        operator = OPERATORS[op]
        nodes = [self.table[c] for c in children]
        unit = operator.unit_rule(*[n.unit for n in nodes])
        if unit is INVALID:
            self.removed["unit_invalid"] += 1
            return
        has_input = any(n.has_input for n in nodes)
        if not has_input:
            self.removed["trivial"] += 1
            return
        free_children = [n.unit is FREE for n in nodes]
        if (op in "*/" and all(free_children)) or (operator.scale_redundant and free_children[0]):
            self.removed["redundant_parameter"] += 1
            return
        flat = None
        if op in "+-*/":
            flat = self._flattened(op, children)
            if sum(1 for _, key in flat[1] if key == PARAMETER_KEY) > 1:
                self.removed["redundant_parameter"] += 1
                return
            key = flat
        else:
            key = (op,) + tuple(self.keys[c] for c in children)
        key_id, new = self._key_id(key)
        if not new:
            self.removed["associative"] += 1
            return
        with np.errstate(all="ignore"):
            values = operator.numpy(*[self.values[c] for c in children])
        if self._is_constant(values):
            self.removed["constant"] += 1
            return
        signature = self._value_signature(values, unit)
        if signature in self.seen_values:
            self.removed["observational"] += 1
            return
        self.seen_values.add(signature)
        node_id = self.table.add(Node(op, children, size, unit, has_input,
                                      sum(n.n_params for n in nodes)))
        self.values.append(values)
        self.keys.append(key_id)
        self.flat.append(flat)
        self.by_size.setdefault(size, []).append(node_id)
        self._consider_root(node_id, values, flat)

    def _consider_root(self, node_id: int, values: np.ndarray, flat) -> None:
        node = self.table[node_id]
        if node.unit is FREE:
            self.removed["free_unit"] += 1
            return
        if flat is not None and flat[0] == "+-" and any(k == PARAMETER_KEY for _, k in flat[1]):
            self.removed["constant_offset"] += 1
            return
        finite = np.isfinite(values)
        signature = finite.tobytes()
        # Per parameter value: the formula up to a*g + b (a constant offset or scale never
        # changes what is conserved, and the offset may depend on the parameter).
        for half, half_finite in zip(np.split(values, 2), np.split(finite, 2)):
            if not half_finite.any():
                continue
            centred = np.where(half_finite, half - half[half_finite].mean(), 0.0)
            peak = np.abs(centred).max()
            if peak > 0:  # constant for this parameter value: the signature keeps the zeros
                centred /= peak
            pivot = centred[np.argmax(np.abs(centred) > 1e-6)]
            signature += np.round(centred * np.sign(pivot), 8).tobytes()
        if signature in self.seen_roots:
            self.removed["affine_duplicate"] += 1
            return
        self.seen_roots.add(signature)
        self.roots.append(node_id)
        self.counts_by_size[node.size] += 1

    def run(self, depth: int, progress: Optional[Callable[[int], None]]) -> None:
        for index, dimension in enumerate(self.table.dimensions):
            node = Node("input", (), 1, dimension, True, 0, column=index)
            node_id = self._leaf(node, ("input", index), self.points[:, index])
            self._consider_root(node_id, self.points[:, index], None)
        if self.parameters:
            self._leaf(Node("param", (), 1, FREE, False, 1), ("param",), self.parameter_values)
        unary = [op for op in self.operators if op.arity == 1]
        binary = [op for op in self.operators if op.arity == 2]
        for size in range(2, depth + 1):
            for child in self.by_size.get(size - 1, []):
                for operator in unary:
                    self._try(operator.name, (child,), size)
            for left_size in range(1, size - 1):
                right_size = size - 1 - left_size
                lefts = self.by_size.get(left_size, [])
                rights = self.by_size.get(right_size, [])
                for operator in binary:
                    for left in lefts:
                        for right in rights:
                            if operator.commutative and (left_size, left) > (right_size, right):
                                self.removed["commutative"] += 1
                                continue
                            self._try(operator.name, (left, right), size)
            if progress is not None:
                progress(size)


def count_unit_valid_trees(
    dimensions: Sequence[Dimension], depth: int, operators: Sequence[str], parameters: bool = True,
    *, commutative: bool = False,
) -> dict[int, int]:
    """Number of unit-valid trees of each size before any other pruning (a dynamic program).

    With ``commutative=True``, ``a + b`` and ``b + a`` (and ``a * b``, ``b * a``) count once:
    the paper's stated pruning (units and commutativity).
    """
    by_size: dict[int, Counter] = {1: Counter(dimensions)}
    if parameters:
        by_size[1][FREE] += 1
    chosen = [OPERATORS[name] for name in operators]
    for size in range(2, depth + 1):
        counts: Counter = Counter()
        for operator in chosen:
            if operator.arity == 1:
                for unit, n in by_size[size - 1].items():
                    result = operator.unit_rule(unit)
                    if result is not INVALID:
                        counts[result] += n
                continue
            for left_size in range(1, size - 1):
                right_size = size - 1 - left_size
                if commutative and operator.commutative and left_size > right_size:
                    continue
                left_items = list(by_size[left_size].items())
                right_items = list(by_size[right_size].items())
                for i, (left_unit, n_left) in enumerate(left_items):
                    for j, (right_unit, n_right) in enumerate(right_items):
                        result = operator.unit_rule(left_unit, right_unit)
                        if result is INVALID:
                            continue
                        pairs = n_left * n_right
                        if commutative and operator.commutative and left_size == right_size:
                            if i > j:
                                continue
                            if i == j:
                                pairs = n_left * (n_left + 1) // 2
                        counts[result] += pairs
        by_size[size] = counts
    return {size: int(sum(c.values())) for size, c in by_size.items()}


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
) -> FormulaSpace:
    """Every unit-valid formula with at most ``depth`` nodes over the given input columns.

    ``parameters=False`` lists parameter-free terms (the multi-term library's building blocks).
    ``progress`` is called with each finished size.
    """
    if not isinstance(depth, int) or depth < 1:
        raise UsageError(f"depth must be an integer >= 1, got {depth!r}")
    if len(columns) != len(dimensions) or not columns:
        raise ConslawError("need at least one input column, each with a unit")
    if len(set(columns)) != len(columns):
        raise ConslawError(f"duplicate column names in {list(columns)}")
    operators = _check_operators(operators)
    start = time.perf_counter()
    enumerator = _Enumerator(columns, dimensions, operators, parameters, probes, seed)
    enumerator.run(depth, progress)
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
