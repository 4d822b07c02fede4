"""Options as data: every configurable value is a dataclass field declared once with ``option``.

Each stage has a frozen configuration dataclass (``DataConfig``, ``DiscoveryConfig``,
``TermsConfig``, ``TailoringConfig``, ``RunConfig``) whose fields carry their default, help text,
command-line flag and, where the flag's text needs one, a parser. ``conslaw.config.SearchConfig``
nests them. The command line builds its click options from these fields (``conslaw.cli``), and
``config.json`` stores them, so each default and each help line is written exactly once.

Field metadata keys (all optional but ``help``):

- ``flag``: the command-line flag (default ``--<name-with-dashes>``); ``negate=True`` makes a
  boolean that defaults to True a switch such as ``--no-plots``;
- ``parse``: ``str -> value`` for flags whose text is not a plain int, float or string;
- ``choices``: the allowed values, shown in ``--help`` and checked by click;
- ``neutral``: changes how a run executes or prints, never its numbers (``--jobs``, ``--quiet``),
  so ``--resume`` may change it;
- ``cli``: False for options of the Python API only;
- ``repeatable``: the flag may be given many times (``--option a=1 --option b=2``), a tuple.
"""
from __future__ import annotations

import copy
import dataclasses
import numbers
import os
import typing
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import numpy as np

from conslaw.errors import UsageError


def option(default: Any, help: str, *, flag: Optional[str] = None,
           parse: Optional[Callable[[str], Any]] = None, choices: Optional[Sequence[str]] = None,
           metavar: Optional[str] = None, negate: bool = False, neutral: bool = False,
           cli: bool = True, repeatable: bool = False) -> Any:
    """A dataclass field with its command-line description (see the module docstring)."""
    metadata = {"help": help, "flag": flag, "parse": parse, "choices": choices,
                "metavar": metavar, "negate": negate, "neutral": neutral, "cli": cli,
                "repeatable": repeatable}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def flag_of(field: dataclasses.Field) -> str:
    """The command-line flag of an option field (``--no-<name>`` for a negated switch)."""
    default = "--" + ("no-" if field.metadata.get("negate") else "") + field.name.replace("_", "-")
    return field.metadata.get("flag") or default


def flags(config_class: type) -> dict[str, str]:
    """The command-line flag of each option of a configuration class, by field name."""
    return {field.name: flag_of(field) for field in dataclasses.fields(config_class)}


def option_fields(config_class: type) -> Iterator[tuple[str, dataclasses.Field]]:
    """``(dotted path, field)`` of every option of a (nested) configuration class."""
    for field in dataclasses.fields(config_class):
        kind = field.type if isinstance(field.type, type) else None
        default_kind = type(field.default_factory()) if field.default_factory is not dataclasses.MISSING \
            else type(field.default)
        nested = kind if kind is not None and dataclasses.is_dataclass(kind) else default_kind
        if dataclasses.is_dataclass(nested) and "help" not in field.metadata:
            for path, inner in option_fields(nested):
                yield f"{field.name}.{path}", inner
        else:
            yield field.name, field


def parse_list(text: str, item: Callable[[str], Any] = str, name: str = "option", separator: str = ",") -> tuple:
    """``"a, b,c"`` -> ``(item("a"), item("b"), item("c"))`` (split at ``separator``); a UsageError
    naming ``name``."""
    parts = [part.strip() for part in str(text).split(separator) if part.strip()]
    try:
        return tuple(item(part) for part in parts)
    except ValueError:
        kind = "comma-separated" if separator == "," else f"{separator!r}-separated"
        raise UsageError(f"{name} must be a {kind} list, got {text!r}") from None


def optional_number(text: str, name: str = "option", absent: Sequence[str] = ("", "none")) -> Optional[float]:
    """``text`` as a float, or None when it is one of ``absent`` (lower case); a UsageError
    naming ``name`` otherwise."""
    if str(text).strip().lower() in absent:
        return None
    try:
        return float(text)
    except ValueError:
        words = " or ".join(repr(word) for word in absent if word)
        raise UsageError(f"{name} must be a number or {words}, got {text!r}") from None


def parse_key_values(items: Sequence[str], name: str = "--option") -> dict:
    """``("a=1", "b-c=x")`` -> ``{"a": "1", "b_c": "x"}``; a UsageError naming ``name``."""
    values = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"{name} {item!r} is not of the form KEY=VALUE")
        key, value = item.split("=", 1)
        values[key.strip().replace("-", "_")] = value.strip()
    return values


def require(condition: bool, config: Any, name: str, rule: str) -> None:
    """Raise a UsageError naming the flag of ``config``'s field ``name`` unless ``condition``."""
    if condition:
        return
    field = next(f for f in dataclasses.fields(config) if f.name == name)
    raise UsageError(f"{flag_of(field)} {rule}, got {getattr(config, name)!r}")


def check_types(config: Any) -> None:
    """Each option of ``config`` as its declared type, or a UsageError naming its keyword and
    flag. The command line parses every value to its type; the Python API takes values as given,
    and a value of another type would fail deep inside a search or be misread
    (``unit_check="no"`` is true). An integer stands for a float, a list for a tuple, a path for
    a text and numpy scalars for Python ones, each stored as the declared type (so ``config.json``
    can hold it); a bool is no number; None is only for an option that may be absent, whose blank
    text is refused rather than taken for its absence (``--out ""``, ``--scheduler ""``)."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        matches, normal = _as_type(value, hints[field.name])
        if not matches:
            raise UsageError(f"{field.name} ({flag_of(field)}) must be {_described(hints[field.name])}, "
                             f"got {value!r}")
        if isinstance(normal, str) and not normal.strip() and type(None) in typing.get_args(hints[field.name]):
            raise UsageError(f"{flag_of(field)} is empty: give a value, or leave the option out")
        object.__setattr__(config, field.name, normal)


def _as_type(value: Any, kind: Any) -> tuple[bool, Any]:
    """Whether ``value`` is of the declared ``kind`` (see ``check_types``), and its normal form."""
    arguments = typing.get_args(kind)
    if typing.get_origin(kind) is Union:
        if value is None:
            return type(None) in arguments, None
        return _as_type(value, next(argument for argument in arguments if argument is not type(None)))
    if kind is bool:
        return isinstance(value, (bool, np.bool_)), bool(value) if isinstance(value, (bool, np.bool_)) else value
    if kind in (int, float):
        number = isinstance(value, numbers.Integral if kind is int else numbers.Real) \
            and not isinstance(value, (bool, np.bool_))
        return number, kind(value) if number else value
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, (list, tuple)):
            return False, value
        items = [_as_type(item, arguments[0]) for item in value]
        return all(matches for matches, _ in items), tuple(normal for _, normal in items)
    if kind is str:  # a path stands for its text (--data, --out, --model-cache)
        return isinstance(value, (str, os.PathLike)), os.fspath(value) if isinstance(value, os.PathLike) else value
    return True, value


def _described(kind: Any) -> str:
    """Words for a declared option type: ``Optional[float]`` -> "a number or None"."""
    arguments = typing.get_args(kind)
    if typing.get_origin(kind) is Union:
        return _described(next(argument for argument in arguments if argument is not type(None))) + " or None"
    if typing.get_origin(kind) is tuple:
        return "a list of " + {str: "texts", float: "numbers", int: "integers"}.get(arguments[0], "values")
    return {bool: "True or False", int: "an integer", float: "a number", str: "a text"}.get(kind, str(kind))
