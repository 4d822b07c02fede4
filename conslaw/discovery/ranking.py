"""The one ranker: accept, complete the evidence, merge variants, order, label, mark independence.

Every search (whole formulas, multi-term) returns unranked candidates; ``rank_laws`` is the only
place where candidates are accepted, merged, ordered and marked, once per search, with the
search's seed.

- **Accepted**: ``max(ratio + k * error, ratio_test + k_test * error_test) * threshold <=
  min(ratio_control, 1)``: conserved ``threshold`` times better on the training and the held-out
  trajectories than by chance (the template refitted on surrogate data), and than a quantity that
  merely moves with the data, at the top of each ratio's interval: a ratio of 0 ± 0.1 (a few
  coarse samples per segment) says nothing about conservation. Each ``k`` is ``TIE_SIGMAS`` at its
  normal level as a Student t quantile of the ratio's segments (``bound_sigmas``), since the
  error is their spread: 2.05 for 50 segments, 14 for 2.
  A candidate that arrives rejected (its search's own verdict: the multi-term search's lacking
  term) stays rejected, for its search's reason.
- **Order**: evidence first. Accepted laws come first, by ratio; laws whose ratios agree within
  ``TIE_SIGMAS`` standard errors are equal within their noise, and among them the simpler
  (fewer nodes) comes first, then the one that divides by the columns less often
  (``T1 + 2.5*T2`` before ``(1212 - T1)/T2``). Rejected candidates follow, by ratio.
- **Merged**: candidates equal up to ``a*g + b``, or to a polynomial (up to degree 6) of one
  better-ranked candidate, on reference surrogate states are one law, shown once (the
  best-ranked) with a ``variants`` count. After independence is marked, a dependent exact law
  that is a function of one independent law to within the data's precision (a near-copy with a
  small fitted term, or the law written with a column's copy in another unit) is merged into it
  too (``merging.merge_near_copies``), and so is a rejected candidate that prints as an accepted
  law or an identity (``merging.merge_repeats``: a template whose parameter fitted to 0).
- **Resolved**: an accepted law that changes between neighbouring samples by more than the
  columns' noise explains (``conslaw.discovery.noise.unresolved_change``) changes faster than
  the sampling resolves, where the ratio's smooth forms take its change for noise: it is
  demoted to the rejected candidates.
- **Quality**: an accepted law whose training and held-out ratios are each within ``TIE_SIGMAS``
  of their standard errors of 0, whose nonlinear terms the noise does not bias
  (``conslaw.discovery.noise``) and whose level does not drift from window to window along its
  trajectories (``conslaw.discovery.drift``), is ``exact`` (conserved to within the data's
  noise); any other accepted law is ``approximate``. So is an exact law that an approximate one,
  one law with it on the data, outdoes in steadiness on the training and the held-out data
  (``demotions.outdone``: its label rests on wider errors), and a dependent law that varies
  along a segment more than ``NOISE_FLOOR_FACTOR`` times every independent exact law
  (``conslaw.discovery.demotions``).
- **Independent**: greedily in rank order, among the exact laws (or, when there is none, the
  approximate ones): a law joins when its gradient raises the rank of the chosen laws'
  stacked gradients at the data states, and when a polynomial (up to cubic) of the chosen laws does
  not predict it to within its own within-segment variation; at most d - 1 laws for d columns.
  An approximate law is never marked independent beside an exact one, and one that the
  independent exact laws (or, when none is exact, the independent approximate ones) predict in
  the same way is an approximation of them, not a law: it is demoted to the rejected candidates.
  An approximate law over a proper subset of an exact law's columns is its truncation
  (``truncations``), demoted too, as is a misfitted whole formula (``misfitted``), a
  dependent law that one of its columns, held at its mean, leaves as steady (``unneeded``: a
  drifting sensor column standing in for a constant), and, beside an independent exact law, a
  dependent approximate law whose level drifts (``drifting_beside_exact``: modes that beat
  slower than a window). So is an approximate law that reads a column derived by ``--derive``
  (``reading_derived``): on such data only exact laws are accepted. And so is an approximate
  law that varies beyond the noise without drifting and reads as a truncated power series
  (``series_beyond_noise``): it stands in for a law the vocabulary cannot write. So is an
  approximate law whose terms, refitted on each run apart, are far steadier on that run's other
  windows (``averaged_over_runs``): the average of laws each run has on its own; and one whose
  level drifts other than one way on every trajectory, the held-out ones too (``beating``): a
  slow exchange between motions, not a loss to friction. When these
  rules demote every independent law, the dependent laws go with them. Each rejected candidate
  carries why (``Law.rejection``: ``ratio``, ``unresolved``, or the demoting rule's key,
  ``demotions.demoted``).
- **Pareto**: an accepted law no other accepted law beats in both ratio and size.
- **Identity**: a candidate that passes acceptance but takes one value on every sample
  (``conslaw.discovery.identities``) is not accepted: its quality is ``identity``, functions of
  one identity are merged into it, as are identities whose gradients at the data lie along the
  independent relations' (``identities.fold_into_relations``), and it is ranked after the
  accepted laws. When the training data are one recording, or visit one level set of every
  independent law, the dependent accepted laws are identities too (``_coincidences_apart``).
"""
from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Callable, Optional, Sequence

