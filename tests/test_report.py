"""The report package: exports, result files, the summary and Table 1, progress, plots, run directories.

Results are built the way ``ConservationSearch.result()`` builds them (``result_of`` below follows
its keys, checked against engine.py's source) from real ``Law`` records: a real discovery run on a
pendulum recorded in degrees, and hand-made laws for the multi-column cases.
"""
from __future__ import annotations

import ast
import csv
import dataclasses
import json
import logging
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sympy
import torch
from scipy import stats

from conslaw.datasets import make_variant
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.discovery.conservation import DiscoveryConfig
from conslaw.discovery.discover import discover
from conslaw.discovery.symmetry import symmetry_report
from conslaw.dsl.budget import EnumerationConfig
from conslaw.dsl.expressions import column_symbols, parse_expression
from conslaw.dsl.units import parse_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.law import Evidence, Law, Parameter, StateColumns
from conslaw.parallel import WorkerPool
from conslaw.report import (
    METHOD_LABELS, RunDirectory, StageProgress, default_run_path, export_laws, format_summary, law_table,
    load_law_module, read_rollouts, write_outputs, write_run,
)
from conslaw.report.atomic import atomic_save_npz, atomic_write_json, atomic_write_text
from conslaw.report.outputs import CSV_COLUMNS
from conslaw.report.plots import make_plots, render_plots
from conslaw.report.portraits import choose_planes

ENGINE = Path(__file__).resolve().parents[1] / "conslaw" / "engine.py"
AWKWARD = ("E", "I", "S", "N", "O", "Q", "lambda", "torch")


# ----------------------------------------------------------------------------- building results


def result_of(dataset, laws, *, config=None, searches=None, warnings=(), tailoring=None, symmetries=None,
              known_laws=()) -> dict:
    """A result dict with exactly the keys of ``ConservationSearch.result()``."""
    laws = sorted(laws, key=lambda law: law.rank)
    return {
        "conslaw_version": "0.1.0", "dataset": dataset.summary() if dataset is not None else None,
        "columns": laws[0].columns.to_dict(),
        "config": config or {"data": {"dataset": dataset.name if dataset else None}, "discovery": {"threshold": 100.0}},
        "conservation": {"window_s": 1.0}, "searches": searches or {}, "space": None, "independence": None,
        "warnings": list(warnings), "known_laws": list(known_laws), "candidates": [law.to_dict() for law in laws],
        "independent": [law.rank for law in laws if law.independent],
        "pareto": [law.rank for law in laws if law.pareto], "tailoring": tailoring, "symmetries": symmetries,
    }


def test_result_helper_has_the_engines_keys():
    tree = ast.parse(ENGINE.read_text())
    method = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "result")
    returned = next(node.value for node in ast.walk(method) if isinstance(node, ast.Return))
    keys = {key.value for key in returned.keys}
    dataset = _oscillator()
    assert set(result_of(dataset, _oscillator_laws(dataset))) == keys


def _summary(values):
    finite = np.array([v for v in values if v is not None], dtype=float)
    if not finite.size:
        return {"mean": None, "std": None, "median": None, "n": 0}
    return {"mean": float(finite.mean()), "std": float(finite.std(ddof=1)), "median": float(np.median(finite)),
            "n": int(finite.size)}


def _paired(method, reference):
    d = np.array([m - r for m, r in zip(method, reference) if m is not None and r is not None])
    low, high = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
    return {"mean_diff": float(d.mean()), "ci95": [float(low), float(high)], "p_value": 0.01,
            "wins": int((d < 0).sum()), "n": int(d.size)}


