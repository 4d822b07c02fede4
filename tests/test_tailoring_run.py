"""run_tailoring on a small pendulum: the result schema, the pool, checkpoints, the vectorized path."""
import dataclasses
import json
import re

import numpy as np
import pytest
import sympy
import torch
from scipy.integrate import solve_ivp

from conslaw.checkpoints import MemoryCheckpoints
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import DIMENSIONLESS, parse_unit
from conslaw.errors import UsageError
from conslaw.tailoring import TailoringCandidate, TailoringConfig, paired_comparison, run_tailoring
from conslaw.tailoring.duration import check_duration, estimate_meta_minutes, estimate_training
from conslaw.tailoring.memory import PROCESS_GB, check_memory, estimate_memory
from conslaw.tailoring.stages import TIE_TOLERANCE, finalists, sweep_record, winner

torch.set_num_threads(1)

LAWS = [("p**2 - 3*cos(q)", True, True), ("q**2 + p**2", False, False), ("p**2 - 2.5*cos(q)", True, False),
        ("q*p", False, False)]
CANDIDATES = [TailoringCandidate(str(rank), sympy.sympify(law), accepted, rank, independent)
              for rank, (law, accepted, independent) in enumerate(LAWS)]
SMALL = TailoringConfig(top=2, seeds=2, hidden=16, train_steps=100, meta_epochs=3, inner_lrs=(0.03, 0.3),
                        candidate_chunk=2, threads=1)


def pendulum_field(x: np.ndarray) -> np.ndarray:
    return np.stack([2 * x[..., 1], -3 * np.sin(x[..., 0])], -1)


def pendulum(seed: int = 0, samples: int = 6, points: int = 10) -> TrajectoryDataset:
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
    return run_tailoring(pendulum, CANDIDATES, SMALL, cache_dir=cache)


def test_config_errors_name_the_flag():
    with pytest.raises(UsageError, match="--tailor-pool"):
        TailoringConfig(pool="best")
    with pytest.raises(UsageError, match="--inner-lrs"):
        TailoringConfig(inner_lrs=(-1.0,))
    with pytest.raises(UsageError, match="--recording-protocol"):
        TailoringConfig(recording_protocol="video")
    with pytest.raises(UsageError, match="--ranking-seed must be between 0 and --seeds - 1 = 1, got 2"):
        TailoringConfig(seeds=2, ranking_seed=2)


def test_tailoring_that_would_not_fit_in_memory_is_refused_before_any_work(monkeypatch):
    data = pendulum(samples=20, points=40)  # 10 training trajectories of 40 points
    config = TailoringConfig(seeds=5, inner_steps=3)
    estimate = estimate_memory(data, config)
    assert (estimate.points, estimate.members) == (400, 10)  # 5 seeds x (the selected law, the oracle)
    # more points, steps or seeds need more; the HNN recording protocol trains on 80 % of the samples
    assert estimate_memory(pendulum(samples=40, points=40), config).gb > estimate.gb
    assert estimate_memory(data, dataclasses.replace(config, inner_steps=4)).gb > estimate.gb
    assert estimate_memory(data, dataclasses.replace(config, seeds=6)).gb > estimate.gb
    assert estimate_memory(data, dataclasses.replace(config, recording_protocol="hnn")).points == int(799 * 0.8)
    with pytest.raises(UsageError, match=r"^tailoring would need about [0-9.]+ GB \(10 meta-tailored models x 400 "
                       r"training points at 3 inner steps\), more than the limit \(0.5 GB\): lower --inner-steps"):
        check_memory(data, dataclasses.replace(config, tailor_max_memory_gb=0.5))
    # a limit that half the points would meet: thinning is named, while each trajectory keeps 20 samples
    half = PROCESS_GB + (estimate.gb - PROCESS_GB) / 1.5
    with pytest.raises(UsageError, match=r"--candidate-chunk, keep one sample in 2 \(the models learn"):
        check_memory(data, dataclasses.replace(config, tailor_max_memory_gb=half))
    third = PROCESS_GB + (estimate.gb - PROCESS_GB) / 2.5
    with pytest.raises(UsageError, match=r"--candidate-chunk, pass --no-tailor"):
        check_memory(data, dataclasses.replace(config, tailor_max_memory_gb=third))
    monkeypatch.setattr("conslaw.tailoring.memory.available_gb", lambda: estimate.gb / 2)
    with pytest.raises(UsageError, match=r"more than the memory available \([0-9.]+ GB\)"):
        run_tailoring(data, CANDIDATES, config)
    assert check_memory(data, dataclasses.replace(config, tailor_max_memory_gb=estimate.gb + 0.1)) == estimate


