"""Run directories: an earlier run is never destroyed, interrupted runs resume with identical
results, and a run rebuilt from its directory tailors on its data."""
import json

import numpy as np
import pytest

from cli_cases import QUICK, conslaw, in_process, invoke, oscillator_rows, write_csv
from conslaw.engine import ConservationSearch
from conslaw.errors import ConslawError


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
                                            (("--threshold", "10"), "--threshold"),
                                            (("--out", "elsewhere"), "--out elsewhere with --resume")])
def test_resume_with_a_changed_option_is_refused(tmp_path, args, culprit):
    """--out elsewhere was ignored: the run finished in its own directory."""
    out = tmp_path / "run"
    assert invoke("search", "--dataset", "spring", "--out", str(out), *QUICK).exit_code == 0
    result = in_process("search", "--resume", str(out), *args, cwd=tmp_path)
    assert result.returncode == 2 and culprit in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_resume_of_a_non_run_directory_is_refused(tmp_path):
    (tmp_path / "stuff").mkdir()
    result = in_process("search", "--resume", str(tmp_path / "stuff"), "--quiet")
    assert result.returncode != 0 and "not a conslaw run" in result.stderr


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
