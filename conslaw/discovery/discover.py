"""The discovery stage end to end: judging data, both searches, one ranking.

``discover(dataset, ...)`` prepares the judging data once (segments, null, control), runs the
whole-formula search and the multi-term search (either may be skipped by the mode, and a search
that cannot run or fails says why without losing the other's results), drops the whole formulas
that the multi-term search's lean library supersedes under noise (``conslaw.terms.supersede``),
and ranks the union of their candidates once with ``conslaw.discovery.ranking.rank_laws``.
"""
from __future__ import annotations

import dataclasses
import logging
import time
import warnings as warnings_module
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from conslaw.checkpoints import Checkpoints
from conslaw.datasets.derivatives import derived_text
from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.demotions import IDENTIFIED_SHARE
from conslaw.discovery.drift import drifting
from conslaw.discovery.evidence import DEPTH, unit_warnings
from conslaw.discovery.formula_search import SearchOutcome, search_formulas
from conslaw.discovery.identities import on_one_level_set
from conslaw.discovery.known import expected_laws, known_laws, parse_expected
from conslaw.discovery.noise import bias_warning, biased
from conslaw.discovery.ranking import rank_laws
from conslaw.discovery.symbolic_rank import symbolic_check
from conslaw.dsl.enumerate import enumerate_formulas
from conslaw.errors import ConslawError
from conslaw.law import TABLE_DIGITS, Law, StateColumns

LOGGER = logging.getLogger("conslaw")
Progress = Callable[[str, int, int], None]


@dataclass
class Discovery:
    """What discovery found: ranked laws, the judging data's summary, and each search's account."""

    laws: list[Law]
    conservation: dict
    searches: dict[str, dict] = field(default_factory=dict)
    space: Optional[dict] = None
    independence: Optional[dict] = None
    warnings: list[str] = field(default_factory=list)
    known_laws: list[dict] = field(default_factory=list)
    """The data set's known laws, each marked found or not (``conslaw.discovery.known``)."""
    expected_laws: list[dict] = field(default_factory=list)
    """The laws the user expects (``--expect``), each judged and marked found or not."""

    @property
    def accepted(self) -> list[Law]:
        return [law for law in self.laws if law.accepted]

    @property
    def independent(self) -> list[Law]:
        return [law for law in self.laws if law.independent]


def _account(outcome: Optional[SearchOutcome], reason: Optional[str] = None) -> dict:
    if outcome is None:
        return {"ran": False, "reason": reason, "counts": {}, "timings": {}, "partial": False}
    return {"ran": True, "reason": getattr(outcome, "reason", None), "counts": outcome.counts,
            "timings": outcome.timings, "partial": outcome.partial}


def _formulas(dataset: TrajectoryDataset, data: ConservationData, columns: StateColumns,
              enumeration: Any, config: DiscoveryConfig, seed: int, pool: Any,
              checkpoints: Optional[Checkpoints], progress: Optional[Progress]) -> tuple:
    space = checkpoints.load("formulas/space") if checkpoints is not None else None
    if space is None:
        space = enumerate_formulas(dataset.columns, dataset.dimensions, enumeration.depth,
                                   operators=enumeration.operators, seed=seed,
                                   max_formulas=enumeration.max_formulas,
                                   max_memory_gb=enumeration.max_memory_gb)
        if checkpoints is not None:
            checkpoints.save("formulas/space", space)
    LOGGER.info("enumerated %d formulas up to %d nodes", len(space), enumeration.depth)
    outcome = search_formulas(
        space, data, columns, threshold=config.threshold, keep=config.keep, seed=seed, pool=pool,
        max_seconds=config.max_seconds, checkpoints=checkpoints,
        progress=(lambda done, total: progress("fit formulas", done, total)) if progress else None)
    return outcome, space.summary()


def _terms(dataset: TrajectoryDataset, data: ConservationData, columns: StateColumns,
           terms_config: Any, operators: tuple[str, ...], config: DiscoveryConfig, seed: int,
           checkpoints: Optional[Checkpoints], progress: Optional[Progress]) -> SearchOutcome:
    from conslaw.terms import search_terms

    outcome = checkpoints.load("terms/outcome") if checkpoints is not None else None
    if outcome is None:
        outcome = search_terms(dataset, data, columns, terms_config, operators=operators,
                               threshold=config.threshold, keep=config.keep, seed=seed,
                               max_seconds=config.max_seconds, progress=progress)
        if checkpoints is not None:
            checkpoints.save("terms/outcome", outcome)
    return outcome