import numpy as np
import sympy
from scipy.special import ndtr, stdtrit  # the normal level and the t quantile; scipy.stats would add 0.5 s to every import

from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.demotions import beyond_noise_floor, demoted, law_values, null_spread, outdone
from conslaw.discovery.drift import drift_p_value, drifting
from conslaw.discovery.merging import merge_near_copies, merge_repeats, merge_variants
from conslaw.discovery.forms import judged_ratio, segment_means
from conslaw.discovery.identities import (affine_solutions, as_identity, fold_into_relations, merge_identities,
                                          on_one_level_set, split_identities)
from conslaw.discovery.independence import along_one_law, function_of, independent_relations, independent_set
from conslaw.discovery.noise import biased, noise_bias, unresolved, unresolved_change
from conslaw.discovery.paper_ratio import paper_ratios, random_segments
from conslaw.discovery.segments import Segments
from conslaw.law import Evidence, Law

TIE_SIGMAS = 2.0
RATIO_FLOOR = 1e-15
REFERENCE_STATES = 512
PAPER_REJECTED = 20
"""Rejected candidates, after the accepted laws, that get the paper's ratio for comparison."""


@functools.lru_cache(maxsize=None)
def bound_sigmas(segments: Optional[int]) -> float:
    """How many standard errors above a ratio bound it: ``TIE_SIGMAS``'s one-sided normal level
    (97.7 %) as the Student t quantile with ``segments`` - 1 degrees of freedom, the error being
    the spread of the ratio's ``segments`` segments over the root of their number (2.05 for 50,
    2.43 for 8, 14 for 2: a four-oscillator recording held out as two segments, where the spread
    of two says little, once bounded a false law at 0.0072 instead of 0.0155). ``TIE_SIGMAS`` for
    a record without the count."""
    if segments is None or segments < 2:
        return TIE_SIGMAS
    return float(stdtrit(segments - 1, ndtr(TIE_SIGMAS)))


def is_accepted(evidence: Evidence, threshold: float) -> bool:
    """The acceptance rule of the module docstring. A control that could not be judged (None, or
    inf: the refitted template is constant on the null, not finite there, or faster than the
    sampling) is missing evidence, not evidence of a law; so is a ratio without a finite error
    (a single training segment)."""
    if evidence.ratio_control is None or not np.isfinite(evidence.ratio_control):
        return False
    upper = max(ratio + bound_sigmas(segments) * error for ratio, error, segments in _measured(evidence))
    return bool(np.isfinite(upper) and upper * threshold <= min(evidence.ratio_control, 1.0) + RATIO_FLOOR)


def rejected_on_training(ratio: float, error: float, segments: Optional[int], threshold: float) -> bool:
    """Whether ``is_accepted`` rejects a law with this training ratio, standard error and count
    of segments whatever its held-out and control ratios (the control counts at most 1): a
    caller need not judge those to know it is no law."""
    upper = ratio + bound_sigmas(segments) * error
    return not (np.isfinite(upper) and upper * threshold <= 1.0 + RATIO_FLOOR)


def _measured(evidence: Evidence) -> list[tuple[float, float, Optional[int]]]:
    """The training ratio and, when there is one, the held-out ratio, each with its standard
    error (the training one for a record made before held-out errors were kept) and its count of
    segments."""
    measured = [(evidence.ratio, evidence.error, evidence.segments)]
    if evidence.ratio_test is not None:
        error = evidence.error_test if evidence.error_test is not None else evidence.error
        measured.append((evidence.ratio_test, error, evidence.segments_test))
    return measured


