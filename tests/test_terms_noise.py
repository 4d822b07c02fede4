"""The multi-term search under noise: missing terms, the null's yardstick near the truth, the
climb through the spectrum, bounds on a law's length, the ladder of small libraries, earlier
passes' laws judged again in a richer library, and whole formulas judged in the lean one."""

import numpy as np
import pytest
import sympy

from conslaw.datasets import make_variant, user_coordinates
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.independence import functionally_dependent
from conslaw.discovery.ranking import is_accepted
from conslaw.dsl.operators import resolve_operators
from conslaw.dsl.units import DIMENSIONLESS
from conslaw.law import Evidence, Law, StateColumns
from conslaw.terms import TermsConfig
from conslaw.terms.judging import RANGE_MARGIN, Judge, within_truth_range
from conslaw.discovery.forms import ratio_of
from conslaw.terms.extraction import DeferredEvidence, _records, rejudged
from conslaw.terms.search import fitted_library, search_pass
from conslaw.terms.supersede import superseded_formulas
from conslaw.terms.solve import best_pair, judged_elimination
from conslaw.terms.sparse_fits import SparseFits, SparseLaw, law_sizes, restricted_fit
from conslaw.terms.vocabulary import LEAN_LADDER, LibraryStage, stages

from terms_cases import THRESHOLD, accepted, coefficients, run


def _noisy_judge(system, coordinates, rate, seed, noise=0.05, **options):
    """The judge of the lean library on a noisy variant (5 % by default), and its terms by text."""
    variant = make_variant(system, coordinates=coordinates, rate=rate, noise=noise, seed=seed, **options)
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    stage = LibraryStage(1, 3, resolve_operators("default"), 1)
    library, values, _ = fitted_library(variant.dataset, data, 600, stage, 0)
    return Judge(values, data), {library.text(i): i for i in range(len(library))}


def _law_on(judge, index, terms):
    return restricted_fit(judge.A, judge.B, np.array(sorted(index[t] for t in terms)))[1]


@pytest.mark.parametrize("rate, seed", [(200.0, 0), (100.0, 0), (200.0, 1)])
def test_a_law_pruned_past_the_noise_misses_a_term_and_the_whole_law_does_not(rate, seed):
    # Coupled springs in velocities at 5 % noise: the two mode energies span every quadratic
    # law, so one with x2**2 and v1**2 dropped is not conserved, but its ratio is within the
    # noise of the whole law's (once accepted as exact and ranked first); the paired test over
    # segments, where the noise is common to both, names a dropped term.
    judge, index = _noisy_judge("coupled-springs", "velocities", rate, seed)
    whole = _law_on(judge, index, ["x1**2", "x1*x2", "x2**2", "v1**2", "v1*v2", "v2**2"])
    pruned = _law_on(judge, index, ["x1**2", "x1*x2", "v1*v2", "v2**2"])
    assert judge.missing_term(whole) is None
    assert judge.missing_term(pruned) in (index["x2**2"], index["v1**2"])
    # the search's acceptance test refuses it and does not keep it as a near miss
    records, accept = _records(judge, THRESHOLD)
    support = np.flatnonzero(pruned)
    law = SparseLaw(support, pruned, float(ratio_of(pruned, judge.A, judge.B)), 4 * len(support))
    assert not accept(law) and records[support.tobytes()] is None


def test_a_judgement_defers_only_what_its_training_ratio_makes_needless():
    """A law the training data reject is judged on the held-out and control data only when its
    evidence is asked for (a near miss kept), and then to the same numbers as judged whole."""
    judge, index = _noisy_judge("spring", "native", 100.0, 0)
    energy, imitation = _law_on(judge, index, ["q**2", "p**2"]), _law_on(judge, index, ["q**2", "p*q"])
    for w, law in ((energy, True), (imitation, False)):
        judgement = DeferredEvidence(judge, w, THRESHOLD)
        assert "evidence" not in vars(judgement)
        assert judgement.accepted(THRESHOLD) == law == is_accepted(judge.evidence(w), THRESHOLD)
        assert ("evidence" in vars(judgement)) == law  # the rest judged only when a law is possible
        assert judgement.evidence == judge.evidence(w) and judgement.ratio == judgement.evidence.ratio


