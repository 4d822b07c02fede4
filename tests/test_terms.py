"""Multi-term search: the laws it finds and their numbers, its options and budgets (the library
itself: test_terms_library.py)."""
import numpy as np
import pytest
import scipy.linalg
import sympy

from conslaw.datasets import load_dataset, make_variant
from conslaw.discovery.conservation import DiscoveryConfig
from conslaw.discovery.independence import functionally_dependent
from conslaw.dsl.units import DIMENSIONLESS
from conslaw.engine import ConservationSearch
from conslaw.errors import ConslawError
from conslaw.terms import TermsConfig, check_law
from conslaw.terms.judging import magnitude
from conslaw.terms.sparse_fits import SparseFits, known_penalty

from terms_cases import accepted, coefficients, run


@pytest.fixture(scope="module")
def spring():
    dataset = load_dataset("spring", m=0.5, k=3.0, n_trajectories=24)
    return dataset, *run(dataset)


def test_spring_energy_has_the_right_coefficient(spring):
    _, outcome, laws = spring
    law = accepted(laws)[0]
    assert law.origin == "terms" and law.quality == "exact" and law.independent
    c = coefficients(law)
    assert set(c) == {"p**2", "q**2"}
    # p**2/(2m) + k q**2/2: the q**2 coefficient over the p**2 one is k*m.
    assert c["q**2"] / c["p**2"] == pytest.approx(3.0 * 0.5, rel=1e-9)
    assert outcome.counts["library_terms"] >= 2 and not outcome.partial
    assert set(outcome.timings) >= {"library_s", "laws_s", "records_s", "total_s"}


def test_law_record_has_template_units_and_full_precision(spring):
    dataset, _, laws = spring
    law = accepted(laws)[0]
    (parameter,) = law.parameters
    assert law.template in ("c0*q**2 + p**2", "c0*p**2 + q**2") and len(law.terms) == 2
    reference, other = (sympy.sympify(t) for t in law.terms)
    units = dict(zip(dataset.columns, dataset.dimensions))
    unit_of = {"p**2": units["p"] ** 2, "q**2": units["q"] ** 2}
    assert law.unit == unit_of[str(reference)]
    assert parameter.unit == unit_of[str(reference)] / unit_of[str(other)]
    value = [f for f in law.expression.atoms(sympy.Float)][0]
    assert float(value) == parameter.value and repr(parameter.value) in str(law.expression)
    assert law.size == 7


def test_pendulum_energy_and_no_second_law():
    dataset = load_dataset("pendulum", n_trajectories=24, noise=0.01)
    outcome, laws = run(dataset)
    good = accepted(laws)
    assert good, outcome.counts
    c = coefficients(good[0])
    # p**2/(2 m l**2) - m g l cos(q): the p**2 coefficient over cos(q)'s is -1/(2 m**2 g l**3).
    assert c["p**2"] / c["cos(q)"] == pytest.approx(-1 / (2 * 0.5 ** 2 * 6.0), rel=0.02)
    assert sum(law.independent for law in laws) == 1
    energy = good[0].expression
    states = dataset.train[0].x
    for law in good:  # every accepted law is a function of the energy; no bare input
        assert len(law.expression.free_symbols) == 2 and len(law.terms) >= 2
        assert functionally_dependent(law.expression, [energy], dataset.columns, states)


def test_predator_prey_with_log_gives_the_exact_invariant():
    dataset = load_dataset("predator-prey", n_trajectories=16)
    outcome, laws = run(dataset, operators="+log")
    assert "log" in outcome.counts["operators"]
    c = coefficients(accepted(laws)[0])
    constants = {k: v["value"] for k, v in dataset.metadata["constants"].items()}
    a, b, cc, d = (constants[k] for k in "abcd")
    # c*x - d*log(x) + b*y - a*log(y), up to scale.
    expected = {"x": cc, "log(x)": -d, "y": b, "log(y)": -a}
    assert set(c) == set(expected)
    for term, value in expected.items():
        assert c[term] / c["log(y)"] == pytest.approx(value / -a, rel=1e-6)


