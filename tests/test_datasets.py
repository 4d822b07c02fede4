"""Data sets: the built-in generators and their laws (recordings and user files: test_data_files.py)."""
from __future__ import annotations


import numpy as np
import pytest
import sympy

from conslaw.datasets import (
    SYSTEMS,
    TrajectoryDataset,
    describe_dataset,
    list_datasets,
    load_dataset,
)
from conslaw.dsl.units import parse_unit
from conslaw.errors import ConslawError, UsageError

SIMULATED = list(SYSTEMS)


def _law_values(dataset: TrajectoryDataset, law: str, x: np.ndarray) -> np.ndarray:
    symbols = sympy.symbols(dataset.columns)
    function = sympy.lambdify(symbols, sympy.sympify(law, locals=dict(zip(dataset.columns, symbols))), "numpy")
    return np.broadcast_to(function(*np.moveaxis(x, -1, 0)), x.shape[:-1])


# ------------------------------------------------------------------ registry and generators
def test_registry_lists_every_system_and_rejects_unknown_names():
    names = list_datasets()
    for name in ("pendulum", "spring", "oscillator2d", "coupled-springs", "double-pendulum", "two-body", "real-pendulum",
                 "kepler", "predator-prey", "three-body", "three-oscillators", "rigid-body"):
        assert name in names
    with pytest.raises(UsageError, match="unknown dataset 'pendulumm'.*pendulum, spring"):
        load_dataset("pendulumm")
    assert describe_dataset("spring")["options"]["k"] == {"default": 2.0, "unit": "N/m", "description": "spring constant (defaults give HNN's H = q**2 + p**2)"}
    assert describe_dataset("two-body")["coordinates"] == ["native", "velocities", "polar"]


@pytest.mark.parametrize("name, n_points", [("pendulum", 45), ("spring", 30)])
def test_hnn_shapes_split_and_units(name, n_points):
    dataset = load_dataset(name)
    assert len(dataset.train) == 25 and len(dataset.test) == 25
    for trajectory in dataset.train + dataset.test:
        assert trajectory.x.shape == (n_points, 2) and trajectory.dxdt.shape == (n_points, 2)
        np.testing.assert_allclose(trajectory.t, np.linspace(0, 3, n_points))
    expected_units = {"pendulum": ("rad", "kg*m**2/s"), "spring": ("m", "kg*m/s")}[name]
    assert dataset.dimensions == tuple(parse_unit(u).dimension for u in expected_units)
    assert dataset.true_law == {"pendulum": "p**2 - 3*cos(q)", "spring": "p**2 + q**2"}[name]


@pytest.mark.parametrize("name, low, high", [("pendulum", 1.3, 2.3), ("spring", 0.1, 1.0)])
def test_hnn_initial_states_follow_hnn_draw_order(name, low, high):
    dataset = load_dataset(name, seed=3)
    n_points = dataset.metadata["n_points"]
    rng = np.random.RandomState(3)
    for trajectory in (dataset.train + dataset.test)[:3]:
        direction = rng.rand(2) * 2 - 1
        radius = rng.rand() * (high - low) + low
        rng.randn(2 * n_points)  # HNN draws the q and p noise before the next trajectory
        np.testing.assert_allclose(trajectory.x[0], direction / np.linalg.norm(direction) * radius, rtol=1e-12)
    radii = np.linalg.norm(np.stack([t.x[0] for t in dataset.train + dataset.test]), axis=1)
    assert radii.min() >= low and radii.max() <= high


@pytest.mark.parametrize("name", SIMULATED)
def test_every_true_law_is_conserved_along_generated_trajectories(name):
    dataset = load_dataset(name)
    x = np.stack([t.x for t in dataset.train + dataset.test])
    assert dataset.true_law == (dataset.true_laws[0] if dataset.true_laws else None)
    assert len(dataset.true_laws) == len(dataset.metadata["true_law_names"])
    for law in dataset.true_laws:
        values = _law_values(dataset, law, x)
        scale = max(np.abs(values).max(), 1.0)
        assert np.abs(values - values[:, :1]).max() < 1e-8 * scale, law
        assert values[:, 0].std() > 1e-3 * scale, f"{law} does not vary between trajectories"