@pytest.mark.parametrize("system, law", [("oscillator2d", ["x**2", "px**2"]), ("spring", ["q**2", "p**2"])])
def test_terms_kept_only_to_fit_the_noise_are_dropped_and_the_laws_terms_are_not(system, law):
    # At 5 % noise the energy with every bare column beside it is steadier on the training data
    # than the energy alone (its extra coefficients fit the noise) and accepted; a limit on the
    # ratio keeps such terms (a rotating frame's 4-term Jacobi integral came out with 9), the
    # acceptance test drops them, and no term of the law itself.
    judge, index = _noisy_judge(system, "native", 200.0, 0)
    bare = [term for term in index if term.isidentifier()]
    support = np.array(sorted(index[term] for term in law + bare))
    ratio, w = restricted_fit(judge.A, judge.B, support)
    sizes = np.full(len(index), 3)
    _, accept = _records(judge, THRESHOLD)
    wide = SparseLaw(support, w, ratio, int(law_sizes(sizes, support[None, :])[0]))
    assert accept(wide) and len(bare) == len(make_variant(system).dataset.columns)
    shortest = judged_elimination(SparseFits(judge.A, judge.B, sizes), wide, accept)
    text = {i: term for term, i in index.items()}
    assert sorted(text[i] for i in shortest.support) == sorted(law) and shortest.ratio > ratio
    assert judge.same_law(shortest.coefficients, wide.coefficients)


def test_two_laws_in_the_same_terms_are_not_one_law():
    # A free rigid body has two quadratic laws in w1, w2, w3: any two of the squares make one
    # (w1**2 + c*w2**2, w1**2 + c'*w3**2), each accepted, and they are different laws. Dropping
    # w3**2 from a law with all three can leave the other: a simplification must keep the law.
    judge, index = _noisy_judge("rigid-body", "native", 200.0, 0)
    _, accept = _records(judge, THRESHOLD)
    laws = [_law_on(judge, index, ["w1**2", other]) for other in ("w2**2", "w3**2")]
    for w in laws:
        support = np.flatnonzero(w)
        assert accept(SparseLaw(support, w, float(ratio_of(w, judge.A, judge.B)), 3 * len(support)))
    assert not judge.same_law(laws[0], laws[1]) and not judge.same_law(laws[1], laws[0])
    assert judge.same_law(-2.0 * laws[0], laws[0])


def test_no_term_is_missing_from_true_laws_under_noise():
    judge, index = _noisy_judge("oscillator2d", "native", 200.0, 0)
    for terms in (["x**2", "px**2"], ["y**2", "py**2"], ["px*y", "py*x"]):
        assert judge.missing_term(_law_on(judge, index, terms)) is None, terms


SIX_UNEQUAL_RUNS = {"noise": 0.005, "noise_scale": "trajectory", "n_trajectories": 6}
"""Coupled springs recorded as 6 runs of unequal amplitude, each with noise at 0.5 % of its own range."""


def test_a_truncated_law_whose_loss_sits_in_a_few_segments_lacks_its_term():
    # Without x2**2 the law below loses 9e-6 to 5e-4 per segment against a noise of 1e-5; the
    # paired test reads that loss as its own spread (and the law was accepted as exact and
    # ranked first), while the refitted coefficient of x2**2 is far outside its jackknife error.
    judge, index = _noisy_judge("coupled-springs", "native", 10.0, 9, **SIX_UNEQUAL_RUNS)
    truncated = _law_on(judge, index, ["p1*p2", "p2**2", "x1**2", "x1*x2"])
    assert judge.missing_term(truncated) is None
    assert judge.lacking_term(truncated) in (index["x2**2"], index["p1**2"])
    for law in (["p1*p2", "p2**2", "x1**2", "x1*x2", "x2**2"], ["p1**2", "p2**2", "x1**2", "x1*x2", "x2**2"]):
        assert judge.lacking_term(_law_on(judge, index, law)) is None, law


def test_the_nulls_yardstick_counts_values_only_near_the_truths_range():
    truth = np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0]])
    margin = RANGE_MARGIN * np.array([2.0, 20.0])
    inside = [-0.9 * margin[0], 30.0 + 0.9 * margin[1]]
    null = np.array([[-100.0, 15.0], [1.5, 1e9], inside])
    clipped = within_truth_range(truth, null)
    assert clipped.tolist() == [[-margin[0], 15.0], [1.5, 30.0 + margin[1]], inside]


def _kepler_at_one_percent():
    return make_variant("kepler", coordinates="velocities", rate=100.0, noise=0.01, seed=0)


