"""The Noether loss: how much a derivative model's prediction breaks one or more conserved quantities.

For a model ``f(x) = dx/dt`` and laws ``g_1..g_k`` (SymPy expressions over the state columns,
compiled by ``conslaw.dsl.expressions.torch_function``), the loss per state is
``sum_j w_j * D_j(x, f)**2`` with ``D_j`` one of:

- ``forward``  : ``g(x + f dt) - g(x)``, the paper's one-sided difference. Biased: an Euler step of
  the TRUE field changes g by O(dt^2), so the loss pushes the model toward dissipation.
- ``central``  : ``g(x + f dt/2) - g(x - f dt/2)``, zero for the true field up to O(dt^3) and
  exactly zero for a quadratic g (the default; see docs/protocol.md).
- ``analytic`` : ``dt * grad g(x) . f(x)``, the dt -> 0 limit of both (a Jacobian-vector product).

One law has weight 1; "all laws at once" gives each law the weight ``1 / spread**2`` so that every
law counts on the same scale (``combined_weights``).
"""
from __future__ import annotations

import numbers
from typing import Callable, Optional, Sequence, Union

import numpy as np
import sympy
import torch

from conslaw.dsl.expressions import ExpressionLike, numpy_function, torch_function, torch_gradient_function
from conslaw.errors import ConslawError
from conslaw.tailoring.protocol import LOSS_FORMS


LawLike = Union[ExpressionLike, Callable[[torch.Tensor], torch.Tensor]]


def _compiled(law: LawLike, columns: Optional[Sequence[str]]) -> Callable[[torch.Tensor], torch.Tensor]:
    if callable(law) and not isinstance(law, sympy.Basic):
        return law  # already a torch function of the states (e.g. an exported law)
    if columns is None:
        raise ConslawError(f"law {law!r} needs the state columns to compile")
    return torch_function(law, columns)


class NoetherLoss:
    """The per-state loss ``pointwise(x, dxdt)`` of the laws' change along the model's step, and
    its batch mean ``loss(x, dxdt)``. ``laws``: one law or a sequence of them, each a SymPy
    expression, a text in ``columns``, or a torch function of the states ``(..., d) -> (...)``."""

    def __init__(self, laws: Union[LawLike, Sequence[LawLike]], columns: Optional[Sequence[str]] = None, *,
                 form: str = "central", dt: float = 0.1, weights: Optional[Sequence[float]] = None) -> None:
        if form not in LOSS_FORMS:
            raise ConslawError(f"unknown Noether loss form {form!r}; choose one of {', '.join(LOSS_FORMS)}")
        if not isinstance(dt, numbers.Real) or not dt > 0:
            raise ConslawError(f"the Noether loss time step must be positive, got {dt!r}")
        laws = list(laws) if isinstance(laws, (list, tuple)) else [laws]
        if not laws:
            raise ConslawError("a Noether loss needs at least one law")
        self.functions = [_compiled(law, columns) for law in laws]
        self._laws, self._columns = laws, columns
        self._gradients: Optional[list[Callable[[torch.Tensor], torch.Tensor]]] = None
        self.form, self.dt = form, float(dt)
        self.weights = tuple(float(w) for w in (weights if weights is not None else [1.0] * len(laws)))
        if len(self.weights) != len(self.functions):
            raise ConslawError(f"{len(self.weights)} weights for {len(self.functions)} laws")

    def values(self, x: torch.Tensor) -> torch.Tensor:
        """Every law at ``x`` ``(..., d)``: ``(..., k)``."""
        if len(self.functions) == 1:
            return self.functions[0](x).unsqueeze(-1)
        return torch.stack([g(x) for g in self.functions], dim=-1)

    def pointwise(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        """Loss per state: ``x`` and the model's ``dxdt`` are ``(..., d)``, the result ``(...)``."""
        if self.form == "analytic":
            change = self.dt * torch.func.jvp(self.values, (x,), (dxdt,))[1]
        else:  # both ends in one evaluation of the laws
            ends = self.values(self._ends(x, dxdt))
            change = ends[0] - ends[1]
        return self._weighted(change ** 2).sum(-1)

    def field_gradient(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        """``d pointwise / d dxdt`` ``(..., d)``. From the laws' symbolic gradients, a few tensor
        operations (an autograd pass on the small tensors of a rollout step cost more than twice
        the rest of the tailored field); laws given as torch functions go through ``torch.func.grad``."""
        if any(callable(law) and not isinstance(law, sympy.Basic) for law in self._laws):
            return torch.func.grad(lambda field: self.pointwise(x, field).sum())(dxdt)
        if self._gradients is None:
            self._gradients = [torch_gradient_function(law, self._columns) for law in self._laws]
        if self.form == "analytic":
            slope = self._slopes(x) * self.dt
            change = (slope * dxdt.unsqueeze(-2)).sum(-1)
        else:
            ends = self._ends(x, dxdt)
            values = self.values(ends)
            change = values[0] - values[1]
            if self.form == "forward":  # the state before the step does not depend on the field
                slope = self._slopes(ends[0]) * self.dt
            else:
                slopes = self._slopes(ends)
                slope = (slopes[0] + slopes[1]) * (self.dt / 2)
        return (self._weighted(2 * change).unsqueeze(-1) * slope).sum(-2)

    def _ends(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        """The states after and before the step that a difference form compares, stacked."""
        if self.form == "forward":
            return torch.stack([x + dxdt * self.dt, x])
        half_step = dxdt * (self.dt / 2)
        return torch.stack([x + half_step, x - half_step])

    def _weighted(self, per_law: torch.Tensor) -> torch.Tensor:
        """``(..., k)`` values times each law's weight."""
        if self.weights == (1.0,):
            return per_law
        return per_law * torch.tensor(self.weights, dtype=per_law.dtype)

    def _slopes(self, x: torch.Tensor) -> torch.Tensor:
        """Every law's gradient at ``x`` ``(..., d)``: ``(..., k, d)``."""
        return torch.stack([gradient(x) for gradient in self._gradients], dim=-2)

    def __call__(self, x: torch.Tensor, dxdt: torch.Tensor) -> torch.Tensor:
        """The mean loss over every state of the batch."""
        return self.pointwise(x, dxdt).mean()


def combined_weights(laws: Sequence[ExpressionLike], columns: Sequence[str], states: np.ndarray) -> list[float]:
    """``1 / spread**2`` of each law over ``states`` (its standard deviation on the training
    states), so that each law of a combined loss counts on the same scale, and one law's inner lr
    is the same step at any scale (``--law-scale spread``)."""
    weights = []
    for law in laws:
        spread = float(np.nanstd(numpy_function(law, columns)(states)))
        weights.append(1.0 / spread ** 2 if np.isfinite(spread) and spread > 0 else 0.0)
    return weights
