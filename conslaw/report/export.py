"""Export discovered laws from a result.json as LaTeX, SymPy, a numpy module, a torch module or JSON.

Every format is produced by a SymPy printer from the parsed law (``sympy.latex``, ``srepr``/``str``,
``NumPyPrinter``, conslaw's ``TorchLawPrinter``), never by pasting expression strings.

Which laws: by default the independent laws (``result["laws"]``; the accepted ones if that list
is empty). ``top=N`` exports the N best-ranked candidates instead, accepted or not.
"""
from __future__ import annotations

import importlib.util
import json
import keyword
import math
import re
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter

import conslaw
from conslaw.dsl.units import latex_unit, parse_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.report.rundir import to_jsonable

EXPORT_FORMATS = ("latex", "sympy", "python", "torch", "json")

#: Significant digits of fitted numbers in LaTeX (the other formats keep full precision).
LATEX_DIGITS = 6

#: Display names of the evaluation's methods, in table order (issue 10's key names).
METHOD_NAMES = {
    "vanilla": "Vanilla MLP",
    "finetune": "Fine-tuning control",
    "tailored": "Tailored, selected law",
    "noether": "Noether (meta-tailored)",
    "oracle": "Oracle (true law)",
    "hnn": "HNN",
}


# --------------------------------------------------------------------------- shared helpers


def column_symbols(columns: Sequence[str]) -> dict[str, sympy.Symbol]:
    """One real SymPy symbol per column (names such as ``E``, ``S`` or ``I`` stay plain symbols)."""
    return {name: sympy.Symbol(name, real=True) for name in columns}


def dataset_columns(result: Mapping[str, Any]) -> list[str]:
    try:
        return list(result["dataset"]["columns"])
    except (KeyError, TypeError):
        raise ConslawError("result.json has no dataset.columns: not a conslaw result") from None


def law_expression(candidate: Mapping[str, Any], columns: Sequence[str]) -> sympy.Expr:
    """Parse a candidate's ``expression`` onto the column symbols; ConslawError naming it if bad."""
    text = candidate.get("expression")
    symbols = column_symbols(columns)
    try:
        expr = sympy.parse_expr(str(text), local_dict=dict(symbols))
    except Exception as error:  # SymPy raises SyntaxError, TokenError, TypeError, ...
        raise ConslawError(f"candidate {candidate.get('rank')}: cannot parse expression {text!r} ({error})") from None
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in symbols)
    if unknown:
        raise ConslawError(
            f"candidate {candidate.get('rank')}: expression {text!r} uses {', '.join(unknown)}, "
            f"not a column ({', '.join(columns)})"
        )
    return expr


def select_laws(result: Mapping[str, Any], top: Optional[int] = None) -> list[dict]:
    """The candidates to export, best first (see the module docstring for the rule)."""
    candidates = sorted(result.get("candidates") or [], key=lambda c: c["rank"])
    if top is not None:
        if top < 1:
            raise UsageError(f"--top must be at least 1, got {top}")
        if not candidates:
            raise ConslawError("the run has no candidates to export")
        return candidates[:top]
    by_rank = {c["rank"]: c for c in candidates}
    chosen = [by_rank[rank] for rank in result.get("laws") or [] if rank in by_rank]
    chosen = chosen or [c for c in candidates if c.get("accepted")]
    if not chosen:
        raise ConslawError("the run accepted no law; pass --top N to export the N best candidates anyway")
    return chosen


def law_name(candidate: Mapping[str, Any]) -> str:
    """``law_<rank>``: the function name used by the python and torch exports."""
    return f"law_{candidate['rank']}"


def _format_number(value: Optional[float], digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}g}"


#: Names the generated modules use themselves; a column with one of them is renamed.
_MODULE_NAMES = frozenset({"math", "numpy", "torch", "states", "COLUMNS", "LAWS"})


