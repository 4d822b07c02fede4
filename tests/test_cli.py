"""The command line end to end: search, bad input, run directories, resume and export."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from conslaw.cli import main


def conslaw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "conslaw", *args], capture_output=True,
                          text=True, cwd=cwd)


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


QUICK = ("--no-tailor", "--depth", "5", "--quiet", "--no-plots")


def write_csv(path: Path, rows, header="trajectory,t,q,p"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def pendulum_rows(n_traj=6, n=30, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_traj):
        q0 = rng.uniform(0.5, 1.5)
        t = np.linspace(0, 3, n)
        # Small-angle oscillator in degrees: energy p**2 + c*q**2 is conserved.
        q = q0 * np.cos(2 * t)
        p = -q0 * np.sin(2 * t)
        rows += [(k, ti, np.degrees(qi), pi) for ti, qi, pi in zip(t, q, p)]
    return rows


def test_search_on_user_csv_in_degrees_finds_the_energy(tmp_path):
    data = write_csv(tmp_path / "osc.csv", pendulum_rows())
    out = tmp_path / "run"
    result = invoke("search", "--data", str(data), "--units", "q=deg,p=kg*m**2/s",
                    "--out", str(out), "--no-tailor", "--quiet", "--no-plots")
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "result.json").read_text())
    top = saved["candidates"][0]
    assert top["accepted"]
    expr = sympy.expand(sympy.sympify(top["expression"]))
    q, p = sympy.symbols("q p")
    ratio = float(expr.coeff(q**2) / expr.coeff(p**2))
    assert ratio == pytest.approx(1.0, rel=1e-3)  # q was converted from degrees to radians
    assert saved["dataset"]["units"] == {"q": "rad", "p": "kg*m**2/s"}
    for name in ("candidates.csv", "formulas.tex", "config.json", "conslaw.log"):
        assert (out / name).is_file()


@pytest.mark.parametrize("rows, header, culprit", [
    ([(0, 0.0, "nan", 1.0), (0, 1.0, 1.0, 1.0), (0, 2.0, 1.0, 2.0)], "trajectory,t,q,p", "q"),
    ([(0, 0.0, "abc", 1.0), (0, 1.0, 1.0, 1.0), (0, 2.0, 1.0, 2.0)], "trajectory,t,q,p", "abc"),
    ([(0, 0.0, 1.0), (0, 1.0, 2.0), (0, 2.0, 3.0)], "trajectory,t,q", "p"),
    ([(0, 0.0, 1.0, 1.0)], "trajectory,t,q,p", "3"),
    ([(0, 1.0, 1.0, 1.0), (0, 0.5, 2.0, 1.0), (0, 2.0, 1.0, 2.0)], "trajectory,t,q,p", "time"),
])
def test_bad_data_is_one_line_nonzero_without_traceback(tmp_path, rows, header, culprit):
    data = write_csv(tmp_path / "bad.csv", rows, header)
    result = conslaw("search", "--data", str(data), "--units", "q=rad,p=kg*m**2/s",
                     "--out", str(tmp_path / "run"), *QUICK)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert culprit in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, culprit, code", [
    (("--data", "missing.csv", "--units", "q=rad,p=rad/s"), "missing.csv", 1),
    (("--data", "empty.csv", "--units", "q=rad,p=rad/s"), "empty", 1),
    (("--data", "ok.csv", "--units", "q=rad,p=furlongz"), "furlongz", 2),
    (("--dataset", "no-such-system"), "no-such-system", 2),
    (("--dataset", "pendulum", "--data", "ok.csv", "--units", "q=rad"), "exactly one", 2),
])
def test_bad_options_and_files(tmp_path, args, culprit, code):
    (tmp_path / "empty.csv").write_text("")
    write_csv(tmp_path / "ok.csv", pendulum_rows(2))
    result = conslaw("search", *args, *QUICK, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert culprit in result.stderr
    assert "Traceback" not in result.stderr


def test_existing_run_is_refused_and_never_destroyed(tmp_path):
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "spring", "--out", str(out), *QUICK).exit_code == 0
    before = (out / "result.json").read_bytes()
    again = conslaw("search", "--dataset", "spring", "--out", str(out), *QUICK)
    assert again.returncode != 0 and "--overwrite" in again.stderr
    failing = conslaw("search", "--data", str(tmp_path / "nope.csv"), "--units", "q=m,p=kg*m/s",
                      "--out", str(out), "--overwrite", *QUICK)
    assert failing.returncode != 0
    assert (out / "result.json").read_bytes() == before


def test_resume_finishes_an_interrupted_run_with_identical_results(tmp_path):
    full, partial = tmp_path / "full", tmp_path / "partial"
    assert invoke("search", "--dataset", "spring", "--out", str(full), *QUICK).exit_code == 0
    assert invoke("search", "--dataset", "spring", "--out", str(partial), *QUICK).exit_code == 0
    # Simulate a kill after the first fitted chunk: later checkpoints and the results vanish.
    checkpoints = partial / "checkpoints"
    for path in checkpoints.glob("fit-chunk-*"):
        if not path.name.startswith("fit-chunk-0."):
            path.unlink()
    (partial / "result.json").unlink()
    result = invoke("search", "--resume", str(partial), "--quiet")
    assert result.exit_code == 0, result.output
    first = json.loads((full / "result.json").read_text())
    second = json.loads((partial / "result.json").read_text())
    assert first["candidates"] == second["candidates"]
    assert first["counts"] == second["counts"]


def test_resume_of_a_non_run_directory_is_refused(tmp_path):
    (tmp_path / "stuff").mkdir()
    result = conslaw("search", "--resume", str(tmp_path / "stuff"), "--quiet")
    assert result.returncode != 0 and "not a conslaw run" in result.stderr


def test_export_formats_round_trip(tmp_path):
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "spring", "--out", str(out), *QUICK).exit_code == 0
    law = json.loads((out / "result.json").read_text())["candidates"][0]["expression"]
    exported = invoke("export", str(out), "--format", "sympy", "--top", "1").output
    assert str(sympy.sympify(law)) in exported
    bad = conslaw("export", str(out), "--format", "docx")
    assert bad.returncode == 2 and "docx" in bad.stderr


def test_full_pipeline_small_writes_evaluation_rollouts_and_plots(tmp_path):
    out = tmp_path / "run"
    result = invoke("search", "--dataset", "pendulum", "--mode", "terms", "--seeds", "1",
                    "--meta-epochs", "2", "--top", "2", "--inner-lrs", "0.1", "--quiet",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "result.json").read_text())
    selected = sympy.expand(sympy.sympify(saved["selected"]["expression"]))
    q, p = sympy.symbols("q p")
    assert float(selected.coeff(sympy.cos(q)) / selected.coeff(p**2)) == pytest.approx(-3, rel=1e-2)
    evaluation = saved["evaluation"]
    for method in ("vanilla", "finetune", "tailored", "noether", "oracle", "hnn"):
        assert np.isfinite(evaluation[f"{method}_rmse"]), method
    assert saved["candidates"][0]["tailoring"]["best_inner_lr"] in (0.0, 0.1)
    with np.load(out / "rollouts.npz") as rollouts:
        assert {"times", "truth", "vanilla", "noether", "oracle"} <= set(rollouts.files)
        assert rollouts["noether"].shape == rollouts["truth"].shape
    assert {p.name for p in (out / "plots").glob("*.png")} >= {"rollouts.png", "phase_q_p.png"}


def test_canonical_pairs_give_generators_brackets_and_the_flow_figure(tmp_path):
    out = tmp_path / "run"
    result = invoke("search", "--dataset", "oscillator2d", "--mode", "terms", "--no-tailor",
                    "--canonical", "x:px,y:py", "--quiet", "--out", str(out))
    assert result.exit_code == 0, result.output
    symmetries = json.loads((out / "result.json").read_text())["symmetries"]
    assert symmetries["pairs"] == [["x", "px"], ["y", "py"]]
    x, y, px, py = sympy.symbols("x y px py")
    for entry in symmetries["generators"].values():
        law = sympy.sympify(entry["law"])
        assert sympy.simplify(sympy.sympify(entry["generator"]["x"]) - sympy.diff(law, px)) == 0
        assert sympy.simplify(sympy.sympify(entry["generator"]["px"]) + sympy.diff(law, x)) == 0
    # Every independent law commutes with the energy (each is conserved).
    assert all(b["zero"] for b in symmetries["brackets"] if b["right"] == "H")
    assert (out / "plots" / "symmetry_flows.png").is_file()
    bad = conslaw("search", "--dataset", "oscillator2d", "--canonical", "x:q", "--no-tailor",
                  "--out", str(tmp_path / "bad"))
    assert bad.returncode != 0 and "q" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()  # rejected before the run directory is made


def test_search_runs_end_to_end_on_a_dask_local_cluster(tmp_path):
    out = tmp_path / "run"
    result = invoke("search", "--dataset", "spring", "--mode", "formulas", "--backend", "dask",
                    "--jobs", "2", "--out", str(out), *QUICK)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "result.json").read_text())
    local = tmp_path / "local"
    assert invoke("search", "--dataset", "spring", "--mode", "formulas", "--out", str(local),
                  *QUICK).exit_code == 0
    assert saved["candidates"] == json.loads((local / "result.json").read_text())["candidates"]
    assert saved["config"]["backend"] == "dask"


def test_independence_is_checked_numerically_and_symbolically(tmp_path):
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "oscillator2d", "--mode", "terms", "--out", str(out),
                  *QUICK).exit_code == 0
    independence = json.loads((out / "result.json").read_text())["independence"]
    assert independence["numerical"] == 3
    assert independence["symbolic_rank_of_independent"] == 3
    assert independence["symbolic_rank_of_accepted"] == 3  # the fourth law is a function of them
