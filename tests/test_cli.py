"""The command line end to end: search, bad input, run directories, resume, API = CLI, export."""
import contextlib
import csv
import json
import os
import subprocess
import traceback
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from conslaw.cli import main
from conslaw.datasets import list_datasets, load_file, make_variant
from conslaw.engine import ConservationSearch
from conslaw.errors import ConslawError

QUICK = ("--no-tailor", "--depth", "5", "--quiet", "--no-plots", "--jobs", "1")


def conslaw(*args, cwd=None):
    """``conslaw ARGS`` in a fresh Python process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "conslaw", *args], capture_output=True, text=True, cwd=cwd)


def in_process(*args, cwd=None):
    """``conslaw ARGS`` in this process (no interpreter start-up): exit code and stderr as a user
    sees them; an exception the CLI lets escape shows up as a traceback in stderr."""
    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, stderr)


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_csv(path: Path, rows, header="trajectory,t,q,p"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def oscillator_rows(n_traj=6, n=40, seed=0):
    """A small-angle oscillator recorded with q in degrees: q**2 + p**2 (q in rad) is conserved."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_traj):
        amplitude, phase = rng.uniform(0.5, 1.5), rng.uniform(0, 2 * np.pi)
        t = np.linspace(0, 3, n)
        q, p = amplitude * np.cos(2 * t + phase), -amplitude * np.sin(2 * t + phase)
        rows += [(k, ti, np.degrees(qi), pi) for ti, qi, pi in zip(t, q, p)]
    return rows


@pytest.mark.parametrize("chosen", [None, "ACTIVE"])
def test_the_command_line_lets_torch_threads_sleep_unless_the_user_chose(monkeypatch, chosen):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    if chosen:
        monkeypatch.setenv("OMP_WAIT_POLICY", chosen)
    result = CliRunner().invoke(main, ["enumerate", "--units", "q=rad,p=1/s", "--depth", "3", "--count"])
    assert result.exit_code == 0, result.output
    assert os.environ["OMP_WAIT_POLICY"] == (chosen or "PASSIVE")


def test_user_csv_in_degrees_gives_the_law_in_the_users_units(tmp_path):
    data = write_csv(tmp_path / "osc.csv", oscillator_rows())
    out = tmp_path / "run"
    result = invoke("search", "--data", str(data), "--units", "q=deg,p=kg*m**2/s", "--out", str(out), *QUICK)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "result.json").read_text())
    top = saved["candidates"][0]
    assert top["accepted"] and top["quality"] == "exact"
    q, p = sympy.symbols("q p", real=True)
    si = sympy.expand(sympy.sympify(top["expression"], locals={"q": q, "p": p}))
    assert float(si.coeff(q**2) / si.coeff(p**2)) == pytest.approx(1.0, rel=1e-6)  # q in rad
    declared = sympy.lambdify((q, p), sympy.sympify(top["expression_declared"], locals={"q": q, "p": p}))
    rows = np.array(oscillator_rows())
    values = declared(rows[:, 2], rows[:, 3])  # the user's own columns, q in degrees
    per_trajectory = [np.ptp(values[rows[:, 0] == k]) for k in range(6)]
    assert max(per_trajectory) < 1e-9 * np.ptp(values)
    assert saved["columns"]["declared"] == ["deg", "kg*m**2/s"]
    for name in ("candidates.csv", "formulas.tex", "config.json", "conslaw.log"):
        assert (out / name).is_file()


