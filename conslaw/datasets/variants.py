"""Variants of the built-in systems: the same physics sampled, shaped and recorded differently.

Discovery must not depend on how data are sampled or written down. ``make_variant`` gives any
built-in simulated system at another sampling rate or span, with more or fewer trajectories,
with noise as a fraction of each column's spread, in the coordinates a user would record
(velocities instead of momenta, polar coordinates), in declared units (degrees, milliseconds,
any unit of the right dimension), together with its true laws in its own columns: ``laws`` for
the SI values the data set holds, ``declared_laws`` for the values in the declared units (as
``write_csv`` writes them).

Initial states come from the system's sampler on ``RandomState(seed)`` with the default grid,
so they are the default data set's initial states whatever the rate, span, noise or
coordinates; the noise comes from a separate stream, ``SeedSequence([seed, NOISE_STREAM])``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import sympy

from conslaw.datasets.files import units_spec, write_csv
from conslaw.datasets.simulate import (
    as_positive, check_simulation_size, resolve_options, simulation_metadata, split_trajectories,
)
from conslaw.datasets.specs import CoordinateMap, SystemSpec, integrate
from conslaw.datasets.systems import SYSTEMS
from conslaw.datasets.tables import TIME_DIMENSION, check_noise
from conslaw.datasets.types import TrajectoryDataset
from conslaw.datasets.variant_laws import NATIVE, coordinate_map, in_declared_units, variant_laws
from conslaw.dsl.units import ParsedUnit, parse_unit
from conslaw.errors import ConslawError, UsageError


NOISE_STREAM = 1
"""The noise of a variant is drawn from ``SeedSequence([seed, NOISE_STREAM])``, apart from the initial states."""

DERIVATIVES = ("exact", "finite-difference")
NOISE_SCALES = ("data", "trajectory", "value")
"""A variant's noise is relative to each column's spread over the whole variant, or over each
trajectory (noisier trajectories beside quieter ones, as recordings of different sizes), or to
each sample's own magnitude (an instrument accurate to a share of its reading: counts, gauges)."""
NOISE_DEFINITIONS = {
    "data": "standard deviation noise x the column's standard deviation over the clean variant",
    "trajectory": "standard deviation noise x the column's standard deviation over the clean trajectory",
    "value": "standard deviation noise x the clean sample's magnitude",
}


