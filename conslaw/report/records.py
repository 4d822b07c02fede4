"""What the report reads: a search's result dict (``ConservationSearch.result()``) and its laws.

Every report function takes a *source*: a ``ConservationSearch`` (anything with ``result()`` and
``laws_``) or the result dict itself (a loaded result.json), whose candidates are rebuilt as
``Law`` records with ``Law.from_dict``. The helpers here read the few values several report
modules need from the dict, so that its keys are spelled in one place.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Union

from conslaw.dsl.units import format_unit
from conslaw.errors import ConslawError
from conslaw.law import Law, StateColumns

Source = Union[Mapping[str, Any], Any]
PAPER_DATASETS = ("pendulum", "spring")
"""The paper's own data sets (built in, unchanged): only they get the paper's numbers beside ours."""


def laws_from_result(result: Mapping[str, Any]) -> list[Law]:
    """The candidates of a result dict as ``Law`` records, best first."""
    if not result.get("columns"):
        raise ConslawError("the result has no 'columns': not a conslaw result.json")
    columns = StateColumns.from_dict(result["columns"])
    laws = [Law.from_dict(entry, columns) for entry in result.get("candidates") or []]
    return sorted(laws, key=lambda law: law.rank)


def resolve(source: Source) -> tuple[dict, list[Law]]:
    """``(result dict, laws best first)`` of a search or of a result dict."""
    if isinstance(source, Mapping):
        return dict(source), laws_from_result(source)
    return source.result(), sorted(source.laws_, key=lambda law: law.rank)


def data_config(result: Mapping[str, Any]) -> Mapping[str, Any]:
    return (result.get("config") or {}).get("data") or {}


def dataset_label(result: Mapping[str, Any]) -> str:
    """The data set's name: from the data summary, else from the configuration."""
    name = (result.get("dataset") or {}).get("name")
    if name:
        return str(name)
    data = data_config(result)
    if data.get("dataset"):
        return str(data["dataset"])
    return Path(data["data"]).stem if data.get("data") else "?"


def paper_dataset(result: Mapping[str, Any]) -> Optional[str]:
    """The paper's data set this run used (built-in ``pendulum``/``spring`` with no noise and no
    changed constants), else None: a user's file named ``spring.csv`` is not the paper's data."""
    data = data_config(result)
    name = data.get("dataset")
    if name in PAPER_DATASETS and not data.get("noise") and not data.get("options"):
        return name
    return None


def threshold(result: Mapping[str, Any]) -> float:
    """The acceptance factor the run judged with (the discovery section of its configuration)."""
    from conslaw.discovery.conservation import DiscoveryConfig

    discovery = (result.get("config") or {}).get("discovery") or {}
    return float(discovery.get("threshold") or DiscoveryConfig().threshold)


def tailoring_by_rank(result: Mapping[str, Any]) -> dict[int, dict]:
    """Each tailored candidate's record (``stage1``, ``stage2``, ...) by its discovery rank."""
    entries = (result.get("tailoring") or {}).get("candidates") or []
    return {int(entry["rank"]): entry for entry in entries if entry.get("rank") is not None}


def selected_rank(result: Mapping[str, Any]) -> Optional[int]:
    """The discovery rank of the law tailoring selected, or None."""
    selected = (result.get("tailoring") or {}).get("selected") or {}
    return int(selected["rank"]) if selected.get("rank") is not None else None


def column_units(columns: StateColumns, units: str) -> dict[str, str]:
    """Column -> unit text in the chosen view: as declared, or coherent SI."""
    texts = columns.declared if units == "declared" else [format_unit(d) for d in columns.dimensions]
    return dict(zip(columns.names, texts))
