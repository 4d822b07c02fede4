"""Term values on the judging data, their forms, and the evidence of a combination of terms.

A combination ``g = w . t(x)`` of terms is judged as every law is (``conslaw.discovery.forms``):
``ratio`` and ``error`` by ``judged_ratios`` on the training segments against their null,
``ratio_test`` on the held-out segments with the same ``w``, and ``ratio_control`` with the same
terms refitted (smallest generalized eigenpair of the smooth form on the control's surrogate
truth and the within form on its null) and then judged there: how low these terms get by chance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from scipy.special import stdtrit  # the t quantile; scipy.stats would add 0.5 s to every import

from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.fit import FitData
from conslaw.discovery.forms import (
    RESOLVED, generalized_spectrum, judged_ratios, segment_smooth_forms, segment_variation, smallest_ratio,
    smooth_form, within_form, within_own_variation,
)
from conslaw.discovery.segments import Segments
from conslaw.law import Evidence

MISSING_ALPHA = 0.01
"""Significance of the test that a sparse law misses a term (Bonferroni over the terms tried)."""
MISSING_TRIED = 3
"""The terms, best by training ratio, whose addition is tested segment by segment."""
MISSING_FLOOR = 1e-12
"""Smallest gain (in smooth variation per unit of variation on the null) that counts: below it,
rounding decides."""


RANGE_MARGIN = 3.0
"""The null's term values count up to this many times a term's span beyond its range on the
truth (``within_truth_range``)."""


def judging_states(data: ConservationData) -> list[np.ndarray]:
    """The states terms are evaluated on, in the order ``TermValues.from_parts`` reads them:
    training truth and null, control truth, then held-out truth and null when there are any."""
    parts = [data.train.truth.x, data.train.null.x, data.control.truth.x]
    if data.control.null is not data.train.null:
        parts.append(data.control.null.x)
    if data.test is not None:
        parts += [data.test.truth.x, data.test.null.x]
    return parts


def resolved(null_values: np.ndarray, null: Segments) -> np.ndarray:
    """Per term (values (N, k) on the null): whether the sampling resolves it. Its ranks must
    pass the test ``judged_ratios`` applies to a law (at least ``RESOLVED`` of their variation
    smooth), and its values must not alternate (a smooth form above 0): a pole inside the
    data's range, across which a term flips sign from one sample to the next, makes the smooth
    form negative, and any combination holding it would look conserved to the fit. A spike
    that keeps its sign (``1/r`` near a close encounter of the surrogate states) stays."""
    order = np.argsort(np.ascontiguousarray(null_values.T), axis=-1)  # each term's values in a row
    ranks = np.empty(order.shape)  # the inverse permutation: each value's rank, in [0, 1]
    np.put_along_axis(ranks, order, np.arange(len(null_values)) / max(len(null_values) - 1, 1), axis=-1)
    smooth_ranks = segment_variation(ranks, null, smooth=True).mean(axis=-1)
    smooth = segment_variation(null_values.T, null, smooth=True).mean(axis=-1)
    return (smooth_ranks >= RESOLVED * segment_variation(ranks, null).mean(axis=-1)) & (smooth > 0)


@dataclass(frozen=True)
class TermValues:
    """Term values (N, k) on the truth and the null of training, control and held-out data,
    each term divided by ``peaks`` (its peak magnitude on the training data, or 1)."""

    train: tuple[np.ndarray, np.ndarray]
    control: tuple[np.ndarray, np.ndarray]
    test: Optional[tuple[np.ndarray, np.ndarray]]
    peaks: Optional[np.ndarray] = None

    def normalized(self) -> "TermValues":
        """The values of every term scaled to unit peak magnitude on the training data: a
        formula is judged on its shape, and the forms' kernels treat a term whose spread is
        below ``forms.NEGLIGIBLE`` of the largest one's as a constant (``exp(x**2)`` beside
        ``x`` would make every ordinary term one). Coefficients of the scaled terms are
        divided by ``peaks`` to apply to the terms themselves."""
        peaks = np.maximum(np.abs(self.train[0]).max(axis=0), np.abs(self.train[1]).max(axis=0))
        peaks = np.where(peaks > 0, peaks, 1.0)

        def scale(pair: Optional[tuple]) -> Optional[tuple]:
            return None if pair is None else (pair[0] / peaks, pair[1] / peaks)

        return TermValues(scale(self.train), scale(self.control), scale(self.test), peaks)

    @classmethod
    def from_parts(cls, parts: Sequence[np.ndarray], data: ConservationData) -> "TermValues":
        """From values on ``judging_states(data)``, in that order."""
        parts = list(parts)
        train = (parts.pop(0), parts.pop(0))
        control_truth = parts.pop(0)
        control = (control_truth, parts.pop(0) if data.control.null is not data.train.null else train[1])
        test = (parts.pop(0), parts.pop(0)) if data.test is not None else None
        return cls(train, control, test)

    @classmethod
    def evaluate(cls, function: Callable[[np.ndarray], np.ndarray], data: ConservationData) -> "TermValues":
        """``function(states) -> (N, k)`` on every part of the judging data."""
        return cls.from_parts([function(states) for states in judging_states(data)], data)


def _judged(values: tuple[np.ndarray, np.ndarray], fit: FitData, w: np.ndarray) -> tuple[float, float]:
    support = np.flatnonzero(w)  # a sparse law reads only its own terms' columns
    truth, null = (part[:, support] @ w[support] for part in values)
    ratio, error = judged_ratios(truth[None], null[None], fit.truth, fit.null)
    return float(ratio[0]), float(error[0])


def magnitude(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The smooth form ``A`` (or a batch of them) with each eigenvalue replaced by its magnitude
    (in the basis scaled to unit ``B``-diagonal). The smooth form is the covariance of each state
    with the next: a combination of many terms can alternate from sample to sample and make it
    strongly negative, which a ratio clipped at 0 would call conserved; its magnitude says that
    such a combination varies, while a conserved one (near 0 either way) stays near 0."""
    diag = np.sqrt(np.clip(np.einsum("...ii->...i", B), 1e-300, None))
    outer = diag[..., :, None] * diag[..., None, :]
    values, vectors = np.linalg.eigh(A / outer)
    return (vectors * np.abs(values)[..., None, :]) @ np.swapaxes(vectors, -1, -2) * outer


