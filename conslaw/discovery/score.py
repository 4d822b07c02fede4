"""The conservation ratio and its quadratic forms.

For a formula g and states grouped into segments (trajectories, or windows of one long
recording), the **conservation ratio** is

    R(g) = mean over segments of Var_t g(x(t))  /  mean over states of sum_i s_i**2 (dg/dx_i)**2

where ``s_i`` is the standard deviation of column i over the training states. The numerator is
how much g moves along the trajectories; the denominator is how much g would move if the state
moved by its typical spread, measured locally at the same states. The ratio is dimensionless,
invariant to g -> a*g + b (so shrinking parameters cannot game it), undefined for constants
(zero gradient: rejected), and stays meaningful when every trajectory has the same value of g.

For g = w . a(x) (a basis of functions, e.g. a formula that is linear in its parameters) both
parts are quadratic forms, R = (w'Aw)/(w'Bw), minimized by the smallest generalized eigenpair.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from conslaw.datasets.types import Trajectory
from conslaw.datasets.windows import window_long_trajectories

NULL_SPACE = 1e-10
NEGLIGIBLE = 1e-20
EXCLUDED = 1e30


@dataclass
class SegmentedStates:
    """States (N, d) with a segment id per state; ``scale`` is the per-column spread s_i."""

    x: np.ndarray
    segment: np.ndarray
    scale: np.ndarray

    @property
    def n_segments(self) -> int:
        return int(self.segment.max()) + 1

    def segment_weights(self) -> np.ndarray:
        """Weight 1/(K*n_s) per state, so that weighted sums give the mean over segments."""
        counts = np.bincount(self.segment)
        return 1.0 / (len(counts) * counts[self.segment])

    def random_control(self, seed: int) -> "SegmentedStates":
        """Random data: states drawn uniformly from the data's bounding box, in segments of the
        same sizes as the true data, with the same column scales."""
        rng = np.random.default_rng(seed)
        low, high = self.x.min(axis=0), self.x.max(axis=0)
        x = rng.uniform(low, high, size=self.x.shape)
        return SegmentedStates(x, self.segment.copy(), self.scale.copy())


def segment_trajectories(trajectories: Sequence[Trajectory], window: int) -> SegmentedStates:
    """Group states into segments: one per trajectory, long trajectories cut into windows
    (``conslaw.datasets.window_long_trajectories``)."""
    pieces = window_long_trajectories(trajectories, window)
    x = np.concatenate([piece.x for piece in pieces]).astype(np.float64)
    segment = np.concatenate([np.full(len(piece), i, dtype=np.int64) for i, piece in enumerate(pieces)])
    scale = x.std(axis=0)
    return SegmentedStates(x, segment, np.where(scale > 0, scale, 1.0))


def within_segment_form(values: np.ndarray, data: SegmentedStates) -> np.ndarray:
    """A = mean over segments of the covariance of ``values`` (..., N, k) -> (..., k, k)."""
    counts = np.bincount(data.segment)
    averaging = np.zeros((len(counts), len(data.segment)))
    averaging[data.segment, np.arange(len(data.segment))] = 1.0 / counts[data.segment]
    centred = values - (averaging @ values)[..., data.segment, :]
    return np.einsum("...ni,...nj,n->...ij", centred, centred, data.segment_weights())


def gradient_form(gradients: np.ndarray, data: SegmentedStates) -> np.ndarray:
    """B = mean over states of sum_i s_i**2 grad_i a grad_i a' for gradients (..., N, k, d)."""
    scaled = gradients * data.scale
    return np.einsum("...nkd,...nld->...kl", scaled, scaled) / gradients.shape[-3]


def smallest_ratio(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimize w'Aw / w'Bw for batches of (k, k) forms: returns (ratios (...,), w (..., k)).

    The basis is first rescaled to unit B-diagonal. Directions in the null space of B (a
    combination of basis functions with zero gradient, i.e. a constant) are excluded, so a
    rank-deficient basis is handled. The ratio is recomputed from the original forms.
    """
    diagonal = np.einsum("...ii->...i", B)
    # A basis function whose gradient is negligible next to the others' is a constant up to
    # rounding (e.g. q*(1/q)); it is dropped rather than rescaled into a spurious direction.
    negligible = diagonal <= NEGLIGIBLE * diagonal.max(axis=-1, keepdims=True)
    diag = np.sqrt(np.where(negligible, 1.0, diagonal))
    keep_basis = (~negligible).astype(float)
    mask = keep_basis[..., :, None] * keep_basis[..., None, :]
    As = A / diag[..., :, None] / diag[..., None, :] * mask
    Bs = B / diag[..., :, None] / diag[..., None, :] * mask
    spectrum, basis = np.linalg.eigh(0.5 * (Bs + np.swapaxes(Bs, -1, -2)))
    keep = spectrum > NULL_SPACE * spectrum[..., -1:]
    transform = basis * np.where(keep, 1.0 / np.sqrt(np.where(keep, spectrum, 1.0)), 0.0)[..., None, :]
    C = np.swapaxes(transform, -1, -2) @ As @ transform
    C = 0.5 * (C + np.swapaxes(C, -1, -2))
    C = C + np.where(keep, 0.0, EXCLUDED)[..., None, :] * np.eye(A.shape[-1])
    _, vectors = np.linalg.eigh(C)
    w = np.einsum("...ij,...j->...i", transform, vectors[..., :, 0]) / diag
    numerator = np.einsum("...i,...ij,...j->...", w, A, w)
    denominator = np.einsum("...i,...ij,...j->...", w, B, w)
    with np.errstate(all="ignore"):
        ratio = np.where(denominator > 0, numerator / denominator, np.inf)
    return np.maximum(ratio, 0.0), w
