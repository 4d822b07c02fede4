"""The result files of a run: result.json, candidates.csv and formulas.tex (all written atomically)."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np

from conslaw.report.export import export_latex, select_laws
from conslaw.errors import ConslawError
from conslaw.report.rundir import atomic_save_npz, atomic_write_json, atomic_write_text

RESULT_FILE = "result.json"
ROLLOUTS_FILE = "rollouts.npz"
CANDIDATES_FILE = "candidates.csv"
FORMULAS_FILE = "formulas.tex"

#: Candidates listed in formulas.tex when the run accepted no law.
FALLBACK_LATEX_CANDIDATES = 10

CSV_COLUMNS = (
    "rank", "expression", "template", "unit", "parameters",
    "conservation_true", "conservation_random", "conservation_test",
    "accepted", "independent", "origin", "size", "variants",
    "tailoring_best_inner_lr", "tailoring_train_loss", "meta_train_loss", "meta_diverged",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _parameters_text(parameters: Optional[Mapping[str, Any]]) -> str:
    """``c0=-2.99 [kg**2*m**4/s**2]; c1=...`` (the value at full precision, then its unit)."""
    parts = []
    for name, entry in (parameters or {}).items():
        if isinstance(entry, Mapping):
            parts.append(f"{name}={_cell(entry.get('value'))} [{entry.get('unit', '')}]")
        else:
            parts.append(f"{name}={_cell(entry)}")
    return "; ".join(parts)


def candidate_row(candidate: Mapping[str, Any]) -> dict[str, str]:
    """One candidates.csv row (tailoring columns stay empty when the run did not tailor)."""
    conservation = candidate.get("conservation") or {}
    tailoring = candidate.get("tailoring") or {}
    meta = tailoring.get("meta") or {}
    values = {
        "rank": candidate.get("rank"),
        "expression": candidate.get("expression"),
        "template": candidate.get("template"),
        "unit": candidate.get("unit"),
        "parameters": _parameters_text(candidate.get("parameters")),
        "conservation_true": conservation.get("true"),
        "conservation_random": conservation.get("random"),
        "conservation_test": conservation.get("test"),
        "accepted": candidate.get("accepted"),
        "independent": candidate.get("independent"),
        "origin": candidate.get("origin"),
        "size": candidate.get("size"),
        "variants": candidate.get("variants"),
        "tailoring_best_inner_lr": tailoring.get("best_inner_lr"),
        "tailoring_train_loss": tailoring.get("train_loss"),
        "meta_train_loss": meta.get("train_loss"),
        "meta_diverged": meta.get("diverged"),
    }
    return {key: _cell(value) for key, value in values.items()}


def candidates_csv(result: Mapping[str, Any]) -> str:
    """Every candidate, one row each, in rank order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for candidate in sorted(result.get("candidates") or [], key=lambda c: c["rank"]):
        writer.writerow(candidate_row(candidate))
    return buffer.getvalue()


def formulas_tex(result: Mapping[str, Any]) -> str:
    """The LaTeX export of the laws; the best candidates, flagged as such, when none was accepted."""
    candidates = result.get("candidates") or []
    if not candidates:
        return "% conslaw: the run produced no candidate with finite values; nothing to typeset.\n"
    if result.get("laws") or any(c.get("accepted") for c in candidates):
        return export_latex(result, select_laws(result))
    note = (f"% No candidate passed the true-vs-random test; the {FALLBACK_LATEX_CANDIDATES} "
            "best-ranked candidates are listed for inspection, not as laws.\n")
    return note + export_latex(result, select_laws(result, top=FALLBACK_LATEX_CANDIDATES))


def write_result_files(run_dir: Union[str, "os.PathLike[str]"], result: Mapping[str, Any]) -> list[Path]:
    """Write result.json, candidates.csv and formulas.tex into ``run_dir`` atomically.

    ``run_dir`` is a path or a :class:`~conslaw.report.rundir.RunDirectory` (its work path).
    Every text is built before the first file is written, so a bad result leaves no mix of old
    and new files. Returns the three paths.
    """
    directory = Path(os.fspath(run_dir))
    table, latex = candidates_csv(result), formulas_tex(result)
    return [
        atomic_write_json(directory / RESULT_FILE, result),
        atomic_write_text(directory / CANDIDATES_FILE, table),
        atomic_write_text(directory / FORMULAS_FILE, latex),
    ]


def write_rollouts(run_dir: Union[str, "os.PathLike[str]"], rollouts: Mapping[str, Any]) -> Path:
    """Store the test rollouts (``"times"``, ``"truth"`` and one ``(traj, time, d)`` array per
    method) as ``rollouts.npz``, so that ``conslaw plot RUN`` can redraw them without the models."""
    arrays = {name: np.asarray(value, dtype=float) for name, value in rollouts.items()}
    if "times" not in arrays:
        raise ValueError("rollouts need a 'times' array")
    return atomic_save_npz(Path(os.fspath(run_dir)) / ROLLOUTS_FILE, arrays)


def read_rollouts(run_dir: Union[str, "os.PathLike[str]"]) -> Optional[dict[str, np.ndarray]]:
    """The rollouts stored by :func:`write_rollouts`, or ``None`` when the run has none."""
    path = Path(os.fspath(run_dir)) / ROLLOUTS_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise ConslawError(f"cannot read {path}: {error}") from None