def tailoring_section(laws, true_law="p**2 - 3*cos(q)") -> dict:
    """A tailoring section shaped as ``TailoringResults.to_dict()``: 25 candidates in stage 1, the
    best 20 meta-tailored (one diverged), five seeds."""
    pool = sorted(laws, key=lambda law: law.rank)[:25]
    candidates = []
    for i, law in enumerate(pool):
        stage2 = None if i >= 20 else {"train_rmse": None if i == 7 else 0.04 + 0.001 * i, "diverged": i == 7,
                                       "outer_loss": 1e-3, "inner_lr": 0.1, "epochs": 100}
        candidates.append({"id": str(law.rank), "expression": str(law.expression), "accepted": law.accepted,
                           "rank": law.rank, "stage1": {"inner_lr": 0.1 if i % 2 == 0 else 0.0,
                                                        "train_rmse": 0.05 + 0.001 * i, "sweep": {"0": 0.06}},
                           "stage2": stage2})
    per_seed = {"vanilla": [0.060, 0.050, 0.070, 0.055, 0.065], "finetune": [0.057, 0.049, 0.066, 0.054, 0.062],
                "tailored": [0.050, 0.047, 0.060, 0.052, 0.058], "noether": [0.047, 0.046, 0.052, 0.050, 0.049],
                "oracle": [0.047, 0.046, 0.052, 0.050, 0.049], "combined": [None] * 5,
                "hnn": [0.045, None, 0.050, 0.048, 0.046]}
    paired = {f"{m}_vs_vanilla": _paired(per_seed[m], per_seed["vanilla"])
              for m in ("finetune", "tailored", "noether", "oracle", "hnn")}
    paired.update({f"{m}_vs_finetune": _paired(per_seed[m], per_seed["finetune"]) for m in ("tailored", "noether")})
    evaluation = {f"{m}_rmse": _summary(v)["mean"] for m, v in per_seed.items()}
    evaluation.update(seeds=list(range(5)), per_seed=per_seed, summary={m: _summary(v) for m, v in per_seed.items()},
                      paired=paired, interval="paired t, 95 %", inner_lrs={"noether": [0.1, 0.1, 0.0, 0.1, 0.1]})
    selected = dict(candidates[0], inner_lr=0.1, train_rmse=0.04, is_discovery_rank_1=True)
    return {"candidates": candidates, "selected": selected, "combined": None, "evaluation": evaluation,
            "protocol": {"true_law": true_law}, "timings": {"stage1": 1.0}}


@pytest.fixture(scope="session")
def pendulum():
    """A real discovery on a pendulum whose angle was declared in degrees (about 5 s)."""
    variant = make_variant("pendulum", angle_unit="deg")
    with WorkerPool(jobs=1) as pool:
        found = discover(variant.dataset, DiscoveryConfig(mode="formulas"),
                         EnumerationConfig(depth=7, operators=("+", "*", "cos", "square")), None, seed=0, pool=pool)
    dataset = dataclasses.replace(variant.dataset, true_field=None)
    searches = dict(found.searches, terms={"ran": False, "reason": "the term library is larger than the data allow",
                                           "counts": {}, "timings": {}, "partial": False})
    config = {"data": {"dataset": "pendulum", "noise": 0.0, "options": []},
              "discovery": {"threshold": 100.0, "mode": "both"}, "run": {"canonical": None}}
    result = result_of(dataset, found.laws, config=config, searches=searches, tailoring=tailoring_section(found.laws),
                       warnings=["column 'p' is declared in kg*m**2/s: check its unit in --units"])
    search = SimpleNamespace(laws_=found.laws, result=lambda: result)  # what export_laws reads of a search
    return SimpleNamespace(dataset=dataset, laws=found.laws, result=result, search=search)


def _law(expression, columns, unit, rank, *, accepted=True, independent=True, parameters=(), ratio=1e-20):
    return Law(parse_expression(expression, columns.names) if isinstance(expression, str) else expression,
               columns, parse_unit(unit).dimension, 5, "formula", str(expression), tuple(parameters),
               Evidence(ratio, 2 * ratio, 0.5, ratio / 2, {"median": 1e-10, "max": 1e-9}, 0.3),
               accepted=accepted, quality="exact" if accepted else "rejected", independent=independent,
               pareto=independent, rank=rank)


