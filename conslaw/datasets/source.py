"""Where a search's trajectories come from: a built-in data set or the user's file."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Union

from conslaw.datasets.derivatives import derive_columns
from conslaw.datasets.files import load_file
from conslaw.datasets.missing import MISSING_POLICIES
from conslaw.datasets.registry import RECORDED, load_dataset
from conslaw.datasets.types import TrajectoryDataset
from conslaw.datasets.variants import make_variant
from conslaw.errors import UsageError
from conslaw.options import check_types, flag_of, option, parse_key_values

VARIANT_KEYS = ("coordinates", "angle_unit", "time_unit", "rate", "oversample", "subsample", "noise",
                "noise_scale", "derivatives")
"""The ``make_variant`` keywords ``--variant`` takes (the system's constants and ``t_end``,
``n_points``, ``n_trajectories``, ``test_fraction`` go through ``--option``, the seed through
``--seed``)."""


@dataclass(frozen=True)
class DataConfig:
    """The data of a search: exactly one of ``dataset`` (built-in) or ``data`` (a file)."""

    dataset: Optional[str] = option(None, "A built-in data set (pendulum, spring, real-pendulum, "
                                    "oscillator2d, ...).")
    data: Optional[str] = option(None, "A text table (.csv, .tsv, .txt, .dat; separated by commas, "
                                 "tabs, semicolons, bars or spaces) or an NPZ file, in long format: "
                                 "a trajectory id column, a time column and the state columns.",
                                 metavar="FILE")
    units: Optional[str] = option(None, 'Each state column and its unit, e.g. "q=deg,p=kg*m**2/s"; '
                                  "a unit for the time column sets the time unit; other columns "
                                  "are ignored. Without it, or with the time column's only "
                                  "(\"frame=s/30\"), the units in the file's header ('q [deg]') "
                                  "name the state columns.")
    trajectory_column: str = option("trajectory", "The file's trajectory id column (without it the "
                                    "file is one trajectory).")
    time_column: str = option("t", "The file's time column.")
    missing: str = option("refuse", "A --data row with an empty or NaN time or state: refuse the file, "
                          "or split: drop such rows and split their trajectory there (pieces too short "
                          "for finite differences are dropped).", choices=MISSING_POLICIES)
    derive: Optional[str] = option(None, 'Time derivatives a --data file lacks, added as state '
                                   'columns: "x=vx,y=vy" (vx = dx/dt, in x\'s unit per the time '
                                   'unit; "x" alone names it x_dot), by local polynomial fits '
                                   '(docs/datasets.md).', metavar="COLUMN=NAME,...")
    data_dir: Optional[str] = option(None, "Directory of the Schmidt & Lipson files (default: "
                                     "$CONSLAW_DATA_DIR).")
    options: tuple[str, ...] = option((), "A built-in system's option KEY=VALUE, repeatable "
                                      "(e.g. anisotropic=true, n_points=450; in the Python API a "
                                      "list of such texts or a mapping).", flag="--option",
                                      metavar="KEY=VALUE", repeatable=True)
    noise: float = option(0.0, "Gaussian noise (SI units of each column) added to a built-in "
                          "system's simulated states.")
    variant: tuple[str, ...] = option((), "A built-in simulated system recorded otherwise, KEY=VALUE, "
                                      "repeatable: coordinates=NAME (conslaw datasets NAME lists "
                                      "them), angle_unit=deg, time_unit=ms, rate=HZ, oversample=K, "
                                      "subsample=K, noise=FRACTION (of each column's spread), "
                                      "noise_scale=data|trajectory|value, derivatives=exact|"
                                      "finite-difference (docs/datasets.md, Variants).",
                                      flag="--variant", metavar="KEY=VALUE", repeatable=True)

    def __post_init__(self) -> None:
        for name in ("options", "variant"):  # the API's {"n_trajectories": 12}
            if isinstance(getattr(self, name), Mapping):
                object.__setattr__(self, name, tuple(f"{key}={value}" for key, value in getattr(self, name).items()))
        check_types(self)
        if (self.dataset is None) == (self.data is None):
            raise UsageError("give exactly one of --dataset NAME or --data FILE")
        if self.data is not None:
            if self.noise:
                raise UsageError("--noise applies to built-in systems only, not to --data files")
            if self.options:
                raise UsageError("--option sets a built-in system's constants; it does not apply to --data files")
            if self.variant:
                raise UsageError("--variant records a built-in system otherwise; it does not apply to --data files")
            if self.data_dir is not None:
                raise UsageError("--data-dir locates the files of recorded data sets; --data names its file itself")
        elif self.units:
            raise UsageError(f"--units describes a --data file; built-in --dataset {self.dataset} has its own")
        elif self.derive:
            raise UsageError(f"--derive adds derivatives a --data file lacks; built-in --dataset {self.dataset} "
                             "records its own")
        elif self.missing != "refuse":
            raise UsageError(f"--missing applies to --data files; built-in --dataset {self.dataset} has no missing values")
        elif moved := [f for f in dataclasses.fields(self) if f.name in ("trajectory_column", "time_column")
                       and getattr(self, f.name) != f.default]:
            raise UsageError(f"{flag_of(moved[0])} names a column of a --data file; built-in --dataset "
                             f"{self.dataset} has none")
        self._check_options()
        if self.variant:
            self._check_variant()

    def _check_options(self) -> None:
        """Refuse an ``--option`` key that names a setting of its own flag: passed on with it, it
        reached ``make_variant`` twice (``--variant rate=10 --option rate=2``: a TypeError)."""
        elsewhere = {**{key: f"--variant {key}=VALUE" for key in VARIANT_KEYS}, "seed": "--seed",
                     "data_dir": "--data-dir", "noise": "--noise (SI units) or --variant noise=FRACTION"}
        for key in parse_key_values(self.options):
            if key in elsewhere:
                raise UsageError(f"--option {key}: {key} is no constant or flag of a system; give {elsewhere[key]}")
            if key in ("name", "system", "units"):
                raise UsageError(f"--option {key}: {key} is no constant or flag of a system")

    def _check_variant(self) -> None:
        if unknown := sorted(set(self.variant_keys) - set(VARIANT_KEYS)):
            raise UsageError(f"--variant has no key {unknown[0]!r}; valid keys: {', '.join(VARIANT_KEYS)} "
                             "(a system's constants, t_end, n_points, n_trajectories and test_fraction go through --option)")
        if self.dataset in RECORDED:
            raise UsageError(f"--variant applies to simulated systems; {self.dataset!r} is recorded")
        if self.noise:
            raise UsageError("--noise (SI units) does not combine with --variant; give --variant "
                             "noise=FRACTION, a fraction of each column's spread")
        if self.data_dir is not None:
            raise UsageError("--data-dir locates the files of recorded data sets; --variant simulates")

    @property
    def system_options(self) -> dict:
        return parse_key_values(self.options)

    @property
    def variant_keys(self) -> dict:
        return parse_key_values(self.variant, "--variant")


def load_data(config: DataConfig, seed: int) -> TrajectoryDataset:
    """The data set ``config`` names; ``seed`` draws a simulated system's trajectories and split."""
    if config.data is not None:
        dataset = load_file(config.data, config.units, trajectory_column=config.trajectory_column,
                            time_column=config.time_column, seed=seed, missing=config.missing)
        return derive_columns(dataset, config.derive) if config.derive else dataset
    if config.variant:
        keys = config.variant_keys
        dataset = make_variant(config.dataset, seed=seed, **keys, **config.system_options).dataset
        if keys.get("angle_unit", "rad") != "rad" and not any(d.angle_power for d in dataset.dimensions):
            raise UsageError(f"--variant angle_unit={keys['angle_unit']}: {config.dataset!r} in these "
                             f"coordinates has no angle column ({', '.join(dataset.columns)})")
        return dataset
    return load_dataset(config.dataset, seed=seed, noise=config.noise, data_dir=config.data_dir,
                        **config.system_options)


def data_for_seeds(config: DataConfig, dataset: TrajectoryDataset
                   ) -> Union[TrajectoryDataset, Callable[[int], TrajectoryDataset]]:
    """What the evaluation over seeds uses: a simulated system is drawn anew for each seed (new
    trajectories and split); recorded data keep their split, and seeds vary the models only."""
    if config.data is not None or dataset.true_field is None:
        return dataset
    return lambda seed: load_data(config, seed)
