"""Tailoring and meta-tailoring with torch.func.

Tailoring (Alet et al. 2020; Noether Networks eq. 3): for each query state x, take k inner SGD
steps ``theta <- theta - lr * grad_theta L(x, f_theta(x))`` and predict with the adapted
parameters. Every query gets its own parameters; a batch of queries is adapted in one call.

Two engines compute the same thing:

- ``"vmap"``: ``vmap`` over queries of ``grad`` of the per-query loss through ``functional_call``;
  any model, any number of inner steps.
- ``"rank1"``: an exact closed form for :class:`~conslaw.tailoring.models.MLP` and one inner step.
  The per-query loss depends on theta only through ``f_theta(x)`` at that one x, so each weight
  gradient is the rank-one outer product ``delta_i a_i^T`` and the adapted layer acts as
  ``W' a' = W a' - lr delta_i (a_i . a')``. No per-query weight copies are materialised, which
  makes it ~10-50x faster; the tests check it against the vmap engine and a per-query loop.

``"auto"`` picks ``rank1`` when it applies. Both engines are pure functions of a parameter dict,
so ``torch.func.grad`` over them gives the second-order meta-gradient (MAML-style).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, grad_and_value, vmap

from conslaw.errors import ConslawError
from conslaw.tailoring.models import MLP

PointLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, dxdt) -> per-state loss
Params = dict[str, torch.Tensor]
ENGINES = ("auto", "vmap", "rank1")


def model_params(model: torch.nn.Module, dtype: torch.dtype = torch.float64) -> Params:
    """A detached copy of the model's parameters (the functional state tailoring works on)."""
    return {name: value.detach().to(dtype).clone() for name, value in model.named_parameters()}


