"""Growing formulas size by size, pruning whole batches of candidates at once.

The pruning steps are documented in ``conslaw.dsl.enumerate``. Each size's representatives form
a ``Level``: consecutive node ids with per-node arrays (unit id, has-input flag, parameter count,
canonical key, values at the probe points, and the hash sums that flatten sums and products).
The candidates of one operator and one split of sizes are index arrays, filtered step by step in
the order of the per-candidate definition (each duplicate test keeps the first occurrence in
candidate order), so the formulas, their order and the pruning counts are those of a
one-candidate-at-a-time enumeration.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import Optional, Sequence

import numpy as np

from conslaw.dsl.grammar import Node, NodeTable
from conslaw.dsl.operators import OPERATORS, Operator
from conslaw.dsl.signatures import (
    SALT_ATOM, SALT_FAMILY, SALT_INPUT, SALT_OPERATOR, SALT_PARAMETER, combine, constant_rows,
    first_new, key_bytes, leaf_key, root_signatures, value_signatures,
)
from conslaw.dsl.unit_table import FREE_ID, INVALID_ID, UnitTable
from conslaw.dsl.units import Dimension

PRUNING_STEPS = (
    "unit_invalid", "commutative", "trivial", "redundant_parameter", "associative", "constant",
    "observational",
)
ROOT_FILTERS = ("free_unit", "constant_offset", "affine_duplicate")
FAMILIES = ("+-", "*/")
CHUNK = 1 << 16  # candidates per batch: bounds the temporary arrays


@dataclass
class Level:
    """Nodes ``start .. start + len - 1`` (one size) as arrays; ``pos``, ``neg`` and ``bare`` hold,
    per family (+- and */), a node's flattened atoms as a child: the hash sum, the hash sum with
    every sign or exponent flipped, and the number of bare parameters."""

    start: int
    unit: np.ndarray
    has_input: np.ndarray
    n_params: np.ndarray
    key: np.ndarray
    values: np.ndarray
    pos: np.ndarray
    neg: np.ndarray
    bare: np.ndarray

    def __len__(self) -> int:
        return len(self.unit)


@dataclass
class Batch:
    """Candidates ``op(first[i], second[j])`` (``second`` is None for unary operators)."""

    op: np.ndarray                      # index into the grower's operators
    first: Level
    i: np.ndarray
    second: Optional[Level]
    j: Optional[np.ndarray]
    unit: np.ndarray
    family: np.ndarray                  # -1 (not a sum or product), 0 (+-) or 1 (*/)
    key: Optional[np.ndarray] = None
    spos: Optional[np.ndarray] = None
    sneg: Optional[np.ndarray] = None
    bare: Optional[np.ndarray] = None

    def take(self, index: np.ndarray) -> "Batch":
        parts = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in parts.items():
            if isinstance(value, np.ndarray):
                parts[name] = value[index]
        return Batch(**parts)


class Grower:
    """Grows the representatives of each size from those of smaller sizes (``grow``)."""

    def __init__(self, columns: Sequence[str], dimensions: Sequence[Dimension],
                 operators: Sequence[str], parameters: bool, probes: int, seed: int, depth: int):
        self.table = NodeTable(columns, dimensions)
        self.units = UnitTable(dimensions, operators, depth)
        self.operators: list[Operator] = [OPERATORS[name] for name in operators]
        self.salts = np.array([SALT_OPERATOR + list(OPERATORS).index(name) for name in operators])
        self.scale_redundant = np.array([op.scale_redundant for op in self.operators])
        self.parameters = parameters
        rng = np.random.default_rng(seed)
        magnitudes = np.exp(rng.uniform(np.log(0.3), np.log(3.0), size=(probes, len(columns))))
        points = magnitudes * rng.choice([-1.0, 1.0], size=magnitudes.shape)
        # Every probe point is evaluated twice, with all parameters at one of two random values.
        self.points = np.concatenate([points, points], axis=0)
        self.parameter_values = np.repeat(rng.uniform(0.55, 1.45, size=2), probes)
        self.levels: list[Level] = []  # levels[s - 1] holds size s
        self.seen_keys: set = set()  # keys of the size being grown (a key implies its size)
        self.seen_values: set = set()
        self.seen_roots: set = set()
        self.removed: Counter = Counter({step: 0 for step in PRUNING_STEPS + ROOT_FILTERS})
        self.roots: list[int] = []
        self.counts_by_size: Counter = Counter()
        self._parts: list[tuple] = []

    @property
    def size(self) -> int:
        """The largest size grown so far."""
        return len(self.levels)

    def grow(self) -> None:
        """Add the representatives (and roots) of the next size."""
        size = self.size + 1
        self.seen_keys = set()
        if size == 1:
            self._leaves()
        else:
            self._unary(size)
            for left_size in range(1, size - 1):
                for index, operator in enumerate(self.operators):
                    if operator.arity == 2:
                        self._binary(size, left_size, index)
        self.levels.append(self._level())

    # ---- candidates ------------------------------------------------------------------------
    def _leaves(self) -> None:
        dimensions = self.table.dimensions
        for index, dimension in enumerate(dimensions):
            self.table.add(Node("input", (), 1, dimension, True, 0, column=index))
        keys = [leaf_key(SALT_INPUT, index) for index in range(len(dimensions))]
        values = [self.points[:, index] for index in range(len(dimensions))]
        units = [self.units.of(d) for d in dimensions]
        if self.parameters:
            self.table.add(Node("param", (), 1, self.units.unit(FREE_ID), False, 1))
            keys.append(leaf_key(SALT_PARAMETER))
            values.append(self.parameter_values)
            units.append(FREE_ID)
        count, inputs = len(keys), len(dimensions)
        values, units = np.array(values), np.array(units, dtype=np.int64)
        first_new(value_signatures(values, units), self.seen_values)
        is_parameter = np.arange(count) >= inputs
        self._store(units, ~is_parameter, is_parameter.astype(np.int64), np.concatenate(keys),
                    values, np.full(count, -1), np.zeros((count, 2), np.uint64),
                    np.zeros((count, 2), np.uint64), np.zeros(count, np.int64))
        self._consider_roots(1, np.arange(inputs), units[:inputs], values[:inputs],
                             np.zeros(inputs, dtype=bool))

    def _unary(self, size: int) -> None:
        child = self.levels[size - 2]
        unary = np.array([k for k, op in enumerate(self.operators) if op.arity == 1], dtype=int)
        if not len(child) or not len(unary):
            return
        # Child-major order: every unary operator of the first child, then of the next, ...
        i = np.repeat(np.arange(len(child)), len(unary))
        ops = np.tile(unary, len(child))
        for start in range(0, len(i), CHUNK):
            chunk = slice(start, start + CHUNK)
            self._try_unary(size, child, i[chunk], ops[chunk])

    def _binary(self, size: int, left_size: int, op: int) -> None:
        right_size = size - 1 - left_size
        left, right = self.levels[left_size - 1], self.levels[right_size - 1]
        commutative = self.operators[op].commutative
        if commutative and left_size > right_size:
            self.removed["commutative"] += len(left) * len(right)
            return
        triangle = commutative and left_size == right_size
        if triangle:
            self.removed["commutative"] += len(left) * (len(left) - 1) // 2
        rows = max(1, CHUNK // max(len(right), 1))
        for first in range(0, len(left), rows):
            i = np.arange(first, min(first + rows, len(left)))
            if triangle:  # (left, right) with right >= left, left-major
                counts = len(right) - i
                i = np.repeat(i, counts)
                j = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts) + i
            else:
                j = np.tile(np.arange(len(right)), len(i))
                i = np.repeat(i, len(right))
            self._try_binary(size, op, left, i, right, j)

    def _try_unary(self, size: int, child: Level, i: np.ndarray, ops: np.ndarray) -> None:
        unit = np.full(len(i), INVALID_ID, dtype=np.int64)
        for op in np.unique(ops):
            mask = ops == op
            unit[mask] = self._units_of(op, child.unit[i[mask]])
        batch = Batch(ops, child, i, None, None, unit, np.full(len(i), -1))
        batch = self._common_filters(batch)
        free = child.unit[batch.i] == FREE_ID
        redundant = free & self.scale_redundant[batch.op]
        self.removed["redundant_parameter"] += int(redundant.sum())
        batch = batch.take(~redundant)
        batch.key = combine(child.key[batch.i], self.salts[batch.op])
        self._deduplicate(size, batch)

    def _try_binary(self, size: int, op: int, left: Level, i: np.ndarray, right: Level,
                    j: np.ndarray) -> None:
        operator = self.operators[op]
        unit = self._units_of(op, left.unit[i], right.unit[j])
        family = FAMILIES.index("+-" if operator.name in "+-" else "*/")
        batch = Batch(np.full(len(i), op), left, i, right, j, unit, np.full(len(i), family))
        batch = self._common_filters(batch)
        if family == 1:  # a product or quotient of two parameter-scaled factors
            both_free = (left.unit[batch.i] == FREE_ID) & (right.unit[batch.j] == FREE_ID)
            self.removed["redundant_parameter"] += int(both_free.sum())
            batch = batch.take(~both_free)
        inverted = operator.name in "-/"
        lp, ln = left.pos[family][batch.i], left.neg[family][batch.i]
        rp, rn = right.pos[family][batch.j], right.neg[family][batch.j]
        batch.spos, batch.sneg = lp + (rn if inverted else rp), ln + (rp if inverted else rn)
        batch.bare = left.bare[family][batch.i] + right.bare[family][batch.j]
        two_bare = batch.bare > 1
        self.removed["redundant_parameter"] += int(two_bare.sum())
        batch = batch.take(~two_bare)
        batch.key = combine(batch.spos, SALT_FAMILY[FAMILIES[family]])
        self._deduplicate(size, batch)

    def _common_filters(self, batch: Batch) -> Batch:
        """Unit rule, then ``trivial`` (no input)."""
        valid = batch.unit != INVALID_ID
        self.removed["unit_invalid"] += int((~valid).sum())
        batch = batch.take(valid)
        has_input = batch.first.has_input[batch.i]
        if batch.second is not None:
            has_input = has_input | batch.second.has_input[batch.j]
        self.removed["trivial"] += int((~has_input).sum())
        return batch.take(has_input)

    def _units_of(self, op: int, first: np.ndarray, second: Optional[np.ndarray] = None
                  ) -> np.ndarray:
        """Result unit ids, computed once per distinct pair of argument units."""
        rule = self.operators[op].unit_rule
        if second is None:
            distinct, inverse = np.unique(first, return_inverse=True)
            return self.units.apply(rule, distinct)[inverse]
        width = len(self.units.rows)
        distinct, inverse = np.unique(first * width + second, return_inverse=True)
        return self.units.apply(rule, distinct // width, distinct % width)[inverse]

    def _deduplicate(self, size: int, batch: Batch) -> None:
        """Associative, constant and observational duplicates; the rest are accepted."""
        new = first_new(key_bytes(batch.key), self.seen_keys)
        self.removed["associative"] += int((~new).sum())
        batch = batch.take(new)
        values = self._values(batch)
        constant = constant_rows(values)
        self.removed["constant"] += int(constant.sum())
        batch, values = batch.take(~constant), values[~constant]
        fresh = first_new(value_signatures(values, batch.unit), self.seen_values)
        self.removed["observational"] += int((~fresh).sum())
        self._accept(size, batch.take(fresh), values[fresh])

    def _values(self, batch: Batch) -> np.ndarray:
        values = np.empty((len(batch.op), len(self.points)))
        with np.errstate(all="ignore"):
            for op in np.unique(batch.op):
                mask = batch.op == op
                arguments = [batch.first.values[batch.i[mask]]]
                if batch.second is not None:
                    arguments.append(batch.second.values[batch.j[mask]])
                values[mask] = self.operators[op].numpy(*arguments)
        return values

    # ---- accepted nodes ----------------------------------------------------------------------
    def _accept(self, size: int, batch: Batch, values: np.ndarray) -> None:
        first_ids = (batch.first.start + batch.i).tolist()
        has_input = batch.first.has_input[batch.i]
        n_params = batch.first.n_params[batch.i]
        if batch.second is not None:
            has_input = has_input | batch.second.has_input[batch.j]
            n_params = n_params + batch.second.n_params[batch.j]
        children = ([(c,) for c in first_ids] if batch.second is None else
                    list(zip(first_ids, (batch.second.start + batch.j).tolist())))
        start = len(self.table.nodes)
        names = [op.name for op in self.operators]
        self.table.nodes.extend(
            Node(names[op], child_ids, size, unit, flag, count) for op, child_ids, unit, flag, count
            in zip(batch.op.tolist(), children, self.units.objects(batch.unit.tolist()),
                   has_input.tolist(), n_params.tolist()))
        count = len(children)
        zeros = np.zeros((count, 2), np.uint64)
        self._store(batch.unit, has_input, n_params, batch.key, values, batch.family,
                    zeros if batch.spos is None else batch.spos,
                    zeros if batch.sneg is None else batch.sneg,
                    np.zeros(count, np.int64) if batch.bare is None else batch.bare)
        offset = (np.zeros(count, bool) if batch.bare is None
                  else (batch.family == 0) & (batch.bare > 0))
        self._consider_roots(size, start + np.arange(count), batch.unit, values, offset)

    def _store(self, *arrays: np.ndarray) -> None:
        """Keep one batch of accepted nodes (unit, has_input, n_params, key, values, family,
        spos, sneg, bare) until the level is complete."""
        self._parts.append(arrays)

    def _consider_roots(self, size: int, node_ids: np.ndarray, units: np.ndarray,
                        values: np.ndarray, constant_offset: np.ndarray) -> None:
        free = units == FREE_ID
        self.removed["free_unit"] += int(free.sum())
        offset = ~free & constant_offset
        self.removed["constant_offset"] += int(offset.sum())
        keep = ~free & ~offset
        fresh = first_new(root_signatures(values[keep]), self.seen_roots)
        self.removed["affine_duplicate"] += int((~fresh).sum())
        chosen = node_ids[keep][fresh].tolist()
        self.roots.extend(chosen)
        self.counts_by_size[size] += len(chosen)

    def _level(self) -> Level:
        start = sum(len(level) for level in self.levels)
        if not self._parts:
            empty = np.zeros(0, np.int64)
            self._parts = [(empty, empty.astype(bool), empty, np.zeros((0, 2), np.uint64),
                            np.zeros((0, len(self.points))), empty, np.zeros((0, 2), np.uint64),
                            np.zeros((0, 2), np.uint64), empty)]
        columns = [np.concatenate(column) for column in zip(*self._parts)]
        self._parts = []
        unit, has_input, n_params, key, values, family, spos, sneg, bare = columns
        parameter = (n_params == 1) & ~has_input & (family == -1)  # the bare parameter leaf
        atom_pos = combine(key, SALT_ATOM[1])
        atom_neg = np.where(parameter[:, None], atom_pos, combine(key, SALT_ATOM[-1]))
        own = [(family == f)[:, None] for f in range(len(FAMILIES))]
        pos = np.stack([np.where(o, spos, atom_pos) for o in own])
        neg = np.stack([np.where(o, sneg, atom_neg) for o in own])
        bare = np.stack([np.where(o[:, 0], bare, parameter.astype(np.int64)) for o in own])
        return Level(start, unit, has_input, n_params, key, values, pos, neg, bare)
