"""Noether Networks on state trajectories: a dx/dt MLP integrated by RK4, an MLP embedding."""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np
import sympy as sp
import torch
from torch import nn
from torch.func import functional_call

from conslaw.errors import ConslawError
from conslaw.neural.core import BatchSampler, EmbedFn, Params, StepFn


class FieldMLP(nn.Module):
    """The HNN baseline: state (d) -> tanh MLP -> dx/dt (d)."""

    def __init__(self, n_state: int, hidden: int = 200):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_state, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, n_state))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EmbeddingMLP(nn.Module):
    """The Noether embedding g_phi: state (d) -> smooth MLP -> R^k."""

    def __init__(self, n_state: int, n_features: int = 4, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_state, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def parameters_of(module: nn.Module) -> Params:
    """Detached copies of a module's parameters, for torch.func.functional_call."""
    return {name: value.detach().clone() for name, value in module.named_parameters()}


def rk4_step(field: nn.Module, dt: float) -> StepFn:
    """f_theta(x_t) = x_{t+1}: one classical RK4 step of the learned field at the data dt."""
    def step(theta: Params, context: torch.Tensor) -> torch.Tensor:
        def velocity(x: torch.Tensor) -> torch.Tensor:
            return functional_call(field, theta, (x,))

        x = context[-1]
        k1 = velocity(x)
        k2 = velocity(x + 0.5 * dt * k1)
        k3 = velocity(x + 0.5 * dt * k2)
        k4 = velocity(x + dt * k3)
        return x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    return step


def module_embedding(embedding: nn.Module) -> EmbedFn:
    """g_phi(x) from a module, called functionally with phi."""
    return lambda phi, x: functional_call(embedding, phi, (x,))


def law_embedding(law: Union[str, sp.Expr, Callable[[torch.Tensor], torch.Tensor]],
                  columns: Sequence[str]) -> EmbedFn:
    """A fixed (symbolic) Noether embedding: a SymPy law in the columns, or a torch function of x (d,)."""
    if callable(law) and not isinstance(law, sp.Basic):
        return lambda phi, x: law(x).reshape(1)
    from conslaw.symmetry import as_expression

    expression = as_expression(law, columns)
    symbols = [sp.Symbol(c, real=True) for c in columns]
    function = sp.lambdify(symbols, expression, modules="torch")
    return lambda phi, x: (function(*x.unbind(-1)) + 0 * x[0]).reshape(1)


def pretrain_field(field: nn.Module, states: np.ndarray, derivatives: np.ndarray, n_steps: int = 2000,
                   lr: float = 1e-3) -> Params:
    """Full-batch Adam on the dx/dt MSE (the HNN baseline's training); returns theta."""
    x = torch.as_tensor(states, dtype=torch.float32)
    y = torch.as_tensor(derivatives, dtype=torch.float32)
    optimiser = torch.optim.Adam(field.parameters(), lr=lr)
    for _ in range(n_steps):
        optimiser.zero_grad()
        loss = (field(x) - y).pow(2).mean()
        loss.backward()
        optimiser.step()
    return parameters_of(field)


def window_sampler(trajectories: np.ndarray, horizon: int, batch_size: int) -> BatchSampler:
    """Random windows (1 context state + ``horizon`` targets) from trajectories (n, L, d)."""
    data = torch.as_tensor(trajectories, dtype=torch.float32)
    n_trajectories, length, _ = data.shape
    if horizon >= length:
        raise ConslawError(f"neural: horizon {horizon} needs trajectories longer than {length} points")

    def sample(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        which = torch.randint(n_trajectories, (batch_size,), generator=generator)
        start = torch.randint(length - horizon, (batch_size,), generator=generator)
        index = start[:, None] + torch.arange(horizon + 1)[None, :]
        windows = data[which[:, None], index]
        return windows[:, :1], windows[:, 1:]

    return sample


def rollout_rmse(predictions: torch.Tensor, trajectories: np.ndarray) -> float:
    """RMSE pooled over trajectories, time points after x_0 and coordinates."""
    truth = torch.as_tensor(trajectories[:, 1:], dtype=predictions.dtype)
    return float((predictions.detach() - truth).pow(2).mean().sqrt())
