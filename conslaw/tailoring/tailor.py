"""Tailoring and meta-tailoring of an ensemble of models, vectorized with ``torch.func``.

Tailoring (Alet et al. 2020; Noether Networks eq. 3): for each query state x, take ``steps`` inner
SGD steps ``theta <- theta - lr * grad_theta L(x, f_theta(x))`` and predict with the adapted
parameters; every query has its own parameters. For the MLP this has an exact closed form
(``_low_rank_predict``): the per-query loss depends on theta only through ``f_theta(x)``, so each
weight gradient is the rank-one ``delta_i a_i^T``, after k steps a layer is ``W - lr sum_k delta_ik
a_ik^T``, and it acts as ``W a' - lr sum_k delta_ik (a_ik . a')``; nothing per query is
materialised (per-query weights would take members x queries x 41,000 floats per step: the
pendulum's stage 1 ran out of 24 GB at 3 steps). Other models use ``vmap`` over queries of
``grad`` through ``functional_call``.

An ``Ensemble`` is a list of ``Block``s: each block is one loss (or none) with ``m`` members, each
member its own parameters and inner lr; a block is ``vmap``-ed over its members. States are laid
out ``(members, batch, d)``. ``meta_tailor`` trains every member's parameters at once (second
order, through the inner step, by ``torch.autograd``: ``torch.func.grad_and_value`` gave the same
numbers and took a third more time in stage 2), each member independently.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from conslaw.errors import ConslawError
from conslaw.tailoring.loss import NoetherLoss
from conslaw.tailoring.models import (MLP, Params, field_error, member_fields, member_forward, member_layers,
                                      member_linear)

PointLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, dxdt) -> per-state loss
FieldGradient = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, dxdt) -> d loss / d dxdt


def _backward(delta: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return delta @ weight[0] if weight.stride(0) == 0 else torch.bmm(delta, weight)


def field_gradient(loss: PointLoss, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
    """``d loss / d dxdt`` per state: a ``NoetherLoss``'s own (analytic) one, else ``torch.func.grad``."""
    owner = getattr(loss, "__self__", None)
    if isinstance(owner, NoetherLoss) and getattr(loss, "__func__", None) is NoetherLoss.pointwise:
        return owner.field_gradient(x, dxdt)
    return grad(lambda field: loss(x, field).sum())(dxdt)


def _adapted_layers(model: MLP, weights: list, biases: list, updates: list,
                    x: torch.Tensor) -> list[torch.Tensor]:
    """Every layer's input and the output of the per-query adapted MLP: layer i is
    ``W_i - sum_k (step delta_ik) a_ik^T`` (bias ``b_i - sum_k step delta_ik``), ``updates[i]`` the
    ``(step delta_ik, a_ik)`` pairs of the steps taken so far. For the backward pass each term
    keeps only tensors that exist already and per-query scalars, no new (members, queries,
    width) product."""
    depth = len(model.linears)
    layers = [x]
    for i in range(depth):
        pre = member_linear(layers[i], weights[i], biases[i])
        for scaled, seen in updates[i]:
            overlap = (seen * layers[i]).sum(-1, keepdim=True) + (0.0 if biases[i] is None else 1.0)
            pre = pre - scaled * overlap
        layers.append(torch.tanh(pre) if i < depth - 1 else pre)
    return layers


def _low_rank_predict(model: MLP, params: Params, loss_gradient: FieldGradient, x: torch.Tensor,
                      lr: torch.Tensor, steps: int = 1) -> torch.Tensor:
    """The exact ``steps``-step tailored MLP for members stacked on the first axis: ``params``
    ``(M, ...)``, ``x`` ``(M, B, d)``, ``lr`` ``(M,)``; ``loss_gradient`` maps ``(M, B, d)`` states
    and fields to the loss's gradient in the field, ``(M, B, d)``."""
    depth = len(model.linears)
    weights, biases = member_layers(model, params)
    step = lr.view(-1, 1, 1)
    updates: list[list] = [[] for _ in range(depth)]
    inputs = model.normalized(x)
    for _ in range(steps):
        layers = _adapted_layers(model, weights, biases, updates, inputs)
        delta = model.rescaled(loss_gradient(x, model.rescaled(layers[-1])))  # d loss / d output, per query
        for i in range(depth - 1, -1, -1):
            updates[i].append((step * delta, layers[i]))
            if i:  # through the adapted layer i: W_i^T delta - sum_k a_ik (step delta_ik . delta)
                back = _backward(delta, weights[i])
                for scaled, seen in updates[i][:-1]:
                    back = back - seen * (scaled * delta).sum(-1, keepdim=True)
                delta = back * (1 - layers[i] ** 2)
    return model.rescaled(_adapted_layers(model, weights, biases, updates, inputs)[-1])


