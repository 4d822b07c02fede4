"""Multi-term search: library validity, the eigenproblem, sparsity, independence, acceptance."""
import numpy as np
import pytest
import sympy

from conslaw.datasets import Trajectory, TrajectoryDataset, load_dataset
from conslaw.discovery.discover import mark_independent, prepare_data, DiscoveryConfig
from conslaw.discovery.score import SegmentedStates, gradient_form, within_segment_form
from conslaw.dsl.units import ANGLE, parse_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.discovery.discover import merge_candidate_lists
from conslaw.terms import build_library, check_law, find_multiterm_laws, prune_library
from conslaw.terms.search import SEARCH_TOLERANCE, quadratic_forms
from conslaw.terms.solve import (
    LIMIT_FLOOR, backward_elimination, forward_selection, generalized_spectrum, restricted_fit,
)

BUILT_IN = ["pendulum", "spring", "oscillator2d", "coupled-springs", "double-pendulum", "two-body"]


@pytest.fixture(scope="module")
def double_pendulum():
    dataset = load_dataset("double-pendulum")
    return dataset, find_multiterm_laws(dataset)


def planted_forms(seed=0, n_segments=12, per_segment=20, k=8, d=3):
    """Random term values and gradients in which ``planted`` is constant on every segment."""
    rng = np.random.default_rng(seed)
    segment = np.repeat(np.arange(n_segments), per_segment)
    data = SegmentedStates(rng.normal(size=(len(segment), d)), segment, rng.uniform(0.5, 2.0, d))
    planted = np.zeros(k)
    planted[[1, 4, 6]] = [1.0, -2.5, 0.7]
    values = rng.normal(size=(len(segment), k))
    level = rng.normal(size=n_segments)[segment]
    values[:, 6] = (level - values @ np.where(np.arange(k) == 6, 0.0, planted)) / planted[6]
    gradients = rng.normal(size=(len(segment), k, d))
    return values, gradients, data, planted


