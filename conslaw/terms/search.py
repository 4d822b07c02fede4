"""The multi-term search: conserved quantities as sparse linear combinations of library terms.

One pass, for one operator set (stages timed in ``SearchOutcome.timings``):

1. ``library``: build the term library (``conslaw.terms.library``), evaluate at most
   ``EVALUATED_PER_TERM`` times as many of its simplest products as the data can fit, prune
   them (and the terms the sampling does not resolve, ``judging.resolved``), and keep the
   simplest terms the data can fit: at most ``max_terms`` and at most one per
   ``MIN_CONSTRAINTS_PER_TERM`` within-segment constraints (training states minus segments).
   What was dropped is counted, and ``SearchOutcome.reason`` says so in one line.
2. ``forms``: the magnitude of the smooth form of the term values on the training truth and
   their within form on the null (and the same on the control), ``conslaw.terms.judging``.
3. ``dense``: the whole generalized spectrum; the eigenvectors whose ratio is within
   ``SEARCH_TOLERANCE`` of the smallest (floored at ``LIMIT_FLOOR``) span the candidate laws.
4. ``sparse``: sparse laws extracted from that span (``conslaw.terms.solve.extract_laws``), each
   judged like every law (``judging.Judge.evidence``) and kept when it passes the acceptance
   rule of ``conslaw.discovery.ranking``; when the laws found are not equally tight, a second
   extraction at ``SPARSITY_TOLERANCE`` times the best one's ratio. When no law found is exact
   to rounding (noise), steps 2-4 again on the forms with the null's yardstick near the
   truth's range, laws of at most ``noisy_max_terms`` terms, and extractions at the
   ``gap_limit`` and at limits ten times higher each while they find laws; when the extraction
   accepts nothing, the library's best pair of terms, judged (``solve.best_pair``); then each
   law loses the terms it keeps only to fit the noise (``judged_elimination``, while it stays
   accepted and the same law). Step 4 is ``conslaw.terms.extraction.judged_laws``.
5. ``rejudged``: under noise, the laws accepted by earlier passes whose terms this library holds
   are judged again here (``conslaw.terms.extraction.rejudged``); one it does not accept (a term
   of this library makes it significantly steadier) is superseded: dropped from the search's
   laws (``counts["superseded"]``, summed over passes), and the shortest law that remains when
   such a term joins it, if accepted as the same law, is among this pass's laws.
6. ``lacking``: an accepted law that lacks a term (``judging.Judge.lacking_term``; a truncated
   series excepted) is dropped from the accepted laws and returned rejected for it (rejection
   ``lacking_term``): the ranking lists it, and says why, but never accepts it.

``search_terms`` runs one pass per library stage (``conslaw.terms.vocabulary.stages``: lean, then
the configured library, each widened vocabulary by vocabulary) and returns the
union of the accepted sparse laws, the laws dropped for a lacking term and up to ``keep`` near
misses, unranked.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.demotions import reads_as_series
from conslaw.discovery.formula_search import SearchOutcome
from conslaw.discovery.identities import split_identities
from conslaw.discovery.independence import independent_relations, independent_set
from conslaw.discovery.ranking import is_exact, is_resolved, order_by_evidence, with_noise_evidence, with_variation
from conslaw.errors import ConslawError
from conslaw.law import Law, StateColumns
from conslaw.terms.extraction import judged_laws, rejudged
from conslaw.terms.judging import TermValues, judging_states, resolved
from conslaw.terms.term_laws import term_law
from conslaw.terms.library import TermLibrary, build_library, moving_terms, simplest
from conslaw.terms.pruning import prune_library
from conslaw.terms.sparse_fits import SparseLaw
from conslaw.terms.term_config import TermsConfig
from conslaw.terms.vocabulary import LibraryStage, complete, stages, target_laws
from conslaw.threads import single_threaded_blas

MIN_CONSTRAINTS_PER_TERM = 2
EVALUATED_PER_TERM = 4
"""Products evaluated and pruned per term the data can fit (pruning removes about half)."""


@dataclass(frozen=True)
class NearMiss:
    """A rejected sparse law: its judged ratio and size, and how to build its ``Law`` record
    (SymPy work, done only for the ``keep`` best of all passes)."""

    ratio: float
    size: int
    build: Callable[[], Law]


@dataclass
class PassResult:
    """One pass's accepted laws, near misses and laws dropped for a lacking term (step 6)."""

    accepted: list[Law]
    rejected: list[NearMiss]
    lacking: list[Law] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    reason: Optional[str] = None
    partial: bool = False
    superseded: list[int] = field(default_factory=list)
    """Positions, among the earlier passes' laws, of those this pass supersedes (step 5)."""
    noiseless: bool = False
    """Whether a law was found exact to rounding (raw ratio at most ``ROUND_OFF``): then the
    data carry no noise, every true law in reach is exact too, and an accepted law that is
    not (a mixture of heavy-tailed terms that the linear forms call conserved, an approximate
    invariant) is dropped (``counts["inexact_dropped"]``; as a near miss the ranking, which
    applies the same acceptance rule, would accept it)."""