def test_a_training_that_would_run_away_is_refused_before_any_work():
    """The baselines' training grows with seeds x points x steps x hidden**2, the HNN's step twice
    the MLP's: the estimate follows each, and a run past --tailor-max-minutes is refused, by
    ``run_tailoring`` too, before any model trains."""
    data = pendulum(samples=20, points=40)  # 10 training trajectories of 40 points
    config = TailoringConfig(seeds=5, threads=2)
    estimate = estimate_training(data, config)
    assert (estimate.points, estimate.kinds, estimate.threads) == (400, ("mlp", "hnn"), 2)
    assert estimate_training(data, dataclasses.replace(config, seeds=10)).minutes == pytest.approx(2 * estimate.minutes)
    assert estimate_training(pendulum(samples=40, points=40), config).minutes == pytest.approx(2 * estimate.minutes)
    assert estimate_training(data, dataclasses.replace(config, hidden=400)).minutes == pytest.approx(4 * estimate.minutes)
    assert estimate_training(data, config, with_hnn=False).minutes == pytest.approx(estimate.minutes / 3)
    assert estimate_training(data, dataclasses.replace(config, threads=1)).minutes == pytest.approx(2 * estimate.minutes)
    limit = dataclasses.replace(config, tailor_max_minutes=estimate.minutes / 2)
    _refused_before_any_work(data, limit, r"^the baselines' training would take about [0-9]+ min \(5 seeds x 400 "
                             r"training points x 2001 steps of an MLP and an HNN with 200 hidden units, on 2 cores\), "
                             r"more than --tailor-max-minutes [0-9.e-]+: keep fewer samples, lower --seeds")
    assert check_duration(data, dataclasses.replace(limit, tailor_max_minutes=None)) == estimate


def test_a_meta_tailoring_that_would_run_away_is_refused_before_any_work():
    """--meta-epochs 1e8 trained the baselines and then meta-tailored for days: stage 2's and the
    evaluation's meta-tailoring is estimated beside the training, and the two together must fit
    --tailor-max-minutes."""
    data = pendulum(samples=20, points=40)
    config = TailoringConfig(seeds=5, threads=2)
    meta = estimate_meta_minutes(data, config)
    assert estimate_meta_minutes(data, dataclasses.replace(config, meta_epochs=200)) == pytest.approx(2 * meta)
    assert estimate_meta_minutes(data, dataclasses.replace(config, inner_steps=3)) == pytest.approx(3 * meta)
    assert estimate_meta_minutes(data, dataclasses.replace(config, top=5)) == pytest.approx(meta * (5 + 15) / (20 + 15))
    # 3 methods a seed: the control, the selected law, the oracle; --combine adds one, no true law drops one
    assert estimate_meta_minutes(data, dataclasses.replace(config, combine=True)) == pytest.approx(meta * (20 + 20) / (20 + 15))
    unknown = dataclasses.replace(data, true_law=None)
    assert estimate_meta_minutes(unknown, config) == pytest.approx(meta * (20 + 10) / (20 + 15))
    training = estimate_training(data, config).minutes
    limit = dataclasses.replace(config, meta_epochs=10 ** 6, tailor_max_minutes=training * 2)
    _refused_before_any_work(data, limit, r"^tailoring would take about [0-9]+ min \(the baselines' training [0-9]+, "
                             r"meta-tailoring [0-9]+: 20 candidates and 5 seeds x 3 methods x 1000000 meta epochs x 1 "
                             r"inner step\(s\) on 400 training points\), more than --tailor-max-minutes [0-9.e-]+: lower "
                             r"--meta-epochs")
    assert check_duration(data, dataclasses.replace(limit, meta_epochs=1)).minutes == training


def _refused_before_any_work(data, limit: TailoringConfig, message: str) -> None:
    """Both the engine's check and ``run_tailoring`` refuse ``limit`` with ``message``."""
    for refused in (lambda: check_duration(data, limit), lambda: run_tailoring(data, CANDIDATES, limit)):
        with pytest.raises(UsageError, match=message):
            refused()


