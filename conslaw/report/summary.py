"""The end-of-run terminal summary and the progress bars of the long stages."""
from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

from tqdm import tqdm

from conslaw.report.export import METHOD_NAMES, evaluation_methods, method_formula, rmse_stats

#: The paper's single-seed test RMSE (Alet, Doblar et al. 2021, Tables 1-2), shown beside ours.
PAPER_RMSE = {
    "pendulum": {"vanilla": 0.0563, "noether": 0.0423, "oracle": 0.0422},
    "spring": {"vanilla": 0.0174, "noether": 0.0165, "oracle": 0.0166},
}

SUMMARY_ROWS = 10
LAW_WIDTH = 44


def _shorten(text: Optional[str], width: int = LAW_WIDTH) -> str:
    text = text or "-"
    return text if len(text) <= width else text[: width - 3] + "..."


def _number(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.3g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned text columns separated by two spaces, with a rule under the header."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return [line(header), "  ".join("-" * width for width in widths)] + [line(row) for row in rows]


def _interval_text(value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"[{_number(value[0])}, {_number(value[1])}]"
    return _number(value) if isinstance(value, (int, float)) or value is None else str(value)


def candidate_table(result: Mapping[str, Any], max_rows: int = SUMMARY_ROWS) -> list[str]:
    """The ranked candidates: rank, law, unit, ratio true / random, accepted, independent."""
    candidates = sorted(result.get("candidates") or [], key=lambda c: c["rank"])
    rows = []
    for candidate in candidates[:max_rows]:
        conservation = candidate.get("conservation") or {}
        rows.append([
            str(candidate["rank"]),
            _shorten(candidate.get("expression")),
            candidate.get("unit") or "-",
            f"{_number(conservation.get('true'))} / {_number(conservation.get('random'))}",
            "yes" if candidate.get("accepted") else "no",
            "yes" if candidate.get("independent") else "no",
        ])
    header = ["rank", "law", "unit", "ratio true / random", "accepted", "independent"]
    lines = _table(header, rows)
    if len(candidates) > max_rows:
        lines.append(f"... {len(candidates) - max_rows} more candidates in candidates.csv")
    return lines


def _comparison_lines(evaluation: Mapping[str, Any]) -> list[str]:
    """One line per paired comparison (``noether_vs_vanilla`` ...): mean difference, 95 % CI, wins."""
    paired = evaluation.get("paired") or {}
    ci95, wins = evaluation.get("ci95") or {}, evaluation.get("wins") or {}
    lines = []
    for key in dict.fromkeys([*paired, *ci95, *wins]):
        entry = paired.get(key) or {}
        interval = entry.get("ci95", ci95.get(key))
        won = entry.get("wins", wins.get(key))
        parts = []
        if entry.get("mean_diff") is not None:
            parts.append(f"mean difference {entry['mean_diff']:+.3g}")
        if interval is not None:
            parts.append(f"95% CI {_interval_text(interval)}")
        if won is not None:
            parts.append(f"wins {won}/{entry['n']}" if entry.get("n") else f"wins {won}")
        lines.append(f"  {key}: " + (", ".join(parts) or "n/a"))
    return lines


def evaluation_table(result: Mapping[str, Any]) -> list[str]:
    """Table 1: method, formula, test RMSE mean ± std and median (and the paper's number where it
    has one), then the paired comparisons (negative difference = the method is better)."""
    evaluation = result.get("evaluation") or {}
    paper = PAPER_RMSE.get((result.get("dataset") or {}).get("name", ""), {})
    rows = []
    for method in evaluation_methods(evaluation):
        stats = rmse_stats(evaluation, method)
        if stats is None:
            rmse, median = "n/a", "n/a"
        else:
            rmse = _number(stats["mean"]) + (f" ± {_number(stats['std'])}" if stats.get("std") else "")
            median = _number(stats.get("median"))
        row = [METHOD_NAMES.get(method, method), _shorten(method_formula(result, method)), rmse, median]
        rows.append(row + ([_number(paper.get(method)) if method in paper else "-"] if paper else []))
    header = ["method", "formula", "test RMSE mean ± std", "median"] + (["paper (1 seed)"] if paper else [])
    seeds = evaluation.get("seeds") or []
    lines = [f"Long-horizon test RMSE over {len(seeds) or 1} seed(s):"] + _table(header, rows)
    comparisons = _comparison_lines(evaluation)
    if comparisons:
        lines += ["Paired per-seed differences (method - reference; negative = method better):"] + comparisons
    return lines


def format_summary(result: Mapping[str, Any], paths: Sequence[Union[str, "os.PathLike[str]"]]) -> str:
    """The end-of-run text: counts, the ranked table, Table 1 when evaluated, and the files written."""
    dataset = result.get("dataset") or {}
    counts = result.get("counts") or {}
    lines = [
        f"conslaw on {dataset.get('name', '?')}: {counts.get('enumerated', '?')} formulas enumerated, "
        f"{counts.get('fitted', '?')} fitted, {counts.get('non_finite', '?')} non-finite dropped, "
        f"{counts.get('accepted', '?')} accepted; independent laws: ranks "
        f"{', '.join(str(rank) for rank in result.get('laws') or []) or 'none'}",
        "",
    ]
    lines += candidate_table(result)
    selected = result.get("selected")
    if selected:
        lines += ["", f"Selected Noether loss: {selected.get('expression')}"]
    if result.get("evaluation"):
        lines += [""] + evaluation_table(result)
    if paths:
        lines += ["", "Written:"] + [f"  {Path(os.fspath(path))}" for path in paths]
    return "\n".join(lines)


@contextlib.contextmanager
def progress_bar(total: Optional[int], desc: str, quiet: bool = False, unit: str = "it") -> Iterator[tqdm]:
    """A tqdm bar on stderr with counts and ETA, silent when ``quiet``; closed on exit.

    ``with progress_bar(len(chunks), "fit chunks", quiet) as bar: ... bar.update(1)``
    """
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet, dynamic_ncols=True,
               leave=True)
    try:
        yield bar
    finally:
        bar.close()


class StageProgress:
    """Progress callbacks for the stages: ``progress(stage, done, total)`` keeps one tqdm bar per
    stage name on stderr (created on first report, closed when ``done == total``), silent when
    ``quiet``. Fits the tailoring pipeline's ``progress`` argument directly, and discovery's
    ``progress(done, total)`` through :meth:`for_stage`.
    """

    def __init__(self, quiet: bool = False, unit: str = "it") -> None:
        self.quiet = quiet
        self.unit = unit
        self._bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = tqdm(total=total, desc=stage, unit=self.unit, file=sys.stderr,
                                           disable=self.quiet, dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def for_stage(self, stage: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback reporting to the bar named ``stage``."""
        return lambda done, total: self(stage, done, total)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()

    def __enter__(self) -> "StageProgress":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
