"""Simulated data sets: options to constants, the integration, the split and the metadata.

``simulate`` builds a built-in system's default data set (``load_dataset``); the variant
generator (``variants.py``) reuses the option handling, the split and the metadata.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import sympy

from conslaw.datasets.specs import ATOL, RTOL, Constants, SystemSpec, integrate
from conslaw.datasets.tables import check_fraction
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import parse_unit
from conslaw.errors import UsageError

SIMULATION_OPTIONS = ("t_end", "n_points", "n_trajectories", "test_fraction", "relative_noise")
MAX_SIMULATED_VALUES = 10 ** 8
"""A simulated data set holds at most this many state values (trajectories x samples x columns:
0.8 GB a copy in float64, and a simulation holds several copies); more is refused before any
work (``rate=1e9`` once ran the machine out of memory)."""


def as_bool(name: str, value: Any) -> bool:
    """An option given as a bool or as text (true/false, yes/no, on/off, 1/0)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"option {name}={value!r} is not a boolean (true/false)")


def as_positive(name: str, value: Any, *, integer: bool = False, minimum: float = 0.0,
                zero: bool = False) -> float:
    """An option as a finite number (an integer if asked) strictly greater than ``minimum``
    (or equal to it, when ``zero``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"option {name}={value!r} is not a number") from None
    too_small = number < minimum if zero else number <= minimum
    if not math.isfinite(number) or too_small or (integer and number != int(number)):
        kind = "an integer" if integer else "a finite number"
        raise UsageError(f"option {name}={value!r} must be {kind} {'>=' if zero else '>'} {minimum:g}")
    return int(number) if integer else number


def check_option_names(name: str, options: dict[str, Any], valid: Sequence[str]) -> None:
    """Raise ``UsageError`` naming every option of ``options`` not in ``valid``."""
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UsageError(f"dataset {name!r} has no option(s) {', '.join(unknown)}; valid options: {', '.join(valid)}")


def resolve_options(spec: SystemSpec, options: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """The system's constants (defaults, then the options) and the sampling settings.

    Raises ``UsageError`` for an unknown option, a non-positive constant, a ``*_min`` not below
    its ``*_max``, or a bad ``t_end``, ``n_points``, ``n_trajectories`` or ``test_fraction``.
    """
    constant_names = [c.name for c in spec.constants]
    check_option_names(spec.name, options, [*constant_names, *SIMULATION_OPTIONS, *spec.flags])
    values: dict[str, float | None] = {}
    for constant in spec.constants:
        given = options.get(constant.name)
        values[constant.name] = (as_positive(constant.name, given, zero=constant.zero) if given is not None
                                 else constant.default)
    for low in (n for n in constant_names if n.endswith("_min")):
        high = low[: -len("_min")] + "_max"
        if high in values and values[low] >= values[high]:  # type: ignore[operator]
            raise UsageError(f"option {low}={values[low]} must be smaller than {high}={values[high]}")
    flags = {flag: as_bool(flag, options.get(flag, False)) for flag in spec.flags}
    constants = spec.finalize(values, flags) if spec.finalize else values
    settings: dict[str, Any] = {
        "t_end": as_positive("t_end", options.get("t_end", spec.t_end)),
        "n_points": as_positive("n_points", options.get("n_points", spec.n_points), integer=True, minimum=2),
        "n_trajectories": as_positive(
            "n_trajectories", options.get("n_trajectories", spec.n_trajectories), integer=True, minimum=1
        ),
        "test_fraction": check_fraction("test_fraction", options.get("test_fraction", spec.test_fraction)),
        "relative_noise": as_bool("relative_noise", options.get("relative_noise", False)),
        **flags,
    }
    return constants, settings  # type: ignore[return-value]


def check_simulation_size(system: str, n_trajectories: int, n_points: int, n_columns: int, culprits: str) -> None:
    """Refuse, naming the options that shrink it (``culprits``), a simulation of more than
    ``MAX_SIMULATED_VALUES`` state values."""
    values = n_trajectories * n_points * n_columns
    if values > MAX_SIMULATED_VALUES:
        raise UsageError(f"{system}: {n_trajectories} trajectories x {n_points:,} samples x {n_columns} columns are "
                         f"{values:.1e} values ({8e-9 * values:.3g} GB a copy), more than the {MAX_SIMULATED_VALUES:.0e} "
                         f"a simulated data set may hold: lower {culprits}")


def split_trajectories(
    t: np.ndarray, states: np.ndarray, rates: np.ndarray, test_fraction: float
) -> tuple[list[Trajectory], list[Trajectory]]:
    """Trajectories (n, time, d) to train and test lists: the first ``int(n (1 - f))`` train.

    This is HNN's split: it cuts the concatenated points at the test fraction, which with equal
    lengths gives the first trajectories for training and the last ones for testing.
    """
    n = states.shape[0]
    trajectories = [Trajectory(t=t.copy(), x=states[i], dxdt=rates[i]) for i in range(n)]
    n_train = min(max(int(n * (1.0 - test_fraction)), 1), n - 1)
    return trajectories[:n_train], trajectories[n_train:]


def simulation_metadata(
    spec: SystemSpec, constants: Constants, settings: dict[str, Any], laws: list[tuple[str, sympy.Expr]],
    *, t: np.ndarray, n_train: int, seed: int, noise: float,
) -> dict[str, Any]:
    """The metadata of a simulated data set: source, constants, grid, split, noise, integrator, laws."""
    n_trajectories = settings["n_trajectories"]
    constant_units = {c.name: c.unit for c in spec.constants}
    return {
        "source": "simulated",
        "description": spec.description,
        "reference": spec.reference,
        "constants": {k: {"value": v, "unit": constant_units[k]} for k, v in constants.items()},
        "t_span": [0.0, float(settings["t_end"])],
        "n_points": int(t.shape[0]),
        "dt": float(t[1] - t[0]),
        "n_trajectories": n_trajectories,
        "test_fraction": settings["test_fraction"],
        "split": f"first {n_train} trajectories train, last {n_trajectories - n_train} test",
        "seed": seed,
        "noise": noise,
        "relative_noise": settings["relative_noise"],
        "flags": {flag: settings[flag] for flag in spec.flags},
        "initial_conditions": spec.initial_conditions,
        "integrator": {"method": "RK45", "rtol": RTOL, "atol": ATOL},
        "true_law_names": tuple(law_name for law_name, _ in laws),
        "n_independent_laws": spec.independent_laws(constants),
        "notes": list(spec.notes),
    }


def simulate(spec: SystemSpec, *, seed: int, noise: float, options: dict[str, Any]) -> TrajectoryDataset:
    """A built-in system's data set (``load_dataset``): HNN's protocol, see ``docs/datasets.md``.

    The initial states and the noise come from one ``RandomState(seed)`` stream, in the order
    the system's sampler draws them (HNN's interleaved order for ``pendulum`` and ``spring``).
    """
    constants, settings = resolve_options(spec, options)
    check_simulation_size(spec.name, settings["n_trajectories"], settings["n_points"], len(spec.columns),
                          "n_points or n_trajectories")
    t = np.linspace(0.0, settings["t_end"], settings["n_points"])
    x0, unit_noise = spec.sample(np.random.RandomState(seed), settings["n_trajectories"], settings["n_points"], constants)
    clean = integrate(spec, constants, x0, t)
    rates = spec.field(clean, constants)
    scale = clean.reshape(-1, clean.shape[-1]).std(axis=0) if settings["relative_noise"] else 1.0
    scale = scale * spec.noise_mask(spec.columns)
    states = clean + noise * scale * unit_noise if noise > 0 else clean
    train, test = split_trajectories(t, states, rates, settings["test_fraction"])
    laws = spec.laws(constants)
    law_strings = tuple(str(expression) for _, expression in laws)

    def true_field(x: np.ndarray) -> np.ndarray:
        return spec.field(np.asarray(x, dtype=np.float64), constants)

    return TrajectoryDataset(
        name=spec.name,
        columns=spec.columns,
        dimensions=tuple(parse_unit(u).dimension for u in spec.units),
        train=train,
        test=test,
        separate_test_runs=True,
        units=dict(zip(spec.columns, spec.units)),
        true_law=law_strings[0] if law_strings else None,
        true_laws=law_strings,
        true_field=true_field,
        derivatives="exact",
        metadata=simulation_metadata(spec, constants, settings, laws, t=t, n_train=len(train), seed=seed, noise=noise),
    )
