"""Physical dimensions as exact exponent vectors, with angle as a dimension of its own.

pint parses unit strings at the boundary (``parse_unit``); inside conslaw a unit is a
``Dimension``: a tuple of ``Fraction`` exponents over the base dimensions listed in
``dimensions.txt`` (SI's seven, angle and a camera's pixel).
"""
from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from conslaw.errors import ConslawError, UsageError


def _read_vocabulary() -> tuple[tuple[str, str, str], ...]:
    text = resources.files("conslaw.dsl").joinpath("dimensions.txt").read_text()
    rows = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, pint_dimension, symbol = line.split()
            rows.append((name, pint_dimension, symbol))
    return tuple(rows)


BASE_DIMENSIONS = _read_vocabulary()
BASE_NAMES = tuple(name for name, _, _ in BASE_DIMENSIONS)
BASE_SYMBOLS = tuple(symbol for _, _, symbol in BASE_DIMENSIONS)
_ANGLE_INDEX = BASE_NAMES.index("angle")


@dataclass(frozen=True, order=True)
class Dimension:
    """An exact exponent vector over ``BASE_NAMES``; hashable and immutable."""

    exponents: tuple[Fraction, ...]

    @classmethod
    def of(cls, **powers: int | Fraction) -> "Dimension":
        unknown = set(powers) - set(BASE_NAMES)
        if unknown:
            raise ValueError(f"unknown base dimension(s): {sorted(unknown)}")
        return cls(tuple(Fraction(powers.get(name, 0)) for name in BASE_NAMES))

    def __mul__(self, other: "Dimension") -> "Dimension":
        return Dimension(tuple(a + b for a, b in zip(self.exponents, other.exponents)))

    def __truediv__(self, other: "Dimension") -> "Dimension":
        return Dimension(tuple(a - b for a, b in zip(self.exponents, other.exponents)))

    def __pow__(self, power: int | Fraction) -> "Dimension":
        power = Fraction(power)
        return Dimension(tuple(a * power for a in self.exponents))

    @property
    def is_dimensionless(self) -> bool:
        return not any(self.exponents)

    @property
    def is_angle(self) -> bool:
        return self == ANGLE

    @property
    def angle_power(self) -> Fraction:
        """The exponent of angle (1 for rad/s, 0 for m)."""
        return self.exponents[_ANGLE_INDEX]

    def __str__(self) -> str:
        return format_unit(self)

    def __repr__(self) -> str:
        return f"Dimension({format_unit(self)!r})"


DIMENSIONLESS = Dimension(tuple(Fraction(0) for _ in BASE_NAMES))
ANGLE = Dimension.of(angle=1)


def _power_text(symbol: str, exponent: Fraction) -> str:
    if exponent == 1:
        return symbol
    if exponent.denominator == 1:
        return f"{symbol}**{exponent.numerator}"
    return f"{symbol}**({exponent.numerator}/{exponent.denominator})"


def format_unit(dimension: Dimension) -> str:
    """Coherent SI text such as ``kg**2*m**4/s**2`` (``1`` when dimensionless); pint parses it."""
    numerator = [
        _power_text(sym, e) for sym, e in zip(BASE_SYMBOLS, dimension.exponents) if e > 0
    ]
    denominator = [
        _power_text(sym, -e) for sym, e in zip(BASE_SYMBOLS, dimension.exponents) if e < 0
    ]
    text = "*".join(numerator) or "1"
    if len(denominator) == 1:
        text += "/" + denominator[0]
    elif denominator:
        text += "/(" + "*".join(denominator) + ")"
    return text


NAMED_UNITS = ("N", "J", "W", "Pa", "C", "V", "ohm", "S", "F", "H", "Wb", "T")
"""Derived SI units that may stand for a unit of several base units (``named_unit``)."""
NAMED_LATEX = {"ohm": r"\Omega"}


