"""The multi-term search's library: which terms it forms, in which order, and how pruning and
sizing keep the usable ones (poles, duplicates, dependent terms, data too small)."""
import itertools

import numpy as np
import pytest
import sympy

from conslaw.datasets import load_dataset
from conslaw.discovery.function_forms import MAX_MAGNITUDE, MIN_MAGNITUDE
from conslaw.dsl.operators import resolve_operators
from conslaw.dsl.units import parse_unit
from conslaw.engine import ConservationSearch
from conslaw.errors import ConslawError
from conslaw.terms.library import _key_limit, _products_by_rank, build_library
from conslaw.terms.pruning import _usable, prune_library, term_values

from terms_cases import run


def test_operators_reach_the_library():
    dataset = load_dataset("predator-prey", n_trajectories=4)
    texts = lambda ops: {str(build_library(dataset.columns, dataset.dimensions, 3, 1,
                                           operators=resolve_operators(ops)).sympy_term(i))
                         for i in range(len(build_library(dataset.columns, dataset.dimensions, 3, 1,
                                                          operators=resolve_operators(ops))))}
    assert "log(x)" in texts("+log") and "log(x)" not in texts("default")
    assert "x/y" in texts("default") and not any("/" in t for t in texts("+,-,*,square"))
    kepler = load_dataset("two-body", n_trajectories=4)
    lifted = build_library(kepler.columns, kepler.dimensions, 3, 1, operators=resolve_operators("+rsqrt"))
    assert lifted.counts["lifted_factors"] == 2  # rsqrt of x**2 + y**2 and of px**2 + py**2
    assert "1/sqrt(x**2 + y**2)" in {str(lifted.sympy_term(i)) for i in range(len(lifted))}


def test_a_copy_of_a_columns_values_gives_the_library_no_factor():
    """A column that holds another's SI values (one reading in two units) is left out of the
    factors: each factor of it has a twin in the original, which the library keeps."""
    dataset = load_dataset("pendulum", n_trajectories=4).with_repeated_column("q", "q_deg", "deg")
    operators = resolve_operators("default")
    alone = build_library(dataset.columns[:2], dataset.dimensions[:2], 3, 2, operators=operators)
    with_copy = build_library(dataset.columns, dataset.dimensions, 3, 2, operators=operators)
    skipped = build_library(dataset.columns, dataset.dimensions, 3, 2, operators=operators, skipped_columns={2})
    texts = lambda library: [str(library.sympy_term(i)) for i in range(len(library))]
    assert any("q_deg" in text for text in texts(with_copy))
    assert texts(skipped) == texts(alone) and skipped.counts == alone.counts


def test_states_on_which_no_factor_moves_give_an_empty_library():
    """A factor constant at the states carries nothing; with none left there is no product (the
    count once failed on the empty list of factors)."""
    dataset = load_dataset("pendulum", n_trajectories=4)
    still = np.tile(dataset.train[0].x[:1], (20, 1))
    library = build_library(dataset.columns, dataset.dimensions, 3, 2, operators=resolve_operators("default"),
                            states=[still])
    assert len(library) == 0
    assert len(build_library(dataset.columns, dataset.dimensions, 3, 2, operators=resolve_operators("default"),
                             states=[dataset.train[0].x])) > 0


def test_three_columns_of_one_unit_lift_their_norm_and_reach_the_energy_of_a_3d_orbit():
    """Kepler in 3D (GM = 1, noiseless): the norm of three same-unit columns is lifted beside the
    pairs' (3 pairs and 1 triple per unit), so the energy ``v**2/2 - 1/r`` is a 4-term law; with
    pairs only it has no sparse form in the library."""
    from scipy.integrate import solve_ivp

    names = ("x", "y", "z", "vx", "vy", "vz")
    units = dict(zip(names, ("m",) * 3 + ("m/s",) * 3))
    dimensions = [parse_unit(units[name]).dimension for name in names]
    library = build_library(names, dimensions, 1, 1, operators=resolve_operators("+rsqrt"))
    assert library.counts["lifted_factors"] == 8
    assert "1/sqrt(x**2 + y**2 + z**2)" in {str(library.sympy_term(i)) for i in range(len(library))}

    def field(_, s):
        return [*s[3:], *(-s[:3] / (s[0] ** 2 + s[1] ** 2 + s[2] ** 2) ** 1.5)]

    rng, times, orbits = np.random.default_rng(3), np.linspace(0, 6, 241), []
    for _ in range(8):
        position = rng.normal(size=3)
        position *= rng.uniform(0.8, 1.5) / np.linalg.norm(position)
        velocity = np.cross(position, rng.normal(size=3))
        velocity *= rng.uniform(0.8, 1.1) / np.sqrt(np.linalg.norm(position)) / np.linalg.norm(velocity)
        orbits.append(solve_ivp(field, (0, 6), [*position, *velocity], t_eval=times, rtol=1e-11, atol=1e-11).y.T)
    search = ConservationSearch(units=units, jobs=1, tailor=False, mode="terms", vocabulary="default",
                                operators="+,-,*,square,rsqrt", term_depth=1, max_factors=2)
    energy = [law for law in search.fit(orbits, times=[times] * 8).laws_ if law.accepted and "sqrt" in law.text()]
    assert len(energy) == 1 and energy[0].independent
    coefficients = sympy.expand(energy[0].sympy()).as_coefficients_dict()
    x, y, z, vx = (sympy.Symbol(n, real=True) for n in ("x", "y", "z", "vx"))
    assert coefficients[vx ** 2] / coefficients[1 / sympy.sqrt(x ** 2 + y ** 2 + z ** 2)] == pytest.approx(-0.5, rel=1e-6)


