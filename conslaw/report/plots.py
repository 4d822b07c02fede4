"""A run's figures (PNG in ``<run>/plots/``, each written atomically):

- ``phase_<a>_<b>.png``: the trajectories and each law's level sets (``portraits``);
- ``laws_along_test.png``: each independent law along the test trajectories (flat = conserved);
- ``rollouts.png``: each method's test rollouts against the truth (when there are rollouts);
- ``conservation_ratio.png``: each candidate's training, held-out and control ratios against
  the acceptance threshold;
- ``symmetry_flows.png``: the flow each law generates (when the run has symmetries).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

from conslaw.datasets.types import TrajectoryDataset
from conslaw.errors import ConslawError
from conslaw.law import Law
from conslaw.report.atomic import atomic_save_bytes
from conslaw.report.figures import (
    all_states, column_label, declared, grid, law_label, method_style, new_figure, png, ranked_columns, shown_laws,
    time_label, title,
)
from conslaw.report.portraits import phase_portraits
from conslaw.report.printing import law_text
from conslaw.report.records import Source, dataset_label, resolve, threshold
from conslaw.report.rundir import PLOTS_DIR
from conslaw.report.symmetry_plots import symmetry_flows
from conslaw.report.table1 import METHOD_LABELS

MAX_TEST_TRAJECTORIES = 8
MAX_ROLLOUT_TRAJECTORIES = 3
MAX_ROLLOUT_COLUMNS = 4
MAX_RATIO_CANDIDATES = 15
SPREAD_SAMPLES = 4096


def _spread(law: Callable[[np.ndarray], np.ndarray], states: np.ndarray, seed: int = 0) -> float:
    """The law's spread over states drawn uniformly in the data's bounding box: the interquartile
    range / 1.349 (the std of a normal distribution; not inflated by a pole inside the box)."""
    samples = np.random.default_rng(seed).uniform(states.min(axis=0), states.max(axis=0),
                                                  size=(SPREAD_SAMPLES, states.shape[1]))
    values = law(samples)
    values = values[np.isfinite(values)]
    if not values.size:
        return 1.0
    upper, lower = np.percentile(values, [75, 25])
    return float((upper - lower) / 1.349) or 1.0


def laws_along_test(dataset: TrajectoryDataset, laws: Sequence[Law]) -> dict[str, bytes]:
    """Each law minus its median on the trajectory, over its spread, along the test trajectories."""
    drawn, trajectories = shown_laws(laws), dataset.test[:MAX_TEST_TRAJECTORIES]
    if not drawn or not trajectories:
        return {}
    states = all_states(dataset)
    contrast = ranked_columns(dataset, 1)[0]
    figure = new_figure(8.5, 2.9 * len(drawn))
    for axis, law in zip(grid(figure, len(drawn), 1)[:, 0], drawn):
        g = law.numpy("declared")
        spread, curves = _spread(g, states), []
        for k, trajectory in enumerate(trajectories):
            t, x = declared(dataset, trajectory)
            values = g(x)
            curves.append((values - np.nanmedian(values)) / spread)
            axis.plot(t, curves[-1], linewidth=1.2, label=f"test trajectory {k + 1}")
        t, x = declared(dataset, trajectories[0])
        axis.plot(t, (x[:, contrast] - np.median(x[:, contrast])) / (np.std(states[:, contrast]) or 1.0),
                  color="0.6", linestyle="--", linewidth=1.0,
                  label=f"for contrast: {dataset.columns[contrast]} on trajectory 1")
        everything = np.concatenate(curves)
        finite = everything[np.isfinite(everything)]
        limit = max(1.2, 1.1 * float(np.abs(np.percentile(finite, [1, 99])).max())) if finite.size else 1.2
        axis.set_ylim(-limit, limit)
        clipped = int(np.sum(np.abs(finite) > limit)) + int(everything.size - finite.size)
        largest = float(np.abs(finite).max()) if finite.size else float("nan")
        note = f"; {clipped} point(s) off the axis" if clipped else ""
        axis.set_title(f"{law_label(law)}   (largest deviation {largest:.2g} × spread{note})", fontsize=10)
        axis.set_xlabel(time_label(dataset))
        axis.set_ylabel("(law − its median on\nthe trajectory) / spread")
        axis.axhline(0.0, color="black", linewidth=0.6)
        axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    title(figure, f"{dataset.name}: the laws along the test trajectories (a flat line = conserved)\n"
                    "spread = robust std of the law over the data's range; dashed grey: the column that "
                    "moves most, scaled alike")
    return {"laws_along_test.png": png(figure)}


def _rollout_arrays(dataset: TrajectoryDataset, rollouts: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The rollouts in the declared units, truth first, methods in Table 1's order."""
    methods = [m for m in ("truth", *METHOD_LABELS) if m in rollouts]
    methods += sorted(set(rollouts) - set(methods) - {"times"})
    arrays = {}
    for method in methods:
        array = np.asarray(rollouts[method], dtype=float)
        if array.ndim != 3 or array.shape[2] != dataset.n_state:
            raise ConslawError(f"rollouts[{method!r}] has shape {array.shape}; expected (trajectories, "
                               f"times, {dataset.n_state})")
        arrays[method] = dataset.declared(array)
    return arrays


