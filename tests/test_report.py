"""The report package: exports, result files, the summary and Table 1 (figures, progress and run
directories: ``test_figures_and_runs.py``). Results come from ``report_cases``."""
from __future__ import annotations

import ast
import csv
import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sympy
import torch

from conslaw.dsl.expressions import column_symbols, parse_expression
from conslaw.dsl.units import parse_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.law import REJECTIONS, Evidence, Law, Parameter, StateColumns
from conslaw.report import (
    METHOD_LABELS, export_laws, format_summary, law_table, load_law_module, read_rollouts, write_outputs, write_run,
)
from conslaw.report.outputs import CSV_COLUMNS

from report_cases import oscillator, oscillator_laws, result_of, rollouts_of

ENGINE = Path(__file__).resolve().parents[1] / "conslaw" / "engine.py"
AWKWARD = ("E", "I", "S", "N", "O", "Q", "lambda", "torch")


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


def test_result_helper_has_the_engines_keys():
    tree = ast.parse(ENGINE.read_text())
    method = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "result")
    returned = next(node.value for node in ast.walk(method) if isinstance(node, ast.Return))
    keys = {key.value for key in returned.keys}
    dataset = oscillator()
    assert set(result_of(dataset, oscillator_laws(dataset))) == keys


# ----------------------------------------------------------------------------- exports


def test_every_export_gives_back_the_law_at_full_precision(degree_pendulum, tmp_path):
    law = degree_pendulum.laws[0]
    assert law.accepted and law.independent and law.columns.declared[0] == "deg"
    declared = law.sympy("declared")
    q = sympy.Symbol("q", real=True)
    assert declared.has(sympy.cos(sympy.pi * q / 180))  # the degrees enter as the exact factor pi/180

    sympy_text = export_laws(degree_pendulum.search, "sympy")
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
        path.write_text(export_laws(degree_pendulum.search, fmt))
        (name, columns, function), = load_law_module(path)
        assert (name, columns) == ("law_1", ("q", "p"))
        assert repr(c0.value)[1:] in path.read_text() and "(1/180)*" in path.read_text()
        values = function(torch.tensor(states)).numpy() if fmt == "torch" else function(states)
        np.testing.assert_allclose(values, law.numpy("declared")(states), rtol=1e-13, atol=1e-13)

    from conslaw.tailoring import NoetherLoss

    path.write_text(export_laws(degree_pendulum.search, "torch", units="si"))
    (_, _, g), = load_law_module(path)
    x = torch.tensor(degree_pendulum.dataset.test[0].x)
    dxdt = torch.flip(x, [-1]) * torch.tensor([2.0, -3.0])  # a wrong field: the loss is not zero
    exported, reference = (NoetherLoss(law_, form="analytic", dt=0.1)(x, dxdt) for law_ in (g, law.torch("si")))
    assert exported > 0 and torch.allclose(exported, reference, rtol=1e-12)

    payload = json.loads(export_laws(degree_pendulum.search, "json"))
    assert payload["units"] == "declared" and payload["columns"] == {"q": "deg", "p": "kg*m**2/s"}
    entry = payload["laws"][0]
    assert _floats(parse_expression(entry["expression"], ("q", "p"))) == _floats(declared)
    assert _floats(parse_expression(entry["expression_si"], ("q", "p"))) == _floats(law.sympy("si"))
    assert entry["parameters"]["c0"] == {"value": c0.value, "unit": "kg**2*m**4/s**2"}