@pytest.mark.parametrize("rows, header, culprit", [
    ([(0, 0.0, "nan", 1.0), (0, 1.0, 1.0, 1.0), (0, 2.0, 1.0, 2.0)], "trajectory,t,q,p", "q"),
    ([(0, 0.0, "abc", 1.0), (0, 1.0, 1.0, 1.0), (0, 2.0, 1.0, 2.0)], "trajectory,t,q,p", "abc"),
    ([(0, 0.0, 1.0), (0, 1.0, 2.0), (0, 2.0, 3.0)], "trajectory,t,q", "p"),
    ([(0, 0.0, 1.0, 1.0)], "trajectory,t,q,p", "3"),
    ([(0, 1.0, 1.0, 1.0), (0, 0.5, 2.0, 1.0), (0, 1.0, 1.0, 2.0)], "trajectory,t,q,p", "two samples at t=1.0"),
])
def test_bad_data_is_one_line_nonzero_without_traceback(tmp_path, rows, header, culprit):
    data = write_csv(tmp_path / "bad.csv", rows, header)
    result = in_process("search", "--data", str(data), "--units", "q=rad,p=kg*m**2/s",
                     "--out", str(tmp_path / "run"), *QUICK)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert culprit in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, culprit, code", [
    (("--data", "missing.csv", "--units", "q=rad,p=rad/s"), "missing.csv", 1),
    (("--data", "empty.csv", "--units", "q=rad,p=rad/s"), "empty", 1),
    (("--data", "ok.csv", "--units", "q=rad,p=furlongz"), "furlongz", 2),
    (("--dataset", "no-such-system"), "no-such-system", 2),
    (("--dataset", "pendulum", "--data", "ok.csv", "--units", "q=rad"), "exactly one", 2),
    (("--data", "ok.csv", "--units", "q=rad,p=rad/s", "--noise", "0.1"), "--noise", 2),
    (("--data", "ok.csv", "--units", "q=rad,p=rad/s", "--option", "n_points=9"), "--option", 2),
    (("--dataset", "pendulum", "--operators", "+sin,+frobnicate"), "frobnicate", 2),
    (("--dataset", "pendulum", "--depth", "12"), "--depth", 2),
    (("--dataset", "pendulum", "--threshold", "0.5"), "--threshold", 2),
    (("--dataset", "pendulum", "--jobs", "-1"), "--jobs", 2),
    (("--dataset", "pendulum", "--expect", "p**2 - 3*cos(q); p**2 + z"), "z", 1),
    (("--dataset", "pendulum", "--expect", "3"), "'3'", 1),
    (("--dataset", "pendulum", "--variant", "colour=red"), "--variant has no key 'colour'", 2),
    (("--dataset", "pendulum", "--variant", "coordinates=polar"), "coordinates='polar'", 2),
    (("--dataset", "pendulum", "--variant", "rate=50", "--noise", "0.1"), "--noise (SI units)", 2),
    (("--dataset", "real-pendulum", "--variant", "rate=50"), "'real-pendulum' is recorded", 2),
    (("--dataset", "spring", "--variant", "angle_unit=deg"), "'spring' in these coordinates has no angle", 2),
    (("--data", "ok.csv", "--units", "q=rad,p=rad/s", "--variant", "rate=50"), "--variant", 2),
])
def test_bad_options_and_files(tmp_path, args, culprit, code):
    (tmp_path / "empty.csv").write_text("")
    write_csv(tmp_path / "ok.csv", oscillator_rows(2))
    valued = {"--depth": "5", "--jobs": "1"}  # QUICK's options with a value, unless args set them
    quick = [a for a in QUICK if a not in valued and a not in valued.values()]
    quick += [a for flag, value in valued.items() if flag not in args for a in (flag, value)]
    result = in_process("search", *args, *quick, "--out", "run", cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert culprit in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_expected_laws_are_judged_as_given_and_marked_reached_or_not(tmp_path):
    """A user's pendulum file in degrees: the laws they expect are written in SI (radians), so the
    energy is ``omega**2 - 12*cos(theta)`` whatever the file's units; a wrong sign and a column
    alone are not conserved, a coefficient 8 % off is conserved but not exact, and the run says
    which laws its accepted ones reach."""
    variant = make_variant("pendulum", coordinates="velocities", angle_unit="deg", rate=50)
    data, out = variant.write_csv(tmp_path / "pendulum.csv"), tmp_path / "run"
    expect = "omega**2 - 12*cos(theta); omega**2 + 12*cos(theta); theta; omega**2 - 11*cos(theta)"
    result = invoke("search", "--data", str(data), "--units", variant.units_spec(), "--expect", expect,
                    "--out", str(out), *QUICK)
    assert result.exit_code == 0, result.output
    entries = json.loads((out / "result.json").read_text())["expected_laws"]
    assert [entry["law"] for entry in entries] == [law.strip() for law in expect.split(";")]
    verdicts = [(entry["conserved"], entry["exact"], entry["found"]) for entry in entries]
    assert verdicts == [(True, True, True), (False, False, False), (False, False, False), (True, False, False)]
    assert entries[0]["margin"] > 1e6 and entries[1]["margin"] < 10
    assert "omega**2 + 12*cos(theta): NOT conserved" in result.output
    assert "omega**2 - 11*cos(theta): conserved approximately" in result.output


def test_tailoring_estimated_past_the_memory_limit_is_refused_before_discovery(tmp_path):
    result = in_process("search", "--dataset", "pendulum", "--inner-steps", "3", "--tailor-max-memory-gb", "1",
                        "--out", "run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: tailoring would need about ") and "--inner-steps" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_existing_run_is_refused_and_never_destroyed(tmp_path):
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "spring", "--out", str(out), *QUICK).exit_code == 0
    before = (out / "result.json").read_bytes()
    assert json.loads(before)["known_laws"] == [{"name": "energy", "law": "p**2 + q**2", "found": True, "near": None}]
    again = conslaw("search", "--dataset", "spring", "--out", str(out), *QUICK)
    assert again.returncode != 0 and "--overwrite" in again.stderr
    bad_option = in_process("search", "--dataset", "spring", "--option", "nosuch=1", "--out", str(out), *QUICK)
    assert bad_option.returncode == 2 and "no option(s) nosuch" in bad_option.stderr  # the bad input first
    failing = in_process("search", "--data", str(tmp_path / "nope.csv"), "--units", "q=m,p=kg*m/s",
                      "--out", str(out), "--overwrite", *QUICK)
    assert failing.returncode != 0
    assert (out / "result.json").read_bytes() == before


