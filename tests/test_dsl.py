"""The units-aware DSL: dimension algebra, unit rules, enumeration, pruning and conversions."""
from fractions import Fraction
import subprocess
import sys

import numpy as np
import pytest
import sympy
import torch

from conslaw.dsl import (
    ANGLE, DIMENSIONLESS, FREE, Dimension, Evaluator, enumerate_formulas,
    format_unit, parse_unit, parse_units_spec,
)
from conslaw.dsl.operators import OPERATORS
from conslaw.errors import ConslawError, UsageError

PENDULUM = (["q", "p"], [parse_unit("rad").dimension, parse_unit("kg*m**2/s").dimension])
SPRING = (["q", "p"], [parse_unit("m").dimension, parse_unit("kg*m/s").dimension])


@pytest.fixture(scope="module")
def pendulum_space():
    return enumerate_formulas(*PENDULUM, depth=7)


@pytest.fixture(scope="module")
def spring_space():
    return enumerate_formulas(*SPRING, depth=7)


def texts(space):
    return {space.table.to_text(root) for root in space.roots}


def test_dimension_algebra_is_exact_and_keeps_angle():
    newton_metre = parse_unit("N*m").dimension
    assert newton_metre == Dimension.of(mass=1, length=2, time=-2)
    assert parse_unit("rad").dimension == ANGLE
    assert parse_unit("deg").dimension == ANGLE
    assert parse_unit("rad/s").dimension == ANGLE / Dimension.of(time=1)
    assert parse_unit("deg").to_si == pytest.approx(np.pi / 180)
    assert parse_unit("m").dimension ** Fraction(1, 2) == Dimension.of(length=Fraction(1, 2))
    assert all(isinstance(e, Fraction) for e in newton_metre.exponents)
    assert format_unit(parse_unit("kg*m**2/s").dimension ** 2) == "kg**2*m**4/s**2"
    assert (ANGLE / ANGLE).is_dimensionless and not ANGLE.is_dimensionless


def test_units_spec_errors_name_the_culprit():
    assert list(parse_units_spec("q=rad, p=kg*m**2/s")) == ["q", "p"]
    for spec, culprit in [("q=", "q="), ("q rad", "q rad"), ("q=rad,q=m", "'q'"),
                          ("q=furlongz", "furlongz"), ("", "empty")]:
        with pytest.raises(UsageError, match=culprit):
            parse_units_spec(spec)
    with pytest.raises(ConslawError, match="unknown unit"):
        parse_unit("bananas")


def test_unit_rules_reject_cos_of_momentum_and_mixed_sums():
    rad, momentum = PENDULUM[1]
    assert OPERATORS["cos"].unit_rule(momentum) is None
    assert OPERATORS["cos"].unit_rule(rad) == DIMENSIONLESS
    assert OPERATORS["cos"].unit_rule(FREE) == DIMENSIONLESS
    assert OPERATORS["+"].unit_rule(rad, momentum) is None
    assert OPERATORS["+"].unit_rule(FREE, momentum) == momentum
    assert OPERATORS["*"].unit_rule(rad, momentum) == rad * momentum


def test_pendulum_energy_form_is_valid_with_the_right_parameter_unit(pendulum_space):
    table = pendulum_space.table
    by_text = {table.to_text(r): r for r in pendulum_space.roots}
    root = by_text["c0*cos(q) + p**2"]
    assert format_unit(table.parameter_units(root)[0]) == "kg**2*m**4/s**2"
    assert table[root].size == 7
    assert table.linear_parameters(root) == [True]
    forbidden = {"cos(p)", "p + q", "q + p", "sin(p)", "cos(p) + q"}
    assert not forbidden & texts(pendulum_space)


def test_energy_forms_present_at_depth_7(pendulum_space, spring_space):
    assert "c0*cos(q) + p**2" in texts(pendulum_space)
    assert "c0*p**2 + q**2" in texts(spring_space)
    by_text = {spring_space.table.to_text(r): r for r in spring_space.roots}
    assert format_unit(spring_space.table.parameter_units(by_text["c0*p**2 + q**2"])[0]) == (
        "s**2/kg**2"
    )


