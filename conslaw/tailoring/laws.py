"""Turn a conservation law (SymPy expression or string in the column names) into a torch function.

The law is printed to Python source by :class:`TorchLawPrinter` (a subclass of SymPy's
``PythonCodePrinter`` that targets ``torch.*``) and compiled by ``sympy.lambdify``. The result
``g(x)`` maps a ``(..., d)`` state tensor to ``(...)`` values, keeps the input's dtype (numbers are
inlined as Python floats, so float64 inputs stay float64) and is composable with ``torch.func``
(``vmap``, ``grad``).
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence, Union

import sympy
import torch
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.pycode import PythonCodePrinter, _print_known_const, _print_known_func

from conslaw.errors import ConslawError

LawLike = Union[str, sympy.Expr, Mapping, Callable[[torch.Tensor], torch.Tensor]]

_TORCH_FUNCTIONS = {
    "Abs": "abs",
    "acos": "acos",
    "acosh": "acosh",
    "asin": "asin",
    "asinh": "asinh",
    "atan": "atan",
    "atan2": "atan2",
    "atanh": "atanh",
    "ceiling": "ceil",
    "cos": "cos",
    "cosh": "cosh",
    "erf": "erf",
    "erfc": "erfc",
    "exp": "exp",
    "expm1": "expm1",
    "floor": "floor",
    "log": "log",
    "log10": "log10",
    "log1p": "log1p",
    "log2": "log2",
    "sign": "sign",
    "sin": "sin",
    "sinh": "sinh",
    "tan": "tan",
    "tanh": "tanh",
}


class TorchLawPrinter(PythonCodePrinter):
    """Print a SymPy expression as Python source over ``torch`` functions.

    Constants (pi, E) are printed through ``math`` and therefore enter as Python floats; any
    function without a torch counterpart raises instead of being printed.
    """

    _kf = {name: "torch." + target for name, target in _TORCH_FUNCTIONS.items()}
    _default_settings = dict(PythonCodePrinter._default_settings, strict=True)

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        return self._hprint_Pow(expr, rational=rational, sqrt="torch.sqrt")

    def _print_sign(self, expr: sympy.Expr) -> str:
        return "torch.sign({})".format(self._print(expr.args[0]))

    def _print_Max(self, expr: sympy.Expr) -> str:
        return self._fold("torch.maximum", expr.args)

    def _print_Min(self, expr: sympy.Expr) -> str:
        return self._fold("torch.minimum", expr.args)

    def _fold(self, function: str, args: Sequence[sympy.Expr]) -> str:
        text = self._print(args[0])
        for arg in args[1:]:
            text = "{}(torch.as_tensor({}), torch.as_tensor({}))".format(function, text, self._print(arg))
        return text


for _name in TorchLawPrinter._kf:
    setattr(TorchLawPrinter, "_print_%s" % _name, _print_known_func)
for _name in ("Exp1", "Pi", "E"):
    setattr(TorchLawPrinter, "_print_%s" % _name, _print_known_const)


def column_symbols(columns: Sequence[str]) -> dict[str, sympy.Symbol]:
    """One real SymPy symbol per column name (so names such as ``E`` or ``S`` stay plain symbols)."""
    return {name: sympy.Symbol(name, real=True) for name in columns}


def parse_law(law: Union[str, sympy.Expr], columns: Sequence[str]) -> sympy.Expr:
    """Parse a law string (or re-bind a SymPy expression) onto the column symbols.

    Raises :class:`ConslawError` naming the law when it does not parse or uses unknown names.
    """
    symbols = column_symbols(columns)
    if isinstance(law, str):
        try:
            expr = sympy.parse_expr(law, local_dict=dict(symbols), evaluate=True)
        except Exception as error:  # SymPy raises many types (SyntaxError, TokenError, TypeError)
            raise ConslawError(f"cannot parse law {law!r}: {error}") from None
    elif isinstance(law, sympy.Basic):
        expr = law.xreplace({s: symbols[s.name] for s in law.free_symbols if s.name in symbols})
    else:
        raise ConslawError(f"law must be a string or a SymPy expression, got {type(law).__name__}")
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in symbols)
    if unknown:
        raise ConslawError(
            f"law {str(law)!r} uses {', '.join(unknown)}, not among the columns {', '.join(columns)}"
        )
    return expr


class SympyLaw:
    """A compiled law: ``g(x)`` over ``(..., d)`` tensors, with its expression and source kept."""

    def __init__(self, expr: sympy.Expr, columns: Sequence[str]) -> None:
        self.expr = expr
        self.columns = tuple(columns)
        symbols = column_symbols(columns)
        ordered = [symbols[name] for name in self.columns]
        printer = TorchLawPrinter()
        try:
            self.source = printer.doprint(expr)
            self._function = sympy.lambdify(
                ordered, expr, modules=[{"torch": torch, "math": math}], printer=printer
            )
        except PrintMethodNotImplementedError as error:
            reason = str(error).splitlines()[0]
            raise ConslawError(f"law {str(expr)!r} uses a function with no torch equivalent ({reason})") from None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        values = self._function(*x.unbind(-1))
        return values + torch.zeros_like(x[..., 0])  # constants broadcast to the batch shape

    def __repr__(self) -> str:
        return f"SympyLaw({self.expr})"


def law_to_torch(
    law: LawLike, columns: Sequence[str] | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Build ``g(x)`` from a SymPy expression, a string in ``columns``, a candidate dict
    (key ``"expression"``) or a callable (returned unchanged)."""
    if isinstance(law, Mapping):
        if "expression" not in law:
            raise ConslawError(f"candidate {dict(law).get('id', law)!r} has no 'expression' key")
        law = law["expression"]
    if callable(law) and not isinstance(law, sympy.Basic):
        return law
    if columns is None:
        if isinstance(law, str):
            raise ConslawError(f"law {law!r} is a string: pass the state columns to read it")
        columns = sorted(s.name for s in law.free_symbols)
    return SympyLaw(parse_law(law, columns), columns)
