"""Velocities derived from recorded positions (``--derive``): their accuracy on several systems,
rates and noise levels, their units, angle wraps, uneven times, bad input, and the laws found."""
import warnings

import numpy as np
import pytest

from conslaw import ConservationSearch
from conslaw.datasets import load_file, make_variant, write_csv
from conslaw.datasets.derivatives import derive_columns, smoothed_slopes
from conslaw.datasets.tables import finite_difference
from conslaw.errors import UsageError
from conslaw.report.export import export_laws


def _relative_error(system: str, coordinates: str, position: str, velocity: str, rate: int,
                    noise: float, thin: int = 1) -> tuple[float, float]:
    """The RMS error, over the spread of the true velocity, of the smoothed slope and of
    ``np.gradient``, from noisy positions (every ``thin``-th sample kept at random: uneven times)."""
    clean = make_variant(system, coordinates=coordinates, rate=rate, n_trajectories=10, seed=3).dataset
    noisy = make_variant(system, coordinates=coordinates, rate=rate, n_trajectories=10, noise=noise, seed=3).dataset
    rng = np.random.default_rng(0)
    k, j = clean.columns.index(position), clean.columns.index(velocity)
    rows = [np.sort(rng.choice(len(tr), len(tr) // thin, replace=False)) if thin > 1 else np.arange(len(tr))
            for tr in noisy.train]
    times = [tr.t[r] for tr, r in zip(noisy.train, rows)]
    positions = [tr.x[r, k] for tr, r in zip(noisy.train, rows)]
    truth = np.concatenate([tr.x[r, j] for tr, r in zip(clean.train, rows)])
    slopes, _ = smoothed_slopes(times, positions)
    gradient = np.concatenate([finite_difference(t, x) for t, x in zip(times, positions)])
    spread = truth.std()
    return (float(np.sqrt(np.mean((np.concatenate(slopes) - truth) ** 2)) / spread),
            float(np.sqrt(np.mean((gradient - truth) ** 2)) / spread))


@pytest.mark.parametrize("system, coordinates, position, velocity, rate, limit", [
    ("pendulum", "cartesian", "x", "vx", 100, 1e-8),
    ("spring", "velocities", "x", "v", 30, 1e-8),
    ("kepler", "velocities", "y", "vy", 100, 3e-7),
])
def test_clean_positions_give_their_velocities_to_high_order(system, coordinates, position, velocity, rate, limit):
    smoothed, gradient = _relative_error(system, coordinates, position, velocity, rate, 0.0)
    assert smoothed < limit
    assert smoothed < gradient / 1000  # the sixth-degree interpolant against the second-order difference


@pytest.mark.parametrize("system, coordinates, position, velocity, rate, noise, thin", [
    ("pendulum", "cartesian", "y", "vy", 200, 0.01, 1),
    ("oscillator2d", "velocities", "x", "vx", 100, 0.02, 1),
    ("spring", "velocities", "x", "v", 200, 0.01, 2),  # uneven times: half the samples, at random
])
def test_noisy_positions_are_smoothed_not_differenced(system, coordinates, position, velocity, rate, noise, thin):
    smoothed, gradient = _relative_error(system, coordinates, position, velocity, rate, noise, thin)
    assert smoothed < 0.06
    assert smoothed < gradient / 3


def _positions_file(tmp_path, system: str, coordinates: str, **options) -> str:
    variant = make_variant(system, coordinates=coordinates, seed=1, **options)
    return str(write_csv(variant.dataset, tmp_path / f"{system}.csv"))


def test_derived_columns_carry_the_unit_per_time_unit(tmp_path):
    path = _positions_file(tmp_path, "pendulum", "cartesian", rate=100, units={"x": "cm", "y": "cm"},
                           time_unit="ms")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file's vx, vy are left out on purpose
        dataset = derive_columns(load_file(path, "t=ms,x=cm,y=cm"), "x=vx,y")
        recorded = load_file(path, "t=ms,x=cm,y=cm,vx=m/s,vy=m/s")
    assert dataset.columns == ("x", "y", "vx", "y_dot")
    assert dataset.units["vx"] == "cm/ms" and dataset.to_si["vx"] == pytest.approx(10.0)
    assert str(dataset.dimensions[2]) == "m/s"
    derived = np.concatenate([tr.x[:, 2:] for tr in dataset.train])
    true = np.concatenate([tr.x[:, 2:] for tr in recorded.train])  # the same split: same seed and ids
    assert np.max(np.abs(derived - true)) < 1e-3 * np.abs(true).max()
    # clean: the narrowest window wins, and the slope is the interpolating polynomial's
    assert dataset.summary()["derived"]["vx"] == {"of": "x", "unit": "cm/ms", "degree": 6, "half_width": 3}
    assert dataset.true_field is None and dataset.derivatives == "finite-difference"


def test_a_wrapped_angle_is_unwrapped_before_its_derivative(tmp_path):
    t = np.arange(0, 4, 0.01)
    angle = (200.0 * t + 180.0) % 360.0 - 180.0  # a steady turn at 200 deg/s, wrapped to [-180, 180)
    path = tmp_path / "turn.csv"
    np.savetxt(path, np.column_stack([t, angle]), delimiter=",", header="t,theta", comments="")
    dataset = derive_columns(load_file(path, "t=s,theta=deg"), "theta=omega")
    omega = np.concatenate([tr.x[:, 1] for tr in dataset.train + dataset.test]) / dataset.to_si["omega"]
    assert dataset.units["omega"] == "deg/s"
    np.testing.assert_allclose(omega, 200.0, rtol=1e-9)


@pytest.mark.parametrize("spec, message", [
    ("z=vz", "no state column 'z'"),
    ("x=y", "a column 'y' exists already"),
    ("x=2v", "'2v' is not a valid column name"),
    ("x=vx,x=wx", "'x' is derived twice"),
    ("x=vx,,y=vy", "has an empty entry"),
])
def test_bad_derive_entries_are_refused_by_name(tmp_path, spec, message):
    path = _positions_file(tmp_path, "oscillator2d", "velocities", rate=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = load_file(path, "t=s,x=m,y=m")
    with pytest.raises(UsageError, match=message):
        derive_columns(dataset, spec)


def test_derive_is_refused_for_built_in_data_and_short_trajectories(tmp_path):
    with pytest.raises(UsageError, match="--derive adds derivatives a --data file lacks"):
        ConservationSearch(dataset="pendulum", derive="q=w")
    path = tmp_path / "short.csv"
    np.savetxt(path, [[0, 0.0, 1.0], [0, 0.1, 1.1], [0, 0.2, 1.3], [0, 0.3, 1.2], [1, 0.0, 2.0], [1, 0.1, 2.1],
                      [1, 0.2, 2.2], [1, 0.3, 2.4], [1, 0.4, 2.5], [1, 0.5, 2.5], [1, 0.6, 2.4]],
               delimiter=",", header="trajectory,t,x", comments="")
    with pytest.raises(UsageError, match="needs 7 samples a trajectory; 1 of 2 trajectories has fewer "
                                         r"\(the shortest: 4\)"):
        derive_columns(load_file(path, "t=s,x=m"), "x=v")


def _laws(path: str, units: str, derive: str) -> ConservationSearch:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The tests read the best candidates only; building 200 would cost a sixth of the file's
        # time. Nor do they read the unit check's warnings, whose trial searches were a fifth to
        # almost half of each test's time.
        return ConservationSearch(data=path, units=units, derive=derive, jobs=1, keep=20, unit_check=False).fit()


def test_a_spring_s_energy_from_its_positions_alone(tmp_path):
    """Exact when clean. At 2 % noise the derived velocity's smooth error makes it approximate,
    so it is not accepted (``demotions.reading_derived``) but leads the candidates, its
    coefficient within 2 %, and a warning says why."""
    clean = _laws(_positions_file(tmp_path, "spring", "velocities", rate=100, n_trajectories=12), "t=s,x=m", "x=v")
    assert [law.quality for law in clean.accepted_laws_] == ["exact"]
    assert "% Derived from recorded columns (--derive): v = dx/dt." in export_laws(clean, "latex").splitlines()
    v, x = sorted(clean.laws_[0].expression.free_symbols, key=str)
    coefficients = clean.laws_[0].expression.as_coefficients_dict()
    assert coefficients[v ** 2] / coefficients[x ** 2] == pytest.approx(0.25, rel=1e-5)
    noisy = _laws(_positions_file(tmp_path, "spring", "velocities", rate=100, n_trajectories=12, noise=0.02),
                  "t=s,x=m", "x=v")
    assert noisy.accepted_laws_ == []
    coefficients = noisy.laws_[0].expression.as_coefficients_dict()
    assert coefficients[v ** 2] / coefficients[x ** 2] == pytest.approx(0.25, rel=0.02)
    assert any("derived columns (v = dx/dt)" in warning and "accepted only when exact" in warning
               for warning in noisy.discovery_.warnings)


def test_derived_columns_give_no_false_law(tmp_path):
    """A damped pendulum conserves nothing; a Duffing oscillator's approximate truncations of its
    energy (``v**2 + 2.84*x**2`` at 100 Hz) are not accepted beside or instead of it."""
    damped = _positions_file(tmp_path, "damped-pendulum", "native", rate=50, n_trajectories=10, noise=0.02)
    assert _laws(damped, "t=s,theta=rad", "theta=omega").accepted_laws_ == []
    duffing = _laws(_positions_file(tmp_path, "duffing", "native", rate=50, n_trajectories=10), "t=s,x=m", "x=v")
    assert [law.quality for law in duffing.accepted_laws_] == ["exact"]
    v, x = sorted(duffing.laws_[0].expression.free_symbols, key=str)
    coefficients = duffing.laws_[0].expression.as_coefficients_dict()
    assert coefficients[x ** 4] / coefficients[x ** 2] == pytest.approx(0.125, rel=1e-4)  # v**2 + 2*x**2 + x**4/4
