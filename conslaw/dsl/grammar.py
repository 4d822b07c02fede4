"""Formula trees stored as a hash-consed node table, with units, SymPy conversion and evaluation.

A formula is a node id in a ``NodeTable``; sub-formulas are shared between formulas. Leaves are
``input`` (a data column) and ``param`` (a trainable scalar). Parameters are numbered ``c0, c1,
...`` in depth-first, left-to-right order, the order used by SymPy conversion and evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

import numpy as np

if TYPE_CHECKING:
    import sympy

from conslaw.dsl.operators import FREE, OPERATORS, Unit
from conslaw.dsl.units import ANGLE, DIMENSIONLESS, Dimension, format_unit

SYMMETRY = {"cos": 1, "square": 1, "abs": 1, "sin": -1, "cube": -1, "inv": -1}
"""Operators f with f(-x) = s * f(x) bitwise, s = 1 (even) or -1 (odd): libm computes sin and
cos from |x|, and a power or reciprocal of -x only changes sign."""


@dataclass(frozen=True)
class Node:
    """One node: ``op`` is ``"input"``, ``"param"`` or an operator name."""

    op: str
    children: tuple[int, ...]
    size: int
    unit: Unit
    has_input: bool
    n_params: int
    column: int = -1


class NodeTable:
    """An append-only table of nodes over named input columns."""

    def __init__(self, columns: Sequence[str], dimensions: Sequence[Dimension]) -> None:
        self.columns = tuple(columns)
        self.dimensions = tuple(dimensions)
        self.nodes: list[Node] = []

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def __getitem__(self, node_id: int) -> Node:
        return self.nodes[node_id]

    # ---- structure -------------------------------------------------------------------------
    def parameter_units(self, node_id: int) -> list[Dimension]:
        """Each parameter's unit (DFS order) when the formula ``node_id`` has its own unit."""
        node = self.nodes[node_id]
        if node.unit is FREE:
            raise ValueError("a formula with a free unit has no definite parameter units")
        units: list[Dimension] = []
        self._resolve(node_id, node.unit, units)
        return units

    def _resolve(self, node_id: int, target: Dimension, out: list[Dimension]) -> None:
        node = self.nodes[node_id]
        if node.op == "param":
            out.append(target)
            return
        if node.op == "input":
            return
        children = [self.nodes[c] for c in node.children]
        if node.op in ("+", "-"):
            for child_id in node.children:
                self._resolve(child_id, target, out)
        elif node.op in ("*", "/"):
            left, right = children
            if left.unit is FREE and right.unit is FREE:
                raise ValueError("a product of two free-unit factors has a redundant parameter")
            if left.unit is FREE:
                left_target = target / right.unit if node.op == "*" else target * right.unit
                self._resolve(node.children[0], left_target, out)
                self._resolve(node.children[1], right.unit, out)
            else:
                right_target = target / left.unit if node.op == "*" else left.unit / target
                self._resolve(node.children[0], left.unit, out)
                self._resolve(node.children[1], right_target, out)
        elif node.op in ("sin", "cos"):
            self._resolve(node.children[0], ANGLE, out)
        elif node.op in ("exp", "log"):
            self._resolve(node.children[0], DIMENSIONLESS, out)
        else:  # powers and abs: the argument's own unit, fixed since scale-redundant ops never take FREE
            child = children[0]
            self._resolve(node.children[0], child.unit, out)

    def linear_parameters(self, node_id: int) -> list[bool]:
        """For each parameter (DFS order): does the formula depend on it affinely?"""
        flags: list[bool] = []
        self._linear(node_id, True, flags)
        return flags

    def _linear(self, node_id: int, affine_context: bool, out: list[bool]) -> None:
        node = self.nodes[node_id]
        if node.op == "param":
            out.append(affine_context)
            return
        if node.n_params == 0:
            return
        if node.op in ("+", "-"):
            for child_id in node.children:
                self._linear(child_id, affine_context, out)
        elif node.op == "*":
            left_id, right_id = node.children
            self._linear(left_id, affine_context and self.nodes[right_id].n_params == 0, out)
            self._linear(right_id, affine_context and self.nodes[left_id].n_params == 0, out)
        elif node.op == "/":
            numerator_id, denominator_id = node.children
            self._linear(numerator_id,
                         affine_context and self.nodes[denominator_id].n_params == 0, out)
            self._linear(denominator_id, False, out)
        else:
            for child_id in node.children:
                self._linear(child_id, False, out)

    def parity(self, node_id: int, flipped: Sequence[bool]) -> int:
        """1 when the formula's value stays the same, bitwise, if the parameters marked in
        ``flipped`` (DFS order) change sign; -1 when it changes sign; 0 when neither is known.
        Exact in floating point: negation commutes with +, -, *, / and with odd operators, and
        ``cos``, ``square`` and ``abs`` of a negated argument are unchanged (``SYMMETRY``)."""
        return self._parity(node_id, flipped, 0)

    def _parity(self, node_id: int, flipped: Sequence[bool], start: int) -> int:
        node = self.nodes[node_id]
        if node.n_params == 0:
            return 1
        if node.op == "param":
            return -1 if flipped[start] else 1
        parities = []
        for child in node.children:
            parities.append(self._parity(child, flipped, start))
            start += self.nodes[child].n_params
        if node.op in ("*", "/"):
            return parities[0] * parities[1]
        if node.op in ("+", "-"):
            return parities[0] if parities[0] == parities[1] else 0
        if parities[0] == 1:
            return 1
        return SYMMETRY.get(node.op, 0) if parities[0] == -1 else 0

    def uses_inside(self, node_id: int, column: str, operators: Sequence[str]) -> bool:
        """Whether the formula has ``column`` inside a call of one of ``operators``."""
        target = list(self.columns).index(column)

        def walk(nid: int, inside: bool) -> bool:
            node = self.nodes[nid]
            if node.op == "input":
                return inside and node.column == target
            return any(walk(child, inside or node.op in operators) for child in node.children)

        return walk(node_id, False)

    def columns_of(self, node_id: int) -> set[int]:
        """Positions of the columns the formula reads."""
        node = self.nodes[node_id]
        if node.op == "input":
            return {node.column}
        return set().union(*(self.columns_of(child) for child in node.children))

    # ---- conversion ------------------------------------------------------------------------
    def to_sympy(self, node_id: int, parameter_values: Optional[Sequence[float]] = None,
                 real: bool = False) -> "sympy.Expr":
        """SymPy expression: columns as symbols (real ones with ``real``, as a law's are:
        building with them costs less than rebinding the symbols of a built expression),
        parameters ``c0..`` or the given values (``assign``)."""
        import sympy  # imported here: fitting workers never convert to SymPy

        counter = iter(range(self.nodes[node_id].n_params))
        symbols = [sympy.Symbol(name, real=True) if real else sympy.Symbol(name) for name in self.columns]

        def build(nid: int) -> "sympy.Expr":
            node = self.nodes[nid]
            if node.op == "input":
                return symbols[node.column]
            if node.op == "param":
                return sympy.Symbol(f"c{next(counter)}")
            return OPERATORS[node.op].sympy(*[build(c) for c in node.children])

        template = build(node_id)
        return template if parameter_values is None else assign(template, parameter_values)

    def to_text(self, node_id: int) -> str:
        """A SymPy-parsable template string such as ``c0*cos(q) + p**2``."""
        return str(self.to_sympy(node_id))

    def unit_text(self, node_id: int) -> str:
        unit = self.nodes[node_id].unit
        return "free" if unit is FREE else format_unit(unit)