def is_exact(evidence: Evidence, threshold: float) -> bool:
    """Whether a law is accepted and conserved to within the data's noise: its ratio on the
    training and on the held-out data each within ``TIE_SIGMAS`` of its standard errors of 0.
    A many-term law fitted to the noise of the training segments is steadier there than on
    held-out ones (predator-prey at 5 % noise: an 11-term polynomial, 5.1e-4 ± 3e-4 on
    training, 1.8e-3 held out). And no nonlinear term may be biased by the noise
    (``Evidence.noise_bias``): then the data cannot tell its coefficients from ones off by about
    that bias. Nor may its level drift along the trajectories (``Evidence.drift``, slower than
    the windows the ratio judges: weak friction, two modes beating)."""
    return bool(is_accepted(evidence, threshold) and within_noise(evidence)
                and not biased(evidence.noise_bias) and not drifting(evidence.drift))


def within_noise(evidence: Evidence) -> bool:
    """Whether the training and held-out ratios are each within ``TIE_SIGMAS`` of their
    standard errors of 0."""
    return all(ratio <= TIE_SIGMAS * error + RATIO_FLOOR for ratio, error, _ in _measured(evidence))


def with_variation(law: Law, data: ConservationData) -> Law:
    """The evidence completed with the law's variation along the training segments and across
    the segments that tell its levels (``ConservationData.levels``), each relative to its typical
    range along a surrogate segment, and the share of the null's values between the segments'
    means."""
    truth, null = data.train.truth, data.train.null
    values = law_values(law, data.train.states)
    on_truth, on_null = values[:len(truth.x)], values[len(truth.x):]
    ranges = np.maximum.reduceat(on_truth, truth.starts[:-1]) - np.minimum.reduceat(on_truth, truth.starts[:-1])
    null_range = float(np.median(np.maximum.reduceat(on_null, null.starts[:-1])
                                 - np.minimum.reduceat(on_null, null.starts[:-1])))
    levels = data.levels
    on_levels = on_truth if levels is truth else law_values(law, levels.x)
    means = segment_means(on_levels, levels)
    scale = null_range if null_range > 0 else np.inf
    variation = {"median": float(np.median(ranges) / scale), "max": float(np.max(ranges) / scale)}
    between = np.searchsorted(np.sort(on_null), [np.min(means), np.max(means)], side="right")
    return law.replace(evidence=dataclasses.replace(law.evidence, variation=variation,
                                                    spread=float(np.std(means) / scale),
                                                    level_share=float(np.diff(between)[0] / len(on_null))))


