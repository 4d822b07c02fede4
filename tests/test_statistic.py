"""The conservation statistic: invariant to sampling, windows and time units; a null that moves
like the data; conserved inputs pass, slow movers and spiky functions do not."""
import warnings

import numpy as np
import pytest

from conslaw.datasets import make_variant
from conslaw.datasets.types import Trajectory
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData
from conslaw.discovery.forms import judged_ratio, segment_smooth_forms, segment_variation, smooth_form
from conslaw.discovery.segments import motion_time, segment_trajectories
from conslaw.discovery.surrogate import still_columns
from conslaw.dsl.expressions import numpy_function

WINDOW = 2.0


def ratio(variant_or_dataset, law, window=WINDOW, part="train"):
    """The judged ratio and its standard error of ``law`` (text or SymPy) on a data set."""
    dataset = getattr(variant_or_dataset, "dataset", variant_or_dataset)
    data = getattr(ConservationData.prepare(dataset, window, NULL_DRAWS, 0), part)
    g = numpy_function(law, dataset.columns)
    return judged_ratio(g(data.truth.x), g(data.null.x), data.truth, data.null)


@pytest.mark.parametrize("system, coordinates", [
    ("pendulum", "velocities"), ("double-pendulum", "native"), ("two-body", "velocities"),
    ("predator-prey", "native")])
def test_motion_time_does_not_depend_on_sampling_or_time_unit(system, coordinates):
    default = make_variant(system, coordinates=coordinates)
    dense = make_variant(system, coordinates=coordinates, oversample=10)
    milliseconds = make_variant(system, coordinates=coordinates, oversample=3, time_unit="ms")
    reference = motion_time(default.dataset.train)
    assert np.isfinite(reference)
    assert motion_time(dense.dataset.train) == pytest.approx(reference, rel=0.1)
    assert motion_time(milliseconds.dataset.train) == pytest.approx(reference, rel=0.1)


@pytest.mark.parametrize("system, coordinates", [
    ("pendulum", "velocities"), ("spring", "native"), ("double-pendulum", "native"),
    ("two-body", "velocities"), ("three-oscillators", "native")])
@pytest.mark.parametrize("oversample", [1, 10])
def test_bare_inputs_sums_and_differences_are_not_conserved_at_any_rate(system, coordinates, oversample):
    variant = make_variant(system, coordinates=coordinates, oversample=oversample)
    columns = variant.dataset.columns
    for law in [*columns, f"{columns[0]} + {columns[1]}", f"{columns[0]} - {columns[-1]}"]:
        value, _ = ratio(variant, law)
        assert 0.3 < value < 3, (law, value)


@pytest.mark.parametrize("system, coordinates", [
    ("pendulum", "velocities"), ("pendulum", "cartesian"), ("oscillator2d", "native"),
    ("double-pendulum", "native"), ("kepler", "velocities"), ("predator-prey", "native"), ("rigid-body", "native")])
def test_true_laws_are_conserved_to_rounding_and_to_within_noise(system, coordinates):
    clean = make_variant(system, coordinates=coordinates, oversample=4)
    noisy = make_variant(system, coordinates=coordinates, oversample=4, noise=0.05)
    for name, law in clean.laws.items():
        assert ratio(clean, law)[0] < 1e-12, name
        value, error = ratio(noisy, law)
        assert value <= 3 * error + 1e-6, (name, value, error)


@pytest.mark.parametrize("system, coordinates, n_trajectories", [
    ("spring", "velocities", 8), ("spring", "velocities", 9), ("pendulum", "velocities", 8),
    ("oscillator2d", "native", 6)])
def test_on_few_short_trajectories_no_surrogate_passes_through_a_true_state(system, coordinates,
                                                                            n_trajectories):
    """A surrogate whose two columns came from one segment, one of them run backwards, met the
    true state at the segment's midpoint: the spring's energy on 8 trajectories of 3 s was
    judged at 1e-5, approximate."""
    variant = make_variant(system, coordinates=coordinates, n_trajectories=n_trajectories, t_end=3)
    for name, law in variant.laws.items():
        assert ratio(variant, law)[0] < 1e-12, name


def test_a_cyclic_coordinates_momentum_is_a_conserved_input():
    clean = make_variant("two-body", coordinates="polar")
    noisy = make_variant("two-body", coordinates="polar", noise=0.01)
    for variant in (clean, noisy):
        with warnings.catch_warnings():  # a still column has no motion for the sampling to miss
            warnings.simplefilter("error")
            data = ConservationData.prepare(variant.dataset, WINDOW, NULL_DRAWS, 0)
        assert list(data.still) == [column == "pphi" for column in variant.dataset.columns]
        value, error = ratio(variant, "pphi")
        assert value <= max(3 * error, 1e-12)
    assert ratio(clean, "pr")[0] > 0.3  # the radial momentum moves


def test_quantities_that_move_slowly_are_not_conserved():
    """Trajectories far shorter than the motion: every column barely moves, and still a bare input
    or a combination of inputs is judged as unconserved as it is on long trajectories."""
    short = make_variant("pendulum", coordinates="velocities", t_end=0.15, oversample=2)
    assert ratio(short, short.laws["energy"])[0] < 1e-12
    for law in ("theta", "omega", "theta + omega", "theta*omega"):
        assert ratio(short, law)[0] > 0.3, law


