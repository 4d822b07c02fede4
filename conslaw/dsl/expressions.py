"""Law expressions: the one parser (always bound to the state columns) and compiled evaluators.

Every law text in conslaw, from a result file, the command line or a user, goes through
``parse_expression``: the column names are bound to real SymPy symbols first, so a column named
``E``, ``I``, ``S``, ``N``, ``O`` or ``Q`` is a column, never one of SymPy's constants. Evaluators
take states shaped ``(..., d)`` and return ``(...)``: numpy by walking the expression tree (cheap
for the hundreds of candidates a search judges), torch compiled by SymPy's ``TorchPrinter``;
gradients are symbolic derivatives evaluated the same way.
"""
from __future__ import annotations

import fractions
import functools
import keyword
import math
import re
from typing import Callable, Sequence, Union

import numpy as np
import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError

from conslaw.errors import ConslawError

ExpressionLike = Union[str, sympy.Expr]


def exact_float(value: float) -> sympy.Float:
    """A fitted number as a SymPy float that prints, and parses back, as the same double."""
    return sympy.Float(repr(float(value)))


PI_DENOMINATOR = 21600
"""The largest denominator of a unit factor written as a rational multiple of pi (the arc minute's)."""
PI_NUMERATOR = 10**6
"""The largest numerator of such a multiple: with a larger one any large factor is one to the
last bit (1 au is 681753795281048*pi/14317 m), and a law would print pi where no angle is."""


def exact_factor(value: float) -> sympy.Expr:
    """A unit's conversion factor: a rational multiple of pi when it is one to the last bits
    (``deg`` -> ``pi/180``, ``rpm`` -> ``pi/30``), so that a law reads ``cos(pi*theta/180)``;
    otherwise ``exact_float``."""
    multiple = fractions.Fraction(value / math.pi).limit_denominator(PI_DENOMINATOR)
    if (multiple and abs(multiple.numerator) <= PI_NUMERATOR
            and abs(float(multiple) * math.pi - value) <= 4 * math.ulp(value)):
        return sympy.pi * sympy.Rational(multiple.numerator, multiple.denominator)
    return exact_float(value)


def full_precision(expression: sympy.Expr) -> sympy.Expr:
    """The expression with every float re-created by ``exact_float`` (arithmetic between SymPy
    floats can leave a product at 15 printed digits although it holds a full double)."""
    return expression.xreplace({f: exact_float(f) for f in expression.atoms(sympy.Float)})


@functools.lru_cache(maxsize=4096)
def full_precision_text(expression: sympy.Expr) -> str:
    """``sstr`` of ``full_precision(expression)``, printed once per expression: result.json and
    candidates.csv both print every candidate (0.6 s for the recorded pendulum's 231)."""
    return sympy.sstr(full_precision(expression))


UNIT_COEFFICIENT_RTOL = 1e-12
"""A rescaled coefficient this close to 1 or -1 is written as exactly 1 or -1 (``in_unit``)."""


def in_unit(expression: sympy.Expr, scale: float) -> sympy.Expr:
    """``expression / scale``, term by term: the value in a unit ``scale`` times the old one.
    A power of a sum first has its leading term's number, without its sign, taken out
    (``1/sqrt(2.2e22*x**2 + 2.2e22*y**2)`` is ``6.7e-12/sqrt(x**2 + y**2)``, ``(-1e-8*v**2 +
    4.2e-9)**2`` is ``1e-16*(0.42 - v**2)**2``, the same value), so that the number meets the
    scale; a coefficient within ``UNIT_COEFFICIENT_RTOL`` of 1 or -1 becomes exactly that."""
    def pulled(power: sympy.Pow) -> sympy.Expr:
        base, exponent = power.as_base_exp()
        number = abs(base.as_ordered_terms()[0].as_coeff_Mul()[0])
        if not (number.is_Number and number.is_positive) or number == 1:
            return power
        return number ** exponent * _divided(base, float(number)) ** exponent

    return _divided(expression.replace(lambda a: a.is_Pow and a.base.is_Add, pulled), scale)


