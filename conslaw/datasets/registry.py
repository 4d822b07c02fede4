"""The registry of built-in data sets: ``load_dataset(name, ...)`` and ``list_datasets()``."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from conslaw.datasets.schmidt_lipson import load_real_pendulum
from conslaw.datasets.systems import ATOL, RTOL, SYSTEMS, SystemSpec, integrate
from conslaw.datasets.tables import check_fraction, check_noise
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import parse_unit
from conslaw.errors import UsageError

SIMULATION_OPTIONS = ("t_end", "n_points", "n_trajectories", "test_fraction", "relative_noise")


@dataclass(frozen=True)
class RecordedSpec:
    """A data set read from a file in the data directory."""

    name: str
    description: str
    options: dict[str, Any]
    load: Callable[..., TrajectoryDataset]


RECORDED: dict[str, RecordedSpec] = {
    "real-pendulum": RecordedSpec(
        name="real-pendulum",
        description="Schmidt & Lipson (2009) recorded pendulum real_pend_h_1.txt: q (rad), p = dq/dt (rad/s)",
        options={"test_fraction": 0.2},
        load=load_real_pendulum,
    ),
}

REGISTRY: dict[str, SystemSpec | RecordedSpec] = {**SYSTEMS, **RECORDED}


def list_datasets() -> list[str]:
    """Names of the built-in data sets."""
    return list(REGISTRY)


def describe_dataset(name: str) -> dict[str, Any]:
    """A built-in data set's description and its options with defaults (and units)."""
    spec = _spec(name)
    if isinstance(spec, RecordedSpec):
        return {"name": name, "description": spec.description, "options": dict(spec.options)}
    options: dict[str, Any] = {c.name: {"default": c.default, "unit": c.unit, "description": c.description} for c in spec.constants}
    options.update(
        {
            "t_end": {"default": spec.t_end, "unit": "s"},
            "n_points": {"default": spec.n_points},
            "n_trajectories": {"default": spec.n_trajectories},
            "test_fraction": {"default": spec.test_fraction},
            "relative_noise": {"default": False},
        }
    )
    options.update({flag: {"default": False} for flag in spec.flags})
    return {"name": name, "description": spec.description, "columns": list(spec.columns), "options": options}


def _spec(name: str) -> SystemSpec | RecordedSpec:
    if name not in REGISTRY:
        raise UsageError(f"unknown dataset {name!r}; valid names: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"option {name}={value!r} is not a boolean (true/false)")


def _as_positive(name: str, value: Any, *, integer: bool = False, minimum: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"option {name}={value!r} is not a number") from None
    if not math.isfinite(number) or number <= minimum or (integer and number != int(number)):
        kind = "an integer" if integer else "a finite number"
        raise UsageError(f"option {name}={value!r} must be {kind} > {minimum:g}")
    return int(number) if integer else number


def _check_option_names(name: str, options: dict[str, Any], valid: list[str]) -> None:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UsageError(f"dataset {name!r} has no option(s) {', '.join(unknown)}; valid options: {', '.join(valid)}")


def load_dataset(
    name: str, *, seed: int = 0, noise: float = 0.0, data_dir: str | os.PathLike | None = None, **options: Any
) -> TrajectoryDataset:
    """Build a built-in data set by name; options set its constants and sampling (see ``describe_dataset``).

    ``noise`` adds Gaussian noise of that standard deviation (SI units of each column, or a
    fraction of each column's spread with ``relative_noise=True``) to the states only; exact
    derivatives stay clean. Raises ``UsageError`` (a ``ConslawError``) for an unknown name or a bad option.
    """
    spec = _spec(name)
    noise = check_noise(noise)
    if isinstance(spec, RecordedSpec):
        _check_option_names(name, options, list(spec.options))
        test_fraction = check_fraction("test_fraction", options.get("test_fraction", spec.options["test_fraction"]))
        return spec.load(seed=seed, noise=noise, data_dir=data_dir, test_fraction=test_fraction)
    return _simulate(spec, seed=int(seed), noise=noise, options=options)


def _resolve_options(spec: SystemSpec, options: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    constant_names = [c.name for c in spec.constants]
    _check_option_names(spec.name, options, [*constant_names, *SIMULATION_OPTIONS, *spec.flags])
    values: dict[str, float | None] = {}
    for constant in spec.constants:
        given = options.get(constant.name)
        values[constant.name] = (
            _as_positive(constant.name, given) if given is not None else constant.default
        )
    for low in (n for n in constant_names if n.endswith("_min")):
        high = low[: -len("_min")] + "_max"
        if high in values and values[low] >= values[high]:  # type: ignore[operator]
            raise UsageError(f"option {low}={values[low]} must be smaller than {high}={values[high]}")
    flags = {flag: _as_bool(flag, options.get(flag, False)) for flag in spec.flags}
    constants = spec.finalize(values, flags) if spec.finalize else values
    settings: dict[str, Any] = {
        "t_end": _as_positive("t_end", options.get("t_end", spec.t_end)),
        "n_points": _as_positive("n_points", options.get("n_points", spec.n_points), integer=True, minimum=2),
        "n_trajectories": _as_positive(
            "n_trajectories", options.get("n_trajectories", spec.n_trajectories), integer=True, minimum=1
        ),
        "test_fraction": check_fraction("test_fraction", options.get("test_fraction", spec.test_fraction)),
        "relative_noise": _as_bool("relative_noise", options.get("relative_noise", False)),
        **flags,
    }
    return constants, settings  # type: ignore[return-value]


def _simulate(spec: SystemSpec, *, seed: int, noise: float, options: dict[str, Any]) -> TrajectoryDataset:
    constants, settings = _resolve_options(spec, options)
    n_trajectories, n_points = settings["n_trajectories"], settings["n_points"]
    t = np.linspace(0.0, settings["t_end"], n_points)
    rng = np.random.RandomState(seed)
    x0, unit_noise = spec.sample(rng, n_trajectories, n_points, constants)
    clean = integrate(spec, constants, x0, t)
    rates = spec.field(clean, constants)
    scale = clean.reshape(-1, clean.shape[-1]).std(axis=0) if settings["relative_noise"] else 1.0
    states = clean + noise * scale * unit_noise if noise > 0 else clean
    trajectories = [Trajectory(t=t.copy(), x=states[i], dxdt=rates[i]) for i in range(n_trajectories)]
    # HNN splits the concatenated points at the test fraction; with equal lengths that is
    # the first trajectories for training and the last ones for testing.
    n_train = min(max(int(n_trajectories * (1.0 - settings["test_fraction"])), 1), n_trajectories - 1)

    laws = spec.laws(constants)
    law_strings = tuple(str(expression) for _, expression in laws)

    def true_field(x: np.ndarray) -> np.ndarray:
        return spec.field(np.asarray(x, dtype=np.float64), constants)

    units = dict(zip(spec.columns, spec.units))
    constant_units = {c.name: c.unit for c in spec.constants}
    return TrajectoryDataset(
        name=spec.name,
        columns=spec.columns,
        dimensions=tuple(parse_unit(u).dimension for u in spec.units),
        train=trajectories[:n_train],
        test=trajectories[n_train:],
        units=units,
        true_law=law_strings[0],
        true_laws=law_strings,
        true_field=true_field,
        derivatives="exact",
        metadata={
            "source": "simulated",
            "description": spec.description,
            "reference": spec.reference,
            "constants": {k: {"value": v, "unit": constant_units[k]} for k, v in constants.items()},
            "t_span": [0.0, float(settings["t_end"])],
            "n_points": n_points,
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
        },
    )