def _without_superseded(candidates: list[Law], dataset: TrajectoryDataset, data: ConservationData,
                        outcomes: dict, searches: dict, config: DiscoveryConfig, seed: int) -> list[Law]:
    """The candidates less the whole formulas the lean term library supersedes
    (``conslaw.terms.supersede``; counted as the formula search's ``superseded``): on noisy data
    (no multi-term pass found a law exact to rounding), when both searches ran."""
    from conslaw.terms.supersede import superseded_formulas  # conslaw.terms imports this package

    terms = outcomes.get("terms")
    if outcomes.get("formulas") is None or terms is None \
            or any(part.get("noiseless") for part in terms.counts.get("passes", [])):
        return candidates
    superseded = set(superseded_formulas(dataset, data, candidates, config.threshold, seed))
    searches["formulas"]["counts"] = {**searches["formulas"]["counts"], "superseded": len(superseded)}
    return [law for i, law in enumerate(candidates) if i not in superseded]


def discover(dataset: TrajectoryDataset, config: DiscoveryConfig, enumeration: Any, terms: Any, *,
             seed: int, pool: Any, checkpoints: Optional[Checkpoints] = None,
             progress: Optional[Progress] = None) -> Discovery:
    """Find, judge and rank the quantities conserved along ``dataset``'s trajectories."""
    started = time.perf_counter()
    data, sampling = _prepared(dataset, config, seed)
    columns = StateColumns.from_dataset(dataset)
    expected = parse_expected(columns, config.expect)  # a bad law fails before the searches
    outcomes: dict[str, Optional[SearchOutcome]] = {}
    searches: dict[str, dict] = {}
    space = None
    if config.mode in ("formulas", "both"):
        outcomes["formulas"], space = _formulas(dataset, data, columns, enumeration, config, seed,
                                                pool, checkpoints, progress)
    if config.mode in ("terms", "both"):
        try:
            outcomes["terms"] = _terms(dataset, data, columns, terms, enumeration.operators, config,
                                       seed, checkpoints, progress)
        except ConslawError as error:  # the other search's results are kept
            LOGGER.warning("multi-term search did not run: %s", error)
            outcomes["terms"], searches["terms"] = None, _account(None, str(error))
    for name, outcome in outcomes.items():
        searches.setdefault(name, _account(outcome))
    candidates = [law for outcome in outcomes.values() if outcome is not None for law in outcome.candidates]
    candidates = _without_superseded(candidates, dataset, data, outcomes, searches, config, seed)
    laws = rank_laws(candidates, data, config.threshold, seed)
    summary = data.summary()
    summary["seconds"] = time.perf_counter() - started
    independence = symbolic_check([law for law in laws if law.accepted],
                                  [law for law in laws if law.independent], dataset.columns)

    def trial_search(trial: TrajectoryDataset, column: str, inside: Sequence[str],
                     seconds: Optional[float]) -> list[Law]:
        space = enumerate_formulas(trial.columns, trial.dimensions, min(DEPTH, enumeration.depth),
                                   operators=enumeration.operators, seed=seed)
        space = dataclasses.replace(space, roots=[root for root in space.roots
                                                  if space.table.uses_inside(root, column, inside)])
        judging = _prepared(trial, config, seed)[0]  # the column's numbers as written (evidence.py)
        outcome = search_formulas(space, judging, StateColumns.from_dataset(trial), threshold=config.threshold,
                                  keep=0, seed=seed, pool=pool, max_seconds=seconds)
        return rank_laws(outcome.candidates, judging, config.threshold, seed)

    declared = [level / factor for level, factor in zip(data.noise, columns.to_si)]
    biased_laws = [law for law in laws if law.accepted and biased(law.evidence.noise_bias)]
    warnings = sampling + _copy_warning(data) + [
        bias_warning(law.rank, law.evidence.noise_bias, columns.names, columns.declared, declared)
        for law in biased_laws]
    warnings += (_identity_warning(laws, data) + _unresolved_warning(laws)
                 + _series_warning(laws) + _by_run_warning(laws) + _beating_warning(laws)
                 + _unidentified_warning(laws, data)
                 + _drift_warning(laws)
                 + _derived_warning(dataset))
    if "formulas" in outcomes and config.unit_check:  # a trial completes a whole-formula search (evidence.py)
        try:
            warnings += unit_warnings(dataset, laws, enumeration.operators, trial_search, config.max_seconds)
        except ConslawError as error:  # a trial past its budget: the searches' results are kept
            warnings.append(f"the unit check did not run: {error}")
    for warning in warnings:
        LOGGER.warning(warning)
    return Discovery(laws, summary, searches, space, independence, warnings, known_laws(dataset, laws, data),
                     expected_laws(dataset, laws, data, config.expect, expected, config.threshold))


