"""The Python API: ConservationSearch on arrays, the law table, conversions and from_run."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch

from conslaw import ConservationSearch
from conslaw.errors import UsageError


def oscillator(amplitudes=(0.5, 0.8, 1.1, 1.4), n=40):
    """q in m and p in kg*m/s of a spring with q**2 + p**2/4 conserved."""
    t = np.linspace(0, 3, n)
    return [np.stack([a * np.cos(2 * t), -2 * a * np.sin(2 * t)], axis=1) for a in amplitudes], t


def test_fit_arrays_finds_the_energy_with_its_coefficient_and_unit():
    trajectories, t = oscillator()
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, depth=5, jobs=1)
    search.fit(trajectories, times=[t] * len(trajectories))
    law = search.laws_[0]
    assert law.accepted and law.independent and law.quality == "exact"
    q, p = sympy.symbols("q p", real=True)
    expanded = sympy.expand(search.sympy(0))
    assert float(expanded.coeff(q**2) / expanded.coeff(p**2)) == pytest.approx(4.0, rel=1e-6)
    assert str(law.unit) in ("m**2", "kg**2*m**2/s**2")
    assert "rank" in search.table() and "exact" in search.table()
    assert search.latex(0).count("q") >= 1
    assert len(search.table(2).splitlines()) < len(search.table().splitlines())
    for bad, message in ((lambda: search.latex("a"), r"a law index must be an integer .*got 'a'"),
                         (lambda: search.sympy(len(search.laws_)), "law index .* is out of range"),
                         (lambda: search.table(-1), r"rows must be an integer >= 1 .*got -1")):
        with pytest.raises(UsageError, match=message):
            bad()


def test_units_as_a_string_read_as_the_cli_reads_them_and_bad_ones_fail_at_once():
    trajectories, t = oscillator()
    search = ConservationSearch(units="q=cm, p=kg*m/s", depth=5, jobs=1)
    search.fit([x * np.array([100.0, 1.0]) for x in trajectories], times=[t] * 4)
    assert search.laws_[0].unit_text() == "cm**2" and search.laws_[0].quality == "exact"
    with pytest.raises(UsageError, match="entry 'p' is not of the form name=unit"):
        ConservationSearch(units="q=cm,p")


def test_data_or_units_a_fit_would_not_use_are_refused():
    from conslaw.datasets.variants import make_variant

    dataset = make_variant("spring", n_trajectories=4).dataset
    with pytest.raises(UsageError, match="a TrajectoryDataset carries its own"):
        ConservationSearch(units="q=cm,p=kg*m/s").fit(dataset)
    with pytest.raises(UsageError, match="built-in --dataset spring has its own"):
        ConservationSearch(units="q=cm,p=kg*m/s", dataset="spring")
    trajectories, t = oscillator()
    with pytest.raises(UsageError, match="names 'spring' as its data: pass one of them"):
        ConservationSearch(dataset="spring").fit(trajectories, times=[t] * 4)
    with pytest.raises(UsageError, match="times= goes with arrays of states"):
        ConservationSearch().fit(dataset, times=[t] * 4)
    search = ConservationSearch(dataset="spring")
    with pytest.raises(UsageError, match="times= goes with arrays of states"):
        search.fit(times=[t] * 4)
    assert search.load() is search.load()  # the configured data are loaded once


def test_numpy_and_torch_take_the_same_shape_and_agree():
    trajectories, t = oscillator()
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, depth=5, jobs=1).fit(trajectories, times=[t] * 4)
    states = np.stack(trajectories)  # (4, 40, 2)
    values = search.numpy(0)(states)
    torch_values = search.torch(0)(torch.as_tensor(states, dtype=torch.float64))
    assert values.shape == tuple(torch_values.shape) == (4, 40)
    np.testing.assert_allclose(values, torch_values.numpy(), rtol=1e-12)
    assert np.ptp(values, axis=1).max() < 1e-9 * np.ptp(values)
    assert search.torch(0)(torch.as_tensor(states, dtype=torch.float32)).dtype == torch.float32


def test_laws_are_given_in_the_declared_units_and_in_si():
    trajectories, t = oscillator()
    in_cm = [x * np.array([100.0, 1.0]) for x in trajectories]  # q recorded in cm
    search = ConservationSearch(units={"q": "cm", "p": "kg*m/s"}, depth=5, jobs=1).fit(in_cm, times=[t] * 4)
    declared, si = search.numpy(0, "declared"), search.numpy(0, "si")
    assert np.ptp(declared(in_cm[1])) < 1e-9 * abs(declared(in_cm[1])).max()
    assert np.ptp(si(trajectories[1])) < 1e-9 * abs(si(trajectories[1])).max()
    with pytest.raises(UsageError, match="units must be one of"):
        search.sympy(0, units="imperial")


def test_a_law_in_declared_units_has_a_unit_made_of_them():
    """q in cm, p in kg*m/s: the law's value is given in cm**2 (from q's unit), its q**2
    coefficient exactly 1, and its values are the SI law's divided by 1e-4 m**2."""
    trajectories, t = oscillator()
    in_cm = [x * np.array([100.0, 1.0]) for x in trajectories]
    search = ConservationSearch(units={"q": "cm", "p": "kg*m/s"}, depth=5, jobs=1).fit(in_cm, times=[t] * 4)
    law = search.laws_[0]
    assert (law.unit_text(), law.unit_text("si")) == ("cm**2", "m**2")
    q, p = sympy.symbols("q p", real=True)
    declared = sympy.expand(law.sympy())
    assert declared.coeff(q**2) == 1 and float(declared.coeff(p**2)) == pytest.approx(2500.0, rel=1e-6)
    np.testing.assert_allclose(law.numpy()(in_cm[2]), law.numpy("si")(trajectories[2]) / 1e-4, rtol=1e-12)
    assert "cm**2" in search.table() and law.to_dict()["unit_declared"] == "cm**2"
    assert law.latex_unit() == r"\mathrm{cm}^{2}"