def test_latex_export_compiles_back_to_six_digits(degree_pendulum):
    from sympy.parsing.latex import parse_latex

    text = export_laws(degree_pendulum.result, "latex", top=2)
    rows = re.findall(r"g_\{(\d+)\} &= (.*?) && \[(.*?)\]", text)
    assert [int(rank) for rank, _, _ in rows] == [1, 2]
    states = np.random.default_rng(1).uniform([-150, -2], [150, 2], (32, 2))
    for (rank, latex, _), law in zip(rows, degree_pendulum.laws):
        parsed = parse_latex(latex).subs(sympy.Symbol("pi"), sympy.pi)  # the parser reads \pi as a name
        function = sympy.lambdify([sympy.Symbol("q"), sympy.Symbol("p")], parsed)
        expected = law.numpy("declared")(states)
        np.testing.assert_allclose(function(*states.T), expected, rtol=2e-5, atol=2e-5 * np.abs(expected).max())
        assert all(len(number.replace(".", "").lstrip("0")) <= 6 for number in re.findall(r"\d+\.\d+", latex))
    assert r"[\mathrm{kg}^{2}\,\mathrm{m}^{4}\,\mathrm{s}^{-2}]" in text and r"\frac{\pi q}{180}" in text
    assert "Units: declared" in text and r"c_{0} = -3.0\,\mathrm{kg}^{2}" in text
    assert "Table 1" in text and r"Noether (meta-tailored) & p**2 - 3.0*cos(pi*q/180)" in text


def test_si_export_and_the_selection_rules(degree_pendulum):
    si = export_laws(degree_pendulum.result, "sympy", units="si")
    assert "Units: si" in si and "q [rad]" in si and "0.01745" not in si
    assert "str: p**2 - 3.0000000000" in si
    ranks = [int(r) for r in re.findall(r"^def law_(\d+)", export_laws(degree_pendulum.result, "python", top=3), re.M)]
    assert ranks == [1, 2, 3] and not degree_pendulum.laws[1].accepted  # --top takes candidates, accepted or not
    with pytest.raises(UsageError, match="--top must be at least 1"):
        export_laws(degree_pendulum.result, "json", top=0)
    with pytest.raises(UsageError, match="--format 'pdf'") as error:
        export_laws(degree_pendulum.result, "pdf")
    assert error.value.exit_code == 2
    with pytest.raises(UsageError, match="--units 'imperial'"):
        export_laws(degree_pendulum.result, "json", units="imperial")
    rejected = [law.replace(accepted=False, independent=False, quality="rejected") for law in degree_pendulum.laws]
    with pytest.raises(ConslawError, match="--top N"):
        export_laws(result_of(degree_pendulum.dataset, rejected), "latex")


def test_a_result_json_exports_like_the_search(degree_pendulum, tmp_path):
    stored = json.loads(json.dumps(degree_pendulum.result))
    from_search = json.loads(export_laws(degree_pendulum.search, "json", top=3))["laws"]
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


def test_result_files_hold_every_number(degree_pendulum, tmp_path):
    rollouts = rollouts_of(degree_pendulum.dataset)
    paths = write_outputs(tmp_path, degree_pendulum.result, degree_pendulum.laws, degree_pendulum.dataset, rollouts, plots=False)
    assert [p.name for p in paths] == ["result.json", "candidates.csv", "formulas.tex", "rollouts.npz"]
    assert json.loads((tmp_path / "result.json").read_text()) == json.loads(json.dumps(degree_pendulum.result))
    rows = list(csv.DictReader((tmp_path / "candidates.csv").open()))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(degree_pendulum.laws)
    first, law = rows[0], degree_pendulum.laws[0]
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


