"""Data sets: built-in generators, the Schmidt & Lipson loader, user files and validation."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import sympy

from conslaw.datasets import (
    SYSTEMS,
    TrajectoryDataset,
    describe_dataset,
    list_datasets,
    load_dataset,
    load_file,
    load_schmidt_lipson,
)
from conslaw.dsl.units import ANGLE, parse_unit
from conslaw.errors import ConslawError, UsageError

SIMULATED = list(SYSTEMS)


def _data_dir() -> Path | None:
    candidates = [os.environ.get("CONSLAW_DATA_DIR"), Path(__file__).resolve().parents[2] / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "real_pend_h_1.txt").is_file():
            return Path(candidate)
    return None


DATA_DIR = _data_dir()
needs_data = pytest.mark.skipif(
    DATA_DIR is None, reason="real_pend_h_1.txt not found: set CONSLAW_DATA_DIR to the Schmidt & Lipson data directory"
)


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


# ------------------------------------------------------------------ Schmidt & Lipson
@needs_data
def test_real_pendulum_loads_in_time_order_and_splits_80_20():
    dataset = load_dataset("real-pendulum", data_dir=str(DATA_DIR))
    (train,), (test,) = dataset.train, dataset.test
    assert len(train) + len(test) == 556 and len(train) == 444 and len(test) == 112
    assert train.t[0] == 5.0 and test.t[-1] == 99.5 and train.t[-1] < test.t[0]
    assert dataset.columns == ("q", "p") and dataset.dimensions[0] == ANGLE
    assert dataset.units == {"q": "rad", "p": "rad/s"} and dataset.derivatives == "finite-difference"
    np.testing.assert_allclose(train.dxdt, np.gradient(train.x, train.t, axis=0, edge_order=2)[:], atol=0.2)
    correlation = np.corrcoef(train.dxdt[:, 0], train.x[:, 1])[0, 1]
    assert correlation > 0.99  # dq/dt follows the recorded angular velocity


@needs_data
def test_schmidt_lipson_loader_reads_derivative_columns(tmp_path):
    dataset = load_schmidt_lipson(DATA_DIR / "pendulum_h_1.txt", {"o": "deg", "v": "deg/s"}, rename={"o": "q", "v": "w"})
    assert dataset.derivatives == "exact" and dataset.columns == ("q", "w")
    assert sum(len(t) for t in dataset.train + dataset.test) == 493
    first = dataset.train[0]
    np.testing.assert_allclose(first.x[0, 0], np.pi / 2 * np.pi / 180)  # deg -> rad
    assert dataset.to_si == pytest.approx({"q": np.pi / 180, "w": np.pi / 180})
    np.testing.assert_allclose(first.dxdt[:, 0], first.x[:, 1])  # do == v in the file


@needs_data
def test_load_file_reads_the_schmidt_lipson_format():
    dataset = load_file(DATA_DIR / "real_pend_h_1.txt", "o=rad,v=rad/s", trajectory_column="trial")
    reference = load_dataset("real-pendulum", data_dir=str(DATA_DIR))
    assert dataset.columns == ("o", "v") and dataset.metadata["rows"] == 556
    np.testing.assert_array_equal(dataset.train[0].x, reference.train[0].x)
    np.testing.assert_array_equal(dataset.test[0].dxdt, reference.test[0].dxdt)


def test_real_pendulum_without_data_dir_says_where_to_get_the_file(monkeypatch, tmp_path):
    monkeypatch.delenv("CONSLAW_DATA_DIR", raising=False)
    with pytest.raises(ConslawError, match="CONSLAW_DATA_DIR.*Schmidt & Lipson.*doi:10.1126"):
        load_dataset("real-pendulum")
    with pytest.raises(ConslawError, match="real_pend_h_1.txt not found in"):
        load_dataset("real-pendulum", data_dir=str(tmp_path))


# ------------------------------------------------------------------ user files
def _write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _oscillation_rows(n_trajectories: int, n_points: int, with_id: bool = True) -> list[str]:
    rows = []
    for trajectory in range(n_trajectories):
        for t in np.linspace(0, 2, n_points).tolist():
            angle = 10.0 * (trajectory + 1) * float(np.cos(3 * t))
            prefix = f"{trajectory}," if with_id else ""
            rows.append(f"{prefix}{t!r},{angle!r},{-30.0 * (trajectory + 1) * float(np.sin(3 * t))!r},ignored")
    return rows


def test_csv_long_format_converts_degrees_and_splits_by_trajectory(tmp_path):
    path = _write_csv(tmp_path / "lab.csv", "trajectory,t,theta,omega,note", _oscillation_rows(6, 200))
    dataset = load_file(path, "theta=deg,omega=deg/s", seed=1)
    assert dataset.columns == ("theta", "omega") and dataset.dimensions == (ANGLE, parse_unit("rad/s").dimension)
    assert len(dataset.train) == 3 and len(dataset.test) == 3
    all_ids = dataset.metadata["trajectory_ids"]
    assert sorted(all_ids) == ["0", "1", "2", "3", "4", "5"] and len(dataset.metadata["test_trajectory_ids"]) == 3
    assert dataset.metadata["test_trajectory_ids"] == load_file(path, "theta=deg,omega=deg/s", seed=1).metadata["test_trajectory_ids"]
    trajectory = dataset.train[0]
    assert np.abs(trajectory.x[:, 0]).max() <= 60 * np.pi / 180 + 1e-12
    np.testing.assert_allclose(trajectory.dxdt[5:-5, 0], trajectory.x[5:-5, 1], rtol=2e-3, atol=2e-4)
    assert dataset.derivatives == "finite-difference" and dataset.units == {"theta": "deg", "omega": "deg/s"}
    assert dataset.to_si == pytest.approx({"theta": np.pi / 180, "omega": np.pi / 180}) and dataset.time_unit == "s"
    first_train_id = next(i for i in all_ids if i not in dataset.metadata["test_trajectory_ids"])
    np.testing.assert_allclose(dataset.declared(trajectory.x)[0, 0], 10.0 * (int(first_train_id) + 1))  # degrees as in the file


def test_single_trajectory_file_is_split_in_time(tmp_path):
    path = _write_csv(tmp_path / "one.csv", "time,theta,omega,note", _oscillation_rows(1, 100, with_id=False))
    dataset = load_file(path, {"theta": "rad", "omega": "rad/s", "time": "ms"}, time_column="time")
    (train,), (test,) = dataset.train, dataset.test
    assert len(train) == 80 and len(test) == 20 and train.t[-1] < test.t[0]
    np.testing.assert_allclose(test.t[-1], 2e-3)  # ms -> s
    assert dataset.time_unit == "ms" and dataset.time_to_si == pytest.approx(1e-3)


def test_npz_and_kilogram_units(tmp_path):
    t = np.tile(np.linspace(0, 1, 20), 4)
    ids = np.repeat(np.arange(4), 20)
    np.savez(tmp_path / "data.npz", run=ids, t=t, x=np.cos(t) + ids, p=np.sin(t) * 1000.0)
    grams = load_file(tmp_path / "data.npz", "x=m,p=g*m/s", trajectory_column="run")
    kilograms = load_file(tmp_path / "data.npz", "x=m,p=kg*m/s", trajectory_column="run")
    assert len(grams.train) == 2 and len(grams.test) == 2
    np.testing.assert_allclose(grams.stacked()[:, 1], kilograms.stacked()[:, 1] / 1000.0)
    for trajectory in kilograms.train + kilograms.test:
        offset = trajectory.x[:, 0] - np.cos(trajectory.t)
        np.testing.assert_allclose(offset, np.round(offset[0]), atol=1e-12)  # one trajectory id each
    assert np.abs(kilograms.stacked()[:, 1]).max() > 800  # kg*m/s is already SI: unchanged


@pytest.mark.parametrize(
    "rows, units, pattern",
    [
        (["0,0,1", "0,1,nan", "0,2,3"], "x=m", r"column 'x' row 2: value nan is not finite"),
        (["0,0,1", "0,1,2", "0,2,inf"], "x=m", r"column 'x' row 3: value inf is not finite"),
        (["0,0,1", "0,1,abc", "0,2,3"], "x=m", r"column 'x' row 2: value 'abc' is not a number"),
        (["0,0,1", "0,x1,2", "0,2,3"], "x=m", r"column 't' row 2: value 'x1' is not a number"),
        (["0,0,1", "0,1,2", "0,2,3"], "y=m", r"state column 'y' not found.*available columns: trajectory, t, x"),
        (["0,0,1", "0,1,2", "0,2,3"], "x=furlongz", r"'x': unknown unit 'furlongz'"),
        (["0,0,1", "0,1,2", "0,2,3", "7,0,1", "7,1,2"], "x=m", r"trajectory '7' has 2 sample\(s\)"),
        (["0,0,1", "0,1,2", "0,1,3", "0,2,3"], "x=m", r"trajectory '0': time is not strictly increasing at row 3"),
        (["0,0,1", "0,1", "0,2,3"], "x=m", r"row 2: 2 fields, but the header has 3"),
    ],
)
def test_bad_csv_input_names_the_culprit(tmp_path, rows, units, pattern):
    path = _write_csv(tmp_path / "bad.csv", "trajectory,t,x", rows)
    with pytest.raises(ConslawError, match=pattern) as caught:
        load_file(path, units)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, UsageError) == ("unit" in pattern)  # exit 2 for options, 1 for data


def test_empty_missing_and_unsupported_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ConslawError, match="is empty"):
        load_file(tmp_path / "empty.csv", "x=m")
    (tmp_path / "header.csv").write_text("t,x\n")
    with pytest.raises(ConslawError, match="header but no data rows"):
        load_file(tmp_path / "header.csv", "x=m")
    with pytest.raises(ConslawError, match="not found"):
        load_file(tmp_path / "absent.csv", "x=m")
    (tmp_path / "data.xlsx").write_text("t,x\n")
    with pytest.raises(ConslawError, match="unsupported format '.xlsx'"):
        load_file(tmp_path / "data.xlsx", "x=m")
    with pytest.raises(ConslawError, match="time column 'time' not found.*available columns: t, x"):
        load_file(_write_csv(tmp_path / "ok.csv", "t,x", ["0,1", "1,2", "2,3"]), "x=m", time_column="time")


def test_npz_with_text_in_a_number_column(tmp_path):
    np.savez(tmp_path / "text.npz", t=np.arange(4.0), x=np.array(["1", "2", "two", "4"]))
    with pytest.raises(ConslawError, match="column 'x' row 3: value 'two' is not a number"):
        load_file(tmp_path / "text.npz", "x=m")


def test_constant_state_column_warns_but_loads(tmp_path):
    path = _write_csv(tmp_path / "flat.csv", "t,x,y", [f"{i},{i * i},5" for i in range(10)])
    with pytest.warns(UserWarning, match="state column 'y' is constant"):
        dataset = load_file(path, "x=m,y=m")
    assert dataset.n_state == 2




def test_a_friction_constant_may_be_zero_and_no_other_constant_may():
    """``gamma=0`` switches the damped pendulum's friction off (its energy is then a law);
    a negative friction, or a zero frequency, is a usage error naming the option."""
    assert load_dataset("damped-pendulum", gamma=0, n_trajectories=2).true_law == "omega**2/2 - 4*cos(theta)"
    assert load_dataset("damped-pendulum", n_trajectories=2).true_law is None
    with pytest.raises(UsageError, match=r"gamma=-0.1 must be a finite number >= 0"):
        load_dataset("damped-pendulum", gamma=-0.1)
    with pytest.raises(UsageError, match=r"omega0=0 must be a finite number > 0"):
        load_dataset("damped-pendulum", omega0=0)
