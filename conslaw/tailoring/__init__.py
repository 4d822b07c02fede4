"""Noether tailoring: candidate laws as losses that adapt a learned dynamics model at prediction time.

The options (``TailoringConfig``) import no torch; everything else is imported on first use, so
that building a configuration or the command line does not load torch.
"""
from importlib import import_module
from typing import Any

from conslaw.tailoring.protocol import DEFAULT_INNER_LRS, TailoringConfig

_LAZY = {
    "rollout": "integrate", "SOLVERS": "integrate", "LOSS_FORMS": "loss", "NoetherLoss": "loss",
    "HNN": "models", "MLP": "models", "TrainingConfig": "models", "pretrained_model": "models",
    "train_derivative_model": "models", "Candidate": "pipeline", "CandidateResult": "pipeline",
    "TailoringResults": "pipeline", "run_tailoring": "pipeline", "paired_comparison": "stats",
    "summarize": "stats", "MetaResult": "tailor", "TailoredField": "tailor", "meta_tailor": "tailor",
    "model_params": "tailor", "tailored_predict": "tailor", "law_to_torch": "laws",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'conslaw.tailoring' has no attribute {name!r}")
    return getattr(import_module(f"conslaw.tailoring.{_LAZY[name]}"), name)


__all__ = ["DEFAULT_INNER_LRS", "TailoringConfig", *_LAZY]