@pytest.mark.parametrize("unit, factor", [("deg", "pi/180"), ("arcmin", "pi/10800")])
def test_an_angle_unit_enters_a_declared_law_as_an_exact_multiple_of_pi(unit, factor):
    """A pendulum angle in degrees or arc minutes: ``cos(pi*theta/180)``, not a rounded float;
    omega in rad/s keeps its own numbers. The declared law evaluates as the SI one on the same
    states, and a column named ``pi`` keeps the factor as a number (no symbolic pi beside it)."""
    from conslaw.datasets import make_variant
    from conslaw.dsl.expressions import exact_factor

    assert str(exact_factor(2 * np.pi / 60)) == "pi/30" and str(exact_factor(0.0254)) == "0.0254000000000000"  # rpm, inch
    assert exact_factor(149597870700.0) == sympy.Float("149597870700.0")  # 1 au: no pi with a 15-digit numerator
    assert str(exact_factor(np.pi / 180 * 1000)) == "50*pi/9"  # deg/ms
    variant = make_variant("pendulum", coordinates="velocities", units={"theta": unit}, n_trajectories=8)
    law = ConservationSearch(jobs=1, tailor=False, mode="formulas").fit(variant.dataset).laws_[0]
    theta = sympy.Symbol("theta", real=True)
    assert law.accepted and law.sympy().has(sympy.cos(sympy.sympify(factor) * theta))
    states = variant.dataset.stacked("train")[:50]
    declared = states / np.array([law.columns.to_si[0], 1.0])
    np.testing.assert_allclose(law.numpy()(declared), law.numpy("si")(states), rtol=1e-12)
    renamed = dataclasses.replace(law.columns, names=("pi", "omega"))
    assert not renamed.declared_form(renamed.parse("cos(pi)")).has(sympy.pi)


