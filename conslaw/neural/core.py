"""Algorithm 1 of Noether Networks (Alet, Doblar et al. 2021), written with torch.func.

A predictor ``step(theta, context) -> next`` maps the last ``c`` frames (or states) to the next
one; an embedding ``embed(phi, frame) -> R^k`` defines the Noether loss. For each query the
predictor's parameters get one inner gradient step on the Noether loss of its own rollout
(eq. 3); the final prediction uses the tailored parameters. Outer training backpropagates the
task loss of the tailored rollout into both theta and phi (second-order gradients).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch.func import grad, grad_and_value, vmap

Params = dict[str, torch.Tensor]
StepFn = Callable[[Params, torch.Tensor], torch.Tensor]
EmbedFn = Callable[[Params, torch.Tensor], torch.Tensor]

NOETHER_FORMS = ("a", "b")


def rollout(step: StepFn, theta: Params, context: torch.Tensor, horizon: int) -> torch.Tensor:
    """Autoregressive predictions (horizon, ...) from ``context`` (c, ...), one query (no batch)."""
    frames = list(context.unbind(0))
    window = len(frames)
    predictions = []
    for _ in range(horizon):
        following = step(theta, torch.stack(frames[-window:]))
        predictions.append(following)
        frames.append(following)
    return torch.stack(predictions)


def noether_loss(embed: EmbedFn, phi: Params, start: torch.Tensor, predictions: torch.Tensor,
                 form: str = "a") -> torch.Tensor:
    """Eq. 2 of the paper for one query, averaged (not summed) over the horizon.

    Form ``a``: |g(x_0) - g(x~_t)|^2, conservation relative to the ground-truth input.
    Form ``b``: |g(x~_{t-1}) - g(x~_t)|^2 with x~_0 = x_0, a Lipschitz (soft) conservation.
    Averaging over t keeps the inner learning rate meaningful when the horizon changes.
    """
    embedded = vmap(embed, in_dims=(None, 0))(phi, torch.cat([start.unsqueeze(0), predictions]))
    if form == "a":
        differences = embedded[1:] - embedded[:1]
    elif form == "b":
        differences = embedded[1:] - embedded[:-1]
    else:
        raise ValueError(f"Noether loss form must be one of {NOETHER_FORMS}, got {form!r}")
    return differences.pow(2).reshape(differences.shape[0], -1).sum(dim=1).mean()


@dataclass(frozen=True)
class Tailoring:
    """How predictions are tailored: the embedding function g and the Noether loss form.

    The learnable parts live in a separate ``meta`` dict (see ``initial_meta``):
    ``meta["embedding"]`` holds phi (empty for a fixed, e.g. symbolic, law) and the inner
    learning rate is ``exp(meta["log_inner_lr"])``.
    """

    embed: EmbedFn
    form: str = "a"


def tailored_parameters(step: StepFn, tailoring: Tailoring, theta: Params, meta: Params,
                        context: torch.Tensor, horizon: int) -> Params:
    """theta(x_0; phi) = theta - lr * grad_theta L_Noether(x_0, x~_{1:T}(theta); g_phi) (eq. 3)."""
    def inner_loss(parameters: Params) -> torch.Tensor:
        predictions = rollout(step, parameters, context, horizon)
        return noether_loss(tailoring.embed, meta["embedding"], context[-1], predictions, tailoring.form)

    gradients = grad(inner_loss)(theta)
    inner_lr = meta["log_inner_lr"].exp()
    return {name: value - inner_lr * gradients[name] for name, value in theta.items()}


def predict_sequences(step: StepFn, theta: Params, contexts: torch.Tensor, horizon: int,
                      tailoring: Optional[Tailoring] = None, meta: Optional[Params] = None,
                      tailor_horizon: Optional[int] = None) -> torch.Tensor:
    """PREDICTSEQUENCE of Algorithm 1 for a batch of contexts (B, c, ...) -> (B, horizon, ...).

    Without ``tailoring`` this is the plain rollout; with it, every query gets its own tailored
    copy of theta (vmap over the batch), and gradients flow to theta and meta. The Noether loss
    of the inner step covers the first ``tailor_horizon`` predictions (default: ``horizon``);
    evaluating further than the training horizon keeps the inner step the one trained for.
    """
    if tailoring is None:
        return vmap(lambda context: rollout(step, theta, context, horizon))(contexts)

    def predict_one(context: torch.Tensor) -> torch.Tensor:
        adapted = tailored_parameters(step, tailoring, theta, meta, context, tailor_horizon or horizon)
        return rollout(step, adapted, context, horizon)

    return vmap(predict_one)(contexts)


BatchSampler = Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def initial_meta(embedding: Params, inner_lr: float) -> Params:
    """Meta-parameters: the embedding phi and the log inner learning rate."""
    return {"embedding": {k: v.detach().clone() for k, v in embedding.items()},
            "log_inner_lr": torch.tensor(math.log(inner_lr))}


@dataclass
class TrainingRun:
    """Trained parameters and the outer (task) loss of every step."""

    theta: Params
    meta: Optional[Params]
    losses: list[float] = field(default_factory=list)


def _flat(parameters: Params) -> list[tuple[str, torch.Tensor]]:
    flat = []
    for name, value in parameters.items():
        if isinstance(value, dict):
            flat += [(f"{name}.{k}", v) for k, v in _flat(value)]
        else:
            flat.append((name, value))
    return flat


def meta_train(step: StepFn, theta: Params, sample_batch: BatchSampler, n_steps: int,
               tailoring: Optional[Tailoring] = None, meta: Optional[Params] = None,
               outer_lr: float = 1e-3, embedding_lr: float = 1e-3, inner_lr_lr: float = 1e-2,
               learn_embedding: bool = True, learn_inner_lr: bool = True, max_grad_norm: Optional[float] = 10.0,
               seed: int = 0) -> TrainingRun:
    """TRAIN of Algorithm 1: Adam on the task MSE of the (tailored) predictions.

    ``tailoring=None`` is the vanilla model trained with the same budget (same batches, steps,
    optimiser). With tailoring, theta and (if ``learn_embedding``) phi take outer steps through
    the inner step (second-order); the log inner lr is meta-learned when ``learn_inner_lr``.
    Global gradient norm is clipped to ``max_grad_norm``.
    """
    theta = {k: v.detach().clone() for k, v in theta.items()}
    meta = None if meta is None else {"embedding": {k: v.detach().clone() for k, v in meta["embedding"].items()},
                                      "log_inner_lr": meta["log_inner_lr"].detach().clone()}
    groups = [{"params": list(theta.values()), "lr": outer_lr}]
    if tailoring is not None and learn_embedding and meta["embedding"]:
        groups.append({"params": list(meta["embedding"].values()), "lr": embedding_lr})
    if tailoring is not None and learn_inner_lr:
        groups.append({"params": [meta["log_inner_lr"]], "lr": inner_lr_lr})
    optimiser = torch.optim.Adam(groups)
    generator = torch.Generator().manual_seed(seed)

    def task_loss(parameters: Params, meta_parameters: Optional[Params], contexts, targets) -> torch.Tensor:
        predictions = predict_sequences(step, parameters, contexts, targets.shape[1], tailoring, meta_parameters)
        return (predictions - targets).pow(2).mean()

    run = TrainingRun(theta, meta)
    for _ in range(n_steps):
        contexts, targets = sample_batch(generator)
        if meta is None:
            theta_grads, loss = grad_and_value(task_loss)(theta, None, contexts, targets)
            named_grads = _flat(theta_grads)
        else:
            (theta_grads, meta_grads), loss = grad_and_value(task_loss, argnums=(0, 1))(theta, meta, contexts, targets)
            named_grads = _flat(theta_grads) + _flat(meta_grads)
        tensors = dict(_flat(theta) + (_flat(meta) if meta is not None else []))
        scale = 1.0
        if max_grad_norm is not None:
            total = float(torch.sqrt(sum(g.pow(2).sum() for _, g in named_grads)))
            scale = min(1.0, max_grad_norm / (total + 1e-12))
        for name, gradient in named_grads:
            tensors[name].grad = gradient * scale
        optimiser.step()
        run.losses.append(float(loss))
    return run
