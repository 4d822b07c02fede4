"""The conservation statistic's quadratic forms and the generalized eigenproblem: the one kernel.

For a formula ``g = w . a(x)`` (a basis of functions, e.g. a formula that is linear in its
parameters, or a library of terms), the within-segment variance of g is ``w'Aw`` with

    A = mean over segments of the time-weighted covariance of a(x(t)) within the segment.

Parameters are fitted by minimizing ``(w'Aw) / (w'Nw)``, A the *smooth* form (the covariance of
each state with the next, which white measurement noise does not inflate) on the true segments
and N the within form on the surrogate segments (``conslaw.discovery.surrogate``), i.e. how much
g would vary if it moved with the data but were not conserved. The smallest generalized
eigenpair of (A, N) gives the best w.

A fitted law is then judged by ``judged_ratio``: the same ratio computed on the law's values
mapped through its own distribution on the surrogate states (its empirical CDF there, so values
become numbers in [0, 1]). Conservation of g is conservation of any increasing function of g, and
on this scale a few surrogate states that wander where the real system never goes (both ``q``
and ``p`` large at once) cannot make a spiky function such as ``p**16*q**16``, or a pole, look
conserved: only how often g changes its rank among the null's values counts. Both parts are
smooth forms, so white noise inflates neither, and a law that varies faster than the sampling
resolves is not judged at all. The ratio is
dimensionless, invariant to any increasing g -> f(g), does not depend on the sampling rate or
the time unit, is near 1 for a quantity the data merely move slowly, and near 0 (at most its
standard error, for noisy data) for a conserved one.
"""
from __future__ import annotations

import numpy as np

from conslaw.discovery.segments import Segments

NULL_SPACE = 1e-10
"""Directions with N below this fraction of its largest eigenvalue do not move under the null."""

NEGLIGIBLE = 1e-20
"""A basis function whose N-diagonal is below this fraction of the largest is a constant."""

EXCLUDED = 1e30

RESOLVED = 0.5
"""A law must be resolved by the sampling: on the null, at least this fraction of its variance
must be smooth (correlated from one sample to the next); faster variation looks like noise."""


def within_form(values: np.ndarray, segments: Segments) -> np.ndarray:
    """A = mean over segments of the weighted covariance of ``values`` (..., N, k) -> (..., k, k)."""
    weighted = values * segments.weight[:, None]
    means = np.add.reduceat(weighted, segments.starts[:-1], axis=-2)
    centred = values - np.repeat(means, segments.counts, axis=-2)
    form = np.swapaxes(centred * segments.weight[:, None], -1, -2) @ centred  # BLAS
    return form / segments.n_segments


def smooth_form(values: np.ndarray, segments: Segments) -> np.ndarray:
    """The smooth part of ``within_form``: the within-segment covariance between each state and the
    next one (..., N, k) -> (..., k, k), pairs weighted by their time gap.

    White measurement noise is uncorrelated from one sample to the next, so it adds to
    ``within_form`` but not, on average, to this form; motion sampled finer than it moves
    contributes nearly its full variance to both. The form is symmetric but not always positive
    (noise can make it slightly negative), which is why it is only ever the numerator.
    """
    weighted = values * segments.weight[:, None]
    means = np.add.reduceat(weighted, segments.starts[:-1], axis=-2)
    centred = values - np.repeat(means, segments.counts, axis=-2)
    form = np.swapaxes(centred[..., :-1, :] * segments.pair_weight[:, None], -1, -2) @ centred[..., 1:, :]
    return 0.5 * (form + np.swapaxes(form, -1, -2)) / segments.n_segments


def segment_smooth_forms(values: np.ndarray, segments: Segments) -> np.ndarray:
    """Each segment's share of ``smooth_form`` for values (N, k) -> (K, k, k): the form is their
    mean. Per segment, for a segment jackknife (``conslaw.terms.judging``); the form itself is
    one product over all segments at once, which the fit needs for batches of formulas."""
    centred = _centred(values.T, segments).T
    weighted = centred[:-1] * segments.pair_weight[:, None]
    bounds = zip(segments.starts[:-1], segments.starts[1:])  # a product per segment: no (N, k, k) array
    forms = np.stack([weighted[start:end - 1].T @ centred[start + 1:end] for start, end in bounds])
    return 0.5 * (forms + np.swapaxes(forms, -1, -2))


