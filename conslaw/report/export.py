"""Export laws as LaTeX, SymPy, a numpy module, a torch module or JSON, from the ``Law`` records.

Every law text is printed by a SymPy printer (``sympy.latex``, ``sstr``/``srepr``,
``NumPyPrinter``, ``sympy.printing.pytorch.TorchPrinter``) from the law's expression, never pasted
together. Numbers keep full precision (every digit of the double) except in LaTeX (6 significant
digits). Columns are in the units the data were declared in (``units="declared"``, the default:
e.g. ``cos(0.017453292519943295*theta)`` for a ``theta`` in degrees) or in coherent SI
(``units="si"``); every export says which, and gives each fitted parameter with its unit.

Which laws: the independent ones by default (the accepted ones when none is marked
independent); ``top=N``: the N best candidates, accepted or not.
"""
from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError

import conslaw
from conslaw.datasets.derivatives import derived_text
from conslaw.dsl.expressions import column_symbols, full_precision
from conslaw.dsl.units import latex_named_unit, named_unit
from conslaw.errors import ConslawError, UsageError
from conslaw.law import UNIT_VIEWS, Law
from conslaw.report.atomic import to_jsonable
from conslaw.report.printing import law_text, number, python_names
from conslaw.report.records import Source, column_units, dataset_label, resolve
from conslaw.report.table1 import table1_latex

EXPORT_FORMATS = ("latex", "sympy", "python", "torch", "json")
UNIT_NOTES = {"declared": "the columns in the units the data were declared in",
              "si": "the columns in coherent SI units"}


def select_laws(laws: Sequence[Law], top: Optional[int] = None) -> list[Law]:
    """The laws to export, best first (see the module docstring)."""
    ordered = sorted(laws, key=lambda law: law.rank)
    if top is not None:
        if top < 1:
            raise UsageError(f"--top must be at least 1, got {top}")
        if not ordered:
            raise ConslawError("the run has no candidates to export")
        return ordered[:top]
    chosen = [law for law in ordered if law.independent] or [law for law in ordered if law.accepted]
    if not chosen:
        raise ConslawError("the run accepted no law: pass --top N to export the N best candidates anyway")
    return chosen


def _header(result: Mapping[str, Any], laws: Sequence[Law], units: str, top: Optional[int]) -> list[str]:
    which = f"the {top} best candidates, accepted or not" if top is not None else "the independent laws"
    columns = ", ".join(f"{name} [{unit}]" for name, unit in column_units(laws[0].columns, units).items())
    offsets = "; with units such as degC, each law up to its constant" \
        if units == "declared" and any(laws[0].columns.si_offset) else ""
    derived = (result.get("dataset") or {}).get("derived") or {}
    lines = [f"Conservation laws found by conslaw {conslaw.__version__} in {dataset_label(result)!r}: {which}.",
             f"Units: {units} ({UNIT_NOTES[units]}{offsets}): {columns}."]
    if derived:
        lines.append(f"Derived from recorded columns (--derive): {derived_text(derived)}.")
    return lines


def _parameters(law: Law) -> str:
    """``c0 = 3.0000000000099156 [kg**2*m**4/s**2]`` for each parameter of the SI template (a
    unit of several base units that one derived unit names, by that name: ``[ohm**2]``)."""
    if not law.parameters:
        return f"template (coherent SI): {law.template}, no fitted parameter"
    values = "; ".join(f"{p.name} = {p.value!r} [{named_unit(p.unit)}]" for p in law.parameters)
    return f"template (coherent SI): {law.template} with {values}"


def _describe(law: Law, units: str) -> str:
    dependence = f"a function of laws {', '.join(map(str, law.function_of))}" if law.function_of else ""
    marks = ", ".join(word for word, flag in (("independent", law.independent), ("Pareto front", law.pareto),
                                              (dependence, dependence)) if flag)
    evidence = law.evidence
    return (f"Rank {law.rank}: {law.quality}{', ' + marks if marks else ''}; value in {law.unit_text(units)}; "
            f"ratio {number(evidence.ratio)} ± {number(evidence.error)}, held-out {number(evidence.ratio_test)}, "
            f"control {number(evidence.ratio_control)}")


