"""Fixed-step integrators behind one entry point, ``rollout(field, x0, t, method="rk4")``: the one
RK4 (and Euler, midpoint) of conslaw's tailoring."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import torch

from conslaw.errors import ConslawError

Field = Callable[[torch.Tensor], torch.Tensor]


def _euler(field: Field, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return x + h * field(x)


def _midpoint(field: Field, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return x + h * field(x + h / 2 * field(x))


def _rk4(field: Field, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    k1 = field(x)
    k2 = field(x + h / 2 * k1)
    k3 = field(x + h / 2 * k2)
    k4 = field(x + h * k3)
    return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


SOLVERS: dict[str, Callable[[Field, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "euler": _euler,
    "midpoint": _midpoint,
    "rk4": _rk4,
}


def rollout(field: Field, x0: torch.Tensor, t: torch.Tensor, method: str = "rk4") -> torch.Tensor:
    """Integrate ``dx/dt = field(x)`` from ``x0`` ``(..., d)`` over the grid ``t`` ``(T,)``, one step
    per grid interval. Returns ``(..., T, d)`` with ``[..., 0, :] = x0``."""
    if method not in SOLVERS:
        raise ConslawError(f"unknown integrator {method!r}; choose one of {', '.join(sorted(SOLVERS))}")
    step = SOLVERS[method]
    t = torch.as_tensor(t, dtype=x0.dtype)
    states = [x0]
    for h in torch.diff(t):
        states.append(step(field, states[-1], h))
    return torch.stack(states, dim=-2)


def rollout_rmse(field: Field, groups: Sequence, method: str = "rk4") -> np.ndarray:
    """Each member's rollout RMSE, pooled over its trajectories, times and coordinates.

    ``groups`` hold ``t`` ``(T,)`` and ``truth`` ``(M, B, T, d)`` (``conslaw.tailoring.splits.Group``);
    every trajectory is integrated from its first state over its own grid by ``field`` on
    ``(M, B, d)``. Returns ``(M,)``, inf where a rollout is not finite.
    """
    squared, count = 0.0, 0
    with torch.no_grad():
        for group in groups:
            predicted = rollout(field, group.truth[:, :, 0], group.t, method)
            squared = squared + ((predicted - group.truth) ** 2).flatten(1).sum(1).double().numpy()
            count += group.truth[0].numel()
    rmse = np.sqrt(np.asarray(squared) / count)
    return np.where(np.isfinite(rmse), rmse, np.inf)