def segment_variation(values: np.ndarray, segments: Segments, smooth: bool = False) -> np.ndarray:
    """Each segment's share of ``within_form`` (or of ``smooth_form``) for functions' values
    (..., N) -> (..., K): the forms are the means of these over segments."""
    return _variation(_centred(values, segments), segments, smooth)


def within_own_variation(values: np.ndarray, reference: np.ndarray, segments: Segments) -> bool:
    """Whether an affine function of ``reference`` predicts ``values`` (N,) to within their own
    mean within-segment variation (their noise, for a conserved quantity): one law, as far as
    the data tell."""
    design = np.column_stack([np.ones_like(reference), reference])
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    return float(np.var(values - design @ coefficients)) <= float(np.mean(segment_variation(values, segments)))


def segment_means(values: np.ndarray, segments: Segments) -> np.ndarray:
    """Each segment's time-weighted mean of values (..., N) -> (..., K)."""
    return np.add.reduceat(values * segments.weight, segments.starts[:-1], axis=-1)


def _centred(values: np.ndarray, segments: Segments) -> np.ndarray:
    """Values (..., N) minus their segments' weighted means."""
    return values - np.repeat(segment_means(values, segments), segments.counts, axis=-1)


def _variation(centred: np.ndarray, segments: Segments, smooth: bool) -> np.ndarray:
    """``segment_variation`` from the centred values."""
    if not smooth:
        return np.add.reduceat(centred ** 2 * segments.weight, segments.starts[:-1], axis=-1)
    products = centred[..., :-1] * centred[..., 1:] * segments.pair_weight
    products = np.concatenate([products, np.zeros(products.shape[:-1] + (1,))], axis=-1)
    return np.add.reduceat(products, segments.starts[:-1], axis=-1)


def _scaled(A: np.ndarray, B: np.ndarray) -> tuple:
    diagonal = np.einsum("...ii->...i", B)
    negligible = diagonal <= NEGLIGIBLE * diagonal.max(axis=-1, keepdims=True)
    diag = np.sqrt(np.where(negligible, 1.0, diagonal))
    keep = (~negligible).astype(float)
    mask = keep[..., :, None] * keep[..., None, :]
    outer = diag[..., :, None] * diag[..., None, :]
    return A / outer * mask, B / outer * mask, diag