def fitted_library(dataset: TrajectoryDataset, data: ConservationData, max_terms: int,
                   stage: LibraryStage, seed: int, previous: int = -1
                   ) -> Optional[tuple[TermLibrary, TermValues, Optional[str]]]:
    """The pruned library the data can fit, its values, and why it was shrunk (None if not);
    None when it has ``previous`` usable factors (a wider vocabulary that adds none)."""
    truth = data.train.truth
    constraints = len(truth.x) - truth.n_segments
    allowed = min(max_terms, constraints // MIN_CONSTRAINTS_PER_TERM)
    if allowed < 2:
        raise ConslawError(
            f"the training data give {constraints} within-segment constraints (states minus "
            f"segments), too few for a law of 2 terms ({MIN_CONSTRAINTS_PER_TERM} per term); "
            "use more or longer trajectories")
    states = judging_states(data)
    evaluated = build_library(dataset.columns, dataset.dimensions, stage.term_depth,
                              stage.max_factors, operators=stage.operators, seed=seed,
                              states=states, limit=EVALUATED_PER_TERM * allowed,
                              max_lifted=stage.max_lifted,
                              skipped_columns=data.equal_copies)
    if evaluated.counts["factors"] == previous:
        return None
    evaluated.counts.update(constraints=constraints, allowed_terms=allowed)
    pruned, parts = prune_library(evaluated, states, seed)
    smooth = np.flatnonzero(resolved(parts[1], data.train.null))
    pruned = pruned.subset(smooth, {"unresolved": len(pruned) - len(smooth)})
    parts = [part[:, smooth] for part in parts]
    moving = moving_terms(pruned, data.still)
    pruned = pruned.subset(moving, {"still_only": len(pruned) - len(moving)})
    parts = [part[:, moving] for part in parts]
    library = simplest(pruned, allowed, "too_many")
    products = evaluated.counts["products"]
    if len(library) < 2:
        raise ConslawError(f"the term library has {len(library)} usable term(s) after pruning "
                           f"({products} products): no law of 2 terms can be formed")
    values = TermValues.from_parts([part[:, :len(library)] for part in parts], data).normalized()
    reason = None
    if len(library) < len(pruned) or len(evaluated) < products:
        reason = (f"term library shrunk to its {len(library)} simplest terms (of {products} products): "
                  f"{constraints} within-segment constraints allow {constraints // MIN_CONSTRAINTS_PER_TERM} "
                  f"terms, max_terms {max_terms}")
    return library, values, reason


def search_pass(dataset: TrajectoryDataset, data: ConservationData, columns: StateColumns,
                max_terms: int, stage: LibraryStage, *, threshold: float, keep: int,
                seed: int, deadline: Optional[float] = None, previous: int = -1,
                earlier: Sequence[Law] = ()) -> Optional[PassResult]:
    """One pass of the module docstring with one library stage (None when its library has
    ``previous`` usable factors, as the previous pass's did), judging again the ``earlier``
    passes' laws under noise."""
    with single_threaded_blas():  # small eigenproblems: threads only cost
        return _pass(dataset, data, columns, max_terms, stage, threshold, keep, seed, deadline,
                     previous, earlier)


def _pass(dataset: TrajectoryDataset, data: ConservationData, columns: StateColumns,
          max_terms: int, stage: LibraryStage, threshold: float, keep: int, seed: int,
          deadline: Optional[float], previous: int, earlier: Sequence[Law]) -> Optional[PassResult]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    fitted = fitted_library(dataset, data, max_terms, stage, seed, previous)
    if fitted is None:
        return None
    library, values, reason = fitted
    timings["library_s"] = time.perf_counter() - started
    started = time.perf_counter()
    judge, account, (accepted, rejected, records) = judged_laws(
        values, data, np.array(library.sizes), len(dataset.columns), threshold, deadline)
    superseded: list[int] = []
    if earlier and not account["noiseless"]:
        superseded, replacements, judged = rejudged(judge, np.array(library.sizes),
                                                    [library.support_of(law.terms) for law in earlier], threshold)
        records.update(judged)
        found = {law.support.tobytes() for law in accepted}
        accepted += [law for law in replacements if law.support.tobytes() not in found]
    timings["laws_s"] = time.perf_counter() - started
    started = time.perf_counter()
    scale = judge.scale
    rejected = [law for law in rejected if records.get(law.support.tobytes()) is not None][:keep]
    peaks = values.peaks

    def law_of(law: SparseLaw) -> Law:
        unscaled = SparseLaw(law.support, law.coefficients / peaks, law.ratio, law.size)
        return term_law(library, unscaled, scale * peaks, records[law.support.tobytes()].evidence, columns)

    laws = [law_of(law) for law in accepted]
    complete = [reads_as_series(law.expression, parity=True) or judge.lacking_term(sparse.coefficients) is None
                for law, sparse in zip(laws, accepted)]
    lacking = [law.replace(rejection="lacking_term") for law, kept in zip(laws, complete) if not kept]
    laws = [law for law, kept in zip(laws, complete) if kept]
    near_misses = [NearMiss(records[law.support.tobytes()].ratio, law.size, lambda law=law: law_of(law))
                   for law in rejected]
    kept = [law for law in laws if is_exact(law.evidence, threshold)] if stage.exact_only else laws
    timings["records_s"] = time.perf_counter() - started
    counts = {**library.summary(), "term_depth": stage.term_depth, "max_factors": stage.max_factors,
              "max_lifted": stage.max_lifted, "operators": list(stage.operators), **account,
              "sparse_found": len(accepted),
              "inexact_dropped": len(laws) - len(kept), "near_misses": len(rejected),
              "missing_term": sum(judgement is None for judgement in records.values()),
              "lacking_term": len(complete) - sum(complete),
              "superseded": len(superseded),
              "seconds": round(sum(timings.values()), 3)}
    partial = deadline is not None and time.perf_counter() > deadline
    return PassResult(kept, near_misses, lacking, counts, timings, reason, partial, superseded,
                      account["noiseless"])


def exact_independent(laws: Sequence[Law], data: ConservationData, seed: int, threshold: float) -> int:
    """How many functionally independent exact laws (the ranking's definitions, the noise's bias
    of nonlinear terms and unresolved change included) ``laws`` hold: the widening stops when
    they are enough. As the ranking does, the relations among the identities (one value on every
    sample: a rod's ``x**2 + y**2``) count first, then the laws independent beyond them; counted
    as laws, an identity was predictable from any other (a constant across the trajectories), so
    a bob in x, y, vx, vy never reached its 3 and widened through 8 stages (20 s, not 0.05)."""
    judged = [with_noise_evidence(with_variation(law, data), data) for law in laws]
    exact = order_by_evidence([law for law in judged if is_exact(law.evidence, threshold)
                               and is_resolved(law.evidence)])
    identities, others = split_identities(exact, data.levels.n_trajectories)
    relations = independent_relations(identities, data, seed)
    return len(relations) + (len(independent_set(others, data, seed, relations)) if others else 0)


@dataclass
class _Widening:
    """What the passes of one search found so far."""

    accepted: list[Law] = field(default_factory=list)
    rejected: list[NearMiss] = field(default_factory=list)
    lacking: list[Law] = field(default_factory=list)
    passes: list[dict] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    shrinks: list[str] = field(default_factory=list)
    partial: bool = False
    noiseless: bool = False
    tried: int = 0

    def add(self, result: PassResult, stage: LibraryStage) -> None:
        dropped = set(result.superseded)
        self.accepted = [law for i, law in enumerate(self.accepted) if i not in dropped] + result.accepted
        self.rejected += result.rejected
        known = {law.expression for law in self.lacking}
        self.lacking += [law for law in result.lacking if law.expression not in known]
        self.passes.append(result.counts)
        for step, seconds in result.timings.items():
            self.timings[step] = self.timings.get(step, 0.0) + seconds
        self.noiseless |= result.noiseless
        if result.reason:
            self.shrinks.append(f"{result.reason} ({stage.label})")

    def outcome(self, keep: int, threshold: float, extra: dict, seconds: float) -> SearchOutcome:
        reasons = list(self.reasons)
        if self.shrinks:
            more = f"; likewise in {len(self.shrinks) - 1} more stages" if len(self.shrinks) > 1 else ""
            reasons.insert(0, self.shrinks[0] + more)
        accepted = [law for law in self.accepted if is_exact(law.evidence, threshold)] if self.noiseless \
            else self.accepted
        near_misses = sorted(self.rejected, key=lambda miss: (miss.ratio, miss.size))[:keep]
        counts = {**self.passes[0], "stages": len(self.passes), "stages_tried": self.tried,
                  **extra, "sparse_found": len(accepted),
                  "inexact_dropped": len(self.accepted) - len(accepted) + sum(p["inexact_dropped"] for p in self.passes),
                  "exact_basis": sum(p["exact_basis"] for p in self.passes),
                  "superseded": sum(p["superseded"] for p in self.passes), "passes": self.passes}
        return SearchOutcome(accepted + self.lacking + [miss.build() for miss in near_misses], counts,
                             {**self.timings, "total_s": seconds}, self.partial,
                             "; ".join(reasons) if reasons else None)


def search_terms(dataset: TrajectoryDataset, data: ConservationData, columns: StateColumns,
                 config: TermsConfig, *, operators: Sequence[str], threshold: float, keep: int,
                 seed: int, max_seconds: Optional[float] = None,
                 progress: Optional[Callable[[str, int, int], None]] = None) -> SearchOutcome:
    """The multi-term search (see the module docstring): one pass per library stage
    (``conslaw.terms.vocabulary.stages``) until the laws found are ``complete``; unranked
    candidates."""
    started = time.perf_counter()
    deadline = started + max_seconds if max_seconds else None
    plan = stages(operators, config.vocabulary, config.term_depth, config.max_factors)
    fixed = int(np.sum(data.still))  # their laws are the columns themselves, not this search's
    target, found = target_laws(len(columns.names) - fixed), 0
    state = _Widening()
    for index, stage in enumerate(plan):
        if index and deadline is not None and time.perf_counter() > deadline:
            state.partial = True
            state.reasons.append(f"time budget of {max_seconds:g} s ran out after {index} of "
                                 f"{len(plan)} library stages")
            break
        same_shape = state.passes and [state.passes[-1][k] for k in ("term_depth", "max_factors", "max_lifted")] \
            == [stage.term_depth, stage.max_factors, stage.max_lifted]
        try:
            result = search_pass(dataset, data, columns, config.max_terms, stage, threshold=threshold,
                                 keep=keep, seed=seed, deadline=deadline,
                                 previous=state.passes[-1]["factors"] if same_shape else -1,
                                 earlier=() if state.noiseless else state.accepted)
        except ConslawError as error:  # a wider library that cannot be fitted ends the widening
            if stage.optional:
                state.tried += 1
                continue
            if not state.passes:
                raise
            state.reasons.append(f"widening to {stage.label} stopped: {error}")
            break
        state.tried += 1
        if result is None:
            continue
        state.add(result, stage)
        if progress is not None:
            progress("multi-term search", index + 1, len(plan))
        found = exact_independent(state.accepted, data, seed, threshold) if state.accepted else 0
        if result.partial:
            state.partial = True
            state.reasons.append(f"time budget of {max_seconds:g} s ran out in the sparse search")
            break
        if complete(found, target, state.noiseless, state.accepted):
            break
    if progress is not None:
        progress("multi-term search", len(plan), len(plan))
    return state.outcome(keep, threshold, {"target_laws": target, "exact_independent": found},
                         time.perf_counter() - started)