@functools.lru_cache(maxsize=256)
def named_unit(dimension: Dimension) -> str:
    """``format_unit(dimension)``, or, where that takes two base units or more and one derived SI
    unit of ``NAMED_UNITS`` to a power (-4 .. 4) is the same dimension, that power: ``ohm**2``
    for kg**2*m**4/(s**6*A**4) (an LC circuit's L/C), ``1/F`` for s**-4*A**-2*kg*m**2. pint
    parses either."""
    if sum(exponent != 0 for exponent in dimension.exponents) < 2:
        return format_unit(dimension)
    for power in (1, -1, 2, -2, 3, -3, 4, -4):  # the lowest power first: S, not 1/ohm
        for name in NAMED_UNITS:
            if parse_unit(name).dimension ** power == dimension:
                return _power_text(name, Fraction(power)) if power > 0 else "1/" + _power_text(name, Fraction(-power))
    return format_unit(dimension)


def latex_named_unit(dimension: Dimension) -> str:
    r"""``named_unit`` typeset as ``latex_unit`` typesets a dimension (``\Omega^{2}``)."""
    text = named_unit(dimension)
    if text == format_unit(dimension):
        return latex_unit(dimension)
    typeset = latex_unit_text(text)
    for name, symbol in NAMED_LATEX.items():
        typeset = typeset.replace(r"\mathrm{" + name + "}", symbol)
    return typeset


def latex_unit(dimension: Dimension) -> str:
    r"""The unit typeset for LaTeX, e.g. ``\mathrm{kg}^{2}\,\mathrm{m}^{4}\,\mathrm{s}^{-2}``."""
    parts = []
    for symbol, exponent in zip(BASE_SYMBOLS, dimension.exponents):
        if exponent == 0:
            continue
        power = "" if exponent == 1 else "^{" + str(exponent) + "}"
        parts.append(r"\mathrm{" + symbol + "}" + power)
    return r"\,".join(parts) if parts else "1"


def latex_unit_text(text: str) -> str:
    r"""A unit written as ``format_unit`` writes one (``au**2/year``, ``m/(kg*s**2)``) typeset as
    ``latex_unit`` typesets a dimension: ``\mathrm{au}^{2}\,\mathrm{year}^{-1}``."""
    depth, split = 0, len(text)
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "/" and depth == 0:
            split = i
            break
    numerator, denominator = text[:split], text[split + 1:]
    parts = []
    for sign, part in ((1, numerator), (-1, denominator)):
        for name, power in re.findall(r"([A-Za-z_]\w*)(?:\*\*\(?(\d+(?:/\d+)?)\)?)?", part):
            exponent = sign * Fraction(power or 1)
            parts.append(r"\mathrm{" + name + "}" + ("" if exponent == 1 else "^{" + str(exponent) + "}"))
    return r"\,".join(parts) if parts else "1"