@pytest.mark.parametrize("name", SIMULATED)
def test_true_laws_have_zero_derivative_along_the_true_field(name):
    dataset = load_dataset(name, n_trajectories=4)
    states = np.random.RandomState(1).uniform(0.3, 1.2, size=(200, dataset.n_state))
    symbols = sympy.symbols(dataset.columns)
    rates = dataset.true_field(states)
    for law in dataset.true_laws:
        expression = sympy.sympify(law, locals=dict(zip(dataset.columns, symbols)))
        gradient = sympy.lambdify(symbols, [sympy.diff(expression, s) for s in symbols], "numpy")
        grad = np.stack([np.broadcast_to(g, (200,)) for g in gradient(*states.T)], axis=1)
        along_flow = np.einsum("nd,nd->n", grad, rates)
        assert np.abs(along_flow).max() < 1e-9 * max(1.0, np.abs(grad * rates).max()), law


@pytest.mark.parametrize("name", SIMULATED)
def test_stored_derivatives_are_the_rates_of_the_stored_states(name):
    dataset = load_dataset(name, n_trajectories=4, n_points=1201)
    for trajectory in dataset.train + dataset.test:
        estimate = np.gradient(trajectory.x, trajectory.t, axis=0, edge_order=2)
        scale = np.abs(trajectory.dxdt).max()
        assert np.abs(estimate - trajectory.dxdt).max() < 1e-3 * scale


CANONICAL = {  # canonical systems, with non-default masses so that no factor hides behind a 1
    "pendulum": {"m": 0.7, "l": 1.3},
    "spring": {"m": 0.7},
    "oscillator2d": {"m": 0.7, "ky": 3.0},
    "coupled-springs": {"m2": 1.1},
    "two-body": {"m": 0.7},
    "kepler": {"m": 0.7},
    "three-body": {"m2": 1.1},
}


@pytest.mark.parametrize("name", CANONICAL)
def test_canonical_fields_are_hamiltons_equations_of_the_energy(name):
    # The field and the energy are written separately in the spec; here each checks the other:
    # dq/dt = dH/dp and dp/dt = -dH/dq, with the positions the first half of the columns.
    dataset = load_dataset(name, n_trajectories=4, **CANONICAL[name])
    half = dataset.n_state // 2
    symbols = sympy.symbols(dataset.columns)
    energy = sympy.sympify(dataset.true_law, locals=dict(zip(dataset.columns, symbols)))
    states = np.concatenate([t.x for t in dataset.train + dataset.test])[::5]
    gradient = np.stack([_law_values(dataset, str(sympy.diff(energy, s)), states) for s in symbols], axis=1)
    hamilton = np.concatenate([gradient[:, half:], -gradient[:, :half]], axis=1)
    np.testing.assert_allclose(dataset.true_field(states), hamilton, rtol=1e-10, atol=1e-10 * np.abs(hamilton).max())


def test_noise_touches_states_only_and_keeps_the_initial_states():
    clean = load_dataset("pendulum")
    noisy = load_dataset("pendulum", noise=0.1)
    difference = np.concatenate([n.x - c.x for n, c in zip(noisy.train, clean.train)])
    assert 0.09 < difference.std() < 0.11 and abs(difference.mean()) < 0.01
    for n, c in zip(noisy.train, clean.train):
        np.testing.assert_array_equal(n.dxdt, c.dxdt)
    relative = load_dataset("two-body", noise=0.01, relative_noise=True)
    base = load_dataset("two-body")
    spread = base.stacked().std(axis=0)
    ratio = (relative.stacked() - base.stacked()).std(axis=0) / spread
    assert np.all((ratio > 0.008) & (ratio < 0.012))


@pytest.mark.parametrize("noise", [-0.1, float("nan"), "abc"])
def test_invalid_noise_is_rejected(noise):
    with pytest.raises(UsageError, match="noise"):
        load_dataset("spring", noise=noise)


