"""The Noether loss: how much a model's prediction breaks a conserved quantity g.

For a derivative model ``f(x) = dx/dt`` (the HNN baseline) three forms are offered:

- ``forward``  : ``|g(x) - g(x + f(x) dt)|^2``, the paper's one-sided finite difference. Biased:
  an explicit Euler step of the TRUE field changes g by O(dt^2) (for the spring it raises the
  energy by a factor ``1 + 4 dt^2``), so the loss pushes the model toward dissipation.
- ``central``  : ``|g(x - f dt/2) - g(x + f dt/2)|^2``, zero for the true field up to O(dt^3),
  exactly zero for a quadratic g (the default; see docs/protocol.md for the measurement).
- ``analytic`` : ``(dt * grad g(x) . f(x))^2``, the dt -> 0 limit of both, via autograd.

For a step model ``x_{t+1} = f(x_t)`` :meth:`NoetherLoss.sequence` gives the paper's equation 2:
``reference="x0"`` is 2(a) (every prediction against the ground-truth input), ``"previous"`` is 2(b).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch

from conslaw.errors import ConslawError
from conslaw.tailoring.laws import LawLike, law_to_torch

LOSS_FORMS = ("forward", "central", "analytic")
SEQUENCE_REFERENCES = ("x0", "previous")


def _squared(difference: torch.Tensor, state_rank: int) -> torch.Tensor:
    """|difference|^2, summing a trailing embedding axis when g is vector-valued."""
    squared = difference**2
    return squared.sum(-1) if squared.dim() > state_rank - 1 else squared


class NoetherLoss(torch.nn.Module):
    """A conservation law turned into a loss on a model's predictions.

    ``law`` is a SymPy expression, a string in ``columns``, a result.json candidate dict (key
    ``"expression"``) or a callable ``g(x: (..., d)) -> (...)`` (or ``(..., k)``).
    ``forward(x, dxdt)`` returns the mean loss over the batch, :meth:`pointwise` the per-state loss.
    """

    def __init__(
        self,
        law: LawLike,
        form: str = "central",
        dt: float = 0.1,
        columns: Optional[Sequence[str]] = None,
    ) -> None:
        super().__init__()
        if form not in LOSS_FORMS:
            raise ConslawError(f"unknown Noether loss form {form!r}; choose one of {', '.join(LOSS_FORMS)}")
        if not dt > 0:
            raise ConslawError(f"the Noether loss time step dt must be positive, got {dt!r}")
        self.law: Callable[[torch.Tensor], torch.Tensor] = law_to_torch(law, columns)
        self.form = form
        self.dt = float(dt)

    def pointwise(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        """Loss per state: ``x`` and the model's ``dxdt`` are ``(..., d)``, the result ``(...)``."""
        g, dt = self.law, self.dt
        if self.form == "forward":
            return _squared(g(x) - g(x + dxdt * dt), x.dim())
        if self.form == "central":
            return _squared(g(x - dxdt * (dt / 2)) - g(x + dxdt * (dt / 2)), x.dim())
        _, directional = torch.func.jvp(g, (x,), (dxdt,))  # grad g(x) . f(x), also for vector g
        return _squared(dt * directional, x.dim())

    def forward(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        """Mean loss over all states of the batch."""
        return self.pointwise(x, dxdt).mean()

    def sequence(self, x0: torch.Tensor, predictions: torch.Tensor, reference: str = "x0") -> torch.Tensor:
        """Equation 2 for a step model: ``x0`` ``(..., d)``, ``predictions`` ``(..., T, d)``.

        ``reference="x0"`` sums ``|g(x0) - g(x_t)|^2`` over t (2a); ``"previous"`` sums
        ``|g(x_{t-1}) - g(x_t)|^2`` with ``x_{-1} = x0`` (2b). Returns ``(...)``.
        """
        if reference not in SEQUENCE_REFERENCES:
            raise ConslawError(
                f"unknown sequence reference {reference!r}; choose one of {', '.join(SEQUENCE_REFERENCES)}"
            )
        values = self.law(predictions)  # (..., T) or (..., T, k)
        start = self.law(x0.unsqueeze(-2))  # (..., 1) or (..., 1, k)
        time_axis = predictions.dim() - 2
        if reference == "x0":
            before = start.expand_as(values)
        else:
            before = torch.cat([start, values.narrow(time_axis, 0, values.shape[time_axis] - 1)], dim=time_axis)
        return _squared(values - before, predictions.dim()).sum(-1)

    def extra_repr(self) -> str:
        return f"law={self.law!r}, form={self.form!r}, dt={self.dt:g}"