def test_a_sum_with_a_units_pi_takes_the_number_beside_it():
    """``(12.36 - omega**2)*cos(theta)`` in rad becomes, in degrees, ``(40571 - omega**2)*cos(pi*
    theta/180)``, not ``3282.8*(12.36 - pi**2*omega**2/32400)*cos(pi*theta/180)``; same values."""
    from conslaw.dsl.expressions import in_unit, numpy_function
    from conslaw.dsl.units import parse_unit
    from conslaw.law import StateColumns

    columns = StateColumns(("theta", "omega"), (parse_unit("rad").dimension, parse_unit("rad/s").dimension),
                           ("deg", "deg/s"), (np.pi / 180, np.pi / 180))
    law = columns.parse("(12.3587 - omega**2)*cos(theta)")
    declared = in_unit(columns.declared_form(law), (np.pi / 180) ** 2)
    theta, omega = sympy.symbols("theta omega", real=True)
    assert declared.args[0].is_Add and sympy.expand(declared.args[0]).coeff(omega**2) == -1
    assert declared.has(sympy.cos(sympy.pi * theta / 180)) and not declared.args[0].has(sympy.pi)
    states = np.array([[30.0, 100.0], [-75.0, 12.0]])
    np.testing.assert_allclose(numpy_function(declared, columns.names)(states),
                               numpy_function(law, columns.names)(states * np.pi / 180) / (np.pi / 180) ** 2,
                               rtol=1e-12)


def test_arrays_need_units_the_right_shape_and_a_fit():
    trajectories, t = oscillator()
    with pytest.raises(UsageError, match="units"):
        ConservationSearch().fit(trajectories)
    with pytest.raises(UsageError, match=r"trajectory 1 has shape"):
        ConservationSearch(units={"q": "m", "p": "kg*m/s"}).fit([trajectories[0], trajectories[1][:, :1]])
    with pytest.raises(UsageError, match="unknown option 'dept'"):
        ConservationSearch(dept=5)
    with pytest.raises(Exception, match="has not been fitted"):
        ConservationSearch().table()


@pytest.mark.parametrize("options, message", [
    (dict(unit_check="no"), r"unit_check \(--no-unit-check\) must be True or False, got 'no'"),
    (dict(threshold="high"), r"threshold \(--threshold\) must be a number, got 'high'"),
    (dict(depth=7.5), r"depth \(--depth\) must be an integer, got 7.5"),
    (dict(jobs=True), r"jobs \(--jobs\) must be an integer, got True"),
    (dict(window=None), r"window \(--window\) must be a number, got None"),
    (dict(expect=None), r"expect \(--expect\) must be a list of texts, got None"),
    (dict(expect=" ; "), r"--expect holds no law, got ' ; '"),  # was read as no expectation
    (dict(canonical=" "), r"--canonical is empty: give a value, or leave the option out"),  # was no pairs
    (dict(scheduler="", backend="dask"), r"--scheduler is empty"),  # was a local cluster
    (dict(inner_lrs=["fast"]), r"inner_lrs \(--inner-lrs\) must be a list of numbers, got \['fast'\]"),
    (dict(operators=5), r"--operators must be a text or a list of operators, got 5"),
    (dict(canonical=("q", "p")), r"canonical \(--canonical\) must be a text or None"),
])
def test_an_option_of_the_wrong_type_is_refused_by_name(options, message):
    """The command line parses each value to its type; the API takes them as given, and a
    wrong one was misread (any text made ``unit_check`` true) or failed deep inside."""
    with pytest.raises(UsageError, match=message):
        ConservationSearch(units={"q": "m", "p": "kg*m/s"}, **options)


def test_numpy_scalars_and_lists_are_options_of_their_declared_types():
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, depth=np.int64(5), threshold=np.float32(50),
                                unit_check=np.bool_(False), window=2, inner_lrs=[0.1, np.float64(0.01)],
                                expect=[sympy.sympify("q**2 + p**2/4")])
    config = search.config
    assert type(config.enumeration.depth) is int and config.enumeration.depth == 5
    assert type(config.discovery.threshold) is float and config.discovery.threshold == 50.0
    assert config.discovery.unit_check is False and type(config.discovery.window) is float
    assert config.tailoring.inner_lrs == (0.0, 0.01, 0.1) and config.discovery.expect == ("p**2/4 + q**2",)
    assert json.loads(json.dumps(config.to_dict()))["enumeration"]["depth"] == 5
    paths = ConservationSearch(dataset="spring", options={"n_trajectories": 6}, out=Path("runs") / "spring").config
    assert paths.data.options == ("n_trajectories=6",) and paths.run.out == str(Path("runs") / "spring")


