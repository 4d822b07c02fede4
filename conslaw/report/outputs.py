"""The files a run writes: result.json, candidates.csv, formulas.tex, rollouts.npz and the plots.

Every file's bytes are built before the first file is written (a result that cannot be rendered
leaves the previous files untouched), then each is written atomically. A figure that cannot be
drawn is logged and skipped: it never costs a finished run its result files.
"""
from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from conslaw.errors import ConslawError
from conslaw.law import Law
from conslaw.report.atomic import atomic_save_bytes, json_text
from conslaw.report.export import export_latex, select_laws
from conslaw.report.printing import law_text
from conslaw.report.records import selected_rank, tailoring_by_rank
from conslaw.report.rundir import PLOTS_DIR

RESULT_FILE = "result.json"
CANDIDATES_FILE = "candidates.csv"
FORMULAS_FILE = "formulas.tex"
ROLLOUTS_FILE = "rollouts.npz"
FALLBACK_LATEX_CANDIDATES = 10
"""Candidates typeset in formulas.tex, flagged as such, when the run accepted no law."""

CSV_COLUMNS = (
    "rank", "expression", "expression_si", "unit", "unit_si", "template", "parameters", "terms", "size", "origin",
    "quality", "rejection", "accepted", "independent", "function_of", "pareto", "variants",
    "ratio", "error", "ratio_test", "error_test", "ratio_control", "margin",
    "variation_median", "variation_max",
    "spread", "level_share", "paper_true", "paper_random",
    "tailored", "stage1_inner_lr", "stage1_train_rmse", "stage2_train_rmse", "stage2_diverged", "selected",
)
PathLike = Union[str, "os.PathLike[str]"]
LOGGER = logging.getLogger("conslaw")


def _cell(value: Any) -> str:
    """A CSV cell: booleans ``true``/``false``, floats at full precision, empty = not computed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def candidate_row(law: Law, tailored: Optional[Mapping[str, Any]], selected: Optional[int]) -> dict[str, str]:
    """One candidates.csv row: the law, its evidence and its tailoring numbers."""
    evidence = law.evidence
    paper = evidence.paper or {}
    stage1 = (tailored or {}).get("stage1") or {}
    stage2 = (tailored or {}).get("stage2") or {}
    values = {
        "rank": law.rank, "expression": law_text(law, "declared"), "expression_si": law_text(law, "si"),
        "unit": law.unit_text("declared"), "unit_si": str(law.unit), "template": law.template,
        "parameters": "; ".join(f"{p.name}={p.value!r} [{p.unit}]" for p in law.parameters),
        "terms": "; ".join(law.terms), "size": law.size, "origin": law.origin, "quality": law.quality,
        "rejection": law.rejection,
        "accepted": law.accepted, "independent": law.independent,
        "function_of": ";".join(map(str, law.function_of)), "pareto": law.pareto, "variants": law.variants,
        "ratio": evidence.ratio, "error": evidence.error,
        "ratio_test": evidence.ratio_test, "error_test": evidence.error_test,
        "ratio_control": evidence.ratio_control, "margin": evidence.margin,
        "variation_median": evidence.variation.get("median"), "variation_max": evidence.variation.get("max"),
        "spread": evidence.spread, "level_share": evidence.level_share,
        "paper_true": paper.get("true"), "paper_random": paper.get("random"),
        "tailored": tailored is not None, "stage1_inner_lr": stage1.get("inner_lr"),
        "stage1_train_rmse": stage1.get("train_rmse"), "stage2_train_rmse": stage2.get("train_rmse"),
        "stage2_diverged": stage2.get("diverged"), "selected": law.rank == selected if selected else None,
    }
    return {key: _cell(value) for key, value in values.items()}


def candidates_csv(result: Mapping[str, Any], laws: Sequence[Law]) -> str:
    """Every candidate, one row each, best first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    tailored, selected = tailoring_by_rank(result), selected_rank(result)
    for law in sorted(laws, key=lambda law: law.rank):
        writer.writerow(candidate_row(law, tailored.get(law.rank), selected))
    return buffer.getvalue()


def formulas_tex(result: Mapping[str, Any], laws: Sequence[Law]) -> str:
    """The LaTeX export of the independent laws; the best candidates, flagged, when none was accepted."""
    if not laws:
        return "% conslaw: the run produced no candidate; nothing to typeset.\n"
    if any(law.accepted for law in laws):
        return export_latex(result, select_laws(laws), "declared", None)
    note = (f"% No candidate was accepted; the {FALLBACK_LATEX_CANDIDATES} best candidates are listed "
            "for inspection, not as laws.\n")
    return note + export_latex(result, select_laws(laws, FALLBACK_LATEX_CANDIDATES), "declared",
                               FALLBACK_LATEX_CANDIDATES)


def rollouts_npz(rollouts: Mapping[str, Any]) -> bytes:
    """The test rollouts (``times`` and one ``(trajectories, times, d)`` array per method and
    ``truth``) as the bytes of a compressed ``.npz``."""
    arrays = {name: np.asarray(value, dtype=float) for name, value in rollouts.items()}
    if "times" not in arrays:
        raise ConslawError("the rollouts have no 'times' array")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def read_rollouts(run_dir: PathLike) -> Optional[dict[str, np.ndarray]]:
    """The rollouts a run stored, or None when it has none."""
    path = Path(os.fspath(run_dir)) / ROLLOUTS_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise ConslawError(f"cannot read {path}: {error}") from None


def write_outputs(run_dir: PathLike, result: Mapping[str, Any], laws: Sequence[Law], dataset: Any = None,
                  rollouts: Optional[Mapping[str, Any]] = None, plots: bool = True) -> list[Path]:
    """Write result.json (``result`` as it is), candidates.csv, formulas.tex, rollouts.npz (when
    given) and, with ``plots`` and a data set, the figures; returns the paths written."""
    directory = Path(os.fspath(run_dir))
    files = {RESULT_FILE: json_text(result).encode(), CANDIDATES_FILE: candidates_csv(result, laws).encode(),
             FORMULAS_FILE: formulas_tex(result, laws).encode()}
    if rollouts:
        files[ROLLOUTS_FILE] = rollouts_npz(rollouts)
    if plots and dataset is not None:
        files.update({f"{PLOTS_DIR}/{name}": png for name, png in _figures(result, laws, dataset, rollouts).items()})
    return [atomic_save_bytes(directory / name, data) for name, data in files.items()]


def _figures(result: Mapping[str, Any], laws: Sequence[Law], dataset: Any,
             rollouts: Optional[Mapping[str, Any]]) -> dict[str, bytes]:
    """The figures, or none (with a logged warning) when drawing fails: a figure must never cost a
    finished run its result files; ``conslaw plot RUN`` draws them again."""
    from conslaw.report.plots import render_plots

    try:
        return render_plots(result, laws, dataset, rollouts)
    except Exception as error:  # matplotlib and the compiled laws raise many types
        LOGGER.warning("the figures were not drawn (%s: %s); draw them with `conslaw plot RUN`",
                       type(error).__name__, error)
        return {}


def write_run(run: PathLike, search: Any, result: Optional[dict] = None) -> list[Path]:
    """Every output of a finished ``ConservationSearch`` into the run directory ``run``
    (``result``: its ``result()``, when the caller has it already: printing every law is slow)."""
    return write_outputs(run, result if result is not None else search.result(), search.laws_, search.dataset_,
                         getattr(search, "rollouts_", None), plots=search.config.run.plots)
