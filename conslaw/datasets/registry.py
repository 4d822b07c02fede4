"""The registry of built-in data sets: ``load_dataset(name, ...)`` and ``list_datasets()``."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from conslaw.datasets.schmidt_lipson import load_real_pendulum
from conslaw.datasets.simulate import check_option_names, simulate
from conslaw.datasets.systems import SYSTEMS, SystemSpec
from conslaw.datasets.tables import check_fraction, check_noise
from conslaw.datasets.types import TrajectoryDataset
from conslaw.errors import UsageError


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
    return {
        "name": name,
        "description": spec.description,
        "columns": list(spec.columns),
        "units": dict(zip(spec.columns, spec.units)),
        "options": options,
        "coordinates": ["native", *(c.name for c in spec.coordinates)],
        "coordinate_maps": {c.name: {"units": dict(zip(c.columns, c.units)), "description": c.description}
                            for c in spec.coordinates},
    }


def _spec(name: str) -> SystemSpec | RecordedSpec:
    """The registry entry of ``name``, or a ``UsageError`` listing the valid names."""
    if name not in REGISTRY:
        raise UsageError(f"unknown dataset {name!r}; valid names: {', '.join(REGISTRY)}")
    return REGISTRY[name]


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
        check_option_names(name, options, list(spec.options))
        test_fraction = check_fraction("test_fraction", options.get("test_fraction", spec.options["test_fraction"]))
        return spec.load(seed=seed, noise=noise, data_dir=data_dir, test_fraction=test_fraction)
    if data_dir is not None:
        raise UsageError(f"--data-dir locates the files of recorded data sets; {name!r} is simulated")
    return simulate(spec, seed=int(seed), noise=noise, options=options)
