"""The DSL's operators, defined as data: arity, commutativity, unit rule and numeric kernels.

Each unit rule maps the children's units to the result unit, or ``INVALID``. A unit is a
``Dimension`` or ``FREE``: a sub-formula scaled by a trainable parameter can take any unit,
because the parameter takes the unit its context needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Union

import operator

import numpy as np
import sympy

from conslaw.dsl.units import ANGLE, DIMENSIONLESS, Dimension


class _Free:
    """The unit of a sub-formula containing a parameter in a scaling position: any unit."""

    def __repr__(self) -> str:
        return "FREE"

    def __reduce__(self) -> str:
        return "FREE"  # unpickles to this module's singleton, so ``is FREE`` holds in workers


FREE = _Free()
INVALID = None
Unit = Union[Dimension, _Free]


def _same_unit(a: Unit, b: Unit) -> Optional[Unit]:
    if a is FREE:
        return b
    if b is FREE:
        return a
    return a if a == b else INVALID


def _product_unit(a: Unit, b: Unit) -> Optional[Unit]:
    return FREE if FREE in (a, b) else a * b


def _quotient_unit(a: Unit, b: Unit) -> Optional[Unit]:
    return FREE if FREE in (a, b) else a / b


def _power_rule(power: Fraction) -> Callable[[Unit], Optional[Unit]]:
    return lambda a: FREE if a is FREE else a ** power


def _angle_argument(a: Unit) -> Optional[Unit]:
    return DIMENSIONLESS if (a is FREE or a == ANGLE) else INVALID


def _dimensionless_argument(a: Unit) -> Optional[Unit]:
    return DIMENSIONLESS if (a is FREE or a.is_dimensionless) else INVALID


def _same_as_argument(a: Unit) -> Optional[Unit]:
    return a


def _method(name: str) -> Callable:
    """A kernel calling the tensor method ``name`` (so the table needs no torch import)."""
    return lambda argument: getattr(argument, name)()


@dataclass(frozen=True)
class Operator:
    """One DSL operator.

    ``numpy`` and ``torch`` are the kernels for each backend. ``partials(*args, result)``
    gives the derivative of the result with respect to each argument (numpy), for exact
    forward-mode gradients. ``scale_redundant``: applying the operator to a
    FREE argument only rescales a parameter.
    """

    name: str
    arity: int
    unit_rule: Callable[..., Optional[Unit]]
    numpy: Callable
    torch: Callable
    sympy: Callable
    partials: Callable[..., tuple]
    commutative: bool = False
    scale_redundant: bool = False


OPERATORS: dict[str, Operator] = {
    "+": Operator("+", 2, _same_unit, np.add, operator.add, lambda a, b: a + b,
                  lambda a, b, r: (1.0, 1.0), commutative=True),
    "-": Operator("-", 2, _same_unit, np.subtract, operator.sub, lambda a, b: a - b,
                  lambda a, b, r: (1.0, -1.0)),
    "*": Operator("*", 2, _product_unit, np.multiply, operator.mul, lambda a, b: a * b,
                  lambda a, b, r: (b, a), commutative=True),
    "/": Operator("/", 2, _quotient_unit, np.divide, operator.truediv, lambda a, b: a / b,
                  lambda a, b, r: (1.0 / b, -r / b)),
    "sin": Operator("sin", 1, _angle_argument, np.sin, _method("sin"), sympy.sin,
                    lambda a, r: (np.cos(a),)),
    "cos": Operator("cos", 1, _angle_argument, np.cos, _method("cos"), sympy.cos,
                    lambda a, r: (-np.sin(a),)),
    "square": Operator("square", 1, _power_rule(Fraction(2)), np.square, _method("square"),
                       lambda a: a ** 2, lambda a, r: (2.0 * a,), scale_redundant=True),
    # Opt-in operators (the richer vocabulary); same unit discipline.
    "cube": Operator("cube", 1, _power_rule(Fraction(3)), lambda a: a ** 3, lambda a: a ** 3,
                     lambda a: a ** 3, lambda a, r: (3.0 * a * a,), scale_redundant=True),
    "sqrt": Operator("sqrt", 1, _power_rule(Fraction(1, 2)), np.sqrt, _method("sqrt"), sympy.sqrt,
                     lambda a, r: (0.5 / r,), scale_redundant=True),
    "inv": Operator("inv", 1, _power_rule(Fraction(-1)), lambda a: 1.0 / a, lambda a: 1.0 / a,
                    lambda a: 1 / a, lambda a, r: (-r * r,), scale_redundant=True),
    "rsqrt": Operator("rsqrt", 1, _power_rule(Fraction(-1, 2)), lambda a: a ** -0.5,
                      _method("rsqrt"), lambda a: 1 / sympy.sqrt(a), lambda a, r: (-0.5 * r / a,),
                      scale_redundant=True),
    "exp": Operator("exp", 1, _dimensionless_argument, np.exp, _method("exp"), sympy.exp,
                    lambda a, r: (r,)),
    "log": Operator("log", 1, _dimensionless_argument, np.log, _method("log"), sympy.log,
                    lambda a, r: (1.0 / a,)),
    "abs": Operator("abs", 1, _same_as_argument, np.abs, _method("abs"), sympy.Abs,
                    lambda a, r: (np.sign(a),), scale_redundant=True),
}

PAPER_OPERATORS = ("+", "-", "*", "/", "sin", "cos", "square")
EXTENDED_OPERATORS = ("cube", "sqrt", "inv", "rsqrt", "exp", "log", "abs")
