"""The discovery stage: enumerate, fit on true and random data, accept, merge, rank, and mark
a maximal functionally independent set of laws.

A formula is **accepted** when, with ``threshold`` = 100 by default,

* its ratio on the training data is ``threshold`` times lower than on the random control
  (its parameters refitted there, as the paper does);
* the same holds on held-out test trajectories, with the training fit (so that a formula
  fitted to quirks of the training data is not accepted);
* its random-control ratio is at least ``MIN_RANDOM_RATIO``: a lower one means the formula's
  gradient is dominated by poles or fast oscillations inside the data's range, where the ratio
  says nothing about conservation.

The candidate list holds every accepted law (variants of one law merged) and the
``NEAR_MISSES`` rejected formulas that came nearest to acceptance; ``counts`` covers all.

Ranking (accepted first) is by description length ``log10(max(R, R_FLOOR)) + NODE_COST * size``:
a formula must be ``10**NODE_COST`` times better conserved per extra node to outrank a simpler
one, and ratios below ``R_FLOOR`` (numerical precision) tie.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Protocol

import numpy as np
import sympy

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.fit import fit_chunk
from conslaw.discovery.score import SegmentedStates, segment_trajectories, within_segment_form
from conslaw.dsl.enumerate import FormulaSpace, enumerate_formulas
from conslaw.dsl.grammar import Evaluator
from conslaw.dsl.operators import PAPER_OPERATORS
from conslaw.dsl.units import format_unit
from conslaw.errors import UsageError
from conslaw.parallel import run_parallel
from conslaw.symmetry import numerical_independence

R_FLOOR = 1e-12
NODE_COST = 0.5
MIN_RANDOM_RATIO = 1e-4
SAME_LAW = 1e-6
INDEPENDENCE_RTOL = 1e-2
NEAR_MISSES = 100
PREDICTABLE = 10.0


@dataclass
class DiscoveryConfig:
    """Every option of the discovery stage."""

    depth: int = 7
    operators: tuple[str, ...] = PAPER_OPERATORS
    threshold: float = 100.0
    window: int = 25
    seed: int = 0
    jobs: int = 1
    backend: str = "loky"
    scheduler: Optional[str] = None
    chunk_size: int = 250
    grid_states: int = 256

    def __post_init__(self) -> None:
        if self.threshold <= 1:
            raise UsageError(f"--threshold must be > 1, got {self.threshold}")
        if self.chunk_size < 1:
            raise UsageError(f"chunk size must be >= 1, got {self.chunk_size}")
        self.operators = tuple(self.operators)

    def to_dict(self) -> dict:
        return asdict(self)


class CheckpointStore(Protocol):
    """Where finished chunks are kept, so that an interrupted run resumes without redoing them."""

    def load(self, name: str) -> Any: ...

    def save(self, name: str, value: Any) -> None: ...


class RankedCandidates:
    """Views of a ranked ``candidates`` list (dicts in result.json's candidate schema)."""

    candidates: list[dict]

    @property
    def accepted(self) -> list[dict]:
        return [c for c in self.candidates if c["accepted"]]

    @property
    def independent(self) -> list[dict]:
        return [c for c in self.candidates if c["independent"]]


@dataclass
class DiscoveryResult(RankedCandidates):
    """The discovery stage's output: ranked candidates, counts and timings."""

    candidates: list[dict]
    laws: list[int]
    counts: dict
    timings: dict
    space_summary: dict
    config: dict = field(default_factory=dict)


def prepare_data(dataset: TrajectoryDataset, config: DiscoveryConfig):
    """Training, random-control and test states, segmented."""
    train = segment_trajectories(dataset.train, config.window)
    test = segment_trajectories(dataset.test, config.window) if dataset.test else None
    if test is not None:
        test = SegmentedStates(test.x, test.segment, train.scale)
    return train, train.random_control(config.seed), test


def _description_length(ratio: float, size: int) -> float:
    return float(np.log10(max(ratio, R_FLOOR)) + NODE_COST * size)


def _rejection_order(true_ratio: float, random_ratio: Optional[float]) -> tuple:
    """Rejected formulas, nearest to acceptance first; ill-conditioned controls last."""
    if random_ratio is None or not np.isfinite(random_ratio) or not np.isfinite(true_ratio):
        return (2, 0.0)
    if random_ratio < MIN_RANDOM_RATIO:
        return (1, float(np.log10(max(true_ratio, R_FLOOR))))
    return (0, float(np.log10(max(true_ratio, R_FLOOR) / random_ratio)))


def is_accepted(record: dict, threshold: float) -> bool:
    """The acceptance rule of the module docstring, on a fit record (``ratio_true``,
    ``ratio_random``, ``ratio_test``, ``status``)."""
    random_ratio = record["ratio_random"]
    held_out = record["ratio_test"] if record["ratio_test"] is not None else record["ratio_true"]
    ratios = (record["ratio_true"], held_out, random_ratio)
    if record["status"] != "ok" or None in ratios or not np.all(np.isfinite(ratios)):
        return False
    if random_ratio < MIN_RANDOM_RATIO:
        return False
    return record["ratio_true"] * threshold <= random_ratio and held_out * threshold <= random_ratio


def _transcendental_base(space: FormulaSpace, node: int) -> bool:
    """Whether the formula's parameter-free part is transcendental. Among equally good variants of
    one law, the one that scales the transcendental term is shown (``p**2 - 3*cos(q)``, not
    ``-p**2/3 + cos(q)``), as physicists write energies."""
    n_params = space.table[node].n_params
    if n_params == 0:
        return False
    base = space.table.to_sympy(node, [0.0] * n_params)
    return bool(base.has(sympy.sin, sympy.cos, sympy.exp, sympy.log))


def rounded(value: float, digits: int = 6) -> float:
    """``value`` to ``digits`` significant digits, as fitted numbers are shown in expressions."""
    return float(f"{value:.{digits}g}")


def candidate_dict(expression: sympy.Expr, template: str, parameters: dict, unit: str, size: int,
                   record: dict, accepted: bool, origin: str, **extra: Any) -> dict:
    """One candidate in result.json's schema (shared by the whole-formula and multi-term
    searches). ``parameters``: name -> {"value", "unit"}; ``record``: the fit's ratios."""
    return {
        "rank": None,
        "expression": str(expression),
        "template": template,
        "parameters": parameters,
        "unit": unit,
        "latex": sympy.latex(expression),
        "size": size,
        "conservation": {"true": record["ratio_true"], "random": record["ratio_random"],
                         "test": record["ratio_test"]},
        "accepted": accepted,
        "independent": False,
        "origin": origin,
        "variants": 0,
        **extra,
    }


def _candidate(space: FormulaSpace, record: dict, accepted: bool) -> dict:
    table, node = space.table, record["node"]
    parameters = record["parameters"]
    units = table.parameter_units(node)
    return candidate_dict(
        table.to_sympy(node, [rounded(v) for v in parameters]), table.to_text(node),
        {f"c{k}": {"value": float(v), "unit": format_unit(u)}
         for k, (v, u) in enumerate(zip(parameters, units))},
        table.unit_text(node), table[node].size, record, accepted, "formula",
        _node=node, _parameters=parameters)


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    """Each row centred and scaled to unit norm (zeros where that is not finite)."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    usable = (norms > 0) & np.isfinite(norms)
    return np.where(usable, centred / np.where(usable, norms, 1.0), 0.0)


def _law_signatures(space: FormulaSpace, candidates: list[dict], states: np.ndarray) -> np.ndarray:
    """Each law's values at reference states, centred and scaled to unit norm."""
    evaluator = Evaluator(space.table, states)
    return _unit_rows(np.array([
        np.broadcast_to(evaluator(c["_node"], c["_parameters"]), (len(states),)).astype(float)
        for c in candidates]))


def merge_same_laws(candidates: list[dict], signatures: np.ndarray) -> list[dict]:
    """Keep the first (best-ranked) of each group of candidates that are one law up to
    a*g + b; the kept one counts its merged variants."""
    kept: list[int] = []
    for index, candidate in enumerate(candidates):
        similarity = np.abs(signatures[kept] @ signatures[index]) if kept else np.array([])
        match = np.flatnonzero(similarity >= 1 - SAME_LAW)
        if match.size:
            representative = candidates[kept[match[0]]]
            representative["variants"] = representative.get("variants", 0) + 1
        else:
            kept.append(index)
    return [candidates[i] for i in kept]


def _law_values(candidates: list[dict], columns: tuple[str, ...], states: np.ndarray) -> np.ndarray:
    symbols = sympy.symbols(columns)
    rows = []
    for candidate in candidates:
        expression = sympy.sympify(candidate["expression"], locals=dict(zip(columns, symbols)))
        with np.errstate(all="ignore"):
            values = sympy.lambdify(symbols, expression, "numpy")(*states.T)
        rows.append(np.broadcast_to(np.asarray(values, dtype=float), (len(states),)))
    return np.array(rows)


def _predictable(values: np.ndarray, chosen: np.ndarray, data: SegmentedStates) -> bool:
    """Whether ``values`` is a smooth function of the ``chosen`` laws' values on the data, to
    within its own conservation error: a cubic polynomial in the chosen laws predicts it with a
    residual variance at most ``PREDICTABLE`` times its mean within-segment variance."""
    standardized = (chosen - chosen.mean(axis=1, keepdims=True)) / (chosen.std(axis=1, keepdims=True) + 1e-300)
    features = [np.ones(values.size)]
    for degree in range(1, 4):
        for combination in itertools.combinations_with_replacement(range(len(chosen)), degree):
            features.append(np.prod(standardized[list(combination)], axis=0))
    design = np.stack(features, axis=1)
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = np.var(values - design @ coefficients)
    within = float(within_segment_form(values[:, None], data)[0, 0])
    return residual <= max(PREDICTABLE * within, 1e-10 * np.var(values))


def mark_independent(candidates: list[dict], columns: tuple[str, ...], states: SegmentedStates) -> list[int]:
    """A maximal functionally independent subset (greedy, in rank order) of the given laws.

    A law joins when (1) its gradient raises the rank of the stacked gradients of the laws
    chosen so far at the data states (coordinates scaled by spread), and (2) the chosen laws
    cannot predict it to within its own conservation error (so on noisy data an approximation
    of a chosen law, like ``p**2 + k*q**2`` beside a pendulum's energy, is not a new law).
    """
    if not candidates:
        return []
    symbols = sympy.symbols(columns)
    scaled = {s: float(k) * s for s, k in zip(symbols, states.scale)}
    laws = [sympy.sympify(c["expression"], locals=dict(zip(columns, symbols))).xreplace(scaled)
            for c in candidates]
    rng = np.random.default_rng(0)
    points = states.x[rng.choice(len(states.x), min(len(states.x), 200), replace=False)]
    _, by_gradient = numerical_independence(laws, columns, points / states.scale,
                                            rtol=INDEPENDENCE_RTOL)
    values = _law_values(candidates, columns, states.x)
    subset: list[int] = []
    for i in by_gradient:
        if subset and _predictable(values[i], values[subset], states):
            continue
        subset.append(i)
    for i in subset:
        candidates[i]["independent"] = True
    return subset


def _expression_signatures(candidates: list[dict], columns: tuple[str, ...],
                           states: np.ndarray) -> np.ndarray:
    """Like ``_law_signatures``, from the candidates' expressions (any origin)."""
    return _unit_rows(_law_values(candidates, columns, states))


def merge_candidate_lists(lists: list[list[dict]], dataset: TrajectoryDataset,
                          window: int) -> tuple[list[dict], list[int]]:
    """Merge ranked candidate lists (whole-formula and multi-term searches) into one: accepted
    laws first, ranked by description length, each law shown once; then the rejected ones.
    Returns the candidates (re-ranked) and the ranks of a maximal independent set."""
    def order(candidate: dict) -> float:
        return _description_length(candidate["conservation"]["true"], candidate["size"])

    accepted = sorted((dict(c) for group in lists for c in group if c["accepted"]), key=order)
    rejected = sorted((dict(c) for group in lists for c in group if not c["accepted"]),
                      key=lambda c: _rejection_order(c["conservation"]["true"],
                                                     c["conservation"]["random"]))
    train, control, _ = prepare_data(dataset, DiscoveryConfig(window=window))
    reference = control.x[:256]
    if accepted:
        accepted = merge_same_laws(accepted, _expression_signatures(accepted, dataset.columns, reference))
    if rejected:
        rejected = merge_same_laws(rejected, _expression_signatures(rejected, dataset.columns, reference))
    for candidate in accepted + rejected:
        candidate["independent"] = False
    independent = mark_independent(accepted, dataset.columns, train)
    candidates = accepted + rejected
    for rank, candidate in enumerate(candidates, start=1):
        candidate["rank"] = rank
    return candidates, [candidates[i]["rank"] for i in independent]


def discover(dataset: TrajectoryDataset, config: Optional[DiscoveryConfig] = None, *,
             space: Optional[FormulaSpace] = None, checkpoint: Optional[CheckpointStore] = None,
             progress: Optional[Callable[[int, int], None]] = None) -> DiscoveryResult:
    """Find the formulas conserved along ``dataset``'s training trajectories.

    ``progress(done, total)`` is called after each fitted chunk; ``checkpoint`` keeps the
    enumeration-independent fitted chunks so that a resumed run skips them.
    """
    config = config or DiscoveryConfig()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if space is None:
        space = enumerate_formulas(dataset.columns, dataset.dimensions, config.depth,
                                   operators=config.operators, seed=config.seed)
    timings["enumerate_s"] = time.perf_counter() - start

    start = time.perf_counter()
    train, control, test = prepare_data(dataset, config)
    chunks = [space.roots[i:i + config.chunk_size]
              for i in range(0, len(space.roots), config.chunk_size)]
    records: list[Optional[list[dict]]] = [
        checkpoint.load(f"fit-chunk-{i}") if checkpoint is not None else None
        for i in range(len(chunks))]
    pending = [i for i, done in enumerate(records) if done is None]
    batch = max(config.jobs, 1) * 2
    for offset in range(0, len(pending), batch):
        wave = pending[offset:offset + batch]
        results = run_parallel(
            fit_chunk,
            [(space.table, chunks[i], train, control, test, config.grid_states, config.seed)
             for i in wave],
            jobs=config.jobs, backend=config.backend, scheduler=config.scheduler)
        for i, result in zip(wave, results):
            records[i] = result
            if checkpoint is not None:
                checkpoint.save(f"fit-chunk-{i}", result)
        if progress is not None:
            progress(sum(len(chunks[i]) for i, r in enumerate(records) if r is not None),
                     len(space.roots))
    timings["fit_s"] = time.perf_counter() - start

    start = time.perf_counter()
    flat = [record for chunk in records for record in chunk]
    usable = [r for r in flat if r["status"] in ("ok", "degenerate")]
    accepted_records = sorted(
        (r for r in usable if is_accepted(r, config.threshold)),
        key=lambda r: (_description_length(r["ratio_true"], space.table[r["node"]].size),
                       _transcendental_base(space, r["node"]), r["node"]))
    near_misses = sorted((r for r in usable if not is_accepted(r, config.threshold)),
                         key=lambda r: _rejection_order(r["ratio_true"], r["ratio_random"]))
    near_misses = near_misses[:NEAR_MISSES]
    accepted = [_candidate(space, r, True) for r in accepted_records]
    rejected = [_candidate(space, r, False) for r in near_misses]
    reference = control.x[:256]
    if accepted:
        accepted = merge_same_laws(accepted, _law_signatures(space, accepted, reference))
    if rejected:
        rejected = merge_same_laws(rejected, _law_signatures(space, rejected, reference))
    candidates = accepted + rejected
    for rank, candidate in enumerate(candidates, start=1):
        candidate["rank"] = rank
    independent = mark_independent(accepted, dataset.columns, train)
    for candidate in candidates:
        candidate.pop("_node")
        candidate.pop("_parameters")
    timings["rank_s"] = time.perf_counter() - start
    counts = {
        "enumerated": len(space.roots),
        "fitted": len(flat),
        "non_finite": sum(1 for r in flat if r["status"] == "non_finite"),
        "constant": sum(1 for r in flat if r["status"] == "constant"),
        "degenerate": sum(1 for r in flat if r["status"] == "degenerate"),
        "singular": sum(1 for r in flat if r["status"] == "singular"),
        "accepted_formulas": len(accepted_records),
        "accepted": len(accepted),
        "independent": len(independent),
    }
    timings["formulas_per_second"] = len(flat) / max(timings["fit_s"], 1e-9)
    return DiscoveryResult(candidates, [candidates[i]["rank"] for i in independent], counts,
                           timings, space.summary(), config.to_dict())
