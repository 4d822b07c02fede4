"""Noether tailoring: candidate laws as losses that adapt a learned dynamics model at prediction time."""
from conslaw.tailoring.integrate import SOLVERS, rollout
from conslaw.tailoring.laws import TorchLawPrinter, law_to_torch, parse_law
from conslaw.tailoring.loss import LOSS_FORMS, NoetherLoss
from conslaw.tailoring.models import HNN, MLP, TrainingConfig, pretrained_model, train_derivative_model
from conslaw.tailoring.pipeline import (
    DEFAULT_INNER_LRS,
    Candidate,
    CandidateResult,
    Checkpoint,
    JsonCheckpoint,
    TailoringProtocol,
    TailoringResults,
    run_tailoring,
)
from conslaw.tailoring.stats import paired_comparison, summarize
from conslaw.tailoring.tailor import MetaResult, TailoredField, meta_tailor, model_params, tailored_predict

__all__ = [
    "DEFAULT_INNER_LRS", "HNN", "LOSS_FORMS", "MLP", "SOLVERS", "Candidate", "CandidateResult", "Checkpoint",
    "JsonCheckpoint", "MetaResult", "NoetherLoss", "TailoredField", "TailoringProtocol", "TailoringResults",
    "TorchLawPrinter", "TrainingConfig", "law_to_torch", "meta_tailor", "model_params", "paired_comparison",
    "parse_law", "pretrained_model", "rollout", "run_tailoring", "summarize", "tailored_predict",
    "train_derivative_model",
]