def test_the_winner_is_the_best_rank_among_training_rmses_that_tie_in_float32():
    def records(*rmse):
        return {c.id: {"train_rmse": value, "diverged": value is None} for c, value in zip(CANDIDATES, rmse)}

    # the spring's stage 2: the energy at its inner lr 3e-6 above candidates that switched tailoring off
    assert winner(CANDIDATES, records(0.0079607, 0.0079606, 0.0079606, None)).rank == 0
    assert winner(CANDIDATES, records(0.0080, 0.0079, 0.0079, None)).rank == 1  # a 1 % gap decides
    assert winner(CANDIDATES, records(None, None, None, None)) is None
    # the real pendulum's stage 1: every sweep within float32 noise of the untailored 0.1667
    sweeps = {c.id: {"train_rmse": value} for c, value in zip(CANDIDATES, (0.16670, 0.16669, 0.16668, 0.2))}
    assert [c.rank for c in finalists(CANDIDATES, sweeps, 2)] == [0, 1]
    sweeps["0"]["train_rmse"] = 0.17  # a 2 % gap decides
    assert [c.rank for c in finalists(CANDIDATES, sweeps, 4)] == [1, 2, 0, 3]
    # no tailoring (lr 0) unless an inner lr beats it by more than the tolerance
    assert sweep_record(0.16670, np.array([0.16669, 0.2]), [0.01, 0.1])["inner_lr"] == 0
    assert sweep_record(0.16670, np.array([0.16669, 0.15]), [0.01, 0.1])["inner_lr"] == 0.1


def test_stage2_meta_tailors_the_candidates_at_inner_lr_0_once_as_plain_fine_tuning(monkeypatch):
    import conslaw.tailoring.stages as stages
    from conslaw.tailoring import MLP
    from conslaw.tailoring.splits import seed_data

    data = seed_data(pendulum(), 0, "split")
    torch.manual_seed(0)
    model = MLP(2, 16)
    params = {name: value.detach() for name, value in model.named_parameters()}
    context = stages.Context(SMALL, model, ("q", "p"), 3 / 44)
    members, meta = [], stages.meta_tailor

    def counted(ensemble, *args, **kwargs):
        members.extend(block.loss is None for block in ensemble.blocks)
        return meta(ensemble, *args, **kwargs)

    monkeypatch.setattr(stages, "meta_tailor", counted)

    def run(candidates, lrs):
        return stages.stage2(context, candidates, lrs, lambda: params, (data.x, data.dxdt), data.train, None)

    records = run(CANDIDATES, {"0": 0.03, "1": 0.0, "2": 0.0, "3": 0.3})
    assert members == [False, False, True]  # the two tailored candidates, then one untailored member
    assert records["1"] == records["2"] and records["1"]["inner_lr"] == 0
    assert records["0"]["train_rmse"] != records["1"]["train_rmse"]
    with_loss = stages.meta(context, [stages.shared_block(context.loss(["q*p"]), params, [0.0], context.dtype)],
                            [(data.x, data.dxdt)], lambda fraction: None)[0]
    rmse = stages.score(context, with_loss, [data.train])[0][0]  # inner lr 0 with the loss: the same model
    assert records["1"]["train_rmse"] == pytest.approx(float(rmse), rel=1e-5)


def test_the_ranking_seed_changes_the_ranking_data_and_nothing_else(baseline, cache):
    other = run_tailoring(pendulum, CANDIDATES, dataclasses.replace(SMALL, ranking_seed=1), cache_dir=cache).to_dict()
    first = baseline.to_dict()
    assert (first["protocol"]["ranking_seed"], other["protocol"]["ranking_seed"]) == (0, 1)
    untailored = [result["candidates"][0]["stage1"]["sweep"]["0"] for result in (first, other)]
    assert abs(untailored[0] - untailored[1]) > 1e-3 * untailored[0]  # seed 1's training rollouts
    assert other["evaluation"]["per_seed"]["vanilla"] == first["evaluation"]["per_seed"]["vanilla"]