def _prepared(dataset: TrajectoryDataset, config: DiscoveryConfig, seed: int
              ) -> tuple[ConservationData, list[str]]:
    """The judging data, and the warnings their preparation gave (too coarse a sampling, too
    short trajectories): they belong to the result, with the discovery's own warnings."""
    with warnings_module.catch_warnings(record=True) as caught:
        warnings_module.simplefilter("always", UserWarning)
        data = ConservationData.prepare(dataset, config.window, NULL_DRAWS, seed)
    for other in (w for w in caught if not issubclass(w.category, UserWarning)):
        warnings_module.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return data, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _copy_warning(data: ConservationData) -> list[str]:
    """One warning naming the columns that repeat another (``conslaw.discovery.copies``)."""
    if not data.copies:
        return []
    pairs = ", ".join(f"{copy.names[0]} repeats {copy.names[1]}" for copy in data.copies)
    return [f"{pairs} on every sample (one reading recorded twice, or a linear constraint): the null "
            "moves each copy with its column, so that no function of the two alone passes for a law, and a copy "
            "counts as a relation between the columns, not as a law"]


def _rejected_warning(laws: Sequence[Law], rejection: str, message: Callable[[int, Law], str]) -> list[str]:
    """One warning, ``message(count, first)``, for the candidates rejected for ``rejection``."""
    demoted = [law for law in laws if law.rejection == rejection]
    return [message(len(demoted), demoted[0])] if demoted else []


def _unresolved_warning(laws: Sequence[Law]) -> list[str]:
    """One warning for the candidates rejected because they change faster than the sampling
    resolves (``ranking.is_resolved``; rejection ``unresolved``): their ratios alone would have
    accepted them."""
    return _rejected_warning(laws, "unresolved", lambda count, first: (
        f"{count} candidate(s) conserved by the ratio change between neighbouring samples more than the columns' "
        f"noise explains, the first law {first.rank} ({first.text(digits=TABLE_DIGITS)}) "
        f"{first.evidence.unresolved['ratio']:.2g} times: they vary faster than the sampling resolves, so they are "
        "rejected; finer sampling would judge them"))


def _series_warning(laws: Sequence[Law]) -> list[str]:
    """One warning for the candidates rejected as a truncated power series that varies beyond the
    noise (``demotions.series_beyond_noise``; rejection ``series``)."""
    return _rejected_warning(laws, "series", lambda count, first: (
        f"{count} candidate(s) steadier than chance but not within the noise read as a truncated power series "
        f"(or an angle's, beside its sin/cos), the first law {first.rank} ({first.text(digits=TABLE_DIGITS)}): "
        "such a series stands in for a law the vocabulary cannot write, so they are rejected"))


def _by_run_warning(laws: Sequence[Law]) -> list[str]:
    """One warning for the candidates rejected as an average of laws each run has on its own
    (``demotions.averaged_over_runs``; rejection ``by_run``)."""
    return _rejected_warning(laws, "by_run", lambda count, first: (
        f"{count} candidate(s) steadier than chance take other coefficients on each run, the first law "
        f"{first.rank} ({first.text(digits=TABLE_DIGITS)}): refitted on each run apart, their own terms are far "
        "steadier on the run's other windows, so each run has its own law and these are their average; they are "
        "rejected. The runs' laws need a setting that differs from run to run (a length, a mass, a field): record "
        "it as a column, or, when it is one, let the multi-term search or a deeper --depth reach the law that "
        "reads it"))