def smallest_ratio(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimize ``w'Aw / w'Bw`` for batches of (k, k) forms: ratios (...,) and w (..., k).

    The basis is rescaled to unit B-diagonal first (a formula is judged on its shape, not its
    magnitude). Directions in B's null space (combinations that do not move under the null) and
    basis functions that are constant up to rounding are excluded, so a rank-deficient basis never
    gives runaway weights. The ratio is recomputed from the original forms.
    """
    As, Bs, diag = _scaled(A, B)
    spectrum, basis = np.linalg.eigh(0.5 * (Bs + np.swapaxes(Bs, -1, -2)))
    keep = spectrum > NULL_SPACE * spectrum[..., -1:]
    transform = basis * np.where(keep, 1.0 / np.sqrt(np.where(keep, spectrum, 1.0)), 0.0)[..., None, :]
    C = np.swapaxes(transform, -1, -2) @ As @ transform
    C = 0.5 * (C + np.swapaxes(C, -1, -2))
    C = C + np.where(keep, 0.0, EXCLUDED)[..., None, :] * np.eye(A.shape[-1])
    _, vectors = np.linalg.eigh(C)
    w = np.einsum("...ij,...j->...i", transform, vectors[..., :, 0]) / diag
    return ratio_of(w, A, B), w


def ratio_of(w: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``w'Aw / w'Bw`` for batches (inf where the denominator is not positive, never negative)."""
    numerator = np.einsum("...i,...ij,...j->...", w, A, w)
    denominator = np.einsum("...i,...ij,...j->...", w, B, w)
    with np.errstate(all="ignore"):
        ratio = np.where(denominator > 0, numerator / denominator, np.inf)
    return np.maximum(ratio, 0.0)


def generalized_spectrum(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All eigenpairs of ``A w = r B w`` outside B's null space: ratios ascending (r,) and
    B-normalized vectors (k, r)."""
    As, Bs, diag = _scaled(A, B)
    spectrum, basis = np.linalg.eigh(0.5 * (Bs + Bs.T))
    keep = spectrum > NULL_SPACE * spectrum[-1]
    transform = basis[:, keep] / np.sqrt(spectrum[keep])
    C = transform.T @ As @ transform
    ratios, vectors = np.linalg.eigh(0.5 * (C + C.T))
    return np.maximum(ratios, 0.0), (transform @ vectors) / diag[:, None]


def judged_ratio(truth: np.ndarray, null: np.ndarray, truth_segments: Segments,
                 null_segments: Segments) -> tuple[float, float]:
    """A law's judged conservation ratio and its standard error, from its values (N,) on the true
    and the surrogate segments (see the module docstring). ``inf`` when the null does not move
    the law, or moves it faster than the sampling resolves (less than ``RESOLVED`` of its
    variation on the null is smooth)."""
    ratios, errors = judged_ratios(truth[None], null[None], truth_segments, null_segments)
    return float(ratios[0]), float(errors[0])


def judged_ratios(truth: np.ndarray, null: np.ndarray, truth_segments: Segments,
                  null_segments: Segments) -> tuple[np.ndarray, np.ndarray]:
    """``judged_ratio`` of F laws at once, from their values (F, N) on the true and the surrogate
    segments: ratios (F,) and standard errors (F,), each law's bitwise the one it gets alone."""
    ascending = np.argsort(null, axis=-1)
    order = np.take_along_axis(null, ascending, axis=-1)
    ranks = np.linspace(0.0, 1.0, null.shape[-1])
    centred = _centred(_own_ranks(null, ascending, order, ranks), null_segments)
    smooth_null = np.mean(_variation(centred, null_segments, smooth=True), axis=-1)
    judged = np.flatnonzero((order[:, -1] > order[:, 0]) & (
        smooth_null >= RESOLVED * np.mean(_variation(centred, null_segments, smooth=False), axis=-1)))
    ratio, error = np.full(len(null), np.inf), np.full(len(null), np.inf)
    if not len(judged):
        return ratio, error
    truth, order = truth[judged], order[judged]
    # Between knots closer than about 1e-312 np.interp's slope overflows and a key there ranks as
    # inf: such a law reaches the end of the float range, and its ratio, not finite, is not judged.
    with np.errstate(all="ignore"):
        smooth = segment_variation(_interp_rows(truth, np.argsort(truth, axis=-1), order, ranks),
                                   truth_segments, smooth=True)
        spread = smooth.std(axis=-1, ddof=1) / np.sqrt(smooth.shape[-1]) if smooth.shape[-1] > 1 \
            else np.full(len(smooth), np.inf)
        ratio[judged] = np.maximum(smooth.mean(axis=-1), 0.0) / smooth_null[judged]
        error[judged] = spread / smooth_null[judged]
    return ratio, error


def _own_ranks(values: np.ndarray, ascending: np.ndarray, order: np.ndarray,
               ranks: np.ndarray) -> np.ndarray:
    """``_interp_rows(values, ascending, order, ranks)`` where ``order`` is ``values`` sorted: each
    value is one of the knots, and at a knot np.interp returns the rank of the last knot equal
    to it (its binary search finds ``xp[j] <= x < xp[j+1]``), so no search is needed. Rows with
    NaN (sorted last; np.interp returns NaN for them) are left to np.interp."""
    n = values.shape[-1]
    index = np.arange(n)
    ends = np.concatenate([order[:, 1:] != order[:, :-1], np.ones((len(order), 1), bool)], axis=-1)
    boundary = np.where(ends, index, n - 1)
    last = np.minimum.accumulate(boundary[:, ::-1], axis=-1)[:, ::-1]
    result = np.empty(values.shape)
    np.put_along_axis(result, ascending, ranks[last], axis=-1)
    nan = np.flatnonzero(np.isnan(order[:, -1])) if n else []
    if len(nan):
        result[nan] = _interp_rows(values[nan], ascending[nan], order[nan], ranks)
    return result


def _interp_rows(values: np.ndarray, ascending: np.ndarray, order: np.ndarray,
                 ranks: np.ndarray) -> np.ndarray:
    """``np.interp(values[i], order[i], ranks)`` for each row i, the keys visited in ascending
    order (``ascending``: their argsort), where np.interp's search starts from the previous
    key's interval: the same numbers (each depends on its key only), found several times faster."""
    result = np.empty(values.shape)
    for out, row, keys, xp in zip(result, values, ascending, order):
        out[keys] = np.interp(row[keys], xp, ranks)
    return result