def rollout_figure(dataset: TrajectoryDataset, laws: Sequence[Law], rollouts: Mapping[str, Any]) -> dict[str, bytes]:
    """Up to 3 test trajectories: the columns that move most, and the first law, against time."""
    if "times" not in rollouts:
        raise ConslawError("the rollouts have no 'times' array")
    arrays = _rollout_arrays(dataset, rollouts)
    times = np.asarray(rollouts["times"], dtype=float) / dataset.time_to_si
    rows = min(MAX_ROLLOUT_TRAJECTORIES, *(a.shape[0] for a in arrays.values()))
    columns, law = ranked_columns(dataset, MAX_ROLLOUT_COLUMNS), (shown_laws(laws) or [None])[0]
    g = law.numpy("declared") if law is not None else None
    panels = len(columns) + (law is not None)
    figure = new_figure(4.2 * panels, 2.8 * rows)
    axes = grid(figure, rows, panels)
    for row in range(rows):
        t = times[row] if times.ndim == 2 else times
        for panel, axis in enumerate(axes[row]):
            for method, array in arrays.items():
                y = array[row][:, columns[panel]] if panel < len(columns) else g(array[row])
                axis.plot(t[: len(y)], y, **method_style(method))
            if panel < len(columns):
                axis.set_ylabel(column_label(dataset, columns[panel]))
                axis.set_title(f"test trajectory {row + 1}: {dataset.columns[columns[panel]]}", fontsize=10)
            else:
                axis.set_ylabel(f"law #{law.rank} [{law.unit_text('declared')}]")
                axis.set_title(f"test trajectory {row + 1}: {law_label(law)}", fontsize=10)
            axis.set_xlabel(time_label(dataset))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=9,
                  bbox_to_anchor=(0.5, -0.04))
    hidden = dataset.n_state - len(columns)
    note = f" ({hidden} columns that move less not shown)" if hidden > 0 else ""
    title(figure, f"{dataset.name}: rollouts from each test trajectory's initial state{note}")
    return {"rollouts.png": png(figure)}


def conservation_ratios(result: Mapping[str, Any], laws: Sequence[Law]) -> dict[str, bytes]:
    """Each of the best candidates' ratios (training, held-out, control) on a log axis, with its
    acceptance threshold min(control, 1) / threshold."""
    shown = [law for law in sorted(laws, key=lambda law: law.rank)[:MAX_RATIO_CANDIDATES]
             if np.isfinite(law.evidence.ratio)]
    if not shown:
        return {}
    factor = threshold(result)
    series = {"training": [law.evidence.ratio for law in shown],
              "held-out (training fit)": [law.evidence.ratio_test for law in shown],
              "control (refitted on surrogate data)": [law.evidence.ratio_control for law in shown]}
    marks = [min(law.evidence.ratio_control, 1.0) / factor if law.evidence.ratio_control is not None else None
             for law in shown]
    positive = [v for values in [*series.values(), marks] for v in values if v is not None and v > 0]
    floor = min(positive) / 10 if positive else 1e-16
    height = 0.45 * len(shown) + 2.4
    figure = new_figure(10, height)
    axis = figure.subplots()
    positions = np.arange(len(shown))[::-1]
    for (name, values), marker, colour in zip(series.items(), "o^s", ("tab:blue", "navy", "tab:orange")):
        points = [(max(v, floor), p) for v, p in zip(values, positions) if v is not None and np.isfinite(v)]
        if points:
            axis.scatter(*zip(*points), marker=marker, s=36, color=colour, zorder=3, label=name)
    bars = [(m, p) for m, p in zip(marks, positions) if m is not None]
    for k, (mark, position) in enumerate(bars):
        axis.plot([mark] * 2, [position - 0.4, position + 0.4], color="black", linewidth=2,
                  label=f"acceptance threshold: min(control, 1) / {factor:g}" if k == 0 else None)
    axis.set_xscale("log")
    axis.set_xlim(left=floor / 2)
    axis.set_yticks(positions)
    axis.set_yticklabels([f"#{law.rank} {law_text(law, 'declared', 4)[:40]}  "
                          f"{'accepted' if law.accepted else 'rejected'}" for law in shown], fontsize=8)
    axis.set_xlabel("conservation ratio (smooth within-segment variation over the null's; lower = better conserved)")
    axis.set_title(f"{dataset_label(result)}: the {len(shown)} best candidates; accepted when the training and "
                   "held-out ratios\nlie left of the black mark (a ratio of exactly 0 is drawn at the axis floor)",
                   fontsize=10)
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0 + 0.9 / height), ncol=2, fontsize=8)
    return {"conservation_ratio.png": png(figure)}


def render_plots(result: Mapping[str, Any], laws: Sequence[Law], dataset: TrajectoryDataset,
                 rollouts: Optional[Mapping[str, Any]] = None) -> dict[str, bytes]:
    """Every figure of the run as ``{file name: PNG bytes}``."""
    canonical = ((result.get("config") or {}).get("run") or {}).get("canonical")
    figures = phase_portraits(dataset, laws, canonical)
    figures.update(laws_along_test(dataset, laws))
    if rollouts:
        figures.update(rollout_figure(dataset, laws, rollouts))
    figures.update(conservation_ratios(result, laws))
    if result.get("symmetries"):
        figures.update(symmetry_flows(result["symmetries"], dataset))
    return figures


def make_plots(run_dir: Union[str, "os.PathLike[str]"], source: Source, dataset: TrajectoryDataset,
               rollouts: Optional[Mapping[str, Any]] = None) -> list[Path]:
    """Draw every figure of a search (or result dict) into ``<run_dir>/plots/``; the paths written."""
    result, laws = resolve(source)
    figures = render_plots(result, laws, dataset, rollouts)
    directory = Path(os.fspath(run_dir)) / PLOTS_DIR
    return [atomic_save_bytes(directory / name, data) for name, data in figures.items()]