def _divided(expression: sympy.Expr, number: float) -> sympy.Expr:
    """A sum divided by ``number`` term by term, coefficients near 1 or -1 made exact. A term's
    number goes into the term's one sum factor, if it has one, and meets the numbers there when
    the sum holds a unit's pi (``3282.8*(12.4 - pi**2*w**2/32400)*cos(a)`` is ``(40570 -
    w**2)*cos(a)``) or when a term of the sum then reads with 1 or -1 (a unit's power of ten:
    ``1e6*V**2*(1e-6*I**2 + 0.0488)`` is ``V**2*(I**2 + 48827)``)."""
    terms = []
    for term in sympy.Add.make_args(expression):
        coefficient, rest = term.as_independent(*term.free_symbols, as_Add=False)
        sums = [factor for factor in sympy.Mul.make_args(rest) if factor.is_Add]
        pulled, rest = _pi_sums_pulled(rest) if len(sums) > 1 else (1.0, rest)
        value = float(coefficient) * pulled / number
        sums = [factor for factor in sympy.Mul.make_args(rest) if factor.is_Add]
        if len(sums) == 1 and value != 1.0 and (sums[0].has(sympy.pi) or _meets_one(sums[0], value)):
            terms.append(rest.xreplace({sums[0]: _divided(sums[0], 1.0 / value)}))
            continue
        exact = abs(abs(value) - 1.0) <= UNIT_COEFFICIENT_RTOL
        terms.append((sympy.Integer(int(np.sign(value))) if exact else exact_float(value)) * rest)
    return sympy.Add(*terms)


def _pi_sums_pulled(product: sympy.Expr) -> tuple[float, sympy.Expr]:
    """The product with each sum factor that holds a unit's pi divided by the size of its first
    column term's number, and the product of those numbers: of two such sums,
    ``(pi*w1/180 + pi*w2/180)*(3.5 - pi*a/180)`` is ``(pi/180)**2`` times ``(w1 + w2)*(201.4 - a)``."""
    pulled, factors = 1.0, []
    for factor in sympy.Mul.make_args(product):
        if factor.is_Add and factor.has(sympy.pi):
            number = abs(float(next(term.as_independent(*term.free_symbols, as_Add=False)[0]
                                    for term in factor.as_ordered_terms() if term.free_symbols)))
            pulled *= number
            factor = _divided(factor, number)
        factors.append(factor)
    return pulled, sympy.Mul(*factors)


def _meets_one(terms: sympy.Add, number: float) -> bool:
    """Whether a term of ``terms`` that holds a column has a coefficient that ``number`` makes
    1 or -1 (to ``UNIT_COEFFICIENT_RTOL``)."""
    return any(abs(abs(float(term.as_coeff_Mul()[0]) * number) - 1.0) <= UNIT_COEFFICIENT_RTOL
               for term in terms.args if term.free_symbols)


def column_symbols(columns: Sequence[str]) -> dict[str, sympy.Symbol]:
    """One real SymPy symbol per column name, in column order."""
    return dict(zip(columns, _real_symbols(tuple(columns))))


@functools.lru_cache(maxsize=256)
def _real_symbols(columns: tuple[str, ...]) -> tuple[sympy.Symbol, ...]:
    # Kept: a symbol with assumptions costs microseconds to make, and every law parsed,
    # evaluated or differentiated asks for its columns' symbols again.
    return tuple(sympy.Symbol(name, real=True) for name in columns)


def parse_expression(law: ExpressionLike, columns: Sequence[str]) -> sympy.Expr:
    """A law as a SymPy expression over the column symbols.

    Strings are parsed with the columns bound; a given expression has its free symbols rebound
    to the column symbols by name. Raises ``ConslawError`` naming the law when it does not parse
    or uses a name that is not a column.
    """
    symbols = column_symbols(columns)
    if isinstance(law, str):
        # A column named like a Python keyword (lambda) is read under a stand-in name.
        stand_ins = {name: f"_column_{index}" for index, name in enumerate(columns) if keyword.iskeyword(name)}
        text, names = law, dict(symbols)
        for name, stand_in in stand_ins.items():
            text = re.sub(rf"\b{name}\b", stand_in, text)
            names[stand_in] = symbols[name]
        try:
            expression = sympy.parse_expr(text, local_dict=names)
        except Exception as error:  # SymPy raises SyntaxError, TokenError, TypeError, ...
            raise ConslawError(f"cannot parse law {law!r}: {error}") from None
    elif isinstance(law, sympy.Basic):
        expression = law.xreplace({s: symbols[s.name] for s in law.free_symbols
                                   if isinstance(s, sympy.Symbol) and s.name in symbols and s != symbols[s.name]})
    else:
        raise ConslawError(f"a law must be a string or a SymPy expression, got {type(law).__name__}")
    if not isinstance(expression, sympy.Expr):
        raise ConslawError(f"law {law!r} is not an expression")
    unknown = sorted(str(s) for s in expression.free_symbols if str(s) not in symbols)
    if unknown:
        raise ConslawError(f"law {str(law)!r} uses {', '.join(unknown)}, which is not a state column "
                           f"({', '.join(columns)})")
    return expression


