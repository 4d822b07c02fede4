"""Which columns the HNN baseline takes as coordinates and which as their momenta.

Imports no torch: the engine asks, before any work, whether an HNN will train, so that the
baselines' training time is estimated for the models that will really train.
"""
from __future__ import annotations

from typing import Optional, Sequence

from conslaw.discovery.symmetry import parse_canonical_pairs
from conslaw.dsl.units import ANGLE, Dimension, format_unit

ConjugatePairs = tuple[tuple[int, ...], tuple[int, ...]]
"""Column positions of the coordinates and of their momenta, in matching order."""

ACTION = Dimension.of(mass=1, length=2, time=-1)
"""The dimension of a coordinate times its conjugate momentum (an angle's momentum: per radian)."""


def half_pairs(n_in: int) -> ConjugatePairs:
    """The HNN paper's pairing: the first half of the columns are the coordinates, the second
    half their momenta."""
    half = n_in // 2
    return tuple(range(half)), tuple(range(half, n_in))


def hnn_pairs(columns: Sequence[str], dimensions: Sequence[Dimension], canonical: Optional[str]
              ) -> tuple[Optional[ConjugatePairs], list[str]]:
    """The HNN's coordinates and momenta: the ``--canonical`` pairs, else the HNN paper's halves
    of the columns; None, with the reason as a warning, when the columns cannot be paired, and,
    with two pairs or more, a warning naming those whose units do not multiply to an action."""
    if canonical is None:
        if len(columns) % 2:
            return None, [f"no HNN baseline: {len(columns)} columns do not split into coordinates and "
                          "momenta (--canonical pairs them)"]
        pairs = half_pairs(len(columns))
    else:
        named = parse_canonical_pairs(canonical, columns)
        unpaired = [column for column in columns if not any(column in pair for pair in named)]
        if unpaired:
            return None, [f"no HNN baseline: --canonical leaves {', '.join(unpaired)} out of its (q, p) pairs"]
        index = {column: i for i, column in enumerate(columns)}
        pairs = tuple(index[q] for q, _ in named), tuple(index[p] for _, p in named)
    # One pair is left alone: a one-degree-of-freedom flow that keeps area (a velocity for the
    # momentum, as the recorded pendulum's rad/s) is Hamiltonian in those columns, up to H's scale.
    products = {f"{columns[q]}:{columns[p]}": dimensions[q] * dimensions[p] for q, p in zip(*pairs)}
    odd = [f"{pair} ({format_unit(product)})" for pair, product in products.items()
           if not product.is_dimensionless and _per_radian(product) != ACTION]
    if len(products) < 2 or not odd:
        return pairs, []
    return pairs, [f"the HNN baseline pairs {', '.join(odd)}, whose units do not multiply to an action "
                   f"({format_unit(ACTION)}): a coordinate paired with a velocity or another coordinate may "
                   "make a flow its Hamiltonian form cannot fit (--canonical names the conjugate pairs)"]


def pairs_text(columns: Sequence[str], pairs: Optional[ConjugatePairs]) -> Optional[str]:
    """The pairs as ``--canonical`` writes them (``q:p,...``), or None."""
    return None if pairs is None else ",".join(f"{columns[q]}:{columns[p]}" for q, p in zip(*pairs))


def _per_radian(dimension: Dimension) -> Dimension:
    return dimension / ANGLE ** dimension.angle_power
