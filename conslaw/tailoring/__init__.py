"""Noether tailoring: candidate laws as losses that adapt a learned dynamics model at prediction time.

The options (``TailoringConfig``) import no torch; everything else is imported on first use, so
that building a configuration or the command line does not load torch.
"""
from importlib import import_module
from typing import Any

from conslaw.tailoring.protocol import DEFAULT_INNER_LRS, TailoringConfig

_LAZY = {
    "TailoringCandidate": "results", "TailoringResults": "results", "run_tailoring": "pipeline",
    "NoetherLoss": "loss", "combined_weights": "loss", "rollout": "integrate", "rollout_rmse": "integrate",
    "MLP": "models", "HNN": "models", "train_ensemble": "models", "pretrained_params": "models",
    "Block": "tailor", "Ensemble": "tailor", "meta_tailor": "tailor", "tailored_predict": "tailor",
    "paired_comparison": "stats", "summarize": "stats",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'conslaw.tailoring' has no attribute {name!r}")
    return getattr(import_module(f"conslaw.tailoring.{_LAZY[name]}"), name)


__all__ = ["DEFAULT_INNER_LRS", "TailoringConfig", *_LAZY]
