"""The units-aware DSL: unit rules, enumeration, pruning and conversions (the dimension algebra
and units themselves: ``test_units.py``)."""
import re
import subprocess
import sys

import numpy as np
import pytest
import sympy
import torch
from click.testing import CliRunner

from conslaw.dsl import (
    ANGLE, DIMENSIONLESS, EXTENDED_OPERATORS, FREE, PAPER_OPERATORS, Evaluator,
    count_unit_valid_trees, enumerate_formulas, format_unit, parse_unit,
)
from conslaw.cli import main
from conslaw.dsl.operators import OPERATORS
from conslaw.dsl.signatures import (
    constant_rows, root_signatures, round_scales, value_signatures,
)
from conslaw.dsl.expressions import gradient_function
from conslaw.dsl.unit_table import UnitTable

PENDULUM = (["q", "p"], [parse_unit("rad").dimension, parse_unit("kg*m**2/s").dimension])
SPRING = (["q", "p"], [parse_unit("m").dimension, parse_unit("kg*m/s").dimension])
ALL_OPERATORS = PAPER_OPERATORS + EXTENDED_OPERATORS


@pytest.fixture(scope="module")
def pendulum_space():
    return enumerate_formulas(*PENDULUM, depth=7)


@pytest.fixture(scope="module")
def spring_space():
    return enumerate_formulas(*SPRING, depth=7)


_TEXTS: dict = {}


def texts(space):
    """Each root's template text -> its id, printed once per space (SymPy prints every root)."""
    if id(space) not in _TEXTS:
        _TEXTS[id(space)] = space, {space.table.to_text(root): root for root in space.roots}
    return _TEXTS[id(space)][1]


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
    root = texts(pendulum_space)["c0*cos(q) + p**2"]
    assert format_unit(table.parameter_units(root)[0]) == "kg**2*m**4/s**2"
    assert table[root].size == 7
    assert table.linear_parameters(root) == [True]
    forbidden = {"cos(p)", "p + q", "q + p", "sin(p)", "cos(p) + q"}
    assert not forbidden & texts(pendulum_space).keys()


def test_energy_forms_present_at_depth_7(pendulum_space, spring_space):
    assert "c0*cos(q) + p**2" in texts(pendulum_space)
    assert "c0*p**2 + q**2" in texts(spring_space)
    assert format_unit(spring_space.table.parameter_units(texts(spring_space)["c0*p**2 + q**2"])[0]) == (
        "s**2/kg**2"
    )


def test_multi_parameter_and_product_forms_exist():
    columns = ["x", "y", "px", "py"]
    dims = [parse_unit(u).dimension for u in ("m", "m", "kg*m/s", "kg*m/s")]
    space = enumerate_formulas(columns, dims, depth=7)
    found = {space.table.to_text(r) for r in space.roots if space.table[r].size == 7 and not space.table[r].n_params}
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
    assert {"q", "p", "cos(q)", "p**2", "p*q"} <= found.keys()
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
    count = CliRunner().invoke(main, ["enumerate", "--units", "q=rad,p=kg*m**2/s", "--depth", "5", "--count"])
    assert int(count.stdout) == len(lines)


@pytest.mark.parametrize("args, culprit", [
    (["--units", "q=rad,p=kg*m**2/s", "--depth", "0"], "depth"),
    (["--units", "q=rad,p=parsecz"], "parsecz"),
    (["--units", "q rad"], "q rad"),
    (["--units", "q=rad,p=kg*m**2/s", "--depth", "12"], "--depth 12 would enumerate about"),
    (["--units", "q=rad,p=kg*m**2/s", "--operators", "+,foo"], "unknown operator 'foo'"),
])
def test_cli_bad_input_is_one_line_exit_2(args, culprit):
    result = CliRunner().invoke(main, ["enumerate", *args])  # in-process: start-up is not the point
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert culprit in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---- batched signatures against the per-candidate definitions they replace -------------------
# The per-candidate definitions of commit 1f7acef (enumerate.py), kept as the reference.
def reference_value_signature(values, unit):
    finite = np.isfinite(values)
    scale = float(np.max(np.abs(values[finite]))) if finite.any() else 1.0
    scale = scale if scale > 0 else 1.0
    rounded = np.where(finite, np.round(values / scale, 9), 0.0)
    return (unit, round(scale, 9), rounded.tobytes(), finite.tobytes())


def reference_is_constant(values):
    for half in np.split(values, 2):
        finite = half[np.isfinite(half)]
        if finite.size and np.ptp(finite) > 1e-9 * max(1.0, float(np.max(np.abs(finite)))):
            return False
    return True


def reference_root_signature(values):
    finite = np.isfinite(values)
    signature = finite.tobytes()
    for half, half_finite in zip(np.split(values, 2), np.split(finite, 2)):
        if not half_finite.any():
            continue
        centred = np.where(half_finite, half - half[half_finite].mean(), 0.0)
        peak = np.abs(centred).max()
        if peak > 0:
            centred /= peak
        pivot = centred[np.argmax(np.abs(centred) > 1e-6)]
        signature += np.round(centred * np.sign(pivot), 8).tobytes()
    return signature


def classes(signatures):
    """Each item's equivalence class, numbered by first occurrence."""
    first = {}
    return [first.setdefault(s, len(first)) for s in signatures]


