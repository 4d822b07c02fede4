"""The vocabulary: rational powers, sqrt, exp, log and abs under the same unit rules, and the
multi-term search's auto vocabulary that widens to them."""
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy

from conslaw.datasets import load_dataset, make_variant
from conslaw.dsl import (
    DIMENSIONLESS, FREE, EXTENDED_OPERATORS, PAPER_OPERATORS, enumerate_formulas, parse_unit,
    resolve_operators,
)
from conslaw.dsl.expressions import gradient_function
from conslaw.dsl.operators import OPERATORS
from conslaw.errors import UsageError
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.demotions import reads_as_series
from conslaw.discovery.known import known_laws
from conslaw.discovery.ranking import rank_laws
from conslaw.law import StateColumns
from conslaw.terms import TermsConfig, search_terms
from conslaw.terms.vocabulary import LEAN_DEPTH, LEAN_LADDER, WIDENING, stages, target_laws, vocabularies

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
    q, p = sympy.symbols("q p", positive=True)  # the probe states are positive
    for root in space.roots[::11]:
        params = list(rng.uniform(0.5, 1.5, size=space.table[root].n_params))
        expr = space.table.to_sympy(root, params).subs({sympy.Symbol("q"): q, sympy.Symbol("p"): p})
        gradient = gradient_function(space.table.to_sympy(root, params), ["q", "p"])(x)
        reference = np.stack([
            np.broadcast_to(np.asarray(sympy.lambdify((q, p), sympy.diff(expr, v))(x[:, 0], x[:, 1]),
                                       dtype=float), (20,)) for v in (q, p)], axis=1)
        np.testing.assert_allclose(gradient, reference, rtol=1e-12, atol=1e-14)