def test_resume_finishes_an_interrupted_run_with_identical_results(tmp_path):
    out = tmp_path / "run"
    deeper = (*QUICK, "--depth", "6", "--option", "n_trajectories=20")  # several chunks; last --depth wins
    assert invoke("search", "--dataset", "spring", "--mode", "formulas", "--out", str(out), *deeper).exit_code == 0
    first = json.loads((out / "result.json").read_text())
    chunks = sorted((out / "checkpoints" / "formulas").glob("chunk-*"))
    assert len(chunks) > 1
    for path in chunks[1:]:  # as if killed after the first chunk
        path.unlink()
    (out / "result.json").unlink()
    result = invoke("search", "--resume", str(out), "--jobs", "2", "--quiet")
    assert result.exit_code == 0, result.output
    second = json.loads((out / "result.json").read_text())
    assert first["candidates"] == second["candidates"]
    assert second["config"]["parallel"]["jobs"] == 2  # a neutral option applies on resume


def test_a_run_started_with_overwrite_resumes(tmp_path):
    """Its stored --overwrite made every --resume fail ("--overwrite excludes --resume")."""
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "spring", "--out", str(out), "--overwrite", *QUICK).exit_code == 0
    first = json.loads((out / "result.json").read_text())
    (out / "result.json").unlink()
    result = invoke("search", "--resume", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    second = json.loads((out / "result.json").read_text())
    assert second["candidates"] == first["candidates"] and second["config"]["run"]["overwrite"] is False


@pytest.mark.parametrize("args, culprit", [(("--depth", "6"), "--depth"), (("--overwrite",), "--overwrite"),
                                            (("--threshold", "10"), "--threshold")])
def test_resume_with_a_changed_option_is_refused(tmp_path, args, culprit):
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "spring", "--out", str(out), *QUICK).exit_code == 0
    result = in_process("search", "--resume", str(out), *args)
    assert result.returncode == 2 and culprit in result.stderr and "Traceback" not in result.stderr


def test_resume_of_a_non_run_directory_is_refused(tmp_path):
    (tmp_path / "stuff").mkdir()
    result = in_process("search", "--resume", str(tmp_path / "stuff"), "--quiet")
    assert result.returncode != 0 and "not a conslaw run" in result.stderr


def test_api_and_cli_give_identical_candidates(tmp_path):
    variant = make_variant("spring", coordinates="velocities")
    data = variant.write_csv(tmp_path / "spring.csv")
    out = tmp_path / "run"
    assert invoke("search", "--data", str(data), "--units", variant.units_spec(), "--out", str(out), *QUICK).exit_code == 0
    cli = json.loads((out / "result.json").read_text())["candidates"]
    search = ConservationSearch(depth=5, jobs=1).fit(load_file(data, variant.units_spec()))
    assert [law.to_dict() for law in search.laws_] == cli


