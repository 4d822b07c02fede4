"""The ranker of the paper: stage 1 tailors every candidate at every inner lr, stage 2 meta-tailors
the best ``top``, and the law with the best stage-2 TRAINING rollout RMSE is selected.

Both stages read training data only (the ranking seed's training trajectories and points).
``score`` and ``meta`` are also the evaluation's kernels: each runs an ensemble of members at once,
cut into one part per torch thread and the parts side by side (``vectorize=True``), or one member
at a time, with the same numbers.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from conslaw.checkpoints import Checkpoints
from conslaw.datasets.types import Trajectory
from conslaw.errors import ConslawError
from conslaw.tailoring.integrate import rollout_rmse
from conslaw.tailoring.loss import NoetherLoss, combined_weights
from conslaw.tailoring.models import Params
from conslaw.tailoring.protocol import TailoringConfig
from conslaw.tailoring.results import TailoringCandidate
from conslaw.tailoring.splits import shared_groups, stacked_groups
from conslaw.tailoring.side_by_side import side_by_side
from conslaw.tailoring.tailor import Block, Ensemble, MetaResult, Part, PointLoss, meta_tailor, shared_block

Progress = Callable[[str, int, int], None]
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Context:
    """What every kernel needs: the options, the model template, the columns and the loss step."""

    config: TailoringConfig
    model: torch.nn.Module
    columns: tuple[str, ...]
    loss_dt: float
    progress: Optional[Progress] = None
    states: Optional[np.ndarray] = None
    """The ranking seed's training states, on which ``--law-scale spread`` measures each law."""

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.config.dtype]

    def loss(self, laws: Sequence[Any], weights: Optional[Sequence[float]] = None) -> PointLoss:
        """The per-state Noether loss of ``laws`` under the configured form and time step; with
        ``--law-scale spread`` and no ``weights``, each law divided by its spread on ``states``."""
        if weights is None and self.config.law_scale == "spread" and self.states is not None:
            weights = combined_weights(laws, self.columns, self.states)
        return NoetherLoss(laws, self.columns, form=self.config.loss_form, dt=self.loss_dt, weights=weights).pointwise

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(stage, done, total)


PART_ROWS = 512
"""The fewest rows (members x states per member) a part of an ensemble takes. Torch releases the
GIL in each op, and two parts of small ops spend their time handing it over: a rollout of 72
stage-1 members (hidden 200, 30 steps), as one part against two side by side, 0.27x at 1 state
per member (36 rows a part; the recorded pendulum's one training trajectory), 0.63x at 8 (288),
1.14x at 25 (900; the pendulum's training trajectories), 1.63x at 64 (2,304), 2.0x at 256."""