def _safe_identifiers(columns: Sequence[str]) -> dict[str, str]:
    """Column -> Python variable name: a keyword (``lambda``) or a name the module needs itself
    (``torch``, ``states``, ...) gets trailing underscores until it is free."""
    taken = set(columns) | _MODULE_NAMES
    names = {}
    for column in columns:
        name = column
        if keyword.iskeyword(name) or name in _MODULE_NAMES:
            while name in taken or keyword.iskeyword(name):
                name += "_"
            taken.add(name)
        names[column] = name
    return names


def _units_line(result: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The columns with the units the laws take them in: the coherent SI units the states were
    converted to (``si_units``; e.g. rad for a column recorded in deg), else the declared ones."""
    dataset = result.get("dataset") or {}
    units = dataset.get("si_units") or dataset.get("units") or {}
    return ", ".join(f"{name} [{units.get(name, '?')}]" for name in columns)


def _header_lines(result: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    name = (result.get("dataset") or {}).get("name", "?")
    return [
        f"Conservation laws found by conslaw {conslaw.__version__} in dataset {name!r}.",
        f"State columns in coherent SI units: {_units_line(result, columns)}.",
    ]


def _ratio_text(candidate: Mapping[str, Any]) -> str:
    conservation = candidate.get("conservation") or {}
    return f"true {_format_number(conservation.get('true'))}, random {_format_number(conservation.get('random'))}"


# --------------------------------------------------------------------------- LaTeX


def _latex_escape(text: str) -> str:
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
    return "".join(replacements.get(ch, ch) for ch in text)


def _round_floats(expr: sympy.Expr, digits: int) -> sympy.Expr:
    return expr.xreplace({f: sympy.Float(f, digits) for f in expr.atoms(sympy.Float)})


def _multi_letter_names(columns: Sequence[str]) -> dict[sympy.Symbol, str]:
    """Columns that LaTeX would read as a product of letters (``px`` as p times x), set upright-italic
    as one name: ``\\mathit{px}``. Greek names (``theta``) and subscripts (``x_1``) need nothing."""
    names = {}
    for column in columns:
        symbol = sympy.Symbol(column, real=True)
        typeset = sympy.latex(symbol)
        if re.search(r"(?<![\\A-Za-z])[A-Za-z]{2,}", typeset):
            names[symbol] = r"\mathit{" + typeset + "}"
    return names


def latex_column(column: str) -> str:
    """One column name typeset as in :func:`latex_law`."""
    symbol = sympy.Symbol(column, real=True)
    return _multi_letter_names([column]).get(symbol, sympy.latex(symbol))


def latex_law(candidate: Mapping[str, Any], columns: Sequence[str], digits: int = LATEX_DIGITS) -> str:
    """The law typeset by ``sympy.latex``, its fitted numbers to ``digits`` significant digits.

    With multi-letter column names products get an explicit ``\\cdot``, so ``px y`` cannot be misread.
    """
    expr = _round_floats(law_expression(candidate, columns), digits)
    names = _multi_letter_names(columns)
    if names:
        return sympy.latex(expr, symbol_names=names, mul_symbol="dot")
    return sympy.latex(expr)


def latex_unit_text(unit: Optional[str]) -> str:
    """A conslaw unit string (``kg**2*m**4/s**2``) typeset for LaTeX math mode."""
    return latex_unit(parse_unit(unit).dimension) if unit else "?"


def _latex_number(value: Optional[float]) -> str:
    """Three significant digits, as the terminal table shows them; powers of ten as ``\\cdot 10^{k}``."""
    if value is None or not math.isfinite(value):
        return r"\text{n/a}"
    text = f"{value:.3g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa} \\cdot 10^{{{int(exponent)}}}"


def rmse_stats(evaluation: Mapping[str, Any], method: str) -> Optional[dict]:
    """``{"mean", "std", "median", "n"}`` of a method's test RMSE over seeds, or None when absent.

    Uses ``evaluation["summary"][method]`` when the pipeline wrote it, else computes it from
    ``per_seed`` (sample std), else falls back to ``<method>_rmse`` alone.
    """
    summary = (evaluation.get("summary") or {}).get(method)
    if summary and summary.get("mean") is not None:
        return {key: summary.get(key) for key in ("mean", "std", "median", "n")}
    values = [float(v) for v in (evaluation.get("per_seed") or {}).get(method) or []
              if v is not None and math.isfinite(v)]
    if values:
        std = statistics.stdev(values) if len(values) > 1 else None
        return {"mean": statistics.fmean(values), "std": std, "median": statistics.median(values),
                "n": len(values)}
    mean = evaluation.get(f"{method}_rmse")
    if mean is None or not math.isfinite(mean):
        return None
    return {"mean": float(mean), "std": None, "median": None, "n": 1}


def evaluation_methods(evaluation: Mapping[str, Any]) -> list[str]:
    """Methods present in an evaluation, known ones in table order, then any others."""
    present = {key[: -len("_rmse")] for key in evaluation if key.endswith("_rmse")}
    present |= set(evaluation.get("per_seed") or {})
    known = [m for m in METHOD_NAMES if m in present]
    return known + sorted(present - set(METHOD_NAMES))


def method_formula(result: Mapping[str, Any], method: str) -> Optional[str]:
    """The law a method used: the selected law for the tailored rows, the true law for the oracle."""
    if method in ("noether", "tailored"):
        selected = result.get("selected") or {}
        return selected.get("expression")
    if method == "oracle":
        return (result.get("dataset") or {}).get("true_law") or (result.get("evaluation") or {}).get("true_law")
    return None


def is_selected(candidate: Mapping[str, Any], selected: Optional[Mapping[str, Any]]) -> bool:
    """Whether ``candidate`` is the law tailoring selected (same rank when both have one, else the
    same expression)."""
    if not selected:
        return False
    if selected.get("rank") is not None and candidate.get("rank") is not None:
        return selected["rank"] == candidate["rank"]
    return selected.get("expression") == candidate.get("expression")


def _latex_rmse(stats: Optional[dict]) -> str:
    if stats is None:
        return "--"
    mean, std = stats["mean"], stats.get("std")
    return f"${_latex_number(mean)}$" if not std else f"${_latex_number(mean)} \\pm {_latex_number(std)}$"


def _latex_formula_text(text: Optional[str], columns: Sequence[str]) -> str:
    if not text:
        return "--"
    return "$" + latex_law({"expression": text, "rank": "-"}, columns) + "$"


def export_latex(result: Mapping[str, Any], laws: Sequence[Mapping[str, Any]]) -> str:
    """An ``align`` block of the laws with units, a ``tabular`` of law / unit / ratios / RMSE and,
    when the run was evaluated, a ``tabular`` of the prediction RMSE per method (Table 1)."""
    columns = dataset_columns(result)
    evaluation = result.get("evaluation") or {}
    selected = result.get("selected") or {}
    noether = rmse_stats(evaluation, "noether") if evaluation else None
    lines = ["% " + line for line in _header_lines(result, columns)]
    lines += ["% Needs amsmath (align). Ratios: mean within-trajectory variance / spread, on true and random data.", ""]
    lines.append(r"\begin{align}")
    for i, law in enumerate(laws):
        end = r" \\" if i < len(laws) - 1 else ""
        lines.append(
            f"  g_{{{law['rank']}}} &= {latex_law(law, columns)} && "
            f"[{latex_unit_text(law.get('unit'))}]{end}"
        )
    lines += [r"\end{align}", ""]
    lines += [r"\begin{tabular}{llll}", r"\hline",
              r"Law & Unit & Conservation ratio (true / random) & Test RMSE \\", r"\hline"]
    for law in laws:
        conservation = law.get("conservation") or {}
        ratio = f"${_latex_number(conservation.get('true'))}$ / ${_latex_number(conservation.get('random'))}$"
        rmse = _latex_rmse(noether) if is_selected(law, selected) else "--"
        lines.append(f"${latex_law(law, columns)}$ & ${latex_unit_text(law.get('unit'))}$ & {ratio} & {rmse} \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    if evaluation:
        seeds = evaluation.get("seeds") or []
        lines += ["", f"% Long-horizon test rollout RMSE, mean $\\pm$ std over {len(seeds) or 1} seed(s).",
                  r"\begin{tabular}{lll}", r"\hline", r"Method & Law & RMSE \\", r"\hline"]
        for method in evaluation_methods(evaluation):
            label = _latex_escape(METHOD_NAMES.get(method, method))
            formula = _latex_formula_text(method_formula(result, method), columns)
            lines.append(f"{label} & {formula} & {_latex_rmse(rmse_stats(evaluation, method))} \\\\")
        lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SymPy, numpy, torch, JSON


def export_sympy(result: Mapping[str, Any], laws: Sequence[Mapping[str, Any]]) -> str:
    """Per law a comment, its ``str`` and its ``srepr``; each line after the label parses with
    ``sympy.sympify`` (the ``srepr`` keeps the symbols' ``real=True`` assumption)."""
    columns = dataset_columns(result)
    lines = ["# " + line for line in _header_lines(result, columns)]
    lines.append("# Each 'str:' and 'srepr:' line parses with sympy.sympify(text after the label).")
    for law in laws:
        expr = law_expression(law, columns)
        lines += ["", f"# {law_name(law)}: rank {law['rank']}, unit {law.get('unit')}, ratio {_ratio_text(law)}",
                  f"str: {sympy.sstr(expr)}", f"srepr: {sympy.srepr(expr)}"]
    return "\n".join(lines) + "\n"


def _module_docstring(result: Mapping[str, Any], columns: Sequence[str], usage: str) -> str:
    return '"""' + "\n".join(_header_lines(result, columns) + ["", usage]) + '\n"""'


def _law_docstring(law: Mapping[str, Any]) -> str:
    return (f'    """Rank {law["rank"]}: {law.get("expression")}  [{law.get("unit")}]; '
            f'conservation ratio {_ratio_text(law)}."""')


def _print_code(printer: Any, expr: sympy.Expr, law: Mapping[str, Any], target: str) -> str:
    try:
        return printer.doprint(expr)
    except PrintMethodNotImplementedError as error:
        reason = str(error).splitlines()[0]
        raise ConslawError(f"law {law.get('expression')!r} has no {target} equivalent ({reason})") from None


def export_python(result: Mapping[str, Any], laws: Sequence[Mapping[str, Any]]) -> str:
    """A self-contained numpy module: ``law_<rank>(<columns>)`` per law, ``COLUMNS`` and ``LAWS``."""
    columns = dataset_columns(result)
    names = _safe_identifiers(columns)
    renamed = {sympy.Symbol(c, real=True): sympy.Symbol(names[c], real=True) for c in columns}
    printer = NumPyPrinter({"fully_qualified_modules": True, "strict": True})
    usage = ("Each law_<rank>(...) takes one numpy array (or float) per state column, in COLUMNS order,\n"
             "and returns the law's value. LAWS lists (name, columns, function).")
    lines = [_module_docstring(result, columns, usage), "import numpy", "",
             f"COLUMNS = {tuple(columns)!r}", ""]
    arguments = ", ".join(names[c] for c in columns)
    for law in laws:
        expr = law_expression(law, columns).xreplace(renamed)
        lines += ["", f"def {law_name(law)}({arguments}):", _law_docstring(law),
                  f"    return {_print_code(printer, expr, law, 'numpy')}", ""]
    lines += ["", "LAWS = [" + ", ".join(f"({law_name(l)!r}, COLUMNS, {law_name(l)})" for l in laws) + "]"]
    for module in sorted(printer.module_imports):
        if module != "numpy":
            lines.insert(1, f"import {module}")
    return "\n".join(lines) + "\n"


def export_torch(result: Mapping[str, Any], laws: Sequence[Mapping[str, Any]]) -> str:
    """A torch module: ``law_<rank>(x)`` maps a ``(..., d)`` state tensor to ``(...)`` values.

    Contract (what :func:`load_torch_laws` and ``NoetherLoss`` rely on): the module defines
    ``COLUMNS`` (the state columns, in order) and ``LAWS = [(name, columns, function)]``; each
    function is a plain callable ``g(x)`` composable with ``torch.func``, so
    ``NoetherLoss(module.law_1)`` works directly.
    """
    from conslaw.tailoring.laws import TorchLawPrinter

    columns = dataset_columns(result)
    names = _safe_identifiers(columns)
    renamed = {sympy.Symbol(c, real=True): sympy.Symbol(names[c], real=True) for c in columns}
    printer = TorchLawPrinter()
    usage = ("Each law_<rank>(states) maps a (..., d) tensor of states (columns in COLUMNS order) to (...)\n"
             "values; LAWS lists (name, columns, function). Use one as a Noether loss with\n"
             "conslaw.tailoring.NoetherLoss(law_1), or load the file with conslaw.report.load_torch_laws.")
    lines = [_module_docstring(result, columns, usage), "import math", "", "import torch", "",
             f"COLUMNS = {tuple(columns)!r}", ""]
    unpack = ", ".join(names[c] for c in columns) + ("," if len(columns) == 1 else "")
    for law in laws:
        expr = law_expression(law, columns).xreplace(renamed)
        lines += ["", f"def {law_name(law)}(states: torch.Tensor) -> torch.Tensor:", _law_docstring(law),
                  f"    {unpack} = states.unbind(-1)",
                  f"    return {_print_code(printer, expr, law, 'torch')} + torch.zeros_like(states[..., 0])", ""]
    lines += ["", "LAWS = [" + ", ".join(f"({law_name(l)!r}, COLUMNS, {law_name(l)})" for l in laws) + "]"]
    return "\n".join(lines) + "\n"


def export_json(result: Mapping[str, Any], laws: Sequence[Mapping[str, Any]]) -> str:
    """``{"dataset": ..., "laws": [candidate, ...]}`` as indented JSON."""
    payload = {"dataset": result.get("dataset"), "laws": list(laws)}
    return json.dumps(to_jsonable(payload), indent=2, allow_nan=False) + "\n"


_EXPORTERS: dict[str, Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], str]] = {
    "latex": export_latex,
    "sympy": export_sympy,
    "python": export_python,
    "torch": export_torch,
    "json": export_json,
}