def _beating_warning(laws: Sequence[Law]) -> list[str]:
    """One warning for the candidates rejected because their level drifts other than one way on
    every trajectory (``demotions.beating``; rejection ``beating``)."""
    return _rejected_warning(laws, "beating", lambda count, first: (
        f"{count} candidate(s) steadier than chance within each window drift from window to window, but not one "
        f"way on every trajectory as a loss to friction does, the first law {first.rank} "
        f"({first.text(digits=TABLE_DIGITS)}, trend p = {first.evidence.drift:.2g}): up on some trajectories and "
        "down on others, or on the training trajectories and not on the held-out ones; a slow exchange between "
        "motions (modes that beat), so they are rejected; longer recordings would show it"))


def _unidentified_warning(laws: Sequence[Law], data: ConservationData) -> list[str]:
    """One warning for the candidates conserved to within the noise whose coefficients the data do
    not fix (``demotions.unidentified``; rejection ``unidentified``), naming the quantity that
    mixes into the first of them unseen."""
    from conslaw.terms.check import unseen_mixture  # conslaw.terms imports this package

    def message(count: int, first: Law) -> str:
        quantity = first.replace(expression=unseen_mixture(first.expression, first.columns, data, IDENTIFIED_SHARE))
        return (f"{count} candidate(s) conserved to within the noise stay as steady with a quantity of their own "
                f"terms, not conserved, mixed in at {IDENTIFIED_SHARE:.0%} of their variation: law {first.rank} "
                f"({first.text(digits=TABLE_DIGITS)}) with {quantity.text(digits=3)}; the data do not fix their "
                "coefficients, so they are rejected; less noisy or longer recordings would fix them")

    return _rejected_warning(laws, "unidentified", message)


def _drift_warning(laws: Sequence[Law]) -> list[str]:
    """One warning for the accepted laws labelled approximate because their level drifts along
    the trajectories (``conslaw.discovery.drift``)."""
    drifting_laws = [law for law in laws if law.accepted and drifting(law.evidence.drift)]
    if not drifting_laws:
        return []
    first = drifting_laws[0]
    return [f"{len(drifting_laws)} accepted law(s) drift along their trajectories, the first law {first.rank} "
            f"({first.text(digits=TABLE_DIGITS)}, trend p = {first.evidence.drift:.2g}): steady within each "
            "window but not from the first window to the last (friction, or a change slower than the windows), "
            "so they are approximate"]


def _derived_warning(dataset: TrajectoryDataset) -> list[str]:
    """One warning for columns derived by ``--derive``, saying how laws that read them are judged
    (``conslaw.discovery.demotions.reading_derived``)."""
    derived = dataset.metadata.get("derived", {})
    if not derived:
        return []
    return [f"derived columns ({derived_text(derived)}) carry the fits' smooth error, which the judgement takes for motion: "
            "a law that reads them is accepted only when exact, and approximate ones stay among the rejected "
            "candidates; velocities recorded as columns are judged better"]


def _identity_warning(laws: Sequence[Law], data: ConservationData) -> list[str]:
    """One warning for the identities (``conslaw.discovery.identities``), saying why they are."""
    identities = [law for law in laws if law.quality == "identity"]
    if not identities:
        return []
    trajectories, training = data.levels.n_trajectories, data.train.truth.n_trajectories
    first = f"the first law {identities[0].rank} ({identities[0].text(digits=TABLE_DIGITS)})"
    if any(law.independent for law in laws) and on_one_level_set(laws, trajectories):
        return [f"the training data are one recording, or visit one level set of the independent laws "
                f"(trajectories that share their values): {len(identities)} candidate(s) that take one value "
                f"there, {first}, are listed as identities, not laws: there the data cannot tell a function "
                "of the laws from any function that agrees with one there (q*(E - E0)); trajectories from "
                "other initial states tell them apart"]
    runs = (f"{trajectories} training" if trajectories == training
            else f"{trajectories} ({training} training, {trajectories - training} held out)")
    return [f"{len(identities)} candidate(s) take one value on every sample of the {runs} "
            f"trajectories, {first}: relations between the columns (a column repeated in another unit, a "
            "constraint) or values the trajectories all share; listed as identities, not conservation laws"]