def test_result_has_the_schema_report_reads(baseline):
    result = json.loads(json.dumps(baseline.to_dict()))
    assert [c["id"] for c in result["candidates"]] == ["0", "1", "2", "3"]  # pool "ranked": accepted or not
    for entry in result["candidates"]:
        stage1 = entry["stage1"]
        assert set(stage1["sweep"]) == {"0", "0.03", "0.3"}
        best = min(v for v in stage1["sweep"].values() if v is not None)
        assert stage1["train_rmse"] == stage1["sweep"][f"{stage1['inner_lr']:g}"] <= best * (1 + TIE_TOLERANCE)
    finalists = [c for c in result["candidates"] if c["stage2"] is not None]
    assert len(finalists) == 2 and all({"train_rmse", "diverged", "inner_lr"} <= set(c["stage2"]) for c in finalists)
    best = min(finalists, key=lambda c: c["stage2"]["train_rmse"])
    assert result["selected"]["id"] == best["id"] and result["selected"]["rank"] == best["rank"]
    evaluation = result["evaluation"]
    assert evaluation["seeds"] == [0, 1] and "t interval" in evaluation["interval"]
    assert {"vanilla", "finetune", "tailored", "noether", "oracle", "hnn"} <= set(evaluation["summary"])
    assert evaluation["summary"]["noether"]["n"] == 2 and len(evaluation["inner_lrs"]["noether"]) == 2
    assert {"noether_vs_vanilla", "noether_vs_finetune", "hnn_vs_vanilla"} <= set(evaluation["paired"])
    assert result["combined"] == {} and "combined" not in evaluation["summary"]
    assert result["protocol"]["true_law"] == "p**2 - 3*cos(q)"
    assert result["warnings"] == []  # q and p about 1-2 in size
    assert {"training", "stage1", "stage2", "evaluation"} <= set(result["timings"])
    rollouts = baseline.rollouts
    assert rollouts["times"].shape == (10,) and rollouts["truth"].shape == rollouts["noether"].shape == (3, 10, 2)


def test_a_pendulum_far_from_0_is_standardized_and_predicted_as_well_as_the_pendulum(cache):
    """The pendulum shifted by 96 pi in q (a camera's offset; the true law holds as it is), or
    slowed 10,000 times (rates about 1e-4): ``--standardize auto`` sees a column or a rate far
    from 1 and standardizes, so the baselines and the true law's tailoring predict as on the
    pendulum standardized; the shifted one as it is (``off``) predicts far worse, and a warning
    names q."""
    offset = 96 * np.pi
    data = pendulum()

    def each(change, **fields) -> TrajectoryDataset:
        return dataclasses.replace(data, train=[change(t) for t in data.train],
                                   test=[change(t) for t in data.test], **fields)

    def run(dataset: TrajectoryDataset, standardize: str) -> dict:
        config = TailoringConfig(**{**SMALL.__dict__, "seeds": 1, "standardize": standardize})
        return run_tailoring(dataset, CANDIDATES, config, cache_dir=cache).to_dict()

    pixels = each(lambda tr: Trajectory(tr.t, tr.x + [offset, 0.0], tr.dxdt),
                  dimensions=(parse_unit("pixel").dimension, DIMENSIONLESS))
    slow = each(lambda tr: Trajectory(tr.t * 1e4, tr.x, tr.dxdt / 1e4))  # the same motion 10,000 times slower
    reference, auto, raw, slow_auto = run(data, "on"), run(pixels, "auto"), run(pixels, "off"), run(slow, "auto")
    scaling = auto["protocol"]["scaling"]
    assert scaling["shift"][0] == pytest.approx(reference["protocol"]["scaling"]["shift"][0] + offset, rel=1e-9)
    assert scaling["scale"] == pytest.approx(reference["protocol"]["scaling"]["scale"], rel=1e-6)
    assert raw["protocol"]["scaling"] is None and auto["warnings"] == []
    (warning,) = raw["warnings"]
    assert re.search(r"\bq about 30[12] pixel in size", warning) and "p about" not in warning
    for method in ("vanilla", "oracle", "hnn"):  # the selected law may differ: some candidates change with q
        mean = reference["evaluation"]["summary"][method]["mean"]
        assert auto["evaluation"]["summary"][method]["mean"] == pytest.approx(mean, rel=1e-3)
        # rates of 1e-4 (an epidemic in counts per second) once gave a loss below Adam's weight decay
        assert slow_auto["evaluation"]["summary"][method]["mean"] == pytest.approx(mean, rel=1e-3)
    assert raw["evaluation"]["summary"]["vanilla"]["mean"] > 2 * reference["evaluation"]["summary"]["vanilla"]["mean"]