def test_heavy_tailed_terms_are_pruned_so_that_noisy_predator_prey_gives_its_invariant():
    # With exp in the library, mixtures of exp(y**2)-like terms look conserved to the linear
    # forms at 1 % noise (raw ratios far below the true law's) and pushed it out of reach.
    # (Seed 1 still misses it, for another reason: docs/terms.md, Limits.)
    variant = make_variant("predator-prey", rate=200.0, noise=0.01, seed=0)
    outcome, laws = run(variant.dataset, operators="+log,+exp")
    assert outcome.counts["removed_heavy_tailed"] > 0
    found = [coefficients(law) for law in accepted(laws)]
    assert [set(c) for c in found] == [{"x", "y", "log(x)", "log(y)"}]
    constants = {k: v["value"] for k, v in variant.dataset.metadata["constants"].items()}
    c = found[0]
    assert c["x"] / c["log(y)"] == pytest.approx(constants["c"] / -constants["a"], rel=0.02)
    assert c["log(x)"] / c["log(y)"] == pytest.approx(constants["d"] / constants["a"], rel=0.02)


def test_without_log_predator_prey_has_no_law():
    dataset = load_dataset("predator-prey", n_trajectories=16)
    outcome, laws = run(dataset)
    assert "log" not in outcome.counts["operators"] and not accepted(laws)


def test_a_fit_besides_known_laws_finds_the_other_law():
    # two conserved directions u1, u2 (A u = 0) among 6 terms: with u1 known, the fit on all
    # terms returns u2 (B-orthogonal to u1), and a known law alone scores a ratio of 1
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    A = basis @ np.diag([0.0, 0.0, 1.0, 2.0, 3.0, 4.0]) @ basis.T
    B = np.eye(6) + 0.1 * np.ones((6, 6))
    u1 = basis[:, 0]
    support = np.arange(6)[None, :]
    penalized = known_penalty(A, B, support, [u1])[0]
    assert u1 @ penalized @ u1 / (u1 @ B @ u1) == pytest.approx(1.0)
    ratios, vectors = np.linalg.eigh(np.linalg.solve(np.linalg.cholesky(B), penalized)
                                     @ np.linalg.inv(np.linalg.cholesky(B)).T)
    w = np.linalg.inv(np.linalg.cholesky(B)).T @ vectors[:, 0]
    assert ratios[0] == pytest.approx(0.0, abs=1e-12) and abs(w @ B @ u1) < 1e-10
    assert abs(w @ A @ w) < 1e-12  # conserved: in the span of u1, u2, B-orthogonal to u1
    # a law whose terms do not all lie in the support is no penalty there
    assert np.allclose(known_penalty(A, B, np.arange(5)[None, :], [u1])[0], A[:5, :5])


def _random_forms(seed: int, terms: int, supports: int) -> tuple:
    """Forms A and B of 12 random terms on 40 states, term sizes, and ``supports`` sorted random
    sets of ``terms`` terms."""
    rng = np.random.default_rng(seed)
    values, null = rng.standard_normal((40, 12)), rng.standard_normal((40, 12))
    sets = np.sort(np.array([rng.choice(12, terms, replace=False) for _ in range(supports)]), axis=1)
    return values.T @ values, null.T @ null, np.arange(12) % 4 + 1, sets


def test_a_kept_refit_is_bitwise_the_one_made_again_and_the_known_laws_are_part_of_its_key():
    A, B, sizes, supports = _random_forms(3, 4, 60)
    fits = SparseFits(A, B, sizes)
    first = fits.batch(supports[:40])
    again = fits.batch(supports[20:])  # half of it made before, in another batch
    fresh = SparseFits(A, B, sizes).batch(supports[20:])
    assert [law.ratio for law in again] == [law.ratio for law in fresh]
    assert all(np.array_equal(a.coefficients, b.coefficients) and np.array_equal(a.support, b.support)
               and a.size == b.size for a, b in zip(again, fresh))
    assert [law.ratio for law in again[:20]] == [law.ratio for law in first[20:]]
    # beside a known law on the same terms the refit is another law (known_penalty), not the kept one
    besides = fits.batch(supports[:1], known=[first[0].coefficients])[0]
    assert besides.ratio > first[0].ratio and abs(besides.coefficients @ B @ first[0].coefficients) < 1e-8
    limit = float(np.median([law.ratio for law in fresh]))
    assert [law.ratio for law in fits.batch(supports[20:], limit=limit)] == \
        [law.ratio for law in fresh if law.ratio <= limit]


