"""The evaluation over seeds: every method's test rollout RMSE, all seeds as one ensemble.

Per seed: ``vanilla`` (the pretrained MLP), ``finetune`` (the control: the same meta epochs at
inner lr 0), ``tailored`` (the selected law on the pretrained MLP), ``noether`` (meta-tailored with
the selected law), ``oracle`` (the data set's true law), ``combined`` (all independent accepted
laws at once) and ``hnn``. Each law method's inner lr is picked per seed on that seed's TRAINING
rollouts (0 included). Test rollouts are kept for the first seed only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import torch

from conslaw.tailoring.integrate import rollout
from conslaw.tailoring.models import Params
from conslaw.tailoring.splits import SeedData, stacked_groups
from conslaw.tailoring.stages import Context, meta, score, sweep_record
from conslaw.tailoring.stats import INTERVAL, paired_comparison, summarize
from conslaw.tailoring.tailor import Block, Ensemble

METHODS = ("vanilla", "finetune", "tailored", "noether", "oracle", "combined", "hnn")
LAW_METHODS = ("noether", "oracle", "combined")
STAGE = "tailoring evaluation"


@dataclass
class LawMethod:
    """A law method: its laws and their weights (``combined`` normalises each law)."""

    name: str
    laws: list[Any]
    weights: Optional[list[float]] = None


@dataclass
class Seeds:
    """The seeds being evaluated: their data and pretrained parameters."""

    data: list[SeedData]
    mlp: list[Params]
    hnn: Optional[list[Params]]
    hnn_model: Optional[torch.nn.Module]

    def stacked(self, params: list[Params], dtype: torch.dtype) -> Params:
        return {k: torch.stack([p[k] for p in params]).to(dtype) for k in params[0]}


def _block(loss, params: Params, lrs: Sequence[float], dtype: torch.dtype) -> Block:
    return Block(loss, params, torch.as_tensor(list(lrs), dtype=dtype))


def _inner_lrs(context: Context, seeds: Seeds, losses: dict, vectorize: bool) -> dict[str, list[float]]:
    """Each law method's inner lr per seed, from the sweep on that seed's training rollouts."""
    lrs = [lr for lr in context.config.inner_lrs if lr > 0]
    dtype, n = context.dtype, len(seeds.data)
    blocks = [_block(None, seeds.stacked(seeds.mlp, dtype), [0.0] * n, dtype)]
    data = [d.train for d in seeds.data]
    for loss in losses.values():
        for k, params in enumerate(seeds.mlp):
            blocks.append(_block(loss, {name: v.to(dtype).expand(len(lrs), *v.shape) for name, v in params.items()},
                                 lrs, dtype))
            data += [seeds.data[k].train] * len(lrs)
    scores = score(context, blocks, data, vectorize=vectorize)
    untailored, rows = scores[0], iter(scores[1:])
    return {name: [sweep_record(float(untailored[k]), next(rows), lrs)["inner_lr"] for k in range(n)]
            for name in losses}


def _method_rmse(context: Context, seeds: Seeds, losses: dict, lrs: dict, vectorize: bool
                 ) -> tuple[dict[str, list], list[Block], list[str]]:
    """Every method's test RMSE per seed (None where the meta-tailoring diverged), and the MLP
    methods' blocks with their names (for the rollouts)."""
    dtype, n = context.dtype, len(seeds.data)
    pretrained = seeds.stacked(seeds.mlp, dtype)
    to_train = [_block(None, pretrained, [0.0] * n, dtype)]
    to_train += [_block(loss, pretrained, lrs[name], dtype) for name, loss in losses.items()]
    points = [(d.x, d.dxdt) for d in seeds.data] * len(to_train)
    epochs = context.config.meta_epochs
    trained, _, diverged = meta(context, to_train, points,
                                lambda fraction: context.report(STAGE, 1 + round(fraction * epochs), epochs + 2),
                                vectorize=vectorize)
    blocks = [_block(None, pretrained, [0.0] * n, dtype)]
    blocks += [_block(losses["noether"], pretrained, lrs["noether"], dtype)] if "noether" in losses else []
    blocks += trained
    names = ["vanilla"] + (["tailored"] if "noether" in losses else []) + ["finetune", *losses]
    values = score(context, blocks, [d.test for d in seeds.data] * len(blocks), vectorize=vectorize)
    failed = np.split(diverged, len(trained))
    out = {name: [float(v) if np.isfinite(v) else None for v in row] for name, row in zip(names, values)}
    for name, flags in zip(["finetune", *losses], failed):
        out[name] = [None if flag else v for v, flag in zip(out[name], flags)]
    if seeds.hnn is not None:
        hnn = score(context, [_block(None, seeds.stacked(seeds.hnn, dtype), [0.0] * n, dtype)],
                    [d.test for d in seeds.data], model=seeds.hnn_model, vectorize=vectorize)[0]
        out["hnn"] = [float(v) if np.isfinite(v) else None for v in hnn]
    return out, blocks, names


