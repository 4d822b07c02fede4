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
from typing import Mapping

import numpy as np

from conslaw.datasets.files import read_schmidt_lipson, resolve_units
from conslaw.datasets.tables import (
    add_state_noise,
    build_trajectories,
    check_fraction,
    check_noise,
    finite_difference,
    split_block,
    split_by_trajectory,
    warn_constant_columns,
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
    if units is None:
        warnings.warn(
            f"{file.name}: no units given; its states {state_names} are treated as dimensionless",
            stacklevel=2,
        )
        parsed = {n: ParsedUnit("1", DIMENSIONLESS, 1.0) for n in state_names}
    else:
        parsed = resolve_units(units)
        unknown = sorted(set(parsed) - set(state_names))
        missing = [n for n in state_names if n not in parsed]
        if unknown or missing:
            raise UsageError(
                f"{file.name}: units must name exactly the states {state_names}; "
                f"missing {missing}, unknown {unknown}"
            )
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
    warn_constant_columns(column_names, x)
    if noise > 0:
        rng = np.random.RandomState(seed)
        noisy = []
        for trajectory in trajectories:
            states = add_state_noise(trajectory.x, noise, rng)
            rates = trajectory.dxdt if given_rates else finite_difference(trajectory.t, states)
            noisy.append(Trajectory(t=trajectory.t, x=states, dxdt=rates))
        trajectories = noisy

    if len(trajectories) == 1:
        train_piece, test_piece = split_block(trajectories[0], test_fraction)
        train, test = [train_piece], [test_piece]
        split = f"one trial in time order: first {len(train_piece)} samples train, last {len(test_piece)} test"
    else:
        train, test, test_indices = split_by_trajectory(trajectories, test_fraction, seed)
        split = f"by trial: test trials {[ids[i] for i in test_indices]}"
    return TrajectoryDataset(
        name=name or file.stem,
        columns=column_names,
        dimensions=tuple(parsed[n].dimension for n in state_names),
        train=train,
        test=test,
        units={c: parsed[n].text for c, n in zip(column_names, state_names)},
        derivatives="exact" if given_rates else "finite-difference",
        metadata={
            "source": str(file),
            "file_columns": columns,
            "column_from_file": dict(zip(column_names, state_names)),
            "trials": ids,
            "rows": int(values.shape[0]),
            "split": split,
            "noise": noise,
            "derivatives_from": "file columns" if given_rates else "np.gradient on the recorded times",
        },
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
