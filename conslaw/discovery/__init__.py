"""The discovery stage: fit every formula's parameters, filter against random data, rank."""
from conslaw.discovery.discover import (
    DiscoveryConfig, DiscoveryResult, discover, mark_independent, merge_same_laws,
)
from conslaw.discovery.fit import FitResult, FormulaFitter, fit_chunk
from conslaw.discovery.score import SegmentedStates, segment_trajectories, smallest_ratio

__all__ = [
    "DiscoveryConfig", "DiscoveryResult", "FitResult", "FormulaFitter", "SegmentedStates",
    "discover", "fit_chunk", "mark_independent", "merge_same_laws", "segment_trajectories",
    "smallest_ratio",
]