def _trajectories(states_of, n, seed=0, points=40):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 2 * np.pi, points)
    return [Trajectory(t, states_of(t, rng)) for _ in range(n)]


def _oscillator(extra_constant=False) -> TrajectoryDataset:
    def states(t, rng):
        (a, b), (f, g) = rng.uniform(0.5, 1.5, 2), rng.uniform(0, 6, 2)
        columns = [a * np.cos(t + f), b * np.cos(t + g), -a * np.sin(t + f), -b * np.sin(t + g)]
        return np.stack(columns + ([np.full_like(t, rng.uniform(1, 2))] if extra_constant else []), axis=-1)

    names = ("x", "y", "px", "py") + (("k",) if extra_constant else ())
    units = ("m", "m", "kg*m/s", "kg*m/s") + (("1",) if extra_constant else ())
    trajectories = _trajectories(states, 6)
    return TrajectoryDataset("oscillator2d", names, tuple(parse_unit(u).dimension for u in units),
                             trajectories[:4], trajectories[4:], true_law="(px**2 + py**2 + x**2 + y**2)/2")


def _oscillator_laws(dataset):
    columns = StateColumns.from_dataset(dataset)
    return [_law("px**2 + x**2", columns, "kg**2*m**2/s**2", 1,
                 parameters=[Parameter("c0", 1.0, parse_unit("kg**2/s**2").dimension)]),
            _law("py**2 + y**2", columns, "kg**2*m**2/s**2", 2),
            _law("py*x - px*y", columns, "kg*m**2/s", 3),
            _law("px*py + x*y", columns, "kg*m**2/s", 4, independent=False)]


def _awkward_law():
    """A law over columns named like SymPy constants and Python names, the fifth in kilometres."""
    columns = StateColumns(AWKWARD, tuple(parse_unit("1").dimension for _ in AWKWARD), ("1",) * 4 + ("km",) + ("1",) * 3,
                           (1.0,) * 4 + (1000.0,) + (1.0,) * 3)
    s = column_symbols(AWKWARD)
    expression = (s["E"] ** 2 + s["I"] * s["lambda"] - sympy.Float(0.123456789012345678) * s["torch"] ** 2
                  + sympy.cos(s["S"]) + sympy.Float(1.25) * s["N"] * s["O"] / s["Q"])
    return Law(expression, columns, parse_unit("1").dimension, 9, "terms", "E**2 + ...", (),
               Evidence(1e-18, 2e-18, 0.4, 1e-18), accepted=True, quality="exact", independent=True, rank=1)


def _floats(expression):
    return sorted(float(f) for f in expression.atoms(sympy.Float))


def _same(a, b) -> bool:
    """The same expression with the same doubles (a Float's binary precision aside)."""
    def doubles(expression):
        return expression.xreplace({f: sympy.Float(float(f)) for f in expression.atoms(sympy.Float)})
    return doubles(a) == doubles(b)


# ----------------------------------------------------------------------------- exports


