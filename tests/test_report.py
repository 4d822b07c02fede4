"""Run directories, atomic writes, result files, exports, plots and the summary (conslaw.report)."""
from __future__ import annotations

import ast
import copy
import csv
import json
import os
import re

import numpy as np
import pytest
import sympy
import torch
from scipy.integrate import solve_ivp

from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import parse_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.report import (
    EXPORT_FORMATS,
    RunDirectory,
    atomic_save_npz,
    atomic_write_json,
    atomic_write_text,
    default_run_path,
    export_laws,
    format_summary,
    load_result,
    load_torch_laws,
    progress_bar,
    StageProgress,
    read_rollouts,
    write_result_files,
    write_rollouts,
)
from conslaw.report.plots import canonical_pairs, make_plots, plot_phase_portraits
from conslaw.tailoring.stats import paired_comparison, summarize

PENDULUM_COLUMNS = ("q", "p")


def _candidate(rank, expression, template, parameters, unit, true, random, accepted, independent, **extra):
    return {
        "rank": rank, "expression": expression, "template": template,
        "parameters": {name: {"value": value, "unit": punit} for name, (value, punit) in parameters.items()},
        "unit": unit, "latex": "", "conservation": {"true": true, "random": random, "test": true * 1.3},
        "accepted": accepted, "independent": independent, "origin": "formula", **extra,
    }


@pytest.fixture()
def pendulum_result() -> dict:
    energy_unit = "kg**2*m**4/s**2"
    candidates = [
        _candidate(1, "p**2 - 2.99*cos(q)", "p**2 + c0*cos(q)", {"c0": (-2.99, energy_unit)}, energy_unit,
                   2.1e-9, 0.31, True, True,
                   tailoring={"best_inner_lr": 0.01, "train_loss": 1.2e-4,
                              "meta": {"train_loss": 8.0e-5, "diverged": False}}),
        _candidate(2, "sqrt(p**2 + 2.5) - 1.31*cos(q)", "sqrt(p**2 + c0) + c1*cos(q)",
                   {"c0": (2.5, energy_unit), "c1": (-1.31, "kg*m**2/s")}, "kg*m**2/s",
                   4.0e-6, 0.28, True, False),
        _candidate(3, "p**2 + 1.7e-3*q**2/(q**2 + 1.25)", "p**2 + c0*q**2/(q**2 + c1)",
                   {"c0": (1.7e-3, "kg**2*m**4/(rad**2*s**2)"), "c1": (1.25, "rad**2")}, energy_unit,
                   0.02, 0.3, False, False),
        _candidate(4, "q*p + 0.4*sin(q)", "q*p + c0*sin(q)", {"c0": (0.4, "kg*m**2/s")}, "kg*m**2*rad/s",
                   0.2, 0.25, False, False),
    ]
    rng = np.random.default_rng(0)
    per_seed = {m: list(np.round(base + 0.004 * rng.standard_normal(3), 5))
                for m, base in [("vanilla", 0.05), ("finetune", 0.04), ("tailored", 0.036),
                                ("noether", 0.03), ("oracle", 0.029), ("hnn", 0.045)]}
    per_seed["hnn"][1] = None  # a method may miss a seed (e.g. diverged)
    # the layout conslaw.tailoring.pipeline writes: means, summaries, paired comparisons
    summary = {m: summarize([v for v in values if v is not None]) for m, values in per_seed.items()}
    paired = {f"{m}_vs_{r}": paired_comparison(per_seed[m], per_seed[r])
              for m, r in [("noether", "vanilla"), ("noether", "finetune"), ("hnn", "vanilla")]}
    evaluation = {f"{m}_rmse": summary[m]["mean"] for m in per_seed}
    evaluation.update(seeds=[0, 1, 2], per_seed=per_seed, summary=summary, paired=paired,
                      ci95={k: v["ci95"] for k, v in paired.items()}, wins={k: v["wins"] for k, v in paired.items()},
                      true_law="p**2 - 3*cos(q)")
    return {
        "dataset": {"name": "pendulum", "columns": list(PENDULUM_COLUMNS),
                    "units": {"q": "deg", "p": "kg*m**2/s"}, "si_units": {"q": "rad", "p": "kg*m**2/s"},
                    "trajectories": {"train": 4, "test": 3},
                    "true_law": "p**2 - 3*cos(q)"},
        "config": {"depth": 5, "seed": 0, "threshold": 100.0},
        "counts": {"enumerated": 120, "fitted": 118, "non_finite": 2, "accepted": 2},
        "timings": {"enumerate_s": 0.1, "fit_s": 0.5},
        "candidates": candidates,
        "laws": [1],
        "selected": copy.deepcopy(candidates[0]),
        "evaluation": evaluation,
    }