def test_a_built_in_system_recorded_otherwise_through_variant_and_the_api(tmp_path):
    """``--variant`` records a built-in system otherwise from the command line: the pendulum's bob
    tracked at 50 Hz gives its energy ``vx**2 + vy**2 + 2 g y`` (g = 6) with the rod's two
    constraints as identities; the Python API takes the same keys as a mapping and gives the
    same candidates."""
    out = tmp_path / "run"
    options = ("--dataset", "pendulum", "--variant", "coordinates=cartesian", "--variant", "rate=50")
    assert invoke("search", *options, "--out", str(out), *QUICK).exit_code == 0
    saved = json.loads((out / "result.json").read_text())
    accepted = [law for law in saved["candidates"] if law["accepted"]]
    assert len(accepted) == 1
    x, y, vx, vy = sympy.symbols("x y vx vy", real=True)
    energy = sympy.expand(sympy.sympify(accepted[0]["expression"], locals={"x": x, "y": y, "vx": vx, "vy": vy}))
    assert float(energy.coeff(y) / energy.coeff(vx**2)) == pytest.approx(12.0, rel=1e-6)
    assert float(energy.coeff(vy**2) / energy.coeff(vx**2)) == pytest.approx(1.0, rel=1e-6)
    assert sum(law["quality"] == "identity" for law in saved["candidates"]) == 2
    search = ConservationSearch(dataset="pendulum", variant={"coordinates": "cartesian", "rate": 50},
                                depth=5, jobs=1).fit()
    assert [law.to_dict() for law in search.laws_] == saved["candidates"]


def test_columns_named_like_sympy_constants_go_through_the_whole_search(tmp_path):
    variant = make_variant("oscillator2d", n_trajectories=20)
    columns = ("E", "I", "S", "N")
    rows = []
    for k, trajectory in enumerate(variant.dataset.train + variant.dataset.test):
        rows += [(k, t, *x) for t, x in zip(trajectory.t, trajectory.x)]
    data = write_csv(tmp_path / "odd.csv", rows, "trajectory,t," + ",".join(columns))
    out = tmp_path / "run"
    result = invoke("search", "--data", str(data), "--units", "E=m,I=m,S=kg*m/s,N=kg*m/s", "--out", str(out),
                    "--mode", "terms", "--no-tailor", "--quiet", "--no-plots", "--jobs", "1")  # reaches the energies, L
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "result.json").read_text())
    assert saved["independence"]["numerical"] == saved["independence"]["symbolic_rank_of_independent"] >= 2
    assert {str(s) for law in ConservationSearch.from_run(out).independent_laws_
            for s in law.expression.free_symbols} <= set(columns)


def test_a_run_rebuilt_from_its_directory_tailors_on_its_data_loaded_again(tmp_path):
    """``from_run(...).tailor()`` on a discovery-only run (``--no-tailor``) loads the file the run
    names again (it failed with an AttributeError: the rebuilt search had no data); a file that
    changed since, or a run on arrays, which keeps no data, is refused in one line."""
    data = write_csv(tmp_path / "lab.csv", oscillator_rows(n_traj=8))
    out = tmp_path / "run"
    assert invoke("search", "--data", str(data), "--units", "q=deg,p=1/s", "--out", str(out), *QUICK).exit_code == 0
    assert json.loads((out / "result.json").read_text())["dataset"]["states_sha256"]
    search = ConservationSearch.from_run(out)
    search.config = search.config.with_options(tailor=True, seeds=1, hidden=16, train_steps=40, meta_epochs=2,
                                               top=1, pool_size=2, hnn=False, threads=1)
    search.tailor()
    assert search.tailoring_["selected"]["rank"] in {law.rank for law in search.laws_}
    assert search.result()["dataset"] == json.loads((out / "result.json").read_text())["dataset"]
    rows = oscillator_rows(n_traj=8)
    rows[5] = (*rows[5][:3], rows[5][3] + 1e-3)
    write_csv(data, rows)
    with pytest.raises(ConslawError, match="not those its discovery judged \\(states_sha256 differ\\)"):
        ConservationSearch.from_run(out).tailor()
    arrays = ConservationSearch(units={"q": "rad", "p": "1/s"}, depth=5, jobs=1, tailor=False)
    arrays.fit([np.array(rows, float)[k * 40:(k + 1) * 40, 2:] for k in range(8)], times=[np.linspace(0, 3, 40)] * 8)
    arrays_run = tmp_path / "arrays.json"
    arrays_run.write_text(json.dumps(arrays.result()))
    with pytest.raises(ConslawError, match="rebuilt from a run on arrays"):
        ConservationSearch.from_run(arrays_run).tailor()


