"""What every figure of a run shares: PNG rendering, the data in the user's units, labels, styles.

Figures are ``matplotlib.figure.Figure`` objects rendered by the Agg canvas straight to PNG bytes:
no pyplot, no global backend switch, nothing left open. Data and laws are shown in the units the
data were declared in (``TrajectoryDataset.declared``, ``Law.numpy("declared")``).
"""
from __future__ import annotations

import io
from typing import Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.mathtext import MathTextParser

from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.law import TABLE_DIGITS, Law
from conslaw.report.printing import latex_column, law_text
from conslaw.report.table1 import METHOD_LABELS

DPI = 110
TITLE_CHARACTERS = 60
MAX_LAWS = 4
"""Independent laws drawn (panels or rows) per figure."""
_MATHTEXT = MathTextParser("path")
_COLOURS = {"vanilla": "tab:red", "finetune": "tab:orange", "tailored": "tab:purple", "noether": "tab:blue",
            "oracle": "tab:green", "combined": "tab:cyan", "hnn": "tab:brown"}


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas."""
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def grid(figure: Figure, rows: int, columns: int) -> np.ndarray:
    """A ``rows x columns`` array of axes with room for each one's title and labels."""
    height = figure.get_figheight()
    return figure.subplots(rows, columns, squeeze=False, gridspec_kw=dict(
        top=1 - 0.45 / height, bottom=0.6 / height, hspace=0.5, wspace=0.4))


def title(figure: Figure, text: str) -> None:
    """The figure's title, above everything the axes put on top of themselves."""
    figure.suptitle(text, fontsize=10, y=1.0 + 0.1 / figure.get_figheight(), va="bottom")


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def method_style(method: str) -> dict:
    """Line style of a method's rollouts (the truth in black, labels from Table 1's)."""
    if method == "truth":
        return dict(color="black", linewidth=2.2, label="truth")
    return dict(color=_COLOURS.get(method), linewidth=1.4 if method == "noether" else 1.2,
                linestyle="-" if method in ("noether", "vanilla") else "--", label=METHOD_LABELS.get(method, method))


def math_or_text(latex: str, plain: str) -> str:
    """``$latex$`` when matplotlib's mathtext can typeset it, else the plain text."""
    try:
        _MATHTEXT.parse(f"${latex}$")
    except Exception:  # mathtext raises ValueError or pyparsing errors on unsupported commands
        return plain
    return f"${latex}$"


def column_label(dataset: TrajectoryDataset, index: int) -> str:
    """``θ [deg]``: a column with the unit it was declared in."""
    name = dataset.columns[index]
    return f"{math_or_text(latex_column(name), name)} [{dataset.units.get(name, '?')}]"


def time_label(dataset: TrajectoryDataset) -> str:
    return f"time t [{dataset.time_unit}]"


def law_label(law: Law) -> str:
    """``law #1: p² − 3.0 cos(q)``: typeset to 4 digits when short, else plain text, shortened."""
    plain = law_text(law, "declared", TABLE_DIGITS)
    if len(plain) > TITLE_CHARACTERS:
        return f"law #{law.rank}: {plain[:TITLE_CHARACTERS - 3]}..."
    return f"law #{law.rank}: {math_or_text(law.latex('declared', 4), plain)}"


def shown_laws(laws: Sequence[Law]) -> list[Law]:
    """The laws the figures draw: the independent ones (the accepted ones when none is), at most
    ``MAX_LAWS``."""
    chosen = [law for law in laws if law.independent] or [law for law in laws if law.accepted]
    return sorted(chosen, key=lambda law: law.rank)[:MAX_LAWS]


def declared(dataset: TrajectoryDataset, trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """A trajectory's times and states in the declared units."""
    return trajectory.t / dataset.time_to_si, dataset.declared(trajectory.x)


def all_states(dataset: TrajectoryDataset) -> np.ndarray:
    """Every state of both splits, in the declared units, shape (n, d)."""
    return dataset.declared(np.concatenate([t.x for t in dataset.train + dataset.test]))


def motion(dataset: TrajectoryDataset) -> np.ndarray:
    """How much each column moves along the trajectories: the mean within-trajectory standard
    deviation over the column's overall one (0 for a column constant on each trajectory)."""
    trajectories = dataset.train + dataset.test
    overall = np.std(np.concatenate([t.x for t in trajectories]), axis=0)
    within = np.mean([np.std(t.x, axis=0) for t in trajectories], axis=0)
    return np.divide(within, overall, out=np.zeros_like(within), where=overall > 0)


def ranked_columns(dataset: TrajectoryDataset, limit: Optional[int] = None) -> list[int]:
    """Column indices by decreasing motion (ties: column order)."""
    moves = motion(dataset)
    order = sorted(range(dataset.n_state), key=lambda j: (-moves[j], j))
    return order[:limit] if limit else order