def test_a_term_that_spikes_only_on_the_null_does_not_look_steadier_than_the_laws():
    # 1/(vx**2 + vy**2) spikes where surrogate states are slower than the orbit ever is: with
    # the null's values unclipped its raw ratio was 6e-6 at 200 Hz, five times below the
    # energy's (7e-3 clipped; judged 0.36), and combinations of such terms buried every law but
    # the angular momentum at 1 % noise.
    variant = _kepler_at_one_percent()
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    # the auto vocabulary's first library with inverse powers and square roots
    stage = next(stage for stage in stages(resolve_operators("default"), "auto", 3, 2) if "rsqrt" in stage.operators)
    library, values, _ = fitted_library(variant.dataset, data, 600, stage, 0)
    judge = Judge(values, data, within_range=True)
    index = {library.text(i): i for i in range(len(library))}
    energy, _ = restricted_fit(judge.A, judge.B, np.array(sorted(
        index[t] for t in ("vx**2", "vy**2", "1/sqrt(x**2 + y**2)"))))
    spike, _ = restricted_fit(judge.A, judge.B, np.array([index["1/(vx**2 + vy**2)"]]))
    assert energy < 1e-4 < 1e-3 < spike


def test_under_noise_the_search_reaches_past_overfitted_directions_to_every_kepler_law():
    # At 1 % noise the true laws' raw ratios (1e-5) sit among directions the rich library
    # overfits; extraction climbs the dense spectrum decade by decade while it finds laws.
    variant = _kepler_at_one_percent()
    outcome, laws = run(variant.dataset, vocabulary="auto")
    found = accepted(laws)
    truths = list(variant.laws.values())
    states = variant.dataset.stacked("train")[::100]
    assert all(functionally_dependent(law.expression, truths, variant.dataset.columns, states) for law in found)
    assert sum(law.independent for law in found) == 3
    by_terms = {frozenset(c): c for c in map(coefficients, found)}
    energy = by_terms[frozenset({"vx**2", "vy**2", "1/sqrt(x**2 + y**2)"})]
    k, m = (variant.dataset.metadata["constants"][name]["value"] for name in ("k", "m"))
    assert energy["vx**2"] / energy["vy**2"] == pytest.approx(1.0, rel=0.01)
    assert energy["1/sqrt(x**2 + y**2)"] / energy["vx**2"] == pytest.approx(-2.0 * k / m, rel=0.01)
    independent = [coefficients(law) for law in found if law.independent]  # beside dependent mixtures
    runge_lenz = [c for c in independent if "vx*vy*x" in c or "vx*vy*y" in c]
    assert runge_lenz
    for c in runge_lenz:
        radial = next(t for t in c if "sqrt" in t)
        quadratic = next(t for t in ("vy**2*x", "vx**2*y") if t in c)
        assert c[radial] / c[quadratic] == pytest.approx(-k / m, rel=0.01)


def test_under_noise_a_long_approximation_does_not_stand_in_for_the_law():
    # At 5 % noise, mixtures of 11 and 12 polynomial and norm terms are exact within the noise
    # in the lean library with square roots, which lacks the logarithms; accepted, they ended
    # the widening before the library that holds the invariant.
    variant = make_variant("predator-prey", rate=100.0, noise=0.05, seed=0)
    _, laws = run(variant.dataset, vocabulary="auto")
    found = [coefficients(law) for law in accepted(laws)]
    assert [set(c) for c in found] == [{"x", "y", "log(x)", "log(y)"}]
    constants = {k: v["value"] for k, v in variant.dataset.metadata["constants"].items()}
    c = found[0]
    assert c["x"] / c["log(y)"] == pytest.approx(constants["c"] / -constants["a"], rel=0.03)
    assert c["y"] / c["log(y)"] == pytest.approx(constants["b"] / -constants["a"], rel=0.03)
    assert c["log(x)"] / c["log(y)"] == pytest.approx(constants["d"] / constants["a"], rel=0.03)


@pytest.mark.parametrize("noise, rate, masses", [(0.01, 200.0, (1.0, 0.8, 0.6)), (0.05, 100.0, (0.7, 1.2, 0.9))])
def test_under_noise_the_linear_rung_finds_the_total_momentum_with_its_mass_ratios(noise, rate, masses):
    # The degree-3 lean library (454 terms on 12 columns) fits the noise below the momenta; the
    # ladder's linear library cannot, and finds both components with the masses as coefficients.
    m1, m2, m3 = masses
    variant = make_variant("three-body", coordinates=user_coordinates("three-body"), rate=rate,
                           noise=noise, n_trajectories=12, seed=1, m1=m1, m2=m2, m3=m3)
    linear = stages(resolve_operators("default"), "auto", 3, 2)[0]
    assert linear.max_factors == 1 and linear.optional
    result = _pass_of(variant.dataset, linear)
    found = sorted((coefficients(law) for law in result.accepted), key=sorted)
    assert [sorted(c) for c in found] == [["vx1", "vx2", "vx3"], ["vy1", "vy2", "vy3"]]
    for c, axis in zip(found, "xy"):
        ratios = np.array([c[f"v{axis}2"], c[f"v{axis}3"]]) / c[f"v{axis}1"]
        np.testing.assert_allclose(ratios, [m2 / m1, m3 / m1], rtol=2 * noise)