def test_the_built_in_data_sets_and_their_options_are_listed():
    """``conslaw datasets`` names every built-in data set; with a name, its columns with units
    and each option's default, unit and meaning (the options ``--option`` takes); an unknown
    name is a one-line error listing the valid ones."""
    listing = invoke("datasets")
    assert listing.exit_code == 0
    names = [line.split()[0] for line in listing.output.splitlines() if line and not line.startswith("conslaw")]
    assert names == list_datasets()
    one = invoke("datasets", "oscillator2d")
    assert one.exit_code == 0
    assert "columns: x [m], y [m], px [kg*m/s], py [kg*m/s]" in one.output
    assert "  kx = 2.0 [N/m]  spring constant along x" in one.output and "  anisotropic = False" in one.output
    assert "  velocities: x [m], y [m], vx [m/s], vy [m/s]; positions x, y and velocities" in one.output
    assert "  cartesian: x [m], y [m], vx [m/s], vy [m/s]; the bob's position" in invoke("datasets", "pendulum").output
    unknown = in_process("datasets", "oscilator2d")
    assert unknown.returncode == 2 and "unknown dataset 'oscilator2d'; valid names: pendulum" in unknown.stderr


def test_export_formats_round_trip(tmp_path):
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "spring", "--out", str(out), *QUICK).exit_code == 0
    law = ConservationSearch.from_run(out).laws_[0]
    exported = invoke("export", str(out), "--format", "sympy", "--top", "1").output
    assert str(law.sympy()) in exported or sympy.srepr(law.sympy()) in exported
    bad = in_process("export", str(out), "--format", "docx")
    assert bad.returncode == 2 and "docx" in bad.stderr
    (out / "result.json").unlink()  # as if the run had been interrupted
    unfinished = in_process("export", str(out), "--format", "json")
    assert unfinished.returncode == 1 and f"finish it with: conslaw search --resume {out}" in unfinished.stderr
    for path, message in ((tmp_path, "is not a conslaw run directory"), (tmp_path / "absent", "no such run")):
        other = in_process("plot", str(path))
        assert other.returncode == 1 and message in other.stderr and "Traceback" not in other.stderr


