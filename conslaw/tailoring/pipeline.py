"""The tailoring stage of conslaw: rank candidate laws as Noether losses and evaluate the winner.

Stage 1 tailors the pretrained MLP with every candidate x inner learning rate (one inner step)
and scores the rollout RMSE on TRAINING trajectories; the best ``top`` candidates go on.
Stage 2 meta-tailors the MLP with each of them (second-order, ``meta_epochs`` full-batch Adam
steps) and selects the law with the best training rollout RMSE. The evaluation compares vanilla,
the fine-tuning control, tailored, meta-tailored, oracle and HNN on the test trajectories over
one or more seeds. See docs/protocol.md for every choice and its reason.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence, Union

import numpy as np
import sympy
import torch

from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.errors import ConslawError
from conslaw.parallel import run_parallel
from conslaw.tailoring.integrate import rollout
from conslaw.tailoring.laws import parse_law
from conslaw.tailoring.loss import LOSS_FORMS, NoetherLoss
from conslaw.tailoring.models import TrainingConfig, pretrained_model
from conslaw.tailoring.stats import paired_comparison, summarize
from conslaw.tailoring.tailor import Params, PointLoss, TailoredField, _resolve_engine, meta_tailor, model_params

DEFAULT_INNER_LRS: tuple[float, ...] = (0.0,) + tuple(float(10.0**k) for k in np.arange(-3.0, 1.01, 0.5))
_DTYPES = {"float64": torch.float64, "float32": torch.float32}
METHODS = ("vanilla", "finetune", "tailored", "noether", "oracle", "hnn")
Progress = Callable[[str, int, int], None]
DatasetSource = Union[TrajectoryDataset, Callable[[int], TrajectoryDataset]]


class Checkpoint(Protocol):
    """Where the pipeline saves and looks up finished pieces of work, keyed by strings such as
    ``"stage1/<candidate id>"``, ``"stage2/<candidate id>"`` and ``"seed<k>/evaluation"``.
    ``load`` returns ``None`` for work not done yet. Values are JSON-serialisable dicts."""

    def load(self, key: str) -> Optional[dict]: ...

    def save(self, key: str, value: dict) -> None: ...


class JsonCheckpoint:
    """A :class:`Checkpoint` keeping one JSON file per key under ``directory``."""

    def __init__(self, directory: Union[str, Path]) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / (key.replace("/", "__") + ".json")

    def load(self, key: str) -> Optional[dict]:
        path = self._path(key)
        return json.loads(path.read_text()) if path.exists() else None

    def save(self, key: str, value: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self._path(key).with_suffix(".tmp")
        temporary.write_text(json.dumps(value))
        temporary.replace(self._path(key))


@dataclass(frozen=True)
class TailoringProtocol:
    """Every knob of the stage; the defaults follow the paper where it says, else docs/protocol.md."""

    top: int = 20
    inner_lrs: tuple[float, ...] = DEFAULT_INNER_LRS
    meta_epochs: int = 100
    outer_lr: float = 1e-4
    outer_weight_decay: float = 1e-4
    loss_form: str = "central"
    loss_dt: Optional[float] = None  # None: the data's time step
    inner_steps: int = 1
    integrator: str = "rk4"
    engine: str = "auto"
    blowup: float = 1e3
    candidate_chunk: int = 8
    dtype: str = "float32"  # of tailoring, meta-tailoring and rollouts; float64 gave the same 4 digits, 2x slower
    training: TrainingConfig = TrainingConfig()

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise ConslawError(f"unknown dtype {self.dtype!r}; choose one of {', '.join(_DTYPES)}")


@dataclass(frozen=True)
class Candidate:
    """A candidate law: an id, its text and the parsed SymPy expression."""

    id: str
    expression: str
    law: sympy.Expr


def normalize_candidates(candidates: Sequence[Any], columns: Sequence[str]) -> list[Candidate]:
    """Accept dicts (``"expression"``, optional ``"id"``), ``(id, law)`` pairs, strings, SymPy
    expressions or :class:`Candidate` objects."""
    normalized = []
    for index, item in enumerate(candidates):
        if isinstance(item, Candidate):
            normalized.append(item)
            continue
        if isinstance(item, dict):
            if "expression" not in item:
                raise ConslawError(f"candidate {index} has no 'expression' key")
            identifier, law = item.get("id", index), item["expression"]
        elif isinstance(item, tuple) and len(item) == 2:
            identifier, law = item
        else:
            identifier, law = index, item
        expr = parse_law(law, columns)
        normalized.append(Candidate(str(identifier), str(law) if isinstance(law, str) else str(expr), expr))
    identifiers = [c.id for c in normalized]
    duplicates = sorted({i for i in identifiers if identifiers.count(i) > 1})
    if duplicates:
        raise ConslawError(f"candidate ids must be unique; repeated: {', '.join(duplicates)}")
    return normalized


# ---------------------------------------------------------------------------------------------
# Per-seed setup: data tensors, trajectory groups, pretrained models.


@dataclass
class _Group:
    """Trajectories sharing one time grid: ``t`` (T,), ``x0`` (B, d), ``truth`` (B, T, d)."""

    t: torch.Tensor
    x0: torch.Tensor
    truth: torch.Tensor


def _groups(trajectories: Sequence[Trajectory], dtype: torch.dtype) -> list[_Group]:
    by_grid: dict[bytes, list[Trajectory]] = {}
    for trajectory in trajectories:
        by_grid.setdefault(np.asarray(trajectory.t, dtype=np.float64).tobytes(), []).append(trajectory)
    groups = []
    for members in by_grid.values():
        truth = torch.as_tensor(np.stack([m.x for m in members]), dtype=dtype)
        groups.append(_Group(torch.as_tensor(members[0].t, dtype=dtype), truth[:, 0], truth))
    return groups


def _derivatives(trajectory: Trajectory) -> np.ndarray:
    if trajectory.dxdt is not None:
        return trajectory.dxdt
    return np.gradient(trajectory.x, trajectory.t, axis=0)


@dataclass
class _SeedSetup:
    seed: int
    dataset: TrajectoryDataset
    mlp: torch.nn.Module
    params: Params
    hnn: Optional[torch.nn.Module]
    x_train: torch.Tensor
    dxdt_train: torch.Tensor
    loss_dt: float
    train: list[_Group]
    test: list[_Group]


def _prepare(dataset: TrajectoryDataset, seed: int, protocol: TailoringProtocol, cache_dir) -> _SeedSetup:
    if not dataset.train or not dataset.test:
        raise ConslawError(f"dataset {dataset.name!r} needs training and test trajectories")
    x = np.concatenate([t.x for t in dataset.train])
    dxdt = np.concatenate([_derivatives(t) for t in dataset.train])
    dtype = _DTYPES[protocol.dtype]
    mlp = pretrained_model("mlp", x, dxdt, seed, protocol.training, cache_dir).to(dtype)
    hnn = None
    if dataset.n_state % 2 == 0:
        hnn = pretrained_model("hnn", x, dxdt, seed, protocol.training, cache_dir).to(dtype)
    steps = np.concatenate([np.diff(t.t) for t in dataset.train])
    loss_dt = protocol.loss_dt if protocol.loss_dt is not None else float(np.median(steps))
    return _SeedSetup(
        seed, dataset, mlp, model_params(mlp, dtype), hnn,
        torch.as_tensor(x, dtype=dtype), torch.as_tensor(dxdt, dtype=dtype),
        loss_dt, _groups(dataset.train, dtype), _groups(dataset.test, dtype),
    )


def _noether(law: sympy.Expr, setup: _SeedSetup, protocol: TailoringProtocol) -> NoetherLoss:
    return NoetherLoss(law, form=protocol.loss_form, dt=setup.loss_dt, columns=setup.dataset.columns)


# ---------------------------------------------------------------------------------------------
# Rollout scoring.


def _rollout_rmse(
    make_field: Callable[[int], Callable[[torch.Tensor], torch.Tensor]],
    groups: Sequence[_Group],
    blocks: int,
    method: str,
) -> np.ndarray:
    """Pooled RMSE per block of rows: ``make_field(B)`` gets the group size and returns a field
    over ``blocks * B`` rows laid out block-major; returns ``(blocks,)`` (inf if non-finite)."""
    squared = np.zeros(blocks)
    count = 0
    with torch.no_grad():
        for group in groups:
            size = group.x0.shape[0]
            predicted = rollout(make_field(size), group.x0.repeat(blocks, 1), group.t, method)
            error = (predicted - group.truth.repeat(blocks, 1, 1)) ** 2
            squared += error.reshape(blocks, -1).sum(1).numpy()
            count += error[:size].numel()
    rmse = np.sqrt(squared / count)
    return np.where(np.isfinite(rmse), rmse, np.inf)


def _test_paths(make_field: Callable[[int], Callable[[torch.Tensor], torch.Tensor]],
                setup: "_SeedSetup", method: str) -> list:
    """Predicted states (B, T, d) from the initial states of the first test time grid, as
    nested lists so that JSON checkpoints can keep them."""
    group = setup.test[0]
    with torch.no_grad():
        return rollout(make_field(group.x0.shape[0]), group.x0, group.t, method).tolist()


class _StackedLoss:
    """Several Noether losses over one batch: rows ``[i*rows, (i+1)*rows)`` use loss i."""

    def __init__(self, losses: Sequence[PointLoss], rows: int) -> None:
        self.losses, self.rows = list(losses), rows

    def __call__(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            loss(x[i * self.rows:(i + 1) * self.rows], dxdt[i * self.rows:(i + 1) * self.rows])
            for i, loss in enumerate(self.losses)
        ])


def _model_rmse(setup: _SeedSetup, params: Params, loss: Optional[PointLoss], lr: float,
                protocol: TailoringProtocol, split: str) -> float:
    groups = setup.train if split == "train" else setup.test

    def make_field(size: int):
        return TailoredField(setup.mlp, params, loss, lr, protocol.inner_steps, protocol.engine)

    return float(_rollout_rmse(make_field, groups, 1, protocol.integrator)[0])


def _sweep(setup: _SeedSetup, losses: Sequence[NoetherLoss], protocol: TailoringProtocol) -> np.ndarray:
    """Training rollout RMSE of the pretrained MLP tailored with each loss at each positive inner
    lr, shape ``(len(losses), n_positive_lrs)``. Vectorized over lrs x trajectories (and, with the
    rank1 engine, over a chunk of candidates) in each batched field evaluation."""
    lrs = [lr for lr in protocol.inner_lrs if lr > 0]
    engine = _resolve_engine(setup.mlp, protocol.engine, protocol.inner_steps)
    chunk = protocol.candidate_chunk if engine == "rank1" else 1
    scores = np.full((len(losses), len(lrs)), np.inf)
    if not lrs:
        return scores
    for start in range(0, len(losses), chunk):
        members = [loss.pointwise for loss in losses[start:start + chunk]]

        def make_field(size: int):
            rows = torch.tensor(lrs, dtype=setup.x_train.dtype).repeat_interleave(size).repeat(len(members))
            loss = members[0] if len(members) == 1 else _StackedLoss(members, len(lrs) * size)
            return TailoredField(setup.mlp, setup.params, loss, rows, protocol.inner_steps, engine)

        blocks = _rollout_rmse(make_field, setup.train, len(members) * len(lrs), protocol.integrator)
        scores[start:start + len(members)] = blocks.reshape(len(members), len(lrs))
    return scores


def _best_lr(vanilla: float, scores: np.ndarray, protocol: TailoringProtocol) -> tuple[float, float, dict]:
    """Best inner lr (0 = no tailoring wins ties) from one row of sweep scores."""
    lrs = [0.0] + [lr for lr in protocol.inner_lrs if lr > 0]
    values = [vanilla] + [float(v) for v in scores]
    best = int(np.argmin(values))
    sweep = {f"{lr:.6g}": (v if np.isfinite(v) else None) for lr, v in zip(lrs, values)}  # JSON has no inf
    return lrs[best], values[best], sweep


def _meta(setup: _SeedSetup, loss: Optional[PointLoss], lr: float, protocol: TailoringProtocol) -> tuple:
    """Meta-tailor from the pretrained MLP; returns (params, training rollout RMSE, outer loss, diverged)."""
    result = meta_tailor(
        setup.mlp, setup.params, loss if lr > 0 else None, setup.x_train, setup.dxdt_train, lr,
        epochs=protocol.meta_epochs, outer_lr=protocol.outer_lr, weight_decay=protocol.outer_weight_decay,
        steps=protocol.inner_steps, engine=protocol.engine, blowup=protocol.blowup,
    )
    rmse = np.inf if result.diverged else _model_rmse(setup, result.params, loss, lr, protocol, "train")
    diverged = result.diverged or not np.isfinite(rmse)
    final = result.outer_losses[-1] if result.outer_losses and np.isfinite(result.outer_losses[-1]) else None
    return result.params, (None if diverged else rmse), final, diverged


# ---------------------------------------------------------------------------------------------
# Results.


@dataclass
class CandidateResult:
    """Stage-1 (and, for the top candidates, stage-2) outcome of one candidate law."""

    id: str
    expression: str
    best_inner_lr: float
    train_loss: float
    inner_lr_sweep: dict
    meta: Optional[dict] = None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "expression": self.expression,
            "tailoring": {
                "best_inner_lr": self.best_inner_lr,
                "train_loss": self.train_loss,
                "inner_lr_sweep": self.inner_lr_sweep,
                "meta": self.meta,
            },
        }


@dataclass
class TailoringResults:
    """Everything the stage produced; :meth:`to_dict` gives result.json's tailoring fields."""

    candidates: list[CandidateResult]
    selected: Optional[dict]
    evaluation: dict
    protocol: dict
    timings: dict = field(default_factory=dict)
    rollouts: Optional[dict] = None

    def to_dict(self) -> dict:
        """result.json's tailoring fields, plus ``"rollouts"`` (arrays, for rollouts.npz)."""
        return {
            "candidates": [c.to_dict() for c in self.candidates],
            "selected": self.selected,
            "evaluation": self.evaluation,
            "protocol": self.protocol,
            "timings": self.timings,
            "rollouts": self.rollouts,
        }

    def table(self) -> str:
        """The Table-1 style summary: method, formula, mean ± std test RMSE, paired CI vs vanilla."""
        evaluation, summary = self.evaluation, self.evaluation.get("summary", {})
        formula = {"noether": (self.selected or {}).get("expression", "-"),
                   "tailored": (self.selected or {}).get("expression", "-"),
                   "oracle": evaluation.get("true_law") or "-"}
        names = {"vanilla": "Vanilla MLP", "finetune": "Fine-tuning control", "tailored": "Tailored (no meta)",
                 "noether": "Noether Nets (meta-tailored)", "oracle": "True law [oracle]", "hnn": "HNN"}
        lines = [f"{'method':30s} {'formula':28s} {'RMSE mean ± std':22s} {'median':>8s} {'vs vanilla (95% CI)':>26s}"]
        for method in METHODS:
            stats = summary.get(method, {})
            if not stats or stats.get("mean") is None:
                continue
            paired = evaluation.get("paired", {}).get(f"{method}_vs_vanilla")
            interval = "" if not paired or paired["ci95"] is None else \
                f"{paired['mean_diff']:+.4f} [{paired['ci95'][0]:+.4f},{paired['ci95'][1]:+.4f}]"
            lines.append(f"{names[method]:30s} {str(formula.get(method, 'N/A'))[:28]:28s} "
                         f"{stats['mean']:.4f} ± {stats['std']:.4f}{'':7s} {stats['median']:8.4f} {interval:>26s}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Evaluation of one seed (runs in a joblib worker).


def _evaluate_seed(source: DatasetSource, seed: int, protocol: TailoringProtocol, cache_dir,
                   selected_law: Optional[sympy.Expr], true_law: Optional[str],
                   known: Optional[dict], threads: Optional[int]) -> dict:
    """Every method's test RMSE on one seed; on the ranking seed (``known`` given) also the
    test rollouts of the first time grid (``"rollouts"``: times, truth and one array a method)."""
    if threads:
        torch.set_num_threads(threads)
    dataset = source(seed) if callable(source) else source
    setup = _prepare(dataset, seed, protocol, cache_dir)
    known = known or {}
    out: dict[str, Any] = {"seed": seed, "inner_lr": {}}
    out["vanilla"] = _model_rmse(setup, setup.params, None, 0.0, protocol, "test")
    paths = None
    if known is not None:
        group = setup.test[0]
        paths = {"times": group.t.tolist(), "truth": group.truth.tolist(),
                 "vanilla": _test_paths(lambda size: TailoredField(
                     setup.mlp, setup.params, None, 0.0, protocol.inner_steps, protocol.engine),
                     setup, protocol.integrator)}
    if setup.hnn is not None:
        out["hnn"] = float(_rollout_rmse(lambda size: setup.hnn, setup.test, 1, protocol.integrator)[0])
    control = meta_tailor(setup.mlp, setup.params, None, setup.x_train, setup.dxdt_train, 0.0,
                          epochs=protocol.meta_epochs, outer_lr=protocol.outer_lr,
                          weight_decay=protocol.outer_weight_decay, blowup=protocol.blowup)
    out["finetune"] = None if control.diverged else _model_rmse(setup, control.params, None, 0.0, protocol, "test")
    laws = {"noether": selected_law}
    if true_law is not None:
        laws["oracle"] = parse_law(true_law, dataset.columns)
    done: dict[sympy.Expr, str] = {}  # the oracle reuses the selected law's numbers when they are the same law
    for method, law in laws.items():
        if law is None:
            continue
        if sympy.expand(law) in done:
            same = done[sympy.expand(law)]
            out[method], out["inner_lr"][method] = out[same], out["inner_lr"][same]
            continue
        done[sympy.expand(law)] = method
        loss = _noether(law, setup, protocol)
        if method in known.get("lr", {}):
            lr = known["lr"][method]
        else:
            vanilla_train = _model_rmse(setup, setup.params, None, 0.0, protocol, "train")
            lr = _best_lr(vanilla_train, _sweep(setup, [loss], protocol)[0], protocol)[0]
        out["inner_lr"][method] = lr
        if method == "noether":
            out["tailored"] = _model_rmse(setup, setup.params, loss.pointwise, lr, protocol, "test")
        params = known.get("params", {}).get(method)
        if params is None:
            params, _, _, diverged = _meta(setup, loss.pointwise, lr, protocol)
            if diverged:
                out[method] = None
                continue
        out[method] = _model_rmse(setup, params, loss.pointwise, lr, protocol, "test")
        if paths is not None:
            paths[method] = _test_paths(lambda size: TailoredField(
                setup.mlp, params, loss.pointwise, lr, protocol.inner_steps, protocol.engine),
                setup, protocol.integrator)
    if paths is not None:
        if "oracle" in laws and "oracle" not in paths and "noether" in paths:
            paths["oracle"] = paths["noether"]  # the same law: the same model and rollout
        out["rollouts"] = paths
    return out


def _aggregate(per_seed_results: list[dict], true_law: Optional[str]) -> dict:
    seeds = [r["seed"] for r in per_seed_results]
    per_seed = {m: [r.get(m) for r in per_seed_results] for m in METHODS}
    summary = {m: summarize([v for v in values if v is not None]) for m, values in per_seed.items()}
    paired, ci95, wins = {}, {}, {}
    for reference, methods in (("vanilla", METHODS[1:]), ("finetune", ("tailored", "noether", "oracle"))):
        for method in methods:
            if all(v is None for v in per_seed[method]):
                continue
            key = f"{method}_vs_{reference}"
            paired[key] = paired_comparison(per_seed[method], per_seed[reference])
            ci95[key], wins[key] = paired[key]["ci95"], paired[key]["wins"]
    evaluation = {f"{m}_rmse": summary[m]["mean"] for m in METHODS}
    evaluation.update({
        "seeds": seeds, "per_seed": per_seed, "summary": summary, "paired": paired, "ci95": ci95,
        "wins": wins, "inner_lrs": {m: [r["inner_lr"].get(m) for r in per_seed_results] for m in ("noether", "oracle")},
        "true_law": true_law,
    })
    return evaluation


# ---------------------------------------------------------------------------------------------
# The public entry point.


def run_tailoring(
    dataset: DatasetSource,
    candidates: Sequence[Any],
    *,
    top: int = 20,
    inner_lrs: Optional[Sequence[float]] = None,
    meta_epochs: int = 100,
    loss_form: str = "central",
    seeds: Union[int, Sequence[int]] = 1,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: Optional[str] = None,
    cache_dir: Union[str, Path, None] = None,
    progress: Optional[Progress] = None,
    checkpoint: Optional[Checkpoint] = None,
    protocol: Optional[TailoringProtocol] = None,
) -> TailoringResults:
    """Rank ``candidates`` as Noether losses on the first seed, select one on training
    trajectories, and evaluate every method on all ``seeds`` (an int n means seeds 0..n-1).

    ``dataset`` is a :class:`TrajectoryDataset` (seeds then vary the model init only) or a
    callable ``seed -> TrajectoryDataset`` (seed k fixes the data split and the model init).
    Seeds are evaluated through :func:`conslaw.parallel.run_parallel` (joblib ``backend`` "loky",
    "threading", "sequential", or "dask" with an optional ``scheduler`` address), ``jobs`` at a
    time. Pretrained models are cached in ``cache_dir``; ``checkpoint`` stores per-candidate and
    per-seed results so an interrupted run resumes. ``protocol`` overrides the remaining knobs.
    """
    if loss_form not in LOSS_FORMS:
        raise ConslawError(f"unknown --loss-form {loss_form!r}; choose one of {', '.join(LOSS_FORMS)}")
    if top < 1 or meta_epochs < 0:
        raise ConslawError(f"top must be >= 1 and meta_epochs >= 0 (got top={top}, meta_epochs={meta_epochs})")
    lrs = DEFAULT_INNER_LRS if inner_lrs is None else tuple(sorted({0.0, *map(float, inner_lrs)}))
    if any(lr < 0 or not np.isfinite(lr) for lr in lrs):
        raise ConslawError(f"inner learning rates must be finite and >= 0, got {list(inner_lrs or [])}")
    base = protocol or TailoringProtocol()
    protocol = TailoringProtocol(**{**asdict(base), "training": base.training, "top": top, "inner_lrs": lrs,
                                    "meta_epochs": meta_epochs, "loss_form": loss_form})
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ConslawError("seeds must name at least one seed")
    timings: dict[str, float] = {}

    started = time.perf_counter()
    ranking_seed = seed_list[0]
    ranking_data = dataset(ranking_seed) if callable(dataset) else dataset
    normalized = normalize_candidates(candidates, ranking_data.columns)
    setup = _prepare(ranking_data, ranking_seed, protocol, cache_dir)
    timings["train"] = time.perf_counter() - started

    # Stage 1: every candidate x inner lr, one inner step, training rollout RMSE.
    started = time.perf_counter()
    vanilla_train = _model_rmse(setup, setup.params, None, 0.0, protocol, "train")
    stage1: dict[str, dict] = {}
    for candidate in normalized:
        stored = checkpoint.load(f"stage1/{candidate.id}") if checkpoint else None
        if stored is not None:
            stage1[candidate.id] = stored
    pending = [c for c in normalized if c.id not in stage1]
    for start in range(0, len(pending), protocol.candidate_chunk):
        batch = pending[start:start + protocol.candidate_chunk]
        scores = _sweep(setup, [_noether(c.law, setup, protocol) for c in batch], protocol)
        for candidate, row in zip(batch, scores):
            lr, value, sweep = _best_lr(vanilla_train, row, protocol)
            stage1[candidate.id] = {"best_inner_lr": lr, "train_loss": value, "inner_lr_sweep": sweep}
            if checkpoint:
                checkpoint.save(f"stage1/{candidate.id}", stage1[candidate.id])
        if progress:
            progress("stage1", len(normalized) - len(pending) + start + len(batch), len(normalized))
    results = {c.id: CandidateResult(c.id, c.expression, **stage1[c.id]) for c in normalized}
    ranked = sorted(normalized, key=lambda c: (stage1[c.id]["train_loss"], c.id))[:top]
    timings["stage1"] = time.perf_counter() - started

    # Stage 2: meta-tailoring of the top candidates; select on training rollout RMSE.
    started = time.perf_counter()
    meta_params: dict[str, Params] = {}
    for done, candidate in enumerate(ranked, 1):
        stored = checkpoint.load(f"stage2/{candidate.id}") if checkpoint else None
        if stored is None:
            lr = stage1[candidate.id]["best_inner_lr"]
            params, rmse, outer, diverged = _meta(setup, _noether(candidate.law, setup, protocol).pointwise, lr, protocol)
            stored = {"train_loss": rmse, "diverged": diverged, "outer_loss": outer,
                      "inner_lr": lr, "epochs": protocol.meta_epochs}
            if not diverged:
                meta_params[candidate.id] = params
            if checkpoint:
                checkpoint.save(f"stage2/{candidate.id}", stored)
        results[candidate.id].meta = stored
        if progress:
            progress("stage2", done, len(ranked))
    usable = [c for c in ranked if not results[c.id].meta["diverged"]]
    winner = min(usable, key=lambda c: (results[c.id].meta["train_loss"], c.id)) if usable else None
    selected = None if winner is None else {
        "id": winner.id, "expression": winner.expression,
        "inner_lr": results[winner.id].meta["inner_lr"], "train_loss": results[winner.id].meta["train_loss"],
    }
    timings["stage2"] = time.perf_counter() - started

    # Evaluation on every seed (the ranking seed reuses its selected lr and meta model).
    started = time.perf_counter()
    true_law = ranking_data.true_law
    threads = max(1, torch.get_num_threads() // jobs) if jobs > 1 and backend in ("loky", "dask") else None
    per_seed: dict[int, dict] = {}
    for seed in seed_list:
        stored = checkpoint.load(f"seed{seed}/evaluation") if checkpoint else None
        if stored is not None:
            per_seed[seed] = stored
    known = {"lr": {}, "params": {}}
    if winner is not None:
        known["lr"]["noether"] = selected["inner_lr"]
        if winner.id in meta_params:
            known["params"]["noether"] = meta_params[winner.id]
    todo = [s for s in seed_list if s not in per_seed]
    wave_size = max(jobs, 1)
    for offset in range(0, len(todo), wave_size):  # waves of `jobs` seeds, checkpointed after each
        tasks = [(dataset, seed, protocol, cache_dir, None if winner is None else winner.law, true_law,
                  known if seed == ranking_seed else None, threads) for seed in todo[offset:offset + wave_size]]
        for outcome in run_parallel(_evaluate_seed, tasks, jobs=jobs, backend=backend, scheduler=scheduler):
            per_seed[outcome["seed"]] = outcome
            if checkpoint:
                checkpoint.save(f"seed{outcome['seed']}/evaluation", outcome)
        if progress:
            progress("evaluation", min(offset + wave_size, len(todo)), len(todo))
    rollouts = per_seed[ranking_seed].pop("rollouts", None) if ranking_seed in per_seed else None
    evaluation = _aggregate([per_seed[s] for s in seed_list], true_law)
    timings["evaluation"] = time.perf_counter() - started

    protocol_dict = {k: v for k, v in asdict(protocol).items() if k != "training"}
    protocol_dict.update(training=asdict(protocol.training), loss_dt=setup.loss_dt, ranking_seed=ranking_seed)
    return TailoringResults(
        candidates=[results[c.id] for c in normalized], selected=selected, evaluation=evaluation,
        protocol=protocol_dict, timings=timings, rollouts=rollouts,
    )
