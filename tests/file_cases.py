"""Small user files for the data-file tests (``test_data_files.py``, ``test_data_file_layouts.py``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    """A text file of ``header`` and ``rows``, one a line."""
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def oscillation_rows(n_trajectories: int, n_points: int, with_id: bool = True) -> list[str]:
    """CSV rows ``[trajectory,]t,theta,omega,note`` of oscillations in degrees, 2 s each."""
    rows = []
    for trajectory in range(n_trajectories):
        for t in np.linspace(0, 2, n_points).tolist():
            angle = 10.0 * (trajectory + 1) * float(np.cos(3 * t))
            prefix = f"{trajectory}," if with_id else ""
            rows.append(f"{prefix}{t!r},{angle!r},{-30.0 * (trajectory + 1) * float(np.sin(3 * t))!r},ignored")
    return rows
