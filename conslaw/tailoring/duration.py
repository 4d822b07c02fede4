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
from conslaw.tailoring.memory import training_points
from conslaw.tailoring.protocol import TailoringConfig

FLOPS_PER_THREAD = 5e10
"""Floating-point operations per second of one training thread, everything counted: one float32
training step on one thread, 1,300 points, 200 hidden units, took 6.0 ms (MLP) and 10.4-11.4 ms
(HNN) per model on the AMD EPYC of ``benchmarks/README.md`` (2026-12-06), 52 and 55 GFLOP/s by
this count; the pendulum's 5 seeds, estimated at 81 s, trained in 71 s."""
STEP_FLOPS = {"mlp": 12, "hnn": 24}
"""Operations (two per multiply-add) per training point and step, in units of hidden**2."""
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


def check_duration(dataset: TrajectoryDataset, config: TailoringConfig, with_hnn: bool = True
                   ) -> DurationEstimate:
    """Refuse, with a one-line ``UsageError`` naming the options that shorten it, a training of
    the baselines estimated to take longer than ``config.tailor_max_minutes``."""
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
    return estimate