def _pendulum_field(_, y):
    q, p = y
    return [2 * p, -3 * np.sin(q)]  # H = 3(1 - cos q) + p**2


@pytest.fixture(scope="module")
def pendulum_dataset() -> TrajectoryDataset:
    rng = np.random.default_rng(1)
    t = np.linspace(0, 6, 60)
    trajectories = []
    for _ in range(7):
        y0 = rng.uniform(-1.5, 1.5, 2)
        solution = solve_ivp(_pendulum_field, (0, 6), y0, t_eval=t, rtol=1e-9, atol=1e-9)
        x = solution.y.T
        trajectories.append(Trajectory(t, x, np.array(_pendulum_field(0, x.T)).T))
    return TrajectoryDataset(name="pendulum", columns=PENDULUM_COLUMNS,
                             dimensions=(parse_unit("rad").dimension, parse_unit("kg*m**2/s").dimension),
                             train=trajectories[:4], test=trajectories[4:], true_law="p**2 - 3*cos(q)")


def _rollouts(dataset: TrajectoryDataset) -> dict:
    truth = np.stack([trajectory.x for trajectory in dataset.test[:1]])  # one trajectory keeps the test fast
    t = dataset.test[0].t
    drift = t[None, :, None]
    return {"times": t, "truth": truth, "vanilla": truth * (1 + 0.05 * drift), "noether": truth * (1 + 0.01 * drift),
            "oracle": truth * (1 + 0.008 * drift)}


def _law_values(expression: str, q: np.ndarray, p: np.ndarray) -> np.ndarray:
    symbols = {name: sympy.Symbol(name, real=True) for name in PENDULUM_COLUMNS}
    function = sympy.lambdify([symbols["q"], symbols["p"]], sympy.parse_expr(expression, local_dict=symbols))
    return np.broadcast_to(function(q, p), q.shape)


def _random_points(n: int = 50):
    rng = np.random.default_rng(7)
    return rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)


def _leftovers(directory) -> list[str]:
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


# ----------------------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "result.json"
    atomic_write_json(target, {"a": 1, "ratio": float("inf"), "x": np.float32(0.5), "arr": np.arange(2)})
    assert json.loads(target.read_text()) == {"a": 1, "ratio": None, "x": 0.5, "arr": [0, 1]}
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert _leftovers(tmp_path) == []


def test_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    atomic_write_text(target, "old result")

    def failing_fsync(fd):  # the disk fails after the new bytes went into the temporary file
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        atomic_write_text(target, "new result, never complete")
    with pytest.raises(OSError):
        atomic_save_npz(tmp_path / "arrays.npz", {"a": np.ones(3)})
    monkeypatch.undo()
    with pytest.raises(TypeError):  # not JSON: fails before a byte is written
        atomic_write_json(target, {"bad": object()})
    assert target.read_text() == "old result"
    assert not (tmp_path / "arrays.npz").exists()
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- run directory


