"""A variant's true laws in its own columns and units (``conslaw.datasets.variants``)."""
from __future__ import annotations

import functools
from typing import Mapping

import sympy

from conslaw.datasets.specs import CoordinateMap, SystemSpec, drop_additive_constant
from conslaw.datasets.systems import SYSTEMS
from conslaw.dsl.units import ParsedUnit
from conslaw.errors import UsageError

NATIVE = "native"
"""The coordinates a system is defined in (its ``SystemSpec.columns``)."""


def coordinate_map(spec: SystemSpec, coordinates: str) -> CoordinateMap | None:
    """The named coordinate map (``None`` for the native coordinates)."""
    if coordinates == NATIVE:
        return None
    for cmap in spec.coordinates:
        if cmap.name == coordinates:
            return cmap
    valid = ", ".join([NATIVE, *(c.name for c in spec.coordinates)])
    raise UsageError(f"coordinates={coordinates!r} is not available for {spec.name!r}; valid: {valid}")


@functools.lru_cache(maxsize=64)
def variant_laws(system: str, coordinates: str, constants: tuple[tuple[str, float], ...]) -> tuple[tuple[str, sympy.Expr], ...]:
    """The system's true laws in the variant's columns (SI values), expanded, without additive
    constant; then the coordinate map's constraints."""
    spec = SYSTEMS[system]
    values = dict(constants)
    laws = spec.laws(values)
    cmap = coordinate_map(spec, coordinates)
    if cmap is None:
        return tuple(laws)
    assumed = {c: sympy.Symbol(c, positive=True) if c in cmap.positive else sympy.Symbol(c) for c in cmap.columns}
    plain = {assumed[c]: sympy.Symbol(c) for c in cmap.columns}
    native = {sympy.Symbol(k): v for k, v in cmap.native(values, assumed).items()}
    transformed = []
    for name, law in laws:
        expression = sympy.expand(law.subs(native, simultaneous=True))
        if cmap.scales is None:
            expression = sympy.expand(sympy.trigsimp(expression))
        transformed.append((name, drop_additive_constant(expression.xreplace(plain))))
    constraints = cmap.constraints(values, assumed) if cmap.constraints else {}
    transformed += [(name, drop_additive_constant(sympy.expand(law).xreplace(plain)))
                    for name, law in constraints.items()]
    return tuple(transformed)


def exact_unit_factor(unit: ParsedUnit) -> sympy.Expr:
    """A unit's factor to SI as an exact number where it is one (deg: pi/180, ms: 1/1000). Not
    ``dsl.expressions.exact_factor``, which prints laws and keeps a float for a factor that is no
    multiple of pi: a variant's true laws are compared in exact arithmetic."""
    candidate = sympy.nsimplify(unit.to_si, [sympy.pi])
    if abs(float(candidate) - unit.to_si) <= 1e-15 * abs(unit.to_si):
        return candidate
    return sympy.Rational(repr(unit.to_si))


def in_declared_units(law: sympy.Expr, units: Mapping[str, ParsedUnit]) -> sympy.Expr:
    """A law in SI values rewritten for values in the declared ``units`` (SI value = factor x
    declared + offset, the factor exact where it is: ``exact_unit_factor``)."""
    substitution = {sympy.Symbol(c): exact_unit_factor(unit) * sympy.Symbol(c) + sympy.Rational(repr(unit.offset))
                    for c, unit in units.items() if unit.to_si != 1 or unit.offset}
    return drop_additive_constant(sympy.expand(law.subs(substitution, simultaneous=True)))
