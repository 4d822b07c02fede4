"""The enumeration's options, and its budget: estimate the formulas and memory before the work.

The estimate comes from the first sizes of the enumeration itself (the probe, which the
enumeration then continues, so it costs nothing extra) and from the exact count of unit-valid
trees modulo commutativity (``count_unit_valid_trees``, a dynamic program that costs well under a
second at depth 14). The share of those trees that survive pruning falls slowly and steadily
with size; the probe measures it at its last sizes and extrapolates it geometrically. From size 6
on, the estimate was within 25 % of the true count for every system measured (docs/dsl.md).
Memory is calibrated per representative node (``BYTES_PER_NODE``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from conslaw.dsl.growth import Grower
from conslaw.dsl.operators import OPERATORS, PAPER_OPERATORS, resolve_operators
from conslaw.dsl.unit_table import count_unit_valid_trees
from conslaw.dsl.units import Dimension
from conslaw.errors import UsageError
from conslaw.options import check_types, flags, option, require

PROBE_MIN_SIZE = 6      # the survival share is steady from here on
PROBE_NODES = 5_000     # ... and a size with this many nodes gives it precisely enough
PROBE_MAX_NODES = 50_000  # stop probing here even before PROBE_MIN_SIZE (many columns)
COUNT_MAX_SIZE = 14     # larger sizes extend the tree count geometrically
BYTES_PER_NODE = 1_250  # peak RSS growth per representative node, measured (benchmarks/)

OPERATORS_HELP = (
    "Operators of the formula grammar, comma-separated. A plain list replaces the default set "
    f"({' '.join(PAPER_OPERATORS)}); +op adds to it (\"+log,+rsqrt\", or \"default,+log\"). "
    f"Valid: {' '.join(OPERATORS)}."
)


@dataclass(frozen=True)
class EnumerationConfig:
    """What to enumerate, and the budget that refuses an enumeration too large to finish."""

    depth: int = option(7, "Largest formula size in nodes (p**2 + c*cos(q) has 7).")
    operators: tuple[str, ...] = option(PAPER_OPERATORS, OPERATORS_HELP, parse=resolve_operators,
                                        metavar="OPS")
    max_formulas: int = option(2_000_000, "Refuse to enumerate when the estimated number of "
                               "formulas passes this; raise it to go deeper.")
    max_memory_gb: float = option(2.0, "Refuse to enumerate when the estimated peak memory "
                                  "passes this many GB; raise it to go deeper.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "operators", resolve_operators(self.operators))
        check_types(self)
        require(self.depth >= 1, self, "depth", "must be an integer >= 1")
        require(self.max_formulas >= 1, self, "max_formulas", "must be at least 1")
        require(self.max_memory_gb > 0, self, "max_memory_gb", "must be positive")


@dataclass(frozen=True)
class Estimate:
    """Formulas (roots), representative nodes and peak memory of an enumeration to ``depth``;
    ``exact`` when the probe reached the depth."""

    depth: int
    formulas: float
    nodes: float
    memory_gb: float
    exact: bool


def probe_done(grower: Grower, depth: int) -> bool:
    """Whether the sizes grown so far are enough to estimate an enumeration to ``depth``."""
    size = grower.size
    nodes = len(grower.levels[-1]) if size else 0
    return (size >= depth - 2 or (size >= PROBE_MIN_SIZE and nodes >= PROBE_NODES)
            or nodes >= PROBE_MAX_NODES)


def estimate_from(grower: Grower, depth: int, parameters: bool) -> Estimate:
    """Extrapolate the sizes grown so far to ``depth`` (see the module docstring)."""
    probe = grower.size
    nodes = [len(level) for level in grower.levels]
    roots = [grower.counts_by_size[size] for size in range(1, probe + 1)]
    if probe >= depth:
        return _estimate(depth, sum(roots), sum(nodes), exact=True)
    trees = _tree_counts(grower, depth, parameters)
    share = [n / t if t else 0.0 for n, t in zip(nodes, trees)]
    # The survival share's decay per size, averaged over two sizes (counts alternate).
    decay = math.sqrt(share[-1] / share[-3]) if probe >= 3 and share[-3] > 0 else 1.0
    decay = min(decay, 1.0)
    root_share = sum(roots[-2:]) / max(sum(nodes[-2:]), 1)
    more = [trees[size - 1] * share[-1] * decay ** (size - probe)
            for size in range(probe + 1, depth + 1)]
    return _estimate(depth, sum(roots) + root_share * sum(more), sum(nodes) + sum(more),
                     exact=False)


def _estimate(depth: int, formulas: float, nodes: float, exact: bool) -> Estimate:
    return Estimate(depth, float(formulas), float(nodes), nodes * BYTES_PER_NODE / 1e9, exact)


def _tree_counts(grower: Grower, depth: int, parameters: bool) -> list[float]:
    """Unit-valid trees modulo commutativity per size, to ``depth`` (extended geometrically)."""
    names = [operator.name for operator in grower.operators]
    exact = count_unit_valid_trees(grower.table.dimensions, min(depth, COUNT_MAX_SIZE), names,
                                   parameters, commutative=True)
    counts = [float(exact[size]) for size in sorted(exact)]
    while len(counts) < depth:
        counts.append(counts[-1] * counts[-1] / max(counts[-2], 1.0))
    return counts


def estimate_enumeration(columns: Sequence[str], dimensions: Sequence[Dimension], depth: int,
                         *, operators: Sequence[str] = PAPER_OPERATORS, parameters: bool = True
                         ) -> Estimate:
    """The estimate ``enumerate_formulas`` checks its budget against, from a probe alone."""
    grower = Grower(columns, dimensions, resolve_operators(operators), parameters, 16, 0, depth)
    grower.grow()
    while grower.size < depth and not probe_done(grower, depth):
        grower.grow()
    return estimate_from(grower, depth, parameters)


def check_budget(estimate: Estimate, max_formulas: Optional[float],
                 max_memory_gb: Optional[float], depth_flag: Optional[str] = None, other: str = "") -> None:
    """A one-line ``UsageError`` naming ``--depth`` (or ``depth_flag``, the option that set the
    estimate's depth) when the estimate passes a budget; ``other`` ends it with another way out."""
    checks = [("max_formulas", estimate.formulas, max_formulas),
              ("max_memory_gb", estimate.memory_gb, max_memory_gb)]
    over = [name for name, value, limit in checks if limit is not None and value > limit]
    if not over:
        return
    names = flags(EnumerationConfig)
    depth = depth_flag or names["depth"]
    limits = " / ".join(text for text in [
        None if max_formulas is None else f"{_short(max_formulas)} formulas",
        None if max_memory_gb is None else f"{max_memory_gb:g} GB"] if text)
    raise UsageError(
        f"{depth} {estimate.depth} would enumerate about {_short(estimate.formulas)} "
        f"formulas (~{_short(estimate.memory_gb)} GB); the budget is {limits}: lower "
        f"{depth} or raise {' and '.join(names[name] for name in over)}{other}")


def _short(number: float) -> str:
    """``0.437`` -> ``0.44``; ``41460`` -> ``41,460``; ``4.1e7`` -> ``4.1e7``."""
    if number < 10:
        return f"{number:.2g}"
    if number < 1e5:
        return f"{number:,.0f}"
    mantissa, exponent = f"{number:.2g}".split("e")
    return f"{mantissa}e{int(exponent)}"
