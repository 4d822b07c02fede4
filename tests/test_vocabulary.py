"""The opt-in vocabulary: rational powers, sqrt, exp, log and abs under the same unit rules."""
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy

from conslaw.datasets import load_dataset
from conslaw.dsl import (
    DIMENSIONLESS, FREE, EXTENDED_OPERATORS, PAPER_OPERATORS, enumerate_formulas, parse_unit,
    resolve_operators,
)
from conslaw.dsl.grammar import GradientEvaluator
from conslaw.dsl.operators import OPERATORS
from conslaw.errors import UsageError
from conslaw.terms import find_multiterm_laws

METRE = parse_unit("m").dimension


def test_extended_unit_rules():
    assert OPERATORS["sqrt"].unit_rule(METRE ** 2) == METRE
    assert OPERATORS["rsqrt"].unit_rule(METRE ** 2) == METRE ** -1
    assert OPERATORS["inv"].unit_rule(METRE) == METRE ** -1
    assert OPERATORS["cube"].unit_rule(METRE) == METRE ** 3
    assert OPERATORS["sqrt"].unit_rule(METRE).exponents[1] == Fraction(1, 2)
    assert OPERATORS["exp"].unit_rule(METRE) is None
    assert OPERATORS["log"].unit_rule(DIMENSIONLESS) == DIMENSIONLESS
    assert OPERATORS["exp"].unit_rule(FREE) == DIMENSIONLESS  # exp(c*x) with c in 1/m
    assert OPERATORS["abs"].unit_rule(METRE) == METRE


def test_extended_enumeration_is_unit_valid_and_gradients_are_exact():
    dims = [METRE, parse_unit("kg*m/s").dimension]
    space = enumerate_formulas(["q", "p"], dims, 4, operators=PAPER_OPERATORS + EXTENDED_OPERATORS)
    texts = {space.table.to_text(r) for r in space.roots}
    assert "exp(q)" not in texts and "log(p)" not in texts  # dimensionful arguments
    assert any("exp(" in t for t in texts) and any("sqrt(" in t for t in texts)
    assert len(space) > len(enumerate_formulas(["q", "p"], dims, 4))
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, size=(20, 2))
    evaluator = GradientEvaluator(space.table, x)
    q, p = sympy.symbols("q p", positive=True)  # the probe states are positive
    for root in space.roots[::11]:
        params = list(rng.uniform(0.5, 1.5, size=space.table[root].n_params))
        _, gradient = evaluator(root, params)
        expr = space.table.to_sympy(root, params).subs({sympy.Symbol("q"): q, sympy.Symbol("p"): p})
        reference = np.stack([
            np.broadcast_to(np.asarray(sympy.lambdify((q, p), sympy.diff(expr, v))(x[:, 0], x[:, 1]),
                                       dtype=float), (20,)) for v in (q, p)], axis=1)
        np.testing.assert_allclose(np.broadcast_to(gradient, (20, 2)), reference, rtol=1e-6, atol=1e-9)


def test_kepler_energy_is_reachable_with_rational_powers():
    dataset = load_dataset("two-body")
    result = find_multiterm_laws(dataset, term_depth=6, max_factors=1,
                                 operators=("+", "*", "square", "rsqrt"))
    top = result.accepted[0]
    x, y, px, py = sympy.symbols("x y px py")
    energy = sympy.expand(sympy.sympify(top["expression"]))
    r_inv = 1 / sympy.sqrt(x**2 + y**2)
    k = float(dataset.metadata["constants"]["k"]["value"])
    m = float(dataset.metadata["constants"]["m"]["value"])
    # (px**2 + py**2)/(2m) - k/r, up to scale: the ratio of the coefficients is -2 m k.
    assert float(energy.coeff(r_inv) / energy.coeff(px**2)) == pytest.approx(-2 * m * k, rel=1e-3)
    assert top["independent"]


def test_operator_specification_replaces_or_adds():
    assert resolve_operators("+,-,*,sin") == ("+", "-", "*", "sin")
    assert resolve_operators("+log,+rsqrt") == PAPER_OPERATORS + ("log", "rsqrt")
    assert resolve_operators("default,+log") == PAPER_OPERATORS + ("log",)
    assert resolve_operators(" + , * ,+,*") == ("+", "*")  # "+" alone is addition; no duplicates
    assert resolve_operators("+square,+log,+log") == PAPER_OPERATORS + ("log",)
    assert resolve_operators(("+", "*", "square", "rsqrt")) == ("+", "*", "square", "rsqrt")
    for spec, culprit in [("+,foo", "'foo'"), ("+bar", "'bar'"), ("", "no operator given")]:
        with pytest.raises(UsageError) as error:
            resolve_operators(spec)
        message = str(error.value)
        assert culprit in message and "\n" not in message
        assert message.startswith("--operators: ") and "rsqrt" in message  # lists the valid ones


def test_an_added_operator_reaches_the_enumeration():
    dims = [METRE, parse_unit("kg*m/s").dimension]
    space = enumerate_formulas(["q", "p"], dims, 3, operators="+rsqrt")
    assert space.operators == PAPER_OPERATORS + ("rsqrt",)
    assert "1/sqrt(q**2)" in {space.table.to_text(r) for r in space.roots}


def test_every_operator_is_documented():
    text = (Path(__file__).resolve().parents[1] / "docs" / "dsl.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in text.splitlines()
            if line.startswith("| `")}
    assert set(OPERATORS) <= rows
