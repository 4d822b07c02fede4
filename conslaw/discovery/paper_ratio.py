"""The Noether Networks paper's "true vs random" comparison, kept for reference; it decides nothing.

The paper fits a formula to have low variance within the true sequences, refits it on random
data, and accepts it when the true variance is two orders of magnitude smaller. As conslaw's
first version did, the variance is made scale-free by a gradient form: within-segment variance
over ``mean over states of sum_i s_i**2 (dg/dx_i)**2`` (``s_i`` the spread of column i), and the
random data are states drawn uniformly from the data's bounding box, in segments of the same
sizes. A law's additive terms keep their coefficients on the true data and are refitted on the
random data. This ratio depends on the sampling rate (see docs/discovery.md), which is why the
surrogate null replaced it; ``result.json`` reports both so the two can be compared.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import sympy

from conslaw.discovery.forms import ratio_of, smallest_ratio, within_form
from conslaw.discovery.segments import Segments, build_segments
from conslaw.dsl.expressions import gradient_function, numpy_function
from conslaw.law import Law


def _terms(law: Law) -> tuple[list[sympy.Expr], np.ndarray]:
    pairs = [term.as_coeff_Mul() for term in sympy.Add.make_args(sympy.expand(law.expression))]
    pairs = [(float(c), t) for c, t in pairs if t.free_symbols]
    return [t for _, t in pairs], np.array([c for c, _ in pairs])


def _forms(functions: list, segments: Segments, spread: np.ndarray):
    """The within form of the terms' values and their gradient form on ``segments``;
    ``functions`` are each term's (values, gradient) functions."""
    values = np.stack([value(segments.x) for value, _ in functions], axis=-1)
    gradients = np.stack([gradient(segments.x) for _, gradient in functions], axis=1)
    scaled = (gradients * spread).transpose(0, 2, 1).reshape(-1, len(functions))
    return within_form(values, segments), scaled.T @ scaled / len(segments.x)


def random_segments(truth: Segments, seed: int) -> Segments:
    """States uniform in the truth's bounding box, in segments of the truth's sizes."""
    rng = np.random.default_rng(seed)
    low, high = truth.x.min(axis=0), truth.x.max(axis=0)
    states = rng.uniform(low, high, size=truth.x.shape)
    parts = [truth.part(k) for k in range(truth.n_segments)]
    return build_segments([truth.time[p] for p in parts], [states[p] for p in parts], truth.source)


def paper_ratios(law: Law, truth: Segments, random: Segments) -> Optional[dict]:
    """``{"true", "random"}`` ratios of the paper's comparison for one law (None if it has no
    term that depends on the state, or its values are not finite)."""
    terms, coefficients = _terms(law)
    if not terms:
        return None
    spread = np.where(truth.x.std(axis=0) > 0, truth.x.std(axis=0), 1.0)
    names = law.columns.names
    functions = [(numpy_function(t, names), gradient_function(t, names)) for t in terms]  # once: SymPy
    with np.errstate(all="ignore"):
        A, B = _forms(functions, truth, spread)
        A_random, B_random = _forms(functions, random, spread)
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B_random)) and np.all(np.isfinite(A_random))):
        return None
    true = float(ratio_of(coefficients, A, B))
    refitted = float(smallest_ratio(A_random[None], B_random[None])[0][0])
    return {"true": true, "random": refitted}
