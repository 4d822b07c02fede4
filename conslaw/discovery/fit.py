"""Fit the parameters of many formulas at once to minimize their conservation ratios.

* Parameters that enter a formula affinely are solved in closed form: for fixed nonlinear
  parameters the formula is ``w . a(x)`` and the best ``w`` is the smallest generalized
  eigenvector of (smooth form on the truth, within form on the null) (``forms.smallest_ratio``).
* Nonlinear parameters (inside ``sin``/``cos``, squares, denominators) are searched on a grid of
  magnitudes around each parameter's natural scale (derived from its unit and the data's
  spread), both signs, then refined by zooming around the best point (``grids``).
* The grid search runs on a subsample of whole segments; the final ratio uses all of them.

A fit ends with a status: ``ok``; ``non_finite`` (NaN or inf at some state); ``scale`` (values
beyond ``MAX_MAGNITUDE`` or all below ``MIN_MAGNITUDE``: rounding would decide the ratio);
``constant`` (does not move under the null); ``unresolved`` (varies faster than the sampling
resolves: on the null, under ``RESOLVED`` of its variance is smooth); ``degenerate`` (the best
combination drops the formula's own parameter-free part). The ratio a fit reports is the judged
one (``forms.judged_ratio``), with its standard error.

How the work is shared: a formula whose parameters are all nonlinear (most of them) is one
function, judged by ``function_forms`` with the functions of many formulas and grid points laid
side by side; each formula is evaluated on its whole grid at once, costly sub-formulas on a
coarse grid once for every formula that shares them (``GridEvaluator``). Formulas with linear
parameters are judged as bases, many formulas stacked in one batch of small eigenproblems.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from conslaw.discovery.basis import Basis, basis_status, judge_basis
from conslaw.discovery.forms import judged_ratios
from conslaw.discovery.function_forms import FunctionForms
from conslaw.discovery.grids import (
    ZOOM_ROUNDS, ZOOM_SHRINK, coarse_axes, coarse_step, coarse_subset, mirrored_rows, parameters,
    points, zoom_axes, zoom_centre,
)
from conslaw.discovery.segments import Segments
from conslaw.dsl.grammar import GridEvaluator, NodeTable
from conslaw.dsl.units import Dimension

GROUP_BYTES = 8 << 20
"""Values of this many bytes (formulas x grid points x states) are judged together."""


@dataclass(frozen=True)
class FitData:
    """Segments to judge conservation on (``truth``) and the null's surrogates of them."""

    truth: Segments
    null: Segments

    @property
    def states(self) -> np.ndarray:
        return np.concatenate([self.truth.x, self.null.x])

    @property
    def n_truth(self) -> int:
        return len(self.truth.x)

    def subsample(self, max_states: int, seed: int) -> "FitData":
        """Whole segments of each part, chosen at random, about ``max_states`` states in all."""
        rng = np.random.default_rng(seed)
        return FitData(_some_segments(self.truth, max_states // 2, rng),
                       _some_segments(self.null, max_states // 2, rng))


def _some_segments(segments: Segments, max_states: int, rng: np.random.Generator) -> Segments:
    if len(segments.x) <= max_states:
        return segments
    counts = segments.counts
    chosen, total = [], 0
    for k in rng.permutation(segments.n_segments):
        if total + counts[k] > max_states and len(chosen) >= 2:
            break
        chosen.append(int(k))
        total += counts[k]
    return segments.select(sorted(chosen))


@dataclass
class FitResult:
    """The fitted parameters (DFS order) of one formula and its conservation ratio."""

    node: int
    ratio: float
    error: float
    parameters: np.ndarray
    status: str


def _base_log_scales(table: NodeTable, spread: np.ndarray) -> np.ndarray:
    """Log-scales of the base dimensions that best explain the columns' spreads (least squares)."""
    matrix = np.array([[float(e) for e in d.exponents] for d in table.dimensions])
    solution, *_ = np.linalg.lstsq(matrix, np.log(np.where(spread > 0, spread, 1.0)), rcond=None)
    return solution


class _Probe:
    """One ``FitData``: its states' evaluator and the forms of the ratio on it."""

    def __init__(self, table: NodeTable, data: FitData) -> None:
        self.data = data
        self.evaluator = GridEvaluator(table, data.states)
        self.forms = FunctionForms(data.truth, data.null)
        self.size = len(data.states)

    def values(self, node: int, parameters: Sequence, shape: tuple = (1,),
               remember: bool = False) -> np.ndarray:
        """Values (G, N) of a formula at parameter values broadcasting to grid ``shape``."""
        values = self.evaluator.evaluate(node, parameters, remember=remember)  # errors ignored by the fitter
        shape = tuple(shape) + (self.size,)
        return (values if values.shape == shape else np.broadcast_to(values, shape)).reshape(-1, self.size)

    def judge(self, values: np.ndarray, judged: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
        """The judged ratios and their errors (inf where not ``judged``) of functions' values
        (F, N)."""
        ratios, errors = np.full(len(values), np.inf), np.full(len(values), np.inf)
        rows = np.flatnonzero(judged)
        if len(rows):
            split = self.data.n_truth
            ratios[rows], errors[rows] = judged_ratios(values[rows, :split], values[rows, split:],
                                                       self.data.truth, self.data.null)
        return ratios, errors


def _groups(sizes: Sequence[int], limit: int) -> list[range]:
    """Consecutive index ranges whose ``sizes`` add up to at most ``limit`` (at least one each)."""
    groups, start, total = [], 0, 0
    for i, size in enumerate(sizes):
        if i > start and total + size > limit:
            groups.append(range(start, i))
            start, total = i, 0
        total += size
    return groups + [range(start, len(sizes))] if len(sizes) else groups


class FormulaFitter:
    """Fits formulas of one ``NodeTable`` to one ``FitData``, many at a time."""

    def __init__(self, table: NodeTable, data: FitData, *, grid_states: int = 512,
                 seed: int = 0) -> None:
        self.table = table
        self.full = _Probe(table, data)
        self.grid = _Probe(table, data.subsample(grid_states, seed))
        self.log_scales = _base_log_scales(table, data.truth.x.std(axis=0))

    def natural_scale(self, unit: Dimension) -> float:
        return float(np.exp(np.dot([float(e) for e in unit.exponents], self.log_scales)))

    def _scales(self, node: int, linear: list[bool]) -> list[float]:
        units = self.table.parameter_units(node)
        return [self.natural_scale(units[i]) for i, is_linear in enumerate(linear) if not is_linear]

    @np.errstate(all="ignore")  # formulas overflow and divide by zero at some grid points
    def fit(self, nodes: Sequence[int]) -> list[FitResult]:
        """Each formula's best parameters, status and judged ratio (in the order of ``nodes``)."""
        linear = {node: self.table.linear_parameters(node) for node in nodes}
        single = [node for node in nodes if not any(linear[node])]
        best: dict[int, np.ndarray] = {}
        for n in sorted({len(linear[node]) for node in single} - {0}):
            group = [node for node in single if len(linear[node]) == n]
            best.update(zip(group, self._search(group, np.array([self._scales(node, linear[node])
                                                                  for node in group]))))
        for node in nodes:
            if any(linear[node]) and not all(linear[node]):
                best[node] = self._search_basis(node, linear[node], self._scales(node, linear[node]))
        results = {r.node: r for r in self._final_single(single, best)}
        basis = Basis(self.table, linear, best)
        results.update((r.node, r) for r in self._final_basis([n for n in nodes if any(linear[n])], basis))
        self.full.evaluator.forget()
        return [results[node] for node in nodes]

    def _search(self, nodes: list[int], scales: np.ndarray) -> np.ndarray:
        """The best values (F, n) of the n nonlinear parameters of one-function formulas: the
        coarse grid, then ``ZOOM_ROUNDS`` zoomed grids (log-magnitude), each round for all
        formulas at once. A zoom grid's centre is the previous best, whose ratio is known."""
        axes, subset = coarse_axes(scales), coarse_subset(scales.shape[1])
        if subset is None:
            parts = [mirrored_rows(self.table, node, axes[f], lambda kept, node=node:
                                   self._grid_values(node, parameters(kept), remember=True))
                     for f, node in enumerate(nodes)]
            judged = self._ratios([(rows,) for rows, _ in parts])
            ratios = [expand(r) for (_, expand), r in zip(parts, judged)]
        else:
            ratios = self._ratios([(self._grid_values(node, parameters(axes[f], subset), remember=True),)
                                   for f, node in enumerate(nodes)])
        index = np.array([int(np.argmin(r)) for r in ratios])
        best, least = points(axes, index, subset), np.array([r[i] for r, i in zip(ratios, index)])
        width, centre = coarse_step(scales.shape[1]), zoom_centre(scales.shape[1])
        for _ in range(ZOOM_ROUNDS):
            axes = zoom_axes(best, width)
            rows = [self._grid_values(node, parameters(axes[f])) for f, node in enumerate(nodes)]
            ratios = np.insert(np.array(self._ratios([(r[:centre], r[centre + 1:]) for r in rows])),
                               centre, least, axis=1)
            index = np.argmin(ratios, axis=1)
            best, least = points(axes, index), ratios[np.arange(len(nodes)), index]
            width /= ZOOM_SHRINK
        return best

    def _grid_values(self, node: int, values: list, remember: bool = False) -> np.ndarray:
        """A formula's values (G, N) on the subsample at the grid points given by ``values``."""
        return self.grid.values(node, values, np.broadcast_shapes(*[np.shape(v)[:-1] for v in values]),
                                remember)

    def _ratios(self, rows: list[tuple]) -> list[np.ndarray]:
        """The fit ratios of each formula's rows of values (grid points, in pieces), judged
        together."""
        sizes = [sum(len(piece) for piece in pieces) for pieces in rows]
        ratios = []
        for group in _groups(sizes, GROUP_BYTES // (8 * self.grid.size)):
            judged = self.grid.forms.ratios(np.concatenate([piece for i in group for piece in rows[i]]))
            ratios += np.split(judged, np.cumsum([sizes[i] for i in group])[:-1])
        return ratios

    def _search_basis(self, node: int, linear: list[bool], scales: list[float]) -> np.ndarray:
        """The same search for a formula with linear parameters too (a basis at every point)."""
        basis = Basis(self.table, {node: linear}, {})
        axes, subset = coarse_axes(np.array([scales])), coarse_subset(len(scales))
        width = coarse_step(len(scales))
        for round_ in range(ZOOM_ROUNDS + 1):
            values = basis.values(self.grid, node, parameters(axes[0], subset))
            index = int(np.argmin(judge_basis(values, self.grid.data).ratios))
            best = points(axes, np.array([index]), subset)
            if round_ < ZOOM_ROUNDS:
                axes, subset = zoom_axes(best, width), None
                width /= ZOOM_SHRINK
        return best[0]

    def _final_single(self, nodes: list[int], best: dict[int, np.ndarray]) -> list[FitResult]:
        """One-function formulas on all segments, at their best nonlinear values."""
        parameters = [list(best.get(node, [])) for node in nodes]
        statuses, values, weights = self._judge_single(nodes, parameters)
        return self._results(nodes, statuses, values * weights[:, None],
                             [np.array(p, float) for p in parameters])

    def _results(self, nodes: list[int], statuses: list[str], laws: np.ndarray,
                 parameters: list[np.ndarray]) -> list[FitResult]:
        """Fit results from statuses and the fitted laws' values (F, N): an ``ok`` law is judged,
        and is ``unresolved`` when the judged ratio is not finite."""
        ratios, errors = self.full.judge(laws, [status == "ok" for status in statuses])
        return [FitResult(node, float(ratio), float(error), params,
                          "unresolved" if status == "ok" and not np.isfinite(ratio) else status)
                for node, status, ratio, error, params in zip(nodes, statuses, ratios, errors, parameters)]

    def _judge_single(self, nodes: list[int], parameters: list[list]) -> tuple:
        """Statuses of one-function formulas at given parameters on all segments, their values
        scaled to unit peak (F, N) and the weights of these in the fitted laws (F,)."""
        values = np.empty((len(nodes), self.full.size))
        for i, (node, params) in enumerate(zip(nodes, parameters)):
            values[i] = self.full.values(node, params)[0]
        judgement = self.full.forms.judge(values)
        statuses = np.select([~judgement.finite, ~judgement.in_range, ~judgement.moves, ~judgement.resolved],
                             ["non_finite", "scale", "constant", "unresolved"], "ok")
        return [str(status) for status in statuses], values, judgement.weight

    def _final_basis(self, nodes: list[int], basis: Basis) -> list[FitResult]:
        """Formulas with linear parameters on all segments, stacked by basis size."""
        results = []
        for size in sorted({basis.size(node) for node in nodes}):
            same = [node for node in nodes if basis.size(node) == size]
            for group in _groups([size] * len(same), GROUP_BYTES // (8 * self.full.size)):
                results += self._judge_bases([same[i] for i in group], basis)
        return results

    def _judge_bases(self, nodes: list[int], basis: Basis) -> list[FitResult]:
        batch = judge_basis(np.stack([basis.final_values(self.full, node) for node in nodes]),
                            self.full.data)
        statuses = [basis_status(batch, i) for i in range(len(nodes))]
        laws = np.stack([batch.values[i] @ batch.scaled_weights[i] for i in range(len(nodes))])
        parameters = [basis.parameters(node, batch, i, status == "ok")
                      for i, (node, status) in enumerate(zip(nodes, statuses))]
        return self._results(nodes, statuses, laws, parameters)

    @np.errstate(all="ignore")
    def ratios(self, nodes: Sequence[int], parameters: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
        """The judged conservation ratio of each formula at given parameter values, with its
        standard error."""
        parameters = [[float(p) for p in params] for params in parameters]
        statuses, values, _ = self._judge_single(list(nodes), parameters)
        ratios, errors = self.full.judge(values, [status == "ok" for status in statuses])
        self.full.evaluator.forget()
        return [(float(ratio), float(error)) for ratio, error in zip(ratios, errors)]
