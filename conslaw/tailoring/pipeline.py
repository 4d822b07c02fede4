"""``run_tailoring``: train, rank the candidates as Noether losses, evaluate the winner over seeds.

Stages (progress names ``tailoring training``, ``tailoring stage 1``, ``tailoring stage 2``,
``tailoring evaluation``): the MLP and HNN of every seed train as one ensemble; stages 1 and 2
(``conslaw.tailoring.stages``) rank on one seed's TRAINING data (``ranking_seed``, the first by
default); every seed is then evaluated at once (``conslaw.tailoring.evaluate``). Each finished
piece is stored in ``checkpoints`` (``tailoring/stage1/<id>``, ``tailoring/stage2/<id>``,
``tailoring/seed-<k>``, ``tailoring/rollouts``), so that a second run with the same store skips
it. The HNN baseline pairs the columns as ``hnn_pairs`` says.
"""
from __future__ import annotations

import dataclasses
import time
from functools import cached_property
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import sympy
import torch

from conslaw.checkpoints import Checkpoints
from conslaw.datasets.types import TrajectoryDataset
from conslaw.dsl.expressions import parse_expression
from conslaw.tailoring.duration import check_duration
from conslaw.tailoring.evaluate import LawMethod, Seeds, aggregate, evaluate_seeds
from conslaw.tailoring.loss import combined_weights
from conslaw.tailoring.memory import check_memory
from conslaw.tailoring.models import HNN, MLP, Params, Scaling, pretrained_params, scaled
from conslaw.tailoring.pairing import ConjugatePairs, hnn_pairs, pairs_text
from conslaw.tailoring.protocol import TailoringConfig
from conslaw.tailoring.results import TailoringCandidate, TailoringResults, candidate_record
from conslaw.tailoring.splits import SeedData, column_scaling, loss_dt, scale_warnings, seed_data
from conslaw.tailoring.stages import Context, Progress, finalists, ranking_pool, stage1, stage2, winner

Source = Union[TrajectoryDataset, Callable[[int], TrajectoryDataset]]


class Pretrained:
    """Every seed's MLP and HNN, trained (ensembles side by side: ``models.pretrained_params``) on first use."""

    def __init__(self, data: list[SeedData], config: TailoringConfig, cache_dir, context: Context,
                 vectorize: bool, scaling: Optional[Scaling], pairs: Optional[ConjugatePairs]) -> None:
        self.data, self.config, self.cache_dir = data, config, cache_dir
        self.context, self.vectorize, self.scaling, self.pairs = context, vectorize, scaling, pairs
        self.seconds = 0.0
        self.with_hnn = pairs is not None  # None without config.hnn too (run_tailoring)

    @cached_property
    def _trained(self) -> dict[str, list[Params]]:
        """Every kind's models, trained side by side on first use; the bar counts training steps
        over both kinds."""
        started = time.perf_counter()
        config = self.config
        kinds = ("mlp", "hnn") if self.with_hnn else ("mlp",)
        total = len(kinds) * config.train_steps

        def progress(fraction: float) -> None:
            self.context.report("tailoring training", round(fraction * total), total)

        params = pretrained_params(kinds, [d.x for d in self.data], [d.dxdt for d in self.data],
                                   [d.seed for d in self.data], hidden=config.hidden, steps=config.train_steps,
                                   lr=config.train_lr, weight_decay=config.train_weight_decay,
                                   cache_dir=self.cache_dir, vectorize=self.vectorize,
                                   workers=torch.get_num_threads(), progress=progress, scaling=self.scaling,
                                   pairs=self.pairs)
        self.seconds += time.perf_counter() - started
        self.context.report("tailoring training", total, total)
        return params

    @property
    def mlp(self) -> list[Params]:
        return self._trained["mlp"]

    @property
    def hnn(self) -> Optional[list[Params]]:
        return self._trained["hnn"] if self.with_hnn else None


def _same_law(a, b, columns: Sequence[str]) -> bool:
    return sympy.expand(parse_expression(a, columns) - parse_expression(b, columns)) == 0


def _law_methods(best: Optional[TailoringCandidate], true_law: Optional[str], combined: dict,
                 columns: Sequence[str]) -> tuple[list[LawMethod], dict[str, str]]:
    methods, aliases = [], {}
    if best is not None:
        methods.append(LawMethod("noether", [best.expression]))
    if true_law is not None:
        if best is not None and _same_law(best.expression, true_law, columns):
            aliases["oracle"] = "noether"  # the same law: the same numbers
        else:
            methods.append(LawMethod("oracle", [true_law]))
    if combined:
        methods.append(LawMethod("combined", combined["expressions"], combined["weights"]))
    return methods, aliases


def _combined(candidates: Sequence[TailoringCandidate], config: TailoringConfig, ranking: SeedData) -> dict:
    laws = sorted((c for c in candidates if c.accepted and c.independent), key=lambda c: c.rank)
    if not config.combine or not laws:
        return {}
    weights = combined_weights([c.expression for c in laws], ranking.dataset.columns, ranking.x)
    return {"ids": [c.id for c in laws], "laws": [c.text for c in laws], "weights": weights,
            "normalisation": "1 / (standard deviation of the law on the training states)**2",
            "expressions": [c.expression for c in laws]}