def assign(template: "sympy.Expr", parameter_values: Sequence[float]) -> "sympy.Expr":
    """A template's parameters ``c0..`` replaced by the values at full precision. Only the
    branches that hold a parameter are rebuilt, so a law and its template cost one build of the
    tree, and the result is the tree built with the numbers in place (checked on every fitted
    formula of five systems at depth 6-7)."""
    import sympy

    from conslaw.dsl.expressions import exact_float

    return template.xreplace({sympy.Symbol(f"c{k}"): exact_float(v) for k, v in enumerate(parameter_values)})


class Evaluator:
    """Evaluates formulas of a ``NodeTable`` on a fixed data array, with numpy or torch.

    Parameter-free sub-formulas are computed once and cached, since many formulas share them.
    Parameter values may be scalars or arrays that broadcast against the data's sample axis
    (e.g. shape (G, 1) evaluates G parameter settings at once, giving (G, N)).
    """

    def __init__(self, table: NodeTable, data: Any, backend: str = "numpy") -> None:
        if backend not in ("numpy", "torch"):
            raise ValueError(f"unknown backend {backend!r}")
        self.table = table
        self.backend = backend
        self.columns = [data[:, i] for i in range(data.shape[1])]
        self._cache: dict[int, Any] = {}

    def __call__(self, node_id: int, parameters: Sequence[Any] = ()) -> Any:
        values = iter(parameters)
        if self.backend == "numpy":
            with np.errstate(all="ignore"):
                return self._evaluate(node_id, values)
        return self._evaluate(node_id, values)

    def _evaluate(self, node_id: int, parameters: Iterator[Any]) -> Any:
        node = self.table.nodes[node_id]
        if node.n_params == 0 and node_id in self._cache:
            return self._cache[node_id]
        if node.op == "input":
            result = self.columns[node.column]
        elif node.op == "param":
            return next(parameters)
        else:
            operator = OPERATORS[node.op]
            kernel = operator.numpy if self.backend == "numpy" else operator.torch
            result = kernel(*[self._evaluate(child, parameters) for child in node.children])
        if node.n_params == 0:
            self._cache[node_id] = result
        return result


