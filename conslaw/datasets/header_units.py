"""Units written in a data file's header: ``theta [deg]``, ``omega[deg/s]`` or ``t (ms)``.

A lab's export often names each column with its unit. Such a column is read as the bare name
(``theta``) with the unit beside it, so ``--units`` can be left out, or name the bare columns.
A unit in brackets may follow the name directly; one in parentheses needs a space before it, so
that a column called ``x(t)`` keeps its name (pint would read ``t`` as a tonne).
"""
from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

import numpy as np

from conslaw.datasets.tables import resolve_units
from conslaw.dsl.units import ParsedUnit, parse_unit
from conslaw.errors import ConslawError, UsageError

_HEADER_UNIT = re.compile(r"""^(?P<name>\S.*?)\s*\[(?P<bracket>[^\[\]]+)\]\s*$     # theta [deg], omega[deg/s]
                             |^(?P<pname>\S.*?)\s+\((?P<paren>[^()]+)\)\s*$""", re.VERBOSE)  # t (ms)


def split_header_units(table: Mapping[str, np.ndarray], file: str
                       ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The table with every ``name [unit]`` column renamed ``name``, and name -> unit text."""
    renamed: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for header, values in table.items():
        match = _HEADER_UNIT.match(header)
        name = header
        if match:
            name = match["name"] or match["pname"]
            units[name] = (match["bracket"] or match["paren"]).strip()
        if name in renamed:
            raise ConslawError(f"data file {file!r}: column {header!r} and another column are both "
                               f"named {name!r} once the units are taken out of the header")
        renamed[name] = values
    return renamed, units


def _header_unit(column: str, text: str) -> ParsedUnit:
    try:
        return parse_unit(text)
    except ConslawError as exc:
        raise UsageError(f"the header's unit of column {column!r}: {exc}") from None


def merge_header_units(units: Optional[str | Mapping[str, str | ParsedUnit]], header: Mapping[str, str],
                       columns: tuple[str, str], file: str, names: Sequence[str] = ()
                       ) -> str | Mapping[str, str | ParsedUnit]:
    """The units to load with: ``units`` as given (a column the header also gives a unit must
    agree with it) and the header's unit of the time column; when ``units`` names no state column
    (none, or the time column's only: ``frame=s/30``), every column the header gives a unit (but
    the trajectory id column's). ``columns``: the time and the trajectory id column; ``names``:
    the file's columns, for the example of a refusal."""
    time_column, trajectory_column = columns
    given = resolve_units(units) if units else {}
    for column, unit in given.items():
        if column in header:
            written = _header_unit(column, header[column])
            if written.dimension != unit.dimension or not np.allclose(
                    (written.to_si, written.offset), (unit.to_si, unit.offset), rtol=1e-12, atol=0):
                raise UsageError(f"column {column!r}: the units say {unit.text!r} but the file's header says "
                                 f"{header[column]!r}")
    if not set(given) - {time_column}:
        given = {**given, **{column: _header_unit(column, text) for column, text in header.items()
                             if column not in (trajectory_column, *given)}}
        if not set(given) - {time_column}:
            states = [name for name in names if name not in columns][:3] or ["q", "p"]
            example = ",".join(f"{name}=..." for name in states)
            raise UsageError(f'--data {file} needs --units naming the state columns and their units, e.g. '
                             f'"{example}" ("1" for a dimensionless column), or units in the file\'s header, '
                             f"e.g. '{states[0]} [m]'")
    if time_column in header and time_column not in given:
        given = {time_column: _header_unit(time_column, header[time_column]), **given}
    return given
