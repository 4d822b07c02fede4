"""The ranking/selection/evaluation pipeline on small HNN pendulum data, and its statistics."""
import dataclasses

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import DIMENSIONLESS
from conslaw.errors import ConslawError
from conslaw.tailoring import (
    JsonCheckpoint,
    TailoringProtocol,
    TrainingConfig,
    paired_comparison,
    run_tailoring,
    summarize,
)

torch.set_num_threads(1)

CANDIDATES = [
    {"id": "energy", "expression": "p**2 - 3*cos(q)"},
    {"id": "near", "expression": "p**2 - 2.5*cos(q)"},
    {"id": "wrong", "expression": "q**2 + p**2"},
]
SMALL = TailoringProtocol(training=TrainingConfig(hidden=32, steps=300), candidate_chunk=2)
FAST = dict(top=2, inner_lrs=[0.03, 0.3], meta_epochs=3, protocol=SMALL)


def pendulum_field(x: np.ndarray) -> np.ndarray:
    return np.stack([2 * x[..., 1], -3 * np.sin(x[..., 0])], -1)


def pendulum(seed: int = 0, samples: int = 8, points: int = 12) -> TrajectoryDataset:
    """HNN's pendulum (dq/dt = 2p, dp/dt = -3 sin q, radius U[1.3, 2.3]), shortened for speed."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0.0, 3.0 * (points - 1) / 44, points)
    trajectories = []
    for _ in range(samples):
        direction = rng.rand(2) * 2 - 1
        x0 = direction / np.linalg.norm(direction) * (rng.rand() + 1.3)
        x = solve_ivp(lambda _, y: pendulum_field(y), (0, t[-1]), x0, t_eval=t, rtol=1e-10).y.T
        trajectories.append(Trajectory(t, x, pendulum_field(x)))
    half = samples // 2
    return TrajectoryDataset("pendulum", ("q", "p"), (DIMENSIONLESS, DIMENSIONLESS), trajectories[:half],
                             trajectories[half:], true_law="p**2 - 3*cos(q)", true_field=pendulum_field)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def baseline(cache):
    return run_tailoring(pendulum, CANDIDATES, cache_dir=cache, **FAST)


def test_result_dict_has_the_issue_fields(baseline):
    result = baseline.to_dict()
    for candidate in result["candidates"]:
        tailoring = candidate["tailoring"]
        assert tailoring["best_inner_lr"] in (0.0, 0.03, 0.3)
        assert np.isfinite(tailoring["train_loss"])
        assert tailoring["inner_lr_sweep"]["0"] == pytest.approx(result["candidates"][0]["tailoring"]["inner_lr_sweep"]["0"])
        assert tailoring["train_loss"] == min(v for v in tailoring["inner_lr_sweep"].values() if v is not None)
    with_meta = [c for c in result["candidates"] if c["tailoring"]["meta"] is not None]
    assert len(with_meta) == 2 and all(set(c["tailoring"]["meta"]) >= {"train_loss", "diverged"} for c in with_meta)
    assert result["selected"]["id"] in {c["id"] for c in with_meta}
    evaluation = result["evaluation"]
    for key in ("vanilla_rmse", "noether_rmse", "oracle_rmse", "finetune_rmse", "hnn_rmse", "tailored_rmse"):
        assert evaluation[key] is not None and evaluation[key] > 0
    assert evaluation["seeds"] == [0] and len(evaluation["per_seed"]["vanilla"]) == 1
    assert set(evaluation["ci95"]) >= {"noether_vs_vanilla", "noether_vs_finetune"}
    assert set(baseline.timings) == {"train", "stage1", "stage2", "evaluation"}
    assert "Noether Nets" in baseline.table()


def test_selection_never_reads_test_data(baseline, cache):
    def corrupted(seed: int) -> TrajectoryDataset:
        data = pendulum(seed)
        data.test = [Trajectory(t.t, t.x[::-1] * 7 + 1, t.dxdt) for t in data.test]
        return data

    other = run_tailoring(corrupted, CANDIDATES, cache_dir=cache, **FAST).to_dict()
    reference = baseline.to_dict()
    assert other["selected"] == reference["selected"]
    assert [c["tailoring"] for c in other["candidates"]] == [c["tailoring"] for c in reference["candidates"]]
    assert other["evaluation"]["vanilla_rmse"] != reference["evaluation"]["vanilla_rmse"]


def test_same_seed_gives_identical_numbers(baseline, tmp_path):
    again = run_tailoring(pendulum, CANDIDATES, cache_dir=tmp_path, **FAST)  # retrains the models
    assert again.to_dict()["evaluation"] == baseline.to_dict()["evaluation"]
    assert again.to_dict()["candidates"] == baseline.to_dict()["candidates"]


def test_two_seeds_in_threads_match_sequential_and_differ_between_seeds(cache):
    options = dict(FAST, top=1, inner_lrs=[0.3])
    threaded = run_tailoring(pendulum, CANDIDATES[:1], seeds=2, jobs=2, backend="threading", cache_dir=cache, **options)
    sequential = run_tailoring(pendulum, CANDIDATES[:1], seeds=[0, 1], cache_dir=cache, **options)
    per_seed = threaded.evaluation["per_seed"]
    assert threaded.evaluation["seeds"] == [0, 1]
    assert per_seed == sequential.evaluation["per_seed"]
    assert per_seed["vanilla"][0] != per_seed["vanilla"][1]
    assert threaded.evaluation["paired"]["noether_vs_vanilla"]["n"] == 2


def test_checkpoint_resumes_without_recomputing(cache, tmp_path):
    checkpoint = JsonCheckpoint(tmp_path / "ckpt")
    options = dict(FAST, top=1)
    first = run_tailoring(pendulum, CANDIDATES, cache_dir=cache, checkpoint=checkpoint, **options)
    stored = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert stored == ["seed0__evaluation.json", "stage1__energy.json", "stage1__near.json",
                      "stage1__wrong.json", f"stage2__{first.selected['id']}.json"]
    planted = checkpoint.load("stage1/wrong")
    planted["train_loss"] = 1e-9  # a resumed run must take stored results as they are
    checkpoint.save("stage1/wrong", planted)
    checkpoint.save("stage2/wrong", {"train_loss": 1e-9, "diverged": False, "outer_loss": 1.0,
                                     "inner_lr": planted["best_inner_lr"], "epochs": 3})
    (tmp_path / "ckpt" / "seed0__evaluation.json").unlink()
    resumed = run_tailoring(pendulum, CANDIDATES, cache_dir=cache, checkpoint=checkpoint, **options)
    assert resumed.candidates[2].train_loss == 1e-9
    assert resumed.selected["id"] == "wrong" and resumed.selected["train_loss"] == 1e-9
    assert resumed.evaluation["per_seed"]["vanilla"] == first.evaluation["per_seed"]["vanilla"]


def test_diverging_meta_tailoring_is_marked_and_skipped_never_a_crash(cache):
    hair_trigger = dataclasses.replace(SMALL, blowup=1e-6)  # any outer loss counts as a blow-up
    result = run_tailoring(pendulum, CANDIDATES, cache_dir=cache, **dict(FAST, protocol=hair_trigger)).to_dict()
    metas = [c["tailoring"]["meta"] for c in result["candidates"] if c["tailoring"]["meta"] is not None]
    assert len(metas) == 2 and all(m["diverged"] and m["train_loss"] is None for m in metas)
    assert result["selected"] is None
    evaluation = result["evaluation"]
    assert evaluation["noether_rmse"] is None and evaluation["tailored_rmse"] is None
    assert evaluation["vanilla_rmse"] > 0 and evaluation["oracle_rmse"] is None


def test_bad_options_raise_conslaw_errors():
    with pytest.raises(ConslawError, match="loss-form"):
        run_tailoring(pendulum, CANDIDATES, loss_form="sideways")
    with pytest.raises(ConslawError, match="inner learning rates"):
        run_tailoring(pendulum, CANDIDATES, inner_lrs=[-1.0])
    with pytest.raises(ConslawError, match="repeated: a"):
        run_tailoring(pendulum, [("a", "q"), ("a", "p")], protocol=SMALL)


def test_paired_statistics_on_planted_numbers():
    method = [1.0, 2.0, 3.0, 4.0, 10.0]
    reference = [2.0, 3.0, 4.0, 5.0, 9.0]  # differences -1, -1, -1, -1, +1
    result = paired_comparison(method, reference, resamples=20000, seed=1)
    assert result["wins"] == 4 and result["n"] == 5
    assert result["mean_diff"] == pytest.approx(-0.6)
    low, high = result["ci95"]
    # the bootstrap mean of 5 draws from {-1 (p=.8), +1 (p=.2)}: 2.5 % / 97.5 % points are -1 and +0.2
    assert low == pytest.approx(-1.0) and high == pytest.approx(0.2)
    constant = paired_comparison([1.0, 2.0], [1.5, 2.5])
    assert constant["ci95"] == pytest.approx([-0.5, -0.5]) and constant["wins"] == 2
    assert paired_comparison([None, float("nan")], [1.0, 2.0]) == {"mean_diff": None, "ci95": None, "wins": 0, "n": 0}
    assert summarize([1.0, 2.0, 6.0]) == {"mean": 3.0, "std": pytest.approx(np.std([1, 2, 6], ddof=1)), "median": 2.0, "n": 3}