REMEMBERED = frozenset({"sin", "cos", "exp", "log", "sqrt", "rsqrt"})
"""Operators whose values with parameters ``GridEvaluator`` remembers: the costly ones."""


def _mirrored(name: str, argument: np.ndarray, sign: int) -> np.ndarray:
    """``OPERATORS[name]`` of ``argument`` (G.., N), computed on half of its grid points: the
    argument at the point-reflected point (every grid axis reversed: flat index G-1-i) is
    ``sign`` times the argument at the point, so there the value is ``sign * SYMMETRY[name]``
    times the value (``cos(c*p)`` on a grid symmetric in sign)."""
    rows = argument.reshape(-1, argument.shape[-1])
    upper = OPERATORS[name].numpy(rows[len(rows) // 2:])
    lower = upper[len(rows) % 2:][::-1]
    negated = sign < 0 and SYMMETRY[name] < 0
    return np.concatenate([-lower if negated else lower, upper]).reshape(argument.shape)


def _symmetric(values: Any) -> bool:
    """Whether parameter values on a grid axis are symmetric in sign (``v[::-1] == -v``)."""
    flat = np.ravel(values)
    return len(flat) > 1 and np.array_equal(flat[::-1], -flat)


class GridEvaluator:
    """Evaluates formulas of a ``NodeTable`` on fixed states at many parameter settings (numpy).

    Parameter values broadcast against the states' axis, which is the last: parameter i of a
    d-parameter product grid shaped ``(G_i,) + (1,) * (d - i)`` gives values ``(G_0, .., N)``,
    each sub-formula evaluated only on the axes of the parameters it holds (``cos(c0*p)`` G_0
    times, however large the grid). Parameter-free sub-formulas are computed once (until
    ``forget``). With ``remember=True`` (a coarse grid, which formulas share) a costly
    sub-formula with parameters (``REMEMBERED``) is kept under its parameter values, up to
    ``memory_bytes`` in all and 1/256 of it each, and ``sin``/``cos`` of an argument even or odd
    in its parameters (``NodeTable.parity``) on a grid symmetric in sign are computed on half of
    the points. The values are those of ``Evaluator``: the same numpy kernels on the same numbers.
    """

    def __init__(self, table: NodeTable, states: np.ndarray, memory_bytes: int = 64 << 20) -> None:
        self.table = table
        self.columns = [np.ascontiguousarray(states[:, i], dtype=float) for i in range(states.shape[1])]
        self.memory_bytes = memory_bytes
        self._cache: dict[int, np.ndarray] = {}
        self._memory: dict[tuple, np.ndarray] = {}
        self._used = 0

    def __call__(self, node_id: int, parameters: Sequence[Any] = (), remember: bool = False) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.evaluate(node_id, parameters, remember)

    def evaluate(self, node_id: int, parameters: Sequence[Any] = (), remember: bool = False) -> np.ndarray:
        """The values, as a call gives them, for a caller that ignores numpy's floating-point
        errors itself (``np.errstate(all="ignore")``): entering that context costs more than
        evaluating a small formula, and a fit evaluates thousands."""
        keys = tuple((np.shape(p), np.asarray(p, float).tobytes()) for p in parameters) \
            if remember else None
        return self._evaluate(node_id, list(parameters), 0, keys)

    def forget(self) -> None:
        """Drop the parameter-free values."""
        self._cache.clear()

    def _evaluate(self, node_id: int, parameters: list, start: int, keys: Optional[tuple]) -> np.ndarray:
        node = self.table.nodes[node_id]
        if node.n_params == 0:
            if node_id not in self._cache:
                self._cache[node_id] = self._apply(node, parameters, start, None)
            return self._cache[node_id]
        if node.op == "param":
            return parameters[start]
        key = (node_id, keys[start:start + node.n_params]) \
            if keys is not None and node.op in REMEMBERED else None
        if key is not None and key in self._memory:
            return self._memory[key]
        result = self._apply(node, parameters, start, keys, mirror=keys is not None)
        if key is not None and result.nbytes <= self.memory_bytes // 256 \
                and self._used + result.nbytes <= self.memory_bytes:
            self._memory[key] = result
            self._used += result.nbytes
        return result

    def _apply(self, node: Node, parameters: list, start: int, keys: Optional[tuple],
               mirror: bool = False) -> np.ndarray:
        if node.op == "input":
            return self.columns[node.column]
        arguments = []
        for child in node.children:
            arguments.append(self._evaluate(child, parameters, start, keys))
            start += self.table.nodes[child].n_params
        if mirror and node.op in ("sin", "cos"):
            child = node.children[0]
            count = self.table.nodes[child].n_params
            own = parameters[start - count:start]
            sign = self.table.parity(child, [True] * count)
            if sign and all(_symmetric(values) for values in own):
                return _mirrored(node.op, arguments[0], sign)
        return np.asarray(OPERATORS[node.op].numpy(*arguments), dtype=float)
