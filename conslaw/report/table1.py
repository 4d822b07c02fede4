"""Table 1, formatted once: is the law useful? Test rollout RMSE of every method over seeds.

The cells are made here from the tailoring section of the result (``TailoringResults.to_dict()``:
``evaluation.summary``/``per_seed``/``paired``, ``selected``, ``combined``, ``protocol``) and laid
out as text (terminal) or as a LaTeX ``tabular`` (formulas.tex). The method labels are listed here
only, in table order.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import sympy

from conslaw.law import TABLE_DIGITS, Law, rounded_expression
from conslaw.report.printing import latex_tabular, law_text, number, shorten, text_table
from conslaw.report.records import paper_dataset

METHOD_LABELS = {
    "vanilla": "Vanilla MLP",
    "finetune": "Fine-tuning control",
    "tailored": "Tailored, no meta-training",
    "noether": "Noether (meta-tailored)",
    "oracle": "Oracle (true law)",
    "combined": "All laws at once (meta-tailored)",
    "hnn": "HNN",
}
PAPER_RMSE = {
    "pendulum": {"vanilla": 0.0563, "noether": 0.0423, "oracle": 0.0422},
    "spring": {"vanilla": 0.0174, "noether": 0.0165, "oracle": 0.0166},
}
"""The paper's single-seed test RMSE (Alet, Doblar et al. 2021, Tables 1-2)."""
REFERENCES = (("vanilla", "vanilla"), ("finetune", "control"))


