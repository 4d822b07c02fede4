"""The report package's progress bars, figures, atomic writes and run directories."""
from __future__ import annotations

import io
import json
import logging
import os

import numpy as np
import pytest

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.symmetry import symmetry_report
from conslaw.dsl.units import parse_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.law import StateColumns
from conslaw.report import (
    RunDirectory, StageProgress, default_run_path, write_outputs,
)
from conslaw.report.atomic import atomic_save_npz, atomic_write_json, atomic_write_text
from conslaw.report.plots import make_plots, render_plots
from conslaw.report.portraits import choose_planes
from conslaw.report.progress import LOG_INTERVAL

from report_cases import make_law, oscillator, oscillator_laws, result_of, rollouts_of, trajectories_of


# ----------------------------------------------------------------------------- progress


def test_stage_progress_keeps_one_bar_per_stage(capsys):
    with StageProgress() as progress:
        progress("fit formulas", 250, 1000)
        progress("fit formulas", 1000, 1000)
        first = capsys.readouterr().err
        progress("fit formulas", 1000, 1000)  # a repeated end adds nothing
        assert capsys.readouterr().err == ""
        progress("stage1", 3, 10)
        progress("stage1", 10, 10)
        progress("stage1", 2, 4)  # the stage runs again: a new bar
    err = capsys.readouterr().err
    assert "fit formulas:  25%" in first and "1000/1000" in first
    assert "3/10" in err and "10/10" in err and "2/4" in err
    with StageProgress(quiet=True) as progress:
        progress("stage1", 10, 10)
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stage_lines(monkeypatch, stream: io.StringIO) -> str:
    """What a stage's bar writes to ``stream`` over 30 s of reports, one every second."""
    clock = [0.0]
    monkeypatch.setattr("tqdm.std.time", lambda: clock[0])
    monkeypatch.setattr("sys.stderr", stream)
    with StageProgress() as progress:
        for second in range(31):
            clock[0] = float(second)
            progress("fit formulas", second, 30)
    return stream.getvalue()