def _evaluate(context: Context, seed_ids: list[int], data: list[SeedData], models: Pretrained,
              methods: list[LawMethod], checkpoints: Optional[Checkpoints], vectorize: bool):
    stored = {k: checkpoints.load(f"tailoring/seed-{k}") for k in seed_ids} if checkpoints else {}
    rollouts = checkpoints.load("tailoring/rollouts") if checkpoints else None
    pending = [i for i, k in enumerate(seed_ids) if stored.get(k) is None]
    if pending:
        hnn = models.hnn
        seeds = Seeds([data[i] for i in pending], [models.mlp[i] for i in pending],
                      None if hnn is None else [hnn[i] for i in pending],
                      scaled(HNN(data[0].x.shape[1], context.config.hidden, models.pairs), models.scaling)
                      if hnn is not None else None)
        records, paths = evaluate_seeds(context, [seed_ids[i] for i in pending], seeds, methods,
                                        rollouts=pending[0] == 0, vectorize=vectorize)
        for record in records:
            stored[record["seed"]] = record
            if checkpoints:
                checkpoints.save(f"tailoring/seed-{record['seed']}", record)
        if paths is not None:
            rollouts = paths
            if checkpoints:
                checkpoints.save("tailoring/rollouts", paths)
    return [stored[k] for k in seed_ids], rollouts


def _clock(timings: dict, name: str, models: Pretrained, work: Callable):
    """Run ``work()``; its wall time without the model training it triggered goes to ``timings[name]``."""
    trained, started = models.seconds, time.perf_counter()
    value = work()
    timings[name] = time.perf_counter() - started - (models.seconds - trained)
    return value


def run_tailoring(source: Source, candidates: Sequence[TailoringCandidate],
                  config: TailoringConfig = TailoringConfig(), *, checkpoints: Optional[Checkpoints] = None,
                  progress: Optional[Progress] = None, cache_dir: Union[str, Path, None] = None,
                  vectorize: bool = True, canonical: Optional[str] = None) -> TailoringResults:
    """Rank ``candidates`` as Noether losses on one seed's training data and evaluate the winner
    on seeds ``0..config.seeds-1`` (``source``: a data set, or ``seed -> data set``); the HNN
    baseline pairs the columns as ``canonical`` says (``hnn_pairs``).
    ``vectorize=False`` runs one model at a time (the reference for the vectorized path); a run
    estimated to pass ``config.tailor_max_memory_gb`` or, for the baselines' training,
    ``config.tailor_max_minutes`` is refused first (``memory.check_memory``,
    ``duration.check_duration``)."""
    if config.threads:
        torch.set_num_threads(config.threads)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    seed_ids = list(range(config.seeds))
    data = [seed_data(source(k) if callable(source) else source, k, config.recording_protocol) for k in seed_ids]
    ranking = data[config.ranking_seed]
    check_memory(ranking.dataset, config)
    columns = ranking.dataset.columns
    scaling = column_scaling(ranking, config.standardize)
    context = Context(config, scaled(MLP(len(columns), config.hidden), scaling), tuple(columns),
                      loss_dt(ranking, config.loss_dt), progress, ranking.x)
    pairs, pairing_warnings = hnn_pairs(columns, ranking.dataset.dimensions, canonical) if config.hnn \
        else (None, [])
    check_duration(ranking.dataset, config, with_hnn=pairs is not None)
    models = Pretrained(data, config, cache_dir, context, vectorize, scaling, pairs)
    timings["data"] = time.perf_counter() - started

    pool = ranking_pool(candidates, config)

    def ranking_model() -> Params:
        return models.mlp[config.ranking_seed]

    first = _clock(timings, "stage1", models, lambda: stage1(context, pool, ranking_model, ranking.train,
                                                             checkpoints, vectorize=vectorize))
    chosen = finalists(pool, first, config.top)
    second = _clock(timings, "stage2", models, lambda: stage2(
        context, chosen, {c.id: first[c.id]["inner_lr"] for c in chosen}, ranking_model,
        (ranking.x, ranking.dxdt), ranking.train, checkpoints, vectorize=vectorize))
    best = winner(chosen, second)
    combined = _combined(candidates, config, ranking)
    methods, aliases = _law_methods(best, ranking.dataset.true_law, combined, columns)
    records, rollouts = _clock(timings, "evaluation", models, lambda: _evaluate(
        context, seed_ids, data, models, methods, checkpoints, vectorize))
    evaluation = aggregate(records, aliases)
    timings["training"] = models.seconds

    selected = None if best is None else {"id": best.id, "rank": best.rank, "expression": best.text,
                                          "inner_lr": second[best.id]["inner_lr"],
                                          "train_rmse": second[best.id]["train_rmse"]}
    protocol = {**dataclasses.asdict(config), "true_law": ranking.dataset.true_law, "loss_dt_used": context.loss_dt,
                "ranking_seed": config.ranking_seed, "dataset": ranking.dataset.name, "pool_candidates": len(pool),
                "scaling": None if scaling is None else dataclasses.asdict(scaling),
                "hnn_pairs": pairs_text(columns, pairs)}
    return TailoringResults(
        candidates=[candidate_record(c, first[c.id], second.get(c.id)) for c in pool], selected=selected,
        evaluation=evaluation, protocol=protocol,
        combined={k: v for k, v in combined.items() if k != "expressions"}, timings=timings, rollouts=rollouts,
        warnings=scale_warnings(ranking, scaling) + pairing_warnings)
