"""The multi-term search: conserved quantities as sparse linear combinations of library terms.

Stages (each timed in ``TermSearchResult.timings``):

1. ``library``: build the term library and prune it on the training, test and random-control
   states (``conslaw.terms.library``).
2. ``forms``: term values and gradients; the conservation ratio's quadratic forms ``A``
   (within-segment covariance) and ``B`` (gradient form) on training, test and random data,
   exactly as ``conslaw.discovery.score`` defines them.
3. ``dense``: the full generalized spectrum on the training data. The eigenvectors whose
   ratio is within ``SEARCH_TOLERANCE`` of the smallest (floored at ``LIMIT_FLOOR``, the
   forms' float64 precision) span the candidate laws; how many of them pass the acceptance
   rule as dense laws (the whole library refitted on random data) is reported, but a dense
   law is not a result (see docs/terms.md).
4. ``sparse``: sparse laws extracted from the candidate span (``conslaw.terms.solve.extract_laws``),
   all within ``sparsity_tolerance`` of the best one's ratio, each accepted by the discovery
   stage's rule (``is_accepted``): training and held-out test
   ratios ``threshold`` times below the ratio of the same terms refitted on the random control,
   which must itself reach ``MIN_RANDOM_RATIO``.
5. ``rank``: merge, rank by description length, mark a functionally independent set with
   ``conslaw.discovery.discover.mark_independent``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.discover import (
    MIN_RANDOM_RATIO, DiscoveryConfig, RankedCandidates, candidate_dict, is_accepted,
    mark_independent, merge_same_laws, prepare_data, rounded,
)
from conslaw.discovery.score import SegmentedStates
from conslaw.dsl.units import format_unit
from conslaw.errors import UsageError
from conslaw.terms.library import TERM_OPERATORS, TermLibrary, build_library, prune_library, \
    term_values_and_gradients
from conslaw.terms.solve import (
    LIMIT_FLOOR, R_FLOOR, SparseLaw, extract_laws, generalized_spectrum, ratio_of, restricted_fit,
)

DEFAULT_SPARSITY_TOLERANCE = 2.5
SEARCH_TOLERANCE = 10.0
MAX_TERMS = 600
MIN_CONSTRAINTS_PER_TERM = 2
NEAR_MISSES = 10


@dataclass
class TermSearchResult(RankedCandidates):
    """Multi-term candidates (dicts in result.json's candidate schema, ``origin`` "terms")."""

    candidates: list[dict]
    library: dict
    counts: dict
    timings: dict
    config: dict = field(default_factory=dict)


@dataclass
class _Forms:
    A: np.ndarray
    B: np.ndarray

    def subset(self, keep: np.ndarray) -> "_Forms":
        return _Forms(self.A[np.ix_(keep, keep)], self.B[np.ix_(keep, keep)])


def quadratic_forms(values: np.ndarray, gradients: np.ndarray, data: SegmentedStates) -> _Forms:
    """``score.within_segment_form`` and ``score.gradient_form`` of values (N, k) and gradients
    (N, k, d), computed as matrix products (BLAS) rather than einsum: same definitions."""
    n, k, d = gradients.shape
    means = np.zeros((data.n_segments, k))
    np.add.at(means, data.segment, values)
    means /= np.bincount(data.segment)[:, None]
    centred = values - means[data.segment]
    weighted = centred * data.segment_weights()[:, None]
    scaled = (gradients * data.scale).transpose(0, 2, 1).reshape(n * d, k)
    return _Forms(weighted.T @ centred, scaled.T @ scaled / n)


def _forms(library: TermLibrary, data: SegmentedStates) -> tuple[_Forms, np.ndarray]:
    values, gradients = term_values_and_gradients(library, data.x, data.scale)
    return quadratic_forms(values, gradients, data), values


def _reference_term(law: SparseLaw, B: np.ndarray) -> int:
    """The term with the largest scaled coefficient: the law is reported relative to it."""
    scaled = np.abs(law.coefficients[law.support]) * np.sqrt(np.diag(B)[law.support])
    return int(law.support[int(np.argmax(scaled))])


def _candidate(library: TermLibrary, law: SparseLaw, reference: int, record: dict,
               accepted: bool) -> dict:
    """A candidate dict in the discovery schema: ``t_ref + c0*t_1 + ...``, numbers inlined."""
    others = [int(i) for i in law.support if i != reference]
    relative = law.coefficients / law.coefficients[reference]
    law_unit = library.units[reference]
    terms = [library.sympy_term(i) for i in [reference] + others]
    symbols = [sympy.Symbol(f"c{k}") for k in range(len(others))]
    template = sympy.Add(terms[0], *[c * t for c, t in zip(symbols, terms[1:])], evaluate=False)
    expression = terms[0] + sum((sympy.Float(rounded(relative[i]), 15) * t
                                 for i, t in zip(others, terms[1:])), sympy.Integer(0))
    return candidate_dict(
        expression, str(template),
        {f"c{k}": {"value": float(relative[i]), "unit": format_unit(law_unit / library.units[i])}
         for k, i in enumerate(others)},
        format_unit(law_unit), law.size, record, accepted, "terms",
        terms=[library.texts[i] for i in [reference] + others])


def find_multiterm_laws(dataset: TrajectoryDataset, *, term_depth: int = 3, max_factors: int = 2,
                        threshold: float = 100.0, window: int = 25, seed: int = 0,
                        max_terms: int = MAX_TERMS,
                        sparsity_tolerance: float = DEFAULT_SPARSITY_TOLERANCE,
                        operators: Sequence[str] = TERM_OPERATORS) -> TermSearchResult:
    """Find conserved quantities of ``dataset`` that are sparse combinations of library terms.

    ``term_depth``: DSL nodes per factor; ``max_factors``: factors per term; ``max_terms``: the
    largest pruned library accepted (a bigger one raises ``UsageError``: lower the depth or
    the factors); ``operators``: the DSL operators of the factors. Sparse laws are searched
    for with training ratios up to ``SEARCH_TOLERANCE`` times the smallest dense ratio
    (floored at ``LIMIT_FLOOR``); ``sparsity_tolerance``: every accepted law must then be
    within this factor of the best accepted law's ratio (the noise floor), else the search is
    rerun with that limit. ``threshold``, ``window`` and ``seed`` are the discovery stage's.
    BLAS runs single-threaded: the matrices are small (a few hundred terms), and threaded BLAS
    on a loaded 2-core machine was 40x slower.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _search(dataset, term_depth, max_factors, threshold, window, seed, max_terms,
                       sparsity_tolerance, tuple(operators))


def _search(dataset: TrajectoryDataset, term_depth: int, max_factors: int, threshold: float,
            window: int, seed: int, max_terms: int, sparsity_tolerance: float,
            operators: tuple[str, ...]) -> TermSearchResult:
    if threshold <= 1:
        raise UsageError(f"--threshold must be > 1, got {threshold}")
    if sparsity_tolerance < 1:
        raise UsageError(f"sparsity tolerance must be >= 1, got {sparsity_tolerance}")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    train, control, test = prepare_data(dataset, DiscoveryConfig(window=window, seed=seed,
                                                                 threshold=threshold))
    full = build_library(dataset.columns, dataset.dimensions, term_depth, max_factors,
                         operators=operators, seed=seed)
    library = prune_library(full, [train.x, control.x] + ([test.x] if test is not None else []),
                            seed=seed)
    if len(library) > max_terms:
        raise UsageError(
            f"the pruned term library has {len(library)} terms, more than max_terms={max_terms}; "
            "lower --term-depth or --max-factors")
    constraints = len(train.x) - train.n_segments
    if len(library) * MIN_CONSTRAINTS_PER_TERM > constraints:
        raise UsageError(
            f"the pruned term library has {len(library)} terms but the training data give only "
            f"{constraints} within-segment constraints (states minus segments; at least "
            f"{MIN_CONSTRAINTS_PER_TERM} per term needed); lower --term-depth or --max-factors, "
            "or use more trajectories")
    timings["library_s"] = time.perf_counter() - start

    start = time.perf_counter()
    train_forms, _ = _forms(library, train)
    control_forms, control_values = _forms(library, control)
    test_forms = _forms(library, test)[0] if test is not None else None
    # A term whose own random-control ratio is below MIN_RANDOM_RATIO has a gradient dominated
    # by poles inside the data's range (discovery's rule): it would make any law containing it
    # look conserved.
    with np.errstate(all="ignore"):
        term_random = np.diag(control_forms.A) / np.diag(control_forms.B)
    keep = np.flatnonzero(term_random >= MIN_RANDOM_RATIO)
    if len(keep) < len(library):
        library = library.subset(keep, removed={"pole": len(library) - len(keep)})
        train_forms, control_forms = train_forms.subset(keep), control_forms.subset(keep)
        test_forms = test_forms.subset(keep) if test_forms is not None else None
        control_values = control_values[:, keep]
    timings["forms_s"] = time.perf_counter() - start

    start = time.perf_counter()
    ratios, vectors = generalized_spectrum(train_forms.A, train_forms.B)
    random_ratio = float(generalized_spectrum(control_forms.A, control_forms.B)[0][0])
    limit = SEARCH_TOLERANCE * max(float(ratios[0]), LIMIT_FLOOR)
    candidates = vectors[:, ratios <= limit]
    dense_accepted = sum(
        is_accepted(_record(float(ratio), random_ratio, vectors[:, i], test_forms), threshold)
        for i, ratio in enumerate(ratios[:candidates.shape[1]]))
    timings["dense_s"] = time.perf_counter() - start

    start = time.perf_counter()
    records: dict[bytes, dict] = {}

    def judge(law: SparseLaw) -> bool:
        random = restricted_fit(control_forms.A, control_forms.B, law.support)[0]
        records[law.support.tobytes()] = _record(law.ratio, random, law.coefficients, test_forms)
        return is_accepted(records[law.support.tobytes()], threshold)

    def candidate(law: SparseLaw, accepted: bool) -> dict:
        return _candidate(library, law, _reference_term(law, train_forms.B),
                          records[law.support.tobytes()], accepted)

    def extract(law_limit: float) -> tuple[list[SparseLaw], list[SparseLaw]]:
        return extract_laws(train_forms.A, train_forms.B, candidates, np.array(library.sizes),
                            law_limit, judge, ridge=max(float(ratios[0]), R_FLOOR))

    accepted_laws, rejected_laws = extract(limit)
    passes = 1
    if accepted_laws:
        precision = sparsity_tolerance * max(min(law.ratio for law in accepted_laws), LIMIT_FLOOR)
        if any(law.ratio > precision for law in accepted_laws):
            accepted_laws, rejected_laws = extract(precision)
            passes = 2
    timings["sparse_s"] = time.perf_counter() - start

    start = time.perf_counter()
    accepted = [candidate(law, True) for law in accepted_laws]
    if accepted:
        accepted = merge_same_laws(
            accepted, np.array([_signature(control_values, law) for law in accepted_laws]))
    rejected = [candidate(law, False) for law in rejected_laws[:NEAR_MISSES]]
    candidates_out = accepted + rejected
    for rank, entry in enumerate(candidates_out, start=1):
        entry["rank"] = rank
    independent = mark_independent(accepted, dataset.columns, train)
    timings["rank_s"] = time.perf_counter() - start

    counts = {
        "library_terms": len(library),
        "dense_spectrum": int(len(ratios)),
        "dense_best_ratio": float(ratios[0]),
        "dense_candidates": int(candidates.shape[1]),
        "dense_accepted": int(dense_accepted),
        "dense_random_ratio": random_ratio,
        "search_limit": limit,
        "sparse_passes": passes,
        "sparse_rejected": len(rejected_laws),
        "accepted": len(accepted),
        "independent": len(independent),
    }
    config = {"term_depth": term_depth, "max_factors": max_factors, "threshold": threshold,
              "window": window, "seed": seed, "max_terms": max_terms,
              "sparsity_tolerance": sparsity_tolerance, "operators": list(operators)}
    return TermSearchResult(candidates_out, library.summary(), counts, timings, config)


def check_law(dataset: TrajectoryDataset, expression: str, *, threshold: float = 100.0,
              window: int = 25, seed: int = 0) -> dict:
    """The acceptance test for a given multi-term law (a SymPy string in the column names):
    each additive term keeps its coefficient on the training and test data and is refitted on
    the random control, as a sparse law found by the search is. Returns the fit record
    (``ratio_true``, ``ratio_test``, ``ratio_random``) with ``accepted``."""
    symbols = sympy.symbols(dataset.columns)
    law = sympy.expand(sympy.sympify(expression, locals=dict(zip(dataset.columns, symbols))))
    pairs = [arg.as_coeff_Mul() for arg in sympy.Add.make_args(law)]
    pairs = [(float(c), t) for c, t in pairs if t.free_symbols]
    if not pairs:
        raise UsageError(f"law {expression!r} has no term that depends on a state column")
    terms = [t for _, t in pairs]
    value_function = sympy.lambdify(symbols, terms)
    gradient_function = sympy.lambdify(symbols, [[sympy.diff(t, s) for s in symbols] for t in terms])
    train, control, test = prepare_data(dataset, DiscoveryConfig(window=window, seed=seed,
                                                                 threshold=threshold))

    def forms(data: SegmentedStates) -> _Forms:
        columns = data.x.T
        with np.errstate(all="ignore"):
            values = np.stack([np.broadcast_to(v, (len(data.x),)) for v in value_function(*columns)], -1)
            gradients = np.stack([np.stack([np.broadcast_to(g, (len(data.x),)) for g in row], -1)
                                  for row in gradient_function(*columns)], axis=1)
        return quadratic_forms(values.astype(float), gradients.astype(float), data)

    coefficients = np.array([c for c, _ in pairs])
    train_forms, control_forms = forms(train), forms(control)
    random_ratio = restricted_fit(control_forms.A, control_forms.B, np.arange(len(terms)))[0]
    record = _record(ratio_of(coefficients, train_forms.A, train_forms.B), random_ratio,
                     coefficients, forms(test) if test is not None else None)
    return {**record, "accepted": is_accepted(record, threshold)}


def _record(ratio: float, random_ratio: float, coefficients: np.ndarray,
            test_forms: Optional[_Forms]) -> dict:
    """The fields of a discovery fit record that ``is_accepted`` reads."""
    test = ratio_of(coefficients, test_forms.A, test_forms.B) if test_forms is not None else None
    return {"status": "ok", "ratio_true": ratio, "ratio_random": random_ratio, "ratio_test": test}


def _signature(values: np.ndarray, law: SparseLaw) -> np.ndarray:
    """A law's values at the random-control states, centred and unit-norm (for merging)."""
    law_values = values @ law.coefficients
    law_values = law_values - law_values.mean()
    return law_values / np.linalg.norm(law_values)