def test_quadratic_forms_are_the_discovery_definitions():
    values, gradients, data, _ = planted_forms()
    forms = quadratic_forms(values, gradients, data)
    np.testing.assert_allclose(forms.A, within_segment_form(values, data), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(forms.B, gradient_form(gradients, data), rtol=1e-10, atol=1e-12)


def test_eigenproblem_recovers_planted_combination_exactly():
    values, gradients, data, planted = planted_forms()
    forms = quadratic_forms(values, gradients, data)
    ratios, vectors = generalized_spectrum(forms.A, forms.B)
    assert ratios[0] < 1e-12 and ratios[1] > 1e-3
    found = vectors[:, 0] / vectors[1, 0]
    np.testing.assert_allclose(found, planted, atol=1e-9)


def test_sparsification_finds_planted_support_and_keeps_the_ratio():
    values, gradients, data, planted = planted_forms(k=10)
    forms = quadratic_forms(values, gradients, data)
    sizes = np.arange(1, 11)
    limit = 4 * LIMIT_FLOOR
    grown = forward_selection(forms.A, forms.B, 1, sizes, limit)
    assert grown is not None and grown.ratio <= limit
    pool = backward_elimination(forms.A, forms.B, grown, sizes, limit)
    best = min(pool, key=lambda law: law.description_length)
    assert list(best.support) == [1, 4, 6]
    np.testing.assert_allclose(best.coefficients / best.coefficients[1], planted, atol=1e-9)
    # Removing a true term breaks conservation: no sparser law within the limit.
    for drop in best.support:
        assert restricted_fit(forms.A, forms.B, np.setdiff1d(best.support, [drop]))[0] > limit


def test_library_terms_are_unit_valid_and_include_the_coupling_term():
    dataset = load_dataset("double-pendulum")
    library = build_library(dataset.columns, dataset.dimensions, 3, 2)
    angles = {sympy.Symbol(c) for c, d in zip(dataset.columns, dataset.dimensions) if d == ANGLE}
    for index, text in enumerate(library.texts):
        term = library.sympy_term(index)
        assert str(term) == text
        for function in term.atoms(sympy.sin, sympy.cos):
            assert function.args[0].free_symbols <= angles, text  # cos(w1) never enters
        for add in term.atoms(sympy.Add):  # sums only of one unit: q1 + w1 never enters
            units = {dataset.dimensions[dataset.columns.index(str(s))]
                     for s in add.free_symbols}
            assert len(units) == 1, text
    train, control, test = prepare_data(dataset, DiscoveryConfig())
    pruned = prune_library(library, [train.x, control.x, test.x])
    assert "w1*w2*cos(q1 - q2)" in pruned.texts
    assert sum(pruned.removed.values()) == len(library) - len(pruned)
    assert pruned.removed["equal_on_data"] > 0 and pruned.removed["linearly_dependent"] > 0


def test_double_pendulum_energy_with_coefficients_and_units(double_pendulum):
    dataset, result = double_pendulum
    assert len(result.accepted) == 1, [c["expression"] for c in result.accepted]  # no spurious law
    energy = result.accepted[0]
    assert energy["origin"] == "terms" and energy["independent"]
    truth = sympy.expand(sympy.sympify(dataset.true_law))
    template = sympy.sympify(energy["template"])
    reference = sympy.sympify(energy["terms"][0])
    found = {reference: 1.0}
    found.update({template.coeff(sympy.Symbol(name)): p["value"]
                  for name, p in energy["parameters"].items()})
    expected = {term: float(value / truth.coeff(reference))
                for term, value in truth.as_coefficients_dict().items()}
    assert set(found) == set(expected)
    for term, value in expected.items():
        assert found[term] == pytest.approx(value, rel=1e-6), term
    # Each coefficient's unit makes its term match the law's unit (the reference term's).
    law_unit = parse_unit(energy["unit"]).dimension
    units = dict(zip(sympy.symbols(dataset.columns), dataset.dimensions))
    for name, parameter in energy["parameters"].items():
        term_unit = _dimension_of(template.coeff(sympy.Symbol(name)), units)
        assert parse_unit(parameter["unit"]).dimension == law_unit / term_unit, name
    assert energy["unit"] == "rad**2/s**2"  # the unit of the reference term w1**2
    assert energy["parameters"]["c0"]["unit"] in ("rad**2/s**2", "1")


def _dimension_of(term, units):
    """The dimension of a product of powers of columns and dimensionless trig functions."""
    result = None
    for factor, power in term.as_powers_dict().items():
        if isinstance(factor, (sympy.sin, sympy.cos)):
            continue
        part = units[factor] ** int(power)
        result = part if result is None else result * part
    return result if result is not None else ANGLE / ANGLE


def test_sparse_laws_stay_within_tolerance(double_pendulum):
    _, result = double_pendulum
    assert result.counts["search_limit"] == pytest.approx(
        SEARCH_TOLERANCE * max(result.counts["dense_best_ratio"], LIMIT_FLOOR))
    ratios = [c["conservation"]["true"] for c in result.accepted]
    precision = result.config["sparsity_tolerance"] * max(min(ratios), LIMIT_FLOOR)
    assert all(ratio <= min(precision, result.counts["search_limit"]) for ratio in ratios)
    assert result.library["counts"]["kept"] == result.counts["library_terms"]
    assert list(result.library["size_after"].values())[-1] == result.counts["library_terms"]
    assert set(result.timings) >= {"library_s", "forms_s", "dense_s", "sparse_s", "rank_s"}


def test_noisy_double_pendulum_energy_is_the_only_law():
    dataset = load_dataset("double-pendulum", noise=0.01, relative_noise=True)
    result = find_multiterm_laws(dataset)
    assert len(result.accepted) == 1
    energy = result.accepted[0]
    assert sorted(energy["terms"]) == sorted(
        ["w1**2", "w2**2", "w1*w2*cos(q1 - q2)", "cos(q1)", "cos(q2)"])
    assert energy["conservation"]["test"] * 100 <= energy["conservation"]["random"]


def test_e_and_e_squared_are_one_law():
    dataset = load_dataset("spring")
    train, _, _ = prepare_data(dataset, DiscoveryConfig())
    candidates = [{"expression": "p**2 + q**2", "independent": False},
                  {"expression": "(p**2 + q**2)**2", "independent": False}]
    assert mark_independent(candidates, dataset.columns, train) == [0]
    # In the search itself: the Kepler data give L and L**2, one independent law.
    result = find_multiterm_laws(load_dataset("two-body", n_trajectories=20))
    independent = result.independent
    assert len(independent) == 1
    assert len(result.accepted) >= 2


@pytest.mark.parametrize("name", BUILT_IN)
def test_true_laws_pass_and_random_combinations_do_not(name):
    dataset = load_dataset(name, n_trajectories=20)
    rng = np.random.default_rng(1)
    for law in dataset.true_laws:
        assert check_law(dataset, law)["accepted"], law
        terms = sympy.Add.make_args(sympy.expand(sympy.sympify(law)))
        scrambled = sum(rng.uniform(0.5, 2.0) * rng.choice([-1, 1]) * t for t in terms)
        if len(terms) > 1:
            assert not check_law(dataset, str(scrambled))["accepted"], scrambled


def test_bad_input_is_a_clear_error():
    dataset = load_dataset("spring", n_trajectories=4)
    with pytest.raises(UsageError, match="term-depth"):
        find_multiterm_laws(dataset, term_depth=0)
    with pytest.raises(UsageError, match="max-factors"):
        find_multiterm_laws(dataset, max_factors=0)
    t = np.linspace(0, 1, 30)
    one_column = TrajectoryDataset(
        "line", ("x",), (parse_unit("m").dimension,),
        [Trajectory(t, (t + i)[:, None]) for i in range(3)], [Trajectory(t, (t + 5)[:, None])])
    with pytest.raises(ConslawError, match="at least 2 state columns"):
        find_multiterm_laws(one_column)


def test_same_law_from_both_searches_is_shown_once():
    dataset = load_dataset("pendulum", n_trajectories=10)
    terms = find_multiterm_laws(dataset)
    assert len(terms.accepted) == 1 and terms.accepted[0]["size"] == 7
    formula = {**terms.accepted[0], "expression": "p**2 - 3.0*cos(q)", "origin": "formula",
               "rank": 1}
    spurious = {**formula, "expression": "p*q", "accepted": False, "size": 3}
    merged, laws = merge_candidate_lists([[formula, spurious], terms.candidates], dataset,
                                         window=25)
    assert [c["origin"] for c in merged] == ["formula", "formula"]
    assert merged[0]["variants"] == 1 and not merged[1]["accepted"]
    assert laws == [1] and [c["rank"] for c in merged] == [1, 2]
