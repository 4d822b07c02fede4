"""The baselines' training time, estimated before any work, and the refusal of a run that would
run away.

Training the MLP and HNN baselines is most of a first search's tailoring (71 of 97 s on the
pendulum, ``benchmarks/README.md``) and grows with seeds x training points x steps x hidden
units squared: a user's file sampled at 1 kHz would train for hours. The estimate counts the
matrix products of a training step per training point (the MLP's three layers, forward and
backward: about 6 h**2 multiply-adds; the HNN's gradient and its backward pass, about 12 h**2)
at ``FLOPS_PER_THREAD``, measured. This module imports no torch: the engine checks the estimate
before discovery starts.
"""
from __future__ import annotations

from dataclasses import dataclass

import joblib

from conslaw.datasets.types import TrajectoryDataset
from conslaw.errors import UsageError
from conslaw.options import flags
from conslaw.tailoring.memory import law_methods, training_points
from conslaw.tailoring.protocol import TailoringConfig

FLOPS_PER_THREAD = 5e10
"""Floating-point operations per second of one training thread, everything counted: one float32
training step on one thread, 1,300 points, 200 hidden units, took 6.0 ms (MLP) and 10.4-11.4 ms
(HNN) per model on the AMD EPYC of ``benchmarks/README.md`` (2026-12-06), 52 and 55 GFLOP/s by
this count; the pendulum's 5 seeds, estimated at 81 s, trained in 71 s."""
STEP_FLOPS = {"mlp": 12, "hnn": 24}
"""Operations (two per multiply-add) per training point and step, in units of hidden**2."""
META_EPOCH_FLOPS = 32
"""Operations per training point, meta-tailored model, meta epoch and inner step, in units of
hidden**2, as measured: the pendulum's evaluation (5 seeds, 100 meta epochs, 1,125 points, 200
hidden units) took 21.9 s on 2 Zen 3 cores (benchmarks/README.md, The whole pipeline), 32 by
this count for its 3 meta-tailored methods a seed (``meta_methods``); stage 2 took 3 s for its
20 candidates, so the estimate is about twice the time measured."""
DTYPE_COST = {"float32": 1.0, "float64": 2.0}


@dataclass(frozen=True)
class DurationEstimate:
    """The baselines' estimated training minutes and what they are made of, for the message."""

    minutes: float
    points: int
    kinds: tuple[str, ...]
    threads: int


def estimate_training(dataset: TrajectoryDataset, config: TailoringConfig, with_hnn: bool = True
                      ) -> DurationEstimate:
    """The baselines' training time on this machine's cores (``config.threads``, or every usable
    one), the trainings side by side as ``models.pretrained_params`` runs them."""
    points = training_points(dataset, config)
    kinds = ("mlp", "hnn") if with_hnn and config.hnn else ("mlp",)
    threads = max(1, min(config.threads or joblib.cpu_count(), config.seeds * len(kinds)))
    operations = (config.seeds * points * config.train_steps * config.hidden ** 2
                  * sum(STEP_FLOPS[kind] for kind in kinds) * DTYPE_COST[config.dtype])
    return DurationEstimate(operations / (FLOPS_PER_THREAD * threads) / 60.0, points, kinds, threads)


def meta_methods(dataset: TrajectoryDataset, config: TailoringConfig) -> int:
    """The methods the evaluation meta-tailors on every seed: the fine-tuning control and the
    Noether losses (``memory.law_methods``)."""
    return 1 + law_methods(dataset, config)


def estimate_meta_minutes(dataset: TrajectoryDataset, config: TailoringConfig) -> float:
    """Stage 2's and the evaluation's meta-tailoring time on this machine's cores: ``config.top``
    candidates and ``meta_methods`` on every seed, each ``config.meta_epochs`` epochs of
    ``config.inner_steps`` inner steps."""
    threads = max(1, config.threads or joblib.cpu_count())
    models = config.top + config.seeds * meta_methods(dataset, config)
    operations = (models * config.meta_epochs * config.inner_steps * training_points(dataset, config)
                  * config.hidden ** 2 * META_EPOCH_FLOPS * DTYPE_COST[config.dtype])
    return operations / (FLOPS_PER_THREAD * threads) / 60.0


def check_duration(dataset: TrajectoryDataset, config: TailoringConfig, with_hnn: bool = True
                   ) -> DurationEstimate:
    """Refuse, with a one-line ``UsageError`` naming the options that shorten it, a training of
    the baselines, or a tailoring with the meta-tailoring (``estimate_meta_minutes``), estimated
    to take longer than ``config.tailor_max_minutes``."""
    estimate = estimate_training(dataset, config, with_hnn)
    if config.tailor_max_minutes is not None and estimate.minutes > config.tailor_max_minutes:
        names = flags(TailoringConfig)
        models = " and an HNN" if "hnn" in estimate.kinds else ""
        raise UsageError(
            f"the baselines' training would take about {estimate.minutes:.0f} min ({config.seeds} seeds x "
            f"{estimate.points:,} training points x {config.train_steps} steps of an MLP{models} with "
            f"{config.hidden} hidden units, on {estimate.threads} core{'s' if estimate.threads > 1 else ''}), "
            f"more than {names['tailor_max_minutes']} {config.tailor_max_minutes:g}: keep fewer samples, lower "
            f"{names['seeds']}, {names['train_steps']} or {names['hidden']}, pass {names['tailor']}, or raise "
            f"{names['tailor_max_minutes']}")
    _check_meta(dataset, config, estimate)
    return estimate


def _check_meta(dataset: TrajectoryDataset, config: TailoringConfig, training: DurationEstimate) -> None:
    """Refuse a tailoring whose baselines' training fits ``config.tailor_max_minutes`` but whose
    meta-tailoring takes it past them (``--meta-epochs 1e8`` ran unannounced)."""
    meta = estimate_meta_minutes(dataset, config)
    limit = config.tailor_max_minutes
    if limit is None or training.minutes + meta <= limit:
        return
    names = flags(TailoringConfig)
    raise UsageError(
        f"tailoring would take about {training.minutes + meta:.0f} min (the baselines' training {training.minutes:.0f}, "
        f"meta-tailoring {meta:.0f}: {config.top} candidates and {config.seeds} seeds x {meta_methods(dataset, config)} methods x "
        f"{config.meta_epochs} meta epochs x {config.inner_steps} inner step(s) on {training.points:,} training points), "
        f"more than {names['tailor_max_minutes']} {limit:g}: lower {names['meta_epochs']}, {names['top']}, "
        f"{names['seeds']} or {names['inner_steps']}, pass {names['tailor']}, or raise {names['tailor_max_minutes']}")
