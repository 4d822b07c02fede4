"""Schmidt & Lipson (Science 2009) data files, and the built-in ``real-pendulum`` recording.

Format: a header line ``% name1 name2 ...`` naming the state columns, then whitespace-separated
rows ``trial t name1 name2 ...``, optionally followed by one derivative column per state
(``pendulum_h_1.txt`` has ``trial t o v do dv``).
"""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Hashable, Mapping

import numpy as np

from conslaw.datasets.tables import (
    add_state_noise,
    build_trajectories,
    check_column_values,
    check_fraction,
    check_noise,
    finite_difference,
    numeric_column,
    resolve_units,
    split_block,
    split_by_trajectory,
)
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import DIMENSIONLESS, ParsedUnit
from conslaw.errors import ConslawError, UsageError

REAL_PENDULUM_FILE = "real_pend_h_1.txt"
REAL_PENDULUM_SHA256 = "45d92988198b89a5933f5a53e67aa819d06937516f71a462ac09e1307d8b3411"
REAL_PENDULUM_PROVENANCE = (
    "it is in invar_datasets.zip, the supplementary archive of Schmidt & Lipson, "
    "Science 324:81 (2009), doi:10.1126/science.1165893; a byte-identical public copy is "
    "experiment-real/invar_datasets.zip in github.com/Physics-aware-AI/Symplectic-ODENet "
    "at commit 5e83faf93e8f4990e63821c49d0ce5926a96cc94"
)
DATA_DIR_VARIABLE = "CONSLAW_DATA_DIR"


