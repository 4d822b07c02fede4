"""Data sets: built-in simulated systems, their variants, the Schmidt & Lipson recordings and user files.

Every loader returns a ``TrajectoryDataset`` in coherent SI units, with the units each column
was declared in and their factors to SI (see ``types.py``).
"""
from conslaw.datasets.derivatives import derive_columns
from conslaw.datasets.files import load_file, units_spec, write_csv
from conslaw.datasets.registry import REGISTRY, describe_dataset, list_datasets, load_dataset
from conslaw.datasets.schmidt_lipson import load_real_pendulum, load_schmidt_lipson, read_schmidt_lipson
from conslaw.datasets.systems import SYSTEMS, Constant, CoordinateMap, SystemSpec
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.datasets.variants import Variant, list_coordinates, make_variant, user_coordinates, user_variants

__all__ = [
    "REGISTRY",
    "SYSTEMS",
    "Constant",
    "CoordinateMap",
    "SystemSpec",
    "Trajectory",
    "TrajectoryDataset",
    "Variant",
    "derive_columns",
    "describe_dataset",
    "list_coordinates",
    "list_datasets",
    "load_dataset",
    "load_file",
    "load_real_pendulum",
    "load_schmidt_lipson",
    "make_variant",
    "read_schmidt_lipson",
    "units_spec",
    "user_coordinates",
    "user_variants",
    "write_csv",
]
