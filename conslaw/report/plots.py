"""The run's figures (matplotlib, Agg backend, PNG in ``<run>/plots/``).

- ``phase_<a>_<b>.png``: the data in each canonical (coordinate, momentum) plane with the level
  sets of every independent law (other coordinates at their median);
- ``laws_along_test.png``: each law along the test trajectories, normalised so flat = conserved;
- ``rollouts.png``: model rollouts (vanilla, Noether, oracle) against the truth (when given);
- ``conservation_ratio.png``: conservation ratio on true vs random data for the top candidates.
"""
from __future__ import annotations

import io
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import sympy  # noqa: E402
from matplotlib.mathtext import MathTextParser  # noqa: E402

from conslaw.datasets.types import TrajectoryDataset  # noqa: E402
from conslaw.dsl.units import Dimension, format_unit  # noqa: E402
from conslaw.report.export import (  # noqa: E402
    column_symbols,
    latex_column,
    latex_law,
    latex_unit_text,
    law_expression,
)
from conslaw.report.rundir import PLOTS_DIR, atomic_save_bytes  # noqa: E402

#: Dimension of action (kg m^2/s): a coordinate times its conjugate momentum has it (angles ignored).
ACTION = Dimension.of(mass=1, length=2, time=-1)
_ANGLE_MASK = tuple(e != 0 for e in Dimension.of(angle=1).exponents)
MAX_LAW_PANELS = 4
MAX_TEST_TRAJECTORIES = 8
MAX_PHASE_TRAJECTORIES = {"train": 60, "test": 30}
MAX_ROLLOUT_TRAJECTORIES = 3
MAX_RATIO_CANDIDATES = 15
DEFAULT_ACCEPTANCE_FACTOR = 100.0
GRID_POINTS = 200
SPREAD_SAMPLES = 4096
DPI = 110
TITLE_LAW_CHARACTERS = 60
_MATHTEXT = MathTextParser("path")

METHOD_STYLES = {
    "truth": dict(color="black", linewidth=2.2, label="truth"),
    "vanilla": dict(color="tab:red", linewidth=1.3, label="vanilla MLP"),
    "finetune": dict(color="tab:orange", linewidth=1.3, linestyle=":", label="fine-tuning control"),
    "tailored": dict(color="tab:purple", linewidth=1.3, linestyle="-.", label="tailored (selected law)"),
    "noether": dict(color="tab:blue", linewidth=1.5, label="Noether (meta-tailored)"),
    "oracle": dict(color="tab:green", linewidth=1.3, linestyle="--", label="oracle (true law)"),
    "hnn": dict(color="tab:brown", linewidth=1.3, linestyle=(0, (1, 1)), label="HNN"),
}


