"""Fit each formula's parameters to minimize its conservation ratio, in batches.

* Parameters that enter a formula affinely are solved in closed form: for fixed nonlinear
  parameters the formula is ``w . a(x)``, and the best ``w`` is the smallest generalized
  eigenvector of the ratio's quadratic forms (``score.smallest_ratio``).
* Nonlinear parameters (inside ``sin``/``cos``, squares, denominators) are searched on a grid of
  magnitudes around each parameter's natural scale (derived from its unit and the data's
  spread), both signs, then refined by zooming the grid around the best point. Every grid point
  is evaluated in one vectorized pass per formula, with the linear parameters projected out.
* Grid search runs on a subsample of whole segments; the final ratio is computed on all states.
* A fit whose gradient is carried by a handful of states (a pole inside the data) is marked
  ``singular`` and never accepted: there the ratio's normalizer is meaningless.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Optional, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from conslaw.discovery.score import SegmentedStates, gradient_form, smallest_ratio, within_segment_form
from conslaw.dsl.grammar import GradientEvaluator, NodeTable

COARSE_POINTS = {1: 17, 2: 9}
MAX_RANDOM_GRID = 400
ZOOM_ROUNDS = 4
ZOOM_POINTS = 5
ZOOM_SHRINK = 2.5
DEGENERATE = 1e-6
SINGULAR_FRACTION = 0.01  # the top 1 % of states ...
SINGULAR_SHARE = 0.5      # ... carrying over half of the squared gradient: a pole in the data


@dataclass
class FitResult:
    """The fitted parameters (DFS order) of one formula and its conservation ratio."""

    node: int
    ratio: float
    parameters: np.ndarray
    status: str  # "ok", "non_finite", "constant", "degenerate" or "singular"


def _base_log_scales(table: NodeTable, scale: np.ndarray) -> np.ndarray:
    """Log-scales of the base dimensions that best explain the columns' spreads (least squares)."""
    matrix = np.array([[float(e) for e in d.exponents] for d in table.dimensions])
    solution, *_ = np.linalg.lstsq(matrix, np.log(scale), rcond=None)
    return solution


class _Probe:
    """Exact values and input-gradients of formulas on one set of states."""

    def __init__(self, table: NodeTable, data: SegmentedStates):
        self.data = data
        self.evaluator = GradientEvaluator(table, data.x)

    def basis(self, node: int, parameter_sets: list[list]) -> tuple[np.ndarray, np.ndarray]:
        """Values (G, N, k) and gradients (G, N, k, d) of the basis functions given by
        ``parameter_sets`` (one parameter list per basis function)."""
        n, d = self.data.x.shape
        pairs = [self.evaluator(node, params) for params in parameter_sets]
        size = max([np.shape(v)[0] if np.ndim(v) == 2 else 1 for v, _ in pairs])
        values = np.stack([np.broadcast_to(v, (size, n)) for v, _ in pairs], axis=-1)
        gradients = np.stack([np.broadcast_to(g, (size, n, d)) for _, g in pairs], axis=-2)
        return values, gradients