def test_pool_accepted_keeps_accepted_laws_only_and_pool_size_cuts_the_ranking(cache):
    accepted = run_tailoring(pendulum, CANDIDATES, TailoringConfig(**{**SMALL.__dict__, "pool": "accepted",
                                                                      "seeds": 1}), cache_dir=cache)
    assert [c["id"] for c in accepted.to_dict()["candidates"]] == ["0", "2"]
    cut = run_tailoring(pendulum, CANDIDATES, TailoringConfig(**{**SMALL.__dict__, "pool_size": 1, "seeds": 1}),
                        cache_dir=cache)
    assert [c["id"] for c in cut.to_dict()["candidates"]] == ["0"]


def test_vectorized_path_equals_one_model_at_a_time(baseline, cache, monkeypatch):
    """The ensembles on one thread, and cut into two parts side by side (two threads; parts of
    any size here), give the figures of one model at a time."""
    import conslaw.tailoring.stages as stages

    sequential = run_tailoring(pendulum, CANDIDATES, SMALL, cache_dir=cache, vectorize=False).to_dict()
    monkeypatch.setattr(stages, "PART_ROWS", 1)
    side_by_side = run_tailoring(pendulum, CANDIDATES, dataclasses.replace(SMALL, threads=2), cache_dir=cache)
    torch.set_num_threads(1)
    for vectorized in (baseline.to_dict(), side_by_side.to_dict()):
        for a, b in zip(vectorized["candidates"], sequential["candidates"]):
            assert a["stage1"]["inner_lr"] == b["stage1"]["inner_lr"]
            assert a["stage1"]["train_rmse"] == pytest.approx(b["stage1"]["train_rmse"], rel=1e-4)
            assert (a["stage2"] is None) == (b["stage2"] is None)
            if b["stage2"] is not None:
                assert a["stage2"]["train_rmse"] == pytest.approx(b["stage2"]["train_rmse"], rel=1e-4)
        for method, values in vectorized["evaluation"]["per_seed"].items():
            np.testing.assert_allclose(values, sequential["evaluation"]["per_seed"][method], rtol=1e-3)


def test_checkpoints_make_a_second_run_skip_the_work(cache, monkeypatch):
    import conslaw.tailoring.models as models
    import conslaw.tailoring.stages as stages

    store, calls = MemoryCheckpoints(), {"meta": 0, "train": 0}
    meta, train = stages.meta_tailor, models.train_ensemble

    def counted_meta(*args, **kwargs):
        calls["meta"] += 1
        return meta(*args, **kwargs)

    def counted_train(*args, **kwargs):
        calls["train"] += 1
        return train(*args, **kwargs)

    monkeypatch.setattr(stages, "meta_tailor", counted_meta)
    monkeypatch.setattr(models, "train_ensemble", counted_train)
    first = run_tailoring(pendulum, CANDIDATES, SMALL, checkpoints=store)
    assert calls["meta"] > 0 and calls["train"] == 2
    calls.update(meta=0, train=0)
    second = run_tailoring(pendulum, CANDIDATES, SMALL, checkpoints=store)
    assert calls == {"meta": 0, "train": 0}
    assert second.to_dict()["evaluation"] == first.to_dict()["evaluation"]
    np.testing.assert_array_equal(second.rollouts["noether"], first.rollouts["noether"])


def test_combined_method_is_evaluated_and_paired_against_noether_and_progress_names_the_stages(cache):
    config = TailoringConfig(**{**SMALL.__dict__, "combine": True})
    calls = []
    result = run_tailoring(pendulum, CANDIDATES, config, cache_dir=cache,
                           progress=lambda stage, done, total: calls.append((stage, done, total))).to_dict()
    training = [(done, total) for stage, done, total in calls if stage == "tailoring training"]
    assert [done for done, _ in training] == sorted(done for done, _ in training)
    assert training[-1] == (2 * SMALL.train_steps, 2 * SMALL.train_steps)  # the MLP's and the HNN's steps
    assert {stage for stage, _, _ in calls} == {"tailoring training", "tailoring stage 1", "tailoring stage 2",
                                                "tailoring evaluation"}
    assert all(0 <= done <= total for _, done, total in calls) and calls[-1][1] == calls[-1][2]
    assert result["combined"]["ids"] == ["0"] and result["combined"]["weights"][0] > 0
    assert result["evaluation"]["summary"]["combined"]["n"] == 2
    assert "combined_vs_noether" in result["evaluation"]["paired"]