def test_every_export_gives_back_the_law_at_full_precision(pendulum, tmp_path):
    law = pendulum.laws[0]
    assert law.accepted and law.independent and law.columns.declared[0] == "deg"
    declared = law.sympy("declared")
    assert 0.017453292519943295 in _floats(declared)  # the degrees enter as a factor

    sympy_text = export_laws(pendulum.search, "sympy")
    assert "Units: declared" in sympy_text and "q [deg]" in sympy_text
    srepr = [line[len("srepr: "):] for line in sympy_text.splitlines() if line.startswith("srepr: ")]
    readable = [line[len("str: "):] for line in sympy_text.splitlines() if line.startswith("str: ")]
    assert len(srepr) == len(readable) == 1  # the independent laws only
    assert _same(sympy.sympify(srepr[0]), declared)
    assert _floats(parse_expression(readable[0], law.columns.names)) == _floats(declared)
    c0 = law.parameters[0]
    assert f"{c0.name} = {c0.value!r} [kg**2*m**4/s**2]" in sympy_text

    states = np.random.default_rng(0).uniform([-150, -2], [150, 2], (64, 2))  # declared units: degrees
    for fmt in ("python", "torch"):
        path = tmp_path / f"laws_{fmt}.py"
        path.write_text(export_laws(pendulum.search, fmt))
        (name, columns, function), = load_law_module(path)
        assert (name, columns) == ("law_1", ("q", "p"))
        assert repr(c0.value)[1:] in path.read_text() and "0.017453292519943295*q" in path.read_text()
        values = function(torch.tensor(states)).numpy() if fmt == "torch" else function(states)
        np.testing.assert_allclose(values, law.numpy("declared")(states), rtol=1e-13, atol=1e-13)

    from conslaw.tailoring import NoetherLoss

    path.write_text(export_laws(pendulum.search, "torch", units="si"))
    (_, _, g), = load_law_module(path)
    x = torch.tensor(pendulum.dataset.test[0].x)
    dxdt = torch.flip(x, [-1]) * torch.tensor([2.0, -3.0])  # a wrong field: the loss is not zero
    exported, reference = (NoetherLoss(law_, form="analytic", dt=0.1)(x, dxdt) for law_ in (g, law.torch("si")))
    assert exported > 0 and torch.allclose(exported, reference, rtol=1e-12)

    payload = json.loads(export_laws(pendulum.search, "json"))
    assert payload["units"] == "declared" and payload["columns"] == {"q": "deg", "p": "kg*m**2/s"}
    entry = payload["laws"][0]
    assert _floats(parse_expression(entry["expression"], ("q", "p"))) == _floats(declared)
    assert _floats(parse_expression(entry["expression_si"], ("q", "p"))) == _floats(law.sympy("si"))
    assert entry["parameters"]["c0"] == {"value": c0.value, "unit": "kg**2*m**4/s**2"}


def test_latex_export_compiles_back_to_six_digits(pendulum):
    from sympy.parsing.latex import parse_latex

    text = export_laws(pendulum.result, "latex", top=2)
    rows = re.findall(r"g_\{(\d+)\} &= (.*?) && \[(.*?)\]", text)
    assert [int(rank) for rank, _, _ in rows] == [1, 2]
    states = np.random.default_rng(1).uniform([-150, -2], [150, 2], (32, 2))
    for (rank, latex, _), law in zip(rows, pendulum.laws):
        parsed = parse_latex(latex)
        function = sympy.lambdify([sympy.Symbol("q"), sympy.Symbol("p")], parsed)
        expected = law.numpy("declared")(states)
        np.testing.assert_allclose(function(*states.T), expected, rtol=2e-5, atol=2e-5 * np.abs(expected).max())
        assert all(len(number.replace(".", "").lstrip("0")) <= 6 for number in re.findall(r"\d+\.\d+", latex))
    assert r"[\mathrm{kg}^{2}\,\mathrm{m}^{4}\,\mathrm{s}^{-2}]" in text and "0.0174533" in text
    assert "Units: declared" in text and r"c_{0} = -3.0\,\mathrm{kg}^{2}" in text
    assert "Table 1" in text and r"Noether (meta-tailored) & p**2 - 3.0*cos(0.0174533*q)" in text