def within_truth_range(truth: np.ndarray, null: np.ndarray) -> np.ndarray:
    """The null's term values (N, k) clipped to each term's range on the truth, widened by
    ``RANGE_MARGIN`` times its span on either side. The within form on the null is the fit's yardstick of how
    much a term would vary were it not conserved; surrogate states that wander where the system
    never goes (a speed near 0 that the orbit never reaches) give a term such as
    ``1/(vx**2 + vy**2)`` spikes there that inflate its yardstick by orders of magnitude, and
    under noise such terms, and combinations of them, then look steadier than the true laws."""
    low, high = truth.min(axis=0), truth.max(axis=0)
    margin = RANGE_MARGIN * (high - low)
    return np.clip(null, low - margin, high + margin)


class Judge:
    """The forms of the term values (the fit's numerator ``A``, the smooth form's ``magnitude``
    on the truth, and denominator ``B``, the within form on the null, of values clipped near
    the truth's range with ``within_range``: ``within_truth_range``) and the evidence of
    combinations of the terms."""

    def __init__(self, values: TermValues, data: ConservationData, within_range: bool = False) -> None:
        self.values = values
        self.data = data
        yardstick = within_truth_range if within_range else (lambda truth, null: null)
        self.B = within_form(yardstick(*values.train), data.train.null)
        self.A = magnitude(smooth_form(values.train[0], data.train.truth), self.B)
        self.B_control = within_form(yardstick(*values.control), data.control.null)
        self.A_control = magnitude(smooth_form(values.control[0], data.control.truth), self.B_control)
        self._widened: dict[bytes, list] = {}  # ``_wider`` by law: asked for again by ``lacking_term``

    @property
    def scale(self) -> np.ndarray:
        """Each term's spread on the null (its coefficient times this is its share of a law)."""
        return np.sqrt(np.clip(np.diag(self.B), 1e-300, None))

    def control_fit(self, support: np.ndarray) -> np.ndarray:
        """The terms of ``support`` refitted on the control: full-length coefficients."""
        index = np.ix_(support, support)
        _, w = smallest_ratio(self.A_control[index], self.B_control[index])
        full = np.zeros(len(self.A))
        full[support] = w
        return full

    def training_ratio(self, w: np.ndarray) -> tuple[float, float]:
        """The judged ratio of ``g = w . t`` on the training segments, and its standard error."""
        return _judged(self.values.train, self.data.train, w)

    def evidence(self, w: np.ndarray, training: Optional[tuple[float, float]] = None) -> Evidence:
        """The evidence of ``g = w . t`` (see the module docstring); ``training``, when given, is
        its ``training_ratio`` judged before."""
        ratio, error = training if training is not None else self.training_ratio(w)
        test, test_error = _judged(self.values.test, self.data.test, w) if self.data.test is not None \
            else (None, None)
        control = _judged(self.values.control, self.data.control,
                          self.control_fit(np.flatnonzero(w)))[0]
        return Evidence(ratio, test, control, error, error_test=test_error, **self.data.segment_counts)

    def same_law(self, w: np.ndarray, as_w: np.ndarray) -> bool:
        """Whether ``g = w . t`` is the law ``as_w . t`` up to the data's noise: on the training
        truth, an affine function of the latter predicts it to within its own within-segment
        variation (its noise, for a conserved law). A rigid body's ``w1**2 + 0.80*w2**2 -
        0.57*w3**2`` and ``w1**2 + 1.04*w2**2`` are both laws, but not one law."""
        return within_own_variation(self.values.train[0] @ w, self.values.train[0] @ as_w, self.data.train.truth)

    def _segment_ratios(self, w: np.ndarray) -> np.ndarray:
        """The smooth variation of ``g = w . t`` on each training segment, per unit of its
        variation on the null (the fit's ratio, segment by segment)."""
        values = self.values.train[0] @ w
        return segment_variation(values, self.data.train.truth, smooth=True) / float(w @ self.B @ w)

    def missing_term(self, w: np.ndarray) -> Optional[int]:
        """A term outside ``w``'s support whose addition makes the law significantly steadier,
        or None: the first of ``missing_terms``. Under noise, pruning can drop a small but real
        term and leave a law whose loss of steadiness is within the noise of its own ratio; the
        paired comparison, where the noise is common to both, still sees it."""
        return next(iter(self.missing_terms(w, first=True)), None)

    def missing_terms(self, w: np.ndarray, first: bool = False) -> list[int]:
        """The terms outside ``w``'s support whose addition makes the law significantly
        steadier (with ``first``, the first found only): the refitted law with one more term
        (``_wider``) is compared with ``w`` segment by segment (``steadier``: a paired one-sided
        t-test at ``MISSING_ALPHA``, Bonferroni over the terms outside)."""
        missing = []
        for term, _, wider, tests in self._wider(w):
            if self.steadier(wider, w, tests=tests):
                missing.append(term)
                if first:
                    break
        return missing

    def lacking_term(self, w: np.ndarray) -> Optional[int]:
        """A term outside ``w``'s support that the law lacks by its refitted coefficient
        (``needs_term``), or None. Only a final check of an accepted law that is no truncated
        series (``conslaw.terms.search``): a law found lacking is dropped, not completed.
        Completing laws so in the extraction reached for ever longer truncations of laws
        outside the vocabulary, within the noise (a Toda bond's ``0.064*q**4 - 0.34*q**3 +
        q**2 + 0.245*v**2`` at 2 % noise), where ``steadier`` leaves a shorter truncation
        that the series demotion rejects."""
        for term, support, _, tests in self._wider(w):
            if self.needs_term(support, term, w, tests=tests):
                return term
        return None

    def _wider(self, w: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray, int]]:
        """The laws refitted with one more term, the ``MISSING_TRIED`` best by training ratio
        (best first): each as its added term, its support, its coefficients (full length) and
        the number of terms outside ``w``'s support (the tests' Bonferroni count)."""
        key = w.tobytes()
        if key not in self._widened:
            self._widened[key] = self._refitted_wider(w)
        return self._widened[key]

    def _refitted_wider(self, w: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray, int]]:
        support = np.flatnonzero(w)
        outside = np.setdiff1d(np.arange(len(self.A)), support)
        if not outside.size:
            return []
        supports = np.sort(np.column_stack([np.tile(support, (outside.size, 1)), outside]), axis=1)
        index = (supports[:, :, None], supports[:, None, :])
        ratios, vectors = smallest_ratio(self.A[index], self.B[index])
        wider = []
        for k in np.argsort(ratios)[:MISSING_TRIED]:
            coefficients = np.zeros(len(self.A))
            coefficients[supports[k]] = vectors[k]
            wider.append((int(outside[k]), supports[k], coefficients, outside.size))
        return wider

    def steadier(self, w: np.ndarray, than: np.ndarray, tests: int = 1) -> bool:
        """Whether ``g = w . t`` is significantly steadier than ``than . t`` on the training
        segments: a paired one-sided t-test of their segment ratios at ``MISSING_ALPHA / tests``
        (Bonferroni), with a gain above ``MISSING_FLOOR``."""
        segments = self.data.train.truth.n_segments
        if segments < 3:
            return False
        gain = self._segment_ratios(than) - self._segment_ratios(w)
        critical = -stdtrit(segments - 1, MISSING_ALPHA / tests)  # stats.t.isf, by symmetry
        spread = gain.std(ddof=1) / np.sqrt(segments)
        return bool(gain.mean() > MISSING_FLOOR and gain.mean() > critical * spread)

    def needs_term(self, support: np.ndarray, term: int, than: np.ndarray, tests: int = 1) -> bool:
        """Whether ``than . t`` lacks ``term``: refitted on ``support`` (``than``'s support and
        ``term``), the law ``g``'s coefficient of ``term`` is significantly non-zero, and
        ``than`` loses more steadiness than ``g``'s own noise explains. A segment-jackknife
        t-test of the coefficient (two-sided, at ``MISSING_ALPHA / tests``; the refit leaves out
        one training segment at a time), and a mean loss per segment above that critical value
        times ``g``'s standard error. ``steadier`` tests the mean loss against its own spread,
        which the loss inflates when it sits in a few segments: coupled springs recorded as 6
        runs of unequal amplitude, the truncated ``0.247*p1*p2 + 0.031*p2**2 - 0.128*x1**2 +
        x1*x2`` loses 9e-6 to 5e-4 per segment, against a noise of 1e-5, and passes it. The
        second condition keeps a second law within ``support`` (a steadier mixture, not a
        missing term) from counting."""
        segments = self.data.train.truth.n_segments
        if segments < 3:
            return False
        B = self.B[np.ix_(support, support)]
        forms = segment_smooth_forms(self.values.train[0][:, support], self.data.train.truth)
        left_out = (forms.sum(axis=0) - forms) / (segments - 1)
        _, fits = smallest_ratio(magnitude(np.concatenate([forms.mean(axis=0)[None], left_out]), B), B)
        fitted = fits[0]
        refits = fits[1:] * ((fitted @ B @ fitted) / (fits[1:] @ B @ fitted))[:, None]  # sign and scale of g
        position = int(np.searchsorted(support, term))
        spread = np.sqrt((segments - 1) * np.var(refits[:, position]))  # the jackknife's error
        critical = -stdtrit(segments - 1, MISSING_ALPHA / (2 * tests))
        g = np.zeros(len(self.A))
        g[support] = fitted
        own = self._segment_ratios(g)
        loss = self._segment_ratios(than) - own
        return bool(abs(fitted[position]) > critical * spread
                    and loss.mean() > max(MISSING_FLOOR, critical * own.std(ddof=1) / np.sqrt(segments)))

    def steadiest_other(self, w: np.ndarray) -> Optional[np.ndarray]:
        """The combination of the terms B-orthogonal to ``w`` (uncorrelated with it on the null)
        with the smallest ratio, scaled to ``w``'s variation on the null: the quantity most
        easily mixed into ``g = w . t`` unseen; None when the terms vary on the null only along
        ``w`` (they coincide there up to a factor)."""
        covariance = self.B @ w  # each term's with g on the null
        projector = np.eye(len(w)) - np.outer(w, covariance) / float(w @ covariance)
        _, vectors = generalized_spectrum(projector.T @ self.A @ projector, projector.T @ self.B @ projector)
        if not vectors.shape[1]:
            return None
        other = projector @ vectors[:, 0]
        return other * np.sqrt(float(w @ covariance) / float(other @ self.B @ other))

    def unseen_mixture(self, w: np.ndarray, share: float) -> Optional[np.ndarray]:
        """The quantity of the terms that the data let into ``g = w . t`` unseen, or None: the
        steadiest other combination (``steadiest_other``) when it is significantly less steady
        than ``g`` (``steadier``; so it is no second law, whose mixtures would be laws too) and
        yet ``g`` with it added or taken away at ``share`` of ``g``'s variation on the null is,
        on one side or both, not significantly less steady than ``g``."""
        other = self.steadiest_other(w)
        if other is None or not self.steadier(w, other):
            return None
        return None if all(self.steadier(w, w + sign * share * other) for sign in (1.0, -1.0)) else other
