"""The law record: one typed object from discovery through ranking, tailoring, export and the API.

A ``Law`` holds its expression in coherent SI (the units every stage computes in) with full
precision, the state columns it is written in, its unit, its fitted parameters with their units,
the evidence that it is conserved, and what ranking and tailoring decided about it.
``result.json``'s candidate entries are ``Law.to_dict()`` and are read back by ``Law.from_dict``.

Every law has two views. ``units="si"``: the columns in coherent SI (a column recorded in ``deg``
enters as radians). ``units="declared"`` (the default everywhere a user sees a law): the columns
in the units the user declared, e.g. ``cos(0.0174533*theta)`` for a ``theta`` given in degrees,
so that it can be evaluated on the user's own data as given.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import sympy

from conslaw.dsl.expressions import (
    column_symbols, exact_factor, exact_float, full_precision_text, in_unit, numpy_function, parse_expression,
    torch_function,
)
from conslaw.dsl.units import (
    Dimension, ParsedUnit, format_unit, latex_unit, latex_unit_text, parse_unit, unit_from,
)
from conslaw.errors import UsageError

UNIT_VIEWS = ("declared", "si")
LATEX_DIGITS = 6
"""Significant digits of fitted numbers in LaTeX."""
TABLE_DIGITS = 6
"""Significant digits of fitted numbers in tables, figures and warnings (files keep full precision)."""


def latex_names(columns: Sequence[str]) -> dict[sympy.Symbol, str]:
    """Columns that LaTeX would read as a product of letters (``px`` as p times x) set as one
    name, ``\\mathit{px}``; Greek names (``theta``) and subscripts (``x_1``) need nothing, and
    Greek letters written as such (``θ``, which LaTeX's math mode cannot read) are typeset as
    their commands (``\\theta``, ``\\mathit{\\omega{}x}``)."""
    names = {}
    for name, symbol in column_symbols(columns).items():
        plain = sympy.latex(symbol)
        typeset = sympy.latex(sympy.Symbol(_spelled_greek(name)))
        if re.search(r"(?<![\\A-Za-z])[A-Za-z]{2,}", typeset):
            typeset = r"\mathit{" + _spelled_greek(plain, commands=True) + "}"
        if typeset != plain:
            names[symbol] = typeset
    return names


def _spelled_greek(text: str, commands: bool = False) -> str:
    """``text`` with each Greek letter spelled out as SymPy reads it (``θ`` -> ``theta``, ``Ω`` ->
    ``Omega``, ``λ`` -> ``lambda``), or as its LaTeX command (``\\theta{}``)."""
    spelled = []
    for char in text:
        words = unicodedata.name(char, "").split()
        if len(words) == 4 and words[0] == "GREEK" and words[2] == "LETTER" and words[1] in ("SMALL", "CAPITAL"):
            letter = words[3].lower().replace("lamda", "lambda")
            letter = letter if words[1] == "SMALL" else letter.capitalize()
            spelled.append("\\" + letter + "{}" if commands else letter)
        else:
            spelled.append(char)
    return "".join(spelled)


def _pi_folded(product: sympy.Mul) -> sympy.Expr:
    """A product of a fitted number and pi as one number: a unit's exact ``pi/180`` is kept only
    where nothing fitted multiplies it (``cos(pi*theta/180)``, but ``cos(0.0081*theta)``)."""
    number, rest = product.as_independent(*product.free_symbols, as_Add=False)
    return exact_float(float(number)) * rest


@dataclass(frozen=True)
class StateColumns:
    """The state columns: names, dimensions, declared unit text, and factors and offsets to
    coherent SI (SI value = factor x declared value + offset; offsets are 0 but for units such as degC)."""

    names: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    declared: tuple[str, ...]
    to_si: tuple[float, ...]
    si_offset: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.si_offset:
            object.__setattr__(self, "si_offset", (0.0,) * len(self.names))

    @classmethod
    def from_dataset(cls, dataset: Any) -> "StateColumns":
        """The columns of a ``TrajectoryDataset`` (declared units, factors and offsets where it has them)."""
        declared = tuple(dataset.units.get(c, format_unit(d))
                         for c, d in zip(dataset.columns, dataset.dimensions))
        return cls(tuple(dataset.columns), tuple(dataset.dimensions), declared,
                   tuple(float(dataset.to_si.get(c, 1.0)) for c in dataset.columns),
                   tuple(float(dataset.si_offset.get(c, 0.0)) for c in dataset.columns))

    def parse(self, law: Any) -> sympy.Expr:
        """A law (text or SymPy) over these columns; see ``conslaw.dsl.expressions``."""
        return parse_expression(law, self.names)

    def declared_form(self, expression: sympy.Expr) -> sympy.Expr:
        """The SI expression rewritten for columns in their declared units (a factor that is a
        rational multiple of pi, such as degrees', written exactly: ``cos(pi*theta/180)``). With
        an offset unit (degC) the constant term the offsets add to a sum is left out: a conserved
        quantity plus a constant is the same law (``T1 + 2.5*T2``, not ``T1 + 2.5*T2 + 956.0``)."""
        symbols = column_symbols(self.names)
        factor = exact_float if "pi" in self.names else exact_factor  # a column named pi: no symbolic pi beside it
        declared = expression.xreplace({symbols[c]: (symbols[c] if k == 1.0 else factor(k) * symbols[c])
                                        + (exact_float(b) if b else 0)
                                        for c, k, b in zip(self.names, self.to_si, self.si_offset)
                                        if k != 1.0 or b})
        if any(self.si_offset) and declared.is_Add:
            declared -= declared.as_independent(*symbols.values(), as_Add=True)[0]
        return declared.replace(lambda node: node.is_Mul and node.has(sympy.pi) and any(a.is_Float for a in node.args),
                                _pi_folded)

    @property
    def coherent(self) -> bool:
        """Whether every column is declared in coherent SI (the declared view is the SI one)."""
        return all(factor == 1.0 for factor in self.to_si) and not any(self.si_offset)

    def unit_of(self, dimension: Dimension) -> ParsedUnit:
        """A law's unit in the declared units: the simplest product of the columns' declared
        units with ``dimension`` (``units.unit_from``: ``au**2/year``, ``cm**2/s**2``), or coherent
        SI when every column is declared in it or no such product exists."""
        si = ParsedUnit(format_unit(dimension), dimension, 1.0)
        if self.coherent:
            return si
        unit = unit_from(dimension, self.declared)
        return si if unit is None or unit.to_si == 1.0 else unit

    def to_dict(self) -> dict:
        return {"names": list(self.names), "units": [format_unit(d) for d in self.dimensions],
                "declared": list(self.declared), "to_si": list(self.to_si), "si_offset": list(self.si_offset)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "StateColumns":
        return cls(tuple(data["names"]), tuple(parse_unit(u).dimension for u in data["units"]),
                   tuple(data["declared"]), tuple(float(k) for k in data["to_si"]),
                   tuple(float(b) for b in data.get("si_offset", ())))  # result files before offsets had none


@dataclass(frozen=True)
class Parameter:
    """A fitted parameter: its template name (``c0``), value and unit (coherent SI)."""

    name: str
    value: float
    unit: Dimension

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": format_unit(self.unit)}


@dataclass(frozen=True)
class Evidence:
    """How well a law is conserved (see docs/discovery.md for every definition).

    ``ratio``: its smooth within-segment variation over the null's, on the training segments
    (fitted there); ``ratio_test``: the same on held-out trajectories with the training fit;
    ``ratio_control``: the same template refitted on surrogate data against another surrogate
    (how low the ratio gets by chance); ``error`` and ``error_test``: the standard errors of
    ``ratio`` and ``ratio_test`` (None for a record made before held-out errors were kept);
    ``variation``: median and worst relative variation along the trajectories (range over the
    law's typical magnitude); ``spread``: the variation of its per-trajectory means, on the
    same scale; ``level_share``: the share of the null's values that lie between the lowest and
    the highest of those means (0 when the means are one value to the null); ``paper``: the
    Noether Networks true-vs-uniform-random ratios, for comparison;
    ``noise_bias``: the most noise-biased nonlinear term of an accepted law;
    ``unresolved``: how much an accepted law changes between neighbouring samples beyond what the
    noise explains, ``{"ratio", "error"}`` (both ``conslaw.discovery.noise``); ``drift``: the
    p-value that an accepted law's level trends along its trajectories (``conslaw.discovery.drift``;
    None with fewer than 3 windows per trajectory); ``segments`` and ``segments_test``: how many
    training and held-out segments ``error`` and ``error_test`` come from (None for a record made
    before they were kept).
    """

    ratio: float
    ratio_test: Optional[float] = None
    ratio_control: Optional[float] = None
    error: float = 0.0
    variation: Mapping[str, float] = field(default_factory=dict)
    spread: Optional[float] = None
    paper: Optional[Mapping[str, Optional[float]]] = None
    noise_bias: Optional[Mapping[str, Any]] = None
    error_test: Optional[float] = None
    level_share: Optional[float] = None
    unresolved: Optional[Mapping[str, float]] = None
    drift: Optional[float] = None
    segments: Optional[int] = None
    segments_test: Optional[int] = None

    @property
    def worst_ratio(self) -> float:
        """The larger of the training and held-out ratios (the training one alone when there is
        no held-out ratio): what ``margin`` compares with the control."""
        return max(self.ratio, self.ratio_test if self.ratio_test is not None else 0.0)

    @property
    def margin(self) -> Optional[float]:
        """How many times better conserved than by chance: control ratio over ``worst_ratio``
        (None before the control is computed, and where the control or the law could not be
        judged: an inf ratio there is missing evidence, not infinitely better conservation)."""
        if self.ratio_control is None or not np.isfinite(self.ratio_control) or not np.isfinite(self.worst_ratio):
            return None
        return float("inf") if self.worst_ratio <= 0 else self.ratio_control / self.worst_ratio

    def to_dict(self) -> dict:
        return {"ratio": self.ratio, "ratio_test": self.ratio_test,
                "ratio_control": self.ratio_control, "margin": self.margin, "error": self.error,
                "variation": dict(self.variation), "spread": self.spread,
                "paper": dict(self.paper) if self.paper is not None else None,
                "noise_bias": dict(self.noise_bias) if self.noise_bias is not None else None,
                "error_test": self.error_test, "level_share": self.level_share,
                "unresolved": dict(self.unresolved) if self.unresolved is not None else None,
                "drift": self.drift, "segments": self.segments, "segments_test": self.segments_test}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Evidence":
        return cls(data["ratio"], data.get("ratio_test"), data.get("ratio_control"),
                   data.get("error") or 0.0, data.get("variation") or {}, data.get("spread"),
                   data.get("paper"), data.get("noise_bias"), data.get("error_test"), data.get("level_share"),
                   data.get("unresolved"), data.get("drift"), data.get("segments"), data.get("segments_test"))


REJECTIONS = {
    "ratio": "its ratio on the training, held-out or control data misses the threshold",
    "unresolved": "it varies faster than the sampling resolves",
    "lacking_term": "refitted with one more library term, one segment left out at a time, it gains beyond its error",
    "relation": "with a column an identity fixes replaced by its value from the identity, it is no law",
    "approximation": "a polynomial of the laws judged independent predicts it",
    "truncation": "it is approximate over part of an exact law's columns",
    "misfit": "its own terms, refitted freely, are steadier",
    "derived_column": "it is approximate and reads a column derived by --derive",
    "unneeded_column": "it is as steady with one of its columns held at its mean",
    "drifting": "its level drifts from window to window beside exact laws",
    "series": "it reads as a truncated power series (or an angle's, beside its sin/cos) and varies beyond the noise",
    "by_run": "its own terms, refitted on each run apart, are far steadier: each run has its own law, and it is their average",
    "beating": "its level drifts, but not one way on every trajectory as a loss to friction does: a slow exchange between motions",
    "unidentified": "a quantity of its own terms can be mixed into it unseen: the data do not fix its coefficients",
    "dependent": "it is a function of accepted laws that were then rejected",
}
"""Why a candidate is rejected (``Law.rejection``): by ratio, by sampling (``ranking``), for a
lacking term (the multi-term search, ``conslaw.terms.search``), or demoted by a rule of
``conslaw.discovery.demotions``, in the order ``demotions.demoted`` tries them."""


@dataclass(frozen=True)
class Law:
    """One candidate conservation law and everything conslaw found out about it."""

    expression: sympy.Expr
    columns: StateColumns
    unit: Dimension
    size: int
    origin: str
    template: str
    parameters: tuple[Parameter, ...]
    evidence: Evidence
    terms: tuple[str, ...] = ()
    accepted: bool = False
    quality: str = "rejected"
    independent: bool = False
    pareto: bool = False
    rank: int = 0
    variants: int = 0
    tailoring: Optional[Mapping[str, Any]] = None
    rejection: Optional[str] = None
    """Why a rejected law is rejected: a key of ``REJECTIONS``."""
    function_of: tuple[int, ...] = ()
    """For an accepted law not marked independent: the ranks of the independent laws it is a
    function of at the data (``independence.function_of``); else empty."""

    def replace(self, **changes: Any) -> "Law":
        return dataclasses.replace(self, **changes)

    def sympy(self, units: str = "declared") -> sympy.Expr:
        """The expression over the columns in their declared units, its value in
        ``unit_text("declared")`` (default; ``expressions.in_unit``; with a unit such as degC, up
        to the constant ``declared_form`` leaves out), or in SI."""
        if _checked_view(units) == "si" or self.columns.coherent:
            return self.expression
        return in_unit(self.columns.declared_form(self.expression), self.columns.unit_of(self.unit).to_si)

    def unit_text(self, units: str = "declared") -> str:
        """The unit of the law's value: in SI, or made of the columns' declared units
        (``StateColumns.unit_of``)."""
        return format_unit(self.unit) if _checked_view(units) == "si" else self.columns.unit_of(self.unit).text

    def latex_unit(self, units: str = "declared") -> str:
        """``unit_text`` typeset for LaTeX (upright unit names)."""
        text = self.unit_text(units)
        return latex_unit(self.unit) if text == format_unit(self.unit) else latex_unit_text(text)

    def text(self, units: str = "declared", digits: Optional[int] = None) -> str:
        """``sstr`` of the law; with ``digits``, its numbers to that many significant digits,
        written without trailing zeros (``3.0``, ``2.44425``)."""
        if digits is None:
            return sympy.sstr(self.sympy(units))
        return sympy.sstr(rounded_expression(self.sympy(units), digits), full_prec=False)

    def latex(self, units: str = "declared", digits: int = LATEX_DIGITS) -> str:
        """The law typeset by ``sympy.latex``, its numbers to ``digits`` significant digits; with
        multi-letter column names (``latex_names``), products get an explicit ``\\cdot`` so
        ``px y`` is not ``p x y``."""
        expression = rounded_expression(self.sympy(units), digits)
        names = latex_names(self.columns.names)
        if names:
            return sympy.latex(expression, symbol_names=names, mul_symbol="dot")
        return sympy.latex(expression)

    def numpy(self, units: str = "declared") -> Callable[[np.ndarray], np.ndarray]:
        """``g(states)`` over numpy states ``(..., d)`` in the chosen units."""
        return numpy_function(self.sympy(units), self.columns.names)

    def torch(self, units: str = "declared") -> Callable:
        """``g(states)`` over torch tensors ``(..., d)`` in the chosen units (keeps the dtype)."""
        return torch_function(self.sympy(units), self.columns.names)

    def to_dict(self) -> dict:
        """result.json's candidate entry."""
        expression, declared = full_precision_text(self.expression), self.sympy("declared")
        return {
            "rank": self.rank, "expression": expression,
            "expression_declared": expression if declared is self.expression else full_precision_text(declared),
            "latex": self.latex(),
            "template": self.template,
            "parameters": {p.name: p.to_dict() for p in self.parameters},
            "unit": format_unit(self.unit), "unit_declared": self.unit_text("declared"),
            "size": self.size, "origin": self.origin,
            "terms": list(self.terms), "conservation": self.evidence.to_dict(),
            "accepted": self.accepted, "quality": self.quality, "independent": self.independent,
            "pareto": self.pareto, "variants": self.variants, "tailoring": self.tailoring,
            "rejection": self.rejection, "function_of": list(self.function_of),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], columns: StateColumns) -> "Law":
        """A law back from its result.json entry (the SI expression, parsed onto the columns)."""
        parameters = tuple(Parameter(name, float(entry["value"]), parse_unit(entry["unit"]).dimension)
                           for name, entry in (data.get("parameters") or {}).items())
        return cls(columns.parse(data["expression"]), columns, parse_unit(data["unit"]).dimension,
                   int(data["size"]), data["origin"], data["template"], parameters,
                   Evidence.from_dict(data["conservation"]), tuple(data.get("terms") or ()),
                   bool(data["accepted"]), data.get("quality", "rejected"),
                   bool(data.get("independent")), bool(data.get("pareto")), int(data["rank"]),
                   int(data.get("variants") or 0), data.get("tailoring"), data.get("rejection"),
                   tuple(int(rank) for rank in data.get("function_of") or ()))


def _checked_view(units: str) -> str:
    """``units`` if it is one of ``UNIT_VIEWS``; else a UsageError naming them."""
    if units not in UNIT_VIEWS:
        raise UsageError(f"units must be one of {', '.join(UNIT_VIEWS)}, got {units!r}")
    return units


def rounded_expression(expression: sympy.Expr, digits: int) -> sympy.Expr:
    """The expression with every float to ``digits`` significant digits, and a coefficient that
    rounds to 1 or -1 written as the integer (``vx**2``, not ``1.0*vx**2``)."""
    def number(value: sympy.Float) -> sympy.Expr:
        short = sympy.Float(value, digits)
        return sympy.Integer(int(short)) if abs(rounded(float(value), digits)) == 1.0 else short

    return expression.xreplace({f: number(f) for f in expression.atoms(sympy.Float)})


def rounded(value: float, digits: int = 6) -> float:
    """``value`` to ``digits`` significant digits (for tables; laws keep full precision)."""
    return float(f"{value:.{digits}g}")