def test_forward_selection_s_shortest_refit_and_the_kept_ridge_fits_are_the_laws_made_in_full():
    A, B, sizes, supports = _random_forms(4, 3, 30)
    supports = np.concatenate([supports, supports[:5]])  # equal lengths: the first one wins
    known = [np.eye(12)[0] + np.eye(12)[5]]
    made = SparseFits(A, B, sizes).batch(supports, known)
    best = min(made, key=lambda law: law.description_length)
    shortest = SparseFits(A, B, sizes).shortest(supports, known)
    assert np.array_equal(shortest.support, best.support) and shortest.ratio == best.ratio
    assert np.array_equal(shortest.coefficients, best.coefficients)
    assert shortest.description_length == min(law.description_length for law in made)
    # the ridge fit of a set of terms is the penalized ratio's eigenvector, made once
    fits, support = SparseFits(A, B, sizes), np.array([1, 4, 6, 9])
    ridge = 0.3
    w = fits.ridge_fit(ridge, support)
    assert np.flatnonzero(w).tolist() == support.tolist()
    penalized = (A + ridge * np.diag(np.diag(B)))[np.ix_(support, support)]
    ratios, _ = scipy.linalg.eigh(penalized, B[np.ix_(support, support)])
    assert (w @ (A + ridge * np.diag(np.diag(B))) @ w) / (w @ B @ w) == pytest.approx(ratios[0], rel=1e-10)
    assert fits.ridge_fit(ridge, support) is w and not np.array_equal(fits.ridge_fit(2 * ridge, support), w)


@pytest.mark.slow
def test_three_body_angular_momentum_from_a_polynomial_library():
    # 90 monomials of degree <= 2: P_x, P_y and L span 7 conserved directions with their
    # products (P_x**2, ...); the fit besides the momenta reaches L, coefficients all +-1
    dataset = load_dataset("three-body", n_trajectories=16)
    outcome, laws = run(dataset, term_depth=1, max_factors=2)
    found = {frozenset(c): c for c in map(coefficients, accepted(laws))}
    assert frozenset({"px1", "px2", "px3"}) in found and frozenset({"py1", "py2", "py3"}) in found
    angular = frozenset(f"{p}{i}*{q}{i}" for i in (1, 2, 3) for p, q in (("px", "y"), ("py", "x")))
    assert angular in found, list(found)
    values = found[angular]
    signs = {term: np.sign(value) for term, value in values.items()}
    assert all(abs(abs(v) / abs(values["px1*y1"]) - 1) < 1e-6 for v in values.values())
    assert all(signs[f"px{i}*y{i}"] == -signs[f"py{i}*x{i}"] for i in (1, 2, 3))
    assert all(law.quality == "exact" for law in accepted(laws)) and outcome.counts["library_terms"] == 90


def test_max_seconds_returns_partial():
    dataset = load_dataset("two-body", n_trajectories=16)
    outcome, _ = run(dataset, max_seconds=1e-3, vocabulary="auto")
    assert outcome.partial and "time budget" in outcome.reason
    assert outcome.counts["stages"] == 1


def test_check_law_accepts_the_true_law_and_rejects_a_wrong_coefficient():
    dataset = load_dataset("spring", m=0.5, k=3.0, n_trajectories=16)
    good = check_law(dataset, "p**2 + 1.5*q**2")
    assert good.accepted and good.evidence.ratio_control > 0.1
    assert good.terms == ("p**2", "q**2") or set(good.terms) == {"p**2", "q**2"}
    bad = check_law(dataset, "p**2 + q**2")  # k*m is 1.5
    assert not bad.accepted and bad.evidence.ratio > 1e-2
    near = check_law(dataset, "p**2 + 1.3*q**2")  # approximately conserved: 100 times is a loose bar
    assert near.evidence.ratio > 1e6 * good.evidence.ratio
    with pytest.raises(ConslawError):
        check_law(dataset, "3")


def test_magnitude_keeps_conserved_directions_and_flips_alternating_ones():
    rng = np.random.default_rng(0)
    B = np.eye(3) * np.array([1.0, 4.0, 9.0])
    A = np.diag([0.0, -2.0, 1.0])
    flipped = magnitude(A, B)
    np.testing.assert_allclose(flipped, np.diag([0.0, 2.0, 1.0]), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(magnitude(rng.normal(size=(3, 3)) + np.eye(3), B)) >= -1e-12)


def test_dimensionless_law_unit():
    dataset = load_dataset("predator-prey", n_trajectories=8)
    _, laws = run(dataset, operators="+log")
    assert accepted(laws)[0].unit == DIMENSIONLESS


def test_discover_runs_the_multi_term_search():
    from conslaw.discovery.discover import discover
    from conslaw.dsl.budget import EnumerationConfig
    from conslaw.parallel import WorkerPool

    dataset = load_dataset("spring", n_trajectories=16)
    found = discover(dataset, DiscoveryConfig(mode="terms"), EnumerationConfig(depth=3), TermsConfig(),
                     seed=0, pool=WorkerPool(1, backend="sequential"))
    account = found.searches["terms"]
    assert account["ran"] and account["counts"]["library_terms"] >= 2 and not account["partial"]
    assert [law.origin for law in found.independent] == ["terms"]


