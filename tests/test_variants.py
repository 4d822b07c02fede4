"""Variants of the built-in systems: other rates, spans, noise, coordinates, units, and CSV files."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from conslaw.datasets import (
    SYSTEMS,
    list_coordinates,
    load_dataset,
    load_file,
    make_variant,
    user_coordinates,
    user_variants,
)
from conslaw.datasets.specs import integrate
from conslaw.errors import UsageError

MAPPED = [(name, c.name) for name, spec in SYSTEMS.items() for c in spec.coordinates]
INDEPENDENT = {"pendulum": 1, "spring": 1, "oscillator2d": 3, "coupled-springs": 2, "two-body": 3, "kepler": 3,
               "three-body": 4, "spring-pendulum": 1}


def _states(variant_or_dataset) -> np.ndarray:
    dataset = getattr(variant_or_dataset, "dataset", variant_or_dataset)
    return np.stack([t.x for t in dataset.train + dataset.test])


def _evaluate(law: sympy.Expr, columns: tuple[str, ...], x: np.ndarray) -> np.ndarray:
    function = sympy.lambdify(sympy.symbols(columns), law, "numpy")
    return np.broadcast_to(function(*np.moveaxis(x, -1, 0)), x.shape[:-1]).astype(float)


# ------------------------------------------------------------------ sampling
@pytest.mark.parametrize("name", ["pendulum", "double-pendulum", "three-body"])
def test_a_dense_variant_coincides_with_the_default_data_set_at_the_shared_times(name):
    few = {} if name == "pendulum" else {"n_trajectories": 6}  # the batch is integrated as one system
    default = load_dataset(name, **few)
    dense = make_variant(name, oversample=10, **few)
    n_default = default.metadata["n_points"]
    assert dense.dataset.metadata["n_points"] == (n_default - 1) * 10 + 1
    np.testing.assert_allclose(dense.dataset.train[0].t[::10], default.train[0].t, rtol=1e-15, atol=0)
    np.testing.assert_allclose(_states(dense)[:, ::10], _states(default), rtol=0, atol=1e-12)


def test_a_kept_solution_is_handed_out_as_a_copy_and_other_constants_are_solved_anew():
    """``integrate`` keeps its latest solutions: the same call again gives the same numbers, which
    a caller may change without changing the kept ones; another constant is not taken for them."""
    spec = SYSTEMS["pendulum"]
    constants = {c.name: c.default for c in spec.constants}
    x0 = np.array([[1.0, 0.0], [0.5, 0.3]])
    t = np.linspace(0.0, 2.0, 21)
    solution = integrate(spec, constants, x0, t)
    expected = solution.copy()
    for _ in range(2):  # the first solution, then the kept one, each changed by its caller
        solution[:] = np.nan
        solution = integrate(spec, constants, x0, t)
        assert np.array_equal(solution, expected) and solution[0, 0, 0] == 1.0
    heavier = integrate(spec, {**constants, "g": 2 * constants["g"]}, x0, t)
    assert not np.allclose(heavier, expected)


def test_columns_in_another_order_carry_their_values_units_and_field_with_them():
    variant = make_variant("coupled-springs", n_trajectories=4, units={"x1": "cm"})
    ordered = variant.dataset.with_columns_in_order(("x1", "p1", "x2", "p2"))
    native, moved = variant.dataset.train[0], ordered.train[0]
    assert ordered.columns == ("x1", "p1", "x2", "p2") and ordered.units["x1"] == "cm"
    assert np.array_equal(moved.x, native.x[:, [0, 2, 1, 3]]) and np.array_equal(moved.dxdt, native.dxdt[:, [0, 2, 1, 3]])
    assert np.array_equal(ordered.true_field(moved.x), moved.dxdt)
    with pytest.raises(UsageError, match="cannot order the columns"):
        variant.dataset.with_columns_in_order(("x1", "p1", "x2"))


def test_initial_states_do_not_depend_on_the_rate_but_hnn_sampling_does():
    default = _states(load_dataset("pendulum"))
    for options in ({"rate": 200.0}, {"rate": 1000.0}, {"n_points": 31}, {"subsample": 2}):
        np.testing.assert_array_equal(_states(make_variant("pendulum", **options))[:, 0], default[:, 0])
    # HNN interleaves the noise draws with the initial states, so load_dataset's n_points changes them.
    assert not np.allclose(_states(load_dataset("pendulum", n_points=441))[:, 0], default[:, 0])


def test_rate_subsample_span_and_trajectory_count():
    dense = make_variant("spring", rate=200.0)
    t = dense.dataset.train[0].t
    assert len(t) == 601 and t[-1] == 3.0 and np.allclose(np.diff(t), 1 / 200)
    coarse = make_variant("spring", rate=200.0, subsample=5)
    np.testing.assert_array_equal(_states(coarse), _states(dense)[:, ::5])
    assert coarse.dataset.metadata["dt"] == pytest.approx(1 / 40)
    longer = make_variant("spring", t_end=6.0, n_trajectories=6)
    assert longer.dataset.train[0].t[-1] == 6.0 and len(longer.dataset.train) + len(longer.dataset.test) == 6
    # HNN's sampler draws trajectory by trajectory, so fewer trajectories are the first ones.
    np.testing.assert_array_equal(_states(longer)[:, 0], _states(dense)[:6, 0])


# ------------------------------------------------------------------ coordinates and units
def test_degree_variant_is_the_radian_variant_times_180_over_pi():
    radians = make_variant("pendulum", coordinates="velocities")
    degrees = make_variant("pendulum", coordinates="velocities", angle_unit="deg")
    assert degrees.dataset.units == {"theta": "deg", "omega": "deg/s"}
    assert degrees.dataset.to_si == pytest.approx({"theta": np.pi / 180, "omega": np.pi / 180})
    np.testing.assert_array_equal(_states(degrees), _states(radians))  # stored in SI either way
    np.testing.assert_allclose(degrees.dataset.declared(_states(degrees)), _states(radians) * 180 / np.pi, rtol=1e-14)
    theta, omega = sympy.symbols("theta omega")
    assert radians.laws["energy"] == omega**2 / 4 - 3 * sympy.cos(theta)  # m l**2 / 2 = 1/4, m g l = 3
    assert degrees.declared_laws["energy"] == sympy.pi**2 * omega**2 / 129600 - 3 * sympy.cos(sympy.pi * theta / 180)


def test_velocity_coordinates_divide_the_momenta_by_the_masses():
    native = make_variant("coupled-springs", n_trajectories=4)
    velocities = make_variant("coupled-springs", coordinates="velocities", n_trajectories=4)
    assert velocities.dataset.columns == ("x1", "x2", "v1", "v2")
    assert velocities.dataset.units == {"x1": "m", "x2": "m", "v1": "m/s", "v2": "m/s"}
    np.testing.assert_allclose(_states(velocities), _states(native) / np.array([1.0, 1.0, 1.0, 1.5]), rtol=1e-15)
    x1, x2, v1, v2 = sympy.symbols("x1 x2 v1 v2")
    energy = velocities.laws["energy"]
    assert energy.coeff(v1**2) == sympy.Rational(1, 2) and energy.coeff(v2**2) == sympy.Rational(3, 4)
    assert energy.coeff(x1 * x2) == -1


def test_a_variant_in_degf_and_degc_holds_its_heat_content_in_the_recorded_values():
    """Temperatures declared in degF and degC are recorded as such (SI = factor x value +
    offset), and the declared law, exact (2000/9 for C1 x 5/9), is conserved on those values."""
    variant = make_variant("heat-exchange", units={"T1": "degF", "T2": "degC"}, n_trajectories=4)
    x = _states(variant)
    recorded = variant.dataset.declared(x)
    np.testing.assert_allclose(recorded[..., 1], x[..., 1] - 273.15, rtol=1e-12)
    np.testing.assert_allclose(recorded[..., 0], (x[..., 0] - 273.15) * 9 / 5 + 32, rtol=1e-12)
    t1, t2 = sympy.symbols("T1 T2")
    assert variant.declared_laws["heat content"] == sympy.Rational(2000, 9) * t1 + 1000 * t2
    values = _evaluate(variant.declared_laws["heat content"], variant.dataset.columns, recorded)
    assert np.abs(values - values[:, :1]).max() < 1e-9 * np.abs(values).max()


@pytest.mark.parametrize("name, coordinates", MAPPED)
def test_laws_in_mapped_coordinates_are_conserved_and_the_declared_laws_agree(name, coordinates):
    variant = make_variant(name, coordinates=coordinates, angle_unit="deg", n_trajectories=6)
    dataset = variant.dataset
    x = _states(variant)
    assert set(variant.laws) == set(dataset.metadata["true_law_names"]) == set(variant.declared_laws)
    assert variant.n_independent == INDEPENDENT[name] == dataset.metadata["n_independent_laws"]
    for law_name, law in variant.laws.items():
        values = _evaluate(law, dataset.columns, x)
        scale = max(np.abs(values).max(), 1.0)
        assert np.abs(values - values[:, :1]).max() < 1e-8 * scale, law_name
        if law_name in dataset.metadata.get("constraint_names", ()):  # a rod's length: one value everywhere
            assert values[:, 0].std() < 1e-8 * scale, f"{law_name} varies between trajectories"
        else:
            assert values[:, 0].std() > 1e-3 * scale, f"{law_name} does not vary between trajectories"
        declared = _evaluate(variant.declared_laws[law_name], dataset.columns, dataset.declared(x))
        np.testing.assert_allclose(declared, values, rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("name, coordinates", MAPPED)
def test_the_variant_field_is_tangent_to_its_laws(name, coordinates):
    variant = make_variant(name, coordinates=coordinates, n_trajectories=4)
    columns = variant.dataset.columns
    states = _states(variant).reshape(-1, len(columns))[::7]
    rates = variant.dataset.true_field(states)
    symbols = sympy.symbols(columns)
    for law_name, law in variant.laws.items():
        gradient = np.stack([_evaluate(sympy.diff(law, s), columns, states) for s in symbols], axis=1)
        along_flow = np.einsum("nd,nd->n", gradient, rates)
        assert np.abs(along_flow).max() < 1e-9 * max(1.0, np.abs(gradient * rates).max()), law_name


def test_polar_kepler_matches_the_cartesian_one_and_its_angular_momentum_is_an_exactly_constant_input():
    cartesian = _states(make_variant("kepler", n_trajectories=8))
    variant = make_variant("kepler", coordinates="polar", n_trajectories=8)
    polar = _states(variant)
    assert variant.dataset.columns == ("r", "phi", "pr", "pphi")
    assert variant.laws["angular_momentum"] == sympy.Symbol("pphi")
    assert np.all(polar[..., 3] == polar[..., :1, 3])  # pphi: exactly constant along each trajectory
    assert np.ptp(polar[:, 0, 3]) > 0.5  # ... but different between trajectories
    xy = np.stack([polar[..., 0] * np.cos(polar[..., 1]), polar[..., 0] * np.sin(polar[..., 1])], axis=-1)
    np.testing.assert_allclose(xy, cartesian[..., :2], atol=1e-6)
    assert np.all(np.abs(np.diff(polar[..., 1], axis=1)) < np.pi)  # phi is continuous, not wrapped


def test_listing_coordinates():
    assert list_coordinates("two-body") == ["native", "velocities", "polar"]
    assert list_coordinates("rigid-body") == ["native"]
    assert user_coordinates("pendulum") == "velocities" and user_coordinates("double-pendulum") == "native"


# ------------------------------------------------------------------ noise and derivatives
def test_noise_is_a_seeded_fraction_of_each_columns_spread_on_the_states_only():
    clean = make_variant("oscillator2d", coordinates="velocities", rate=100.0)
    noisy = make_variant("oscillator2d", coordinates="velocities", rate=100.0, noise=0.05)
    again = make_variant("oscillator2d", coordinates="velocities", rate=100.0, noise=0.05)
    difference = _states(noisy) - _states(clean)
    spread = _states(clean).reshape(-1, 4).std(axis=0)
    np.testing.assert_allclose(difference.reshape(-1, 4).std(axis=0) / spread, 0.05, rtol=0.03)
    np.testing.assert_array_equal(_states(noisy), _states(again))
    other_seed = make_variant("oscillator2d", coordinates="velocities", rate=100.0, noise=0.05, seed=1)
    assert not np.allclose(_states(other_seed)[:, 0], _states(noisy)[:, 0])
    for n, c in zip(noisy.dataset.train, clean.dataset.train):
        np.testing.assert_array_equal(n.dxdt, c.dxdt)


def test_trajectory_scaled_noise_follows_each_trajectorys_own_spread():
    clean = make_variant("pendulum", rate=50.0)
    noisy = make_variant("pendulum", rate=50.0, noise=0.05, noise_scale="trajectory")
    relative = np.array([(n.x - c.x).std(axis=0) / c.x.std(axis=0)
                         for n, c in zip(noisy.dataset.train, clean.dataset.train)])
    np.testing.assert_allclose(relative, 0.05, rtol=0.35)  # 45 samples a trajectory
    np.testing.assert_allclose(relative.mean(axis=0), 0.05, rtol=0.05)
    assert "of each trajectory's spread" in noisy.label and "trajectory" in noisy.dataset.metadata["noise_definition"]


def test_finite_difference_derivatives_follow_the_noisy_states():
    variant = make_variant("spring", rate=200.0, noise=0.01, derivatives="finite-difference")
    trajectory = variant.dataset.train[0]
    assert variant.dataset.derivatives == "finite-difference"
    np.testing.assert_allclose(trajectory.dxdt, np.gradient(trajectory.x, trajectory.t, axis=0, edge_order=2))


# ------------------------------------------------------------------ files
def test_csv_in_degrees_and_milliseconds_round_trips_through_load_file(tmp_path):
    variant = make_variant("double-pendulum", angle_unit="deg", time_unit="ms", rate=50.0, n_trajectories=4)
    path = variant.write_csv(tmp_path / "dp.csv")
    assert variant.units_spec() == "t=ms,q1=deg,q2=deg,w1=deg/s,w2=deg/s"
    header, first = path.read_text().splitlines()[:2]
    assert header == "trajectory,t,q1,q2,w1,w2"
    row = np.array(first.split(","), dtype=float)
    np.testing.assert_allclose(row[2:], variant.dataset.train[0].x[0] * 180 / np.pi, rtol=1e-15)
    loaded = load_file(path, variant.units_spec())
    assert loaded.units == variant.dataset.units and loaded.to_si == pytest.approx(variant.dataset.to_si)
    assert loaded.time_unit == "ms" and loaded.time_to_si == pytest.approx(1e-3)
    all_ids, test_ids = loaded.metadata["trajectory_ids"], set(loaded.metadata["test_trajectory_ids"])
    ids = [i for i in all_ids if i not in test_ids] + [i for i in all_ids if i in test_ids]
    original = variant.dataset.train + variant.dataset.test
    for key, trajectory in zip(ids, loaded.train + loaded.test):
        np.testing.assert_allclose(trajectory.x, original[int(key)].x, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(trajectory.t, original[int(key)].t, rtol=1e-14, atol=1e-15)


def test_a_truly_conserved_input_column_is_written_exactly_constant(tmp_path):
    variant = make_variant("two-body", coordinates="polar", n_trajectories=4)
    loaded = load_file(variant.write_csv(tmp_path / "polar.csv"), variant.units_spec())
    for trajectory in loaded.train + loaded.test:
        assert np.all(trajectory.x[:, 3] == trajectory.x[0, 3])


# ------------------------------------------------------------------ options
@pytest.mark.parametrize(
    "system, options, pattern",
    [
        ("pendulumm", {}, "unknown system 'pendulumm'"),
        ("pendulum", {"coordinates": "polar"}, "coordinates='polar' is not available for 'pendulum'; valid: native, velocities"),
        ("pendulum", {"angle_unit": "grad"}, "angle_unit"),
        ("pendulum", {"units": {"q": "kg"}}, "column 'q' is in rad"),
        ("pendulum", {"units": {"theta": "deg"}}, "units names column.*theta"),
        ("pendulum", {"units": {"q": "furlongz"}}, "units entry for 'q'"),
        ("pendulum", {"time_unit": "m"}, "time_unit='m' is not a unit of time"),
        ("pendulum", {"rate": -1}, "rate=-1"),
        ("pendulum", {"rate": 200, "n_points": 30}, "at most one of n_points, rate and oversample"),
        ("pendulum", {"oversample": 2.5}, "oversample=2.5"),
        ("pendulum", {"subsample": 100}, "subsample=100"),
        ("pendulum", {"noise": -0.1}, "noise"),
        ("pendulum", {"derivatives": "spline"}, "derivatives"),
        ("pendulum", {"noise_scale": "column"}, "noise_scale"),
        ("pendulum", {"relative_noise": True}, "relative_noise"),
        ("pendulum", {"mass": 1.0}, "no option.*mass"),
        ("spring", {"k": 0}, "option k=0"),
        ("pendulum", {"rate": 1e9}, r"pendulum: 50 trajectories x 3,000,000,001 samples x 2 columns are 3\.0e\+11 values "
                                    r"\(2\.4e\+03 GB a copy\), more than the 1e\+08 a simulated data set may hold: lower rate "
                                    "or n_trajectories"),
        ("pendulum", {"coordinates": "cartesian", "oversample": 10 ** 7}, r"x 4 columns .* lower oversample or n_trajectories"),
        ("spring", {"n_trajectories": 10 ** 8}, "100000000 trajectories x 30 samples .* lower n_points or n_trajectories"),
    ],
)
def test_bad_options_give_a_one_line_usage_error_naming_the_option(system, options, pattern):
    with pytest.raises(UsageError, match=pattern) as caught:
        make_variant(system, **options)
    assert "\n" not in str(caught.value)


def test_a_default_data_set_past_the_simulation_size_is_refused_before_any_work():
    with pytest.raises(UsageError, match=r"^spring: 2 trajectories x 60,000,000 samples x 2 columns .* lower n_points or "
                                         "n_trajectories$"):
        load_dataset("spring", n_points=6 * 10 ** 7, n_trajectories=2)


def test_user_variants_cover_each_system_and_noise_level():
    variants = list(user_variants(["spring", "rigid-body"], rate=40.0, noises=(0.0, 0.01)))
    labels = [v.label for v in variants]
    assert len(variants) == 4 and labels[0].startswith("spring velocities [x=m, v=m/s; t in s], 121 samples")
    assert "rigid-body native" in labels[2] and "noise 0.01" in labels[3]


def test_no_system_names_a_constant_or_flag_as_a_variant_or_data_set_option():
    """The saddle's growth rate was called ``rate``, the variant's sampling rate: the CLI's
    ``--variant rate=10 --option rate=2`` ended in a TypeError, and the constant could not be
    set through ``make_variant``. Its constant, set, now moves the data and the law."""
    import inspect

    from conslaw.datasets.source import VARIANT_KEYS

    options = set(inspect.signature(make_variant).parameters) | set(inspect.signature(load_dataset).parameters)
    for name, spec in SYSTEMS.items():
        names = {c.name for c in spec.constants} | set(spec.flags)
        assert not names & (options | set(VARIANT_KEYS)), name
    slow, fast = (make_variant("saddle", rate=10.0, growth=growth) for growth in (1.0, 2.0))
    assert _states(fast)[0, -1, 0] / _states(fast)[0, 0, 0] == pytest.approx(np.exp(2.0 * 2.0), rel=1e-6)  # t_end 2 s
    assert _states(slow)[0, -1, 0] / _states(slow)[0, 0, 0] == pytest.approx(np.exp(2.0), rel=1e-6)
    assert str(fast.laws["hamiltonian"]) == "2*x*y"