# --------------------------------------------------------------------------- LaTeX


def export_latex(result: Mapping[str, Any], laws: Sequence[Law], units: str, top: Optional[int]) -> str:
    """An ``align`` block of the laws with their units, a ``tabular`` of their parameters and
    evidence and, when the run was evaluated, Table 1. Needs amsmath."""
    lines = ["% " + line for line in _header(result, laws, units, top)]
    lines += ["% Fitted numbers to 6 significant digits (full precision: --format sympy, python or json).",
              "% Needs amsmath (align).", r"\begin{align}"]
    for i, law in enumerate(laws):
        end = r" \\" if i < len(laws) - 1 else ""
        lines.append(f"  g_{{{law.rank}}} &= {law.latex(units)} && [{law.latex_unit(units)}]{end}")
    lines += [r"\end{align}", "", r"\begin{tabular}{llll}", r"\hline",
              r"Law & Quality & Parameters (coherent SI) & Ratio $\pm$ error, held-out, control \\", r"\hline"]
    for law in laws:
        parameters = ", ".join(f"${sympy.latex(sympy.Symbol(p.name))} = {sympy.latex(sympy.Float(p.value, 6))}"
                               f"\\,{latex_named_unit(p.unit)}$" for p in law.parameters) or "--"
        evidence = law.evidence
        ratios = (f"{number(evidence.ratio)} $\\pm$ {number(evidence.error)}, {number(evidence.ratio_test)}, "
                  f"{number(evidence.ratio_control)}")
        lines.append(f"$g_{{{law.rank}}}$ & {law.quality} & {parameters} & {ratios} \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    table = table1_latex(result, laws)
    return "\n".join(lines + ([""] + table if table else [])) + "\n"


# --------------------------------------------------------------------------- SymPy


def export_sympy(result: Mapping[str, Any], laws: Sequence[Law], units: str, top: Optional[int]) -> str:
    """Per law a comment, its ``sstr`` and its ``srepr``: ``sympy.sympify`` reads the srepr back
    exactly (a column named ``E`` or ``I`` stays a real symbol); the str line reads back with
    ``sympy.parse_expr(text, local_dict=symbols)``."""
    lines = ["# " + line for line in _header(result, laws, units, top)]
    lines += ["# Each law: 'str:' (readable; parse with the columns bound as symbols) and 'srepr:'",
              "# (exact: sympy.sympify(text)). Numbers at full precision."]
    for law in laws:
        expression = full_precision(law.sympy(units))
        lines += ["", f"# law_{law.rank}: {_describe(law, units)}", f"# {_parameters(law)}",
                  f"str: {sympy.sstr(expression)}", f"srepr: {sympy.srepr(expression)}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- numpy and torch modules


def _code(printer: Any, law: Law, units: str, names: Mapping[str, str], target: str) -> str:
    symbols = column_symbols(law.columns.names)
    renamed = {symbols[c]: sympy.Symbol(names[c], real=True) for c in law.columns.names}
    try:
        return printer.doprint(full_precision(law.sympy(units)).xreplace(renamed))
    except PrintMethodNotImplementedError as error:
        raise ConslawError(f"law {law.rank} ({law.text()}) has no {target} form: "
                           f"{str(error).splitlines()[0]}") from None


def _module(result: Mapping[str, Any], laws: Sequence[Law], units: str, top: Optional[int],
            kind: str) -> str:
    """A module with ``COLUMNS``, ``UNITS``, ``law_<rank>(states)`` per law and ``LAWS``."""
    if kind == "numpy":
        from sympy.printing.numpy import NumPyPrinter

        printer: Any = NumPyPrinter({"fully_qualified_modules": True, "strict": True})
        signature, unpack, zeros = "(states)", "numpy.moveaxis(numpy.asarray(states, dtype=float), -1, 0)", \
            "numpy.zeros(numpy.shape(states)[:-1])"
    else:
        from sympy.printing.pytorch import TorchPrinter

        printer = TorchPrinter({"strict": True})
        signature, unpack, zeros = "(states: torch.Tensor) -> torch.Tensor", "states.unbind(-1)", \
            "torch.zeros_like(states[..., 0])"
    columns = laws[0].columns.names
    names = python_names(columns)
    usage = (f"Each law_<rank>(states) maps {kind} states (..., {len(columns)}), columns in COLUMNS order, to "
             "(...) values; LAWS lists (name, columns, function). Numbers at full precision.")
    body = []
    for law in laws:
        body += ["", "", f"def law_{law.rank}{signature}:",
                 f'    """{_describe(law, units)}.\n\n    {_parameters(law)}.\n    """',
                 f"    {', '.join(names[c] for c in columns)}{',' if len(columns) == 1 else ''} = {unpack}",
                 f"    return {_code(printer, law, units, names, kind)} + {zeros}"]
    imports = sorted({kind} | {m.split(".")[0] for m in printer.module_imports})
    header = '"""' + "\n".join(_header(result, laws, units, top) + ["", usage]) + '\n"""'
    return "\n".join([header] + [f"import {m}" for m in imports] + [
        "", f"COLUMNS = {tuple(columns)!r}", f"UNITS = {units!r}"] + body + [
        "", "", "LAWS = [" + ", ".join(f"('law_{law.rank}', COLUMNS, law_{law.rank})" for law in laws) + "]"]) + "\n"


def export_python(result: Mapping[str, Any], laws: Sequence[Law], units: str, top: Optional[int]) -> str:
    """A self-contained numpy module (printed by ``NumPyPrinter``)."""
    return _module(result, laws, units, top, "numpy")


def export_torch(result: Mapping[str, Any], laws: Sequence[Law], units: str, top: Optional[int]) -> str:
    """A torch module (printed by ``TorchPrinter``): each ``law_<rank>`` keeps the input's dtype,
    composes with ``torch.func`` and is a law ``NoetherLoss`` accepts."""
    return _module(result, laws, units, top, "torch")


# --------------------------------------------------------------------------- JSON


def export_json(result: Mapping[str, Any], laws: Sequence[Law], units: str, top: Optional[int]) -> str:
    """The laws, their parameters, units and evidence as JSON; ``expression`` is in the chosen
    units at full precision, ``expression_si`` in coherent SI, ``srepr`` the chosen one for
    ``sympy.sympify`` (exact, whatever the column names)."""
    entries = []
    for law in laws:
        entry = law.to_dict()
        entry.update(expression=law_text(law, units), expression_si=law_text(law, "si"),
                     srepr=sympy.srepr(full_precision(law.sympy(units))), latex=law.latex(units))
        entry.update(unit=law.unit_text(units), unit_si=law.unit_text("si"))
        entry.pop("expression_declared", None)
        entry.pop("unit_declared", None)
        entries.append(entry)
    payload = {"conslaw_version": conslaw.__version__, "dataset": dataset_label(result), "units": units,
               "columns": column_units(laws[0].columns, units),
               "selection": "top" if top is not None else "independent", "laws": entries}
    return json.dumps(to_jsonable(payload), indent=2, allow_nan=False) + "\n"


EXPORTERS: dict[str, Callable[[Mapping[str, Any], Sequence[Law], str, Optional[int]], str]] = {
    "latex": export_latex, "sympy": export_sympy, "python": export_python, "torch": export_torch,
    "json": export_json,
}


def export_laws(source: Source, fmt: str, top: Optional[int] = None, units: str = "declared") -> str:
    """The laws of a search or result dict as text in format ``fmt`` (one of ``EXPORT_FORMATS``)."""
    if fmt not in EXPORTERS:
        raise UsageError(f"--format {fmt!r} is unknown; choose one of {', '.join(EXPORT_FORMATS)}")
    if units not in UNIT_VIEWS:
        raise UsageError(f"--units {units!r} is unknown; choose one of {', '.join(UNIT_VIEWS)}")
    result, laws = resolve(source)
    return EXPORTERS[fmt](result, select_laws(laws, top), units, top)


def load_law_module(path: Union[str, Path]) -> list[tuple[str, tuple[str, ...], Callable]]:
    """Import a file written by ``--format python`` or ``--format torch``; its ``LAWS`` list."""
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
        raise ConslawError(f"{path} defines no LAWS list: not a conslaw python or torch export")
    return [(name, tuple(columns), function) for name, columns, function in laws]