def export_laws(result: Mapping[str, Any], fmt: str, top: Optional[int] = None) -> str:
    """The laws of ``result`` (a loaded result.json) as text in format ``fmt``.

    ``fmt`` is one of :data:`EXPORT_FORMATS`; anything else raises :class:`UsageError`.
    """
    if fmt not in _EXPORTERS:
        raise UsageError(f"--format {fmt!r} is unknown; choose one of {', '.join(EXPORT_FORMATS)}")
    return _EXPORTERS[fmt](result, select_laws(result, top))


def load_result(run: Path | str) -> dict:
    """Read ``result.json`` from a run directory (or the file itself); ConslawError naming it if absent."""
    path = Path(run)
    if path.is_dir():
        path = path / "result.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConslawError(f"{path} does not exist: is {run} a finished conslaw run?") from None
    except (OSError, json.JSONDecodeError) as error:
        raise ConslawError(f"cannot read {path}: {error}") from None


def load_torch_laws(path: Path | str) -> list[tuple[str, tuple[str, ...], Callable]]:
    """Import a file written by ``--format torch`` and return its ``LAWS`` list."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"conslaw_laws_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ConslawError(f"cannot load laws from {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ConslawError(f"cannot load laws from {path}: {type(error).__name__}: {error}") from None
    finally:
        sys.modules.pop(spec.name, None)
    laws = getattr(module, "LAWS", None)
    if not isinstance(laws, list):
        raise ConslawError(f"{path} defines no LAWS list: not a conslaw torch export")
    return [(name, tuple(columns), function) for name, columns, function in laws]