@pytest.mark.slow
def test_double_pendulum_energy_exact_and_alone():
    dataset = load_dataset("double-pendulum")
    outcome, laws = run(dataset, vocabulary="default")
    good = accepted(laws)
    assert sum(law.independent for law in laws) == 1
    c = coefficients(good[0])
    constants = {k: v["value"] for k, v in dataset.metadata["constants"].items()}
    m1, m2, l1, l2, g = (constants[k] for k in ("m1", "m2", "l1", "l2", "g"))
    # T - V with T = (m1+m2) l1**2 w1**2/2 + m2 l2**2 w2**2/2 + m2 l1 l2 w1 w2 cos(q1-q2),
    # V = -(m1+m2) g l1 cos(q1) - m2 g l2 cos(q2); relative to the w2**2 coefficient.
    expected = {"w1**2": (m1 + m2) * l1**2 / (m2 * l2**2), "w1*w2*cos(q1 - q2)": 2 * l1 / l2,
                "cos(q1)": 2 * (m1 + m2) * g * l1 / (m2 * l2**2), "cos(q2)": 2 * g / l2}
    for term, value in expected.items():
        assert abs(c[term] / c["w2**2"]) == pytest.approx(value, rel=1e-6)


def test_a_variant_in_degrees_velocities_and_another_rate_gives_its_true_law():
    from conslaw.datasets.variants import make_variant

    variant = make_variant("pendulum", coordinates="velocities", angle_unit="deg", rate=20.0,
                           n_trajectories=24)
    dataset = variant.dataset
    _, laws = run(dataset)
    good = [law for law in accepted(laws) if law.independent]
    assert len(good) == 1
    states = np.concatenate([t.x for t in dataset.train])
    assert functionally_dependent(good[0].expression, list(variant.laws.values()), dataset.columns, states)
    truth = variant.laws[next(iter(variant.laws))]
    values = good[0].numpy("si")(states)
    exact = np.asarray(sympy.lambdify(sympy.symbols(dataset.columns), truth)(*states.T), dtype=float)
    assert abs(np.corrcoef(values, exact)[0, 1]) > 1 - 1e-9  # the same law up to a*g + b


@pytest.mark.parametrize("bad", [{"term_depth": 0}, {"term_depth": 2.5}, {"max_factors": True},
                                 {"max_terms": 1}, {"vocabulary": "wide"}])
def test_bad_options_are_one_line_usage_errors(bad):
    from conslaw.errors import UsageError

    with pytest.raises(UsageError) as error:
        TermsConfig(**bad)
    assert "\n" not in str(error.value)


def test_data_without_held_out_trajectories():
    import dataclasses

    dataset = dataclasses.replace(load_dataset("spring", n_trajectories=10), test=[])
    _, laws = run(dataset)
    law = accepted(laws)[0]
    assert law.evidence.ratio_test is None and law.quality == "exact"
    assert check_law(dataset, "p**2 + q**2").evidence.ratio_test is None


def test_keep_bounds_the_near_misses(spring):
    dataset, _, _ = spring
    for keep in (0, 2):
        outcome, laws = run(dataset, keep=keep)
        assert sum(not law.accepted for law in laws) <= keep
        assert any(law.accepted for law in laws)


def test_spring_pendulum_energy_in_a_cameras_columns_takes_the_norm_of_the_position():
    """A bob on a spring, in x, y, vx, vy: its energy holds the spring's length
    ``sqrt(x**2 + y**2)``, a lifted norm of the library; found alone, with m/k = 0.025,
    2 m g/k = 0.4905 and 2 L0 = 1 against x**2."""
    variant = make_variant("spring-pendulum", n_trajectories=12, n_points=121)
    search = ConservationSearch(mode="terms", tailor=False, jobs=1).fit(variant.dataset)
    assert len(search.accepted_laws_) == 1
    expression = sympy.expand(search.accepted_laws_[0].expression)
    s = {str(symbol): symbol for symbol in expression.free_symbols}
    x, y = s["x"], s["y"]
    ratios = [expression.coeff(term) / expression.coeff(x**2)
              for term in (s["vx"]**2, s["vy"]**2, y, sympy.sqrt(x**2 + y**2))]
    assert [float(r) for r in ratios] == pytest.approx([0.025, 0.025, 0.4905, -1.0], rel=1e-6)