def _vmap_predict(model: torch.nn.Module, params: Params, loss: PointLoss, x: torch.Tensor,
                  lr: torch.Tensor, steps: int) -> torch.Tensor:
    def query_loss(query_params: Params, query: torch.Tensor) -> torch.Tensor:
        return loss(query, functional_call(model, query_params, (query,)))

    def adapt_and_predict(query: torch.Tensor) -> torch.Tensor:
        adapted = params
        for _ in range(steps):
            gradient = grad(query_loss)(adapted, query)
            adapted = {name: adapted[name] - lr * gradient[name] for name in adapted}
        return functional_call(model, adapted, (query,))

    return vmap(adapt_and_predict)(x)


def tailored_predict(model: torch.nn.Module, params: Params, loss: Optional[PointLoss], x: torch.Tensor,
                     lr: Union[float, torch.Tensor], steps: int = 1) -> torch.Tensor:
    """dx/dt at each row of ``x`` ``(N, d)`` after ``steps`` inner steps at inner lr ``lr`` on that
    row's loss; ``loss=None`` is the untailored model. The parameters and ``lr`` are used in the
    states' dtype, so float32 and float64 states both work with a float32 model (numpy states
    are taken as tensors)."""
    x = torch.as_tensor(x)
    if x.ndim != 2 or not x.is_floating_point():
        raise ConslawError(f"states must be a float array (N, d), one row per query; got {x.dtype} of shape "
                           f"{tuple(x.shape)}")
    if isinstance(model, MLP) and x.shape[1] != model.linears[0].in_features:
        raise ConslawError(f"states have {x.shape[1]} columns; the model takes {model.linears[0].in_features}")
    lr = torch.as_tensor(lr, dtype=x.dtype)
    if not (bool(torch.all(lr >= 0)) and steps >= 1):
        raise ConslawError(f"tailoring needs an inner lr >= 0 and at least one step; got lr {lr.tolist()}, "
                           f"steps {steps}")
    return _predict(model, params, loss, x, lr, steps)


def _predict(model: torch.nn.Module, params: Params, loss: Optional[PointLoss], x: torch.Tensor,
             lr: torch.Tensor, steps: int) -> torch.Tensor:
    """``tailored_predict`` without its checks of the caller's arguments (an ``Ensemble``'s
    members, already checked, call it under ``vmap``, where a check on a value cannot run)."""
    params = {name: value.to(x.dtype) for name, value in params.items()}
    if loss is None:
        return functional_call(model, params, (x,))
    if isinstance(model, MLP):
        stacked = {k: v.unsqueeze(0) for k, v in params.items()}
        return _low_rank_predict(model, stacked, partial(field_gradient, loss), x.unsqueeze(0), lr.reshape(1),
                                 steps)[0]
    return _vmap_predict(model, params, loss, x, lr, steps)


@dataclass
class Block:
    """Members sharing one loss: ``params`` stacked ``(m, ...)``, inner ``lrs`` ``(m,)``."""

    loss: Optional[PointLoss]
    params: Params
    lrs: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.lrs.shape[0])


def shared_block(loss: Optional[PointLoss], params: Params, lrs: Sequence[float], dtype: torch.dtype) -> Block:
    """``len(lrs)`` members with the same ``params`` (expanded, not copied) and their own lr."""
    lr_tensor = torch.as_tensor(list(lrs), dtype=dtype)
    return Block(loss, {k: v.to(dtype).expand(len(lrs), *v.shape) for k, v in params.items()}, lr_tensor)