def test_si_export_and_the_selection_rules(pendulum):
    si = export_laws(pendulum.result, "sympy", units="si")
    assert "Units: si" in si and "q [rad]" in si and "0.01745" not in si
    assert "str: p**2 - 3.0000000000" in si
    ranks = [int(r) for r in re.findall(r"^def law_(\d+)", export_laws(pendulum.result, "python", top=3), re.M)]
    assert ranks == [1, 2, 3] and not pendulum.laws[1].accepted  # --top takes candidates, accepted or not
    with pytest.raises(UsageError, match="--top must be at least 1"):
        export_laws(pendulum.result, "json", top=0)
    with pytest.raises(UsageError, match="--format 'pdf'") as error:
        export_laws(pendulum.result, "pdf")
    assert error.value.exit_code == 2
    with pytest.raises(UsageError, match="--units 'imperial'"):
        export_laws(pendulum.result, "json", units="imperial")
    rejected = [law.replace(accepted=False, independent=False, quality="rejected") for law in pendulum.laws]
    with pytest.raises(ConslawError, match="--top N"):
        export_laws(result_of(pendulum.dataset, rejected), "latex")


def test_a_result_json_exports_like_the_search(pendulum, tmp_path):
    stored = json.loads(json.dumps(pendulum.result))
    from_search = json.loads(export_laws(pendulum.search, "json", top=3))["laws"]
    from_file = json.loads(export_laws(stored, "json", top=3))["laws"]
    assert [law["rank"] for law in from_file] == [law["rank"] for law in from_search] == [1, 2, 3]
    for a, b in zip(from_file, from_search):
        assert _floats(sympy.sympify(a["expression"])) == pytest.approx(_floats(sympy.sympify(b["expression"])),
                                                                        rel=1e-14)


def test_awkward_column_names_survive_every_format(tmp_path):
    from sympy.parsing.latex import parse_latex

    law = _awkward_law()
    result = SimpleNamespace(laws_=[law], result=lambda: result_of(None, [law]))
    states = np.random.default_rng(2).uniform(0.5, 2.0, (16, len(AWKWARD)))
    expected = law.numpy("declared")(states)
    srepr = next(line[7:] for line in export_laws(result, "sympy").splitlines() if line.startswith("srepr: "))
    assert _same(sympy.sympify(srepr), law.sympy("declared"))
    assert -0.12345678901234568 in _floats(sympy.sympify(srepr))
    for fmt in ("python", "torch"):
        path = tmp_path / f"{fmt}.py"
        path.write_text(export_laws(result, fmt))
        (_, columns, function), = load_law_module(path)
        assert columns == AWKWARD
        values = function(torch.tensor(states)).numpy() if fmt == "torch" else function(states)
        np.testing.assert_allclose(values, expected, rtol=1e-15)
    (_, _, g), = load_law_module(tmp_path / "torch.py")
    assert g(torch.tensor(states, dtype=torch.float32)).dtype == torch.float32
    entry = json.loads(export_laws(result, "json"))["laws"][0]
    assert _same(sympy.sympify(entry["srepr"]), law.sympy("declared")) and "lambda" in entry["expression"]
    latex = re.search(r"g_\{1\} &= (.*?) &&", export_laws(result, "latex")).group(1)
    parsed = parse_latex(latex)
    assert {s.name for s in parsed.free_symbols} == set(AWKWARD)
    by_name = {sympy.Symbol(c): states[:, i] for i, c in enumerate(AWKWARD)}
    np.testing.assert_allclose(sympy.lambdify(list(by_name), parsed)(*by_name.values()), expected, rtol=1e-5)


# ----------------------------------------------------------------------------- result files


