"""The end-of-run summary on the terminal, and the law table (``ConservationSearch.table()``).

``format_summary(result, paths, brief)``: each search's account, the law table, the warnings, the
selected law with every candidate tailoring meta-tailored, Table 1 and the files written.
``brief`` (``--quiet``) keeps the law table, the warnings, the selected law and Table 1.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence, Union

from conslaw.law import REJECTIONS, TABLE_DIGITS, Law
from conslaw.report.printing import law_text, number, shorten, text_table
from conslaw.report.records import dataset_label, laws_from_result, threshold
from conslaw.report.table1 import table1_text

SUMMARY_ROWS = 10
SEARCHES = ("formulas", "terms")
QUALITY = {"exact": "exact", "approximate": "approx.", "rejected": "rejected"}


def law_table(laws: Sequence[Law], rows: Optional[int] = None, units: str = "declared") -> list[str]:
    """The hall of fame: rank, law (numbers to 6 significant digits), unit, quality (a rejected
    law's with the key of why, explained below the table), marks (I = independent, P = Pareto
    front of ratio against size, f(1,3) = a function of laws 1 and 3), the judged ratio ± its
    error, the held-out and control ratios, and how much the law varies (median / worst)."""
    shown = list(laws)[: rows or len(laws)]
    body = []
    for law in shown:
        evidence = law.evidence
        marks = ("I" if law.independent else "") + ("P" if law.pareto else "") + _function_of(law)
        body.append([str(law.rank), shorten(law_text(law, units, TABLE_DIGITS)), law.unit_text(units),
                     _quality(law), marks or "-",
                     f"{number(evidence.ratio)} ± {number(evidence.error, 2)}", number(evidence.ratio_test),
                     number(evidence.ratio_control),
                     f"{number(evidence.variation.get('median'), 2)} / {number(evidence.variation.get('max'), 2)}"])
    header = ["rank", f"law ({units} units)", "unit", "quality", "marks", "ratio ± error", "held-out",
              "control", "variation med / max"]
    lines = text_table(header, body)
    if len(laws) > len(shown):
        lines.append(f"... {len(laws) - len(shown)} more candidates (candidates.csv has them all)")
    reasons = sorted({law.rejection for law in shown if law.rejection})
    legend = "marks: I = independent, P = Pareto front (ratio against size)"
    if any(law.function_of for law in shown):
        legend += ", f(1,2) = a function of laws 1 and 2 at the data"
    return lines + [legend] + [f"rejected ({key}): {REJECTIONS.get(key, key)}" for key in reasons]


def _function_of(law: Law) -> str:
    return f"f({','.join(map(str, law.function_of))})" if law.function_of else ""


def _quality(law: Law) -> str:
    quality = QUALITY.get(law.quality, law.quality)
    return f"{quality} ({law.rejection})" if law.quality == "rejected" and law.rejection else quality


def search_lines(result: Mapping[str, Any]) -> list[str]:
    """One line per search: what it did, or the one-line reason it could not run; and one naming
    the still columns, if any."""
    searches = result.get("searches") or {}
    mode = ((result.get("config") or {}).get("discovery") or {}).get("mode")
    lines = []
    for name in [*SEARCHES, *(name for name in searches if name not in SEARCHES)]:
        account = searches.get(name)
        if account is None:
            lines += [f"  {name}: not run (--mode {mode})"] if mode else []
        elif not account.get("ran"):
            lines.append(f"  {name}: did not run: {account.get('reason') or 'no reason given'}")
        else:
            partial = (f"; partial: {account.get('reason') or 'the time budget ran out'}"
                       if account.get("partial") else "")
            lines.append(f"  {name}: ran: {_counts_text(account.get('counts') or {}) or 'no counts'}{partial}")
    still = still_column_names(result)
    if still and searches:
        laws = {law["expression"] for law in result.get("candidates") or [] if law.get("accepted")}
        listed = [name for name in still if name in laws]
        lines.append(f"  still columns (one value along each trajectory, up to noise: a setting, a conserved "
                     f"input): {', '.join(still)}; the whole-formula search fits no formula of them alone, "
                     f"and accepts each bare column that passes as a law (here: {', '.join(listed) or 'none'})")
    return lines


def still_column_names(result: Mapping[str, Any]) -> list[str]:
    """The columns the judging data found still (``conservation.still_columns``), by name."""
    flags = (result.get("conservation") or {}).get("still_columns") or []
    names = (result.get("columns") or {}).get("names") or []
    return [name for name, still in zip(names, flags) if still]


def _counts_text(counts: Mapping[str, Any]) -> str:
    """A search's counts in a few words: the formula search's nonzero counts; for the multi-term
    search (whose counts also hold each library stage's settings and spectra, in result.json),
    its stages, its last library and the laws that passed."""
    passes = counts.get("passes")
    if not passes:
        return ", ".join(f"{value} {key}" for key, value in counts.items()
                         if value and isinstance(value, int) and not isinstance(value, bool))
    last, run = passes[-1], counts.get("stages", len(passes))
    skipped = counts.get("stages_tried", run) - run
    return (f"{run} library stages{f' ({skipped} skipped: no new factor)' if skipped else ''}, "
            f"the last with {last.get('library_terms', 0)} terms on {last.get('constraints', 0)} constraints; "
            f"{counts.get('sparse_found', 0)} passed")


def known_laws_line(entries: Sequence[Mapping[str, Any]]) -> str:
    """Which of the data set's known laws the accepted laws reach (``conslaw.discovery.known``)."""
    found = sum(bool(entry["found"]) for entry in entries)
    listed = ", ".join(f"{entry['name']} {_reached(entry)}" for entry in entries)
    return f"known laws of the data set ({found} of {len(entries)} reached): {listed}"


def _reached(entry: Mapping[str, Any]) -> str:
    """A known law's verdict: found, or not and, when one does, the accepted law within noise of it."""
    if entry["found"]:
        return "found"
    near = entry.get("near")  # None in a result.json written before it was kept
    return "NOT found" if near is None else f"NOT found (law {near} equals it to within the data's noise)"


def expected_laws_lines(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The laws the user expects: how well each is conserved as given, and whether the accepted
    laws reach it (``conslaw.discovery.known``)."""
    lines = ["expected laws (judged with their coefficients as given):"]
    for entry in entries:
        margin = entry.get("margin")
        verdict = "NOT conserved beyond the threshold"
        if entry["conserved"]:
            verdict = "conserved, exact" if entry.get("exact") else \
                "conserved approximately (not within the noise: coefficients or form off)"
        times = "" if margin is None else f", {margin:.3g} times better than chance"
        reached = "reached by the accepted laws" if entry["found"] else "NOT reached by the accepted laws"
        lines.append(f"  {entry['law']}: {verdict} (ratio {entry['ratio']:.3g}{times}); {reached}")
    return lines


def _overview(result: Mapping[str, Any], laws: Sequence[Law]) -> str:
    accepted = [law for law in laws if law.accepted]
    exact = sum(law.quality == "exact" for law in accepted)
    independent = ", ".join(str(law.rank) for law in laws if law.independent)
    return (f"conslaw on {dataset_label(result)}: {len(laws)} candidates, {len(accepted)} accepted "
            f"({exact} exact, {len(accepted) - exact} approximate); independent: "
            f"{'rank ' + independent if independent else 'none'}; "
            f"accepted = conserved {threshold(result):g}x better than by chance, on training and held-out data")


def tailoring_lines(result: Mapping[str, Any], laws: Sequence[Law], brief: bool) -> list[str]:
    """The selected law and every candidate meta-tailored in stage 2 (all, when not ``brief``)."""
    tailoring = result.get("tailoring")
    if not tailoring:
        return []
    by_rank = {law.rank: law for law in laws}
    candidates = tailoring.get("candidates") or []

    def law_of(entry: Mapping[str, Any]) -> str:
        law = by_rank.get(entry.get("rank"))
        return shorten(law_text(law, "declared", TABLE_DIGITS) if law else str(entry.get("expression")))

    selected = tailoring.get("selected")
    if not selected:
        lines = ["Selected Noether loss: none (every meta-tailoring diverged)"]
    else:
        winner = (f"rank {selected['rank']}: {law_of(selected)} (inner lr {number(selected.get('inner_lr'))}, "
                  f"training RMSE {number(selected.get('train_rmse'))})")
        if selected.get("inner_lr") == 0:  # its law takes no step: any candidate at lr 0 ties with it
            lines = [f"Selected Noether loss: none in effect; the winner, {winner}, takes no Noether step",
                     "  inner lr 0: no candidate's Noether step improved the training rollouts, so the "
                     "selected model is the fine-tuning control's"]
        else:
            lines = [f"Selected Noether loss: {winner}"]
    meta = [entry for entry in candidates if entry.get("stage2") is not None]
    if brief or not meta:
        return lines
    meta.sort(key=lambda entry: (entry["stage2"].get("train_rmse") is None,
                                 entry["stage2"].get("train_rmse") or 0.0, entry.get("rank") or 0))
    rows = [[str(entry.get("rank")), law_of(entry), "yes" if entry.get("accepted") else "no",
             number(entry["stage1"].get("inner_lr")), number(entry["stage1"].get("train_rmse"), 4),
             "diverged" if entry["stage2"].get("diverged") else number(entry["stage2"].get("train_rmse"), 4),
             "*" if selected and entry.get("rank") == selected.get("rank") else ""] for entry in meta]
    untailored = (candidates[0]["stage1"].get("sweep") or {}).get("0") if candidates else None
    lines += [f"Stage 1 tailored {len(candidates)} candidates on training rollouts (untailored training RMSE "
              f"{number(untailored, 4)}); the best {len(meta)} were meta-tailored (stage 2):"]
    return lines + text_table(["rank", "law", "accepted", "inner lr", "stage-1 RMSE", "stage-2 RMSE", "selected"],
                              rows)


def format_summary(result: Mapping[str, Any], paths: Sequence[Union[str, "os.PathLike[str]"]] = (),
                   brief: bool = False, laws: Optional[Sequence[Law]] = None) -> str:
    """The end-of-run text (see the module docstring); ``laws``: the result's laws best first,
    when the caller has them (parsing the real pendulum's 231 laws back from the result takes 0.7 s)."""
    laws = laws_from_result(result) if laws is None else laws
    lines = [_overview(result, laws)]
    searches = search_lines(result)
    if searches and not brief:
        lines += ["searches:"] + searches
    lines += [""] + law_table(laws, SUMMARY_ROWS)
    if result.get("known_laws"):
        lines += ["", known_laws_line(result["known_laws"])]
    if result.get("expected_laws"):
        lines += [""] + expected_laws_lines(result["expected_laws"])
    warnings = (result.get("warnings") or []) + ((result.get("tailoring") or {}).get("warnings") or [])
    if warnings:
        lines += ["", "warnings:"] + [f"  {warning}" for warning in warnings]
    tailoring = tailoring_lines(result, laws, brief)
    if tailoring:
        lines += [""] + tailoring
    table = table1_text(result, laws)
    if table:
        lines += [""] + table
    if paths and not brief:
        lines += ["", "written:"] + [f"  {os.fspath(path)}" for path in paths]
    return "\n".join(lines)