def test_in_a_log_file_a_stage_writes_lines_at_intervals_and_on_a_terminal_one_redrawn_bar(monkeypatch):
    """Redirected to a file (a batch job's log), a bar's carriage returns piled every refresh onto
    one line; there each stage writes its first, its last and a line per ``LOG_INTERVAL``."""
    log = _stage_lines(monkeypatch, io.StringIO())
    lines = log.splitlines()
    assert "\r" not in log and lines[0].startswith("fit formulas:   0%") and "30/30" in lines[-1]
    assert len(lines) == int(30 // LOG_INTERVAL) + 1  # at 0, 10 and 20 s, then the end at 30 s
    terminal = _stage_lines(monkeypatch, _Terminal())
    assert terminal.count("\r") >= 30 and terminal.count("\n") == 1 and "30/30" in terminal


def test_a_stage_resumed_after_others_leaves_their_time_out_of_its_rate(capsys, monkeypatch):
    """The HNN trains after the ranker's stages: the training bar, half done, must not read those
    minutes as training time (its ETA showed 1:24:52 for a minute's work)."""
    clock = [0.0]
    monkeypatch.setattr("tqdm.std.time", lambda: clock[0])
    with StageProgress() as progress:
        progress("tailoring training", 0, 100)
        clock[0] = 10.0
        progress("tailoring training", 50, 100)
        progress("tailoring stage 1", 0, 10)
        clock[0] = 500.0
        progress("tailoring stage 1", 10, 10)
        clock[0] = 510.0
        progress("tailoring training", 60, 100)
        training = progress._bars["tailoring training"].format_dict
        assert training["elapsed"] == pytest.approx(20.0)  # 10 s before stage 1, 10 s after it
    capsys.readouterr()


# ----------------------------------------------------------------------------- plots


def _is_png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_pendulum_figures(degree_pendulum, tmp_path):
    paths = make_plots(tmp_path, degree_pendulum.result, degree_pendulum.dataset, rollouts_of(degree_pendulum.dataset))
    assert [p.name for p in paths] == ["phase_q_p.png", "laws_along_test.png", "rollouts.png",
                                       "conservation_ratio.png"]
    assert all(p.parent == tmp_path / "plots" and _is_png(p.read_bytes()) for p in paths)
    assert not [p for p in (tmp_path / "plots").iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ConslawError, match="rollouts\\['vanilla'\\] has shape"):
        render_plots(degree_pendulum.result, degree_pendulum.laws, degree_pendulum.dataset,
                     dict(rollouts_of(degree_pendulum.dataset), vanilla=np.ones((1, 5, 3))))


def test_planes_come_from_the_laws_the_data_or_the_canonical_pairs():
    dataset = oscillator(extra_constant=True)
    laws = oscillator_laws(dataset)
    assert choose_planes(dataset, laws[:2]) == ([(0, 2), (1, 3)], "for each law, the two columns it depends on most")
    assert choose_planes(dataset, laws[:2], "x:px,y:py")[0] == [(0, 2), (1, 3)]
    planes, how = choose_planes(dataset, [])
    assert 4 not in planes[0] and "move most" in how  # k is constant on each trajectory
    with pytest.raises(ConslawError, match="canonical pairs"):
        choose_planes(dataset, laws, "x:q")


@pytest.mark.slow
def test_symmetry_flows_are_drawn_when_the_run_has_symmetries():
    dataset = oscillator()
    laws = [law.replace(independent=law.rank in (1, 3)) for law in oscillator_laws(dataset)]
    symmetries = symmetry_report("x:px,y:py", [laws[0], laws[2]], dataset)
    result = result_of(dataset, laws, symmetries=symmetries,
                       config={"discovery": {"threshold": 100.0}, "run": {"canonical": "x:px,y:py"}})
    figures = render_plots(result, laws, dataset)
    assert sorted(figures) == ["conservation_ratio.png", "laws_along_test.png", "phase_x_px.png",
                               "phase_y_py.png", "symmetry_flows.png"]
    assert all(_is_png(data) for data in figures.values())


@pytest.mark.parametrize("columns", [1, pytest.param(12, marks=pytest.mark.slow)])
def test_figures_for_one_to_twelve_columns(columns):
    def states(t, rng):
        return np.stack([rng.uniform(0.5, 2) * np.cos((1 + j % 3) * t + rng.uniform(0, 6)) for j in range(columns)], -1)

    names = tuple(f"x{j}" for j in range(columns))
    trajectories = trajectories_of(states, 4, points=30)
    dataset = TrajectoryDataset("many", names, tuple(parse_unit("m").dimension for _ in names), trajectories[:2],
                                trajectories[2:])
    column_set = StateColumns.from_dataset(dataset)
    law = make_law(" + ".join(names[::3]), column_set, "m", 1)
    figures = render_plots(result_of(dataset, [law]), [law], dataset, rollouts_of(dataset, 1))
    phase = [name for name in figures if name.startswith("phase_")]
    assert sorted(set(figures) - set(phase)) == ["conservation_ratio.png", "laws_along_test.png", "rollouts.png"]
    if columns == 1:
        assert phase == ["phase_x0.png"]
    else:  # the plane of two columns the law depends on
        assert len(phase) == 1 and set(phase[0][len("phase_"):-4].split("_")) <= set(names[::3])
    assert all(_is_png(data) for data in figures.values())


# ----------------------------------------------------------------------------- atomic writes and run directories


def _leftovers(directory) -> list[str]:
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


def test_atomic_writes_replace_whole_files_or_nothing(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    atomic_write_json(target, {"a": 1, "ratio": float("inf"), "x": np.float32(0.5), "arr": np.arange(2)})
    assert json.loads(target.read_text()) == {"a": 1, "ratio": None, "x": 0.5, "arr": [0, 1]}

    def failing_fsync(fd):  # the disk fails after the new bytes went into the temporary file
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        atomic_write_text(target, "new result, never complete")
    with pytest.raises(OSError):
        atomic_save_npz(tmp_path / "arrays.npz", {"a": np.ones(3)})
    monkeypatch.undo()
    assert json.loads(target.read_text())["a"] == 1
    assert not (tmp_path / "arrays.npz").exists() and _leftovers(tmp_path) == []


def test_run_directory_config_log_and_checkpoints(tmp_path):
    path = tmp_path / "runs" / "pendulum-1"
    with RunDirectory(path) as run:
        run.write_config({"enumeration": {"depth": 5}})
        run.attach_logging("DEBUG")
        logging.getLogger("conslaw.test").info("enumerated %d formulas", 120)
        store = run.store()
        assert store.load("formulas/chunk-1") is None
        store.save("formulas/chunk-1", {"ratios": np.arange(3.0)})
        assert np.array_equal(store.load("formulas/chunk-1")["ratios"], np.arange(3.0))
        with pytest.raises(ValueError):
            run.checkpoint("../escape")
    assert run.read_config() == {"enumeration": {"depth": 5}}
    assert "enumerated 120 formulas" in (path / "conslaw.log").read_text()
    assert (path / "checkpoints" / "formulas" / "chunk-1.pkl").is_file()
    assert run.output_paths() == [path / "config.json", path / "conslaw.log"]
    assert str(default_run_path("real pendulum")).startswith(os.path.join("runs", "real_pendulum-"))


def test_existing_runs_are_refused_overwritten_late_or_resumed(tmp_path, degree_pendulum):
    path = tmp_path / "run"
    with RunDirectory(path) as run:
        run.write_config({"enumeration": {"depth": 5}})
        write_outputs(run, degree_pendulum.result, degree_pendulum.laws, plots=False)
    old = (path / "result.json").read_text()
    with pytest.raises(ConslawError, match="--overwrite.*--resume"):
        RunDirectory(path)
    with pytest.raises(UsageError):
        RunDirectory(path, resume=True, overwrite=True)
    with pytest.raises(RuntimeError):  # a failed overwrite leaves the old run
        with RunDirectory(path, overwrite=True) as run:
            run.write_config({"enumeration": {"depth": 6}})
            run.store().save("formulas/chunk-1", [1])
            raise RuntimeError("killed")
    assert (path / "result.json").read_text() == old
    resumed = RunDirectory(path, resume=True)  # resumes the interrupted overwrite, not the old run
    assert resumed.is_staging and resumed.store().load("formulas/chunk-1") == [1]
    write_outputs(resumed, dict(degree_pendulum.result, warnings=["new"]), degree_pendulum.laws, plots=False)
    assert resumed.finalize() == path and json.loads((path / "result.json").read_text())["warnings"] == ["new"]
    plain = tmp_path / "photos"
    plain.mkdir()
    (plain / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ConslawError, match="not a conslaw run"):
        RunDirectory(plain, overwrite=True)
    assert (plain / "cat.jpg").exists()


def test_resume_with_a_changed_option_names_it(tmp_path):
    config = pytest.importorskip("conslaw.config", reason="needs the terms and tailoring merges", exc_type=ImportError)
    runs = pytest.importorskip("conslaw.report.runs", exc_type=ImportError)
    stored = config.SearchConfig().with_options(dataset="pendulum", depth=5)
    with RunDirectory(tmp_path / "run") as run:
        run.write_config(stored.to_dict())
    with pytest.raises(UsageError, match="--depth was 5, now 6") as error:
        runs.resume_run({"resume": str(tmp_path / "run"), "depth": 6})
    assert "\n" not in str(error.value)
    resumed, _ = runs.resume_run({"resume": str(tmp_path / "run"), "jobs": 2, "depth": 5})
    assert resumed.parallel.jobs == 2 and resumed.enumeration.depth == 5