def _pieces(ensemble: Ensemble, vectorize: bool, rows: int) -> list[Part]:
    """The parts an ensemble of members with ``rows`` states each runs in: when ``vectorize``, one
    per torch thread, each of at least ``PART_ROWS`` rows (``_run`` runs them side by side);
    else one per member."""
    if not vectorize:
        return ensemble.split()
    return ensemble.parts(max(1, min(torch.get_num_threads(), ensemble.size * rows // PART_ROWS)))


def _run(calls: Sequence[Callable[[], Any]], vectorize: bool) -> list:
    """Every call's result: side by side when ``vectorize`` and there are several, else one after
    the other on this thread's torch threads (one part of small ops: torch's threads may still
    share out its matrix products)."""
    return side_by_side(calls) if vectorize and len(calls) > 1 else [call() for call in calls]


def score(context: Context, blocks: list[Block], data: Sequence[Sequence[Trajectory]], *,
          model: Optional[torch.nn.Module] = None, vectorize: bool = True) -> list[np.ndarray]:
    """Rollout RMSE of every member of every block, member i on its trajectories ``data[i]``
    (members counted across blocks); one array per block."""
    ensemble = Ensemble(model if model is not None else context.model, blocks, context.config.inner_steps)
    dtype, integrator = context.dtype, context.config.integrator

    def rmse(part: Part) -> np.ndarray:
        trajectories = [data[i] for i in part.members]
        groups = stacked_groups(trajectories, dtype) if vectorize else None
        if groups is not None:
            return rollout_rmse(part.ensemble.field, groups, integrator)
        return np.concatenate([rollout_rmse(member.ensemble.field, shared_groups(rows, 1, dtype), integrator)
                               for member, rows in zip(part.ensemble.split(), trajectories)])

    parts = _pieces(ensemble, vectorize, min((len(rows) for rows in data), default=0))
    values = np.empty(ensemble.size)
    for part, part_values in zip(parts, _run([partial(rmse, part) for part in parts], vectorize)):
        values[part.members] = part_values
    return list(np.split(values, np.cumsum([b.size for b in blocks])[:-1]))


def meta(context: Context, blocks: list[Block], points: Sequence[tuple[np.ndarray, np.ndarray]],
         progress: Callable[[float], None], *, vectorize: bool = True) -> tuple[list[Block], np.ndarray, np.ndarray]:
    """Meta-tailor every member of ``blocks``, member i on its training points ``points[i]``
    (``(x, dxdt)``); returns the trained blocks, each member's last outer loss and divergence flag.
    ``progress(fraction)`` is called every 10 epochs of each part."""
    config = context.config
    ensemble = Ensemble(context.model, blocks, config.inner_steps)
    together = vectorize and len({x.shape for x, _ in points}) == 1
    parts = _pieces(ensemble, together, min((len(x) for x, _ in points), default=0))
    done, lock = np.zeros(len(parts)), threading.Lock()

    def train(index: int, part: Part) -> MetaResult:
        x = torch.as_tensor(np.stack([points[i][0] for i in part.members]), dtype=context.dtype)
        dxdt = torch.as_tensor(np.stack([points[i][1] for i in part.members]), dtype=context.dtype)

        def epoch_done(epoch: int, total: int) -> None:
            if epoch % 10 == 0 or epoch == total:
                with lock:  # parts side by side report from their threads
                    done[index] = epoch / total
                    progress(float(done.mean()))

        return meta_tailor(part.ensemble, x, dxdt, epochs=config.meta_epochs, outer_lr=config.outer_lr,
                           weight_decay=config.outer_weight_decay, blowup=config.blowup, progress=epoch_done)

    results = _run([partial(train, i, part) for i, part in enumerate(parts)], together)
    outer, diverged = np.empty(ensemble.size), np.empty(ensemble.size, bool)
    for part, result in zip(parts, results):
        outer[part.members], diverged[part.members] = result.outer_losses, result.diverged
    trained = ensemble.joined([replace(part, ensemble=result.ensemble) for part, result in zip(parts, results)])
    return trained, outer, diverged


TIE_TOLERANCE = 1e-3
"""Training RMSEs this close (relative) tie: the vectorized and one-model-at-a-time paths, the same
arithmetic in another order, agree only to this in float32 (tests), so closer values rank nothing."""


def ties(value: float, best: float) -> bool:
    """Whether ``value`` is within ``TIE_TOLERANCE`` of the lowest RMSE ``best``."""
    return value <= best * (1 + TIE_TOLERANCE)


def sweep_record(untailored: float, scores: np.ndarray, lrs: Sequence[float]) -> dict:
    """The inner-lr sweep of one candidate and its best lr; lr 0 (untailored) wins ties, within
    ``TIE_TOLERANCE``, so tailoring is chosen only when it measurably helps."""
    values = [untailored] + [float(v) for v in scores]
    all_lrs = [0.0] + list(lrs)
    best = int(np.argmin(values))
    if ties(untailored, values[best]):
        best = 0
    finite = np.isfinite(values[best])
    return {"inner_lr": all_lrs[best], "train_rmse": values[best] if finite else None,
            "sweep": {f"{lr:g}": (v if np.isfinite(v) else None) for lr, v in zip(all_lrs, values)}}


def ranking_pool(candidates: Sequence[TailoringCandidate], config: TailoringConfig) -> list[TailoringCandidate]:
    """Stage 1's candidates: the top ``pool_size`` of the ranking, accepted or not (``ranked``),
    or of the accepted laws only (``accepted``)."""
    ordered = sorted(candidates, key=lambda c: (c.rank, c.id))
    if config.pool == "accepted":
        ordered = [c for c in ordered if c.accepted]
    return ordered[:config.pool_size]


def stage1(context: Context, pool: Sequence[TailoringCandidate], pretrained: Callable[[], Params],
           train: Sequence[Trajectory], checkpoints: Optional[Checkpoints], *, vectorize: bool = True
           ) -> dict[str, dict]:
    """Every candidate at every positive inner lr: the training rollout RMSE (``candidate_chunk``
    candidates x lrs per batched rollout) of the ``pretrained()`` model."""
    lrs = [lr for lr in context.config.inner_lrs if lr > 0]
    records = {c.id: checkpoints.load(f"tailoring/stage1/{c.id}") for c in pool} if checkpoints else {}
    pending = [c for c in pool if records.get(c.id) is None]
    if not pending:
        return {c.id: records[c.id] for c in pool}
    params = {k: v.to(context.dtype) for k, v in pretrained().items()}  # one copy, shared by every block
    untailored = float(score(context, [shared_block(None, params, [0.0], context.dtype)], [train],
                             vectorize=vectorize)[0][0])
    chunk = context.config.candidate_chunk
    for start in range(0, len(pending), chunk):
        batch, blocks = [], []
        for candidate in pending[start:start + chunk]:
            try:
                blocks.append(shared_block(context.loss([candidate.expression]), params, lrs, context.dtype))
                batch.append(candidate)
            except ConslawError as error:  # e.g. a function with no torch equivalent
                records[candidate.id] = {"inner_lr": None, "train_rmse": None, "sweep": {}, "error": str(error)}
        scores = [np.zeros(0)] * len(blocks)
        if blocks and lrs:
            scores = score(context, blocks, [train] * (len(blocks) * len(lrs)), vectorize=vectorize)
        for candidate, row in zip(batch, scores):
            records[candidate.id] = sweep_record(untailored, row, lrs)
        for candidate in pending[start:start + chunk]:
            if checkpoints:
                checkpoints.save(f"tailoring/stage1/{candidate.id}", records[candidate.id])
        context.report("tailoring stage 1", len(pool) - len(pending) + min(start + chunk, len(pending)), len(pool))
    return {c.id: records[c.id] for c in pool}


def by_rmse(candidates: Sequence[TailoringCandidate], rmse: dict[str, float]) -> list[TailoringCandidate]:
    """``candidates`` best first: repeatedly, among those within ``TIE_TOLERANCE`` of the lowest
    remaining RMSE, the best discovery rank."""
    remaining, ordered = sorted(candidates, key=lambda c: (c.rank, c.id)), []
    while remaining:
        best = min(rmse[c.id] for c in remaining)
        chosen = next(c for c in remaining if ties(rmse[c.id], best))
        ordered.append(chosen)
        remaining.remove(chosen)
    return ordered


def finalists(pool: Sequence[TailoringCandidate], records: dict[str, dict], top: int) -> list[TailoringCandidate]:
    """The ``top`` candidates by stage-1 training RMSE (``by_rmse``: ties go to discovery rank)."""
    usable = [c for c in pool if records[c.id].get("train_rmse") is not None]
    return by_rmse(usable, {c.id: records[c.id]["train_rmse"] for c in usable})[:top]


def stage2(context: Context, chosen: Sequence[TailoringCandidate], lrs: dict[str, float],
           pretrained: Callable[[], Params], points: tuple[np.ndarray, np.ndarray], train: Sequence[Trajectory],
           checkpoints: Optional[Checkpoints], *, vectorize: bool = True) -> dict[str, dict]:
    """Meta-tailor each chosen candidate at its stage-1 inner lr; its training rollout RMSE.
    The candidates at inner lr 0 take no Noether step, so they are one member: plain fine-tuning."""
    records = {c.id: checkpoints.load(f"tailoring/stage2/{c.id}") for c in chosen} if checkpoints else {}
    pending = [c for c in chosen if records.get(c.id) is None]
    untailored = [c for c in pending if lrs[c.id] == 0]
    members = [[c] for c in pending if lrs[c.id] != 0] + ([untailored] if untailored else [])
    params = pretrained() if pending else {}
    chunk, epochs = context.config.candidate_chunk, context.config.meta_epochs
    for start in range(0, len(members), chunk):
        batch = members[start:start + chunk]
        blocks = [shared_block(context.loss([group[0].expression]) if lrs[group[0].id] else None, params,
                               [lrs[group[0].id]], context.dtype) for group in batch]

        def progress(fraction: float, start: int = start) -> None:
            context.report("tailoring stage 2", round((start + fraction * len(batch)) * epochs), len(members) * epochs)

        trained, outer, diverged = meta(context, blocks, [points] * len(blocks), progress, vectorize=vectorize)
        rmse = np.concatenate(score(context, trained, [train] * len(batch), vectorize=vectorize))
        for group, value, loss, failed in zip(batch, rmse, outer, diverged):
            failed = bool(failed or not np.isfinite(value))
            for candidate in group:
                records[candidate.id] = {"train_rmse": None if failed else float(value), "diverged": failed,
                                         "inner_lr": lrs[candidate.id], "epochs": epochs,
                                         "outer_loss": float(loss) if np.isfinite(loss) else None}
                if checkpoints:
                    checkpoints.save(f"tailoring/stage2/{candidate.id}", records[candidate.id])
    return {c.id: records[c.id] for c in chosen}


def winner(chosen: Sequence[TailoringCandidate], records: dict[str, dict]) -> Optional[TailoringCandidate]:
    """The chosen candidate with the lowest stage-2 training RMSE (``by_rmse``: ties go to
    discovery rank); None when all diverged."""
    usable = [c for c in chosen if not records[c.id]["diverged"]]
    return by_rmse(usable, {c.id: records[c.id]["train_rmse"] for c in usable})[0] if usable else None