def _numpy_law(candidate: Mapping[str, Any], columns: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """``g(x)`` over ``(..., d)`` arrays from a candidate's expression."""
    symbols = column_symbols(columns)
    function = sympy.lambdify([symbols[c] for c in columns], law_expression(candidate, columns), modules="numpy")

    def evaluate(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            values = function(*np.moveaxis(x, -1, 0))
        return np.broadcast_to(np.asarray(values, dtype=float), x.shape[:-1])

    return evaluate


def canonical_pairs(dataset: TrajectoryDataset) -> list[tuple[int, int]]:
    """Column pairs whose dimensions multiply to an action (q, p), each column used once; the
    first two columns when there is none."""
    dims = [Dimension(tuple(Fraction(0) if angle else e for e, angle in zip(d.exponents, _ANGLE_MASK)))
            for d in dataset.dimensions]
    pairs, used = [], set()
    for i in range(len(dims)):
        for j in range(i + 1, len(dims)):
            if i not in used and j not in used and dims[i] * dims[j] == ACTION:
                pairs.append((i, j))
                used |= {i, j}
    if not pairs and len(dims) >= 2:
        pairs = [(0, 1)]
    return pairs


def _independent_laws(result: Mapping[str, Any]) -> list[dict]:
    by_rank = {c["rank"]: c for c in result.get("candidates") or []}
    laws = [by_rank[r] for r in result.get("laws") or [] if r in by_rank]
    return laws[:MAX_LAW_PANELS]


def _math_or_text(latex: str, plain: str) -> str:
    """``$latex$`` when matplotlib's mathtext can typeset it, else the plain text."""
    try:
        _MATHTEXT.parse(f"${latex}$")
    except Exception:  # mathtext raises ValueError or pyparsing errors on unsupported commands
        return plain
    return f"${latex}$"


def _unit_label(unit: Optional[str]) -> str:
    if not unit:
        return "?"
    return "dimensionless" if unit == "1" else _math_or_text(latex_unit_text(unit), unit)


def _axis_label(dataset: TrajectoryDataset, index: int) -> str:
    name = dataset.columns[index]
    unit = format_unit(dataset.dimensions[index])
    return f"{_math_or_text(latex_column(name), name)} [{_unit_label(unit)}]"


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _law_text(law: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The law typeset (4 significant digits), or shortened plain text when too long for a title."""
    plain = str(law["expression"])
    if len(plain) > TITLE_LAW_CHARACTERS:
        return _short(plain, TITLE_LAW_CHARACTERS)
    return _math_or_text(latex_law(law, columns, digits=4), plain)


def _law_label(law: Mapping[str, Any], columns: Sequence[str]) -> str:
    return f"law #{law['rank']}: {_law_text(law, columns)}"


def _save(figure: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return atomic_save_bytes(path, buffer.getvalue())


def _spread(law: Callable[[np.ndarray], np.ndarray], states: np.ndarray, seed: int = 0) -> float:
    """The law's spread over states drawn uniformly in the data's bounding box (meaningful even when
    every trajectory has the same value): the interquartile range / 1.349, which equals the std for
    a normal distribution and is not inflated by a pole inside the box."""
    rng = np.random.default_rng(seed)
    low, high = states.min(axis=0), states.max(axis=0)
    samples = rng.uniform(low, high, size=(SPREAD_SAMPLES, states.shape[1]))
    values = law(samples)
    values = values[np.isfinite(values)]
    if not values.size:
        return float("nan")
    upper, lower = np.percentile(values, [75, 25])
    return float((upper - lower) / 1.349)


def plot_phase_portraits(plots_dir: Path, result: Mapping[str, Any], dataset: TrajectoryDataset) -> list[Path]:
    """One figure per canonical pair: data as lines, each independent law's level sets as contours."""
    columns = list(dataset.columns)
    laws = _independent_laws(result)
    states = np.concatenate([dataset.stacked("train"), dataset.stacked("test")])
    median = np.median(states, axis=0)
    paths = []
    for a, b in canonical_pairs(dataset):
        panels = max(len(laws), 1)
        figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.6), squeeze=False)
        pad_a = 0.05 * (np.ptp(states[:, a]) or 1.0)
        pad_b = 0.05 * (np.ptp(states[:, b]) or 1.0)
        grid_a = np.linspace(states[:, a].min() - pad_a, states[:, a].max() + pad_a, GRID_POINTS)
        grid_b = np.linspace(states[:, b].min() - pad_b, states[:, b].max() + pad_b, GRID_POINTS)
        mesh_a, mesh_b = np.meshgrid(grid_a, grid_b)
        grid = np.broadcast_to(median, mesh_a.shape + (len(columns),)).copy()
        grid[..., a], grid[..., b] = mesh_a, mesh_b
        for panel, axis in enumerate(axes[0]):
            for k, trajectory in enumerate(dataset.train[: MAX_PHASE_TRAJECTORIES["train"]]):
                axis.plot(trajectory.x[:, a], trajectory.x[:, b], color="0.65", linewidth=0.8,
                          label="training trajectories" if k == 0 else None)
            for k, trajectory in enumerate(dataset.test[: MAX_PHASE_TRAJECTORIES["test"]]):
                axis.plot(trajectory.x[:, a], trajectory.x[:, b], color="black", linewidth=1.0,
                          label="test trajectories" if k == 0 else None)
            if laws:
                law = laws[panel]
                values = _numpy_law(law, columns)(grid)
                finite = values[np.isfinite(values)]
                levels = np.unique(np.quantile(finite, np.linspace(0.02, 0.98, 14))) if finite.size else []
                if len(levels) < 2:  # the law does not vary on this plane (it lives on another pair)
                    axis.text(0.5, 0.5, "law constant on this plane", transform=axis.transAxes,
                              ha="center", va="center", fontsize=9, color="0.3")
                else:
                    contours = axis.contour(mesh_a, mesh_b, values, levels=levels, cmap="viridis",
                                            linewidths=1.2)
                    colorbar = figure.colorbar(contours, ax=axis)
                    colorbar.set_label(f"law value [{_unit_label(law.get('unit'))}]")
                axis.set_title(f"{_law_label(law, columns)}\ncoloured lines: its level sets", fontsize=10)
            else:
                axis.set_title("no independent law to overlay", fontsize=10)
            axis.set_xlabel(_axis_label(dataset, a))
            axis.set_ylabel(_axis_label(dataset, b))
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
        others = [c for i, c in enumerate(columns) if i not in (a, b)]
        if not laws:
            note = "the data only: the run accepted no independent law"
        elif others:
            note = (f"level sets drawn with {', '.join(others)} fixed at their median, so the "
                    "trajectories (which move in those coordinates too) need not follow them")
        else:
            note = "the trajectories of a conserved law run along its level sets"
        figure.suptitle(f"{dataset.name}: phase portrait {columns[a]}–{columns[b]}\n{note}", fontsize=11)
        figure.tight_layout()
        paths.append(_save(figure, plots_dir / f"phase_{columns[a]}_{columns[b]}.png"))
    return paths


def plot_laws_along_test(plots_dir: Path, result: Mapping[str, Any], dataset: TrajectoryDataset) -> list[Path]:
    """Each independent law along the test trajectories, minus its median on the trajectory, over
    its spread. The y axis spans at least ±1 spread (so a conserved law looks flat, not noisy) and at
    most the 1-99 % range of the values (a pole's spike is cut off and counted in the title)."""
    laws = _independent_laws(result)
    if not laws or not dataset.test:
        return []
    columns = list(dataset.columns)
    states = np.concatenate([dataset.stacked("train"), dataset.stacked("test")])
    trajectories = dataset.test[:MAX_TEST_TRAJECTORIES]
    figure, axes = plt.subplots(len(laws), 1, figsize=(8.5, 2.9 * len(laws)), squeeze=False)
    contrast = columns[0]
    contrast_spread = float(np.std(states[:, 0])) or 1.0
    for axis, law in zip(axes[:, 0], laws):
        g = _numpy_law(law, columns)
        spread = _spread(g, states) or 1.0
        curves = []
        for k, trajectory in enumerate(trajectories):
            values = g(trajectory.x)
            curves.append((values - np.nanmedian(values)) / spread)
            axis.plot(trajectory.t, curves[-1], linewidth=1.2, label=f"test trajectory {k + 1}")
        first = trajectories[0]
        axis.plot(first.t, (first.x[:, 0] - np.median(first.x[:, 0])) / contrast_spread, color="0.6",
                  linestyle="--", linewidth=1.0, label=f"for contrast: {contrast} on trajectory 1")
        everything = np.concatenate(curves)
        finite = everything[np.isfinite(everything)]
        largest = float(np.abs(finite).max()) if finite.size else float("nan")
        limit = 1.2
        if finite.size:
            limit = max(limit, 1.1 * float(np.abs(np.percentile(finite, [1, 99])).max()))
        axis.set_ylim(-limit, limit)
        clipped = int(np.sum(np.abs(finite) > limit)) + int(everything.size - finite.size)
        note = f"; {clipped} point{'s' if clipped > 1 else ''} off the axis" if clipped else ""
        axis.set_title(f"{_law_label(law, columns)}   (largest deviation: {largest:.2g} × spread{note})",
                       fontsize=10)
        axis.set_xlabel("time t [s]")
        axis.set_ylabel("(law − its median on\nthe trajectory) / spread")
        axis.axhline(0.0, color="black", linewidth=0.6)
        axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    figure.suptitle(f"{dataset.name}: discovered laws along the test trajectories (a flat line = conserved)\n"
                    "spread = robust std of the law over the data's range; the dashed grey line is a "
                    "coordinate scaled the same way", fontsize=10)
    figure.tight_layout()
    return [_save(figure, plots_dir / "laws_along_test.png")]


def plot_rollouts(plots_dir: Path, result: Mapping[str, Any], dataset: TrajectoryDataset,
                  rollouts: Mapping[str, Any]) -> list[Path]:
    """Rollouts of each method against the truth, per coordinate (and the top law) vs time.

    ``rollouts``: ``"times"`` ``(time,)`` or ``(traj, time)``, ``"truth"`` and one array per method,
    each ``(traj, time, d)``.
    """
    if "times" not in rollouts:
        raise ValueError("rollouts need a 'times' array beside the per-method (traj, time, d) arrays")
    methods = [key for key in rollouts if key != "times"]
    for method in methods:
        shape = np.shape(rollouts[method])
        if len(shape) != 3 or shape[2] != dataset.n_state:
            raise ValueError(f"rollouts[{method!r}] has shape {shape}; expected (traj, time, {dataset.n_state})")
    if "truth" in methods:
        methods = ["truth"] + [m for m in methods if m != "truth"]
    arrays = {m: np.asarray(rollouts[m], dtype=float) for m in methods}
    n_traj = min(MAX_ROLLOUT_TRAJECTORIES, *(a.shape[0] for a in arrays.values()))
    times = np.asarray(rollouts["times"], dtype=float)
    laws = _independent_laws(result)
    columns = list(dataset.columns)
    panels = len(columns) + (1 if laws else 0)
    figure, axes = plt.subplots(n_traj, panels, figsize=(4.2 * panels, 2.8 * n_traj), squeeze=False)
    law = _numpy_law(laws[0], columns) if laws else None
    for row in range(n_traj):
        t = times[row] if times.ndim == 2 else times
        for column in range(panels):
            axis = axes[row, column]
            for method in methods:
                series = arrays[method][row]
                y = series[:, column] if column < len(columns) else law(series)
                style = METHOD_STYLES.get(method, dict(label=method, linewidth=1.2))
                axis.plot(t[: len(y)], y, **style)
            if column < len(columns):
                axis.set_ylabel(_axis_label(dataset, column))
                axis.set_title(f"test trajectory {row + 1}: {columns[column]}", fontsize=10)
            else:
                axis.set_ylabel(f"law #{laws[0]['rank']} [{_unit_label(laws[0].get('unit'))}]")
                axis.set_title(f"test trajectory {row + 1}: {_law_label(laws[0], columns)}", fontsize=10)
            axis.set_xlabel("time t [s]")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9,
                  bbox_to_anchor=(0.5, -0.02))
    figure.suptitle(f"{dataset.name}: long-horizon rollouts from each test trajectory's initial state",
                    fontsize=11)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    return [_save(figure, plots_dir / "rollouts.png")]