def with_noise_evidence(law: Law, data: ConservationData) -> Law:
    """The evidence completed with the law's most noise-biased nonlinear term (``noise_bias``),
    its change beyond the noise between neighbouring samples (``unresolved_change``, on the
    scale of its spread on the null) and its drift along the trajectories (``drift_p_value``)."""
    truth, noise, columns = data.train.truth, np.asarray(data.noise), law.columns.names
    states = truth.x[:: max(1, len(truth.x) // REFERENCE_STATES)]
    scale = null_spread(law, data)
    on_truth = law_values(law, truth.x).astype(float)
    evidence = dataclasses.replace(law.evidence, noise_bias=noise_bias(law.expression, columns, noise, states),
                                   unresolved=unresolved_change(law.expression, columns, data.stencil, scale),
                                   drift=drift_p_value(on_truth, truth, scale))
    return law.replace(evidence=evidence)


def is_resolved(evidence: Evidence) -> bool:
    """Whether the sampling resolves a law's change: not ``unresolved`` (``TIE_SIGMAS``)."""
    return not unresolved(evidence.unresolved, TIE_SIGMAS)


def _tied(a: Law, b: Law) -> bool:
    ea, eb = a.evidence, b.evidence
    return eb.ratio <= ea.ratio + TIE_SIGMAS * (ea.error + eb.error) + RATIO_FLOOR


def _scaled_plain_terms(law: Law) -> int:
    """How many additive terms free of transcendental functions carry a fitted number: among
    equally good variants of one law the one with fewest is shown, as physicists write energies
    (``p**2 - 3*cos(q)``, not ``-0.333*p**2 + cos(q)``)."""
    count = 0
    for term in sympy.Add.make_args(sympy.expand(law.expression)):
        coefficient, rest = term.as_coeff_Mul()
        plain = not rest.has(sympy.sin, sympy.cos, sympy.exp, sympy.log)
        count += int(plain and abs(abs(float(coefficient)) - 1.0) > 1e-9)
    return count


def _divisions(law: Law) -> int:
    """How many times the law divides by a function of the columns (a negative power): of two
    equally good laws of one size the one without is shown. Two bodies that exchange heat,
    recorded near 330 K, keep ``(1212 - T1)/T2`` as constant as their heat content
    ``T1 + 2.5*T2`` within the noise, and only the second is a law of the system."""
    return sum(1 for node in sympy.preorder_traversal(law.expression)
               if node.is_Pow and node.exp.is_negative and node.base.free_symbols)


def _negative_parameters(law: Law) -> int:
    """How many fitted parameters are negative: of two templates of one law (``-c0*cos(q) +
    p**2`` with c0 = 2.44, ``c0*cos(q) + p**2`` with c0 = -2.44), whose ratios differ only by
    rounding, the one with positive parameters is shown, on every CPU."""
    return sum(parameter.value < 0 for parameter in law.parameters)


def _tie_text(laws: Sequence[Law]) -> Callable[[Law], str]:
    """A law's text as the last key of a sort whose earlier keys include its ratio and size:
    printed (SymPy's printer, a third of the ranking's time on the pendulum) only for a law whose
    ratio and size another law shares, else empty."""
    ties = collections.Counter((law.evidence.ratio, law.size) for law in laws)
    return lambda law: str(law.expression) if ties[law.evidence.ratio, law.size] > 1 else ""


def order_by_evidence(laws: Sequence[Law]) -> list[Law]:
    """Laws by ratio, each group equal within noise ordered by size (see the module docstring),
    the text breaking the last ties (``_tie_text``)."""
    text = _tie_text(laws)
    remaining = sorted(laws, key=lambda law: (law.evidence.ratio, law.size, text(law)))
    ordered: list[Law] = []
    while remaining:
        leader = remaining[0]
        group = [law for law in remaining if _tied(leader, law)]
        sizes = collections.Counter(law.size for law in group)
        # The later keys (SymPy's expansion and printer) decide only between laws of one size.
        ordered += sorted(group, key=lambda law: (law.size,) + (
            (_divisions(law), _scaled_plain_terms(law), _negative_parameters(law), law.evidence.ratio,
             str(law.expression)) if sizes[law.size] > 1 else ()))
        remaining = [law for law in remaining if not _tied(leader, law)]
    return ordered


def _coincidences_apart(accepted: list[Law], trajectories: int) -> tuple[list[Law], list[Law]]:
    """When the training data are one recording, or visit one level set of every independent
    law (``on_one_level_set``), the dependent accepted laws set apart as identities: any function
    that agrees with a law along that recording, or on that level set, takes one value there
    (``q*(E - E0)``), and the data tell none of them from a function of the law."""
    if not accepted or not on_one_level_set(accepted, trajectories):
        return accepted, []
    return ([law for law in accepted if law.independent],
            [as_identity(law) for law in accepted if not law.independent])


def borne_by_broken_relations(laws: Sequence[Law], identities: Sequence[Law], data: ConservationData,
                               threshold: float) -> set[int]:
    """Positions of the ``laws`` whose training ratio, once a column an identity fixes is
    replaced by its value from that identity (``identities.affine_solutions``) on the truth and
    the null alike, is nearer no conservation (1) than acceptance (``1 / threshold``) on a log
    scale: above ``1 / sqrt(threshold)``. The null draws each column from another segment, so it
    breaks the identity too (an exact copy it keeps: ``conslaw.discovery.copies``), and a
    function that is nearly constant along the identity alone looks conserved against it: with
    an angle in radians and again in degrees from a second reading, ``cos(q) - cos(pi*q_deg/180 -
    0.0048)``, which is ``0.0048*sin(q)`` on the data (5e-6, restored 1.0). A law keeps its
    ratio (a spring's energy: 0 ± 6e-4, restored 0 ± 4e-3); the ratio's point value decides,
    since with few segments its error is as wide as 1 either way (4 segments: a false law
    restored to 1.0 ± 0.5)."""
    solutions = affine_solutions(identities, data.train.truth.x)
    truth, split = data.train.truth, len(data.train.truth.x)
    broken = set()
    for i, law in enumerate(laws):
        for symbol, value in solutions:
            if symbol not in law.expression.free_symbols:
                continue
            restored = law.replace(expression=law.expression.subs(symbol, value))
            values = law_values(restored, data.train.states)
            ratio, _ = judged_ratio(values[:split], values[split:], truth, data.train.null)
            if ratio * np.sqrt(threshold) > 1.0:
                broken.add(i)
                break
    return broken


def _pareto(laws: Sequence[Law]) -> list[bool]:
    return [not any(other.evidence.ratio <= law.evidence.ratio and other.size <= law.size
                    and (other.evidence.ratio < law.evidence.ratio or other.size < law.size)
                    for other in laws) for law in laws]


def _by_ratio(laws: Sequence[Law]) -> list[Law]:
    """By ratio to 6 significant digits (two templates of one law differ only by rounding),
    size, positive parameters first (``_negative_parameters``), ratio, then text
    (``_tie_text``)."""
    laws = list(laws)
    text = _tie_text(laws)
    return sorted(laws, key=lambda law: (float(f"{law.evidence.ratio:.6g}"), law.size,
                                         _negative_parameters(law), law.evidence.ratio, text(law)))


def rank_laws(candidates: Sequence[Law], data: ConservationData, threshold: float, seed: int) -> list[Law]:
    """Accept, merge, order, label and mark ``candidates`` (see the module docstring)."""
    laws = [with_variation(law, data) for law in candidates]
    passes = [law.rejection is None and is_accepted(law.evidence, threshold) for law in laws]
    trajectories = data.levels.n_trajectories
    identities, accepted = (order_by_evidence(part) for part in split_identities(
        [law for law, passed in zip(laws, passes) if passed], trajectories))
    rejected = _by_ratio(law.replace(rejection=law.rejection or "ratio")  # a search's own verdict kept
                         for law, passed in zip(laws, passes) if not passed)
    reference = data.train.null.x[:REFERENCE_STATES]
    identities = [as_identity(law) for law in merge_identities(identities, data.train.truth.x[:REFERENCE_STATES])]
    accepted = [with_noise_evidence(law, data) for law in merge_variants(accepted, reference, by_gradient=True)]
    rejected = merge_variants(rejected, reference) + [law.replace(rejection="unresolved") for law in accepted
                                                      if not is_resolved(law.evidence)]
    accepted = [law for law in accepted if is_resolved(law.evidence)]
    accepted = [law.replace(accepted=True, quality="exact" if is_exact(law.evidence, threshold) else "approximate")
                for law in accepted]
    noisy_only = [not within_noise(law.evidence) and not biased(law.evidence.noise_bias)
                  and not drifting(law.evidence.drift) for law in accepted]
    overtaken = outdone(accepted, data, noisy_only)
    accepted = [law.replace(quality="approximate") if i in overtaken else law for i, law in enumerate(accepted)]
    exact = [i for i, law in enumerate(accepted) if law.quality == "exact"]
    eligible = exact or list(range(len(accepted)))
    relations = independent_relations(identities, data, seed)
    identities = fold_into_relations(identities, relations)
    chosen = {eligible[i] for i in independent_set([accepted[i] for i in eligible], data, seed, relations)}
    accepted = [law.replace(independent=i in chosen) for i, law in enumerate(accepted)]
    loose = beyond_noise_floor(accepted)
    accepted = [law.replace(quality="approximate") if i in loose else law for i, law in enumerate(accepted)]
    reasons = demoted(accepted, data, [not within_noise(law.evidence) for law in accepted],
                      borne_by_broken_relations(accepted, identities, data, threshold))
    rejected = _by_ratio(rejected + [law.replace(rejection=reasons[i])
                                     for i, law in enumerate(accepted) if i in reasons])
    accepted = [law for i, law in enumerate(accepted) if i not in reasons]
    accepted, coincidences = _coincidences_apart(accepted, trajectories)
    accepted = merge_near_copies(accepted, reference, along_one_law(accepted, data, seed, relations))
    identities += coincidences
    front, spanned = _pareto(accepted), function_of(accepted, data, seed, relations)
    accepted = [law.replace(pareto=front[i], function_of=tuple(k + 1 for k in spanned[i]))  # ranks
                for i, law in enumerate(accepted)]
    kept, rejected = merge_repeats(accepted + identities, rejected)
    accepted, identities = kept[:len(accepted)], kept[len(accepted):]
    rejected = [law.replace(accepted=False, quality="rejected", independent=False, pareto=False)
                for law in rejected]
    ranked = [law.replace(rank=rank) for rank, law in enumerate(accepted + identities + rejected, start=1)]
    random = random_segments(data.train.truth, seed)
    return [_with_paper_ratio(law, data, random) if law.rank <= len(accepted) + PAPER_REJECTED else law
            for law in ranked]


def _with_paper_ratio(law: Law, data: ConservationData, random: Segments) -> Law:
    """The law with the paper's true-vs-random ratios in its evidence (``paper_ratio``)."""
    evidence = dataclasses.replace(law.evidence, paper=paper_ratios(law, data.train.truth, random))
    return law.replace(evidence=evidence)