def test_one_trajectory_is_one_array_and_other_data_are_refused_by_what_they_are():
    """A single (n, d) array is one trajectory (it was read as n trajectories of one state), and
    data that are no trajectories get a one-line UsageError, not numpy's ValueError."""
    t = np.linspace(0, 30, 400)
    one = np.column_stack([2 * np.cos(2 * t), -4 * np.sin(2 * t)])
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, depth=5, jobs=1).fit(one, times=t)
    assert len(search.dataset_.train) == len(search.dataset_.test) == 1  # split in time
    q, p = sympy.symbols("q p", real=True)
    expanded = sympy.expand(search.sympy(0))
    assert search.laws_[0].accepted and float(expanded.coeff(q**2) / expanded.coeff(p**2)) == pytest.approx(4.0, rel=1e-6)
    trajectories, times = oscillator()
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"})
    for data, given, message in [
            ("lab.csv", None, r"got the text 'lab.csv'; a file goes by name: ConservationSearch\(data='lab.csv'"),
            ([], None, r"fit\(\) was given no trajectories"),
            (np.zeros((2, 3, 4, 2)), None, r"states of shape \(2, 3, 4, 2\): give one trajectory \(n, d\)"),
            ([[["a", "b"]] * 5], None, "trajectory 0 holds values that are not numbers"),
            ([trajectories[0], trajectories[1] * (1 + 1j)], None,
             "trajectory 1 holds complex numbers: give their real and imaginary parts as columns of their own"),
            (trajectories, 0.1, "times must hold one array of times per trajectory; got 0.1 for 4 trajectories")]:
        with pytest.raises(UsageError, match=message):
            search.fit(data, times=given)


def test_a_second_fit_drops_what_the_first_led_to():
    """Symmetries (and tailoring, rollouts, a stored run) belong to the laws of one fit: after a
    fit on other data they were kept, and ``result()`` paired them with the new laws."""
    trajectories, t = oscillator()
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, depth=5, jobs=1, canonical="q:p")
    search.fit(trajectories, times=[t] * len(trajectories)).analyse_symmetries()
    assert search.symmetries_ is not None
    search.fit([2 * states for states in trajectories], times=[t] * len(trajectories))
    assert search.symmetries_ is None and search.result()["symmetries"] is None
    assert search.result()["tailoring"] is None and search.laws_[0].accepted


def test_a_state_column_named_t_is_a_state_and_times_must_match():
    """Every name in ``units`` is a state column, "t" too (it was once taken for the time column
    and dropped without a word); ``times`` needs one array per trajectory, one time per state."""
    rng = np.random.default_rng(3)
    starts, speeds = rng.uniform(-1, 1, 8), rng.uniform(-1, 1, 8)
    times = [np.arange(40) / 10 + offset for offset in rng.uniform(0, 3, 8)]
    free = [np.column_stack([x0 + v0 * t, np.full(40, v0), t]) for x0, v0, t in zip(starts, speeds, times)]
    units = {"x": "m", "v": "m/s", "t": "s"}
    search = ConservationSearch(units=units, depth=5, jobs=1, mode="formulas").fit(free, times=times)
    assert search.dataset_.columns == ("x", "v", "t")
    x, v, t = sympy.symbols("x v t", real=True)
    independent = [sympy.expand(law.sympy("si")) for law in search.independent_laws_]
    assert any(law.free_symbols == {x, v, t} and law.coeff(x) != 0
               and float(law.coeff(t * v) / law.coeff(x)) == pytest.approx(-1.0, rel=1e-9) for law in independent)
    with pytest.raises(UsageError, match=r"times\[2\] has shape \(39,\); expected \(40,\)"):
        ConservationSearch(units=units).fit(free, times=[*times[:2], times[2][:39], *times[3:]])
    with pytest.raises(UsageError, match="times must hold one array of times per trajectory; got 7 entries for 8 trajectories"):
        ConservationSearch(units=units).fit(free, times=times[:7])
    holed = [trajectory.copy() for trajectory in free]
    holed[5][[7, 9], 1] = [np.nan, np.inf]
    with pytest.raises(UsageError, match=r"trajectory 5 sample 7: a time or state that is NaN or infinite \(2 such"):
        ConservationSearch(units=units).fit(holed, times=times)