_NUMPY_FUNCTIONS: dict = {
    sympy.sin: (np.sin, lambda a, value: np.cos(a)), sympy.cos: (np.cos, lambda a, value: -np.sin(a)),
    sympy.tan: (np.tan, lambda a, value: 1.0 + value ** 2), sympy.exp: (np.exp, lambda a, value: value),
    sympy.log: (np.log, lambda a, value: 1.0 / a), sympy.Abs: (np.abs, lambda a, value: np.sign(a)),
    sympy.sign: (np.sign, lambda a, value: np.zeros_like(a)),
    sympy.sinh: (np.sinh, lambda a, value: np.cosh(a)), sympy.cosh: (np.cosh, lambda a, value: np.sinh(a)),
    sympy.tanh: (np.tanh, lambda a, value: 1.0 - value ** 2),
    sympy.atan: (np.arctan, lambda a, value: 1.0 / (1.0 + a ** 2)),
    sympy.asin: (np.arcsin, lambda a, value: 1.0 / np.sqrt(1.0 - a ** 2)),
    sympy.acos: (np.arccos, lambda a, value: -1.0 / np.sqrt(1.0 - a ** 2)),
}
"""Each function a law may use: its numpy kernel, and its derivative from its argument and its
value (``_forward``)."""


def _numpy_kernels(expression: sympy.Expr) -> tuple:
    """The ``_NUMPY_FUNCTIONS`` entry of the expression's function, or a ConslawError naming it."""
    kernels = _NUMPY_FUNCTIONS.get(expression.func)
    if kernels is None:
        raise ConslawError(f"law uses {expression.func}, which conslaw cannot evaluate with numpy")
    return kernels


def _interpret(expression: sympy.Expr, values: dict[sympy.Symbol, np.ndarray]) -> np.ndarray:
    """The expression's value on numpy arrays, walking its tree (no code is generated: a law is
    evaluated at once, where compiling it with ``lambdify`` costs milliseconds)."""
    if expression.is_Symbol:
        return values[expression]
    if expression.is_Number or expression.is_NumberSymbol:
        return np.float64(float(expression))
    arguments = [_interpret(argument, values) for argument in expression.args]
    if expression.is_Add:
        return functools.reduce(np.add, arguments)
    if expression.is_Mul:
        return functools.reduce(np.multiply, arguments)
    if expression.is_Pow:
        return np.power(arguments[0], arguments[1])
    return _numpy_kernels(expression)[0](*arguments)