def test_paired_statistics_on_planted_numbers():
    comparison = paired_comparison([1.0, 2.0, 3.0, None], [2.0, 2.5, 4.5, 1.0])
    assert comparison["n"] == 3 and comparison["wins"] == 3
    assert comparison["mean_diff"] == pytest.approx(-1.0)
    low, high = comparison["ci95"]
    assert low < -1.0 < high


@pytest.mark.slow
def test_oracle_loss_reduces_rollout_error_on_the_pendulum(cache):
    config = TailoringConfig(top=1, seeds=3, hidden=48, train_steps=600, meta_epochs=20, threads=1)
    truth = [TailoringCandidate("0", sympy.sympify("p**2 - 3*cos(q)"), True, 0, True)]
    evaluation = run_tailoring(lambda seed: pendulum(seed, samples=16, points=30), truth, config,
                               cache_dir=cache).to_dict()["evaluation"]
    assert evaluation["summary"]["oracle"]["mean"] < evaluation["summary"]["vanilla"]["mean"]
    assert evaluation["paired"]["oracle_vs_vanilla"]["wins"] >= 2


def test_a_law_without_a_torch_equivalent_is_recorded_not_raised(cache):
    candidates = [CANDIDATES[0], TailoringCandidate("9", sympy.sympify("zeta(q) + p"), True, 9, False)]
    result = run_tailoring(pendulum, candidates, TailoringConfig(**{**SMALL.__dict__, "seeds": 1}),
                           cache_dir=cache).to_dict()
    failed = result["candidates"][1]
    assert "no torch equivalent" in failed["stage1"]["error"] and failed["stage2"] is None
    assert result["selected"]["id"] == "0"


def test_the_ranking_never_reads_test_trajectories(baseline, cache):
    def corrupted(seed: int) -> TrajectoryDataset:
        data = pendulum(seed)
        data.test = [Trajectory(t.t, t.x * 100.0 + 5.0, t.dxdt) for t in data.test]
        return data

    result = run_tailoring(corrupted, CANDIDATES, SMALL, cache_dir=cache).to_dict()
    assert result["candidates"] == baseline.to_dict()["candidates"]
    assert result["selected"] == baseline.to_dict()["selected"]


def test_with_law_scale_spread_an_inner_lr_is_the_same_step_for_a_law_at_any_scale():
    """``--law-scale spread`` divides each law by its spread on the ranking seed's training
    states: the energy and 10 times the energy give one loss (the paper's default keeps the
    factor: 100 times the loss); explicit weights (the combined loss) are used as given."""
    import conslaw.tailoring.stages as stages
    from conslaw.tailoring import MLP
    from conslaw.tailoring.splits import seed_data

    data = seed_data(pendulum(), 0, "split")
    x = torch.as_tensor(data.x, dtype=torch.float32)
    field = torch.flip(x, [-1]) * torch.tensor([1.0, -2.0])
    energy = sympy.sympify("p**2 - 3*cos(q)")
    losses = {}
    for scale in ("as-found", "spread"):
        config = dataclasses.replace(SMALL, law_scale=scale)
        context = stages.Context(config, MLP(2, 16), ("q", "p"), 3 / 44, states=data.x)
        losses[scale] = [context.loss([law])(x, field).sum().item() for law in (energy, 10 * energy)]
        losses[scale + " weighted"] = context.loss([energy], [2.0])(x, field).sum().item()
    assert losses["as-found"][1] == pytest.approx(100 * losses["as-found"][0], rel=1e-5)
    assert losses["spread"][1] == pytest.approx(losses["spread"][0], rel=1e-5)
    spread = np.std(data.x[:, 1] ** 2 - 3 * np.cos(data.x[:, 0]))
    assert losses["spread"][0] == pytest.approx(losses["as-found"][0] / spread ** 2, rel=1e-4)
    assert losses["spread weighted"] == losses["as-found weighted"] == pytest.approx(2 * losses["as-found"][0], rel=1e-6)
