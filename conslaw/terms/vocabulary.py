"""The term vocabulary: the chosen operators, widened step by step when laws are missing.

With ``vocabulary="auto"`` the search runs once with the chosen operators; while its laws are
fewer than the data could hold (``target_laws``), it widens the operators by one step of
``WIDENING`` and runs again (each step's library contains the previous one's simplest terms),
keeping every law found, until the target is met, the steps run out or the time budget does:

1. ``log``, ``exp`` (of dimensionless quantities only: the DSL's unit rules);
2. ``inv``: inverse powers;
3. ``sqrt``, ``rsqrt``: square roots, also of sums of squares of two or three columns of one
   unit (``1/sqrt(x**2 + y**2)``, see ``conslaw.terms.library``).

The auto vocabulary first runs these steps on a **lean** library (``stages``): products of up
to ``LEAN_FACTORS`` factors: single columns (polynomials of degree 3) and, once the operators
have them, at most one lifted norm; few terms, which the constraints determine well (momenta, angular momenta,
the Runge-Lenz vector), fast to build for many columns. Before it, the chosen operators' lean
library climbs ``LEAN_LADDER`` (polynomials of degree 1, then 2): under noise a law is found in
the smallest library that holds it, where few terms leave the noise little to fit. Then the
same steps on the configured library (``term_depth``, ``max_factors``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.conservation import NULL_DRAWS
from conslaw.discovery.demotions import reads_as_stand_in
from conslaw.dsl.budget import Estimate, estimate_enumeration
from conslaw.dsl.operators import resolve_operators
from conslaw.law import Law
from conslaw.terms.library import library_memory_gb
from conslaw.terms.term_config import TermsConfig

WIDENING: tuple[tuple[str, ...], ...] = (("log", "exp"), ("inv",), ("sqrt", "rsqrt"))


def vocabularies(operators: Sequence[str], vocabulary: str) -> list[tuple[str, ...]]:
    """The operator sets of the successive passes: the chosen ones, then (``auto``) each
    widening step that adds an operator, cumulatively."""
    chosen = resolve_operators(operators)
    passes = [chosen]
    if vocabulary == "auto":
        for step in WIDENING:
            wider = tuple(dict.fromkeys(passes[-1] + step))
            if len(wider) > len(passes[-1]):
                passes.append(wider)
    return passes


def target_laws(n_columns: int) -> int:
    """How many functionally independent conserved quantities the data could hold: a trajectory
    of an autonomous system in d dimensions is a curve, cut out locally by at most d - 1 of
    them. Most systems have fewer (chaotic ones only their energy), so the widening stops
    early only when the data are as constrained as they can be; otherwise it runs to the end
    of ``WIDENING`` or of the time budget."""
    return max(1, n_columns - 1)


def complete(found: int, target: int, noiseless: bool, laws: Sequence[Law]) -> bool:
    """Whether the widening may stop: the data hold as many laws as they could (``found`` of
    ``target``), and none of the ``laws`` reads as a truncated series or mixes an angle in and
    out of ``sin``/``cos`` (``demotions.reads_as_stand_in``) unless the data are exact to rounding
    (``noiseless``). Under noise a series can stand in for a law that a wider vocabulary writes
    in few terms: ``0.067*q**4 + 0.34*q**3 + q**2 + 0.25*v**2``, exact at 1 % noise, for
    ``exp(q) - q + 0.125*v**2``; the later stages judge it again."""
    return found >= target and (noiseless or not any(reads_as_stand_in(law) for law in laws))


LEAN_DEPTH = 1
LEAN_FACTORS = 3
LEAN_LADDER = (1, 2)
"""Factors per term of the lean libraries run before the ``LEAN_FACTORS`` one, with the chosen
operators only. Three-body at 1 % noise (12 columns): the degree-3 library (454 terms) fits
the noise below the total momentum and finds nothing, the linear one (12 terms, 0.06 s) finds
both components within 0.2 % of their coefficients (``docs/terms.md``, Vocabulary and library stages)."""
LEAN_LIFTED = 1
"""A lean term is a polynomial in the columns times at most one lifted norm: products of
several norms (``1/((px**2 + py**2)*(x**2 + y**2)**2)``) are heavy-tailed on the null, and the
linear forms call their mixtures conserved (``docs/terms.md``, Limits)."""


@dataclass(frozen=True)
class LibraryStage:
    """One pass's library: factors of at most ``term_depth`` nodes over ``operators`` (and their
    lifts), products of at most ``max_factors`` of them, at most ``max_lifted`` lifted (None:
    any number)."""

    term_depth: int
    max_factors: int
    operators: tuple[str, ...]
    max_lifted: Optional[int] = None
    exact_only: bool = False
    """Keep only its exact laws (the ranking's definition): the lean library's approximate fits
    under noise are mixtures of monomials and heavy-tailed norms (``1/(vx**2 + vy**2)``) that
    pass the 100-fold rule (Kepler and predator-prey at 1 % noise: 12- and 8-term mixtures,
    judged 2.5e-3 and 9e-3 against controls of 0.68 and 0.99), and are false."""
    optional: bool = False
    """A library too small to be fitted (fewer than 2 usable terms) skips the stage instead of
    ending the search (a rung of ``LEAN_LADDER`` on data of one column)."""

    @property
    def label(self) -> str:
        lifts = "" if self.max_lifted is None else f", {self.max_lifted} lifted"
        return f"depth {self.term_depth} x{self.max_factors}{lifts}: {' '.join(self.operators)}"


def stages(operators: Sequence[str], vocabulary: str, term_depth: int, max_factors: int
           ) -> list[LibraryStage]:
    """The libraries of the successive passes: with ``auto``, the chosen operators' rungs of
    ``LEAN_LADDER``, then each vocabulary on the lean library, then on the configured one;
    otherwise the configured one with the chosen operators."""
    steps = vocabularies(operators, vocabulary)
    configured = [LibraryStage(term_depth, max_factors, step) for step in steps]
    if vocabulary != "auto":
        return configured
    ladder = [LibraryStage(LEAN_DEPTH, factors, steps[0], LEAN_LIFTED, exact_only=True, optional=True)
              for factors in LEAN_LADDER]
    lean = [LibraryStage(LEAN_DEPTH, LEAN_FACTORS, step, LEAN_LIFTED, exact_only=True) for step in steps]
    return list(dict.fromkeys(ladder + lean + configured))


def library_estimate(dataset: TrajectoryDataset, config: TermsConfig, operators: Sequence[str]) -> Estimate:
    """The factors (formulas of ``config.term_depth`` nodes without parameters, over the widest
    vocabulary a search may reach) and the peak memory of the configured library, estimated
    before any work (``library.library_memory_gb``; the judging states are about the training
    truth, the control and the held-out truth, and ``NULL_DRAWS`` null copies of training and
    held-out data): ``--term-depth 12`` on the pendulum, 2e5 factors, ran for ten minutes past
    4 GB, and depth 10, 2.3e4 factors, peaked at 4.2 GB."""
    widest = vocabularies(operators, config.vocabulary)[-1]
    estimate = estimate_enumeration(dataset.columns, dataset.dimensions, config.term_depth, operators=widest,
                                    parameters=False)
    states = sum(len(t.x) for t in dataset.train + dataset.test) * (1 + NULL_DRAWS) + \
        sum(len(t.x) for t in dataset.train)
    return dataclasses.replace(estimate, memory_gb=library_memory_gb(estimate.formulas, states))
