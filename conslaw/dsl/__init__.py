"""The units-aware formula DSL: dimensions, operators, formula trees and enumeration."""
from conslaw.dsl.budget import EnumerationConfig, Estimate, estimate_enumeration
from conslaw.dsl.enumerate import FormulaSpace, count_unit_valid_trees, enumerate_formulas
from conslaw.dsl.grammar import Evaluator, Node, NodeTable
from conslaw.dsl.operators import (
    EXTENDED_OPERATORS, FREE, OPERATORS, PAPER_OPERATORS, resolve_operators,
)
from conslaw.dsl.units import (
    ANGLE, DIMENSIONLESS, Dimension, format_unit, latex_unit, parse_unit, parse_units_spec,
)

__all__ = [
    "ANGLE", "DIMENSIONLESS", "Dimension", "EXTENDED_OPERATORS", "EnumerationConfig", "Estimate",
    "Evaluator", "FREE", "FormulaSpace", "Node", "NodeTable", "OPERATORS", "PAPER_OPERATORS",
    "count_unit_valid_trees", "enumerate_formulas", "estimate_enumeration", "format_unit",
    "latex_unit", "parse_unit", "parse_units_spec", "resolve_operators",
]