def test_new_run_writes_config_log_and_checkpoints(tmp_path):
    path = tmp_path / "runs" / "pendulum-1"
    with RunDirectory(path, resume=False, overwrite=False) as run:
        run.write_config({"depth": 5, "seed": 0, "jobs": 1})
        run.attach_logging("DEBUG")
        import logging

        logging.getLogger("conslaw.test").info("enumerated %d formulas", 120)
        run.save_checkpoint("enumeration.json", {"count": 120})
        run.save_checkpoint("fit/chunk-0001.npz", {"ratios": np.arange(4.0)})
        run.save_checkpoint("models/vanilla.pt", {"w": torch.ones(2)})
        run.save_checkpoint("tailoring/candidate-3", {"lr": 0.01})
        assert run.checkpoint("tailoring/candidate-3").name == "candidate-3.pkl"
        assert run.load_checkpoint("enumeration.json") == {"count": 120}
        np.testing.assert_array_equal(run.load_checkpoint("fit/chunk-0001.npz")["ratios"], np.arange(4.0))
        assert torch.equal(run.load_checkpoint("models/vanilla.pt")["w"], torch.ones(2))
        assert run.load_checkpoint("tailoring/candidate-3") == {"lr": 0.01}
        assert not run.has_checkpoint("fit/chunk-0002.npz")
        with pytest.raises(ValueError):
            run.checkpoint("../escape")
    config = json.loads((path / "config.json").read_text())
    assert config["options"] == {"depth": 5, "seed": 0, "jobs": 1} and "conslaw_version" in config
    assert "enumerated 120 formulas" in (path / "conslaw.log").read_text()
    assert run.output_paths() == [path / "config.json", path / "conslaw.log"]


def test_existing_run_is_refused_without_resume_or_overwrite(tmp_path):
    path = tmp_path / "run"
    with RunDirectory(path) as run:
        run.write_config({"depth": 5})
    with pytest.raises(ConslawError, match="--overwrite.*--resume"):
        RunDirectory(path, resume=False, overwrite=False)
    with pytest.raises(UsageError):
        RunDirectory(path, resume=True, overwrite=True)


def test_resume_requires_a_conslaw_run(tmp_path):
    plain = tmp_path / "photos"
    plain.mkdir()
    (plain / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ConslawError, match="not a conslaw run"):
        RunDirectory(plain, resume=True)
    with pytest.raises(ConslawError, match="no such directory"):
        RunDirectory(tmp_path / "missing", resume=True)
    with pytest.raises(ConslawError, match="not a conslaw run"):  # --overwrite never deletes user files
        RunDirectory(plain, overwrite=True)
    assert (plain / "cat.jpg").exists()


def test_unwritable_path_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ConslawError, match=re.escape(str(blocker / "run"))):
        RunDirectory(blocker / "run")


def test_resume_checks_the_config_and_finds_checkpoints(tmp_path):
    path = tmp_path / "run"
    run = RunDirectory(path)
    run.write_config({"depth": 5, "seed": 0, "jobs": 1})
    run.save_checkpoint("enumeration.json", [1, 2, 3])
    run.close()  # interrupted: never finalized
    resumed = RunDirectory(path, resume=True)
    with pytest.raises(ConslawError, match="--depth was 5, now 6"):
        resumed.write_config({"depth": 6, "seed": 0, "jobs": 1})
    with pytest.raises(ConslawError, match="--loss-form"):
        resumed.write_config({"depth": 5, "seed": 0, "jobs": 1, "loss_form": "central"})
    resumed.write_config({"depth": 5, "seed": 0, "jobs": 2})  # execution options may change
    assert resumed.has_checkpoint("enumeration.json")
    assert resumed.load_checkpoint("enumeration.json") == [1, 2, 3]