def test_files_are_built_before_any_is_written(degree_pendulum, tmp_path):
    write_outputs(tmp_path, degree_pendulum.result, degree_pendulum.laws, plots=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken = dict(degree_pendulum.result, searches={"formulas": object()})  # not JSON: fails while building
    with pytest.raises(TypeError):
        write_outputs(tmp_path, broken, degree_pendulum.laws[:1], plots=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_failing_figure_never_costs_the_result_files(degree_pendulum, tmp_path, caplog, monkeypatch):
    import conslaw.report.plots

    def broken(*args):
        raise ValueError("no room for the colour bar")

    monkeypatch.setattr(conslaw.report.plots, "render_plots", broken)
    with caplog.at_level(logging.WARNING, logger="conslaw"):
        paths = write_outputs(tmp_path, degree_pendulum.result, degree_pendulum.laws, degree_pendulum.dataset)
    assert [p.name for p in paths] == ["result.json", "candidates.csv", "formulas.tex"]
    assert "the figures were not drawn (ValueError: no room for the colour bar)" in caplog.text


def test_write_run_takes_everything_from_the_search(degree_pendulum, tmp_path):
    laws = [law.replace(accepted=False, independent=False, quality="rejected") for law in degree_pendulum.laws]
    search = SimpleNamespace(result=lambda: result_of(degree_pendulum.dataset, laws), laws_=laws,
                             dataset_=degree_pendulum.dataset, config=SimpleNamespace(run=SimpleNamespace(plots=False)))
    paths = write_run(tmp_path, search)
    assert [p.name for p in paths] == ["result.json", "candidates.csv", "formulas.tex"]
    tex = (tmp_path / "formulas.tex").read_text()
    assert "No candidate was accepted" in tex and "g_{10}" in tex and "g_{11}" not in tex


def test_a_run_without_candidates_still_reports(tmp_path):
    dataset = oscillator()
    result = dict(result_of(dataset, oscillator_laws(dataset)), candidates=[], independent=[], pareto=[])
    paths = write_outputs(tmp_path, result, [], plots=False)
    assert "no candidate" in (tmp_path / "formulas.tex").read_text() and len(paths) == 3
    assert list(csv.reader((tmp_path / "candidates.csv").open())) == [list(CSV_COLUMNS)]
    assert "0 candidates, 0 accepted (0 exact, 0 approximate); independent: none" in format_summary(result)
    with pytest.raises(ConslawError, match="no candidates to export"):
        export_laws(result, "json", top=1)


# ----------------------------------------------------------------------------- summary and Table 1


def test_a_selection_without_tailoring_says_it_is_the_control(degree_pendulum):
    note = "inner lr 0: no candidate's Noether step improved the training rollouts"
    assert note not in format_summary(degree_pendulum.result)
    tailoring = dict(degree_pendulum.result["tailoring"], selected=dict(degree_pendulum.result["tailoring"]["selected"], inner_lr=0.0))
    text = format_summary(dict(degree_pendulum.result, tailoring=tailoring))
    assert note in text and "the fine-tuning control's" in text
    assert "Selected Noether loss: none in effect; the winner, rank 1: p**2 - 3.0*cos(pi*q/180) (inner lr 0" in text
    noether = [line for line in text.splitlines() if line.startswith("Noether (meta-tailored)")]
    assert "p**2 - 3.0*cos(pi*q/180)" in noether[0]  # some seeds still take the law's step
    evaluation = dict(tailoring["evaluation"], inner_lrs={"noether": [0.0] * len(tailoring["evaluation"]["seeds"])})
    text = format_summary(dict(degree_pendulum.result, tailoring=dict(tailoring, evaluation=evaluation)))
    rows = [line for line in text.splitlines() if line.startswith(("Noether (meta-tailored)", "Tailored, no meta"))]
    assert len(rows) == 2 and all("none (inner lr 0)" in row and "cos" not in row for row in rows)


def test_summary_accounts_for_searches_laws_tailoring_and_table1(degree_pendulum):
    text = format_summary(degree_pendulum.result, ["run/result.json"])
    assert "terms: did not run: the term library is larger than the data allow" in text
    assert re.search(r"formulas: ran: .*464 enumerated", text)
    terms = dict(degree_pendulum.result["searches"], terms={"ran": True, "partial": False, "counts": {
        "library_terms": 2, "constraints": 900, "stages": 2, "stages_tried": 3, "sparse_found": 1,
        "operators": ["+", "-"], "dense_best_ratio": 0.5,
        "passes": [{"library_terms": 2, "constraints": 900}, {"library_terms": 46, "constraints": 2225}]}})
    line = next(line for line in format_summary(dict(degree_pendulum.result, searches=terms)).splitlines()
                if line.startswith("  terms:"))
    assert line == ("  terms: ran: 2 library stages (1 skipped: no new factor), the last with 46 terms on "
                    "2225 constraints; 1 passed")
    row = next(line for line in text.splitlines() if line.startswith("1 "))
    assert row.split()[1:6] == ["p**2", "-", "3.0*cos(pi*q/180)", "kg**2*m**4/s**2", "exact"]
    assert " IP " in row and "±" in row
    assert "column 'p' is declared in kg*m**2/s" in text
    assert "Selected Noether loss: rank 1: p**2 - 3.0*cos(pi*q/180)" in text
    stage2 = text[text.index("meta-tailored (stage 2)"):text.index("Table 1")].splitlines()[3:-1]
    assert len(stage2) == 20 and stage2[0].split()[-1] == "*" and "diverged" in stage2[-1]
    evaluation = degree_pendulum.result["tailoring"]["evaluation"]
    noether = next(line for line in text.splitlines() if line.startswith(METHOD_LABELS["noether"]))
    mean, std = np.mean(evaluation["per_seed"]["noether"]), np.std(evaluation["per_seed"]["noether"], ddof=1)
    low, high = evaluation["paired"]["noether_vs_vanilla"]["ci95"]
    assert f"{mean:.3g} ± {std:.3g} (5)" in noether and f"[{low:+.3g}, {high:+.3g}] 5/5" in noether
    assert noether.rstrip().endswith("0.0423")  # the paper's number beside ours
    hnn = next(line for line in text.splitlines() if line.startswith("HNN"))
    assert "(4)" in hnn and "All laws at once" not in text  # a method with no finite seed is left out
    assert "inner lr of the selected law per seed" in text and "run/result.json" in text
    assert "centred and divided by its spread" not in text
    standardized = dict(degree_pendulum.result, tailoring=dict(degree_pendulum.result["tailoring"], protocol=dict(
        degree_pendulum.result["tailoring"]["protocol"], scaling={"shift": [0.1, 0.2], "scale": [1.0, 2.0]})))
    assert "the learned models saw each column centred and divided by its spread" in format_summary(standardized)
    assert "still columns" not in text
    setting = dict(degree_pendulum.result, conservation=dict(degree_pendulum.result["conservation"],
                                                             still_columns=[False, True]))
    column = degree_pendulum.result["columns"]["names"][1]
    assert f"still columns (one value along each trajectory, up to noise: a setting, a conserved input): " \
        f"{column}; the whole-formula search fits no formula of them alone, and accepts each bare column that " \
        "passes as a law (here: none)" in format_summary(setting)  # p is no accepted law of this run
    bare = dict(setting["candidates"][0], expression=column, accepted=True)
    assert f"passes as a law (here: {column})" in format_summary(dict(setting, candidates=[bare]))
    long_law = " + ".join(f"{k}*q**{k}" for k in range(2, 30))
    unlisted = dict(degree_pendulum.result, tailoring=dict(degree_pendulum.result["tailoring"],
                                                           selected={"rank": None, "expression": long_law}))
    cell = next(line for line in format_summary(unlisted).splitlines() if line.startswith(METHOD_LABELS["noether"]))
    assert f" {long_law[:45]}... " in cell and long_law not in cell  # Table 1 cuts a long law as the law table does
    searches = dict(degree_pendulum.result["searches"])
    searches["formulas"] = dict(searches["formulas"], partial=True, reason="the 30 s budget ran out")
    del searches["terms"]
    partial = dict(degree_pendulum.result, searches=searches,
                   config=dict(degree_pendulum.result["config"], discovery={"threshold": 100.0, "mode": "formulas"}))
    known = [{"name": "energy", "law": "p**2 - 3*cos(q)", "found": True},
             {"name": "momentum", "law": "p", "found": False},  # a result.json written before "near"
             {"name": "angle", "law": "q", "found": False, "near": 2}]
    lines = format_summary(dict(partial, known_laws=known)).splitlines()
    assert lines[2].endswith("; partial: the 30 s budget ran out") and lines[3] == "  terms: not run (--mode formulas)"
    assert ("known laws of the data set (1 of 3 reached): energy found, momentum NOT found, angle NOT found "
            "(law 2 equals it to within the data's noise)") in lines
    assert not any(line.startswith("known laws") for line in format_summary(partial).splitlines())


def test_brief_summary_and_the_papers_column(degree_pendulum):
    brief = format_summary(degree_pendulum.result, ["run/result.json"], brief=True)
    assert "p**2 - 3.0*cos(pi*q/180)" in brief and "Table 1" in brief and "Selected Noether loss" in brief
    assert "run/result.json" not in brief and "stage 2" not in brief and "searches:" not in brief
    user_file = dict(degree_pendulum.result, config=dict(degree_pendulum.result["config"], data={"data": "data/spring.csv"}),
                     dataset=dict(degree_pendulum.result["dataset"], name="spring"))
    assert "paper" not in format_summary(user_file, [])
    noisy = dict(degree_pendulum.result, config=dict(degree_pendulum.result["config"], data={"dataset": "pendulum", "noise": 0.1}))
    assert "paper (1 seed)" not in format_summary(noisy, [])
    untailored = dict(degree_pendulum.result, tailoring=None)
    assert "RMSE" not in format_summary(untailored, [])


def test_table1_says_its_rmse_is_in_coherent_si_when_a_column_was_declared_otherwise(degree_pendulum):
    """The pendulum's q was declared in degrees: the rollouts' errors are in radians."""
    text = format_summary(degree_pendulum.result, [])
    assert "the RMSEs are over the columns in coherent SI (q in rad, p in kg*m**2/s), not in the declared units" in text
    columns = dict(degree_pendulum.result["columns"])
    columns["declared"] = list(columns["units"])
    assert "not in the declared units" not in format_summary(dict(degree_pendulum.result, columns=columns), [])


def test_an_export_names_a_parameter_unit_by_the_derived_unit_that_names_it():
    """An LC circuit's L/C, fitted in kg**2*m**4/(s**6*A**4), is exported as ohm**2 (text) and
    Omega squared (LaTeX); result.json keeps the base units, which scripts parse."""
    dataset = oscillator()
    law = oscillator_laws(dataset)[0]
    ohms = law.replace(parameters=(Parameter("c0", 250.0, parse_unit("ohm**2").dimension),))
    result = result_of(dataset, [ohms])
    assert "c0 = 250.0 [ohm**2]" in export_laws(result, "python")
    assert r"$c_{0} = 250.0\,\Omega^{2}$" in export_laws(result, "latex")
    assert ohms.parameters[0].to_dict()["unit"] == "kg**2*m**4/(s**6*A**4)"


def test_law_table_marks_and_precision():
    dataset = oscillator()
    laws = oscillator_laws(dataset)
    lines = law_table(laws, 3)
    assert lines[0].split()[:4] == ["rank", "law", "(declared", "units)"]
    assert "IP" in lines[2] and lines[-2] == "... 1 more candidates (candidates.csv has them all)"
    approximate = laws[0].replace(quality="approximate", expression=laws[0].expression * sympy.Float(1.23456789))
    assert "approx." in law_table([approximate])[2] and "1.23457" in law_table([approximate])[2]


def test_a_rejected_law_says_why_in_the_table_and_in_result_json():
    law = oscillator_laws(oscillator())[0]
    rejected = law.replace(accepted=False, independent=False, pareto=False, quality="rejected", rejection="series")
    lines = law_table([rejected, law])
    assert "rejected (series)" in lines[2] and "rejected (" not in lines[3]
    assert lines[-1] == f"rejected (series): {REJECTIONS['series']}"
    back = Law.from_dict(json.loads(json.dumps(rejected.to_dict())), rejected.columns)
    assert (back.quality, back.rejection) == ("rejected", "series")
    assert Law.from_dict(law.to_dict(), law.columns).rejection is None


def test_a_dependent_law_shows_the_laws_it_is_a_function_of_in_the_table_and_result_json():
    first, second = oscillator_laws(oscillator())[:2]
    dependent = second.replace(independent=False, pareto=False, function_of=(1, 3))
    lines = law_table([first, dependent])
    assert " f(1,3) " in lines[3] and " f(" not in lines[2]
    assert lines[-1].endswith(", f(1,2) = a function of laws 1 and 2 at the data")
    assert "f(1,2)" not in law_table([first])[-1]
    back = Law.from_dict(json.loads(json.dumps(dependent.to_dict())), dependent.columns)
    assert back.function_of == (1, 3) and Law.from_dict(first.to_dict(), first.columns).function_of == ()


def test_a_coefficient_that_rounds_to_one_prints_as_the_integer():
    """Fitted at 0.9999999999 (noiseless data), a coefficient prints as 1 in tables and LaTeX
    (``vx**2 - y``, not ``1.0*vx**2 - 1.0*y``); one that rounds to 3 keeps its float, and the
    file form keeps full precision."""
    from conslaw.report.printing import law_text

    columns = StateColumns(("vx", "y"), (parse_unit("m/s").dimension, parse_unit("m").dimension), ("m/s", "m"),
                           (1.0, 1.0))
    s = column_symbols(("vx", "y"))
    expression = (sympy.Float(0.99999999999) * s["vx"] ** 2 - sympy.Float(1.0000000002) * s["y"]
                  + sympy.Float(2.9999999999) * s["vx"] * s["y"])
    law = Law(expression, columns, parse_unit("m**2/s**2").dimension, 9, "terms", "vx**2 + ...", (),
              Evidence(1e-18, 2e-18, 0.4, 1e-18), accepted=True, quality="exact", independent=True, rank=1)
    assert law_text(law, digits=6) == "vx**2 + 3.0*vx*y - y"
    assert law.latex() == r"\mathit{vx}^{2} + 3.0 \cdot \mathit{vx} \cdot y - y"  # not v x y
    assert "0.99999999999" in law_text(law)


def test_greek_letters_in_column_names_are_typeset_as_latex_commands():
    """A file's header 'θ [rad]' made a law ``9.7969 θ^{2} + ω^{2}``, which LaTeX's math mode
    cannot read; each Greek letter is its command, and a name of several letters one italic name."""
    from conslaw.law import latex_names

    names = ("θ", "ω_1", "Ω", "λ", "ωx", "theta", "q")
    typeset = {str(symbol): text for symbol, text in latex_names(names).items()}
    assert typeset == {"θ": r"\theta", "ω_1": r"\omega_{1}", "Ω": r"\Omega", "λ": r"\lambda",
                       "ωx": r"\mathit{\omega{}x}"}
    s = column_symbols(("θ", "ω"))
    columns = StateColumns(("θ", "ω"), (parse_unit("rad").dimension, parse_unit("rad/s").dimension),
                           ("rad", "rad/s"), (1.0, 1.0))
    law = Law(s["ω"] ** 2 + sympy.Float(9.7969) * s["θ"] ** 2, columns, parse_unit("rad**2/s**2").dimension, 7,
              "terms", "ω**2 + c*θ**2", (), Evidence(1e-18, 2e-18, 0.4, 1e-18), accepted=True, quality="exact",
              independent=True, rank=1)
    assert law.latex() == r"9.7969 \cdot \theta^{2} + \omega^{2}"
