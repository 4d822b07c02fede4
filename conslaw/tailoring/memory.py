"""Tailoring's peak memory, estimated before any work, and the refusal of a run that would not fit.

The peak is a meta-tailoring, full batch: the evaluation's (every seed's Noether members, with
the control beside them) or stage 2's (``candidate_chunk`` candidates). Its tensors are hidden
layers' activations and their gradients, per training point and member, so the peak grows with
members x points x hidden units; how many such vectors a point keeps grows with the inner steps
K, faster than linearly (the steps' updates interact, and the allocator keeps fragments). The
coefficients are measured: the whole pendulum search's resident peak (``docs/protocol.md``,
"Memory"; 1,125 training points, 5 seeds, K = 1, 2, 3, 5) fit by least squares within 5 %.
Training the baselines keeps 5 (MLP) and 11 (HNN) vectors per point and model, far fewer.
This module imports no torch: the engine checks the estimate before discovery starts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from conslaw.datasets.types import TrajectoryDataset
from conslaw.errors import UsageError
from conslaw.options import flags
from conslaw.tailoring.protocol import HNN_TRAIN_FRACTION, TailoringConfig

PROCESS_GB = 0.7
"""The searching process before tailoring: torch, the data, discovery's results."""
META_VECTORS = (64.0, 98.0, 46.0)
"""Hidden-width vectors per tailored member and training point: ``a + b K + c K**2``."""
DTYPE_BYTES = {"float32": 4, "float64": 8}
MIN_POINTS_PER_TRAJECTORY = 20
"""Thinning the data is suggested only while each training trajectory keeps this many samples."""


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimated peak in GB and what it is made of, for the refusal's message."""

    gb: float
    points: int
    members: int


def training_points(dataset: TrajectoryDataset, config: TailoringConfig) -> int:
    """The training points one seed's models learn from (``splits.seed_data``'s count)."""
    if config.recording_protocol == "hnn":
        total = sum(len(t.t) for t in dataset.train + dataset.test)
        return int((total - 1) * HNN_TRAIN_FRACTION)
    return sum(len(t.t) for t in dataset.train)


def law_methods(dataset: TrajectoryDataset, config: TailoringConfig) -> int:
    """The Noether losses the evaluation meta-tailors on every seed: the selected law's, the
    oracle's when the data set has a true law (counted, though it is skipped when the selected
    law is the true one) and, with ``config.combine``, the combined loss."""
    return 1 + (dataset.true_law is not None) + config.combine


def estimate_memory(dataset: TrajectoryDataset, config: TailoringConfig) -> MemoryEstimate:
    """The peak memory of tailoring ``dataset``: its largest meta-tailoring, the evaluation's
    (``law_methods`` on every seed) or stage 2's chunk of candidates."""
    points = training_points(dataset, config)
    laws = law_methods(dataset, config)
    members = max(config.seeds * laws, min(config.candidate_chunk, config.top))
    a, b, c = META_VECTORS
    k = config.inner_steps
    vectors = members * points * (a + b * k + c * k * k)
    gb = PROCESS_GB + vectors * config.hidden * DTYPE_BYTES[config.dtype] / 2 ** 30
    return MemoryEstimate(gb, points, members)


def available_gb() -> Optional[float]:
    """The memory the system can give a process now (Linux ``MemAvailable``), None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2 ** 20
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(dataset: TrajectoryDataset, config: TailoringConfig) -> MemoryEstimate:
    """Refuse, with a one-line ``UsageError`` naming the options that lower it, tailoring
    estimated to need more than ``config.tailor_max_memory_gb`` (default: the memory available now)."""
    estimate = estimate_memory(dataset, config)
    limit = config.tailor_max_memory_gb if config.tailor_max_memory_gb is not None else available_gb()
    if limit is not None and estimate.gb > limit:
        names = flags(TailoringConfig)
        source = "the limit" if config.tailor_max_memory_gb is not None else "the memory available"
        stride = math.ceil((estimate.gb - PROCESS_GB) / max(limit - PROCESS_GB, 1e-9))
        thin = (f", keep one sample in {stride} (the models learn from every training point)"
                if estimate.points >= stride * MIN_POINTS_PER_TRAJECTORY * len(dataset.train) else "")
        raise UsageError(
            f"tailoring would need about {estimate.gb:.1f} GB ({estimate.members} meta-tailored models "
            f"x {estimate.points:,} training points at {config.inner_steps} inner step"
            f"{'s' if config.inner_steps > 1 else ''}), more than {source} ({limit:.1f} GB): lower "
            f"{names['inner_steps']}, {names['seeds']} or {names['candidate_chunk']}{thin}, pass "
            f"{names['tailor']}, or raise {names['tailor_max_memory_gb']}")
    return estimate