def test_a_tailoring_run_resumes_through_the_cli_with_identical_results(tmp_path, monkeypatch):
    models = tmp_path / "models"
    tiny = ("--dataset", "spring", "--depth", "7", "--mode", "formulas", "--option", "n_trajectories=20",
            "--seeds", "2", "--hidden", "16", "--train-steps", "60", "--meta-epochs", "3", "--top", "2",
            "--tailor-pool-size", "3", "--canonical", "p:q", "--quiet", "--no-plots", "--jobs", "1",
            "--threads", "1", "--model-cache", str(models))
    out = tmp_path / "run"
    assert invoke("search", *tiny, "--out", str(out)).exit_code == 0
    first = json.loads((out / "result.json").read_text())["tailoring"]
    stored = sorted((out / "checkpoints" / "tailoring").rglob("*.pkl"))
    assert any("stage2" in str(path) for path in stored)
    assert not (out / "checkpoints" / "models").exists() and any(models.rglob("train_ensemble*"))
    for path in stored:  # as if killed after stage 1
        if "stage1" not in str(path):
            path.unlink()
    (out / "result.json").unlink()

    def no_training(*args, **kwargs):
        raise AssertionError("a model in --model-cache was trained again")

    monkeypatch.setattr("conslaw.tailoring.models.build_model", no_training)
    result = invoke("search", "--resume", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    second = json.loads((out / "result.json").read_text())["tailoring"]
    assert first["candidates"] == second["candidates"] and first["evaluation"] == second["evaluation"]
    assert first["selected"] is not None and first["evaluation"]["seeds"] == [0, 1]
    assert first["protocol"]["hnn_pairs"] == "p:q" and len(first["evaluation"]["per_seed"]["hnn"]) == 2



def test_a_model_cache_that_cannot_be_a_directory_is_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("")
    bad = in_process("search", "--dataset", "spring", "--model-cache", str(tmp_path / "file"),
                     "--out", str(tmp_path / "run"), "--depth", "5", "--quiet", "--jobs", "1")
    assert bad.returncode == 2 and "--model-cache" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("options, culprit", [
    (("--no-tailor", "--seeds", "3"), "--seeds has no effect with --no-tailor"),
    (("--no-tailor", "--model-cache", "models"), "--model-cache has no effect with --no-tailor"),
    (("--mode", "formulas", "--term-depth", "2"), "--term-depth has no effect with --mode formulas"),
    (("--mode", "terms", "--depth", "9"), "--depth has no effect with --mode terms"),
    (("--mode", "terms", "--max-formulas", "10"), "--max-formulas has no effect with --mode terms"),
    (("--mode", "terms", "--no-unit-check"), "--no-unit-check has no effect with --mode terms"),
    (("--time-column", "time"), "--time-column names a column of a --data file"),
    (("--data-dir", "."), "--data-dir locates the files of recorded data sets; 'spring' is simulated")])
def test_an_option_the_search_would_not_read_is_refused(options, culprit, tmp_path):
    result = in_process("search", "--dataset", "spring", "--out", str(tmp_path / "run"), *options)
    assert result.returncode == 2 and culprit in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("options, culprit", [
    (("--max-seconds", "abc"), "--max-seconds must be a number or 'none' or '0', got 'abc'"),
    (("--max-seconds", "-3"), "--max-seconds must be > 0"), (("--window", "-1"), "--window must be >= 0"),
    (("--loss-dt", "abc"), "--loss-dt must be a number or 'none' or 'auto', got 'abc'"),
    (("--outer-lr", "-1"), "--outer-lr must be > 0"), (("--seed", "-1"), "--seed must be between 0 and 2**32 - 1")])
def test_a_bad_option_value_is_one_line_naming_the_option(options, culprit, tmp_path):
    result = in_process("search", "--dataset", "spring", "--out", str(tmp_path / "run"), *options)
    assert result.returncode == 2 and culprit in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_python_warnings_are_one_line_and_the_hook_is_restored(tmp_path):
    """A file whose rows are not in time order gives a Python warning: it reaches the user as one
    line, without the file, line and category Python prints, and the hook ends with the command.
    Three bodies sampled 20 times: the sampling warning is the result's, in the summary once."""
    import warnings

    rows = list(csv.reader(make_variant("spring", n_points=40).write_csv(tmp_path / "s.csv").open()))
    shuffled = [rows[0]] + [rows[1:][i] for i in np.random.default_rng(0).permutation(len(rows) - 1)]
    with (tmp_path / "shuffled.csv").open("w", newline="") as file:
        csv.writer(file).writerows(shuffled)
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # shown even where this process has shown it before
        hook = warnings.showwarning
        result = in_process("search", "--data", str(tmp_path / "shuffled.csv"), "--units", "q=m,p=kg*m/s",
                            "--mode", "formulas", "--depth", "3", "--no-tailor", "--quiet", "--no-plots",
                            "--out", str(tmp_path / "run"))
        assert warnings.showwarning is hook
        three_body = in_process("search", "--dataset", "three-body", "--option", "n_points=20", "--mode",
                                "formulas", "--depth", "3", "--no-tailor", "--quiet", "--no-plots", "--out",
                                str(tmp_path / "run3"))
    assert result.returncode == 0 == three_body.returncode, result.stderr + three_body.stderr
    lines = [line for line in result.stderr.splitlines() if "not in time order" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: the rows of ")
    assert "UserWarning" not in result.stderr and ".py:" not in result.stderr
    assert three_body.stdout.count("faster than the sampling resolves") == 1
