"""The grids of nonlinear parameter values a fit searches: a coarse grid, then zoomed ones.

Each parameter gets magnitudes ``10**-2 .. 10**2`` times its natural scale, both signs
(``COARSE_POINTS`` magnitudes for one or two parameters, 5 for more); the grid is their product,
or ``MAX_RANDOM_GRID`` of its points drawn with a fixed seed when the product is larger. A zoom
round puts ``ZOOM_POINTS`` per parameter on a log-magnitude interval around the best point, the
interval ``ZOOM_SHRINK`` times narrower each round.

Grids are built for F formulas with n parameters at once, as per-parameter axes (F, n, A);
points are numbered in ``itertools.product`` order and their values are those of the
product's rows. A product grid hands each parameter to the evaluator on its own axis
(``parameters``), so that a sub-formula is evaluated only on the axes of its own parameters.
"""
from __future__ import annotations

from itertools import product
from typing import Callable, Optional, Sequence

import numpy as np

from conslaw.dsl.grammar import NodeTable

COARSE_POINTS = {1: 17, 2: 9}
MAX_RANDOM_GRID = 400
ZOOM_ROUNDS = 4
ZOOM_POINTS = 5
ZOOM_SHRINK = 2.5
ZOOM_CENTRE = ZOOM_POINTS // 2


def coarse_step(parameters: int) -> float:
    """Decades between neighbouring magnitudes of the coarse grid."""
    return 4.0 / (COARSE_POINTS.get(parameters, 5) - 1)


def search_points(parameters: int) -> int:
    """How many points a fit of ``parameters`` nonlinear parameters evaluates: its coarse grid
    (whole, before any mirrored half is left out) and its zoom rounds; 1 without any."""
    if parameters == 0:
        return 1
    coarse = min((2 * COARSE_POINTS.get(parameters, 5)) ** parameters, MAX_RANDOM_GRID)
    return coarse + ZOOM_ROUNDS * (ZOOM_POINTS ** parameters - 1)


def coarse_axes(scales: np.ndarray) -> np.ndarray:
    """Per-parameter values (F, n, A) of the coarse grids around natural ``scales`` (F, n)."""
    magnitudes = np.logspace(-2, 2, COARSE_POINTS.get(scales.shape[1], 5))
    return np.concatenate([-magnitudes[::-1], magnitudes]) * scales[:, :, None]


def coarse_subset(parameters: int) -> Optional[np.ndarray]:
    """Axis indices (G, n) of the coarse grid's points when it is not the whole product."""
    count = 2 * COARSE_POINTS.get(parameters, 5)
    if count ** parameters <= MAX_RANDOM_GRID:
        return None
    index = np.array(list(product(range(count), repeat=parameters)))
    keep = np.random.default_rng(0).choice(len(index), MAX_RANDOM_GRID, replace=False)
    return index[np.sort(keep)]


def zoom_axes(best: np.ndarray, half_width: float) -> np.ndarray:
    """``ZOOM_POINTS`` magnitudes per parameter (F, n, 5) within ``half_width`` decades of
    ``best`` (F, n); the centre of each axis is ``best`` itself."""
    offsets = np.linspace(-half_width, half_width, ZOOM_POINTS)
    return np.sign(best)[:, :, None] * np.abs(best)[:, :, None] * 10.0 ** offsets


def zoom_centre(parameters: int) -> int:
    """The index of the zoom grid's centre point (the previous best)."""
    return int(np.ravel_multi_index((ZOOM_CENTRE,) * parameters, (ZOOM_POINTS,) * parameters))


def parameters(axes: Sequence[np.ndarray], subset: Optional[np.ndarray] = None) -> list[np.ndarray]:
    """One formula's parameter values (axes (n, A), or n axes of any lengths) shaped for
    ``GridEvaluator``: each on its own axis of a product grid, values (A0, .., An-1, N); or the
    ``subset``'s points, values (G, N)."""
    n = len(axes)
    if subset is not None:
        return [axes[i, subset[:, i]][:, None] for i in range(n)]
    return [axes[i].reshape((-1,) + (1,) * (n - i)) for i in range(n)]


def points(axes: np.ndarray, index: np.ndarray, subset: Optional[np.ndarray] = None) -> np.ndarray:
    """The parameter values (F, n) of point ``index`` (F,) of each formula's grid."""
    n = axes.shape[1]
    position = subset[index] if subset is not None else \
        np.stack(np.unravel_index(index, (axes.shape[2],) * n), axis=-1)
    return axes[np.arange(len(axes))[:, None], np.arange(n), position]


def mirrored_rows(table: NodeTable, node: int, axes: np.ndarray,
                  evaluate: Callable[[list], np.ndarray]) -> tuple[np.ndarray, Callable]:
    """The rows of one formula's values (G', N) on a product grid (axes (n, A), its parameters in
    DFS order) whose ratios must be computed, and the function giving all G ratios from theirs;
    ``evaluate(axes)`` gives the formula's values on the product of the per-parameter ``axes``.

    Left out: the negative half of every axis on which the grid is symmetric (``axis[::-1] ==
    -axis``, as the coarse grid's) and the formula even or odd in that parameter
    (``NodeTable.parity``: ``cos(c*p)``, ``sin(c*p)``, ``c/p``): the values at -c are those at c
    or their negatives, so their ratios are bitwise equal, and the first of ties is the point it
    would be were all computed. When no single parameter is, half of the points if the formula
    is even or odd in all of them at once (``sin(c0 + c1*q)``): the point-reflected ones, which in
    product order are the negative half of the first axis. The halves left out are not even
    evaluated (each value is computed elementwise, so the kept ones are bitwise those of the
    whole grid).
    """
    count, n = axes.shape[1], len(axes)
    symmetric = [count % 2 == 0 and np.array_equal(axis[::-1], -axis) for axis in axes]
    mirrored = [i for i in range(n) if symmetric[i] and table.parity(node, [j == i for j in range(n)])]
    joint = not mirrored and n > 1 and all(symmetric) and table.parity(node, [True] * n) != 0
    halved = [0] if joint else mirrored
    values = evaluate([axis[count // 2:] if i in halved else axis for i, axis in enumerate(axes)])
    reduced = tuple(count // 2 if i in halved else count for i in range(n))

    def expand(ratios: np.ndarray) -> np.ndarray:
        if joint:
            return np.concatenate([ratios[::-1], ratios])
        ratios = ratios.reshape(reduced)
        for axis in reversed(mirrored):
            ratios = np.concatenate([np.flip(ratios, axis=axis), ratios], axis=axis)
        return ratios.reshape(-1)

    return values, expand