def test_overwrite_keeps_the_old_result_until_the_new_run_finishes(tmp_path, pendulum_result):
    path = tmp_path / "run"
    with RunDirectory(path) as run:
        run.write_config({"depth": 5})
        write_result_files(run, pendulum_result)
    old = (path / "result.json").read_text()

    with pytest.raises(RuntimeError):  # a failed overwrite run
        with RunDirectory(path, overwrite=True) as run:
            run.write_config({"depth": 6})
            run.save_checkpoint("enumeration.json", [1])
            raise RuntimeError("killed")
    assert (path / "result.json").read_text() == old
    assert json.loads((path / "config.json").read_text())["options"] == {"depth": 5}

    resumed = RunDirectory(path, resume=True)  # resumes the interrupted overwrite, not the old run
    assert resumed.is_staging and resumed.has_checkpoint("enumeration.json")
    resumed.write_config({"depth": 6})
    new_result = dict(pendulum_result, counts={"enumerated": 7, "fitted": 7, "non_finite": 0, "accepted": 2})
    write_result_files(resumed, new_result)
    assert (path / "result.json").read_text() == old
    assert resumed.finalize() == path
    assert load_result(path)["counts"]["enumerated"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_checkpoint_store_lets_a_resumed_stage_skip_finished_chunks(tmp_path):
    chunks = [np.arange(k, k + 5, dtype=float) for k in range(0, 30, 5)]
    fitted = []

    def stage(store, fail_after=None):
        """A chunked stage written like discovery's: look up each chunk, compute the missing ones."""
        results = []
        for i, chunk in enumerate(chunks):
            stored = store.load(f"fit-chunk-{i}")
            if stored is None:
                if fail_after is not None and len(fitted) == fail_after:
                    raise KeyboardInterrupt
                fitted.append(i)
                stored = {"sum": float(np.sum(chunk ** 2))}
                store.save(f"fit-chunk-{i}", stored)
            results.append(stored["sum"])
        return results

    run = RunDirectory(tmp_path / "run")
    run.write_config({"depth": 3})
    with pytest.raises(KeyboardInterrupt):
        stage(run.store(".json"), fail_after=4)
    run.close()
    resumed = RunDirectory(tmp_path / "run", resume=True)
    resumed.write_config({"depth": 3})
    assert stage(resumed.store(".json")) == [float(np.sum(c ** 2)) for c in chunks]
    assert fitted == [0, 1, 2, 3, 4, 5]  # chunks 0-3 were not fitted again
    assert resumed.store().load("fit-chunk-0") is None  # another format is another key
    assert (tmp_path / "run" / "checkpoints" / "fit-chunk-5.json").is_file()


def test_default_run_path_and_log_level(tmp_path):
    import datetime

    path = default_run_path("real pendulum", datetime.datetime(2026, 11, 26, 7, 5, 9))
    assert str(path) == os.path.join("runs", "real_pendulum-20261126-070509")
    with pytest.raises(UsageError, match="--log-level"):
        RunDirectory(tmp_path / "run").attach_logging("LOUD")


# ----------------------------------------------------------------------------- result files


def test_result_files(tmp_path, pendulum_result):
    paths = write_result_files(tmp_path, pendulum_result)
    assert [p.name for p in paths] == ["result.json", "candidates.csv", "formulas.tex"]
    assert load_result(tmp_path) == json.loads(json.dumps(pendulum_result))
    rows = list(csv.DictReader((tmp_path / "candidates.csv").open()))
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[0]["parameters"] == "c0=-2.99 [kg**2*m**4/s**2]"
    assert rows[0]["accepted"] == "true" and rows[2]["accepted"] == "false"
    assert float(rows[0]["conservation_random"]) == 0.31
    assert rows[0]["tailoring_best_inner_lr"] == "0.01" and rows[0]["meta_diverged"] == "false"
    assert rows[1]["tailoring_best_inner_lr"] == ""
    assert r"\begin{align}" in (tmp_path / "formulas.tex").read_text()
    with pytest.raises(ConslawError, match="does not exist"):
        load_result(tmp_path / "nowhere")


def test_formulas_tex_without_accepted_laws(tmp_path, pendulum_result):
    for candidate in pendulum_result["candidates"]:
        candidate["accepted"] = candidate["independent"] = False
    pendulum_result["laws"] = []
    write_result_files(tmp_path, pendulum_result)
    text = (tmp_path / "formulas.tex").read_text()
    assert "No candidate passed" in text and "g_{4}" in text
    with pytest.raises(ConslawError, match="--top"):
        export_laws(pendulum_result, "latex", None)


# ----------------------------------------------------------------------------- exports


def test_latex_export_parses_back_and_matches(pendulum_result):
    from sympy.parsing.latex import parse_latex

    text = export_laws(pendulum_result, "latex", top=3)
    rows = re.findall(r"g_\{(\d+)\} &= (.*?) && \[(.*?)\]", text)
    assert [int(rank) for rank, _, _ in rows] == [1, 2, 3]
    q, p = _random_points()
    for rank, latex, unit in rows:
        candidate = pendulum_result["candidates"][int(rank) - 1]
        parsed = parse_latex(latex)
        names = {s.name for s in parsed.free_symbols}
        assert names <= {"q", "p"}
        function = sympy.lambdify([sympy.Symbol("q"), sympy.Symbol("p")], parsed)
        np.testing.assert_allclose(function(q, p), _law_values(candidate["expression"], q, p), rtol=1e-5)
        assert unit == r"\mathrm{kg}^{2}\,\mathrm{m}^{4}\,\mathrm{s}^{-2}" or int(rank) == 2
    assert r"\begin{tabular}" in text and "Conservation ratio" in text
    noether = pendulum_result["evaluation"]["summary"]["noether"]
    rmse = f"${noether['mean']:.3g} \\pm {noether['std']:.3g}$"
    assert f"Noether (meta-tailored) & $p^{{2}} - 2.99 \\cos{{\\left(q \\right)}}$ & {rmse}" in text
    assert r"Oracle (true law) & $p^{2} - 3 \cos{\left(q \right)}$" in text


def test_sympy_export_parses_back_exactly(pendulum_result):
    text = export_laws(pendulum_result, "sympy", top=4)
    strs = [line[len("str: "):] for line in text.splitlines() if line.startswith("str: ")]
    sreprs = [line[len("srepr: "):] for line in text.splitlines() if line.startswith("srepr: ")]
    assert len(strs) == len(sreprs) == 4
    symbols = {name: sympy.Symbol(name, real=True) for name in PENDULUM_COLUMNS}
    for candidate, as_str, as_srepr in zip(pendulum_result["candidates"], strs, sreprs):
        expected = sympy.parse_expr(candidate["expression"], local_dict=symbols)
        assert sympy.sympify(as_srepr) == expected
        assert sympy.simplify(sympy.parse_expr(as_str, local_dict=symbols) - expected) == 0


def test_python_export_is_a_working_numpy_module(pendulum_result):
    source = export_laws(pendulum_result, "python", top=4)
    tree = ast.parse(source)
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert imports == {"numpy"}
    assert "q [rad], p [kg*m**2/s]" in ast.get_docstring(tree)  # the laws take SI states, not deg
    namespace: dict = {}
    exec(compile(tree, "laws.py", "exec"), namespace)
    assert namespace["COLUMNS"] == PENDULUM_COLUMNS
    assert [name for name, _, _ in namespace["LAWS"]] == ["law_1", "law_2", "law_3", "law_4"]
    q, p = _random_points()
    for candidate, (name, columns, function) in zip(pendulum_result["candidates"], namespace["LAWS"]):
        assert columns == PENDULUM_COLUMNS
        np.testing.assert_allclose(function(q, p), _law_values(candidate["expression"], q, p), rtol=1e-12)
    assert "law_1" in export_laws(pendulum_result, "python", None)
    assert "law_2" not in export_laws(pendulum_result, "python", None)  # default: the independent laws


def test_torch_export_loads_into_noether_loss(tmp_path, pendulum_result):
    from conslaw.tailoring.loss import NoetherLoss

    path = tmp_path / "laws.py"
    path.write_text(export_laws(pendulum_result, "torch", top=4))
    laws = load_torch_laws(path)
    assert [name for name, _, _ in laws] == ["law_1", "law_2", "law_3", "law_4"]
    q, p = _random_points()
    x = torch.tensor(np.stack([q, p], axis=-1), dtype=torch.float64)
    for candidate, (_, columns, function) in zip(pendulum_result["candidates"], laws):
        assert columns == PENDULUM_COLUMNS
        values = function(x)
        assert values.dtype == torch.float64 and values.shape == (len(q),)
        np.testing.assert_allclose(values.numpy(), _law_values(candidate["expression"], q, p), rtol=1e-12)
    dxdt = torch.tensor(np.array(_pendulum_field(0, x.numpy().T)).T)
    exported = NoetherLoss(laws[0][2], form="analytic", dt=0.1)(x, dxdt)
    reference = NoetherLoss(pendulum_result["candidates"][0], form="analytic", dt=0.1, columns=PENDULUM_COLUMNS)(x, dxdt)
    assert torch.allclose(exported, reference) and exported > 0  # 2.99 is not exactly the true 3
    gradient = torch.func.vmap(torch.func.grad(laws[0][2]))(x)
    np.testing.assert_allclose(gradient[:, 1].numpy(), 2 * p, rtol=1e-12)


def test_json_export_and_bad_format(pendulum_result):
    payload = json.loads(export_laws(pendulum_result, "json", top=None))
    assert [law["rank"] for law in payload["laws"]] == [1]
    assert payload["dataset"]["columns"] == ["q", "p"]
    with pytest.raises(UsageError, match="--format 'pdf'") as error:
        export_laws(pendulum_result, "pdf", None)
    assert error.value.exit_code == 2
    with pytest.raises(UsageError, match="--top"):
        export_laws(pendulum_result, "json", 0)
    assert set(EXPORT_FORMATS) == {"latex", "sympy", "python", "torch", "json"}


def test_bad_expression_is_named(pendulum_result):
    pendulum_result["candidates"][0]["expression"] = "p**2 - 3*cos(theta)"
    with pytest.raises(ConslawError, match="theta"):
        export_laws(pendulum_result, "sympy", None)


# ----------------------------------------------------------------------------- plots and summary


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_plots_are_written(tmp_path, pendulum_result, pendulum_dataset):
    rollouts = _rollouts(pendulum_dataset)
    assert read_rollouts(tmp_path) is None
    write_rollouts(tmp_path, rollouts)
    stored = read_rollouts(tmp_path)
    assert set(stored) == set(rollouts) and np.array_equal(stored["vanilla"], rollouts["vanilla"])
    paths = make_plots(tmp_path, pendulum_result, pendulum_dataset, rollouts=stored)
    assert [p.name for p in paths] == ["phase_q_p.png", "laws_along_test.png", "rollouts.png",
                                       "conservation_ratio.png"]
    assert all(p.parent == tmp_path / "plots" and _is_png(p) for p in paths)
    with pytest.raises(ValueError, match="vanilla"):
        make_plots(tmp_path, pendulum_result, pendulum_dataset, rollouts=dict(stored, vanilla=np.ones((1, 5, 3))))
    assert _leftovers(tmp_path / "plots") == []


def test_phase_portraits_use_canonical_pairs(tmp_path):
    t = np.linspace(0, 2 * np.pi, 40)
    trajectories = []
    for amplitude, phase in [(1.0, 0.0), (0.6, 1.0), (1.3, 2.0)]:
        x = np.stack([amplitude * np.cos(t + phase), 0.5 * np.sin(t), -amplitude * np.sin(t + phase),
                      0.5 * np.cos(t)], axis=-1)
        trajectories.append(Trajectory(t, x))
    dims = tuple(parse_unit(u).dimension for u in ("m", "m", "kg*m/s", "kg*m/s"))
    dataset = TrajectoryDataset("oscillator2d", ("x", "y", "px", "py"), dims, trajectories[:2], trajectories[2:])
    assert canonical_pairs(dataset) == [(0, 2), (1, 3)]
    result = {"dataset": {"name": "oscillator2d", "columns": ["x", "y", "px", "py"]}, "laws": [1, 2],
              "candidates": [
                  _candidate(1, "px**2 + py**2 + 1.0*x**2 + 1.0*y**2", "px**2 + py**2 + c0*x**2 + c0*y**2",
                             {"c0": (1.0, "kg**2/s**2")}, "kg**2*m**2/s**2", 1e-12, 0.3, True, True),
                  _candidate(2, "x*py - y*px", "", {}, "kg*m**2/s", 1e-12, 0.2, True, True)]}
    paths = plot_phase_portraits(tmp_path, result, dataset)
    assert [p.name for p in paths] == ["phase_x_px.png", "phase_y_py.png"]
    assert all(_is_png(p) for p in paths)


def test_summary_lists_laws_table_and_paths(tmp_path, pendulum_result):
    paths = write_result_files(tmp_path, pendulum_result)
    text = format_summary(pendulum_result, paths)
    assert "p**2 - 2.99*cos(q)" in text and "sqrt(p**2 + 2.5) - 1.31*cos(q)" in text
    assert re.search(r"1\s+p\*\*2 - 2\.99\*cos\(q\)\s+kg\*\*2\*m\*\*4/s\*\*2\s+2\.1e-09 / 0\.31\s+yes\s+yes", text)
    evaluation = pendulum_result["evaluation"]
    noether = evaluation["per_seed"]["noether"]
    mean, std, median = np.mean(noether), np.std(noether, ddof=1), np.median(noether)
    row = next(line for line in text.splitlines() if line.startswith("Noether (meta-tailored)"))
    assert row.split() == ["Noether", "(meta-tailored)", "p**2", "-", "2.99*cos(q)", f"{mean:.3g}", "±",
                           f"{std:.3g}", f"{median:.3g}", "0.0423"]  # ours beside the paper's
    hnn = [v for v in evaluation["per_seed"]["hnn"] if v is not None]
    assert "HNN" in text and f"{np.mean(hnn):.3g} ± {np.std(hnn, ddof=1):.3g}" in text
    low, high = evaluation["paired"]["noether_vs_vanilla"]["ci95"]
    wins = evaluation["paired"]["noether_vs_vanilla"]["wins"]
    assert "noether_vs_vanilla: mean difference" in text and f"[{low:.3g}, {high:.3g}], wins {wins}/3" in text
    assert "hnn_vs_vanilla" in text and "wins" in text
    # without the pipeline's summaries, the statistics come from per_seed alone
    bare = dict(pendulum_result, evaluation={"seeds": [0, 1, 2], "per_seed": evaluation["per_seed"]})
    assert f"{mean:.3g} ± {std:.3g}" in format_summary(bare, [])
    assert all(str(path) in text for path in paths)
    no_eval = dict(pendulum_result, evaluation=None, selected=None)
    assert "RMSE" not in format_summary(no_eval, [])


def test_progress_bar_writes_to_stderr_unless_quiet(capsys):
    with progress_bar(3, "fit chunks", quiet=False) as bar:
        bar.update(3)
    captured = capsys.readouterr()
    assert "fit chunks" in captured.err and "3/3" in captured.err and captured.out == ""
    with progress_bar(3, "fit chunks", quiet=True) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""


def test_latex_keeps_multi_letter_columns_apart():
    result = {"dataset": {"name": "oscillator2d", "columns": ["x", "y", "px", "py", "theta_1"]}, "laws": [1],
              "candidates": [_candidate(1, "x*py - y*px + 0.5*theta_1", "", {}, "kg*m**2/s", 1e-12, 0.2, True, True)]}
    text = export_laws(result, "latex", None)
    assert r"g_{1} &= - \mathit{px} \cdot y + \mathit{py} \cdot x + 0.5 \cdot \theta_{1} &&" in text


def test_code_exports_with_column_names_that_clash(tmp_path):
    """Columns named like the generated code's own names (x, states, torch, lambda) still work."""
    columns = ["x", "states", "torch", "lambda"]
    result = {"dataset": {"name": "clash", "columns": columns}, "laws": [1],
              "candidates": [_candidate(1, "x*states + 0.5*torch**2 - sin(x)", "", {}, "1", 1e-9, 0.2, True, True)]}
    rng = np.random.default_rng(3)
    values = rng.normal(size=(6, 4))
    expected = values[:, 0] * values[:, 1] + 0.5 * values[:, 2] ** 2 - np.sin(values[:, 0])
    namespace: dict = {}
    exec(export_laws(result, "python", None), namespace)
    np.testing.assert_allclose(namespace["law_1"](*values.T), expected, rtol=1e-12)
    path = tmp_path / "laws.py"
    path.write_text(export_laws(result, "torch", None))
    (_, _, g), = load_torch_laws(path)
    np.testing.assert_allclose(g(torch.tensor(values)).numpy(), expected, rtol=1e-12)


def test_stage_progress_keeps_one_bar_per_stage(capsys):
    with StageProgress() as progress:
        fit = progress.for_stage("fit chunks")
        fit(250, 1000)
        fit(1000, 1000)
        progress("stage1", 3, 10)
        progress("stage1", 10, 10)
    err = capsys.readouterr().err
    assert "fit chunks" in err and "1000/1000" in err and "stage1" in err and "10/10" in err
    with StageProgress(quiet=True) as progress:
        progress("stage1", 10, 10)
    assert capsys.readouterr().err == ""