@dataclass
class Ensemble:
    """Blocks of members; ``field(x)`` maps ``(members, batch, d)`` to each member's tailored dx/dt."""

    model: torch.nn.Module
    blocks: list[Block]
    steps: int = 1

    @property
    def size(self) -> int:
        return sum(block.size for block in self.blocks)

    def split(self) -> list["Part"]:
        """One part per member (the one-model-at-a-time path)."""
        return [self._part([(j, range(i, i + 1))]) for j, b in enumerate(self.blocks) for i in range(b.size)]

    def parts(self, count: int) -> list["Part"]:
        """The members cut into up to ``count`` parts that cost alike: each block is shared out in
        contiguous runs whose sizes differ by at most one (a block's members cost alike; blocks
        need not), the larger runs going to the parts that got the smaller ones before."""
        shares: list[list[tuple[int, range]]] = [[] for _ in range(count)]
        first = 0  # the part whose turn it is to get a larger run
        for j, block in enumerate(self.blocks):
            sizes = [block.size // count + ((k - first) % count < block.size % count) for k in range(count)]
            bounds = np.cumsum([0] + sizes)
            for k in range(count):
                if sizes[k]:
                    shares[k].append((j, range(int(bounds[k]), int(bounds[k + 1]))))
            first = (first + block.size) % count
        return [self._part(share) for share in shares if share]

    def _part(self, pieces: list[tuple[int, range]]) -> "Part":
        offsets = np.cumsum([0] + [b.size for b in self.blocks])
        blocks = [Block(self.blocks[j].loss, {k: v[rows.start:rows.stop] for k, v in self.blocks[j].params.items()},
                        self.blocks[j].lrs[rows.start:rows.stop]) for j, rows in pieces]
        members = np.concatenate([offsets[j] + np.arange(rows.start, rows.stop) for j, rows in pieces])
        return Part(Ensemble(self.model, blocks, self.steps), members, [j for j, _ in pieces])

    def joined(self, parts: Sequence["Part"]) -> list[Block]:
        """This ensemble's blocks put back together from ``parts`` (of ``parts`` or ``split``, in
        their order), e.g. after meta-tailoring each part."""
        pieces: list[list[Block]] = [[] for _ in self.blocks]
        for part in parts:
            for j, block in zip(part.blocks, part.ensemble.blocks):
                pieces[j].append(block)
        return [Block(b.loss, {k: torch.cat([p.params[k] for p in found]) for k in b.params},
                      torch.cat([p.lrs for p in found])) for b, found in zip(self.blocks, pieces)]

    def _stacked(self) -> Params:
        """Every member's parameters along one axis (one shared tensor stays expanded, uncopied)."""
        first = self.blocks[0].params
        if all(v.stride(0) == 0 and all(b.params[k].stride(0) == 0 and b.params[k].data_ptr() == v.data_ptr()
                                        for b in self.blocks) for k, v in first.items()):
            return {k: v[0].expand(self.size, *v.shape[1:]) for k, v in first.items()}
        return {k: torch.cat([b.params[k] for b in self.blocks]) for k in first}

    def _mlp_field(self, x: torch.Tensor) -> torch.Tensor:
        """The MLP: one closed-form call for the members with a loss, one plain forward pass for
        those without (the untailored models and the control cost no inner step)."""
        tailored = [b.loss is not None for b in self.blocks]
        if all(tailored):
            return _low_rank_predict(self.model, self._stacked(), self._loss_gradient, x,
                                     torch.cat([b.lrs for b in self.blocks]), self.steps)
        if not any(tailored):
            return member_forward(self.model, self._stacked(), x)
        parts = torch.split(x, [b.size for b in self.blocks])
        outputs = {}
        for kind in (True, False):
            chosen = [i for i, t in enumerate(tailored) if t == kind]
            sub = Ensemble(self.model, [self.blocks[i] for i in chosen], self.steps)
            values = sub._mlp_field(torch.cat([parts[i] for i in chosen]))
            outputs.update(zip(chosen, torch.split(values, [self.blocks[i].size for i in chosen])))
        return torch.cat([outputs[i] for i in range(len(self.blocks))])

    def _loss_gradient(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        """Each block's loss gradient in the field on its own members (every block has a loss)."""
        parts, start = [], 0
        for block in self.blocks:
            rows = slice(start, start + block.size)
            parts.append(field_gradient(block.loss, x[rows], dxdt[rows]))
            start += block.size
        return torch.cat(parts)

    def field(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.model, MLP):
            return self._mlp_field(x)
        rows = torch.split(x, [block.size for block in self.blocks])
        return torch.cat([self._block_field(block, part) for block, part in zip(self.blocks, rows)])

    def _block_field(self, block: Block, x: torch.Tensor) -> torch.Tensor:
        """One block's members: batched when untailored, ``vmap`` of the general engine otherwise."""
        if block.loss is None:
            return member_fields(self.model, block.params, x)

        def member(p: Params, lr: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
            return _predict(self.model, p, block.loss, xs, lr.to(xs.dtype), self.steps)

        return vmap(member)(block.params, block.lrs, x)


@dataclass
class Part:
    """Some members of an ensemble as an ensemble of their own: ``members`` their indices in the
    whole (in the part's order), ``blocks`` the whole's block of each of the part's blocks."""

    ensemble: Ensemble
    members: np.ndarray
    blocks: list[int]


@dataclass
class MetaResult:
    """Meta-tailored ensemble, each member's last finite outer loss and divergence flag."""

    ensemble: Ensemble
    outer_losses: np.ndarray
    diverged: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def _finite_members(gradients: list[Params], sizes: list[int]) -> torch.Tensor:
    """``(members,)``: True where every gradient entry of that member is finite."""
    return torch.cat([torch.stack([torch.isfinite(g.reshape(size, -1)).all(1) for g in gradient.values()]).all(0)
                      for gradient, size in zip(gradients, sizes)])


def _step(optimiser: torch.optim.Optimizer, params: list[Params], gradients: list[Params],
          alive: torch.Tensor, sizes: list[int]) -> None:
    """One Adam step of the living members; the diverged ones keep their parameters."""
    masks = torch.split(alive, sizes)
    frozen = []
    for p, gradient, mask in zip(params, gradients, masks):
        for name, tensor in p.items():
            shape = (-1,) + (1,) * (tensor.dim() - 1)
            tensor.grad = torch.where(mask.view(shape), torch.nan_to_num(gradient[name]), 0.0)
            frozen.append((tensor, mask, tensor.detach()[~mask].clone()))
    optimiser.step()
    with torch.no_grad():
        for tensor, mask, kept in frozen:
            tensor[~mask] = kept


def meta_tailor(ensemble: Ensemble, x: torch.Tensor, dxdt: torch.Tensor, *, epochs: int, outer_lr: float,
                weight_decay: float, blowup: float,
                progress: Optional[Callable[[int, int], None]] = None) -> MetaResult:
    """Train every member so that its dx/dt mean squared error (``models.field_error``) on
    ``x``/``dxdt`` ``(members, N, d)`` AFTER the inner step is low: ``epochs`` full-batch Adam
    steps (one epoch = one step), second order.

    A member whose outer loss or gradient is non-finite, or whose outer loss passes ``blowup``
    times its untailored MSE, is frozen and marked diverged; the others go on unaffected.
    """
    blocks = [replace(b, params={k: v.detach().clone() for k, v in b.params.items()}) for b in ensemble.blocks]
    params = [b.params for b in blocks]
    for p in params:
        for tensor in p.values():
            tensor.requires_grad_(True)
    flat = [t for p in params for t in p.values()]
    optimiser = torch.optim.Adam(flat, lr=outer_lr, weight_decay=weight_decay)

    def outer_losses() -> torch.Tensor:
        predicted = Ensemble(ensemble.model, blocks, ensemble.steps).field(x)
        return field_error(ensemble.model, predicted, dxdt).mean(dim=(1, 2))

    with torch.no_grad():
        untailored = Ensemble(ensemble.model, [replace(b, loss=None) for b in blocks]).field(x)
        ceiling = blowup * field_error(ensemble.model, untailored, dxdt).mean(dim=(1, 2)).clamp_min(
            torch.finfo(x.dtype).tiny)
    alive = torch.ones(ensemble.size, dtype=torch.bool)
    last = np.full(ensemble.size, np.nan)
    for epoch in range(epochs):
        values = outer_losses()  # the sum keeps the members' gradients apart
        flat_gradients = iter(torch.autograd.grad(torch.nan_to_num(values, nan=0.0, posinf=0.0).sum(), flat))
        gradients = [{name: next(flat_gradients) for name in p} for p in params]
        values = values.detach()
        finite = torch.isfinite(values) & (values <= ceiling)
        alive &= finite & _finite_members(gradients, [b.size for b in blocks])
        last = np.where(alive.numpy(), values.numpy(), last)
        if not alive.any():
            break
        _step(optimiser, params, gradients, alive, [b.size for b in blocks])
        if progress:
            progress(epoch + 1, epochs)
    diverged = (~alive).numpy()
    return MetaResult(Ensemble(ensemble.model, [replace(b, params={k: v.detach() for k, v in p.items()})
                                                for b, p in zip(blocks, params)], ensemble.steps), last, diverged)
