"""Identities: candidates that take one value on every sample, relations between the columns.

A candidate that passes acceptance but whose training segments' means spread by less than
``IDENTITY_RATIO`` times its median range along a segment (on at least ``IDENTITY_TRAJECTORIES``
trajectories), or by rounding (at most ``IDENTITY_SPREAD`` of its range on the null, and
``ROUNDING_LEVEL_SHARE`` or ``ROUNDING_RATIO``; on at least 2 trajectories), takes one value on
every sample: a relation between the columns (a column repeated in another unit, a constraint
such as a rod's length), or a value all the trajectories share; the data cannot tell it from a
conservation law. With fewer trajectories the same agreement says only that the data visit one
level set of the law (``one_level_set``).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import sympy

from conslaw.discovery.merging import merge_variants
from conslaw.dsl.expressions import gradient_function, numpy_function
from conslaw.law import Evidence, Law

IDENTITY_TRAJECTORIES = 3
IDENTITY_RATIO = 0.25
"""An identity's means differ across segments by noise only: x and x_cm, each with 1 % noise,
give spreads 0.04 times their median range along a segment; true laws 4 (a pendulum at 1 %
noise) to 10^8 (noiseless) times."""
IDENTITY_SPREAD = 1e-6
"""A spread of the segments' means (relative to the law's range on the null) at or below this
tells no trajectory from another: a fitted ``q_deg - 1.0000000000000002*q`` moves with q by 2e-16,
and ``1.1e-9*x + (x**2 + y**2)**-2`` (a rod's constraint and a trace of x) by 1e-9; but only when
the means are also one value to the null (at most ``ROUNDING_LEVEL_SHARE`` of its values lie
between them) or differ by no more than ``ROUNDING_RATIO`` times the law's range along a segment."""
ROUNDING_LEVEL_SHARE = 0.01
ROUNDING_RATIO = 10.0
"""A law's range on the null can dwarf its means' spread without making them one value: on a
hyperbolic saddle (``saddle``), ``x**16*y**16``, a power of the law ``x*y``, has means 2e-9 to 3e-9
of its range on the null apart (the 16th power stretches the null), yet 52-59 % of the null's values
lie between them, and they differ by 200 (5 % noise) to 3e13 (none) times its range along a segment.
Means that differ by rounding differ by about that range (0.2 times for ``p*(q - 0.01*q_cm)``
and ``q - 0.01*q_cm``, a column repeated in cm, whose null holds a few self-paired samples)."""
FLAT_GRADIENT = 1e-15
"""A gradient norm at or below this (at a data state) is flat there."""
SAME_RELATION = 5e-5
"""An identity whose gradient's cosine with a better-ranked one's is within this of 1 at every
data state (an angle below 0.01 rad, the independence test's tolerance) is that relation: under
1 % noise a rod's ``x**2 + y**2`` came with ``y**2 + (0.0043 - x)**2`` and two more such copies,
each fitted to the noise, 0.4 % off its direction."""


def merge_identities(identities: list[Law], states: np.ndarray) -> list[Law]:
    """Identities merged by gradient at data ``states``, where each holds; one whose gradient
    vanishes there at most states (``(x - 0.01*x_cm)**2``, ``cos(c*(x - 0.01*x_cm))``) is flat
    wherever an identity holds and is merged into the first."""
    merged = merge_variants(identities, states, by_gradient=True, parallel_within=SAME_RELATION)
    if len(merged) < 2:
        return merged
    columns = merged[0].columns.names
    flat = [float(np.mean(np.linalg.norm(np.nan_to_num(gradient_function(law.expression, columns)(states)), axis=1)
                          <= FLAT_GRADIENT)) > 0.5 for law in merged]
    kept = [law for law, is_flat in zip(merged, flat) if not is_flat] or merged[:1]
    return _folded_into_first(kept, [law for law in merged if law not in kept])


def fold_into_relations(identities: list[Law], relations: Sequence[sympy.Expr]) -> list[Law]:
    """The identities that are ``relations`` (``independence.independent_relations``), the
    others folded into the first as its variants: at the data their gradients lie along the
    relations' (``y*(vx*x + vy*y)`` and ``x**3 + x*y**2 - x`` beside a rod's ``vx*x + vy*y`` and
    ``x**2 + y**2``) and they say nothing more. Unchanged when no identity is a relation."""
    is_relation = [any(law.expression == relation for relation in relations) for law in identities]
    if not any(is_relation):
        return identities
    return _folded_into_first([law for law, relation in zip(identities, is_relation) if relation],
                              [law for law, relation in zip(identities, is_relation) if not relation])


def _folded_into_first(kept: list[Law], dropped: Sequence[Law]) -> list[Law]:
    """``kept``, its first counting the ``dropped`` identities (and their own variants) as its
    variants."""
    folded = sum(law.variants + 1 for law in dropped)
    return [kept[0].replace(variants=kept[0].variants + folded)] + kept[1:]


def holds_everywhere(evidence: Evidence, trajectories: int) -> bool:
    """Whether a law with ``evidence`` (its variation and spread) on the training segments of
    ``trajectories`` trajectories takes one value on every sample (see the module docstring): its
    segments' means spread by rounding (on at least 2 trajectories) or by less than
    ``IDENTITY_RATIO`` times its median range along one (on ``IDENTITY_TRAJECTORIES``)."""
    needed = _trajectories_to_tell(evidence)
    return needed is not None and trajectories >= needed


def split_identities(laws: Sequence[Law], trajectories: int) -> tuple[list[Law], list[Law]]:
    """``laws`` that take one value on every sample of ``trajectories`` trajectories
    (``holds_everywhere``), and the others, each in their order."""
    everywhere = [holds_everywhere(law.evidence, trajectories) for law in laws]
    return ([law for law, flag in zip(laws, everywhere) if flag],
            [law for law, flag in zip(laws, everywhere) if not flag])


def affine_solutions(identities: Sequence[Law], states: np.ndarray) -> list[tuple[sympy.Symbol, sympy.Expr]]:
    """For each identity affine in a column with a constant coefficient (``q - 0.0175*q_deg``, a
    column repeated in another unit; a linear constraint), that column and its value from the
    others, the identity held at its mean over ``states``. A relation of any other form is left
    out: solved for a column, ``x*vx + y*vy`` divides by ``x``, which amplifies the noise."""
    solutions = []
    for identity in identities:
        expression = identity.expression
        level = float(np.mean(numpy_function(expression, identity.columns.names)(states)))
        for symbol in sorted(expression.free_symbols, key=str):
            coefficient = sympy.diff(expression, symbol)
            if coefficient != 0 and not coefficient.free_symbols:
                solutions.append((symbol, (level - (expression - coefficient * symbol)) / coefficient))
    return solutions


def as_identity(law: Law) -> Law:
    """``law`` listed as an identity: not accepted, independent or on the Pareto front."""
    return law.replace(accepted=False, quality="identity", independent=False, pareto=False)


def on_one_level_set(laws: Sequence[Law], trajectories: int) -> bool:
    """Whether the training data (of ``trajectories`` trajectories) cannot tell a function of the
    independent laws among ``laws`` from a function that agrees with one along the data: they are
    one recording (on which a damped system's energy drifts: one curve, approximately one level
    set), or visit one level set of every independent law (``one_level_set``; true when none is
    independent)."""
    return trajectories == 1 or all(one_level_set(law.evidence) for law in laws if law.independent)


def one_level_set(evidence: Evidence) -> bool:
    """Whether the training segments' means of a law agree as an identity's do, however few
    trajectories they come from: the data visit one level set of the law."""
    return _trajectories_to_tell(evidence) is not None


def _trajectories_to_tell(evidence: Evidence) -> Optional[int]:
    """The trajectories the data need for segments whose means agree (by rounding, or within
    ``IDENTITY_RATIO``) to show one value on every sample; None when the means disagree."""
    if evidence.spread is None or not evidence.variation:
        return None
    if evidence.spread <= IDENTITY_SPREAD and ((evidence.level_share or 0.0) <= ROUNDING_LEVEL_SHARE
                                               or evidence.spread <= ROUNDING_RATIO * evidence.variation["median"]):
        return 2
    return IDENTITY_TRAJECTORIES if evidence.spread <= IDENTITY_RATIO * evidence.variation["median"] else None