def test_constants_are_options_and_reach_the_laws_and_field():
    dataset = load_dataset("spring", m=1.0, k=4.0)
    assert dataset.true_law == "p**2/2 + 2*q**2"
    np.testing.assert_allclose(dataset.true_field(np.array([[1.0, 2.0]])), [[2.0, -4.0]])
    assert dataset.metadata["constants"]["k"] == {"value": 4.0, "unit": "N/m"}
    pendulum = load_dataset("pendulum", m="1", l="2", g="9.81", n_trajectories="6")
    assert pendulum.true_law == "p**2/8 - 981*cos(q)/50"
    assert len(pendulum.train) == 3 and len(pendulum.test) == 3
    with pytest.raises(UsageError, match="no option.*mass.*valid options: m, l, g"):
        load_dataset("pendulum", mass=1.0)
    with pytest.raises(ConslawError, match="option k=-1"):
        load_dataset("spring", k=-1)
    with pytest.raises(ConslawError, match="radius_min"):
        load_dataset("spring", radius_min=2.0)


def test_oscillator2d_laws_depend_on_isotropy():
    isotropic = load_dataset("oscillator2d")
    assert "-px*y + py*x" in isotropic.true_laws and isotropic.metadata["n_independent_laws"] == 3
    anisotropic = load_dataset("oscillator2d", anisotropic=True)
    assert anisotropic.metadata["constants"]["ky"]["value"] == 4.0
    assert all("px*y" not in law for law in anisotropic.true_laws)
    assert anisotropic.metadata["n_independent_laws"] == 2
    assert load_dataset("oscillator2d", kx=1.0, ky=3.0).true_law == "px**2 + py**2 + x**2/2 + 3*y**2/2"
    with pytest.raises(ConslawError, match="anisotropic"):
        load_dataset("oscillator2d", anisotropic=True, ky=2.0)


def test_multi_term_systems_have_the_documented_energy_terms():
    springs = sympy.sympify(load_dataset("coupled-springs").true_law)
    x1, x2 = sympy.symbols("x1 x2")
    assert springs.coeff(x1 * x2) == -1  # -k2 with k2 = 1
    double = sympy.sympify(load_dataset("double-pendulum", m1=2.0, m2=1.0, l1=1.0, l2=0.5, g=10.0).true_law)
    q1, q2, w1, w2 = sympy.symbols("q1 q2 w1 w2")
    assert double.coeff(w1**2) == sympy.Rational(3, 2)
    assert double.coeff(w2**2) == sympy.Rational(1, 8)
    assert double.coeff(w1 * w2 * sympy.cos(q1 - q2)) == sympy.Rational(1, 2)
    assert double.coeff(sympy.cos(q1)) == -30 and double.coeff(sympy.cos(q2)) == -5
    kepler = load_dataset("two-body")
    orbits = np.stack([t.x for t in kepler.train + kepler.test])
    energies = _law_values(kepler, kepler.true_law, orbits)
    assert np.all(energies < 0), "every Kepler orbit must be bound"


def _named_laws(dataset: TrajectoryDataset, x: np.ndarray) -> dict[str, np.ndarray]:
    return {n: _law_values(dataset, law, x) for n, law in zip(dataset.metadata["true_law_names"], dataset.true_laws)}


