"""Law expressions: the one parser (always bound to the state columns) and compiled evaluators.

Every law text in conslaw, from a result file, the command line or a user, goes through
``parse_expression``: the column names are bound to real SymPy symbols first, so a column named
``E``, ``I``, ``S``, ``N``, ``O`` or ``Q`` is a column, never one of SymPy's constants. Compiled
evaluators come from SymPy printers (``NumPyPrinter``, ``sympy.printing.pytorch.TorchPrinter``)
through ``lambdify``; both take states shaped ``(..., d)`` and return ``(...)``.
"""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np
import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError

from conslaw.errors import ConslawError

ExpressionLike = Union[str, sympy.Expr]


def column_symbols(columns: Sequence[str]) -> dict[str, sympy.Symbol]:
    """One real SymPy symbol per column name, in column order."""
    return {name: sympy.Symbol(name, real=True) for name in columns}


def parse_expression(law: ExpressionLike, columns: Sequence[str]) -> sympy.Expr:
    """A law as a SymPy expression over the column symbols.

    Strings are parsed with the columns bound; a given expression has its free symbols rebound
    to the column symbols by name. Raises ``ConslawError`` naming the law when it does not parse
    or uses a name that is not a column.
    """
    symbols = column_symbols(columns)
    if isinstance(law, str):
        try:
            expression = sympy.parse_expr(law, local_dict=dict(symbols))
        except Exception as error:  # SymPy raises SyntaxError, TokenError, TypeError, ...
            raise ConslawError(f"cannot parse law {law!r}: {error}") from None
    elif isinstance(law, sympy.Basic):
        expression = law.xreplace({s: symbols[s.name] for s in law.free_symbols
                                   if isinstance(s, sympy.Symbol) and s.name in symbols})
    else:
        raise ConslawError(f"a law must be a string or a SymPy expression, got {type(law).__name__}")
    if not isinstance(expression, sympy.Expr):
        raise ConslawError(f"law {law!r} is not an expression")
    unknown = sorted(str(s) for s in expression.free_symbols if str(s) not in symbols)
    if unknown:
        raise ConslawError(f"law {str(law)!r} uses {', '.join(unknown)}, which is not a state column "
                           f"({', '.join(columns)})")
    return expression


def _lambdify(expression: sympy.Expr, columns: Sequence[str], modules, printer) -> Callable:
    symbols = column_symbols(columns)
    try:
        return sympy.lambdify([symbols[c] for c in columns], expression, modules=modules,
                              printer=printer)
    except PrintMethodNotImplementedError as error:
        reason = str(error).splitlines()[0]
        raise ConslawError(f"law {expression} uses a function that cannot be compiled ({reason})") from None


def numpy_function(law: ExpressionLike, columns: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """``g(states)`` for numpy arrays of states ``(..., d)``, returning ``(...)`` floats."""
    from sympy.printing.numpy import NumPyPrinter

    expression = parse_expression(law, columns)
    compiled = _lambdify(expression, columns, "numpy", NumPyPrinter({"strict": True}))

    def evaluate(states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, dtype=float)
        if states.shape[-1] != len(columns):
            raise ConslawError(f"states have {states.shape[-1]} columns; the law takes {len(columns)} "
                               f"({', '.join(columns)})")
        with np.errstate(all="ignore"):
            values = compiled(*np.moveaxis(states, -1, 0))
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
    compiled = _lambdify(expression, columns, [{"torch": torch}], TorchPrinter({"strict": True}))

    def evaluate(states: "torch.Tensor") -> "torch.Tensor":
        if states.shape[-1] != len(columns):
            raise ConslawError(f"states have {states.shape[-1]} columns; the law takes {len(columns)} "
                               f"({', '.join(columns)})")
        values = compiled(*states.unbind(-1))
        return values + torch.zeros_like(states[..., 0])  # a constant broadcasts to the batch shape

    evaluate.expression = expression  # type: ignore[attr-defined]
    return evaluate