class FormulaFitter:
    """Fits formulas of one ``NodeTable`` to one set of segmented states."""

    def __init__(self, table: NodeTable, data: SegmentedStates, *, grid_states: int = 256,
                 seed: int = 0) -> None:
        self.table = table
        self.full = _Probe(table, data)
        self.grid = _Probe(table, _subsample(data, grid_states, seed))
        self.log_scales = _base_log_scales(table, data.scale)

    def natural_scale(self, unit) -> float:
        return float(np.exp(np.dot([float(e) for e in unit.exponents], self.log_scales)))

    def _parameter_sets(self, linear: list[bool], nonlinear_values: Optional[np.ndarray]):
        """Parameter lists giving a0 (all linear parameters 0) and each a_j (linear j at 1)."""
        columns = iter([] if nonlinear_values is None else list(nonlinear_values.T[:, :, None]))
        nonlinear = [next(columns) if not is_linear else None for is_linear in linear]
        linear_positions = [i for i, is_linear in enumerate(linear) if is_linear]
        sets = []
        for active in [None] + linear_positions:
            sets.append([nonlinear[i] if not linear[i] else float(i == active)
                         for i in range(len(linear))])
        return sets

    def _ratios(self, probe: _Probe, node: int, linear: list[bool],
                nonlinear_values: Optional[np.ndarray]):
        values, gradients = probe.basis(node, self._parameter_sets(linear, nonlinear_values))
        with np.errstate(all="ignore"):
            values[..., 1:] -= values[..., :1]
            gradients[..., 1:, :] -= gradients[..., :1, :]
        finite = np.isfinite(values).all(axis=(-2, -1)) & np.isfinite(gradients).all(axis=(-3, -2, -1))
        values = np.where(finite[:, None, None], values, 0.0)
        gradients = np.where(finite[:, None, None, None], gradients, 0.0)
        A = within_segment_form(values, probe.data)
        B = gradient_form(gradients, probe.data)
        zero = np.einsum("...ii->...", B) <= 0
        B = np.where(zero[:, None, None], np.eye(B.shape[-1]), B)
        ratios, weights = smallest_ratio(A, B)
        ratios = np.where(finite & ~zero, ratios, np.inf)
        return ratios, weights, finite, zero, B, gradients

    def _grid(self, scales: list[float]) -> np.ndarray:
        count = COARSE_POINTS.get(len(scales), 5)
        magnitudes = np.logspace(-2, 2, count)
        axes = [np.concatenate([-magnitudes[::-1], magnitudes]) * s for s in scales]
        grid = np.array(list(product(*axes)))
        if len(grid) > MAX_RANDOM_GRID:
            keep = np.random.default_rng(0).choice(len(grid), MAX_RANDOM_GRID, replace=False)
            grid = grid[np.sort(keep)]
        return grid

    def _search(self, node: int, linear: list[bool], scales: list[float]) -> np.ndarray:
        """The best nonlinear parameter values: coarse grid, then zoomed grids (log-magnitude)."""
        grid = self._grid(scales)
        ratios = self._ratios(self.grid, node, linear, grid)[0]
        best = grid[int(np.argmin(ratios))]
        half_width = 4.0 / (COARSE_POINTS.get(len(scales), 5) - 1)  # decades per coarse step
        for _ in range(ZOOM_ROUNDS):
            offsets = np.linspace(-half_width, half_width, ZOOM_POINTS)
            axes = [np.sign(b) * np.abs(b) * 10.0 ** offsets for b in best]
            grid = np.array(list(product(*axes)))
            ratios = self._ratios(self.grid, node, linear, grid)[0]
            best = grid[int(np.argmin(ratios))]
            half_width /= ZOOM_SHRINK
        return best

    def fit(self, node: int) -> FitResult:
        n_params = self.table[node].n_params
        linear = self.table.linear_parameters(node)
        nonlinear_positions = [i for i, is_linear in enumerate(linear) if not is_linear]
        nonlinear_values = None
        if nonlinear_positions:
            units = self.table.parameter_units(node)
            scales = [self.natural_scale(units[i]) for i in nonlinear_positions]
            nonlinear_values = self._search(node, linear, scales)[None, :]
        ratios, weights, finite, zero, B, gradients = self._ratios(self.full, node, linear,
                                                                   nonlinear_values)
        ratio, w = float(ratios[0]), weights[0]
        parameters = np.zeros(n_params)
        if nonlinear_positions:
            parameters[nonlinear_positions] = nonlinear_values[0]
        if not finite[0]:
            return FitResult(node, np.inf, parameters, "non_finite")
        if zero[0] or not np.isfinite(ratio):
            return FitResult(node, np.inf, parameters, "constant")
        scaled = w * np.sqrt(np.diag(B[0]))
        if abs(scaled[0]) < DEGENERATE * np.linalg.norm(scaled):
            return FitResult(node, ratio, parameters, "degenerate")
        linear_positions = [i for i, is_linear in enumerate(linear) if is_linear]
        parameters[linear_positions] = w[1:] / w[0]
        if self._singular(np.einsum("nkd,k->nd", gradients[0], w)):
            return FitResult(node, ratio, parameters, "singular")
        return FitResult(node, ratio, parameters, "ok")

    def _singular(self, gradient: np.ndarray) -> bool:
        """True when a few states dominate the fitted formula's gradient (N, d), any scale: a
        pole (or near-pole) inside the data, where the ratio's normalizer means nothing."""
        strength = np.sum((gradient * self.full.data.scale) ** 2, axis=-1)
        top = max(1, int(np.ceil(SINGULAR_FRACTION * strength.size)))
        total = strength.sum()
        return bool(np.partition(strength, -top)[-top:].sum() > SINGULAR_SHARE * total)

    def ratio(self, node: int, parameters: Sequence[float]) -> float:
        """The conservation ratio of a formula at given parameter values (on all states)."""
        params = [float(p) for p in parameters]
        values, gradients = self.full.basis(node, [params])
        if not (np.isfinite(values).all() and np.isfinite(gradients).all()):
            return float("inf")
        A = within_segment_form(values, self.full.data)
        B = gradient_form(gradients, self.full.data)
        return float(A[0, 0, 0] / B[0, 0, 0]) if B[0, 0, 0] > 0 else float("inf")


