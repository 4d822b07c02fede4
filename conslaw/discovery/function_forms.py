"""The fit's ratio for many single functions at once: the 1 x 1 case of the quadratic forms.

A formula without linear parameters is one function g, and its judgement on a ``FitData`` by
``basis.judge_basis`` is that of a basis of one function: values scaled to unit peak, the smooth
form A on the truth, the within form B and the smooth form S on the null, then
``forms.smallest_ratio`` and ``forms.ratio_of`` on 1 x 1 forms. ``FunctionForms`` does the same
for M functions laid out (M, N), each step one numpy call on all of them: the forms are the
operations of ``forms.smooth_form`` and ``forms.within_form`` (the segment weights computed
once, the null centred once for both of its forms), and the 1 x 1 eigenproblems are written
out (for a 1 x 1 matrix LAPACK returns the matrix and the vector 1), so every number,
and every tie between grid points, is bitwise the one ``judge_basis`` gives, at a fraction of
its cost (no LAPACK call, no k x k bookkeeping).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conslaw.discovery.forms import RESOLVED
from conslaw.discovery.segments import Segments

MAX_MAGNITUDE = 1e100
MIN_MAGNITUDE = 1e-100
BLOCK_BYTES = 1 << 20
"""Functions are judged in blocks of about this many bytes of values: temporaries stay in cache
(and below the allocator's threshold for fresh pages)."""


@dataclass
class Judgement:
    """Per function (M,): all values finite, magnitude in range (meaningful where finite), moves
    under the null, resolved by the sampling, the fit ratio (inf unless all four hold) and the
    weight of the values scaled to unit peak in the fitted law (``BasisBatch.scaled_weights``)."""

    finite: np.ndarray
    in_range: np.ndarray
    moves: np.ndarray
    resolved: np.ndarray
    ratio: np.ndarray
    weight: np.ndarray


class _Part:
    """One part of the states (the truth or the null) with its segments' weights at hand."""

    def __init__(self, segments: Segments) -> None:
        self.starts = segments.starts[:-1]
        self.counts = segments.counts
        self.weight = segments.weight[:, None]
        self.pair_weight = segments.pair_weight[:, None]
        self.n_segments = segments.n_segments

    def centred(self, values: np.ndarray) -> np.ndarray:
        """Values (M, n, 1) minus their segments' weighted means, as in ``forms.within_form``."""
        means = np.add.reduceat(values * self.weight, self.starts, axis=-2)
        return values - np.repeat(means, self.counts, axis=-2)

    def within(self, centred: np.ndarray) -> np.ndarray:
        """``forms.within_form`` (M,) from the centred values."""
        return (np.swapaxes(centred * self.weight, -1, -2) @ centred)[:, 0, 0] / self.n_segments

    def smooth(self, centred: np.ndarray) -> np.ndarray:
        """``forms.smooth_form`` (M,) from the centred values."""
        form = (np.swapaxes(centred[:, :-1] * self.pair_weight, -1, -2) @ centred[:, 1:])[:, 0, 0]
        return 0.5 * (form + form) / self.n_segments


def _quadratic(w: np.ndarray, form: np.ndarray) -> np.ndarray:
    return w * form * w  # einsum("...i,...ij,...j->...") for 1 x 1


def smallest_ratio_1x1(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``forms.smallest_ratio`` for 1 x 1 forms given as arrays (M,) with B > 0."""
    diag = np.sqrt(B)
    outer = diag * diag
    As, Bs = A / outer * 1.0, B / outer * 1.0
    spectrum = 0.5 * (Bs + Bs)
    transform = 1.0 * (1.0 / np.sqrt(spectrum))
    C = transform * As * transform
    C = 0.5 * (C + C) + 0.0
    w = transform * 1.0 / diag
    return ratio_of_1x1(w, A, B), w


def ratio_of_1x1(w: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``forms.ratio_of`` for 1 x 1 forms."""
    denominator = _quadratic(w, B)
    return np.maximum(np.where(denominator > 0, _quadratic(w, A) / denominator, np.inf), 0.0)


class FunctionForms:
    """Judges single functions on the states of a ``FitData`` (truth first, then the null)."""

    def __init__(self, truth: Segments, null: Segments) -> None:
        self.split = len(truth.x)
        self.truth, self.null = _Part(truth), _Part(null)
        self.block = max(1, BLOCK_BYTES // (8 * (self.split + len(null.x))))

    def ratios(self, values: np.ndarray) -> np.ndarray:
        """Fit ratios (M,) of the functions whose values are ``values`` (M, N); inf where a
        function is not usable, does not move, or is not resolved. ``values`` is overwritten."""
        return self.judge(values).ratio

    def judge(self, values: np.ndarray) -> Judgement:
        """The ``Judgement`` of ``values`` (M, N), which are overwritten: scaled to unit peak."""
        parts = [self._block(values[i:i + self.block]) for i in range(0, len(values), self.block)]
        if not parts:
            return Judgement(*[np.zeros(0, bool)] * 4, np.zeros(0), np.zeros(0))
        return Judgement(*(np.concatenate(column) for column in zip(*parts)))

    def _block(self, values: np.ndarray) -> tuple:
        """The judgement's fields for a block of rows, as ``basis.judge_basis`` computes them."""
        with np.errstate(all="ignore"):
            peak = np.maximum(values.max(axis=-1), -values.min(axis=-1))  # NaN propagates
            finite = np.isfinite(peak)
            in_range = (peak <= MAX_MAGNITUDE) & ((peak >= MIN_MAGNITUDE) | (peak == 0))
            usable = finite & in_range
            values[~usable] = 0.0
            values /= np.where(usable & (peak > 0), peak, 1.0)[:, None]
            truth = self.truth.centred(values[:, :self.split, None])
            null = self.null.centred(values[:, self.split:, None])
            A, B, S = self.truth.smooth(truth), self.null.within(null), self.null.smooth(null)
            moves = B > 0
            B = np.where(moves, B, 1.0)
            ratio, weight = smallest_ratio_1x1(A, B)
            resolved = ratio_of_1x1(weight, S, B) >= RESOLVED
        return (finite, in_range, moves, resolved,
                np.where(usable & moves & resolved, ratio, np.inf), weight)
