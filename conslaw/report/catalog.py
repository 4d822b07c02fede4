"""The built-in data sets as text, for ``conslaw datasets`` (``describe_dataset`` as a table)."""
from __future__ import annotations

from typing import Optional

from conslaw.datasets.registry import describe_dataset, list_datasets


def datasets_text(name: Optional[str] = None) -> str:
    """One line per built-in data set; with ``name``, that data set's columns (native units),
    the coordinates its variants offer and its options, each with its default, unit and
    meaning."""
    if name is None:
        width = max(len(known) for known in list_datasets())
        lines = [f"{known:<{width}}  {describe_dataset(known)['description']}" for known in list_datasets()]
        return "\n".join(lines + ["", "conslaw datasets NAME: its columns, coordinates and options "
                                       "(conslaw search --dataset NAME --option KEY=VALUE)"]) + "\n"
    info = describe_dataset(name)
    lines = [f"{info['name']}: {info['description']}"]
    if "columns" in info:
        lines.append("columns: " + ", ".join(f"{column} [{info['units'][column]}]" for column in info["columns"]))
        lines.append(f"coordinates of its variants (--variant coordinates=NAME; Python: "
                     f"make_variant({name!r}, coordinates=...)): "
                     + ", ".join(info["coordinates"]))
        for coordinates, described in info["coordinate_maps"].items():
            columns = ", ".join(f"{column} [{unit}]" for column, unit in described["units"].items())
            lines.append(f"  {coordinates}: {columns}; {described['description']}")
    lines.append("options (--option KEY=VALUE):")
    for key, value in info["options"].items():
        described = value if isinstance(value, dict) else {"default": value}
        unit = f" [{described['unit']}]" if described.get("unit") else ""
        meaning = f"  {described['description']}" if described.get("description") else ""
        lines.append(f"  {key} = {described.get('default')}{unit}{meaning}")
    return "\n".join(lines) + "\n"