def test_result_files_hold_every_number(pendulum, tmp_path):
    rollouts = _rollouts(pendulum.dataset)
    paths = write_outputs(tmp_path, pendulum.result, pendulum.laws, pendulum.dataset, rollouts, plots=False)
    assert [p.name for p in paths] == ["result.json", "candidates.csv", "formulas.tex", "rollouts.npz"]
    assert json.loads((tmp_path / "result.json").read_text()) == json.loads(json.dumps(pendulum.result))
    rows = list(csv.DictReader((tmp_path / "candidates.csv").open()))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(pendulum.laws)
    first, law = rows[0], pendulum.laws[0]
    assert float(first["ratio"]) == law.evidence.ratio and float(first["margin"]) == law.evidence.margin
    assert float(first["variation_max"]) == law.evidence.variation["max"]
    assert float(first["paper_random"]) == law.evidence.paper["random"]
    assert _floats(parse_expression(first["expression"], ("q", "p"))) == _floats(law.sympy("declared"))
    assert first["parameters"] == f"c0={law.parameters[0].value!r} [kg**2*m**4/s**2]"
    assert (first["quality"], first["accepted"], first["independent"], first["pareto"]) == ("exact", "true", "true", "true")
    assert (first["tailored"], first["stage1_inner_lr"], first["stage2_train_rmse"], first["selected"]) == \
           ("true", "0.1", "0.04", "true")
    assert rows[7]["stage2_diverged"] == "true" and rows[7]["stage2_train_rmse"] == ""
    assert rows[22]["stage2_train_rmse"] == "" and float(rows[22]["stage1_train_rmse"]) == 0.05 + 0.001 * 22
    assert rows[30]["tailored"] == "false" and rows[1]["selected"] == "false"
    tex = (tmp_path / "formulas.tex").read_text()
    assert r"\begin{align}" in tex and "g_{1}" in tex and "g_{2}" not in tex
    stored = read_rollouts(tmp_path)
    assert set(stored) == set(rollouts) and np.array_equal(stored["vanilla"], rollouts["vanilla"])
    assert read_rollouts(tmp_path / "elsewhere") is None