def test_a_column_repeated_in_cm_is_named_as_a_copy_that_the_ranker_never_tries():
    """``q_cm`` is ``100*q`` on every sample: a copy, named in a warning and the summary, which
    the null moves with ``q``; no function of the copy's relation alone (one value on the data)
    becomes a law, an identity or a candidate the ranker tries."""
    trajectories, t = oscillator()
    repeated = [np.column_stack([x, 100 * x[:, 0]]) for x in trajectories]
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s", "q_cm": "cm"}, depth=5, jobs=1)
    search.fit(repeated, times=[t] * len(repeated))
    assert search.discovery_.conservation["copied_columns"] == {"q_cm": "q"}
    assert sum("q_cm repeats q" in warning for warning in search.discovery_.warnings) == 1
    assert search.laws_[0].accepted and search.laws_[0].independent and len(search.accepted_laws_) == 1
    assert not any(law.quality == "identity" for law in search.laws_)
    states = search.dataset_.stacked("train")
    for law in search.tailoring_pool():
        values = law.numpy("si")(states)
        assert np.ptp(values) > 1e-6 * np.abs(values).max(), law.expression


def test_the_rankers_pool_is_the_approximately_conserved_candidates_in_rank_order():
    trajectories, t = oscillator()
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, depth=5, jobs=1, top=1)
    search.fit(trajectories, times=[t] * 4)
    pool = search.tailoring_pool()
    assert pool[0].rank == 1 and pool[0].accepted and pool[0].quality == "exact"
    assert [law.rank for law in pool] == sorted(law.rank for law in pool)
    left_out = [law for law in search.laws_ if law not in pool]
    assert left_out, "quantities that merely move with the data are not tried"
    assert all(not law.accepted and law.evidence.ratio > 0.5 for law in left_out)
    assert all(law.accepted or law.evidence.ratio <= 0.5 for law in pool)
    wide = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, depth=5, jobs=1, top=len(pool) + 2)
    wide.laws_, wide.dataset_ = search.laws_, search.dataset_
    assert wide.tailoring_pool() == search.laws_[:len(pool) + 2]  # never fewer than --top


@pytest.mark.parametrize("system", ["spring", "pendulum"])
def test_a_recording_too_short_for_two_held_out_windows_says_why_nothing_is_accepted(system):
    """One recording of about three periods: its held-out last fifth is one window of two motion
    times, whose ratio has no standard error, so no law can be accepted; a warning says so and
    what to change, and the shorter window it names accepts the energy."""
    from conslaw.datasets.variants import make_variant
    from conslaw.discovery.independence import functionally_dependent

    variant = make_variant(system, n_trajectories=2, t_end=10.0, rate=20.0)
    trajectory = variant.dataset.train[0]
    units = dict(zip(variant.dataset.columns, variant.dataset.units.values()))
    search = ConservationSearch(units=units, depth=5, jobs=1).fit([trajectory.x], times=[trajectory.t])
    warning = [w for w in search.discovery_.warnings if "one window" in w]
    assert len(warning) == 1 and "held-out data" in warning[0] and "--window (now 2 motion times)" in warning[0]
    assert not any(law.accepted for law in search.laws_)
    shorter = ConservationSearch(units=units, depth=5, jobs=1, window=1.0).fit([trajectory.x], times=[trajectory.t])
    assert not any("one window" in w for w in shorter.discovery_.warnings)
    accepted = [law for law in shorter.laws_ if law.accepted]
    assert [law.independent for law in accepted][:1] == [True] and accepted[0].quality == "exact"
    states = trajectory.x[::5]
    assert all(functionally_dependent(law.expression, list(variant.laws.values()), variant.dataset.columns, states)
               for law in accepted)