def test_batched_signatures_partition_like_the_per_candidate_definitions():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((30, 32)) * np.exp(rng.uniform(-3, 3, size=(30, 1)))
    base[5:10, :16] = 1.5  # constant for the first parameter value
    base[10:12] = 0.0
    holes = rng.random(base.shape) < 0.15
    holes[:8] = False
    base[holes] = rng.choice([np.nan, np.inf, -np.inf], size=holes.sum())
    base[12, 16:] = np.nan  # no finite value for the second parameter value
    with np.errstate(all="ignore"):
        values = np.concatenate([base, 3.0 * base - 2.0, -0.5 * base + 7.0, base, base * 1e-3])
    units = np.repeat([0, 1, 0, 0, 1], len(base))  # the fourth block repeats the first
    with np.errstate(all="ignore"):
        expected_roots = classes(reference_root_signature(row) for row in values)
        expected_values = classes(reference_value_signature(row, unit)
                                  for row, unit in zip(values, units))
    assert classes(root_signatures(values)) == expected_roots
    assert classes(value_signatures(values, units)) == expected_values
    assert len(set(expected_roots)) < 60 and len(set(expected_values)) < len(values) - 25
    assert constant_rows(values).tolist() == [reference_is_constant(row) for row in values]
    scales = np.concatenate([np.exp(rng.uniform(np.log(1e-6), np.log(1e12), 20000)),
                             np.arange(1, 5000) * 1e-9 + 5e-10, [1e300, 3.0, 0.5e-9]])
    assert round_scales(scales).tolist() == [round(s, 9) for s in scales.tolist()]


def test_vectorized_unit_rules_equal_the_scalar_rules():
    space = enumerate_formulas(*PENDULUM, depth=4, operators=ALL_OPERATORS)
    units = list({node.unit: None for node in space.table.nodes}) + [DIMENSIONLESS, ANGLE]
    table = UnitTable(PENDULUM[1], ALL_OPERATORS, depth=5)  # one more power on depth-4 units
    ids = np.array([table.of(unit) for unit in units])
    first, second = np.meshgrid(ids, ids, indexing="ij")
    for name in ALL_OPERATORS:
        rule = OPERATORS[name].unit_rule
        if OPERATORS[name].arity == 1:
            got = table.apply(rule, ids)
            expected = [rule(unit) for unit in units]
        else:
            got = table.apply(rule, first.ravel(), second.ravel())
            expected = [rule(a, b) for a in units for b in units]
        assert [None if g < 0 else table.unit(g) for g in got] == expected, name


def test_unit_valid_tree_counts_match_the_reference():
    # shared/reference/enumeration-counts.md, section 3a (L0 and L1a, cumulative to 10 nodes)
    for (columns, dimensions), raw, commutative in [(PENDULUM, 20264558, 8503777),
                                                    (SPRING, 13991696, 5805677)]:
        assert sum(count_unit_valid_trees(dimensions, 10, PAPER_OPERATORS).values()) == raw
        assert sum(count_unit_valid_trees(dimensions, 10, PAPER_OPERATORS,
                                          commutative=True).values()) == commutative


def test_uses_inside_finds_a_column_under_an_operator_and_nowhere_else():
    space = enumerate_formulas(["q", "p"], [parse_unit("rad").dimension, parse_unit("1/s").dimension], 5)
    texts = {root: space.table.to_text(root) for root in space.roots}
    for column in ("q", "p"):  # p enters cos only with a parameter carrying its unit: cos(c0*p)
        inside = {root for root, text in texts.items()
                  if re.search(rf"(sin|cos)\([^()]*\b{column}\b[^()]*\)", text)}
        assert inside and len(inside) < len(texts)
        assert {root for root in space.roots if space.table.uses_inside(root, column, ("sin", "cos"))} == inside


@pytest.mark.parametrize("law", [
    "p**2 - 3*cos(q)", "0.028*p**4 - 0.139*p**2*cos(q) + 0.34*q**2 + cos(q)", "p**4*log(cos(q))",
    "1/(p**2 + q**2) + tanh(p)*atan(q) + asin(x/10) - acos(x/10)", "p**q + exp(-x**2)*sinh(q)/cosh(p)",
    "sqrt(p**2 + x**2)*tan(q/3)", "3.5"])
def test_the_forward_gradient_is_the_symbolic_one(law):
    """``gradient_function`` walks the law's tree once (forward mode); its values are those of
    SymPy's partials compiled by ``lambdify`` to within rounding, and where forward mode meets
    ``0*inf`` (``x*log(x)`` at 0, whose partial is -inf) the symbolic partial is taken."""
    columns = ["q", "p", "x"]
    symbols = sympy.symbols(columns, real=True)
    states = np.random.default_rng(0).uniform(0.1, 1.5, size=(200, 3)) * np.array([1, -1, 1])
    expression = sympy.sympify(law, locals=dict(zip(columns, symbols)))
    reference = np.stack([np.broadcast_to(sympy.lambdify(symbols, sympy.diff(expression, s), "numpy")(*states.T), 200)
                          for s in symbols], axis=-1)
    np.testing.assert_allclose(gradient_function(law, columns)(states), reference, rtol=1e-12, atol=1e-300)
    singular = gradient_function("x*log(x) + p", columns)(np.array([[0.2, 1.0, 0.0], [0.2, 1.0, np.e]]))
    np.testing.assert_array_equal(singular, [[0.0, 1.0, -np.inf], [0.0, 1.0, 2.0]])
    assert np.array_equal(gradient_function("x**2*sign(x)", columns)(np.array([[0.0, 0.0, -2.0]])), [[0.0, 0.0, 4.0]])
