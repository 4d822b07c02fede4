"""``symmetry_flows.png``: the infinitesimal symmetry each law generates, as arrows on planes.

With canonical pairs (``--canonical``), a law G generates ``δq = ∂G/∂p, δp = -∂G/∂q``
(``conslaw.discovery.symmetry``: ``flow_on_plane``; the words are ``describe_symmetry``'s, stored
in the result). One row per law, one panel per plane of the first two pairs and, with two or more
pairs, the plane of the first two coordinates; the other columns sit at their median. Drawn in
coherent SI, the units the laws' generators are computed in.
"""
from __future__ import annotations

import textwrap
from typing import Any, Mapping

import numpy as np

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.symmetry import flow_on_plane
from conslaw.report.figures import MAX_LAWS, grid, new_figure, png, title

MAX_TRAJECTORIES = 6


def _planes(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return pairs[:2] + ([(pairs[0][0], pairs[1][0])] if len(pairs) > 1 else [])


def symmetry_flows(symmetries: Mapping[str, Any], dataset: TrajectoryDataset) -> dict[str, bytes]:
    """The figure, or nothing when the run has no generator."""
    generators = list((symmetries.get("generators") or {}).items())[:MAX_LAWS]
    pairs = [tuple(pair) for pair in symmetries.get("pairs") or []]
    if not generators or not pairs:
        return {}
    planes = _planes(pairs)
    columns = list(dataset.columns)
    states = np.concatenate([t.x for t in dataset.train + dataset.test])
    median = dict(zip(columns, np.median(states, axis=0)))
    units = {c: str(d) for c, d in zip(columns, dataset.dimensions)}
    figure = new_figure(3.6 * len(planes), 3.4 * len(generators))
    axes = grid(figure, len(generators), len(planes))
    for row, (name, entry) in enumerate(generators):
        kind = str(entry.get("description", "")).split(":")[0]
        for panel, plane in enumerate(planes):
            a, b = (columns.index(c) for c in plane)
            extent = 1.1 * float(np.max(np.abs(states[:, [a, b]]))) or 1.5
            U, V, dU, dV = flow_on_plane(entry["law"], pairs, plane, median, extent)
            axis = axes[row, panel]
            for trajectory in dataset.test[:MAX_TRAJECTORIES]:
                axis.plot(trajectory.x[:, a], trajectory.x[:, b], color="0.75", linewidth=0.8)
            if np.any(np.hypot(dU, dV) > 0):
                axis.quiver(U, V, dU, dV, angles="xy", color="tab:blue")
            else:
                axis.text(0.5, 0.5, "no motion in this plane", transform=axis.transAxes, ha="center", fontsize=8)
            axis.set_xlabel(f"{plane[0]} [{units[plane[0]]}]")
            axis.set_ylabel(f"{plane[1]} [{units[plane[1]]}]")
            axis.set_aspect("equal", adjustable="datalim")
            axis.set_title(textwrap.fill(f"{name}: {kind}", 40), fontsize=8)
    title(figure, f"{dataset.name}: the symmetry each law G generates (δq = ∂G/∂p, δp = −∂G/∂q); "
                    "grey: test trajectories")
    return {"symmetry_flows.png": png(figure)}
