"""Variants: candidates that are one law, merged into the best-ranked of them.

A candidate is a variant of a better-ranked one when, at reference states, it equals it up to
``a*g + b``, or is a polynomial (up to ``VARIANT_DEGREE``) of it (``E**2``, ``E**3``), or, among
accepted laws, is any function of it alone: its gradient is parallel to the other's at every
state where both are finite and non-zero (``1/L`` and ``|L|`` beside the angular momentum ``L``
of a spherical pendulum). A function of several laws (``E_x + E_y``) is not a variant. Among
accepted laws a polynomial is one within the precision the data give them: its residual may
reach the larger of the two laws' variations along a trajectory (``Evidence.variation``), up to
``NOISY_VARIANT``. Once independence is marked, ``merge_near_copies`` merges a dependent exact
law that is a function of one independent law to within the data's precision (uncapped). A
rejected candidate that prints as a law ranked above it (``merge_repeats``) is merged into that
law.
"""
from __future__ import annotations

import collections
from typing import Sequence

import numpy as np

from conslaw.dsl.expressions import gradient_function
from conslaw.law import Law

SAME_LAW = 1e-6
VARIANT_DEGREE = 6
USABLE_STATES = 0.5
"""The share of reference states at which both gradients must be finite and non-zero."""
NOISY_VARIANT = 1e-3
"""The largest relative residual at which one accepted law is a polynomial of another: a
pendulum recorded with 5 tracking glitches gave its energy E and ``6 - E**2/24`` each fitted
to its own noise, 2.7e-5 apart, where they vary by 2.4e-5 and 4.5e-5 along a trajectory; on
noisier data, laws that far apart are kept apart (an approximation of a law is judged as such)."""


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    usable = (norms > 0) & np.isfinite(norms)
    return np.where(usable, centred / np.where(usable, norms, 1.0), 0.0)


def _polynomial_bases(signatures: np.ndarray) -> np.ndarray:
    """``(n, states, VARIANT_DEGREE + 1)``: an orthonormal basis of the polynomials, up to
    ``VARIANT_DEGREE``, of each unit-row signature (zero where not finite)."""
    powers = np.stack([signatures ** k for k in range(VARIANT_DEGREE + 1)], axis=-1)
    powers = np.where(np.isfinite(powers), powers, 0.0)
    return np.linalg.qr(powers)[0]