def _acceptance_factor(result: Mapping[str, Any]) -> float:
    """The true-vs-random acceptance factor: ``config["threshold"]`` (discovery's option name),
    also looked up under ``config["discovery"]``; 100 (the paper's) when absent."""
    config = result.get("config") or {}
    nested = config.get("discovery") if isinstance(config.get("discovery"), Mapping) else {}
    return float(config.get("threshold") or nested.get("threshold") or DEFAULT_ACCEPTANCE_FACTOR)


def plot_conservation_ratios(plots_dir: Path, result: Mapping[str, Any]) -> list[Path]:
    """Horizontal log bars of the conservation ratio on true and random data, best candidates first,
    with each candidate's acceptance threshold (random ratio / factor) marked. A ratio of exactly 0
    is drawn at the axis floor and labelled."""
    candidates = sorted(result.get("candidates") or [], key=lambda c: c["rank"])[:MAX_RATIO_CANDIDATES]
    rows = [(c, (c.get("conservation") or {}).get("true"), (c.get("conservation") or {}).get("random"))
            for c in candidates]
    rows = [(c, t, r) for c, t, r in rows
            if t is not None and r is not None and np.isfinite([t, r]).all() and min(t, r) >= 0]
    if not rows:
        return []
    factor = _acceptance_factor(result)
    positive = [v for _, t, r in rows for v in (t, r, r / factor) if v > 0]
    floor = min(positive) / 10 if positive else 1e-16
    height_inches = 0.5 * len(rows) + 2.2
    figure, axis = plt.subplots(figsize=(10, height_inches))
    positions = np.arange(len(rows))[::-1]
    height = 0.38
    axis.barh(positions + height / 2, [max(t, floor) for _, t, _ in rows], height, color="tab:blue",
              label="on the true trajectories")
    axis.barh(positions - height / 2, [max(r, floor) for _, _, r in rows], height, color="tab:orange",
              label="on random data (control)")
    for k, (position, (_, true, random)) in enumerate(zip(positions, rows)):
        axis.plot([random / factor] * 2, [position - 0.45, position + 0.45], color="black", linewidth=2,
                  label=f"acceptance threshold: random / {factor:g}" if k == 0 else None)
        if true == 0:
            axis.text(floor * 6, position + height / 2, "exactly 0", va="center", fontsize=8)
    held_out = [(position, (c.get("conservation") or {}).get("test")) for position, (c, _, _) in zip(positions, rows)]
    held_out = [(position, value) for position, value in held_out if value is not None and np.isfinite(value)]
    if held_out:
        axis.scatter([max(v, floor) for _, v in held_out], [p + height / 2 for p, _ in held_out], marker="D",
                     s=28, facecolor="white", edgecolor="navy", zorder=3,
                     label="on held-out test trajectories (training fit)")
    axis.set_xscale("log")
    axis.set_xlim(left=floor / 2)
    axis.set_yticks(positions)
    axis.set_yticklabels([f"#{c['rank']} {_short(str(c['expression']), 40)}"
                          + ("  ✓ accepted" if c.get("accepted") else "  ✗ rejected") for c, _, _ in rows],
                         fontsize=9)
    axis.set_xlabel("conservation ratio (within-trajectory variance / spread; lower = better conserved)")
    axis.set_title(f"{result.get('dataset', {}).get('name', '')}: conservation on true vs random data, "
                   f"top {len(rows)} candidates\nto be accepted, the blue bar and the diamond must end "
                   f"left of the black mark ({factor:g}× better than random);\nformulas whose random ratio "
                   f"is tiny (degenerate) are rejected too", fontsize=10)
    handles, labels = axis.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
    figure.tight_layout(rect=(0, 0.6 / height_inches, 1, 1))
    return [_save(figure, plots_dir / "conservation_ratio.png")]


def make_plots(run_dir: Union[str, "os.PathLike[str]"], result: Mapping[str, Any], dataset: TrajectoryDataset,
               rollouts: Optional[Mapping[str, Any]] = None) -> list[Path]:
    """Write every figure into ``<run_dir>/plots/`` and return their paths.

    ``rollouts`` (optional): ``{"times": (time,) or (traj, time), "truth": (traj, time, d),
    "vanilla": ..., "noether": ..., "oracle": ...}`` for the test trajectories.
    """
    plots_dir = Path(os.fspath(run_dir)) / PLOTS_DIR
    paths = plot_phase_portraits(plots_dir, result, dataset)
    paths += plot_laws_along_test(plots_dir, result, dataset)
    if rollouts is not None:
        paths += plot_rollouts(plots_dir, result, dataset, rollouts)
    paths += plot_conservation_ratios(plots_dir, result)
    return paths