def search(dataset, vocabulary, operators=PAPER_OPERATORS, max_seconds=None):
    data = ConservationData.prepare(dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    outcome = search_terms(dataset, data, StateColumns.from_dataset(dataset),
                           TermsConfig(vocabulary=vocabulary), operators=operators, threshold=100.0,
                           keep=5, seed=0, max_seconds=max_seconds)
    return outcome, [law for law in rank_laws(outcome.candidates, data, 100.0, 0) if law.accepted]


def test_vocabularies_widen_cumulatively_and_only_when_auto():
    assert vocabularies("default", "default") == [PAPER_OPERATORS]
    steps = vocabularies("default", "auto")
    assert steps[0] == PAPER_OPERATORS and len(steps) == 1 + len(WIDENING)
    for before, after, step in zip(steps, steps[1:], WIDENING):
        assert after == before + step
    assert len(vocabularies(PAPER_OPERATORS + ("log", "exp"), "auto")) == len(WIDENING)
    assert target_laws(2) == 1 and target_laws(4) == 3


@pytest.fixture(scope="module")
def two_body_auto():
    dataset = load_dataset("two-body", n_trajectories=24)
    return dataset, *search(dataset, "auto")


def test_auto_vocabulary_finds_the_kepler_energy(two_body_auto):
    dataset, outcome, laws = two_body_auto
    x, y, px, py = sympy.symbols("x y px py", real=True)
    r_inv = 1 / sympy.sqrt(x**2 + y**2)
    k = float(dataset.metadata["constants"]["k"]["value"])
    m = float(dataset.metadata["constants"]["m"]["value"])
    found = [dict(reversed(term.as_coeff_Mul()) for term in sympy.Add.make_args(sympy.expand(law.sympy("si"))))
             for law in laws]
    energies = [terms for terms in found if set(terms) == {r_inv, px**2, py**2}]
    assert energies, [law.text() for law in laws]
    terms = energies[0]
    # (px**2 + py**2)/(2m) - k/r, up to scale: the ratio of the coefficients is -2 m k.
    assert float(terms[r_inv] / terms[px**2]) == pytest.approx(-2 * m * k, rel=1e-6)
    assert float(terms[py**2] / terms[px**2]) == pytest.approx(1.0, rel=1e-6)
    # The ladder's linear and quadratic libraries run first; log and exp add nothing to
    # dimensionful columns: that stage is tried, not run; the lean library (polynomials times
    # one norm) holds all 3 laws, so the configured one is not needed
    assert outcome.counts["stages_tried"] == len(LEAN_LADDER) + 1 + len(WIDENING)
    assert outcome.counts["stages"] == len(LEAN_LADDER) + len(WIDENING)
    assert outcome.counts["exact_independent"] == 3
    assert [counts["max_factors"] for counts in outcome.counts["passes"][:len(LEAN_LADDER)]] == list(LEAN_LADDER)
    assert all(counts["term_depth"] == LEAN_DEPTH for counts in outcome.counts["passes"])
    assert "rsqrt" in outcome.counts["passes"][-1]["operators"]


def test_lean_library_reaches_a_runge_lenz_component(two_body_auto):
    # A_x = py*(x*py - y*px) - m*k*x/r: two 3-factor monomials and a column times a norm
    dataset, _, laws = two_body_auto
    x, y, px, py = sympy.symbols("x y px py", real=True)
    k = float(dataset.metadata["constants"]["k"]["value"])
    m = float(dataset.metadata["constants"]["m"]["value"])
    found = []
    for law in laws:
        terms = dict(reversed(term.as_coeff_Mul()) for term in sympy.Add.make_args(sympy.expand(law.sympy("si"))))
        for a, b, c in ((x, y, px), (y, x, py)):  # A_x, and A_y with the roles swapped
            pb, pc = (py, px) if a == x else (px, py)
            if set(terms) == {a * pb**2, b * pc * pb, a / sympy.sqrt(x**2 + y**2)}:
                found.append((float(terms[b * pc * pb] / terms[a * pb**2]),
                              float(terms[a / sympy.sqrt(x**2 + y**2)] / terms[a * pb**2])))
    assert found, [law.text() for law in laws]
    cross, potential = found[0]
    assert cross == pytest.approx(-1.0, rel=1e-6) and potential == pytest.approx(-m * k, rel=1e-6)


def test_default_vocabulary_stays_with_the_operators(two_body_auto):
    dataset, _, _ = two_body_auto
    outcome, laws = search(dataset, "default")
    assert outcome.counts["stages"] == 1
    assert laws and not any("sqrt" in str(law.expression) for law in laws)


def test_known_laws_say_which_true_laws_each_vocabulary_reached(two_body_auto):
    dataset, _, auto_laws = two_body_auto
    _, default_laws = search(dataset, "default")
    found = {name: [entry["found"] for entry in known_laws(dataset, laws)]
             for name, laws in (("auto", auto_laws), ("default", default_laws))}
    assert [entry["name"] for entry in known_laws(dataset, auto_laws)] == list(dataset.metadata["true_law_names"])
    assert found["auto"] == [True, True, True, True]  # A_y is a function of E, L and A_x
    assert found["default"] == [False, True, False, False]  # only the angular momentum
    assert [entry["found"] for entry in known_laws(dataset, [])] == [False] * 4


def test_auto_stops_widening_once_the_data_hold_no_more_laws():
    dataset = load_dataset("spring", n_trajectories=16)
    outcome, laws = search(dataset, "auto")
    # the linear rung of the ladder holds no law; the quadratic one holds the energy: stop there
    assert [counts["max_factors"] for counts in outcome.counts["passes"]] == [1, 2]
    assert outcome.counts["exact_independent"] == 1 and len(laws) >= 1


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


def test_a_series_is_two_consecutive_powers_of_one_column_the_higher_a_cube_or_more():
    q, v, x = sympy.symbols("q v x")
    assert reads_as_series(0.067 * q**4 + 0.34 * q**3 + q**2 + 0.25 * v**2)
    assert reads_as_series(-0.28 * q**3 + q**2 + 0.23 * v**2)
    assert not reads_as_series(v**2 + 0.25 * x**4 + 2 * x**2)  # a quartic oscillator
    assert not reads_as_series(q**2 + q + v**2)  # a shifted square
    assert not reads_as_series(v * x**2 + x**3)  # one power of each column
    assert not reads_as_series(v**2 - 12 * sympy.cos(q))


def test_with_parity_a_series_may_step_by_two_powers_from_a_square_up():
    p, q, x = sympy.symbols("p q x")
    assert reads_as_series(-0.069 * p**4 + p**2 + 4.7 * x**2, parity=True)  # an even function's
    assert reads_as_series(x**5 - 3 * x**3 + p**2, parity=True)  # an odd function's
    assert reads_as_series(-0.28 * q**3 + q**2, parity=True)  # consecutive powers still are
    assert not reads_as_series(x**3 + x + p**2, parity=True)  # from the first power: no square
    assert not reads_as_series(p**6 + p**2 + x**2, parity=True)  # four apart


def auto_stages() -> list:
    config = TermsConfig(vocabulary="auto")
    return stages(PAPER_OPERATORS, "auto", config.term_depth, config.max_factors)


@pytest.mark.parametrize("seed", [0, 2])
def test_under_noise_a_series_does_not_stop_the_widening_before_the_law_it_stands_for(seed):
    """A Toda bond at 1 % noise: the default library's 4-term power series is exact within the
    noise and fills the target of one law; the widening goes on and finds the energy with
    ``exp(-q)`` (``v**2/2 + 4*(exp(-q) + q)``), which replaces it."""
    dataset = make_variant("toda-pair", noise=0.01, rate=50.0, seed=seed).dataset
    outcome, laws = search(dataset, "auto")
    assert outcome.counts["stages_tried"] == len(auto_stages())
    law = sympy.expand(laws[0].expression)
    q, v = sorted(law.free_symbols, key=str)
    scale = law.coeff(sympy.exp(-q))
    assert float(law.coeff(q) / scale) == pytest.approx(1.0, rel=2e-3)
    assert float(law.coeff(v**2) / scale) == pytest.approx(0.125, rel=5e-3)
    assert not any(reads_as_series(found.expression) for found in laws)


def test_under_noise_a_law_that_reads_as_no_series_stops_the_widening():
    """A quartic oscillator's energy (``x**4`` beside ``x**2``) fills the target at 1 % noise and
    ends the widening there."""
    dataset = make_variant("duffing", noise=0.01, rate=50.0).dataset
    outcome, laws = search(dataset, "auto")
    assert outcome.counts["stages_tried"] < len(auto_stages())
    assert outcome.counts["exact_independent"] == 1


def test_a_column_constant_everywhere_does_not_raise_the_number_of_laws_sought():
    """A file's constant column (a magnetic field B = 1.7 T in every row) moves nowhere: the
    widening stops once the moving columns' d - 1 laws are found, as it does without it."""
    import dataclasses

    from conslaw.datasets.types import Trajectory
    from conslaw.dsl.units import parse_unit

    dataset = make_variant("oscillator2d", n_trajectories=16).dataset

    def constant(trajectory: Trajectory) -> Trajectory:
        column = np.full((len(trajectory), 1), 1.7)
        return Trajectory(trajectory.t, np.hstack([trajectory.x, column]),
                          np.hstack([trajectory.dxdt, 0 * column]))

    with_field = dataclasses.replace(
        dataset, columns=dataset.columns + ("B",), dimensions=dataset.dimensions + (parse_unit("T").dimension,),
        train=[constant(tr) for tr in dataset.train], test=[constant(tr) for tr in dataset.test],
        units={**dataset.units, "B": "T"}, to_si={**dataset.to_si, "B": 1.0}, true_field=None)
    (plain, _), (extended, laws) = search(dataset, "auto"), search(with_field, "auto")
    assert extended.counts["target_laws"] == plain.counts["target_laws"] == 3
    assert extended.counts["stages"] == plain.counts["stages"]
    assert sum(law.independent for law in laws) == 3