def test_files_are_built_before_any_is_written(pendulum, tmp_path):
    write_outputs(tmp_path, pendulum.result, pendulum.laws, plots=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken = dict(pendulum.result, searches={"formulas": object()})  # not JSON: fails while building
    with pytest.raises(TypeError):
        write_outputs(tmp_path, broken, pendulum.laws[:1], plots=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_failing_figure_never_costs_the_result_files(pendulum, tmp_path, caplog, monkeypatch):
    import conslaw.report.plots

    def broken(*args):
        raise ValueError("no room for the colour bar")

    monkeypatch.setattr(conslaw.report.plots, "render_plots", broken)
    with caplog.at_level(logging.WARNING, logger="conslaw"):
        paths = write_outputs(tmp_path, pendulum.result, pendulum.laws, pendulum.dataset)
    assert [p.name for p in paths] == ["result.json", "candidates.csv", "formulas.tex"]
    assert "the figures were not drawn (ValueError: no room for the colour bar)" in caplog.text


def test_write_run_takes_everything_from_the_search(pendulum, tmp_path):
    laws = [law.replace(accepted=False, independent=False, quality="rejected") for law in pendulum.laws]
    search = SimpleNamespace(result=lambda: result_of(pendulum.dataset, laws), laws_=laws,
                             dataset_=pendulum.dataset, config=SimpleNamespace(run=SimpleNamespace(plots=False)))
    paths = write_run(tmp_path, search)
    assert [p.name for p in paths] == ["result.json", "candidates.csv", "formulas.tex"]
    tex = (tmp_path / "formulas.tex").read_text()
    assert "No candidate was accepted" in tex and "g_{10}" in tex and "g_{11}" not in tex


def test_a_run_without_candidates_still_reports(tmp_path):
    dataset = _oscillator()
    result = dict(result_of(dataset, _oscillator_laws(dataset)), candidates=[], independent=[], pareto=[])
    paths = write_outputs(tmp_path, result, [], plots=False)
    assert "no candidate" in (tmp_path / "formulas.tex").read_text() and len(paths) == 3
    assert list(csv.reader((tmp_path / "candidates.csv").open())) == [list(CSV_COLUMNS)]
    assert "0 candidates, 0 accepted (0 exact, 0 approximate); independent: none" in format_summary(result)
    with pytest.raises(ConslawError, match="no candidates to export"):
        export_laws(result, "json", top=1)


# ----------------------------------------------------------------------------- summary and Table 1


def test_a_selection_without_tailoring_says_it_is_the_control(pendulum):
    note = "inner lr 0: no candidate's Noether step improved the training rollouts"
    assert note not in format_summary(pendulum.result)
    tailoring = dict(pendulum.result["tailoring"], selected=dict(pendulum.result["tailoring"]["selected"], inner_lr=0.0))
    text = format_summary(dict(pendulum.result, tailoring=tailoring))
    assert note in text and "the fine-tuning control's" in text


def test_summary_accounts_for_searches_laws_tailoring_and_table1(pendulum):
    text = format_summary(pendulum.result, ["run/result.json"])
    assert "terms: did not run: the term library is larger than the data allow" in text
    assert re.search(r"formulas: ran: .*464 enumerated", text)
    row = next(line for line in text.splitlines() if line.startswith("1 "))
    assert row.split()[1:6] == ["p**2", "-", "3.0*cos(0.0174533*q)", "kg**2*m**4/s**2", "exact"]
    assert " IP " in row and "±" in row
    assert "column 'p' is declared in kg*m**2/s" in text
    assert "Selected Noether loss: rank 1: p**2 - 3.0*cos(0.0174533*q)" in text
    stage2 = text[text.index("meta-tailored (stage 2)"):text.index("Table 1")].splitlines()[3:-1]
    assert len(stage2) == 20 and stage2[0].split()[-1] == "*" and "diverged" in stage2[-1]
    evaluation = pendulum.result["tailoring"]["evaluation"]
    noether = next(line for line in text.splitlines() if line.startswith(METHOD_LABELS["noether"]))
    mean, std = np.mean(evaluation["per_seed"]["noether"]), np.std(evaluation["per_seed"]["noether"], ddof=1)
    low, high = evaluation["paired"]["noether_vs_vanilla"]["ci95"]
    assert f"{mean:.3g} ± {std:.3g} (5)" in noether and f"[{low:+.3g}, {high:+.3g}] 5/5" in noether
    assert noether.rstrip().endswith("0.0423")  # the paper's number beside ours
    hnn = next(line for line in text.splitlines() if line.startswith("HNN"))
    assert "(4)" in hnn and "All laws at once" not in text  # a method with no finite seed is left out
    assert "inner lr of the selected law per seed" in text and "run/result.json" in text
    searches = dict(pendulum.result["searches"])
    searches["formulas"] = dict(searches["formulas"], partial=True, reason="the 30 s budget ran out")
    del searches["terms"]
    partial = dict(pendulum.result, searches=searches,
                   config=dict(pendulum.result["config"], discovery={"threshold": 100.0, "mode": "formulas"}))
    known = [{"name": "energy", "law": "p**2 - 3*cos(q)", "found": True},
             {"name": "momentum", "law": "p", "found": False}]
    lines = format_summary(dict(partial, known_laws=known)).splitlines()
    assert lines[2].endswith("; partial: the 30 s budget ran out") and lines[3] == "  terms: not run (--mode formulas)"
    assert "known laws of the data set (1 of 2 reached): energy found, momentum NOT found" in lines
    assert not any(line.startswith("known laws") for line in format_summary(partial).splitlines())


def test_brief_summary_and_the_papers_column(pendulum):
    brief = format_summary(pendulum.result, ["run/result.json"], brief=True)
    assert "p**2 - 3.0*cos(0.0174533*q)" in brief and "Table 1" in brief and "Selected Noether loss" in brief
    assert "run/result.json" not in brief and "stage 2" not in brief and "searches:" not in brief
    user_file = dict(pendulum.result, config=dict(pendulum.result["config"], data={"data": "data/spring.csv"}),
                     dataset=dict(pendulum.result["dataset"], name="spring"))
    assert "paper" not in format_summary(user_file, [])
    noisy = dict(pendulum.result, config=dict(pendulum.result["config"], data={"dataset": "pendulum", "noise": 0.1}))
    assert "paper (1 seed)" not in format_summary(noisy, [])
    untailored = dict(pendulum.result, tailoring=None)
    assert "RMSE" not in format_summary(untailored, [])


def test_law_table_marks_and_precision():
    dataset = _oscillator()
    laws = _oscillator_laws(dataset)
    lines = law_table(laws, 3)
    assert lines[0].split()[:4] == ["rank", "law", "(declared", "units)"]
    assert "IP" in lines[2] and lines[-2] == "... 1 more candidates (candidates.csv has them all)"
    approximate = laws[0].replace(quality="approximate", expression=laws[0].expression * sympy.Float(1.23456789))
    assert "approx." in law_table([approximate])[2] and "1.23457" in law_table([approximate])[2]


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


# ----------------------------------------------------------------------------- plots


def _rollouts(dataset, trajectories=2):
    truth = np.stack([trajectory.x for trajectory in dataset.test[:trajectories]])
    drift = dataset.test[0].t[None, :, None]
    return {"times": dataset.test[0].t, "truth": truth, "vanilla": truth * (1 + 0.05 * drift),
            "noether": truth * (1 + 0.01 * drift)}


def _is_png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_pendulum_figures(pendulum, tmp_path):
    paths = make_plots(tmp_path, pendulum.result, pendulum.dataset, _rollouts(pendulum.dataset))
    assert [p.name for p in paths] == ["phase_q_p.png", "laws_along_test.png", "rollouts.png",
                                       "conservation_ratio.png"]
    assert all(p.parent == tmp_path / "plots" and _is_png(p.read_bytes()) for p in paths)
    assert not [p for p in (tmp_path / "plots").iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ConslawError, match="rollouts\\['vanilla'\\] has shape"):
        render_plots(pendulum.result, pendulum.laws, pendulum.dataset,
                     dict(_rollouts(pendulum.dataset), vanilla=np.ones((1, 5, 3))))


def test_planes_come_from_the_laws_the_data_or_the_canonical_pairs():
    dataset = _oscillator(extra_constant=True)
    laws = _oscillator_laws(dataset)
    assert choose_planes(dataset, laws[:2]) == ([(0, 2), (1, 3)], "for each law, the two columns it depends on most")
    assert choose_planes(dataset, laws[:2], "x:px,y:py")[0] == [(0, 2), (1, 3)]
    planes, how = choose_planes(dataset, [])
    assert 4 not in planes[0] and "move most" in how  # k is constant on each trajectory
    with pytest.raises(ConslawError, match="canonical pairs"):
        choose_planes(dataset, laws, "x:q")


@pytest.mark.slow
def test_symmetry_flows_are_drawn_when_the_run_has_symmetries():
    dataset = _oscillator()
    laws = [law.replace(independent=law.rank in (1, 3)) for law in _oscillator_laws(dataset)]
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
    trajectories = _trajectories(states, 4, points=30)
    dataset = TrajectoryDataset("many", names, tuple(parse_unit("m").dimension for _ in names), trajectories[:2],
                                trajectories[2:])
    column_set = StateColumns.from_dataset(dataset)
    law = _law(" + ".join(names[::3]), column_set, "m", 1)
    figures = render_plots(result_of(dataset, [law]), [law], dataset, _rollouts(dataset, 1))
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


def test_existing_runs_are_refused_overwritten_late_or_resumed(tmp_path, pendulum):
    path = tmp_path / "run"
    with RunDirectory(path) as run:
        run.write_config({"enumeration": {"depth": 5}})
        write_outputs(run, pendulum.result, pendulum.laws, plots=False)
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
    write_outputs(resumed, dict(pendulum.result, warnings=["new"]), pendulum.laws, plots=False)
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
        runs.open_run({"resume": str(tmp_path / "run"), "depth": 6})
    assert "\n" not in str(error.value)
    resumed, _ = runs.open_run({"resume": str(tmp_path / "run"), "jobs": 2, "depth": 5})
    assert resumed.parallel.jobs == 2 and resumed.enumeration.depth == 5
