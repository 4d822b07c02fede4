"""Data files laid out in other ways: time in frames or ISO time stamps, other separators and
decimal commas, rows out of order, angles logged modulo a full turn."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from conslaw.datasets import load_file
from conslaw.errors import ConslawError, UsageError
from file_cases import oscillation_rows, write_csv


def test_a_video_file_in_frames_and_pixels_per_frame_reads_as_seconds(tmp_path):
    """Tracked in a video at 30 frames per second: time in frames (``s/30``), velocity in pixel
    per frame (``pixel*30/s``); the data set is the same as the file written in seconds."""
    rows = oscillation_rows(3, 31)
    seconds = load_file(write_csv(tmp_path / "seconds.csv", "trajectory,t,x,v,note", rows), "x=pixel,v=pixel/s")
    frames = [",".join([cells[0], repr(float(cells[1]) * 30), cells[2], repr(float(cells[3]) / 30), cells[4]])
              for cells in (row.split(",") for row in rows)]
    video = load_file(write_csv(tmp_path / "video.csv", "trajectory,t [s/30],x [pixel],v [pixel*30/s],note", frames))
    assert video.time_unit == "s/30" and video.units == {"x": "pixel", "v": "pixel*30/s"}
    for ours, theirs in zip(video.train + video.test, seconds.train + seconds.test):
        np.testing.assert_allclose(ours.t, theirs.t, rtol=1e-12)
        np.testing.assert_allclose(ours.x, theirs.x, rtol=1e-12)


def test_iso_time_stamps_are_read_as_seconds_and_wrong_ones_are_named(tmp_path):
    """A logger's ISO 8601 time stamps (one trajectory a minute, zone +01:00, 50 ms steps) read
    as the same data as seconds since the earliest stamp; so do numpy datetime64 columns in an
    NPZ file. A unit for such a column, a time of day without a date, a cell that is no stamp and
    zones on some cells only are refused, naming the culprit."""
    rows = oscillation_rows(3, 41)
    plain = load_file(write_csv(tmp_path / "plain.csv", "trajectory,t,theta,omega,note", rows), "theta=deg,omega=deg/s")
    start = np.datetime64("2026-12-01T10:00:00.000")
    stamps = [start + np.timedelta64(60 * int(row.split(",")[0]), "s")
              + np.timedelta64(int(round(float(row.split(",")[1]) * 1000)), "ms") for row in rows]
    texts = [f"{str(stamp)}+01:00" for stamp in stamps]
    stamped = [",".join([row.split(",")[0], text, *row.split(",")[2:]]) for row, text in zip(rows, texts)]
    dataset = load_file(write_csv(tmp_path / "stamps.csv", "trajectory,t,theta,omega,note", stamped),
                        "theta=deg,omega=deg/s")
    np.savez(tmp_path / "stamps.npz", trajectory=np.array([int(row.split(",")[0]) for row in rows]),
             t=np.array(stamps), theta=np.array([float(row.split(",")[2]) for row in rows]),
             omega=np.array([float(row.split(",")[3]) for row in rows]))
    archived = load_file(tmp_path / "stamps.npz", "theta=deg,omega=deg/s")
    for loaded in (dataset, archived):
        for ours, theirs in zip(loaded.train + loaded.test, plain.train + plain.test):
            np.testing.assert_allclose(ours.t - ours.t[0], theirs.t, atol=1e-9)
            np.testing.assert_allclose(ours.x, theirs.x)
        assert sorted(tr.t[0] for tr in loaded.train + loaded.test) == [0.0, 60.0, 120.0]
    with pytest.raises(UsageError, match=r"time column 't' holds date-times, which carry their own unit"):
        load_file(tmp_path / "stamps.csv", "t=ms,theta=deg,omega=deg/s")
    cases = {"10:00:00.050": r"row 1: '10:00:00.050' is a time of day without a date",
             "2026-12-01T10:00:00.000+01:00|2026-12-01T10:00:00.050": r"row 2: a time stamp without a time zone",
             "2026-12-01T10:00:00.000|soon": r"row 2: value 'soon' is not an ISO 8601 time stamp"}
    for cells, message in cases.items():
        bad = [",".join(["0", cell, "1.0", "2.0", "x"]) for cell in cells.split("|")] + stamped[2:]
        with pytest.raises(ConslawError, match=message):
            load_file(write_csv(tmp_path / "bad.csv", "trajectory,t,theta,omega,note", bad), "theta=deg,omega=deg/s")


@pytest.mark.parametrize("name, separator, decimal", [
    ("lab.tsv", "\t", "."), ("lab.csv", ";", ","), ("lab.txt", ";", "."), ("lab.dat", "  ", "."),
    ("lab.txt", " | ", ".")])
def test_tab_semicolon_bar_and_space_separated_files_read_as_the_comma_file(tmp_path, name, separator, decimal):
    """A semicolon file may write decimal commas (a European spreadsheet's export)."""
    rows = oscillation_rows(4, 50)
    reference = load_file(write_csv(tmp_path / "comma.csv", "trajectory,t,theta,omega,note", rows), "theta=deg,omega=deg/s")
    other = [separator.join(cell.replace(".", decimal) for cell in row.split(",")) for row in rows]
    dataset = load_file(write_csv(tmp_path / name, separator.join(["trajectory", "t", "theta", "omega", "note"]), other),
                        "theta=deg,omega=deg/s")
    for mine, theirs in zip(dataset.train + dataset.test, reference.train + reference.test):
        np.testing.assert_array_equal(mine.x, theirs.x)
        np.testing.assert_array_equal(mine.t, theirs.t)


def test_comment_lines_are_left_out_and_a_commented_header_is_read_as_numpy_writes_it(tmp_path):
    """A lab program's notes ('#' lines, before the header and among the rows, in a file with a
    byte-order mark and CRLF line ends, units in the header) were taken for the header; a file
    written by ``numpy.savetxt(..., header=...)`` has its header behind the mark."""
    rows = oscillation_rows(4, 50)
    reference = load_file(write_csv(tmp_path / "plain.csv", "trajectory,t,theta,omega,note", rows),
                          "theta=deg,omega=deg/s")
    lines = ["# rig 3, run of 2026-12-07", "  # operator: A. N. Other", "trajectory;t [s];theta [deg];omega [deg/s];note",
             *[row.replace(",", ";") for row in rows[:100]], "# the second half after a pause", *[row.replace(",", ";") for row in rows[100:]]]
    (tmp_path / "lab.csv").write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    saved = tmp_path / "saved.csv"
    np.savetxt(saved, [[float(cell) for cell in row.split(",")[:4]] for row in rows], delimiter=",",
               header="trajectory,t,theta,omega")
    for dataset in (load_file(tmp_path / "lab.csv", None), load_file(saved, "theta=deg,omega=deg/s")):
        assert dataset.columns == ("theta", "omega")
        for mine, theirs in zip(dataset.train + dataset.test, reference.train + reference.test):
            np.testing.assert_allclose(mine.x, theirs.x, rtol=1e-15)
    with pytest.raises(ConslawError, match=r"column 'x' row 2: value 'note' is not a number"):
        load_file(write_csv(tmp_path / "two.csv", "# t,x", ["# t,x", "t,x", "0,1", "1,note"]), "x=m")


def test_a_windows_1252_file_is_read_with_a_warning_and_a_binary_one_is_refused(tmp_path):
    """A Windows lab program's '°' in the header ended in a bare UnicodeDecodeError."""
    rows = [row.rsplit(",", 1)[0] for row in oscillation_rows(4, 50)]
    (tmp_path / "lab.csv").write_bytes("\n".join(["trajectory,t,theta [°],omega [°/s]", *rows]).encode("cp1252"))
    with pytest.warns(UserWarning, match=r"lab\.csv' is not UTF-8 \(byte 0xb0 at offset 20\): read as Windows-1252"):
        dataset = load_file(tmp_path / "lab.csv", None)
    reference = load_file(write_csv(tmp_path / "utf8.csv", "trajectory,t,theta [deg],omega [deg/s]", rows), None)
    np.testing.assert_array_equal(dataset.train[0].x, reference.train[0].x)
    (tmp_path / "image.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConslawError, match=r"image\.csv' is not a text table \(its bytes are neither UTF-8 nor "
                                           r"Windows-1252 text\); save it as CSV in UTF-8, or as an NPZ archive"):
        load_file(tmp_path / "image.csv", "x=m")


def test_a_decimal_comma_is_read_only_where_semicolons_separate_the_fields(tmp_path):
    path = write_csv(tmp_path / "lab.tsv", "t\tx", [f"{k}\t{k},5" for k in range(6)])
    with pytest.raises(ConslawError, match=r"column 'x' row 1: value '0,5' is not a number"):
        load_file(path, "x=m")
    ragged = write_csv(tmp_path / "ragged.dat", "t x", ["0 1", "1 2 3"])
    with pytest.raises(ConslawError, match=r"row 2: 3 fields, but the header has 2 \(fields separated by white space\)"):
        load_file(ragged, "x=m")


def test_rows_out_of_time_order_are_taken_in_time_order(tmp_path):
    """A long-format file sorted by time across trajectories, or shuffled, holds the same
    trajectories as one sorted by trajectory and time: loaded in time order, with a warning."""
    rng = np.random.default_rng(4)
    t = np.linspace(0, 2, 9)
    rows = [f"{k},{float(time)!r},{float(np.cos(time + k))!r}" for k in range(6) for time in t]
    ordered = load_file(write_csv(tmp_path / "ordered.csv", "trajectory,t,x", rows), "x=m")
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    with pytest.warns(UserWarning, match=r"the rows of 6 trajectories are not in time order"):
        loaded = load_file(write_csv(tmp_path / "shuffled.csv", "trajectory,t,x", shuffled), "x=m")
    assert len(loaded.train) + len(loaded.test) == 6
    assert loaded.metadata["test_trajectory_ids"] == ordered.metadata["test_trajectory_ids"]
    for mine, theirs in zip(loaded.train + loaded.test, ordered.train + ordered.test):  # the same split
        np.testing.assert_array_equal(mine.t, theirs.t)
        np.testing.assert_array_equal(mine.x, theirs.x)
        np.testing.assert_array_equal(mine.dxdt, theirs.dxdt)


def test_trajectories_are_ordered_by_their_ids_whatever_the_rows_order(tmp_path):
    """The seeded split draws from the trajectories in the order of their ids (numbers by value,
    text naturally: run2 before run10), so reordering a file's trajectories changes nothing."""
    names = ["run10", "run2", "run1", "run33", "run4", "run3"]
    t = np.linspace(0, 2, 9)
    rows = {name: [f"{name},{float(time)!r},{float(np.cos(time + k))!r}" for time in t]
            for k, name in enumerate(names)}
    files = [write_csv(tmp_path / f"order{i}.csv", "trajectory,t,x", [row for name in order for row in rows[name]])
             for i, order in enumerate([names, sorted(names), names[::-1]])]
    loaded = [load_file(path, "x=m", seed=3) for path in files]
    assert loaded[0].metadata["test_trajectory_ids"] == loaded[1].metadata["test_trajectory_ids"] \
        == loaded[2].metadata["test_trajectory_ids"]
    for other in loaded[1:]:
        for mine, theirs in zip(other.train + other.test, loaded[0].train + loaded[0].test):
            np.testing.assert_array_equal(mine.x, theirs.x)
    first = [float(tr.x[0, 0]) for tr in loaded[0].train + loaded[0].test]
    natural = ["run1", "run2", "run3", "run4", "run10", "run33"]
    test_ids = loaded[0].metadata["test_trajectory_ids"]
    expected = [np.cos(names.index(n)) for n in natural if n not in test_ids] + \
        [np.cos(names.index(n)) for n in natural if n in test_ids]
    np.testing.assert_allclose(first, expected)


def test_an_angle_logged_modulo_a_full_turn_is_unwrapped_with_a_warning(tmp_path):
    """Rotors logged in degrees modulo a full turn (170 + 400 t and -90 - 250 t wrap 3 and 2
    times in 2 s; 10 + 30 t never): unwrapped, their angles are the continuous ones and their
    rates the constant rate column, with no spike of a full turn per sample at the wraps."""
    t = np.linspace(0, 2, 81)
    rows = []
    for k, (start, rate) in enumerate([(170.0, 400.0), (-90.0, -250.0), (10.0, 30.0)]):
        angle = (start + rate * t + 180) % 360 - 180
        rows += [f"{k},{float(time)!r},{float(a)!r},{rate!r}" for time, a in zip(t, angle)]
    path = write_csv(tmp_path / "rotor.csv", "trajectory,t,theta,omega", rows)
    with pytest.warns(UserWarning, match=r"angle column\(s\) theta \(5 jump\(s\)\) jump by more than half a turn"):
        dataset = load_file(path, "theta=deg,omega=deg/s")
    for trajectory in dataset.train + dataset.test:
        rate = trajectory.x[:, 1]
        np.testing.assert_allclose(trajectory.dxdt[:, 0], rate, rtol=1e-9)
        np.testing.assert_allclose(trajectory.x[:, 0] - trajectory.x[0, 0], rate * trajectory.t, rtol=1e-9, atol=1e-12)
    swing = write_csv(tmp_path / "swing.csv", "trajectory,t,theta,omega,note", oscillation_rows(4, 30))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_file(swing, "theta=deg,omega=deg/s")
    assert not [w for w in caught if "angle column" in str(w.message)]  # a swing never wraps
