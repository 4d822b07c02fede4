"""Phase portraits: the trajectories in a plane of two columns, with each law's level sets.

The planes: with ``--canonical`` pairs, each pair's (coordinate, momentum) plane. Otherwise
they are chosen from the data, with no assumption of (q, p) pairs: for each law drawn, the two
columns it depends on most (the mean of ``|dg/dx_j| * std(x_j)`` over the data); without a law,
the two columns that move most along the trajectories. The other columns sit at their median,
and the figure's note says so.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.symmetry import parse_canonical_pairs
from conslaw.dsl.expressions import gradient_function
from conslaw.law import Law
from conslaw.report.figures import (
    all_states, column_label, declared, grid, law_label, new_figure, png, ranked_columns, shown_laws, time_label, title,
)

MAX_PLANES = 3
MAX_TRAJECTORIES = {"train": 60, "test": 30}
GRID_POINTS = 160
LEVELS = 14


def dependence(law: Law, states: np.ndarray) -> np.ndarray:
    """How much the law changes with each column over the data: mean ``|dg/dx_j| * std(x_j)``."""
    gradients = gradient_function(law.sympy("declared"), law.columns.names)(states)
    scaled = np.abs(gradients) * np.std(states, axis=0)
    return np.nan_to_num(np.nanmean(np.where(np.isfinite(scaled), scaled, np.nan), axis=0))


def choose_planes(dataset: TrajectoryDataset, laws: Sequence[Law], canonical: Optional[str] = None
                  ) -> tuple[list[tuple[int, int]], str]:
    """The planes to draw (column index pairs) and how they were chosen."""
    columns = list(dataset.columns)
    if len(columns) < 2:
        return [], "one column"
    if canonical:
        pairs = parse_canonical_pairs(canonical, columns)
        return [(columns.index(q), columns.index(p)) for q, p in pairs][:MAX_PLANES], "the --canonical pairs"
    moving = ranked_columns(dataset)
    states = all_states(dataset)
    planes: list[tuple[int, int]] = []
    for law in laws:
        weight = dependence(law, states)
        first = int(np.argmax(weight))
        rest = [j for j in np.argsort(-weight, kind="stable") if j != first and weight[j] > 0]
        second = int(rest[0]) if rest else next(j for j in moving if j != first)
        plane = tuple(sorted((first, second)))
        if plane not in planes:
            planes.append(plane)
    if planes:
        return planes[:MAX_PLANES], "for each law, the two columns it depends on most"
    return [tuple(sorted(moving[:2]))], "the two columns that move most along the trajectories"


def _draw_data(axis, dataset: TrajectoryDataset, a: int, b: Optional[int]) -> None:
    """Training trajectories in grey, test ones in black; ``b`` None: column ``a`` against time."""
    for split, colour, width in (("train", "0.65", 0.8), ("test", "black", 1.0)):
        for k, trajectory in enumerate(getattr(dataset, split)[: MAX_TRAJECTORIES[split]]):
            t, x = declared(dataset, trajectory)
            axis.plot(t if b is None else x[:, a], x[:, a] if b is None else x[:, b], color=colour,
                      linewidth=width, label=f"{split} trajectories" if k == 0 else None)


def _draw_levels(figure, axis, law: Law, plane: np.ndarray, mesh: Sequence[np.ndarray]) -> None:
    values = law.numpy("declared")(plane)
    finite = values[np.isfinite(values)]
    levels = np.unique(np.quantile(finite, np.linspace(0.02, 0.98, LEVELS))) if finite.size else []
    if len(levels) < 2:
        axis.text(0.5, 0.5, "the law is constant on this plane", transform=axis.transAxes, ha="center",
                  va="center", fontsize=9, color="0.3")
        return
    contours = axis.contour(*mesh, values, levels=levels, cmap="viridis", linewidths=1.2)
    figure.colorbar(contours, ax=axis).set_label(f"law value [{law.unit_text('declared')}]")


def _portrait(dataset: TrajectoryDataset, laws: Sequence[Law], a: int, b: int, how: str) -> bytes:
    columns = list(dataset.columns)
    states = all_states(dataset)
    panels = max(len(laws), 1)
    figure = new_figure(5.2 * panels, 4.8)
    axes = grid(figure, 1, panels)[0]
    pads = [0.05 * (np.ptp(states[:, j]) or 1.0) for j in (a, b)]
    mesh = np.meshgrid(*[np.linspace(states[:, j].min() - pad, states[:, j].max() + pad, GRID_POINTS)
                         for j, pad in zip((a, b), pads)])
    plane = np.broadcast_to(np.median(states, axis=0), mesh[0].shape + (len(columns),)).copy()
    plane[..., a], plane[..., b] = mesh
    for panel, axis in enumerate(axes):
        _draw_data(axis, dataset, a, b)
        if laws:
            _draw_levels(figure, axis, laws[panel], plane, mesh)
            axis.set_title(f"{law_label(laws[panel])}\ncoloured lines: its level sets", fontsize=10)
        axis.set_xlabel(column_label(dataset, a))
        axis.set_ylabel(column_label(dataset, b))
        axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    others = [c for j, c in enumerate(columns) if j not in (a, b)]
    note = ("the data only: no law was accepted" if not laws else
            f"level sets with {', '.join(others)} at their median: the trajectories move in those columns too"
            if others else "a conserved law's level sets run along the trajectories")
    title(figure, f"{dataset.name}: {columns[a]}–{columns[b]} (plane: {how})\n{note}")
    return png(figure)


def _single_column(dataset: TrajectoryDataset) -> bytes:
    figure = new_figure(6.5, 4.2)
    axis = figure.subplots()
    _draw_data(axis, dataset, 0, None)
    axis.set_xlabel(time_label(dataset))
    axis.set_ylabel(column_label(dataset, 0))
    axis.legend(fontsize=8)
    title(figure, f"{dataset.name}: one column, its values against time")
    return png(figure)


def phase_portraits(dataset: TrajectoryDataset, laws: Sequence[Law], canonical: Optional[str] = None
                    ) -> dict[str, bytes]:
    """``phase_<a>_<b>.png`` per plane (``phase_<column>.png`` for one column)."""
    if dataset.n_state == 1:
        return {f"phase_{dataset.columns[0]}.png": _single_column(dataset)}
    drawn = shown_laws(laws)
    planes, how = choose_planes(dataset, drawn, canonical)
    return {f"phase_{dataset.columns[a]}_{dataset.columns[b]}.png": _portrait(dataset, drawn, a, b, how)
            for a, b in planes}
