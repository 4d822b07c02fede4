"""The learned dynamics models and their training: the MLP to tailor and the HNN baseline.

Both follow ``greydanus/hamiltonian-nn`` (``nn_models.py``, ``experiment-*/train.py``): two tanh
hidden layers (200 units), orthogonal weight init, a bias-free output layer, full-batch Adam on the
dx/dt mean squared error for ``total_steps + 1 = 2001`` steps. The models of the seeds train
as vectorized ensembles (``torch.func.stack_module_state``, then batched matrix products over
the members; Adam is elementwise, so this is exactly one Adam per model), one per worker and kind,
the workers side by side on one torch thread each (``side_by_side``), and trained weights
are cached on disk with ``joblib.Memory``. Columns far from 1 in size are seen through a
``Scaling`` (``tailoring.splits.column_scaling``; the paper's data need none). The HNN takes
its coordinates and momenta from ``ConjugatePairs`` (``--canonical``; by default, as in the HNN
paper, the first half of the columns and the second).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import joblib
import numpy as np
import torch
import torch.nn.functional as F
from torch.func import stack_module_state

from conslaw.errors import ConslawError
from conslaw.tailoring.pairing import ConjugatePairs, half_pairs
from conslaw.tailoring.side_by_side import PIECE_THREADS, side_by_side

Params = dict[str, torch.Tensor]
MODEL_KINDS = ("mlp", "hnn")
_GLOBAL_RNG = threading.Lock()
"""Held while a model's initial weights are drawn from torch's global generator."""


@dataclass(frozen=True)
class Scaling:
    """What the models see of the columns: ``(x - shift) / scale``, and outputs multiplied by
    ``rate`` (each column's dx/dt size; for an HNN's energy network, ``(energy,)``)."""

    shift: tuple[float, ...]
    scale: tuple[float, ...]
    rate: tuple[float, ...]

    @property
    def energy(self) -> float:
        """The size of H that gives each dx/dt its size: the geometric mean over the columns of
        the conjugate column's scale times the rate (dq/dt = dH/dp). Every column is some
        column's conjugate, so this is the same however the columns are paired."""
        half = len(self.scale) // 2
        conjugate = self.scale[half:] + self.scale[:half]
        return float(np.exp(np.mean(np.log(np.multiply(conjugate, self.rate)))))