def _resolve_engine(model: torch.nn.Module, engine: str, steps: int) -> str:
    if engine not in ENGINES:
        raise ConslawError(f"unknown tailoring engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "rank1" if isinstance(model, MLP) and steps == 1 else "vmap"
    if engine == "rank1" and not (isinstance(model, MLP) and steps == 1):
        raise ConslawError("the rank1 tailoring engine needs the MLP baseline and one inner step")
    return engine


def _vmap_predict(
    model: torch.nn.Module, params: Params, loss: PointLoss, x: torch.Tensor, lr: torch.Tensor, steps: int
) -> torch.Tensor:
    def query_loss(query_params: Params, query: torch.Tensor) -> torch.Tensor:
        return loss(query, functional_call(model, query_params, (query,)))

    def adapt_and_predict(shared: Params, query: torch.Tensor, query_lr: torch.Tensor) -> torch.Tensor:
        adapted = shared
        for _ in range(steps):
            gradient = grad(query_loss)(adapted, query)
            adapted = {name: adapted[name] - query_lr * gradient[name] for name in adapted}
        return functional_call(model, adapted, (query,))

    return vmap(adapt_and_predict, in_dims=(None, 0, 0))(params, x, lr)


def _rank1_predict(
    model: MLP, params: Params, loss: PointLoss, x: torch.Tensor, lr: torch.Tensor
) -> torch.Tensor:
    depth = len(model.linears)
    weights = [params[f"linears.{i}.weight"] for i in range(depth)]
    biases = [params.get(f"linears.{i}.bias") for i in range(depth)]
    inputs = [x]  # input of every layer at the shared parameters
    for i in range(depth - 1):
        inputs.append(torch.tanh(F.linear(inputs[i], weights[i], biases[i])))
    output = F.linear(inputs[-1], weights[-1], biases[-1])
    delta = grad(lambda y: loss(x, y).sum())(output)  # d loss / d output, one row per query
    deltas = [delta]
    for i in range(depth - 1, 0, -1):
        delta = (delta @ weights[i]) * (1 - inputs[i] ** 2)
        deltas.insert(0, delta)
    step = lr.unsqueeze(-1)
    adapted = x
    for i in range(depth):
        overlap = (inputs[i] * adapted).sum(-1, keepdim=True) + (0.0 if biases[i] is None else 1.0)
        pre = F.linear(adapted, weights[i], biases[i]) - step * deltas[i] * overlap
        adapted = torch.tanh(pre) if i < depth - 1 else pre
    return adapted


def tailored_predict(
    model: torch.nn.Module,
    params: Params,
    loss: Optional[PointLoss],
    x: torch.Tensor,
    lr: Union[float, torch.Tensor],
    *,
    steps: int = 1,
    engine: str = "auto",
) -> torch.Tensor:
    """dx/dt at each row of ``x`` ``(N, d)`` after ``steps`` inner steps on that row's loss.

    ``lr`` is one inner learning rate or one per row ``(N,)``. ``lr == 0`` or ``loss=None`` is
    the untailored model.
    """
    if loss is None or (not torch.is_tensor(lr) and lr == 0):
        return functional_call(model, params, (x,))
    lr = torch.as_tensor(lr, dtype=x.dtype).expand(x.shape[0])
    if _resolve_engine(model, engine, steps) == "rank1":
        return _rank1_predict(model, params, loss, x, lr)
    return _vmap_predict(model, params, loss, x, lr, steps)


@dataclass
class TailoredField:
    """``x -> dx/dt`` of the tailored model, to hand to :func:`~conslaw.tailoring.integrate.rollout`."""

    model: torch.nn.Module
    params: Params
    loss: Optional[PointLoss]
    lr: Union[float, torch.Tensor]
    steps: int = 1
    engine: str = "auto"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return tailored_predict(self.model, self.params, self.loss, x, self.lr, steps=self.steps, engine=self.engine)


@dataclass
class MetaResult:
    """Meta-tailored parameters with the outer loss per epoch (before its step) and a divergence flag."""

    params: Params
    outer_losses: list[float] = field(default_factory=list)
    diverged: bool = False


def meta_tailor(
    model: torch.nn.Module,
    params: Params,
    loss: Optional[PointLoss],
    x: torch.Tensor,
    dxdt: torch.Tensor,
    lr: float,
    *,
    epochs: int = 100,
    outer_lr: float = 1e-4,
    weight_decay: float = 1e-4,
    steps: int = 1,
    engine: str = "auto",
    blowup: float = 1e3,
) -> MetaResult:
    """Train ``params`` so that the dx/dt MSE AFTER the inner step is low (second-order gradients
    through ``torch.func.grad``). One epoch = one full-batch Adam step over all rows of ``x``.

    With ``lr == 0`` (or ``loss=None``) this is plain fine-tuning: the control. A non-finite outer
    loss or gradient, or an outer loss above ``blowup`` times the untailored model's MSE, stops
    training with ``diverged=True``.
    """
    current = {name: value.detach().clone().requires_grad_(True) for name, value in params.items()}
    optimiser = torch.optim.Adam(current.values(), lr=outer_lr, weight_decay=weight_decay)

    def outer_loss(trial: Params) -> torch.Tensor:
        predicted = tailored_predict(model, trial, loss, x, lr, steps=steps, engine=engine)
        return ((predicted - dxdt) ** 2).mean()

    result = MetaResult(params=current)
    with torch.no_grad():
        untailored = float(((functional_call(model, current, (x,)) - dxdt) ** 2).mean())
    ceiling = blowup * max(untailored, torch.finfo(x.dtype).tiny)
    for _ in range(epochs):
        gradients, value = grad_and_value(outer_loss)(current)
        value = float(value.detach())
        result.outer_losses.append(value)
        finite = all(torch.isfinite(g).all() for g in gradients.values())
        if not (finite and value <= ceiling):  # also catches NaN
            result.diverged = True
            break
        for name, tensor in current.items():
            tensor.grad = gradients[name]
        optimiser.step()
    result.params = {name: value.detach() for name, value in current.items()}
    return result