def _polynomials_of(signatures: np.ndarray, bases: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """``(n, n)``: whether unit-row signature ``m`` lies in basis ``k`` (relative residual below
    ``tolerance[k, m]``); never for a zero row (a law constant or not finite on the states is not
    merged away). The bases are orthonormal, so a row's squared residual is its squared norm less
    that of its coefficients: one product for every pair of laws."""
    n, states, degree = bases.shape
    coefficients = (bases.transpose(0, 2, 1).reshape(n * degree, states) @ signatures.T).reshape(n, degree, n)
    norms = np.sum(signatures ** 2, axis=1)
    residuals = np.maximum(norms[None, :] - np.sum(coefficients ** 2, axis=1), 0.0)
    return (residuals <= tolerance ** 2 * norms[None, :]) & (norms[None, :] > 0)


def _unit_gradients(laws: Sequence[Law], states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each law's gradient at ``states`` as a unit vector ``(n, states, d)`` (zero where it is not
    usable) and where it is usable ``(n, states)``: finite and non-zero."""
    columns = laws[0].columns.names
    gradients = np.stack([gradient_function(law.expression, columns)(states) for law in laws])
    finite = np.isfinite(gradients).all(axis=2)
    norms = np.linalg.norm(np.where(finite[..., None], gradients, 0.0), axis=2)
    usable = finite & (norms > 0)
    return np.where(usable[..., None], gradients, 0.0) / np.where(usable, norms, 1.0)[..., None], usable


def _functions_of(unit: np.ndarray, usable: np.ndarray, kept: Sequence[int], index: int,
                  tolerance: float) -> np.ndarray:
    """Whether law ``index``'s gradient is parallel to each ``kept`` law's (cosine within
    ``tolerance`` of 1 at every state where both are usable, and those are at least
    ``USABLE_STATES`` of them): one row of the pairs, so that many candidates cost their number
    times the few kept, not its square."""
    both = usable[kept] & usable[index]
    cosines = np.abs(np.einsum("ksd,sd->ks", unit[kept], unit[index]))
    parallel = np.where(both, cosines >= 1 - tolerance, True).all(axis=1)
    return parallel & (both.sum(axis=1) >= USABLE_STATES * usable.shape[1])


def merge_variants(laws: Sequence[Law], states: np.ndarray, by_gradient: bool = False,
                   parallel_within: float = SAME_LAW) -> list[Law]:
    """Keep the first of each group of variants at ``states`` (see the module docstring); the
    gradient test (cosines within ``parallel_within`` of 1), and polynomials within the laws' own
    precision, when ``by_gradient`` (for the few accepted laws, not the pool of rejected ones)."""
    if not laws:
        return []
    signatures = _unit_rows(np.array([law.numpy("si")(states) for law in laws]))
    tolerance = np.full((len(laws), len(laws)), SAME_LAW)
    if by_gradient:
        variation = np.array([(law.evidence.variation or {}).get("median", 0.0) for law in laws])
        tolerance = np.clip(np.maximum.outer(variation, variation), SAME_LAW, NOISY_VARIANT)
    polynomial = _polynomials_of(signatures, _polynomial_bases(signatures), tolerance)
    gradients = _unit_gradients(laws, states) if by_gradient else None
    similar = np.abs(signatures @ signatures.T) >= 1 - SAME_LAW
    kept: list[int] = []
    variants: dict[int, int] = {}
    for index in range(len(laws)):
        match = [k for k in kept if similar[k, index]]
        if not match and kept:
            along = polynomial[kept, index]
            if gradients is not None:
                along = along | _functions_of(*gradients, kept, index, parallel_within)
            match = [k for k, flag in zip(kept, along) if flag]
        if match:
            variants[match[0]] = variants.get(match[0], 0) + 1
        else:
            kept.append(index)
    return [laws[i].replace(variants=laws[i].variants + variants.get(i, 0)) for i in kept]


def merge_near_copies(laws: Sequence[Law], states: np.ndarray, parallel: np.ndarray) -> list[Law]:
    """Merge each dependent exact law that is a function of one independent law to within the
    data's precision into the first such law: a polynomial of it at ``states`` to within the
    larger of the two laws' variations along a segment (not capped at ``NOISY_VARIANT``), or
    with its gradient along that law's and the identities' (``parallel[k, m]``:
    ``independence.along_one_law``). Under noise a law with a small fitted term beside a law's
    own (``v*(418.6 - x)**2`` for ``v``, ``x + 353.8/(x*y)`` for ``x*y``) is conserved to within
    the noise and marked dependent; the data cannot tell it from the law, and it says nothing the
    law does not. A function of several laws (``E_x + E_y``) stays."""
    independent = [i for i, law in enumerate(laws) if law.independent]
    if not independent or len(independent) == len(laws):
        return list(laws)
    signatures = _unit_rows(np.array([law.numpy("si")(states) for law in laws]))
    variation = np.array([(law.evidence.variation or {}).get("median", 0.0) for law in laws])
    tolerance = np.maximum(np.maximum.outer(variation, variation), SAME_LAW)
    along = parallel | _polynomials_of(signatures, _polynomial_bases(signatures), tolerance)
    variants = {i: 0 for i in independent}
    kept = []
    for index, law in enumerate(laws):
        copy = law.quality == "exact" and not law.independent
        match = [i for i in independent if along[i, index]] if copy else []
        if match:
            variants[match[0]] += 1 + law.variants
        else:
            kept.append(index)
    return [laws[i].replace(variants=laws[i].variants + variants.get(i, 0)) for i in kept]


def merge_repeats(kept: Sequence[Law], others: Sequence[Law]) -> tuple[list[Law], list[Law]]:
    """``others`` whose expression is one of the ``kept`` laws' merged into that law as variants
    (its own variants with it), and the rest. A template whose fitted parameter vanished prints
    as a smaller law (``c0*w1/w3 + w3`` at ``c0 = 0`` is ``w3``); the two searches and the
    rejected candidates' own merge see it apart from the accepted law, and listed as rejected it
    reads as that law rejected."""
    index = {law.expression: i for i, law in reversed(list(enumerate(kept)))}
    variants = collections.Counter()
    rest = []
    for law in others:
        if law.expression in index:
            variants[index[law.expression]] += 1 + law.variants
        else:
            rest.append(law)
    return [law.replace(variants=law.variants + variants[i]) if variants[i] else law
            for i, law in enumerate(kept)], rest