class MLP(torch.nn.Module):
    """``n_in -> hidden -> hidden -> n_out`` with tanh, orthogonal init and a bias-free output
    layer; ``scale_with`` makes it see standardized inputs and give outputs in the data's size."""

    def __init__(self, n_in: int, hidden: int = 200, n_out: Optional[int] = None, depth: int = 2) -> None:
        super().__init__()
        if min(n_in, hidden, n_in if n_out is None else n_out) < 1 or depth < 1:
            raise ConslawError(f"an MLP needs at least one input, output, hidden unit and hidden layer; got "
                               f"n_in={n_in}, hidden={hidden}, n_out={n_out}, depth={depth}")
        widths = [n_in] + [hidden] * depth + [n_in if n_out is None else n_out]
        self.linears = torch.nn.ModuleList(
            torch.nn.Linear(a, b, bias=i < depth) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
        for layer in self.linears:
            torch.nn.init.orthogonal_(layer.weight)
        self.scaling: Optional[Scaling] = None
        self._constants: Optional[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None

    def scale_with(self, scaling: Scaling) -> "MLP":
        """Standardize the inputs by ``scaling.shift`` and ``scaling.scale`` and multiply the
        outputs by ``scaling.rate`` (constants, not parameters: no gradient step changes them)."""
        self.scaling = scaling
        self._constants = tuple(torch.tensor(values, dtype=torch.float64)
                                for values in (scaling.shift, scaling.scale, scaling.rate))
        return self

    def normalized(self, x: torch.Tensor) -> torch.Tensor:
        """The states as the first layer sees them."""
        if self._constants is None:
            return x
        shift, scale, _ = self._constants
        return (x - shift.to(x.dtype)) / scale.to(x.dtype)

    def rescaled(self, output: torch.Tensor) -> torch.Tensor:
        """The last layer's output (or a gradient with respect to the model's output) in the
        data's size."""
        return output if self._constants is None else output * self._constants[2].to(output.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalized(x)
        for layer in self.linears[:-1]:
            x = torch.tanh(layer(x))
        return self.rescaled(self.linears[-1](x))


class HNN(torch.nn.Module):
    """A Hamiltonian network: an MLP gives a scalar H(q, p); the field is (dH/dp, -dH/dq).

    ``pairs`` says which columns are the coordinates and which their momenta (default: the
    first half and the second). The gradient is taken with ``torch.func.grad``, so the model
    composes with ``vmap`` and ``functional_call`` like the MLP.
    """

    def __init__(self, n_in: int, hidden: int = 200, pairs: Optional[ConjugatePairs] = None) -> None:
        super().__init__()
        self.pairs = check_pairs(n_in, pairs)
        self.hamiltonian = MLP(n_in, hidden, 1)
        self.scaling: Optional[Scaling] = None

    def scale_with(self, scaling: Scaling) -> "HNN":
        """Standardize the energy network's inputs; its H takes the size ``scaling.energy``."""
        self.scaling = scaling
        self.hamiltonian.scale_with(Scaling(scaling.shift, scaling.scale, (scaling.energy,)))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return symplectic(torch.func.grad(lambda state: self.hamiltonian(state).sum())(x), self.pairs)


def check_pairs(n_in: int, pairs: Optional[ConjugatePairs]) -> ConjugatePairs:
    """``pairs``, or the paper's pairing; an error unless every column is in exactly one pair."""
    if pairs is None:
        if n_in % 2:
            raise ConslawError(f"an HNN needs an even number of state columns (q, p pairs), got {n_in}")
        return half_pairs(n_in)
    coordinates, momenta = tuple(map(int, pairs[0])), tuple(map(int, pairs[1]))
    if len(coordinates) != len(momenta) or sorted(coordinates + momenta) != list(range(n_in)):
        raise ConslawError(f"an HNN needs every one of its {n_in} columns in exactly one (q, p) pair, "
                           f"got coordinates {coordinates} and momenta {momenta}")
    return coordinates, momenta


def symplectic(dh: torch.Tensor, pairs: ConjugatePairs) -> torch.Tensor:
    """The Hamiltonian field (dq/dt = dH/dp, dp/dt = -dH/dq) from the gradient ``dh`` of H, the
    columns paired by ``pairs``."""
    coordinates, momenta = pairs
    if pairs == half_pairs(dh.shape[-1]):
        return torch.cat([dh[..., len(coordinates):], -dh[..., :len(coordinates)]], dim=-1)
    field = torch.cat([dh[..., list(momenta)], -dh[..., list(coordinates)]], dim=-1)
    return field[..., np.argsort(coordinates + momenta).tolist()]


def field_error(model: Union[MLP, HNN], predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The squared error of a predicted dx/dt, elementwise, as it is (the HNN paper's loss), or,
    when the model sees standardized columns, in units of the rates' overall size: one number
    for every column, so the columns weigh as in Table 1's RMSE, and the loss is about 1 whatever
    the units (an epidemic's rates, about 1e-4 counts per second, gave a loss about 1e-8, below
    what Adam's weight decay takes away each step, and a model that predicts 0)."""
    residual = predicted - target
    if model.scaling is None:
        return residual ** 2
    return (residual / float(np.sqrt(np.mean(np.square(model.scaling.rate))))) ** 2


def build_model(kind: str, n_state: int, seed: int, hidden: int, scaling: Optional[Scaling] = None,
                pairs: Optional[ConjugatePairs] = None) -> torch.nn.Module:
    """A freshly initialised float32 ``"mlp"`` or ``"hnn"`` (its columns paired by ``pairs``),
    its init seeded by ``seed``, seeing the columns through ``scaling`` if given."""
    if kind not in MODEL_KINDS:
        raise ConslawError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):  # trainings side by side build models too
        torch.manual_seed(seed)
        model = MLP(n_state, hidden) if kind == "mlp" else HNN(n_state, hidden, pairs)
    return scaled(model, scaling)


def scaled(model: Union[MLP, HNN], scaling: Optional[Scaling]) -> Union[MLP, HNN]:
    """``model`` seeing the columns through ``scaling`` (as they are if None)."""
    return model if scaling is None else model.scale_with(scaling)


def member_linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    """Each member's layer: ``x`` ``(M, B, i)``, ``weight`` ``(M, o, i)`` (or one shared, expanded)."""
    if weight.stride(0) == 0:
        return F.linear(x, weight[0], None if bias is None else bias[0])
    out = torch.bmm(x, weight.transpose(1, 2))
    return out if bias is None else out + bias.unsqueeze(1)


def member_layers(model: MLP, params: Params) -> tuple[list[torch.Tensor], list[Optional[torch.Tensor]]]:
    """The stacked members' weights ``(M, o, i)`` and biases ``(M, o)`` (None where a layer has
    none), layer by layer."""
    depth = len(model.linears)
    return ([params[f"linears.{i}.weight"] for i in range(depth)],
            [params.get(f"linears.{i}.bias") for i in range(depth)])


def member_forward(model: MLP, params: Params, x: torch.Tensor) -> torch.Tensor:
    """The output of the MLP's members stacked on the first axis, as batched matrix products, for
    ``params`` ``(M, ...)`` and ``x`` ``(M, B, d)``. (Twice as fast as ``vmap`` over
    ``functional_call`` for training on 2 cores.)"""
    weights, biases = member_layers(model, params)
    hidden = model.normalized(x)
    for i in range(len(weights) - 1):
        hidden = torch.tanh(member_linear(hidden, weights[i], biases[i]))
    return model.rescaled(member_linear(hidden, weights[-1], biases[-1]))


def member_fields(model: torch.nn.Module, params: Params, x: torch.Tensor) -> torch.Tensor:
    """dx/dt of stacked MLP or HNN members, ``params`` ``(M, ...)``, ``x`` ``(M, B, d)``, differentiable
    in ``params`` when gradients are enabled. The HNN's field is the symplectic gradient of its
    stacked energy MLP, taken by ``torch.autograd`` (``HNN.forward`` uses ``torch.func.grad`` so
    that it composes with ``vmap``; this batched form trains twice as fast)."""
    if isinstance(model, MLP):
        return member_forward(model, params, x)
    energy_params = {name.removeprefix("hamiltonian."): value for name, value in params.items()}
    differentiable = torch.is_grad_enabled()
    with torch.enable_grad():
        states = x.detach().requires_grad_(True)
        energy = member_forward(model.hamiltonian, energy_params, states)
        dh, = torch.autograd.grad(energy.sum(), states, create_graph=differentiable)  # rows are independent
    return symplectic(dh, model.pairs)


PROGRESS_STEPS = 50  # training steps between two progress reports


KIND_COST = {"mlp": 1.0, "hnn": 2.3}
"""A training step's cost per member, relative to the MLP's (5 members, 1,125 states, one thread)."""


def train_ensemble(kind: str, x: np.ndarray, dxdt: np.ndarray, seeds: Sequence[int], hidden: int,
                   steps: int, lr: float, weight_decay: float, threads: int = PIECE_THREADS,
                   progress: Optional[Callable[[int], None]] = None, scaling: Optional[Scaling] = None,
                   pairs: Optional[ConjugatePairs] = None) -> dict[str, np.ndarray]:
    """Train one model per seed on its own data, ``x``/``dxdt`` ``(S, N, d)``, as one vectorized
    ensemble, seeing the columns through ``scaling`` if given (an HNN's paired by ``pairs``);
    returns the trained parameters stacked ``(S, ...)`` as float32 arrays. ``threads`` is the torch threads the caller runs it
    on (a part of the cache key: the last bits depend on it). ``progress(steps_done)`` is called
    every ``PROGRESS_STEPS`` steps and at the end."""
    models = [build_model(kind, x.shape[-1], seed, hidden, scaling, pairs) for seed in seeds]
    params, _ = stack_module_state(models)
    inputs, targets = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(dxdt, dtype=torch.float32)
    optimiser = torch.optim.Adam(params.values(), lr=lr, weight_decay=weight_decay)
    for step in range(1, steps + 1):
        optimiser.zero_grad()
        squared = field_error(models[0], member_fields(models[0], params, inputs), targets)
        squared.mean(dim=(1, 2)).sum().backward()  # the sum keeps members independent
        optimiser.step()
        if progress and (step % PROGRESS_STEPS == 0 or step == steps):
            progress(step)
    return {name: value.detach().numpy().copy() for name, value in params.items()}


Task = tuple[str, list[int]]


def training_queues(kinds: Sequence[str], n_seeds: int, workers: int, together: bool) -> list[list[Task]]:
    """The trainings (kind, seeds) each of ``workers`` side-by-side workers runs, in turn. With
    ``together`` (the seeds' data have one shape) each kind's seeds are split into ``workers``
    ensembles, the larger ones of the kinds on different workers; else every seed trains alone."""
    queues: list[list[Task]] = [[] for _ in range(workers)]
    if not together:
        singles = [(kind, [k]) for kind in kinds for k in range(n_seeds)]
        return [queue for queue in (singles[w::workers] for w in range(workers)) if queue]
    groups = [group.tolist() for group in np.array_split(np.arange(n_seeds), workers) if len(group)]
    for i, kind in enumerate(kinds):
        for g, seeds in enumerate(groups):
            queues[(g + i) % workers].append((kind, seeds))
    return [queue for queue in queues if queue]


def pretrained_params(kinds: Sequence[str], x: Sequence[np.ndarray], dxdt: Sequence[np.ndarray],
                      seeds: Sequence[int], *, hidden: int, steps: int, lr: float, weight_decay: float,
                      cache_dir: Union[str, Path, None] = None, vectorize: bool = True, workers: int = 1,
                      progress: Optional[Callable[[float], None]] = None, scaling: Optional[Scaling] = None,
                      pairs: Optional[ConjugatePairs] = None) -> dict[str, list[Params]]:
    """The trained parameters of one model of each of ``kinds`` per seed (seed k trained on
    ``x[k]``, ``dxdt[k]``; an HNN's columns paired by ``pairs``). Seeds whose data have the same shape train as ensembles when
    ``vectorize``; up to ``workers`` trainings run side by side (threads: torch releases the GIL),
    each on one torch thread (``side_by_side``), so the weights do not depend on ``workers``. Results
    are cached in ``cache_dir`` (``joblib.Memory``) by data, seeds and recipe. ``progress(fraction)``
    reports the share of the training done."""
    train = train_ensemble
    if cache_dir:
        train = joblib.Memory(str(cache_dir), verbose=0).cache(train_ensemble, ignore=["progress"])
    recipe = dict(hidden=hidden, steps=steps, lr=lr, weight_decay=weight_decay, threads=PIECE_THREADS,
                  scaling=scaling)
    queues = training_queues(kinds, len(seeds), max(1, workers), vectorize and len({a.shape for a in x}) == 1)
    total = steps * sum(KIND_COST[kind] * len(batch) for queue in queues for kind, batch in queue)
    done: dict[tuple[int, int], float] = {}
    lock = threading.Lock()
    out: dict[str, list[Params]] = {kind: [{} for _ in seeds] for kind in kinds}

    def run_queue(worker: int, queue: list[Task]) -> None:
        for position, (kind, batch) in enumerate(queue):
            weight = KIND_COST[kind] * len(batch)

            def report(steps_done: int, key: tuple = (worker, position), weight: float = weight) -> None:
                with lock:
                    done[key] = weight * steps_done
                    if progress:
                        progress(sum(done.values()) / total)

            stacked = train(kind, np.stack([x[k] for k in batch]).astype(np.float32),
                            np.stack([dxdt[k] for k in batch]).astype(np.float32), [seeds[k] for k in batch],
                            **recipe, progress=report, pairs=pairs if kind == "hnn" else None)
            for member, k in enumerate(batch):
                out[kind][k] = {name: torch.as_tensor(value[member]) for name, value in stacked.items()}

    side_by_side([partial(run_queue, worker, queue) for worker, queue in enumerate(queues)])
    return out