def evaluation_of(result: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The tailoring section's evaluation, or None when the run did not evaluate."""
    return (result.get("tailoring") or {}).get("evaluation") or None


def _difference(comparison: Optional[Mapping[str, Any]]) -> str:
    """``-0.0102 [-0.0168, -0.0036] 9/10``: mean paired difference, its 95 % interval, wins."""
    if not comparison or comparison.get("mean_diff") is None:
        return "-"
    interval = comparison.get("ci95")
    bounds = f" [{interval[0]:+.3g}, {interval[1]:+.3g}]" if interval else ""
    return f"{comparison['mean_diff']:+.3g}{bounds} {comparison.get('wins', 0)}/{comparison.get('n', 0)}"


def _law_cells(result: Mapping[str, Any], laws: Sequence[Law]) -> dict[str, str]:
    """The law each law method used, in the declared units to 6 significant digits."""
    tailoring = result.get("tailoring") or {}
    by_rank = {law.rank: law for law in laws}

    def text(rank: Any, fallback: Optional[str]) -> str:
        law = by_rank.get(rank)
        return law_text(law, "declared", TABLE_DIGITS) if law is not None else (fallback or "-")

    selected = tailoring.get("selected") or {}
    lrs = ((evaluation_of(result) or {}).get("inner_lrs") or {}).get("noether")
    untailored = bool(lrs) and not any(lrs)  # every seed's Noether step is 0: no law takes part
    cells = {"noether": "none (inner lr 0)" if untailored else text(selected.get("rank"), selected.get("expression"))}
    cells["tailored"] = cells["noether"]
    true_law = (tailoring.get("protocol") or {}).get("true_law")
    cells["oracle"] = str(true_law or "-")
    if true_law and laws:  # in the declared units too, like the discovered laws beside it
        columns = laws[0].columns
        declared = columns.declared_form(columns.parse(true_law))
        cells["oracle"] = sympy.sstr(rounded_expression(declared, TABLE_DIGITS), full_prec=False)
    combined = tailoring.get("combined") or {}
    if combined:
        ranks = {entry.get("id"): entry.get("rank") for entry in tailoring.get("candidates") or []}
        cells["combined"] = " ; ".join(text(ranks.get(i), law) for i, law in
                                       zip(combined.get("ids") or [], combined.get("laws") or []))
    return cells


def table1_cells(result: Mapping[str, Any], laws: Sequence[Law]) -> Optional[tuple[list[str], list[list[str]]]]:
    """Header and rows of Table 1, or None when the run was not evaluated."""
    evaluation = evaluation_of(result)
    if evaluation is None:
        return None
    summary, paired = evaluation.get("summary") or {}, evaluation.get("paired") or {}
    paper = PAPER_RMSE.get(paper_dataset(result) or "")
    law_cells = _law_cells(result, laws)
    header = ["method", "law", "test RMSE mean ± std", "median"]
    header += [f"− {name} [95% CI] wins" for _, name in REFERENCES] + (["paper (1 seed)"] if paper else [])
    rows = []
    for method, label in METHOD_LABELS.items():
        stats = summary.get(method) or {}
        if stats.get("mean") is None:
            continue
        row = [label, law_cells.get(method, "-"),
               f"{number(stats['mean'])} ± {number(stats.get('std'))} ({stats.get('n', 0)})",
               number(stats.get("median"))]
        row += [_difference(paired.get(f"{method}_vs_{reference}")) for reference, _ in REFERENCES]
        rows.append(row + ([number(paper[method]) if method in paper else "-"] if paper else []))
    return header, rows


def table1_notes(result: Mapping[str, Any]) -> list[str]:
    """The lines under Table 1: the seeds, the interval, the selected law's inner lr per seed,
    whether the models saw standardized columns, and the combined law against the selected one."""
    evaluation = evaluation_of(result) or {}
    seeds = evaluation.get("seeds") or []
    notes = [f"{len(seeds)} seed(s); (n) = seeds with a finite RMSE; differences are per seed, "
             "method − reference (negative = the method is better); interval: "
             f"{evaluation.get('interval') or 'paired 95 %'}"]
    lrs = (evaluation.get("inner_lrs") or {}).get("noether")
    if lrs:
        notes.append("inner lr of the selected law per seed (picked on training rollouts; 0 = no tailoring): "
                     + ", ".join(number(lr) for lr in lrs))
    if ((result.get("tailoring") or {}).get("protocol") or {}).get("scaling"):
        notes.append("the learned models saw each column centred and divided by its spread (--standardize); "
                     "the RMSEs are in coherent SI, as without it")
    elif _declared_otherwise(result.get("columns") or {}):
        columns = result["columns"]
        notes.append("the RMSEs are over the columns in coherent SI ("
                     + ", ".join(f"{name} in {unit}" for name, unit in zip(columns["names"], columns["units"]))
                     + "), not in the declared units")
    combined = (evaluation.get("paired") or {}).get("combined_vs_noether")
    if combined:
        notes.append(f"all laws at once − the selected law: {_difference(combined)}")
    if paper_dataset(result):
        notes.append("paper: Alet, Doblar et al. 2021, one seed, their protocol")
    return notes


def _declared_otherwise(columns: Mapping[str, Any]) -> bool:
    """Whether a column was declared in a unit other than its coherent SI one."""
    return any(declared != unit for declared, unit in zip(columns.get("declared") or (), columns.get("units") or ()))


def table1_text(result: Mapping[str, Any], laws: Sequence[Law]) -> list[str]:
    """Table 1 for the terminal (empty when the run was not evaluated)."""
    cells = table1_cells(result, laws)
    if cells is None:
        return []
    header, rows = cells
    rows = [[row[0], shorten(row[1]), *row[2:]] for row in rows]
    return ["Table 1: long-horizon test rollout RMSE"] + text_table(header, rows) + table1_notes(result)


def table1_latex(result: Mapping[str, Any], laws: Sequence[Law]) -> list[str]:
    """Table 1 as a LaTeX ``tabular`` with the notes as comments (empty when not evaluated)."""
    cells = table1_cells(result, laws)
    if cells is None:
        return []
    return (["% Table 1: long-horizon test rollout RMSE"] + [f"% {note}" for note in table1_notes(result)]
            + latex_tabular(*cells))