@pytest.mark.parametrize("system", ["lorenz", "damped-pendulum"])
def test_the_ladders_small_libraries_accept_nothing_where_nothing_is_conserved(system):
    variant = make_variant(system, coordinates=user_coordinates(system), rate=200.0, noise=0.05, seed=0)
    for stage in stages(resolve_operators("default"), "auto", 3, 2)[:len(LEAN_LADDER)]:
        assert _pass_of(variant.dataset, stage).accepted == []


def _pass_of(dataset, stage):
    data = ConservationData.prepare(dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    return search_pass(dataset, data, StateColumns.from_dataset(dataset), TermsConfig().max_terms, stage,
                       threshold=THRESHOLD, keep=5, seed=0)


@pytest.mark.parametrize("system, terms", [("spring", ("x**2", "v**2")), ("pendulum", ("cos(theta)", "omega**2"))])
def test_the_best_pair_is_the_energy_with_its_coefficient(system, terms):
    # Every pair of a 'depth 3 x2' library fitted at once: at 5 % noise the pair of least
    # description length is the energy, with its coefficient to 2 %, and the search's
    # acceptance test accepts it.
    variant = make_variant(system, coordinates="velocities", rate=100.0, noise=0.05, seed=0)
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    stage = LibraryStage(3, 2, resolve_operators("default"), 1)
    library, values, _ = fitted_library(variant.dataset, data, 600, stage, 0)
    judge = Judge(values, data, within_range=True)
    pair = best_pair(judge.A, judge.B, np.array(library.sizes))
    assert {library.text(int(i)) for i in pair.support} == set(terms)
    energy = sympy.expand(variant.laws["energy"])
    columns = {symbol.name: symbol for symbol in energy.free_symbols}
    first, second = (sympy.sympify(term, locals=columns) for term in terms)
    true_ratio = float(energy.coeff(second) / energy.coeff(first))
    index = {library.text(int(i)): int(i) for i in pair.support}
    scaled = pair.coefficients / values.peaks
    assert scaled[index[terms[1]]] / scaled[index[terms[0]]] == pytest.approx(true_ratio, rel=0.02)
    assert _records(judge, THRESHOLD)[1](pair)


def test_the_lean_library_lifts_single_angles_and_holds_the_double_pendulums_energy_under_noise():
    # Polynomials of the columns times one lifted factor, now cos(q1), cos(q2) and cos(q1 - q2)
    # among them (the lean library is of depth 1): the energy's five terms in a library small
    # enough that 2 % noise leaves it the steadiest law, with its coefficients to 1 %. The
    # configured library (280 terms on 1000 constraints) buries it under overfitted directions.
    variant = make_variant("double-pendulum", noise=0.02, seed=0)
    lean = stages(resolve_operators("default"), "auto", 3, 2)[len(LEAN_LADDER)]
    assert (lean.term_depth, lean.max_lifted) == (1, 1)
    found = _pass_of(variant.dataset, lean).accepted
    assert len(found) == 1
    expanded = sympy.expand(list(variant.laws.values())[0])
    energy = {str(term): value for term, value in expanded.as_coefficients_dict().items()}
    truth = {term: float(value / energy["w2**2"]) for term, value in energy.items()}
    law = coefficients(found[0])
    assert law.keys() == truth.keys()
    for term, value in truth.items():
        assert law[term] / law["w2**2"] == pytest.approx(value, rel=0.01), term


def _lean_law_judged_richer(system, coordinates, rate, noise):
    """The lean pass's accepted laws on a noisy variant, and what judging them again in the
    configured library (products of two depth-3 factors) gives: (laws, superseded,
    replacements, the richer library, its term peaks, the variant)."""
    variant = make_variant(system, coordinates=coordinates, rate=rate, noise=noise, seed=0)
    plan = stages(resolve_operators("default"), "auto", 3, 2)
    lean = _pass_of(variant.dataset, plan[len(LEAN_LADDER)]).accepted
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    richer = next(stage for stage in plan if stage.term_depth == 3)
    library, values, _ = fitted_library(variant.dataset, data, 600, richer, 0)
    judge = Judge(values, data, within_range=True)
    superseded, replacements, _ = rejudged(judge, np.array(library.sizes),
                                          [library.support_of(law.terms) for law in lean], THRESHOLD)
    return lean, superseded, replacements, library, values.peaks, variant


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_a_lean_laws_approximation_is_superseded_by_the_law_a_richer_library_holds(rate):
    # A bob on a spring in polar coordinates at 5 % noise: the lean library (three factors)
    # cannot hold the energy's omega**2*r**2, and its pass accepts, as exact, a polynomial
    # about the spring's length in its place (omega**2*r and omega**2), which the noise hides.
    # In the configured library it misses a term; with it the energy remains, the true
    # coefficients to 8 % (6 % at 50 Hz).
    lean, superseded, replacements, library, peaks, variant = _lean_law_judged_richer(
        "spring-pendulum", "polar", rate, 0.05)
    truth = list(variant.laws.values())
    assert len(lean) == 1 and "omega**2*r" in lean[0].terms and "omega**2*r**2" not in lean[0].terms
    assert superseded == [0] and len(replacements) == 1
    law = replacements[0]
    scaled = {library.text(int(i)): law.coefficients[i] / peaks[i] for i in law.support}
    energy = {str(term): float(value) for term, value in sympy.expand(truth[0]).as_coefficients_dict().items()}
    assert scaled.keys() == energy.keys()
    for term, value in energy.items():
        assert scaled[term] / scaled["r**2"] == pytest.approx(value / energy["r**2"], rel=0.08), term


@pytest.mark.parametrize("system, coordinates, noise", [
    ("coupled-springs", "velocities", 0.05), ("oscillator2d", "velocities", 0.05),
    ("henon-heiles", "native", 0.05), ("kepler", "velocities", 0.01)])
def test_the_lean_passes_true_laws_stand_in_a_richer_library(system, coordinates, noise):
    # Laws of the lean libraries that are true laws (two mode energies, five laws of the
    # isotropic oscillator, a cubic energy, the angular momentum) miss no term of the richer
    # library, and nothing is superseded.
    lean, superseded, replacements, *_, variant = _lean_law_judged_richer(system, coordinates, 100.0, noise)
    states = variant.dataset.stacked("train")[::50]
    truth = list(variant.laws.values())
    assert lean and all(functionally_dependent(law.expression, truth, variant.dataset.columns, states)
                        for law in lean)
    assert superseded == [] and replacements == []


def _formula(text, columns):
    """An accepted whole formula as the ranking receives it (its evidence passes the rule)."""
    return Law(expression=columns.parse(text), columns=columns, unit=DIMENSIONLESS, size=7, origin="formula",
               template=text, parameters=(), evidence=Evidence(0.0, 0.0, 1.0, 1e-4, error_test=1e-4))


@pytest.mark.parametrize("system, options, laws, superseded", [
    # the cart's rail takes a share of the swing: the pendulum's own energy leaves out terms
    # (omega**2*cos(theta) among the lean ones), its true energy and momentum do not
    ("pendulum-cart", {"rate": 50.0, "n_trajectories": 20, "seed": 1},
     ["omega**2 - 41.14*cos(theta)", "0.95*vx**2 + 0.24*omega*vx*cos(theta) + 0.072*omega**2 - 2.354*cos(theta)",
      "1.9*vx + 0.24*omega*cos(theta)"], [0]),
    ("pendulum", {"coordinates": "velocities", "rate": 100.0, "seed": 0}, ["omega**2 - 12*cos(theta)"], []),
    ("duffing", {"rate": 100.0, "seed": 0}, ["v**2 + 2*x**2 + 0.25*x**4"], []),
])
def test_a_whole_formula_that_misses_a_lean_term_is_superseded(system, options, laws, superseded):
    # At 5 % noise, 50 Hz, the pendulum on a cart had omega**2 - 41.14*cos(theta) accepted as an
    # exact, independent law (the energy of a pendulum on a fixed pivot); the lean library's
    # paired test names a term it misses, as it would for a multi-term law, and only it goes.
    variant = make_variant(system, noise=0.05, **options)
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    columns = StateColumns.from_dataset(variant.dataset)
    candidates = [_formula(text, columns) for text in laws]
    assert superseded_formulas(variant.dataset, data, candidates, THRESHOLD, 0) == superseded
