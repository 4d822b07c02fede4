"""The whole-formula search: fit every enumerated formula, judge it, keep the candidates.

Each formula is fitted on the training segments against their null. One whose training ratio is
at most ``1 / threshold`` is scored on the held-out trajectories with the training fit; one that
passes there too has its template refitted on the control (surrogate against null), which says
how low its ratio gets by chance. The search returns, unranked, every formula that passed the
training and held-out tests and the ``keep`` best of the others by training ratio (the pool the
tailoring stage ranks); ``conslaw.discovery.ranking`` then accepts, merges and orders them.
Formulas of still columns only, bare columns aside, are not fitted (``still_only``), nor are
formulas that read a column holding another's SI values (``copy_reading``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Collection, Optional, Sequence

from conslaw.checkpoints import Checkpoints
from conslaw.discovery.chunks import FittingJob, fit_chunk, release
from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.grids import search_points
from conslaw.dsl.enumerate import FormulaSpace
from conslaw.dsl.grammar import NodeTable, assign
from conslaw.law import Evidence, Law, Parameter, StateColumns
from conslaw.parallel import WorkerPool

CHUNK = 128
"""Formulas per task: fixed, so that checkpoints are found again by a resume with other --jobs."""
GRID_STATES = 512
STATUSES = ("ok", "non_finite", "scale", "constant", "unresolved", "degenerate", "still_only", "copy_reading")
"""A fit's statuses (``conslaw.discovery.fit``), and two kinds of formula counted and not fitted:
``still_only``, of still columns alone, and ``copy_reading`` (the functions of those names)."""


@dataclass
class SearchOutcome:
    """Unranked candidate laws of one search, with its counts and timings."""

    candidates: list[Law]
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    partial: bool = False
    reason: Optional[str] = None


def formula_law(table: NodeTable, record: dict, columns: StateColumns, data: ConservationData) -> Law:
    """The law of a fit record on ``data`` (its parameters at full precision, each with its unit);
    its template is over the real column symbols, as its expression is."""
    node, values = record["node"], record["parameters"]
    units = table.parameter_units(node) if values else []
    template = table.to_sympy(node, real=True)
    return Law(
        expression=columns.parse(assign(template, values)),
        columns=columns, unit=table[node].unit, size=table[node].size, origin="formula",
        template=str(template),
        parameters=tuple(Parameter(f"c{k}", float(v), u) for k, (v, u) in enumerate(zip(values, units))),
        evidence=Evidence(record["ratio"], record["ratio_test"], record["ratio_control"],
                          record["error"], error_test=record.get("error_test"), **data.segment_counts))


def still_only(table: NodeTable, roots: Sequence[int], still: Sequence[bool]) -> set[int]:
    """The formulas that read still columns only (columns the data never move within a segment,
    ``conslaw.discovery.surrogate.still_columns``: a run's setting, a conserved input) and are
    more than one bare column. Each is conserved whatever its parameters, as a function of the
    columns it reads, whose laws are the bare columns themselves: ``cos(12.5/l)**2/l`` beside
    ``l``. Without the rule, 295 such functions of a pendulum's rod length filled the candidates
    after ``l`` (their ratios 1e-32), in the table and in the tailoring's pool."""
    fixed = {j for j, is_still in enumerate(still) if is_still}
    if not fixed:
        return set()
    return {root for root in roots
            if table[root].op != "input" and table.columns_of(root) <= fixed}


def copy_reading(table: NodeTable, roots: Sequence[int], copied: Collection[int]) -> set[int]:
    """The formulas that read one of the ``copied`` columns, each equal to its original in SI
    (``ConservationData.equal_copies``: one reading in two units, an angle in rad and in deg).
    Each has a twin that reads the original instead, with the same values on every sample, which
    the search fits; without the rule a pendulum's copied angle tripled its formulas (3,100 to
    10,728) and doubled its discovery's time, and the twins doubled the candidates."""
    copied = set(copied)
    return {root for root in roots if table.columns_of(root) & copied} if copied else set()


def chunk_cost(table: NodeTable, nodes: Sequence[int]) -> int:
    """An estimate of the work of fitting ``nodes``: the grid points their nonlinear parameters
    are searched on (``grids.search_points``), which predict a chunk's time (a correlation of
    0.96-0.98 over the chunks of the pendulum's, spring's, saddle's and 2D oscillator's spaces,
    0.79 over the Duffing oscillator's 12)."""
    return sum(search_points(sum(not linear for linear in table.linear_parameters(node))) for node in nodes)


def _fit_all(roots: Sequence[int], job: FittingJob, pool: WorkerPool, max_seconds: Optional[float],
             checkpoints: Optional[Checkpoints], progress: Optional[Callable[[int, int], None]]
             ) -> tuple[list[dict], bool]:
    """Every chunk's records (checkpointed ones loaded, the rest fitted by the pool as they
    finish); True when the time budget ran out first."""
    started = time.perf_counter()
    chunks = [roots[i:i + CHUNK] for i in range(0, len(roots), CHUNK)]
    keys = [f"formulas/chunk-{i}" for i in range(len(chunks))]
    records = {i: checkpoints.load(key) for i, key in enumerate(keys)} if checkpoints else {}
    records = {i: chunk for i, chunk in records.items() if chunk is not None}
    pending = [i for i in range(len(chunks)) if i not in records]
    partial = False
    if pending:
        shared = pool.share(job)
        # Under a time budget the chunks start in order, so that a partial search holds the
        # smallest formulas; without one, the cheapest start last and the processes end together.
        costs = None if max_seconds is not None else [chunk_cost(job.table, chunks[i]) for i in pending]
        for index, result in pool.as_completed(fit_chunk, [(shared, chunks[i]) for i in pending], costs=costs):
            records[pending[index]] = result
            if checkpoints is not None:
                checkpoints.save(keys[pending[index]], result)
            if progress is not None:
                progress(sum(len(chunks[i]) for i in records), len(roots))
            if max_seconds is not None and time.perf_counter() - started > max_seconds \
                    and len(records) < len(chunks):
                partial = True
                break
    return [record for i in sorted(records) for record in records[i]], partial


def search_formulas(space: FormulaSpace, data: ConservationData, columns: StateColumns, *,
                    threshold: float, keep: int, seed: int, pool: WorkerPool,
                    max_seconds: Optional[float] = None, grid_states: int = GRID_STATES,
                    checkpoints: Optional[Checkpoints] = None,
                    progress: Optional[Callable[[int, int], None]] = None) -> SearchOutcome:
    """Fit every formula of ``space`` (see the module docstring) with the workers of ``pool``."""
    started = time.perf_counter()
    job = FittingJob(space.table, data.train, data.test, data.control, threshold, grid_states, seed)
    still = still_only(space.table, space.roots, data.still)
    copies = copy_reading(space.table, space.roots, data.equal_copies) - still
    roots = [root for root in space.roots if root not in still and root not in copies]
    try:
        flat, partial = _fit_all(roots, job, pool, max_seconds, checkpoints, progress)
    finally:
        release()  # what an in-process pool's fitters remember
    seconds = time.perf_counter() - started
    passed = [r for r in flat if r["ratio_control"] is not None]
    others = sorted((r for r in flat if r["status"] == "ok" and r["ratio_control"] is None),
                    key=lambda r: (r["ratio"], r["node"]))[:keep]
    candidates = [formula_law(space.table, r, columns, data) for r in passed + others]
    counts = {status: sum(1 for r in flat if r["status"] == status) for status in STATUSES}
    counts.update(still_only=len(still), copy_reading=len(copies), enumerated=len(space.roots),
                  fitted=len(flat), passed=len(passed))
    timings = {"enumerate_s": space.seconds, "fit_s": seconds,
               "formulas_per_second": len(flat) / max(seconds, 1e-9)}
    reason = f"time budget of {max_seconds:g} s ran out after {len(flat)} of {len(roots)} formulas" if partial else None
    return SearchOutcome(candidates, counts, timings, partial, reason)
