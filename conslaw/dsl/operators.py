"""The DSL's operators, defined as data: arity, commutativity, unit rule and numeric kernels.

Each unit rule maps the children's units to the result unit, or ``INVALID``. A unit is a
``Dimension`` or ``FREE``: a sub-formula scaled by a trainable parameter can take any unit,
because the parameter takes the unit its context needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Sequence, Union

import operator

import numpy as np

from conslaw.dsl.units import ANGLE, DIMENSIONLESS, Dimension
from conslaw.errors import UsageError


class _Free:
    """The unit of a sub-formula containing a parameter in a scaling position: any unit."""

    def __repr__(self) -> str:
        return "FREE"

    def __reduce__(self) -> str:
        return "FREE"  # unpickles to this module's singleton, so ``is FREE`` holds in workers


FREE = _Free()
INVALID = None
Unit = Union[Dimension, _Free]


@dataclass(frozen=True)
class UnitRule:
    """How an operator combines its children's units, as data (``kind`` is one of ``KINDS``).

    Calling it on units applies the rule to one candidate; ``conslaw.dsl.unit_table`` applies the
    same kinds to whole arrays of interned unit ids.
    """

    kind: str
    power: Fraction = Fraction(1)

    KINDS = ("equal", "product", "quotient", "power", "angle", "dimensionless", "identity")

    def __call__(self, *units: Unit) -> Optional[Unit]:
        first = units[0]
        if self.kind == "equal":
            other = units[1]
            if first is FREE:
                return other
            return first if (other is FREE or first == other) else INVALID
        if self.kind in ("product", "quotient"):
            if FREE in units:
                return FREE
            return first * units[1] if self.kind == "product" else first / units[1]
        if self.kind == "power":
            return FREE if first is FREE else first ** self.power
        if self.kind == "angle":
            return DIMENSIONLESS if (first is FREE or first == ANGLE) else INVALID
        if self.kind == "dimensionless":
            return DIMENSIONLESS if (first is FREE or first.is_dimensionless) else INVALID
        return first  # identity


def _sympy(name: str) -> Callable:
    """SymPy's function ``name``, imported on first use (fitting workers never need SymPy)."""
    def apply(*arguments):
        import sympy

        return getattr(sympy, name)(*arguments)

    return apply


def _method(name: str) -> Callable:
    """A kernel calling the tensor method ``name`` (so the table needs no torch import)."""
    return lambda argument: getattr(argument, name)()


@dataclass(frozen=True)
class Operator:
    """One DSL operator.

    ``numpy`` and ``torch`` are the kernels for each backend. ``scale_redundant``: applying the
    operator to a FREE argument only rescales a parameter.
    """

    name: str
    arity: int
    unit_rule: UnitRule
    numpy: Callable
    torch: Callable
    sympy: Callable
    commutative: bool = False
    scale_redundant: bool = False


OPERATORS: dict[str, Operator] = {
    "+": Operator("+", 2, UnitRule("equal"), np.add, operator.add, lambda a, b: a + b, commutative=True),
    "-": Operator("-", 2, UnitRule("equal"), np.subtract, operator.sub, lambda a, b: a - b),
    "*": Operator("*", 2, UnitRule("product"), np.multiply, operator.mul, lambda a, b: a * b, commutative=True),
    "/": Operator("/", 2, UnitRule("quotient"), np.divide, operator.truediv, lambda a, b: a / b),
    "sin": Operator("sin", 1, UnitRule("angle"), np.sin, _method("sin"), _sympy("sin")),
    "cos": Operator("cos", 1, UnitRule("angle"), np.cos, _method("cos"), _sympy("cos")),
    "square": Operator("square", 1, UnitRule("power", Fraction(2)), np.square, _method("square"),
                       lambda a: a ** 2, scale_redundant=True),
    # Opt-in operators (the richer vocabulary); same unit discipline.
    "cube": Operator("cube", 1, UnitRule("power", Fraction(3)), lambda a: a ** 3, lambda a: a ** 3,
                     lambda a: a ** 3, scale_redundant=True),
    "sqrt": Operator("sqrt", 1, UnitRule("power", Fraction(1, 2)), np.sqrt, _method("sqrt"),
                     _sympy("sqrt"), scale_redundant=True),
    "inv": Operator("inv", 1, UnitRule("power", Fraction(-1)), lambda a: 1.0 / a, lambda a: 1.0 / a,
                    lambda a: 1 / a, scale_redundant=True),
    "rsqrt": Operator("rsqrt", 1, UnitRule("power", Fraction(-1, 2)), lambda a: a ** -0.5,
                      _method("rsqrt"), lambda a: 1 / _sympy("sqrt")(a), scale_redundant=True),
    "exp": Operator("exp", 1, UnitRule("dimensionless"), np.exp, _method("exp"), _sympy("exp")),
    "log": Operator("log", 1, UnitRule("dimensionless"), np.log, _method("log"), _sympy("log")),
    "abs": Operator("abs", 1, UnitRule("identity"), np.abs, _method("abs"), _sympy("Abs"), scale_redundant=True),
}

PAPER_OPERATORS = ("+", "-", "*", "/", "sin", "cos", "square")
EXTENDED_OPERATORS = ("cube", "sqrt", "inv", "rsqrt", "exp", "log", "abs")


def resolve_operators(spec: Union[str, Sequence[str]], name: str = "--operators"
                      ) -> tuple[str, ...]:
    """The operator set named by ``spec``: ``"+,-,*,sin"`` replaces the default set,
    ``"+log,+rsqrt"`` adds to it, ``"default"`` stands for it (``"default,+log"``).

    A plain list is the set; ``+op`` entries are appended to it (to the default set when the
    list has no plain entry). ``+`` alone is the addition operator. Duplicates are dropped and
    the order is kept. An unknown operator or an empty list is a one-line ``UsageError``.
    """
    if not isinstance(spec, (str, list, tuple)):
        raise UsageError(f"{name} must be a text or a list of operators, got {spec!r}")
    entries = [part.strip() for part in spec.split(",")] if isinstance(spec, str) else [str(entry) for entry in spec]
    entries = [entry for entry in entries if entry]
    plain, added = [], []
    for entry in entries:
        if entry in OPERATORS or entry == "default":
            plain.append(entry)
        else:
            added.append(entry[1:] if entry.startswith("+") and len(entry) > 1 else entry)
    unknown = [entry for entry in added if entry not in OPERATORS]
    if unknown or not entries:
        culprit = f"unknown operator {unknown[0]!r}" if unknown else "no operator given"
        raise UsageError(f"{name}: {culprit}; valid: {', '.join(OPERATORS)} (a list replaces "
                         f"the default set {' '.join(PAPER_OPERATORS)}; +op adds to it)")
    chosen = []
    for entry in (plain or ["default"]) + added:
        chosen.extend(PAPER_OPERATORS if entry == "default" else [entry])
    return tuple(dict.fromkeys(chosen))
