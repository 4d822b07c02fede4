"""Formulas with linear parameters, judged as bases: ``g = a0(x) + sum_j c_j a_j(x)``.

For fixed nonlinear parameters the basis functions are the formula with every linear parameter
at 0 (``a0``) and with one of them at 1 minus ``a0`` (``a_j``); the best combination is the
smallest generalized eigenvector of their forms (``forms.smallest_ratio``), for a batch of
formulas or grid points at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from conslaw.discovery.forms import RESOLVED, ratio_of, smallest_ratio, smooth_form, within_form
from conslaw.discovery.function_forms import MAX_MAGNITUDE, MIN_MAGNITUDE
from conslaw.dsl.grammar import NodeTable

DEGENERATE = 1e-6


@dataclass
class BasisBatch:
    """The judgement of a batch of B bases (formulas, or grid points of one formula)."""

    ratios: np.ndarray          # (B,)
    weights: np.ndarray         # (B, k) basis weights
    scaled_weights: np.ndarray  # (B, k) the same for the basis scaled to unit peak
    finite: np.ndarray          # (B,)
    in_range: np.ndarray        # (B,)
    moves: np.ndarray           # (B,)
    resolved: np.ndarray        # (B,)
    B: np.ndarray               # (B, k, k) null form of the scaled basis
    values: np.ndarray          # (B, N, k) scaled basis values


def _usable(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per basis: all values finite, every basis function's magnitude in range, and the
    functions' peak magnitudes over their finite values (B, k). Reduced along a contiguous copy
    with the states last (maxima are exact, so in any order)."""
    states_last = np.ascontiguousarray(np.swapaxes(values, -1, -2))
    usable = np.isfinite(states_last)
    finite = usable.all(axis=(-2, -1))
    with np.errstate(all="ignore"):
        peak = np.where(usable, np.abs(states_last), 0.0).max(axis=-1)
    in_range = ((peak <= MAX_MAGNITUDE) & ((peak >= MIN_MAGNITUDE) | (peak == 0))).all(axis=-1)
    return finite, in_range, peak


def judge_basis(values: np.ndarray, data: Any) -> BasisBatch:
    """Judge bases ``values`` (B, N, k) (a0 first, then the a_j with a0 not yet subtracted) on
    the states of ``data`` (a ``FitData``): the best combination of each and its fit ratio."""
    with np.errstate(all="ignore"):
        values[..., 1:] -= values[..., :1]
    finite, in_range, peak = _usable(values)
    values = np.where((finite & in_range)[:, None, None], values, 0.0)
    peak = np.where((finite & in_range)[:, None] & (peak > 0), peak, 1.0)
    values = values / peak[:, None, :]  # judge the shape, not the magnitude
    split = data.n_truth
    null = values[..., split:, :]
    A, B = smooth_form(values[..., :split, :], data.truth), within_form(null, data.null)
    smooth_null = smooth_form(null, data.null)
    moves = np.einsum("...ii->...", B) > 0
    B = np.where(moves[:, None, None], B, np.eye(B.shape[-1]))
    ratios, scaled_weights = smallest_ratio(A, B)
    resolved = ratio_of(scaled_weights, smooth_null, B) >= RESOLVED
    ratios = np.where(finite & in_range & moves & resolved, ratios, np.inf)
    return BasisBatch(ratios, scaled_weights / peak, scaled_weights, finite, in_range, moves,
                      resolved, B, values)


def basis_status(batch: BasisBatch, i: int) -> str:
    """The fit status of basis ``i`` of a batch (see ``conslaw.discovery.fit``)."""
    if not batch.finite[i]:
        return "non_finite"
    if not batch.in_range[i]:
        return "scale"
    if not batch.moves[i]:
        return "constant"
    if not batch.resolved[i]:
        return "unresolved"
    scaled = batch.scaled_weights[i] * np.sqrt(np.diag(batch.B[i]))
    return "degenerate" if abs(scaled[0]) < DEGENERATE * np.linalg.norm(scaled) else "ok"


class Basis:
    """The basis functions of formulas with linear parameters (``linear``: each formula's flags,
    DFS order), their nonlinear parameters at ``nonlinear`` once searched."""

    def __init__(self, table: NodeTable, linear: dict[int, list[bool]],
                 nonlinear: dict[int, np.ndarray]) -> None:
        self.table = table
        self.linear = linear
        self.nonlinear = nonlinear

    def size(self, node: int) -> int:
        return 1 + sum(self.linear[node])

    def _sets(self, node: int, nonlinear_values: list) -> list[list]:
        """Parameter lists giving a0 (all linear parameters 0) and each a_j (linear j at 1)."""
        linear = self.linear[node]
        columns = iter(nonlinear_values)
        nonlinear = [next(columns) if not is_linear else None for is_linear in linear]
        positions = [i for i, is_linear in enumerate(linear) if is_linear]
        return [[nonlinear[i] if not linear[i] else float(i == active) for i in range(len(linear))]
                for active in [None] + positions]

    def values(self, probe: Any, node: int, nonlinear: list[np.ndarray]) -> np.ndarray:
        """The basis (G, N, k) on ``probe``'s states at the grid of ``nonlinear`` values
        (``grids.parameters``)."""
        shape = np.broadcast_shapes(*[np.shape(v)[:-1] for v in nonlinear])
        return np.stack([probe.values(node, params, shape) for params in self._sets(node, nonlinear)],
                        axis=-1)

    def final_values(self, probe: Any, node: int) -> np.ndarray:
        """The basis (N, k) at the formula's searched nonlinear values."""
        sets = self._sets(node, list(self.nonlinear.get(node, [])))
        return np.stack([probe.values(node, params)[0] for params in sets], axis=-1)

    def parameters(self, node: int, batch: BasisBatch, i: int, solved: bool) -> np.ndarray:
        """All parameters (DFS order): the searched nonlinear ones, and the linear ones from the
        best combination of basis ``i`` of ``batch`` when ``solved`` (else 0)."""
        linear = self.linear[node]
        parameters = np.zeros(len(linear))
        parameters[[j for j, is_linear in enumerate(linear) if not is_linear]] = \
            self.nonlinear.get(node, [])
        if solved:
            parameters[[j for j, is_linear in enumerate(linear) if is_linear]] = \
                batch.weights[i][1:] / batch.weights[i][0]
        return parameters