def _subsample(data: SegmentedStates, max_states: int, seed: int) -> SegmentedStates:
    """Whole segments, chosen at random, totalling at most ``max_states`` states (at least two)."""
    if len(data.x) <= max_states:
        return data
    rng = np.random.default_rng(seed)
    counts = np.bincount(data.segment)
    order = rng.permutation(len(counts))
    chosen, total = [], 0
    for s in order:
        if total + counts[s] > max_states and len(chosen) >= 2:
            break
        chosen.append(s)
        total += counts[s]
    mask = np.isin(data.segment, chosen)
    relabel = {s: i for i, s in enumerate(sorted(chosen))}
    segment = np.array([relabel[s] for s in data.segment[mask]])
    return SegmentedStates(data.x[mask], segment, data.scale)


def fit_chunk(table: NodeTable, nodes: Sequence[int], true_data: SegmentedStates,
              random_data: SegmentedStates, test_data: Optional[SegmentedStates],
              grid_states: int = 256, seed: int = 0) -> list[dict]:
    """Fit a chunk of formulas on the true data and on the random control; one dict each.

    This is the unit of parallel work (joblib/dask) and of checkpointing. BLAS runs
    single-threaded: the matrices are tiny and parallelism comes from the chunks.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_chunk(table, nodes, true_data, random_data, test_data, grid_states, seed)


def _fit_chunk(table, nodes, true_data, random_data, test_data, grid_states, seed) -> list[dict]:
    true_fitter = FormulaFitter(table, true_data, grid_states=grid_states, seed=seed)
    random_fitter = FormulaFitter(table, random_data, grid_states=grid_states, seed=seed)
    test_fitter = FormulaFitter(table, test_data, grid_states=grid_states, seed=seed) if test_data else None
    results = []
    for node in nodes:
        fitted = true_fitter.fit(node)
        record = {"node": int(node), "status": fitted.status, "ratio_true": fitted.ratio,
                  "parameters": fitted.parameters.tolist(), "ratio_random": None,
                  "ratio_test": None}
        if fitted.status == "ok":
            control = random_fitter.fit(node)
            if control.status in ("ok", "degenerate", "singular"):
                record["ratio_random"] = control.ratio
            if test_fitter is not None:
                record["ratio_test"] = test_fitter.ratio(node, fitted.parameters)
        results.append(record)
    return results
