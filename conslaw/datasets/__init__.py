"""Data sets: built-in simulated systems, the Schmidt & Lipson recordings and user files.

Every loader returns a ``TrajectoryDataset`` in coherent SI units (see ``types.py``).
"""
from conslaw.datasets.files import load_file
from conslaw.datasets.registry import REGISTRY, describe_dataset, list_datasets, load_dataset
from conslaw.datasets.schmidt_lipson import load_real_pendulum, load_schmidt_lipson
from conslaw.datasets.systems import SYSTEMS, Constant, SystemSpec
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.datasets.windows import DEFAULT_WINDOW, split_into_windows, window_long_trajectories

__all__ = [
    "DEFAULT_WINDOW",
    "REGISTRY",
    "SYSTEMS",
    "Constant",
    "SystemSpec",
    "Trajectory",
    "TrajectoryDataset",
    "describe_dataset",
    "list_datasets",
    "load_dataset",
    "load_file",
    "load_real_pendulum",
    "load_schmidt_lipson",
    "split_into_windows",
    "window_long_trajectories",
]