def test_spiky_powers_and_poles_do_not_look_conserved():
    variant = make_variant("pendulum")
    for law in ("p**16*q**16", "p**4*q**8", "p**4*q**4", "(p**2*q**2 - 1.8)**2"):
        assert ratio(variant, law)[0] > 0.1, law
    kepler = make_variant("kepler")
    assert ratio(kepler, "1/sqrt(x**2 + y**2)")[0] > 0.1


def test_formulas_faster_than_the_sampling_are_not_judged():
    variant = make_variant("pendulum")
    assert ratio(variant, "sin(40*q)")[0] == np.inf
    assert ratio(make_variant("pendulum", oversample=20), "sin(40*q)")[0] > 0.3


@pytest.mark.parametrize("law, exact", [("p**2 - 3*cos(q)", True), ("p**2 + q**2", False), ("q", False)])
def test_ratio_does_not_change_with_resampling_subsampling_time_unit_or_cutting(law, exact):
    reference, _ = ratio(make_variant("pendulum"), law)
    variants = [make_variant("pendulum", oversample=10), make_variant("pendulum", oversample=10, subsample=5),
                make_variant("pendulum", oversample=2, time_unit="ms")]
    for variant in variants:
        value, _ = ratio(variant, law)
        assert value < 1e-12 if exact else value == pytest.approx(reference, rel=0.3)


def test_cut_recordings_give_the_same_segments_as_whole_ones():
    """One long recording, or the same recording cut by the user into pieces longer than a window,
    is segmented into the same windows (up to the pieces' edges)."""
    variant = make_variant("pendulum", t_end=12.0, n_trajectories=6, oversample=2)
    whole = variant.dataset.train
    seconds = motion_time(whole)
    pieces = [Trajectory(tr.t[part], tr.x[part]) for tr in whole
              for part in np.array_split(np.arange(len(tr)), 2)]
    count_whole = segment_trajectories(whole, WINDOW, seconds).n_segments
    count_cut = segment_trajectories(pieces, WINDOW, seconds).n_segments
    assert abs(count_whole - count_cut) <= len(whole)
    assert motion_time(pieces) == pytest.approx(seconds, rel=0.1)


def test_white_noise_columns_and_constant_columns_do_not_move():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 10, 200)
    trajectories = [Trajectory(t, np.stack([np.sin(t + k), np.full_like(t, k) + 0.01 * rng.standard_normal(t.size),
                                            np.full_like(t, 2.0 * k)], axis=1)) for k in range(6)]
    segments = segment_trajectories(trajectories, WINDOW, motion_time(trajectories))
    assert still_columns(segments).tolist() == [False, True, True]


def test_too_short_trajectories_are_named():
    t = np.linspace(0, 1, 3)
    with pytest.warns(UserWarning, match="training trajectory 0 has 3 samples"):
        segment_trajectories([Trajectory(t, np.zeros((3, 2))), Trajectory(np.linspace(0, 1, 9), np.ones((9, 2)))],
                             WINDOW, 1.0)


@pytest.mark.parametrize("system, n_points, fast", [("three-body", 20, True), ("pendulum", None, False),
                                                     ("three-body", None, False)])
def test_columns_the_sampling_does_not_resolve_are_named(system, n_points, fast):
    """Three bodies sampled 20 times in 5 s: the velocities change between samples (their
    autocorrelation is below 1/2 after one step) while the positions are resolved, so the
    overall motion time passes and only the columns are named; at the default sampling, and
    for a pendulum, no column is."""
    from conslaw.datasets import user_coordinates

    dataset = make_variant(system, coordinates=user_coordinates(system), n_points=n_points).dataset
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ConservationData.prepare(dataset, WINDOW, NULL_DRAWS, 0)
    named = [str(w.message) for w in caught if "faster than the sampling resolves" in str(w.message)]
    assert bool(named) == fast
    if fast:
        columns = named[0].removeprefix("columns ").split(" change")[0].split(", ")
        assert "vx1" in columns and "x1" not in columns


@pytest.mark.parametrize("system", ["pendulum", "duffing"])
def test_a_sampling_too_coarse_to_judge_is_a_warning_of_the_result(system):
    """Under 3 samples per motion time (5 Hz here) the warning travels with the result
    (``Discovery.warnings``, result.json), not only to the terminal; the default rate gives none."""
    from conslaw import ConservationSearch

    coarse, fine = (ConservationSearch(tailor=False, mode="terms", jobs=1, keep=20)
                    .fit(make_variant(system, rate=rate).dataset) for rate in (5, None))
    assert any("samples per motion time" in w and "judgements are weak" in w for w in coarse.discovery_.warnings)
    assert not any("samples per motion time" in w for w in fine.discovery_.warnings)


def test_the_smooth_form_is_the_mean_of_its_segments_forms():
    """The segment jackknife (``Judge.needs_term``) leaves out one segment's form at a time."""
    data = ConservationData.prepare(make_variant("coupled-springs", noise=0.01, rate=20.0).dataset, 2.0, NULL_DRAWS, 0)
    truth = data.train.truth
    values = np.column_stack([truth.x[:, 0] ** 2, truth.x[:, 0] * truth.x[:, 1], truth.x[:, 2]])
    forms = segment_smooth_forms(values, truth)
    assert forms.shape == (truth.n_segments, 3, 3)
    np.testing.assert_allclose(forms.mean(axis=0), smooth_form(values, truth), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.einsum("sii->is", forms), segment_variation(values.T, truth, smooth=True),
                               rtol=1e-10, atol=1e-14)