def _eccentricities(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    dataset = load_dataset(name)
    laws = _named_laws(dataset, np.stack([t.x for t in dataset.train + dataset.test])[:, :1])
    m, k = 1.0, 2.0  # the defaults
    return np.hypot(laws["runge_lenz_x"], laws["runge_lenz_y"])[:, 0] / (m * k), laws


def test_kepler_orbits_are_eccentric_and_bound_so_that_three_laws_are_exercised():
    eccentricity, laws = _eccentricities("kepler")
    assert np.all(laws["energy"] < 0)
    assert eccentricity.min() < 0.15 and eccentricity.max() > 0.65 and np.median(eccentricity) > 0.35
    # |A|**2 = m**2 k**2 + 2 m E L**2 ties the four laws to three independent ones
    np.testing.assert_allclose(
        laws["runge_lenz_x"] ** 2 + laws["runge_lenz_y"] ** 2, 4.0 + 2.0 * laws["energy"] * laws["angular_momentum"] ** 2
    )
    assert load_dataset("kepler", n_trajectories=2).metadata["n_independent_laws"] == 3
    two_body_eccentricity, _ = _eccentricities("two-body")
    assert two_body_eccentricity.max() <= 0.45  # two-body stays as documented


def test_predator_prey_invariant_and_populations():
    dataset = load_dataset("predator-prey")
    assert dataset.columns == ("x", "y") and dataset.units == {"x": "1", "y": "1"}
    assert dataset.true_law == "x/10 + 2*y/5 - 2*log(x)/5 - 11*log(y)/10"
    x = np.stack([t.x for t in dataset.train + dataset.test])
    assert x.min() > 0
    # every trajectory goes round the equilibrium (d/c, a/b) = (4, 2.75) within the span
    assert np.all((x[..., 0].min(axis=1) < 4) & (x[..., 0].max(axis=1) > 4))
    other = load_dataset("predator-prey", a=2, b=1, c=0.5, d=1.5, n_trajectories=2)
    assert other.true_law == "x/2 + y - 3*log(x)/2 - 2*log(y)"
    np.testing.assert_allclose(other.true_field(np.array([[3.0, 2.0]])), [[2 * 3 - 1 * 3 * 2, 0.5 * 3 * 2 - 1.5 * 2]])


def test_henon_heiles_energies_lie_in_their_range_inside_the_well_and_the_escape_energy_is_refused():
    dataset = load_dataset("henon-heiles", n_trajectories=20)
    x = np.stack([t.x for t in dataset.train + dataset.test])
    energy = _law_values(dataset, dataset.true_law, x)  # (v**2)/2 + V: the energy itself
    np.testing.assert_allclose(energy, np.broadcast_to(energy[:, :1], energy.shape), rtol=1e-8)  # along each run
    assert energy.min() >= 0.02 and energy.max() <= 0.12 and np.ptp(energy[:, 0]) > 0.05
    # inside the well: below the escape energy 1/6 the triangle's saddles, at distance 1, are not crossed
    assert np.hypot(x[..., 0], x[..., 1]).max() < 1.0
    with pytest.raises(UsageError, match=r"energy_max=0\.2 m\*\*2/s\*\*2 reaches the escape energy .* = 0\.1667"):
        load_dataset("henon-heiles", energy_max=0.2)
    assert load_dataset("henon-heiles", lam=0.5, energy_max=0.5, n_trajectories=2).metadata["n_independent_laws"] == 1


def test_three_body_stays_well_separated_and_its_energy_is_the_plain_newtonian_one():
    dataset = load_dataset("three-body")
    assert len(dataset.columns) == 12 and dataset.metadata["n_independent_laws"] == 4
    x = np.stack([t.x for t in dataset.train + dataset.test])
    bodies = x[..., :6].reshape(x.shape[:2] + (3, 2))
    distance = {(i, j): np.linalg.norm(bodies[..., i, :] - bodies[..., j, :], axis=-1) for i, j in ((0, 1), (0, 2), (1, 2))}
    assert distance[0, 1].min() > 0.25 and min(distance[0, 2].min(), distance[1, 2].min()) > 1.5
    state = x[0, 0]
    masses, g = np.array([1.0, 0.8, 0.6]), 1.5
    momenta = state[6:].reshape(3, 2)
    kinetic = ((momenta**2).sum(axis=1) / (2 * masses)).sum()
    potential = -sum(g * masses[i] * masses[j] / np.linalg.norm(state[2 * i : 2 * i + 2] - state[2 * j : 2 * j + 2])
                     for i, j in distance)
    np.testing.assert_allclose(_law_values(dataset, dataset.true_law, state[None])[0], kinetic + potential, rtol=1e-13)


def test_three_oscillators_energy_is_the_sum_of_the_mode_energies():
    dataset = load_dataset("three-oscillators", n_trajectories=4)
    assert dataset.columns == ("x1", "x2", "x3", "v1", "v2", "v3") and dataset.metadata["n_independent_laws"] == 3
    energy = sympy.sympify(dataset.true_law)
    x1, x2, x3, v2 = sympy.symbols("x1 x2 x3 v2")
    assert energy.coeff(v2**2) == sympy.Rational(13, 20) and energy.coeff(x1 * x2) == sympy.Rational(-6, 5)
    assert energy.coeff(x2 * x3) == sympy.Rational(-4, 5) and energy.coeff(x1 * x3) == 0
    states = np.random.RandomState(2).uniform(-1, 1, size=(50, 6))
    laws = _named_laws(dataset, states)
    modes = laws["mode1_energy"] + laws["mode2_energy"] + laws["mode3_energy"]
    np.testing.assert_allclose(modes, laws["energy"], rtol=1e-12)


def test_rigid_body_laws_and_the_exactly_conserved_spin_of_a_symmetric_top():
    dataset = load_dataset("rigid-body")
    assert dataset.columns == ("w1", "w2", "w3") and dataset.units == {"w1": "rad/s", "w2": "rad/s", "w3": "rad/s"}
    assert dataset.true_laws == ("w1**2/2 + 4*w2**2/5 + 5*w3**2/4", "w1**2 + 64*w2**2/25 + 25*w3**2/4")
    assert dataset.metadata["n_independent_laws"] == 2
    top = load_dataset("rigid-body", I1=1.6, n_trajectories=4)
    assert top.metadata["true_law_names"][-1] == "spin_3" and top.true_laws[-1] == "w3"
    for trajectory in top.train + top.test:
        assert np.all(trajectory.x[:, 2] == trajectory.x[0, 2])  # dw3/dt = (I1 - I2) w1 w2 / I3 = 0 exactly


def test_declared_units_of_simulated_data_are_si():
    dataset = load_dataset("pendulum", n_trajectories=2)
    assert dataset.to_si == {"q": 1.0, "p": 1.0} and dataset.time_unit == "s" and dataset.time_to_si == 1.0
    np.testing.assert_array_equal(dataset.declared(dataset.train[0].x), dataset.train[0].x)
    with pytest.raises(ValueError, match="to_si names column"):
        TrajectoryDataset("d", ("q",), dataset.dimensions[:1], dataset.train, dataset.test, to_si={"p": 2.0})


def test_a_friction_constant_may_be_zero_and_no_other_constant_may():
    """``gamma=0`` switches the damped pendulum's friction off (its energy is then a law);
    a negative friction, or a zero frequency, is a usage error naming the option."""
    assert load_dataset("damped-pendulum", gamma=0, n_trajectories=2).true_law == "omega**2/2 - 4*cos(theta)"
    assert load_dataset("damped-pendulum", n_trajectories=2).true_law is None
    with pytest.raises(UsageError, match=r"gamma=-0.1 must be a finite number >= 0"):
        load_dataset("damped-pendulum", gamma=-0.1)
    with pytest.raises(UsageError, match=r"omega0=0 must be a finite number > 0"):
        load_dataset("damped-pendulum", omega0=0)


def test_a_data_set_without_a_column_keeps_the_others_as_they_were():
    """``without_column`` leaves a run's setting out as a file that did not record it: the other
    columns keep their values and units, the laws and the field (which may need it) go, and a
    column the data set lacks is named in the error."""
    dataset = load_dataset("pendulum-lengths", n_trajectories=4)
    without = dataset.without_column("l")
    kept = [dataset.columns.index(column) for column in ("theta", "omega")]
    assert without.columns == ("theta", "omega") and set(without.units) == {"theta", "omega"}
    np.testing.assert_array_equal(without.train[0].x, dataset.train[0].x[:, kept])
    np.testing.assert_array_equal(without.test[1].dxdt, dataset.test[1].dxdt[:, kept])
    assert without.true_laws == () and without.true_field is None
    with pytest.raises(UsageError, match="cannot leave out column 'L': columns are"):
        dataset.without_column("L")