def first_seed_rollouts(context: Context, seeds: Seeds, blocks: list[Block], names: list[str]) -> dict:
    """The first seed's test rollouts of its first time grid: ``times``, ``truth`` and one
    ``(trajectories, times, d)`` array per method."""
    group = stacked_groups([seeds.data[0].test], context.dtype)[0]
    firsts = [Block(b.loss, {k: v[:1] for k, v in b.params.items()}, b.lrs[:1]) for b in blocks]
    out: dict[str, np.ndarray] = {"times": group.t.double().numpy(), "truth": group.truth[0].double().numpy()}
    with torch.no_grad():
        paths = rollout(Ensemble(context.model, firsts, context.config.inner_steps).field,
                        group.truth[:, :, 0].expand(len(firsts), -1, -1), group.t, context.config.integrator)
        out.update({name: paths[i].double().numpy() for i, name in enumerate(names)})
        if seeds.hnn is not None:
            hnn = Block(None, {k: v[:1].to(context.dtype) for k, v in seeds.stacked(seeds.hnn, context.dtype).items()},
                        torch.zeros(1, dtype=context.dtype))
            out["hnn"] = rollout(Ensemble(seeds.hnn_model, [hnn]).field, group.truth[:, :, 0], group.t,
                                 context.config.integrator)[0].double().numpy()
    return out


def evaluate_seeds(context: Context, seed_ids: Sequence[int], seeds: Seeds, methods: Sequence[LawMethod],
                   *, rollouts: bool, vectorize: bool = True) -> tuple[list[dict], Optional[dict]]:
    """Every method on every seed; with ``rollouts``, also the first seed's test rollouts."""
    losses = {m.name: context.loss(m.laws, m.weights) for m in methods}
    total = context.config.meta_epochs + 2  # the lr sweep, the meta epochs, the test rollouts
    context.report(STAGE, 0, total)
    lrs = _inner_lrs(context, seeds, losses, vectorize)
    context.report(STAGE, 1, total)
    rmse, blocks, names = _method_rmse(context, seeds, losses, lrs, vectorize)
    context.report(STAGE, total, total)
    records = [{"seed": seed, "rmse": {name: values[k] for name, values in rmse.items()},
                "inner_lr": {name: lrs[name][k] for name in lrs}} for k, seed in enumerate(seed_ids)]
    paths = first_seed_rollouts(context, seeds, blocks, names) if rollouts else None
    return records, paths


def aggregate(records: Sequence[dict], aliases: dict[str, str]) -> dict:
    """The evaluation section: per-seed values, summaries and paired comparisons.
    ``aliases`` maps a method to the one whose numbers it shares (the oracle when it is the
    selected law)."""
    per_seed = {m: [r["rmse"].get(aliases.get(m, m)) for r in records] for m in METHODS}
    per_seed = {m: v for m, v in per_seed.items() if any(x is not None for x in v) or m in aliases}
    paired = {f"{m}_vs_vanilla": paired_comparison(per_seed[m], per_seed["vanilla"])
              for m in per_seed if m != "vanilla"}
    paired.update({f"{m}_vs_finetune": paired_comparison(per_seed[m], per_seed["finetune"])
                   for m in ("tailored", "noether", "oracle", "combined") if m in per_seed})
    if "combined" in per_seed and "noether" in per_seed:
        paired["combined_vs_noether"] = paired_comparison(per_seed["combined"], per_seed["noether"])
    inner = {m: [r["inner_lr"].get(aliases.get(m, m)) for r in records] for m in LAW_METHODS
             if any(aliases.get(m, m) in r["inner_lr"] for r in records)}
    return {"seeds": [r["seed"] for r in records], "interval": INTERVAL,
            "summary": {m: summarize(v) for m, v in per_seed.items()}, "per_seed": per_seed,
            "paired": paired, "inner_lrs": inner}
