"""The command line end to end: search, bad input, options, API = CLI, export (run directories
and resume: ``test_cli_runs.py``)."""
import csv
import json
import os
import re

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from cli_cases import QUICK, in_process, invoke, oscillator_rows, write_csv
from conslaw.cli import main
from conslaw.datasets import list_datasets, load_file, make_variant
from conslaw.engine import ConservationSearch
from conslaw.errors import ConslawError, UsageError


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
    (("--dataset", "saddle", "--variant", "rate=50", "--option", "rate=2"), "--option rate: rate is no constant", 2),
    (("--dataset", "pendulum", "--option", "seed=3"), "give --seed", 2),
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
    expect = "omega**2 - 12*cos(theta); omega**2 + 12*cos(theta); theta; omega**2 - 11*cos(theta); exp(omega**90)"
    result = invoke("search", "--data", str(data), "--units", variant.units_spec(), "--expect", expect,
                    "--out", str(out), *QUICK)
    assert result.exit_code == 0, result.output
    entries = json.loads((out / "result.json").read_text())["expected_laws"]
    assert [entry["law"] for entry in entries] == [law.strip() for law in expect.split(";")]
    verdicts = [(entry["conserved"], entry["exact"], entry["found"]) for entry in entries]
    assert verdicts == [(True, True, True), (False, False, False), (False, False, False), (True, False, False),
                        (False, False, False)]
    # exp(omega**90) overflows on the control's refit: no margin, rather than "inf times better than chance"
    assert entries[0]["margin"] > 1e6 and entries[1]["margin"] < 10 and entries[4]["margin"] is None
    assert re.search(r"exp\(omega\*\*90\): NOT conserved beyond the threshold \(ratio [0-9.]+\); NOT reached", result.output)
    assert "omega**2 + 12*cos(theta): NOT conserved" in result.output
    assert "omega**2 - 11*cos(theta): conserved approximately" in result.output


def test_tailoring_estimated_past_the_memory_limit_is_refused_before_discovery(tmp_path):
    result = in_process("search", "--dataset", "pendulum", "--inner-steps", "3", "--tailor-max-memory-gb", "1",
                        "--out", "run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: tailoring would need about ") and "--inner-steps" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_an_enumeration_past_the_budget_points_a_search_of_both_kinds_to_the_multi_term_search(tmp_path):
    """Many columns make the whole-formula space too large at the default depth, while the
    multi-term search alone still runs (30 columns: 36 s); the refusal says so where it applies."""
    both = in_process("search", "--dataset", "pendulum", "--depth", "12", "--out", "run", cwd=tmp_path)
    assert both.returncode == 2 and both.stderr.startswith("error: --depth 12 would enumerate about ")
    assert both.stderr.endswith("lower --depth or raise --max-formulas and --max-memory-gb, or pass --mode terms "
                                "(the multi-term search alone)\n")
    alone = in_process("search", "--dataset", "pendulum", "--depth", "12", "--mode", "formulas", "--out", "run",
                       cwd=tmp_path)
    assert alone.returncode == 2 and alone.stderr.endswith("raise --max-formulas and --max-memory-gb\n")


def test_a_term_library_estimated_past_the_memory_budget_is_refused_before_discovery(tmp_path):
    """--term-depth 10 on the pendulum peaked at 4.2 GB and 12 ran for ten minutes past 4 GB: the
    library's factors are estimated before any work, as the enumeration is."""
    result = in_process("search", "--dataset", "pendulum", "--term-depth", "10", "--out", "run", cwd=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "run").exists(), result.stderr
    assert re.fullmatch(r"error: --term-depth 10 would enumerate about [0-9.,e]+ formulas \(~[0-9.,e]+ GB\); the budget "
                        r"is 2e6 formulas / 2 GB: lower --term-depth or raise --max-memory-gb\n", result.stderr)
    # the paper's operators alone (no widening): about 2.3e4 factors and 4.4 GB, within a raised budget
    search = ConservationSearch(dataset="pendulum", term_depth=10, vocabulary="default", max_memory_gb=8.0, tailor=False)
    search.check_budget(search.load())
    with pytest.raises(UsageError, match=r"--term-depth 10 would enumerate about [0-9,]+ formulas \(~4\.[0-9] GB\)"):
        ConservationSearch(dataset="pendulum", term_depth=10, vocabulary="default", tailor=False).check_budget(search.load())