def test_multi_parameter_and_product_forms_exist():
    columns = ["x", "y", "px", "py"]
    dims = [parse_unit(u).dimension for u in ("m", "m", "kg*m/s", "kg*m/s")]
    space = enumerate_formulas(columns, dims, depth=7)
    found = texts(space)
    assert "px*y - py*x" in found or "-px*y + py*x" in found
    assert any(space.table[r].n_params >= 2 for r in space.roots)


def test_counts_are_monotone_and_pruning_removes_duplicates(pendulum_space):
    previous = 0
    for depth in range(1, 8):
        total = len(enumerate_formulas(*PENDULUM, depth=depth))
        assert total >= previous
        previous = total
    assert previous == len(pendulum_space)
    removed = pendulum_space.removed
    for step in ("unit_invalid", "commutative", "associative", "redundant_parameter",
                 "observational", "affine_duplicate"):
        assert removed[step] > 0, step
    # The raw unit-valid space up to 7 nodes (a dynamic-program count) matches an
    # independent count of 62,637 pendulum trees (shared/reference/enumeration-counts.md).
    assert sum(pendulum_space.raw_counts_by_size.values()) == 62637
    found = texts(pendulum_space)
    assert "p*q" in found and "q*p" not in found  # commutativity
    assert "c0*p*q" not in found  # a bare scale is redundant at the root
    assert len(found) == len(pendulum_space)  # no formula is listed twice


def test_no_redundant_parameters_or_constant_offsets(pendulum_space):
    for root in pendulum_space.roots:
        expr = pendulum_space.table.to_sympy(root)
        assert expr.free_symbols & {sympy.Symbol("q"), sympy.Symbol("p")}
        constant_part = sympy.Add.make_args(expr)
        bare = [t for t in constant_part if t.free_symbols and
                t.free_symbols <= {sympy.Symbol(f"c{k}") for k in range(5)}]
        assert not bare, expr


def test_sympy_round_trip_and_numpy_torch_agree(pendulum_space):
    table = pendulum_space.table
    rng = np.random.default_rng(1)
    data = rng.uniform(0.5, 2.0, size=(50, 2))
    numpy_eval = Evaluator(table, data)
    torch_eval = Evaluator(table, torch.tensor(data), backend="torch")
    for root in pendulum_space.roots[::37]:
        params = list(rng.uniform(0.5, 1.5, size=table[root].n_params))
        expr = table.to_sympy(root)
        assert sympy.sympify(str(expr)) == expr
        reference = sympy.lambdify([sympy.Symbol("q"), sympy.Symbol("p")] +
                                   [sympy.Symbol(f"c{k}") for k in range(len(params))],
                                   expr, "numpy")(data[:, 0], data[:, 1], *params)
        values = numpy_eval(root, params) * np.ones(len(data))
        torch_values = torch_eval(root, [torch.tensor(v) for v in params]) * torch.ones(len(data))
        np.testing.assert_allclose(values, reference, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(values, torch_values.numpy(), rtol=1e-12, atol=1e-14)


def test_parameter_free_mode_lists_terms_only():
    space = enumerate_formulas(*PENDULUM, depth=4, parameters=False)
    found = texts(space)
    assert {"q", "p", "cos(q)", "p**2", "p*q"} <= found
    assert all(space.table[r].n_params == 0 for r in space.roots)
    assert "cos(p)" not in found


def test_cli_enumerate_output_parses():
    result = subprocess.run(
        [sys.executable, "-m", "conslaw", "enumerate", "--units", "q=rad,p=kg*m**2/s",
         "--depth", "5"], capture_output=True, text=True, check=True)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(enumerate_formulas(*PENDULUM, depth=5))
    for line in lines:
        sympy.sympify(line)
    assert "formulas up to 5 nodes" in result.stderr
    count = subprocess.run(
        [sys.executable, "-m", "conslaw", "enumerate", "--units", "q=rad,p=kg*m**2/s",
         "--depth", "5", "--count"], capture_output=True, text=True, check=True)
    assert int(count.stdout) == len(lines)


@pytest.mark.parametrize("args, culprit", [
    (["--units", "q=rad,p=kg*m**2/s", "--depth", "0"], "depth"),
    (["--units", "q=rad,p=parsecz"], "parsecz"),
    (["--units", "q rad"], "q rad"),
])
def test_cli_bad_input_is_one_line_exit_2(args, culprit):
    result = subprocess.run([sys.executable, "-m", "conslaw", "enumerate", *args],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert culprit in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