def numpy_function(law: ExpressionLike, columns: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """``g(states)`` for numpy arrays of states ``(..., d)``, returning ``(...)`` floats."""
    expression = parse_expression(law, columns)
    symbols = [column_symbols(columns)[c] for c in columns]

    def evaluate(states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, dtype=float)
        if states.shape[-1] != len(columns):
            raise ConslawError(f"states have {states.shape[-1]} columns; the law takes {len(columns)} "
                               f"({', '.join(columns)})")
        with np.errstate(all="ignore"):
            values = _interpret(expression, dict(zip(symbols, np.moveaxis(states, -1, 0))))
        return np.broadcast_to(np.asarray(values, dtype=float), states.shape[:-1]).copy()

    return evaluate


def torch_function(law: ExpressionLike, columns: Sequence[str]) -> Callable:
    """``g(states)`` for torch tensors ``(..., d)``, returning ``(...)`` in the input's dtype.

    Numbers are inlined as Python floats, so float32 stays float32 and float64 stays float64;
    the function composes with ``torch.func`` (``vmap``, ``grad``, ``jvp``).
    """
    import torch
    from sympy.printing.pytorch import TorchPrinter

    expression = parse_expression(law, columns)
    symbols = column_symbols(columns)
    try:
        compiled = sympy.lambdify([symbols[c] for c in columns], expression, modules=[{"torch": torch}],
                                  printer=TorchPrinter({"strict": True}), docstring_limit=0)
    except PrintMethodNotImplementedError as error:
        reason = str(error).splitlines()[0]
        raise ConslawError(f"law {expression} uses a function with no torch equivalent ({reason})") from None

    def evaluate(states: "torch.Tensor") -> "torch.Tensor":
        if states.shape[-1] != len(columns):
            raise ConslawError(f"states have {states.shape[-1]} columns; the law takes {len(columns)} "
                               f"({', '.join(columns)})")
        values = compiled(*states.unbind(-1))
        if isinstance(values, torch.Tensor) and values.shape == states.shape[:-1]:
            return values
        return values + torch.zeros_like(states[..., 0])  # a constant broadcasts to the batch shape

    evaluate.expression = expression  # type: ignore[attr-defined]
    return evaluate


@functools.lru_cache(maxsize=4096)
def _partials(expression: sympy.Expr, columns: tuple[str, ...]) -> tuple[sympy.Expr, ...]:
    symbols = column_symbols(columns)
    return tuple(sympy.diff(expression, symbols[c]) for c in columns)


def _forward(expression: sympy.Expr, values: dict[sympy.Symbol, np.ndarray]) -> tuple:
    """The expression's value and its partial derivatives ``{symbol: array}`` (the symbols it
    depends on only), walking its tree once (forward mode)."""
    if expression.is_Symbol:
        return values[expression], {expression: np.float64(1.0)}
    if expression.is_Number or expression.is_NumberSymbol:
        return np.float64(float(expression)), {}
    arguments = [_forward(argument, values) for argument in expression.args]
    if expression.is_Add:
        return functools.reduce(np.add, [v for v, _ in arguments]), _summed([g for _, g in arguments])
    if expression.is_Mul:
        factors = [v for v, _ in arguments]
        value = functools.reduce(np.multiply, factors)
        return value, _summed([_scaled(g, functools.reduce(np.multiply, factors[:i] + factors[i + 1:], 1.0))
                               for i, (_, g) in enumerate(arguments)])
    (base, base_gradient), *exponent = arguments
    if expression.is_Pow:
        power, power_gradient = exponent[0]
        value = np.power(base, power)
        parts = [_scaled(base_gradient, power * np.power(base, power - 1.0))]
        return value, _summed(parts + [_scaled(power_gradient, value * np.log(base))] if power_gradient else parts)
    function, derivative = _numpy_kernels(expression)
    value = function(base)
    return value, _scaled(base_gradient, derivative(base, value))


def _scaled(gradient: dict, factor: np.ndarray) -> dict:
    return {symbol: partial * factor for symbol, partial in gradient.items()}


def _summed(gradients: list[dict]) -> dict:
    total: dict = {}
    for gradient in gradients:
        for symbol, partial in gradient.items():
            total[symbol] = total[symbol] + partial if symbol in total else partial
    return total


def gradient_function(law: ExpressionLike, columns: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """``grad g(states)`` for numpy states ``(..., d)``, returning ``(..., d)``: the one way
    conslaw differentiates a law with numpy. Forward mode on the expression's tree (``_forward``);
    at the states where that is not finite (``0*inf`` in a product rule where the derivative
    has a limit, ``x*log(x)`` at 0) the symbolic partials are evaluated instead, so the result
    is theirs there: SymPy differentiates only laws that need it (a law's symbolic partials cost
    milliseconds; they were two fifths of the ranking's time where many laws are accepted)."""
    expression = parse_expression(law, columns)
    symbols = [column_symbols(columns)[c] for c in columns]

    def evaluate(states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, dtype=float)
        with np.errstate(all="ignore"):
            _, partials = _forward(expression, dict(zip(symbols, np.moveaxis(states, -1, 0))))
        zero = np.zeros(states.shape[:-1])
        gradient = np.stack([np.broadcast_to(partials.get(symbol, zero), zero.shape) for symbol in symbols], axis=-1)
        singular = ~np.isfinite(gradient).all(axis=-1)
        if singular.any():
            gradient[singular] = _symbolic_gradient(expression, columns)(states[singular])
        return gradient

    return evaluate


def _symbolic_gradient(expression: sympy.Expr, columns: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """``gradient_function`` from the symbolic partials, evaluated as ``numpy_function`` does."""
    partials = [numpy_function(partial, columns) for partial in _partials(expression, tuple(columns))]
    return lambda states: np.stack([partial(states) for partial in partials], axis=-1)


def torch_gradient_function(law: ExpressionLike, columns: Sequence[str]) -> Callable:
    """``grad g(states)`` for torch tensors ``(..., d)``, returning ``(..., d)``: the symbolic
    partials, compiled as ``torch_function`` does (once per law: tailoring evaluates them at every
    step)."""
    import torch

    partials = [torch_function(partial, columns)
                for partial in _partials(parse_expression(law, columns), tuple(columns))]

    def evaluate(states: "torch.Tensor") -> "torch.Tensor":
        return torch.stack([partial(states) for partial in partials], dim=-1)

    return evaluate
