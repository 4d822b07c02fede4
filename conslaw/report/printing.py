"""How the report writes a law: numbers at full precision or rounded, LaTeX names, Python names.

Every text is made by a SymPy printer from the law's expression; this module only prepares the
expression (its floats) and the printers' settings:

- floats at full precision come from ``conslaw.dsl.expressions.full_precision``, so ``sstr``,
  ``srepr`` and the code printers write every digit;
- :func:`rounded`: each float to ``digits`` significant digits (LaTeX, tables, figure titles);
- :func:`latex_column`: a column name as ``Law.latex`` sets it (multi-letter names as one name);
- :func:`python_names`: the column names as Python identifiers free of the generated modules' own.
"""
from __future__ import annotations

import keyword
import math
from typing import Optional, Sequence

import sympy

from conslaw.dsl.expressions import full_precision_text
from conslaw.law import Law, latex_names
MODULE_NAMES = frozenset({"math", "numpy", "torch", "states", "COLUMNS", "UNITS", "LAWS"})
"""Names the generated python and torch modules use themselves."""


def law_text(law: Law, units: str = "declared", digits: Optional[int] = None) -> str:
    """``sstr`` of the law in the chosen units: full precision, or ``digits`` significant digits
    written without trailing zeros (``3.0``, ``2.44425``)."""
    if digits is None:
        return full_precision_text(law.sympy(units))
    return law.text(units, digits)


def latex_column(column: str) -> str:
    """One column name typeset as ``Law.latex`` typesets it."""
    symbol = sympy.Symbol(column, real=True)
    return latex_names([column]).get(symbol, sympy.latex(symbol))


def python_names(columns: Sequence[str]) -> dict[str, str]:
    """Column -> Python identifier: a keyword (``lambda``) or a name the generated module uses
    itself (``torch``, ``states``, ...) gets trailing underscores until it is free."""
    taken = set(columns) | MODULE_NAMES
    names = {}
    for column in columns:
        name = column
        if keyword.iskeyword(name) or name in MODULE_NAMES:
            while name in taken or keyword.iskeyword(name):
                name += "_"
            taken.add(name)
        names[column] = name
    return names


LAW_WIDTH = 48
"""Characters of a law in a terminal table; longer laws end in ``...`` (the files keep them whole)."""


def shorten(text: str, width: int = LAW_WIDTH) -> str:
    """``text`` cut to ``width`` characters, ending in ``...`` when cut."""
    return text if len(text) <= width else text[: width - 3] + "..."


def number(value: Optional[float], digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits; ``n/a`` for None, NaN or infinity."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}g}"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned text columns two spaces apart, with a rule under the header."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return [line(header), "  ".join("-" * width for width in widths)] + [line(row) for row in rows]


def latex_text(text: str) -> str:
    """Plain text escaped for LaTeX text mode (``±`` becomes ``$\\pm$``)."""
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
                    "±": r"$\pm$", "−": "-"}
    return "".join(replacements.get(character, character) for character in text)


def latex_tabular(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A ``tabular`` of text cells (escaped here)."""
    def line(cells: Sequence[str]) -> str:
        return " & ".join(latex_text(str(cell)) for cell in cells) + r" \\"
    return ([r"\begin{tabular}{" + "l" * len(header) + "}", r"\hline", line(header), r"\hline"]
            + [line(row) for row in rows] + [r"\hline", r"\end{tabular}"])