@functools.lru_cache(maxsize=1)
def _registry():
    import pint

    registry = pint.UnitRegistry()
    for line in resources.files("conslaw.dsl").joinpath("unit_names.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            registry.define(line)  # unit_names.txt: names pint lacks
    return registry


@functools.lru_cache(maxsize=1)
def _root_unit_dimensions() -> dict[str, Dimension]:
    """pint's root unit names (kilogram, meter, radian, ...) mapped to conslaw dimensions."""
    registry = _registry()
    mapping: dict[str, Dimension] = {}
    for name, pint_dimension, symbol in BASE_DIMENSIONS:
        root = registry.get_root_units(symbol)[1]
        (root_name,) = root._units.keys()
        mapping[root_name] = Dimension.of(**{name: 1})
    return mapping


@dataclass(frozen=True)
class ParsedUnit:
    """A user's unit string resolved to a dimension and its conversion to coherent SI:
    SI value = ``to_si`` x value + ``offset`` (``offset`` is nonzero only for a unit whose zero
    is not SI's, such as degC: 0 degC is 273.15 K)."""

    text: str
    dimension: Dimension
    to_si: float
    offset: float = 0.0


LARGE_VALUE = 1e9
"""An offset unit's factor is read off this value, where the offset's rounding is negligible."""


@functools.lru_cache(maxsize=256)
def _scaled_units(text: str) -> tuple[Any, float]:
    """pint's units of ``text`` and the number they are multiplied by: 1, or the number a unit is
    written with (``s/30``, a video's frame at 30 per second; ``0.04*s``; ``33.3 ms``), which
    must be positive. Raises pint's errors for text that is no unit."""
    registry = _registry()
    try:
        return registry.parse_units(text), 1.0
    except ValueError as error:
        if "scaling factor" not in str(error):
            raise
    quantity = registry.parse_expression(text)
    scale = float(quantity.magnitude)
    if not (math.isfinite(scale) and scale > 0):
        raise ConslawError(f"unit {text!r} is {scale:g} times a unit; a unit's number must be finite and positive")
    return quantity.units, scale


def is_scaled(text: str) -> bool:
    """Whether a parsed unit is written with a number (``s/30``): such a unit is not combined
    into the unit of a law (``unit_from``)."""
    return _scaled_units(text.strip())[1] != 1.0


@functools.lru_cache(maxsize=256)
def parse_unit(text: str) -> ParsedUnit:
    """Parse a pint unit string; angle units keep an angle exponent. Raises ``ConslawError``."""
    import pint

    cleaned = text.strip()
    if not cleaned:
        raise ConslawError("empty unit string (a dimensionless column is '1')")
    registry = _registry()
    try:
        parsed, scale = _scaled_units(cleaned)
        _, root = registry.get_root_units(parsed)
        # pint's root unit for mass is the gram; coherent SI (the mks base system) uses the kilogram.
        factor = registry.Quantity(1.0, parsed).to_base_units().magnitude
        zero, two = (registry.Quantity(value, parsed).to_base_units() for value in (0.0, 2.0))
    except ConslawError:
        raise
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
        raise ConslawError(f"unknown unit {cleaned!r} ({type(exc).__name__})") from None
    except Exception as exc:  # pint's tokenizer raises assorted errors on malformed text
        raise ConslawError(f"unknown unit {cleaned!r} ({type(exc).__name__})") from None
    if not np.isclose(two.magnitude - factor, factor - zero.magnitude, rtol=1e-12, atol=0.0):
        raise ConslawError(f"unit {cleaned!r} is logarithmic: conslaw converts values by a factor; "
                           "declare the column in a linear unit")
    offset = float(zero.magnitude)  # degC, degF: absolute values; inside a compound unit (degC/s) a difference
    if offset:
        factor = (registry.Quantity(LARGE_VALUE, parsed).to_base_units().magnitude - offset) / LARGE_VALUE
    factor *= scale
    roots = _root_unit_dimensions()
    dimension = DIMENSIONLESS
    for name, power in root._units.items():
        if not math.isfinite(power):
            raise ConslawError(f"unit {cleaned!r} raises {name} to the power {power}; a power must be finite")
        if name not in roots:
            if registry.get_dimensionality(name) == {}:  # count, bit: pint counts them dimensionless
                continue
            raise ConslawError(f"unit {cleaned!r} has a dimension conslaw does not model ({name})")
        dimension = dimension * roots[name] ** Fraction(power).limit_denominator(1000)
    return ParsedUnit(cleaned, dimension, float(factor), offset)


def parse_units_spec(spec: str) -> dict[str, ParsedUnit]:
    """Parse ``"q=rad,p=kg*m**2/s"`` into an ordered mapping column -> ``ParsedUnit``."""
    if spec is None or not spec.strip():
        raise UsageError("--units is empty; expected e.g. \"q=rad,p=kg*m**2/s\"")
    units: dict[str, ParsedUnit] = {}
    for item in spec.split(","):
        if "=" not in item:
            raise UsageError(f"--units entry {item.strip()!r} is not of the form name=unit")
        name, unit = (part.strip() for part in item.split("=", 1))
        if not name.isidentifier():
            raise UsageError(f"--units entry {item.strip()!r}: {name!r} is not a valid column name")
        if not unit:
            raise UsageError(f"--units entry {item.strip()!r} has no unit after '='")
        if name in units:
            raise UsageError(f"--units names column {name!r} twice")
        try:
            units[name] = parse_unit(unit)
        except ConslawError as exc:
            raise UsageError(f"--units entry for {name!r}: {exc}") from None
    return units


def dimension_product(dimensions: Iterable[Dimension]) -> Dimension:
    result = DIMENSIONLESS
    for dimension in dimensions:
        result = result * dimension
    return result


MAX_UNIT_POWER = 4
"""``unit_from`` tries each declared unit to powers -4 .. 4."""
MAX_COMBINED_UNITS = 5
"""``unit_from`` combines at most this many distinct declared units (the first ones)."""


@functools.lru_cache(maxsize=1024)
def unit_from(dimension: Dimension, declared: tuple[str, ...]) -> Optional[ParsedUnit]:
    """``dimension`` as the simplest product of powers of the ``declared`` unit texts: the fewest
    powers in all, then the fewest units, then the earliest ones (``au**2/year`` for m**2/s from
    ``au`` and ``au/year``). Written with the user's spellings, in the order of ``format_unit``.
    None when no product of powers up to ``MAX_UNIT_POWER`` has the dimension, or when
    ``dimension`` is dimensionless."""
    distinct = {text: parse_unit(text) for text in declared}
    units = [unit for unit in distinct.values()  # a product of degC is no temperature scale: left to SI
             if not unit.dimension.is_dimensionless and not unit.offset and not is_scaled(unit.text)
             ][:MAX_COMBINED_UNITS]
    if dimension.is_dimensionless or not units:
        return None
    matrix = np.array([[float(e) for e in unit.dimension.exponents] for unit in units])
    powers = np.array(list(itertools.product(range(-MAX_UNIT_POWER, MAX_UNIT_POWER + 1), repeat=len(units))))
    target = np.array([float(e) for e in dimension.exponents])
    matching = powers[np.all(np.abs(powers @ matrix - target) < 1e-9, axis=1)]
    if not len(matching):
        return None
    chosen = min(matching.tolist(), key=lambda p: (sum(map(abs, p)), sum(e != 0 for e in p), [e == 0 for e in p]))
    text = _power_product(chosen, units)
    if text is None:
        return None
    factor = float(np.prod([unit.to_si ** e for unit, e in zip(units, chosen)]))
    parsed = parse_unit(text)
    if parsed.dimension != dimension or not np.isclose(parsed.to_si, factor, rtol=1e-12, atol=0.0):
        return None
    return ParsedUnit(text, dimension, factor)


def _power_product(powers: Sequence[int], units: Sequence[ParsedUnit]) -> Optional[str]:
    """The product of ``units`` to ``powers`` as text over the unit names the user wrote; None
    when a name cannot be traced to one the user wrote."""
    registry = _registry()
    exponents: dict[str, Fraction] = {}
    spelling: dict[str, str] = {}
    for unit, power in zip(units, powers):
        for token in re.findall(r"(?<![\w.])[A-Za-z_]\w*", unit.text):
            try:
                names = dict(registry.parse_units(token)._units)
            except Exception:  # pint's tokenizer raises assorted errors; the spelling is only cosmetic
                return None
            if len(names) == 1:
                spelling.setdefault(next(iter(names)), token)
        for name, exponent in registry.parse_units(unit.text)._units.items():
            exponents[name] = exponents.get(name, Fraction(0)) + Fraction(exponent).limit_denominator(1000) * power
    if any(name not in spelling for name, e in exponents.items() if e):
        return None
    numerator = [_power_text(spelling[n], e) for n, e in exponents.items() if e > 0]
    denominator = [_power_text(spelling[n], -e) for n, e in exponents.items() if e < 0]
    text = "*".join(numerator) or "1"
    if len(denominator) == 1:
        return text + "/" + denominator[0]
    return text + "/(" + "*".join(denominator) + ")" if denominator else text