def test_only_the_simplest_products_are_formed_in_the_library_order():
    # against all products formed and sorted (key = rank sum + extra factors, then count, then
    # factor positions), with and without a cap on lifted factors per product
    rng = np.random.default_rng(0)
    for _ in range(25):
        n = int(rng.integers(2, 12))
        ranks, lifted = list(rng.integers(1, 5, size=n)), list(rng.random(n) < 0.3)
        max_factors = int(rng.integers(1, 4))
        max_lifted = int(rng.integers(0, max_factors + 1))
        every = sorted((sum(ranks[f] for f in c) + len(c) - 1, len(c), c)
                       for k in range(1, max_factors + 1)
                       for c in itertools.combinations_with_replacement(range(n), k)
                       if sum(lifted[f] for f in c) <= max_lifted)
        for wanted in (None, 1, 7, max(1, len(every) // 2), len(every) + 5):
            key, total = _key_limit(ranks, lifted, max_factors, max_lifted, wanted)
            formed = _products_by_rank(ranks, lifted, max_factors, max_lifted, key)
            assert total == len(every) and sorted(formed)[:wanted] == every[:wanted]
            if wanted is not None and wanted < len(every):  # nothing beyond the last key needed
                assert max(record[0] for record in formed) == every[wanted - 1][0]


def test_terms_settled_by_their_factors_bounds_are_judged_as_at_every_state():
    # against every product formed at every state: factors that overflow together, underflow
    # together, vanish at most states, or are inf at some
    rng = np.random.default_rng(3)
    for _ in range(60):
        n_factors = int(rng.integers(2, 10))
        parts = []
        for n in (int(rng.integers(0, 200)), int(rng.integers(1, 200))):
            part = rng.normal(size=(n, n_factors)) * 10.0 ** rng.choice([0, 0, 30, 60, 100, -40, -70, -100], n_factors)
            part[:, rng.integers(n_factors)] *= rng.random(n) < 0.05
            if n and rng.random() < 0.3:
                part[rng.integers(n), rng.integers(n_factors)] = np.inf
            parts.append(np.column_stack([part, np.ones(n)]))
        index = rng.integers(0, n_factors + 1, size=(300, int(rng.integers(1, 5))))
        finite, in_range = np.ones(300, bool), np.ones(300, bool)
        for part in parts:
            with np.errstate(all="ignore"):
                values = np.prod(part[:, index], axis=-1)  # the same products, left to right
            finite &= np.isfinite(values).all(axis=0)
            peak = np.where(np.isfinite(values), np.abs(values), 0.0).max(axis=0, initial=0.0)
            in_range &= (peak <= MAX_MAGNITUDE) & (peak >= MIN_MAGNITUDE)
        settled = _usable(parts, index)
        assert np.array_equal(settled[0], finite) and np.array_equal(settled[1], in_range)


def test_pruning_removes_poles_duplicates_and_dependent_terms():
    dataset = load_dataset("pendulum", n_trajectories=8)
    library = build_library(dataset.columns, dataset.dimensions, 3, 2, operators=resolve_operators("default"))
    states = np.concatenate([t.x for t in dataset.train])
    pruned, (values,) = prune_library(library, [states])
    assert pruned.removed["equal_on_data"] > 0 and pruned.removed["linearly_dependent"] > 0
    texts = [pruned.text(i) for i in range(len(pruned))]
    assert "sin(q)**2" in texts and "cos(q)**2" not in texts  # equal up to a*t + b
    np.testing.assert_allclose(values, term_values(pruned, states))
    centred = values - values.mean(axis=0)
    r = np.linalg.qr(centred / np.linalg.norm(centred, axis=0), mode="r")
    assert np.all(np.abs(np.diag(r)) > 1e-6)  # each term has a part outside the simpler ones' span
    assert pruned.sizes == sorted(pruned.sizes)


def test_small_data_shrink_the_library_instead_of_failing():
    dataset = load_dataset("two-body", n_trajectories=4, n_points=20)
    outcome, _ = run(dataset)
    counts = outcome.counts
    assert counts["removed_too_many"] > 0 and "shrunk" in outcome.reason
    assert 2 * counts["library_terms"] <= counts["constraints"]
    assert outcome.candidates  # it still ran
    six = load_dataset("three-oscillators", n_trajectories=4, n_points=20)
    outcome, _ = run(six)
    assert "shrunk" in outcome.reason and 2 * outcome.counts["library_terms"] <= outcome.counts["constraints"]


def test_data_too_small_for_any_library_is_one_line_error():
    dataset = load_dataset("spring", n_trajectories=2, n_points=6)
    with pytest.raises(ConslawError) as error:
        run(dataset)
    assert "\n" not in str(error.value)