def read_schmidt_lipson(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read a Schmidt & Lipson file: (state names, all column names, values (rows, columns)).

    Format: a header ``% name1 name2 ...`` naming the states, then whitespace-separated rows
    ``trial t name1 ...``, optionally followed by one derivative column ``d<name>`` per state.
    """
    if not path.is_file():
        raise ConslawError(f"data file {str(path)!r} not found")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ConslawError(f"data file {str(path)!r} is empty")
    if not lines[0].lstrip().startswith("%"):
        raise ConslawError(
            f"data file {str(path)!r}: first line {lines[0][:40]!r} is not a '% name ...' header"
        )
    names = lines[0].lstrip()[1:].split()
    if not names:
        raise ConslawError(f"data file {str(path)!r}: the '%' header names no columns")
    rows = [line.split() for line in lines[1:] if not line.lstrip().startswith("%")]
    if not rows:
        raise ConslawError(f"data file {str(path)!r} has a header but no data rows")
    width = len(rows[0])
    if width not in (2 + len(names), 2 + 2 * len(names)):
        raise ConslawError(
            f"data file {str(path)!r}: {width} columns per row, but the header names {len(names)} "
            f"state(s), so expected {2 + len(names)} (trial t states) or {2 + 2 * len(names)} (with derivatives)"
        )
    for index, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ConslawError(f"data file {str(path)!r} row {index}: {len(row)} fields, expected {width}")
    columns = ["trial", "t", *names] + ([f"d{name}" for name in names] if width > 2 + len(names) else [])
    text = np.array(rows, dtype=object)
    values = np.stack([numeric_column(text[:, i], column) for i, column in enumerate(columns)], axis=1)
    return names, columns, values


def _state_units(
    file: Path, state_names: list[str], units: Mapping[str, str | ParsedUnit] | None
) -> dict[str, ParsedUnit]:
    """The unit of each state named in the header: ``units`` must name exactly those states.

    Without ``units`` every state is dimensionless, with a warning.
    """
    if units is None:
        warnings.warn(
            f"{file.name}: no units given; its states {state_names} are treated as dimensionless",
            stacklevel=3,
        )
        return {n: ParsedUnit("1", DIMENSIONLESS, 1.0) for n in state_names}
    parsed = resolve_units(units)
    unknown = sorted(set(parsed) - set(state_names))
    missing = [n for n in state_names if n not in parsed]
    if unknown or missing:
        raise UsageError(
            f"{file.name}: units must name exactly the states {state_names}; "
            f"missing {missing}, unknown {unknown}"
        )
    return parsed


def _with_noise(
    trajectories: list[Trajectory], noise: float, seed: int, *, recompute_rates: bool
) -> list[Trajectory]:
    """Gaussian state noise from ``RandomState(seed)``, trajectory by trajectory; finite differences redone if asked."""
    rng = np.random.RandomState(seed)
    noisy = []
    for trajectory in trajectories:
        states = add_state_noise(trajectory.x, noise, rng)
        rates = finite_difference(trajectory.t, states) if recompute_rates else trajectory.dxdt
        noisy.append(Trajectory(t=trajectory.t, x=states, dxdt=rates))
    return noisy


def _split_trials(
    ids: list[Hashable], trajectories: list[Trajectory], test_fraction: float, seed: int
) -> tuple[list[Trajectory], list[Trajectory], str]:
    """One trial is split in time (HNN's last block); several are split whole by a seeded shuffle."""
    if len(trajectories) == 1:
        train_piece, test_piece = split_block(trajectories[0], test_fraction)
        split = f"one trial in time order: first {len(train_piece)} samples train, last {len(test_piece)} test"
        return [train_piece], [test_piece], split
    train, test, test_indices = split_by_trajectory(trajectories, test_fraction, seed)
    return train, test, f"by trial: test trials {[ids[i] for i in test_indices]}"


def load_schmidt_lipson(
    path: str | os.PathLike,
    units: Mapping[str, str | ParsedUnit] | None = None,
    *,
    rename: Mapping[str, str] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    noise: float = 0.0,
    name: str | None = None,
) -> TrajectoryDataset:
    """Load any file in the Schmidt & Lipson format as a ``TrajectoryDataset``.

    ``units`` maps the file's state names (as in its header) to unit strings; without it every
    state is declared dimensionless (with a warning). ``rename`` maps file names to column
    names. Each trial is one trajectory, kept in time order. One trial is split in time (the
    last ``test_fraction`` is test, as HNN does); several are split by trajectory. Derivative
    columns in the file are used as given; otherwise dx/dt comes from finite differences in t
    (after any ``noise`` is added to the states).
    """
    file = Path(path)
    test_fraction = check_fraction("test_fraction", test_fraction)
    noise = check_noise(noise)
    state_names, columns, values = read_schmidt_lipson(file)
    parsed = _state_units(file, state_names, units)
    rename = dict(rename or {})
    column_names = tuple(rename.get(n, n) for n in state_names)
    if len(set(column_names)) != len(column_names):
        raise UsageError(f"rename gives duplicate column names {column_names}")

    factors = np.array([parsed[n].to_si for n in state_names])
    n_states = len(state_names)
    x = values[:, 2 : 2 + n_states] * factors
    given_rates = len(columns) == 2 + 2 * n_states
    dxdt = values[:, 2 + n_states :] * factors if given_rates else None
    trials = values[:, 0]
    trial_ids = trials.astype(np.int64) if np.all(trials == np.round(trials)) else trials
    ids, trajectories = build_trajectories(trial_ids, values[:, 1], x, dxdt=dxdt)
    check_column_values(column_names, x)
    if noise > 0:
        trajectories = _with_noise(trajectories, noise, seed, recompute_rates=not given_rates)

    train, test, split = _split_trials(ids, trajectories, test_fraction, seed)
    metadata = {"source": str(file), "file_columns": columns, "column_from_file": dict(zip(column_names, state_names)),
                "trials": ids, "rows": int(values.shape[0]), "split": split, "noise": noise,
                "derivatives_from": "file columns" if given_rates else "np.gradient on the recorded times"}
    return TrajectoryDataset(
        name=name or file.stem, columns=column_names, dimensions=tuple(parsed[n].dimension for n in state_names),
        train=train, test=test, units={c: parsed[n].text for c, n in zip(column_names, state_names)},
        derivatives="exact" if given_rates else "finite-difference", metadata=metadata,
        to_si={c: parsed[n].to_si for c, n in zip(column_names, state_names)},
        separate_test_runs=len(trajectories) > 1,
    )


def resolve_data_file(filename: str, data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` (or ``$CONSLAW_DATA_DIR``) joined with ``filename``; a clear error if absent."""
    directory = data_dir if data_dir is not None else os.environ.get(DATA_DIR_VARIABLE)
    if not directory:
        raise ConslawError(
            f"{filename} not located: pass --data-dir DIR (data_dir=) or set {DATA_DIR_VARIABLE}; "
            f"{REAL_PENDULUM_PROVENANCE}"
        )
    path = Path(directory) / filename
    if not path.is_file():
        raise ConslawError(f"{filename} not found in {str(directory)!r}; {REAL_PENDULUM_PROVENANCE}")
    return path


def load_real_pendulum(
    *, seed: int = 0, noise: float = 0.0, data_dir: str | os.PathLike | None = None, test_fraction: float = 0.2
) -> TrajectoryDataset:
    """Schmidt & Lipson's recorded pendulum: q = angle ``o`` (rad), p = angular velocity ``v`` (rad/s)."""
    path = resolve_data_file(REAL_PENDULUM_FILE, data_dir)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != REAL_PENDULUM_SHA256:
        warnings.warn(f"{path} differs from the published file (sha256 {digest[:12]}...)", stacklevel=2)
    dataset = load_schmidt_lipson(
        path,
        {"o": "rad", "v": "rad/s"},
        rename={"o": "q", "v": "p"},
        test_fraction=test_fraction,
        seed=seed,
        noise=noise,
        name="real-pendulum",
    )
    dataset.metadata.update(
        {
            "sha256": digest,
            "p_meaning": "angular velocity dq/dt in rad/s (the paper and HNN call it p)",
            "time_unit": "seconds per HNN; the file does not document it",
            "reference_law": "p**2 - 2.4*cos(q) (HNN's hand fit k=2.4; Noether Networks: 2.39)",
        }
    )
    return dataset