@dataclass(frozen=True)
class Variant:
    """A built-in system as a user might record it, with its true laws in its own columns.

    ``dataset`` holds SI values (``dataset.units`` and ``dataset.to_si`` say how they were
    declared). ``laws`` maps each true law's name to a SymPy expression in the columns for
    those SI values (``dataset.true_laws`` as strings); ``declared_laws`` gives the same laws
    for the values in the declared units (as ``write_csv`` writes them), e.g.
    ``cos(pi*theta/180)`` for an angle in degrees. Each law is expanded and has no additive
    constant. ``n_independent`` is the number of functionally independent laws among them.
    """

    dataset: TrajectoryDataset
    laws: dict[str, sympy.Expr]
    declared_laws: dict[str, sympy.Expr]
    n_independent: int

    @property
    def label(self) -> str:
        """A one-line description: system, coordinates, units, grid, noise, trajectories."""
        return str(self.dataset.metadata["variant"]["label"])

    def units_spec(self, time_column: str = "t") -> str:
        """The ``--units`` text for the file ``write_csv`` writes, e.g. ``"t=ms,theta=deg,omega=deg/s"``."""
        return units_spec(self.dataset, time_column)

    def write_csv(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        """Write the variant as a long-format CSV in its declared units (see ``files.write_csv``)."""
        return write_csv(self.dataset, path, **kwargs)


def list_coordinates(system: str) -> list[str]:
    """The coordinates a built-in system's variants can use: ``native`` and its coordinate maps."""
    return [NATIVE, *(c.name for c in _system(system).coordinates)]


def user_coordinates(system: str) -> str:
    """The coordinates a user would typically record: ``velocities`` when the system has them."""
    names = list_coordinates(system)
    return "velocities" if "velocities" in names else NATIVE


def user_variants(
    systems: Sequence[str] | None = None, *, rate: float = 200.0, noises: Sequence[float] = (0.0, 0.01, 0.05),
    seed: int = 0, **kwargs: Any,
) -> Iterator[Variant]:
    """Every system (default: all built-in ones) at ``rate`` Hz and each noise level, in ``user_coordinates``.

    The benchmark matrix of issue 13; ``kwargs`` go to ``make_variant`` for every variant.
    """
    for system in systems if systems is not None else list(SYSTEMS):
        for noise in noises:
            yield make_variant(system, coordinates=user_coordinates(system), rate=rate, noise=noise, seed=seed, **kwargs)


def make_variant(
    system: str,
    *,
    seed: int = 0,
    coordinates: str = NATIVE,
    angle_unit: str = "rad",
    units: Mapping[str, str] | None = None,
    time_unit: str = "s",
    t_end: float | None = None,
    n_points: int | None = None,
    rate: float | None = None,
    oversample: int | None = None,
    subsample: int = 1,
    n_trajectories: int | None = None,
    test_fraction: float | None = None,
    noise: float = 0.0,
    noise_scale: str = "data",
    derivatives: str = "exact",
    **options: Any,
) -> Variant:
    """A variant of the built-in simulated ``system``; ``options`` set its constants and flags.

    - Grid: ``linspace(0, t_end, n)`` with ``n`` from at most one of ``n_points``, ``rate`` (Hz:
      ``n = round(t_end * rate) + 1``) and ``oversample`` (``k``: ``(default n - 1) * k + 1``
      points, so the default times are among them); then every ``subsample``-th sample is kept.
    - ``coordinates``: ``native`` or one of the system's maps (``list_coordinates``).
    - Declared units: ``angle_unit="deg"`` declares every angle column in degrees (``rad`` ->
      ``deg``, ``rad/s`` -> ``deg/s``); ``units`` sets any column's unit (same dimension as its
      SI unit); ``time_unit`` the time column's. The data set stores SI values either way.
    - ``noise``: Gaussian, standard deviation ``noise`` x the column's standard deviation over
      the clean variant, on the states only; with ``noise_scale="trajectory"`` the column's
      standard deviation over each clean trajectory instead, with ``"value"`` the sample's own
      magnitude (``|x|``, so a share of each reading). ``derivatives``: ``exact`` (the
      true field at the clean states) or ``finite-difference`` (of the noisy states, as for a
      user's file).
    - ``n_trajectories``, ``test_fraction`` and ``t_end`` as in ``load_dataset``.

    Raises ``UsageError`` naming the option for any bad option.
    """
    spec = _system(system)
    cmap = coordinate_map(spec, coordinates)
    if derivatives not in DERIVATIVES:
        raise UsageError(f"derivatives must be one of {', '.join(DERIVATIVES)}, got {derivatives!r}")
    if noise_scale not in NOISE_SCALES:
        raise UsageError(f"noise_scale must be one of {', '.join(NOISE_SCALES)}, got {noise_scale!r}")
    constants, settings = _settings(spec, options, t_end=t_end, n_trajectories=n_trajectories, test_fraction=test_fraction)
    count, culprit = _sample_count(spec, settings["t_end"], n_points=n_points, rate=rate, oversample=oversample)
    check_simulation_size(spec.name, settings["n_trajectories"], count, len(cmap.columns if cmap else spec.columns),
                          f"{culprit} or n_trajectories")
    t = np.linspace(0.0, settings["t_end"], count)
    recipe = _Recipe(
        spec=spec, cmap=cmap, constants=constants, settings={**settings, "relative_noise": True}, seed=int(seed),
        noise=check_noise(noise), noise_scale=noise_scale, step=_subsample(subsample, len(t)), derivatives=derivatives,
        declared=_declared_units(cmap.columns if cmap else spec.columns, cmap.units if cmap else spec.units,
                                 angle_unit, units),
        time=_time_unit(time_unit),
    )
    t, states, rates, field = _trajectories(recipe, t)
    named = variant_laws(spec.name, recipe.coordinates, tuple(sorted(constants.items())))
    declared_laws = {name: in_declared_units(law, recipe.declared) for name, law in named}
    dataset = _variant_dataset(recipe, t, states, rates, field, named, declared_laws)
    return Variant(dataset, dict(named), declared_laws, int(dataset.metadata["n_independent_laws"]))


@dataclass(frozen=True)
class _Recipe:
    """The checked choices of one variant."""

    spec: SystemSpec
    cmap: CoordinateMap | None
    constants: dict[str, float]
    settings: dict[str, Any]
    seed: int
    noise: float
    noise_scale: str
    step: int
    derivatives: str
    declared: dict[str, ParsedUnit]
    time: ParsedUnit

    @property
    def coordinates(self) -> str:
        """The coordinate map's name, or ``native``."""
        return self.cmap.name if self.cmap else NATIVE

    @property
    def columns(self) -> tuple[str, ...]:
        """The state columns, in the coordinate map's order."""
        return self.cmap.columns if self.cmap else self.spec.columns

    @property
    def si_units(self) -> tuple[str, ...]:
        """The coherent SI unit of each column."""
        return self.cmap.units if self.cmap else self.spec.units


def _trajectories(recipe: _Recipe, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Times, states and rates (trajectory, time, column) after subsampling, noise and derivatives; the field."""
    spec, constants = recipe.spec, recipe.constants
    x0, _ = spec.sample(np.random.RandomState(recipe.seed), recipe.settings["n_trajectories"], spec.n_points, constants)
    clean, rates, field = _solve(spec, recipe.cmap, constants, x0, t)
    t, clean, rates = t[:: recipe.step], clean[:, :: recipe.step], rates[:, :: recipe.step]
    states = _with_noise(clean, recipe.noise * spec.noise_mask(recipe.columns), recipe.noise_scale, recipe.seed)
    if recipe.derivatives == "finite-difference":
        rates = np.gradient(states, t, axis=1, edge_order=2)
    return t, states, rates, field


def _variant_dataset(
    recipe: _Recipe, t: np.ndarray, states: np.ndarray, rates: np.ndarray, field: Callable[[np.ndarray], np.ndarray],
    named: tuple[tuple[str, sympy.Expr], ...], declared_laws: dict[str, sympy.Expr],
) -> TrajectoryDataset:
    """The variant's ``TrajectoryDataset``: SI values, declared units, true laws and metadata."""
    spec, declared = recipe.spec, recipe.declared
    columns = tuple(declared)
    train, test = split_trajectories(t, states, rates, recipe.settings["test_fraction"])
    metadata = simulation_metadata(
        spec, recipe.constants, recipe.settings, list(named), t=t, n_train=len(train), seed=recipe.seed, noise=recipe.noise
    )
    description: dict[str, Any] = {
        "system": spec.name, "coordinates": recipe.coordinates, "units": {c: declared[c].text for c in columns},
        "time_unit": recipe.time.text, "subsample": recipe.step, "derivatives": recipe.derivatives,
        "noise_stream": [recipe.seed, NOISE_STREAM], "noise_scale": recipe.noise_scale,
    }
    description["label"] = _label(description, t, recipe.settings["n_trajectories"], recipe.noise)
    metadata.update(
        t_span=[float(t[0]), float(t[-1])], variant=description,
        declared_laws={name: str(law) for name, law in declared_laws.items()},
        noise_definition=NOISE_DEFINITIONS[recipe.noise_scale],
    )
    if recipe.cmap:
        metadata["description"] = f"{spec.description}; coordinates: {recipe.cmap.description}"
        if recipe.cmap.constraints:
            symbols = {column: sympy.Symbol(column) for column in recipe.cmap.columns}
            metadata["constraint_names"] = tuple(recipe.cmap.constraints(recipe.constants, symbols))
    law_strings = tuple(str(law) for _, law in named)
    return TrajectoryDataset(
        name=f"{spec.name}-variant", columns=columns,
        dimensions=tuple(parse_unit(u).dimension for u in recipe.si_units), train=train, test=test,
        separate_test_runs=True,
        units={c: declared[c].text for c in columns}, true_law=law_strings[0] if law_strings else None, true_laws=law_strings,
        true_field=field, derivatives=recipe.derivatives, metadata=metadata,
        to_si={c: declared[c].to_si for c in columns}, si_offset={c: declared[c].offset for c in columns},
        time_unit=recipe.time.text, time_to_si=recipe.time.to_si,
    )


# ---------------------------------------------------------------- options
def _system(system: str) -> SystemSpec:
    """The built-in simulated system's spec, or a ``UsageError`` listing the valid names."""
    if system not in SYSTEMS:
        raise UsageError(f"unknown system {system!r} for a variant; valid names: {', '.join(SYSTEMS)}")
    return SYSTEMS[system]


def _settings(
    spec: SystemSpec, options: dict[str, Any], **given: Any
) -> tuple[dict[str, float], dict[str, Any]]:
    """Constants and settings from the system's options plus ``t_end``, ``n_trajectories``, ``test_fraction``."""
    if "relative_noise" in options:
        raise UsageError("relative_noise does not apply to a variant: its noise is always relative to each column's spread")
    return resolve_options(spec, {**options, **{k: v for k, v in given.items() if v is not None}})


def _sample_count(spec: SystemSpec, t_end: float, *, n_points: int | None, rate: float | None,
                  oversample: int | None) -> tuple[int, str]:
    """The number of sample times, from ``n_points``, ``rate`` (Hz) or ``oversample`` (at most one),
    else the default count, and the option that set it."""
    chosen = {k: v for k, v in (("n_points", n_points), ("rate", rate), ("oversample", oversample)) if v is not None}
    if len(chosen) > 1:
        raise UsageError(f"give at most one of n_points, rate and oversample, got {', '.join(chosen)}")
    if n_points is not None:
        return int(as_positive("n_points", n_points, integer=True, minimum=2)), "n_points"
    if rate is not None:
        count = int(round(t_end * as_positive("rate", rate))) + 1
        if count < 3:
            raise UsageError(f"rate={rate!r} gives {count} sample(s) over t_end={t_end:g} s; at least 3 are needed")
        return count, "rate"
    if oversample is not None:
        return (spec.n_points - 1) * int(as_positive("oversample", oversample, integer=True)) + 1, "oversample"
    return spec.n_points, "n_points"


def _subsample(subsample: int, n: int) -> int:
    """Check ``subsample`` (an integer >= 1 that leaves at least 3 samples)."""
    step = int(as_positive("subsample", subsample, integer=True))
    if len(range(0, n, step)) < 3:
        raise UsageError(f"subsample={subsample!r} leaves fewer than 3 of the {n} samples")
    return step


def _declared_units(
    columns: tuple[str, ...], si_units: tuple[str, ...], angle_unit: str, units: Mapping[str, str] | None
) -> dict[str, ParsedUnit]:
    """Each column's declared unit: its SI unit, angles in ``angle_unit``, then the ``units`` overrides."""
    if angle_unit not in ("rad", "deg"):
        raise UsageError(f"angle_unit must be 'rad' or 'deg', got {angle_unit!r}")
    texts = {c: u.replace("rad", angle_unit) for c, u in zip(columns, si_units)}
    unknown = sorted(set(units or {}) - set(columns))
    if unknown:
        raise UsageError(f"units names column(s) {unknown} that the variant does not have; columns: {', '.join(columns)}")
    texts.update(units or {})
    declared = {}
    for column, si_unit in zip(columns, si_units):
        try:
            declared[column] = parse_unit(str(texts[column]))
        except ConslawError as exc:
            raise UsageError(f"units entry for {column!r}: {exc}") from None
        if declared[column].dimension != parse_unit(si_unit).dimension:
            raise UsageError(f"units: column {column!r} is in {si_unit}, so {texts[column]!r} has the wrong dimension")
    return declared


def _time_unit(time_unit: str) -> ParsedUnit:
    """The declared time unit; a ``UsageError`` if it is not a time."""
    try:
        parsed = parse_unit(str(time_unit))
    except ConslawError as exc:
        raise UsageError(f"time_unit: {exc}") from None
    if parsed.dimension != TIME_DIMENSION:
        raise UsageError(f"time_unit={time_unit!r} is not a unit of time")
    return parsed


# ---------------------------------------------------------------- trajectories
def _solve(
    spec: SystemSpec, cmap: CoordinateMap | None, constants: Mapping[str, float], x0: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Clean states and exact rates (trajectory, time, column) in the variant's columns, and its field.

    Native and linear coordinates rescale the native solution; a nonlinear map is integrated
    in its own columns, from the native initial states mapped by ``from_native``.
    """
    if cmap is not None and cmap.scales is None:
        assert cmap.from_native is not None and cmap.field is not None, f"{cmap.name}: nonlinear map without a field"
        clean = integrate(spec, constants, cmap.from_native(x0, constants), t, field=cmap.field)
        field = cmap.field
    else:
        scales = cmap.scales(constants) if cmap else np.ones(len(spec.columns))
        clean = integrate(spec, constants, x0, t) * scales

        def field(y: np.ndarray, c: Mapping[str, float]) -> np.ndarray:
            """The native field, rescaled: dy/dt = scales * f(y / scales)."""
            return spec.field(y / scales, c) * scales

    def true_field(y: np.ndarray) -> np.ndarray:
        """Exact dy/dt at states y (..., d) in the variant's columns."""
        return field(np.asarray(y, dtype=np.float64), constants)

    return clean, true_field(clean), true_field


def _with_noise(clean: np.ndarray, noise: np.ndarray, scale: str, seed: int) -> np.ndarray:
    """States (trajectory, time, column) plus Gaussian noise of ``noise`` (per column) x each
    column's spread over the variant or, for ``scale="trajectory"``, over each trajectory, or, for
    ``scale="value"``, each sample's magnitude, from the variant's noise stream."""
    if not np.any(noise):
        return clean
    spread = {"trajectory": lambda: clean.std(axis=1, keepdims=True), "value": lambda: np.abs(clean),
              "data": lambda: clean.reshape(-1, clean.shape[-1]).std(axis=0)}[scale]()
    rng = np.random.default_rng(np.random.SeedSequence([seed, NOISE_STREAM]))
    return clean + noise * spread * rng.standard_normal(clean.shape)


def _label(description: Mapping[str, Any], t: np.ndarray, n_trajectories: int, noise: float) -> str:
    """E.g. ``pendulum velocities [theta=deg, omega=deg/s; t in ms], 441 samples over 3 s (147 Hz), noise 1%, 50 trajectories``."""
    units = ", ".join(f"{c}={u}" for c, u in description["units"].items())
    rate = (len(t) - 1) / (t[-1] - t[0])
    per = {"trajectory": " of each trajectory's spread", "value": " of each value"}.get(description["noise_scale"], "") \
        if noise else ""
    return (
        f"{description['system']} {description['coordinates']} [{units}; t in {description['time_unit']}], "
        f"{len(t)} samples over {t[-1] - t[0]:g} s ({rate:.4g} Hz), noise {noise:.3g}{per}, "
        f"{n_trajectories} trajectories"
    )