def test_a_training_estimated_past_its_minutes_is_refused_before_discovery(tmp_path):
    result = in_process("search", "--dataset", "pendulum", "--tailor-max-minutes", "0.01", "--out", "run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: the baselines' training would take about ") and "--seeds" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_the_training_estimate_counts_an_hnn_only_where_one_will_train(tmp_path):
    """--canonical that leaves columns out of its pairs trains no HNN (a warning says so), so the
    estimate that refuses the run counts the MLPs alone, as --no-hnn does."""
    for options in (["--canonical", "x:px"], ["--no-hnn"], []):
        result = in_process("search", "--dataset", "oscillator2d", "--tailor-max-minutes", "0.001", *options,
                            "--out", "run", cwd=tmp_path)
        assert result.returncode == 2 and not (tmp_path / "run").exists(), result.stderr
        assert ("of an MLP and an HNN with" in result.stderr) == (not options), result.stderr


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


def test_canonical_pairs_naming_no_column_are_refused_before_discovery(tmp_path):
    """They were parsed only for the symmetry analysis, after the whole discovery had run."""
    result = in_process("search", "--dataset", "spring", "--no-tailor", "--canonical", "q:x", "--out", "run",
                        cwd=tmp_path)
    assert result.returncode == 1 and not (tmp_path / "run").exists(), result.stderr
    assert result.stderr == "error: canonical pairs: unknown column 'x' (columns: q, p)\n"
    with pytest.raises(ConslawError, match=r"^canonical pairs: unknown column 'x'"):  # the API's fit too
        ConservationSearch(dataset="spring", canonical="q:x", tailor=False).run()


def test_data_dir_beside_a_data_file_is_refused(tmp_path):
    """--data names its file; --data-dir, which locates the recorded data sets, was ignored."""
    variant = make_variant("spring", coordinates="velocities")
    data = variant.write_csv(tmp_path / "spring.csv")
    result = in_process("search", "--data", str(data), "--units", variant.units_spec(), "--data-dir", str(tmp_path),
                        "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and not (tmp_path / "run").exists(), result.stderr
    assert "--data-dir locates the files of recorded data sets; --data names its file itself" in result.stderr


@pytest.mark.parametrize("options, culprit", [
    (("--max-seconds", "abc"), "--max-seconds must be a number or 'none' or '0', got 'abc'"),
    (("--max-seconds", "-3"), "--max-seconds must be > 0"), (("--window", "-1"), "--window must be >= 0"),
    (("--loss-dt", "abc"), "--loss-dt must be a number or 'none' or 'auto', got 'abc'"),
    (("--outer-lr", "-1"), "--outer-lr must be > 0"), (("--seed", "-1"), "--seed must be between 0 and 2**32 - 1")])
def test_a_bad_option_value_is_one_line_naming_the_option(options, culprit, tmp_path):
    result = in_process("search", "--dataset", "spring", "--out", str(tmp_path / "run"), *options)
    assert result.returncode == 2 and culprit in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, culprit", [
    (("search", "--bogus", "1"), "error: No such option '--bogus'"),
    (("search", "--depth", "abc"), "error: Invalid value for '--depth': 'abc' is not a valid integer"),
    (("search", "--mode", "xyz"), "error: Invalid value for '--mode': 'xyz' is not one of 'formulas', 'terms', 'both'"),
    (("enumerate", "--dataset", "pendulum"), "error: No such option '--dataset'"),
    (("bogus",), "error: No such command 'bogus'"),
    (("export",), "error: Missing argument 'RUN'")])
def test_a_usage_error_of_the_command_line_itself_is_one_line_naming_the_help(args, culprit):
    """click printed its usage, a hint and the error on three lines; now one, as conslaw's own."""
    result = in_process(*args)
    assert result.returncode == 2 and result.stderr.startswith(culprit), result.stderr
    assert result.stderr.strip().endswith(" --help' lists what is valid)")
    assert (f" {args[0]} --help'" in result.stderr) == (args[0] != "bogus")  # the subcommand's help
    assert len(result.stderr.strip().splitlines()) == 1 and "Usage:" not in result.stderr


def test_help_and_version_still_exit_0():
    assert in_process("--version").returncode == 0 and in_process("search", "--help").returncode == 0
    assert in_process("export", "--help").returncode == 0


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
