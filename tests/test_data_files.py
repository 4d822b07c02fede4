"""Data from files: the Schmidt & Lipson recordings and loader, user CSV and NPZ files, validation."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy

from conslaw.datasets import load_dataset, load_file, load_schmidt_lipson, make_variant
from conslaw.datasets.source import DataConfig
from conslaw.dsl.units import ANGLE, parse_unit
from conslaw.engine import ConservationSearch
from conslaw.errors import ConslawError, UsageError
from file_cases import oscillation_rows, write_csv


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
def test_csv_long_format_converts_degrees_and_splits_by_trajectory(tmp_path):
    path = write_csv(tmp_path / "lab.csv", "trajectory,t,theta,omega,note", oscillation_rows(6, 200))
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
    path = write_csv(tmp_path / "one.csv", "time,theta,omega,note", oscillation_rows(1, 100, with_id=False))
    dataset = load_file(path, {"theta": "rad", "omega": "rad/s", "time": "ms"}, time_column="time")
    (train,), (test,) = dataset.train, dataset.test
    assert len(train) == 80 and len(test) == 20 and train.t[-1] < test.t[0]
    np.testing.assert_allclose(test.t[-1], 2e-3)  # ms -> s
    assert dataset.time_unit == "ms" and dataset.time_to_si == pytest.approx(1e-3)


def test_a_trajectory_id_under_another_name_is_named_in_the_error(tmp_path):
    """A lab file whose runs are told apart by a column ``trial``: read as one trajectory, its
    times restart; the error names the column whose value changes at each restart (not ``note``,
    the same on every row) and the option that reads it."""
    path = write_csv(tmp_path / "lab.csv", "trial,t,theta,omega,note", oscillation_rows(3, 20))
    with pytest.warns(UserWarning, match="trial, note not named in the units"), \
            pytest.raises(ConslawError, match=r"column 'trial' changes wherever the time starts again: "
                                              r"--trajectory-column trial\): two samples at t=0.0"):
        load_file(path, "theta=deg,omega=deg/s")
    assert len(load_file(path, "theta=deg,omega=deg/s", trajectory_column="trial").train) == 1


def test_units_in_the_header_name_the_state_columns_and_must_agree_with_given_units(tmp_path):
    rows = oscillation_rows(4, 60)
    plain = load_file(write_csv(tmp_path / "plain.csv", "trajectory,t,theta,omega,note", rows),
                      "t=ms,theta=deg,omega=deg/s")
    path = write_csv(tmp_path / "lab.csv", "trajectory,t (ms),theta [deg],omega[deg/s],note", rows)
    for units in (None, "theta=deg,omega=deg/s", "t=ms"):  # units for the time column only: states from the header
        dataset = load_file(path, units)
        assert dataset.columns == ("theta", "omega") and dataset.units == {"theta": "deg", "omega": "deg/s"}
        assert dataset.time_unit == "ms"
        np.testing.assert_allclose(dataset.stacked(), plain.stacked())
    with pytest.raises(UsageError, match=r"column 'omega': the units say 'rad/s' but the file's header says 'deg/s'"):
        load_file(path, "theta=deg,omega=rad/s")
    with pytest.raises(UsageError, match=r"the header's unit of column 'theta': "):
        load_file(write_csv(tmp_path / "typo.csv", "trajectory,t,theta [no_such_unit],omega [deg/s],note", rows))
    with pytest.raises(UsageError, match=r'needs --units naming the state columns and their units, e.g. '
                                         r'"theta=...,omega=...,note=..." \("1" for a dimensionless column\), '
                                         r"or units in the file's header, e.g. 'theta \[m\]'"):
        load_file(write_csv(tmp_path / "bare.csv", "trajectory,t,theta,omega,note", rows))
    with pytest.raises(UsageError, match=r"needs --units naming the state columns"):
        load_file(write_csv(tmp_path / "time_only.csv", "trajectory,t (s),theta,omega,note", rows))
    with pytest.raises(ConslawError, match=r"column 'theta \[rad\]' and another column are both named 'theta'"):
        load_file(write_csv(tmp_path / "twice.csv", "trajectory,t,theta,theta [rad],note", rows), "theta=deg")
    with pytest.warns(UserWarning, match=r"column\(s\) x\(t\) not named in the units, ignored"):
        kept = load_file(write_csv(tmp_path / "call.csv", "trajectory,t,theta [deg],omega [deg/s],x(t)", rows))
    assert kept.columns == ("theta", "omega")  # parentheses without a space are part of the name (not tonnes)


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
        (["0,0,1", "0,1,nan", "0,2,3"], "x=m", r"column 'x' row 2: value missing .*--missing split drops such rows"),
        (["0,0,1", "0,1,", "0,2,"], "x=m", r"column 'x' row 2: value missing \(empty or NaN; 2 in this column\)"),
        (["0,0,1", "0,1,2", "0,2,inf"], "x=m", r"column 'x' row 3: value inf is not finite"),
        (["0,0,1", "0,1,abc", "0,2,3"], "x=m", r"column 'x' row 2: value 'abc' is not a number"),
        (["0,0,1", "0,x1,2", "0,2,3"], "x=m", r"column 't' row 2: value 'x1' is not a number"),
        (["0,0,1", "0,1,2", "0,2,3"], "y=m", r"state column 'y' not found.*available columns: trajectory, t, x"),
        (["0,0,1", "0,1,2", "0,2,3"], "x=furlongz", r"'x': unknown unit 'furlongz'"),
        (["0,0,1", "0,1,2", "0,2,3", "7,0,1", "7,1,2"], "x=m", r"trajectory '7' has 2 sample\(s\)"),
        (["0,0,1", "0,1,2", "0,1,3", "0,2,3"], "x=m",
         r"trajectory '0': two samples at t=1.0 \(rows 2 and 3, with different states; 1 such pair\(s\) in it\)"),
        (["0,0,1", "0,2,3", "0,1,3", "0,2,3", "0,3,4", "0,3,4"], "x=m",
         r"two samples at t=2.0 \(rows 2 and 4, the same states twice: drop the repeated rows; 2 such pair\(s\)"),
        (["0,0,1", "0,1", "0,2,3"], "x=m", r"row 2: 2 fields, but the header has 3"),
    ],
)
def test_bad_csv_input_names_the_culprit(tmp_path, rows, units, pattern):
    path = write_csv(tmp_path / "bad.csv", "trajectory,t,x", rows)
    with pytest.raises(ConslawError, match=pattern) as caught:
        load_file(path, units)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, UsageError) == ("unit" in pattern)  # exit 2 for options, 1 for data


def test_missing_values_split_their_trajectory_into_pieces(tmp_path):
    """Trajectory 0 loses x at row 4 and its time at row 12; trajectory 7 keeps a 2-row piece
    after a gap, too short to load: dropped. Each other piece is a trajectory of its own."""
    rows = [f"0,{k},{np.sin(k / 3):.6f}" for k in range(16)] + [f"7,{k},{np.cos(k / 3):.6f}" for k in range(9)]
    rows[3] = "0,3,"
    rows[11] = "0,,0.5"
    rows[16 + 6] = "7,6,NaN"
    path = write_csv(tmp_path / "gaps.csv", "trajectory,t,x", rows)
    with pytest.warns(UserWarning, match=r"3 row\(s\) with a missing value \(the first: row 4\) were dropped, "
                      r"splitting 2 trajectory\(ies\) there; 1 piece\(s\) under 3 samples were dropped \(2 rows\)"):
        dataset = load_file(path, "x=m", missing="split", test_fraction=0.25)
    assert dataset.metadata["trajectory_ids"] == ["0/1", "0/2", "0/3", "7/1"]
    assert dataset.metadata["rows_dropped"] == 5 and dataset.metadata["rows"] == 25
    pieces = sorted(tuple(tr.t.tolist()) for tr in dataset.train + dataset.test)
    assert pieces == [(0.0, 1.0, 2.0), (0.0, 1.0, 2.0, 3.0, 4.0, 5.0), (4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0),
                      (12.0, 13.0, 14.0, 15.0)]
    for trajectory in dataset.train + dataset.test:  # each piece keeps its own rows' values
        assert np.allclose(trajectory.x[:, 0], np.sin(trajectory.t / 3), atol=1e-6) or \
            np.allclose(trajectory.x[:, 0], np.cos(trajectory.t / 3), atol=1e-6)
    with pytest.raises(UsageError, match="--missing applies to --data files"):
        DataConfig(dataset="pendulum", missing="split")


def test_a_recording_with_dropouts_gives_its_law_with_missing_split(tmp_path):
    """A pendulum recording whose tracker lost 2 % of its cells (blank) at random: refused by
    default, and with ``missing="split"`` the energy is found with its coefficient."""
    variant = make_variant("pendulum", coordinates="velocities", rate=50, noise=0.005, n_trajectories=8)
    path = variant.write_csv(tmp_path / "full.csv")
    lines = path.read_text().splitlines()
    rng = np.random.default_rng(4)
    for row in rng.choice(np.arange(1, len(lines)), size=len(lines) // 50, replace=False):
        cells = lines[row].split(",")
        cells[rng.integers(1, len(cells))] = ""
        lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConslawError, match="value missing"):
        load_file(path, variant.units_spec())
    search = ConservationSearch(data=str(path), units=variant.units_spec(), missing="split", tailor=False,
                                jobs=1, mode="formulas", keep=20)
    with pytest.warns(UserWarning, match="missing value"):
        search.fit()
    top = search.accepted_laws_[0]
    omega, theta = sorted(top.expression.free_symbols, key=str)
    terms = top.expression.as_coefficients_dict()
    assert -terms[sympy.cos(theta)] / terms[omega ** 2] == pytest.approx(12.0, rel=0.01)


def test_temperatures_in_degf_and_degc_are_read_as_absolute_and_give_the_heat_content(tmp_path):
    """Two bodies exchanging heat, one recorded in degF and one in degC, with the units in the
    header: the values become kelvin by factor and offset, a unit given again must agree to the
    offset, the heat content ``T1 + 2.5*T2`` (C2/C1 = 2.5, in K) is found with its coefficient,
    and its declared form has no constant from the offsets (a law up to a constant)."""
    units = {"T1": "degF", "T2": "degC"}
    variant = make_variant("heat-exchange", units=units, rate=5, noise=0.02, n_trajectories=12,
                           derivatives="finite-difference")
    path = variant.write_csv(tmp_path / "plain.csv")
    lines = path.read_text().splitlines()
    lines[0] = f"trajectory,t,T1 [{units['T1']}],T2 [{units['T2']}]"
    path.write_text("\n".join(lines) + "\n")
    dataset = load_file(path)
    recorded = np.array([float(cell) for cell in lines[1].split(",")[2:]])  # 1 row: degF, degC
    kelvin = np.array([(recorded[0] - 32) * 5 / 9 + 273.15, recorded[1] + 273.15])
    states = np.concatenate([dataset.stacked("train"), dataset.stacked("test")])
    assert np.isclose(states, kelvin, rtol=1e-12).all(axis=1).any()
    truth = np.concatenate([variant.dataset.stacked("train"), variant.dataset.stacked("test")])
    np.testing.assert_allclose(np.sort(states, axis=0), np.sort(truth, axis=0), rtol=1e-12)
    with pytest.raises(UsageError, match=r"column 'T2': the units say 'K' but the file's header says 'degC'"):
        load_file(path, "T2=K")
    law = ConservationSearch(data=str(path), tailor=False, jobs=1, keep=20).fit().accepted_laws_[0]
    t1, t2 = sorted(law.expression.free_symbols, key=str)
    si = law.sympy("si").as_coefficients_dict()
    assert si[t2] / si[t1] == pytest.approx(2.5, rel=0.02) and law.unit_text() == "K"
    declared = law.sympy().as_coefficients_dict()
    assert set(declared) == {t1, t2} and declared[t2] / declared[t1] == pytest.approx(2.5 * 9 / 5, rel=0.02)


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
        load_file(write_csv(tmp_path / "ok.csv", "t,x", ["0,1", "1,2", "2,3"]), "x=m", time_column="time")


def test_npz_with_complex_numbers_is_refused_not_cut_to_their_real_parts(tmp_path):
    np.savez(tmp_path / "complex.npz", t=np.arange(4.0), x=np.arange(4.0) * (1 + 2j))
    with pytest.raises(ConslawError, match="column 'x' holds complex numbers: give their real and imaginary parts"):
        load_file(tmp_path / "complex.npz", "x=m")


def test_npz_with_text_in_a_number_column(tmp_path):
    np.savez(tmp_path / "text.npz", t=np.arange(4.0), x=np.array(["1", "2", "two", "4"]))
    with pytest.raises(ConslawError, match="column 'x' row 3: value 'two' is not a number"):
        load_file(tmp_path / "text.npz", "x=m")


@pytest.mark.parametrize("value", ["5.0", "0.8175"])
def test_constant_state_column_warns_once_but_loads(tmp_path, value):
    """0.8175 ten times has a standard deviation of 1e-16 (the mean's rounding), which once
    added a second warning, that the column varies by only 1.4e-16 of its magnitude."""
    path = write_csv(tmp_path / "flat.csv", "t,x,y", [f"{i},{i * i},{value}" for i in range(10)])
    with pytest.warns(UserWarning) as caught:
        dataset = load_file(path, "x=m,y=m")
    assert [str(w.message).split(";")[0] for w in caught] == [f"state column 'y' is constant ({value}) everywhere"]
    assert dataset.n_state == 2


def test_data_in_which_no_column_moves_are_refused_in_one_line(tmp_path):
    """Every formula of such data is constant: refused before any search, from a file and from
    arrays alike (the multi-term search once failed on them with a bare ValueError)."""
    path = write_csv(tmp_path / "still.csv", "run,t,x,y", [f"0,{i},1.5,2.5" for i in range(10)])
    with pytest.raises(ConslawError, match=r"^every state column \(x, y\) has one value everywhere: the data hold "
                                           r"no motion"):
        load_file(path, "x=m,y=m", trajectory_column="run")
    with pytest.raises(ConslawError, match=r"^every state column \(q, p\) has one value everywhere"):
        ConservationSearch(units="q=m,p=m/s", tailor=False, jobs=1).fit(np.ones((4, 50, 2)))


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_a_column_beyond_the_judged_magnitudes_is_refused_in_one_line(tmp_path, scale):
    """Every formula of such a column is out of the range fits are judged in: the search found
    nothing, and numpy's overflow warnings were all it said. 1e-60 m is far from that range."""
    rows = lambda s: [f"{k},{i},{s * np.sin(0.3 * i + k)},{np.cos(0.3 * i + k)}" for k in range(3) for i in range(20)]
    with pytest.raises(ConslawError, match=r"^state column 'x' peaks at [0-9.]+e[+-](199|200) in SI units, outside "
                                           r"the 1e-100 to 1e\+100 within which formulas are judged"):
        load_file(write_csv(tmp_path / "far.csv", "run,t,x,v", rows(scale)), "x=m,v=m/s", trajectory_column="run")
    assert load_file(write_csv(tmp_path / "near.csv", "run,t,x,v", rows(1e-60)), "x=m,v=m/s",
                     trajectory_column="run").n_state == 2

def test_columns_left_out_of_the_units_are_named_in_a_warning(tmp_path):
    """A forgotten column must not vanish without a word; the time and id columns are not named."""
    rows = [f"{k},{i},{i * i},{i + k},20.5" for k in range(2) for i in range(10)]
    path = write_csv(tmp_path / "extra.csv", "run,t,x,v,temperature", rows)
    with pytest.warns(UserWarning, match=r"extra\.csv: column\(s\) v, temperature not named in the units, ignored"):
        dataset = load_file(path, "x=m", trajectory_column="run")
    assert dataset.columns == ("x",)


def test_a_column_far_from_zero_warns_that_its_offset_costs_precision(tmp_path):
    """Positions measured from a wall far away: the spring's energy needs ``(x - c)**2``, which
    float64 resolves less well the larger ``c`` is against the motion (lost at 30 km)."""
    variant = make_variant("spring", coordinates="velocities")
    position = variant.dataset.columns[0]
    path = variant.write_csv(tmp_path / "near.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_file(path, variant.units_spec())  # near zero: silent
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    table[:, 2] += 3e4 * table[:, 2].std()
    np.savetxt(tmp_path / "far.csv", table, delimiter=",", header=open(path).readline().strip(), comments="",
               fmt="%.17g")
    with pytest.warns(UserWarning, match=rf"state column '{position}' varies by only 3\.[0-9]e-05 of its "
                      r"magnitude: .*subtract a reference value from the column"):
        load_file(tmp_path / "far.csv", variant.units_spec())
