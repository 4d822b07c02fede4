"""Fixed-step integrators behind one entry point, ``rollout(field, x0, t, method="rk4")``."""
from __future__ import annotations

from typing import Callable

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
    """Integrate ``dx/dt = field(x)`` from ``x0`` ``(B, d)`` over the grid ``t`` ``(T,)``, one step
    per grid interval. Returns ``(B, T, d)`` with ``[:, 0] = x0``."""
    if method not in SOLVERS:
        raise ConslawError(f"unknown integrator {method!r}; choose one of {', '.join(sorted(SOLVERS))}")
    step = SOLVERS[method]
    t = torch.as_tensor(t, dtype=x0.dtype)
    states = [x0]
    for h in torch.diff(t):
        states.append(step(field, states[-1], h))
    return torch.stack(states, dim=1)
