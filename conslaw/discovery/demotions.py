"""Accepted laws that say nothing of their own, found after independence is marked.

- ``outdone``: an exact law that an approximate law, one law with it on the data, outdoes in
  steadiness on the training and the held-out data becomes approximate (before independence).
- ``beyond_noise_floor``: a dependent exact law that varies along a segment far more than every
  independent exact law is not conserved to within the data's noise: it becomes approximate.
- ``approximations``: an approximate law that a polynomial of the independent laws predicts.
- ``truncations``: an approximate law over a proper subset of an exact law's columns.
- ``misfitted``: an approximate whole formula whose terms, refitted freely, are steadier.
- ``unneeded``: a dependent law that does not need one of its columns.
- ``drifting_beside_exact``: a dependent approximate law whose level drifts, beside exact laws.
- ``reading_derived``: an approximate law that reads a column derived by ``--derive``.
- ``series_beyond_noise``: an approximate law that varies beyond the noise, does not drift, and
  reads as a truncated power series (``reads_as_series``) or mixes an angle in and out of
  ``sin``/``cos`` (``mixes_an_angle``).
- ``by_run``: an approximate law whose own terms, refitted on each run apart, are far steadier
  on that run's other windows: each run has its own law, and it is their average.
- ``beating``: an approximate law whose level drifts, but not one way on every trajectory (the
  held-out ones too) as a loss to friction does: a slow exchange between motions.
- ``unidentified``: an independent exact law whose coefficients the data do not fix.
- ``relation`` (judged by ``ranking.borne_by_broken_relations``): a law that is no law once a
  column an identity fixes is replaced by its value from the identity.

The last eleven are demoted to the rejected candidates by ``ranking.rank_laws`` (``demoted``), each
with the key of ``conslaw.law.REJECTIONS`` that names its rule.
"""
from __future__ import annotations

import collections
import itertools
import math
from typing import Sequence

import numpy as np
import sympy

from conslaw.discovery.conservation import ConservationData
from conslaw.discovery.drift import drifting, one_way, trajectory_trends
from conslaw.discovery.forms import segment_variation
from conslaw.discovery.segments import Segments
from conslaw.dsl.expressions import column_symbols
from conslaw.law import Law

PREDICTABLE = 10.0
MAX_GROUP = 4
"""Largest group of exact laws whose columns ``approximations`` checks for a fixed curve."""
SAMPLES_PER_FEATURE = 3
NOISE_FLOOR_FACTOR = 100.0
"""How many times more than the most variable independent exact law a law may vary along a
segment and still count as conserved to within the data's noise."""
IDENTIFIED_SHARE = 0.4
"""How large a share of an exact law's variation on the null a quantity of its own terms may be
mixed in at before the data must tell the mixture from the law (``unidentified``)."""
BY_RUN_GAIN = 10.0
"""How many times steadier, refitted run by run, an approximate law's terms must be for the law
to be an average of the runs' own laws (``averaged_over_runs``)."""
ROUNDING_VARIATION = 1e-12
"""Variation along a segment (of the null's range) that rounding alone can make."""


def law_values(law: Law, states: np.ndarray) -> np.ndarray:
    """The law's values at ``states`` (n, d; SI), one per state (n,), also for a law that the
    lambdified expression returns as one number (a constant)."""
    values = law.numpy("si")(states)
    return values if np.shape(values) == states.shape[:1] else np.full(states.shape[:1], values, dtype=float)


def null_spread(law: Law, data: ConservationData) -> float:
    """The standard deviation of the law's finite values on the training null (0 when none is
    finite): the scale its drift and its unresolved change are judged on."""
    on_null = law_values(law, data.train.null.x)
    return float(np.std(on_null[np.isfinite(on_null)])) if np.isfinite(on_null).any() else 0.0


def predictable(values: np.ndarray, chosen: np.ndarray, truth: Segments) -> bool:
    """Whether a polynomial of the ``chosen`` laws' values predicts ``values`` (both at the
    states of the ``truth`` segments) to within ``PREDICTABLE`` times the law's own mean
    within-segment variance. The degree is at most 3 and low enough that the data hold
    ``SAMPLES_PER_FEATURE`` independent groups (trajectories: a conserved law takes one value per
    trajectory) per coefficient, so that the polynomial cannot simply interpolate a few
    trajectories' values; with too few, nothing is called predictable."""
    within, groups = float(np.mean(segment_variation(values, truth))), truth.n_trajectories
    degree = max((d for d in range(1, 4)
                  if math.comb(len(chosen) + d, d) * SAMPLES_PER_FEATURE <= groups), default=0)
    if degree == 0:
        return False
    standardized = (chosen - chosen.mean(axis=1, keepdims=True)) / (chosen.std(axis=1, keepdims=True) + 1e-300)
    features = [np.ones(values.size)]
    for power in range(1, degree + 1):
        for combination in itertools.combinations_with_replacement(range(len(chosen)), power):
            features.append(np.prod(standardized[list(combination)], axis=0))
    design = np.stack(features, axis=1)
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = float(np.var(values - design @ coefficients))
    return residual <= max(PREDICTABLE * within, 1e-10 * float(np.var(values)))


def approximations(laws: Sequence[Law], data: ConservationData) -> set[int]:
    """Positions of the approximate laws, other than the independent ones, that a polynomial (up
    to cubic) of the independent laws (the exact ones, or the approximate ones when none is exact)
    predicts to within their own within-segment variation: approximations of those laws (a fitted
    cosine imitating a square; a quartic mixture imitating a damped pendulum's energy), not laws
    of their own. When the exact independent laws are as many as d columns allow (d - 1: they
    fix each trajectory's curve, and whatever else is conserved is a function of them), every
    other approximate law is one, also where too few trajectories fit the polynomial (a sextic
    mixture beside the Duffing energy, 8 training trajectories). The same holds within the
    columns of any group of exact laws one fewer than those columns (``_fixed_curves``): a
    pendulum's energy fixes the curve of ``q, w`` whatever other columns a file has."""
    exact = [law for law in laws if law.quality == "exact" and law.independent]
    base = exact or [law for law in laws if law.independent]
    if not base:
        return set()
    truth = data.train.truth
    if len(exact) >= truth.x.shape[1] - 1:
        return {i for i, law in enumerate(laws) if law.quality == "approximate" and not law.independent}
    curves = _fixed_curves(exact)
    chosen = np.array([law_values(law, truth.x) for law in base])
    found = set()
    for i, law in enumerate(laws):
        if law.quality != "approximate" or law.independent:
            continue
        if any(law.expression.free_symbols <= columns for columns in curves):
            found.add(i)
            continue
        values = law_values(law, truth.x)
        if predictable(values, chosen, truth):
            found.add(i)
    return found


def _fixed_curves(exact: Sequence[Law]) -> list[set]:
    """The column sets in which some of the ``exact`` laws fix each trajectory's curve: those laws
    are one fewer than the columns they use (a pendulum's energy in ``q, w``). Every group of up
    to ``MAX_GROUP`` laws is tried."""
    curves = []
    for size in range(1, min(len(exact), MAX_GROUP) + 1):
        for group in itertools.combinations(exact, size):
            columns = set().union(*(law.expression.free_symbols for law in group))
            if size >= len(columns) - 1:
                curves.append(columns)
    return curves


def truncations(laws: Sequence[Law]) -> set[int]:
    """Positions of the approximate laws over a proper subset of an exact law's columns. Three
    bodies in velocities at 1 % noise, 800 Hz: beside the exact momentum ``vx1 + 0.8*vx2 +
    0.6*vx3``, ``vx1 + 0.81*vx2`` is 400x steadier than chance only because the bodies drift
    between encounters and ``vx3`` with them; it says nothing the exact law does not."""
    exact = [law.expression.free_symbols for law in laws if law.quality == "exact"]
    return {i for i, law in enumerate(laws) if law.quality == "approximate"
            and any(law.expression.free_symbols < columns for columns in exact)}


def reading_derived(laws: Sequence[Law], data: ConservationData) -> set[int]:
    """Positions of the approximate laws that read a column derived from another (``--derive``).
    A derived column's error is smooth over its window, and the judgement, which compares
    neighbouring samples, takes it for motion: the exact laws of such data come out approximate,
    so no exact law is there to demote the truncations of one (``truncations``). A Duffing
    oscillator's positions at 100 Hz, clean, gave ``v**2 + 2.84*x**2`` for its energy
    ``v**2 + 2*x**2 + x**4/4``, approximate and 100 times steadier than chance."""
    if not any(data.derived) or not laws:
        return set()
    names = {name for name, derived in zip(laws[0].columns.names, data.derived) if derived}
    return {i for i, law in enumerate(laws) if law.quality == "approximate"
            and any(str(symbol) in names for symbol in law.expression.free_symbols)}


def misfitted(laws: Sequence[Law], data: ConservationData) -> set[int]:
    """Positions of the approximate whole formulas whose additive terms, refitted freely, are
    significantly steadier (``conslaw.terms.check.refit_is_steadier``): the template's few
    parameters cannot express the law its terms hold, and what it does express is an
    approximation of that law, not one of its own."""
    from conslaw.terms.check import refit_is_steadier  # conslaw.terms imports this module

    return {i for i, law in enumerate(laws) if law.quality == "approximate" and law.origin == "formula"
            and refit_is_steadier(law.expression, law.columns, data)}


def unneeded(laws: Sequence[Law], data: ConservationData) -> set[int]:
    """Positions of the dependent accepted laws that one of their columns, held at its mean,
    leaves as steady (``conslaw.terms.check.unneeded_column``): a slowly drifting column far from
    zero stands in for a constant there, and the law does not show that the column has a role."""
    from conslaw.terms.check import unneeded_column  # conslaw.terms imports this module

    return {i for i, law in enumerate(laws) if not law.independent
            and unneeded_column(law.expression, law.columns, data) is not None}


def averaged_over_runs(laws: Sequence[Law], data: ConservationData) -> set[int]:
    """Positions of the approximate laws whose additive terms, refitted on each training run
    apart, are more than ``BY_RUN_GAIN`` times steadier on that run's other windows
    (``conslaw.terms.check.run_refit_gain``). Each run then conserves its own combination of
    them: a setting that differs from run to run and is not a column (a pendulum's g, 16 runs
    of 0.8-1.25 times 9.81 m/s**2) leaves ``cos(0.35*v) + cos(x)`` approximately conserved on
    all of them, steady to 5 % along a run, where no function of the columns is a law."""
    from conslaw.terms.check import run_refit_gain  # conslaw.terms imports this module

    return {i for i, law in enumerate(laws) if law.quality == "approximate"
            and (run_refit_gain(law.expression, law.columns, data) or 0.0) > BY_RUN_GAIN}


def beating(laws: Sequence[Law], data: ConservationData) -> set[int]:
    """Positions of the approximate laws whose level drifts (``Evidence.drift``) other than one
    way everywhere (``drift.one_way`` of their trends on the training and held-out
    trajectories). Friction drains an energy on every trajectory alike; a quadratic form of
    modes that exchange energy slower than the recordings last rises on some and falls on others
    (four oscillators at 10 Hz, a 15-term form), and a near-integral of a slowly rotating trap
    drifted on its one training trajectory and not on the held-out one."""
    beats = set()
    for i, law in enumerate(laws):
        if law.quality != "approximate" or not drifting(law.evidence.drift):
            continue
        scale = null_spread(law, data)
        training = trajectory_trends(law_values(law, data.train.truth.x), data.train.truth, scale)
        held_out = [] if data.test is None else \
            trajectory_trends(law_values(law, data.test.truth.x), data.test.truth, scale)
        if not one_way(training, held_out):
            beats.add(i)
    return beats


def unidentified(laws: Sequence[Law], data: ConservationData) -> set[int]:
    """Positions of the independent exact laws into which a quantity of their own terms, not
    conserved, can be mixed at ``IDENTIFIED_SHARE`` unseen (``conslaw.terms.check.unseen_mixture``):
    the data do not fix their coefficients, and the law shown is one point of a valley of equally
    steady mixtures. A dependent law is a function of the independent ones, and goes with them
    when they all go (``demoted``); judged on its own, a near copy of an accepted law (the heat
    exchange's ``T2 - 2.29e7/(T1*T2)`` beside ``0.3993*T1 + T2``, 1 % noise) was named in the
    warning as open, though it says nothing the law does not."""
    from conslaw.terms.check import unseen_mixture  # conslaw.terms imports this module

    return {i for i, law in enumerate(laws) if law.quality == "exact" and law.independent
            and unseen_mixture(law.expression, law.columns, data, IDENTIFIED_SHARE) is not None}


def beyond_noise_floor(laws: Sequence[Law]) -> set[int]:
    """Positions of the dependent exact laws whose variation along a segment (median over the
    segments, relative to the null's) is more than ``NOISE_FLOOR_FACTOR`` times that of every
    independent exact law. The independent laws show how far the data's noise moves a conserved
    quantity; a law that moves a hundred times more is not conserved to within it, however wide
    its ratio's standard error (a free particle with its time column, noiseless:
    ``v*(x + 418.7)**2`` varies by 0.015 and ``v/cos(0.0065/x)`` by 0.0025, beside ``v`` and
    ``x - t*v`` at 1e-16, and both were exact)."""
    floors = [law.evidence.variation["median"] for law in laws
              if law.quality == "exact" and law.independent and law.evidence.variation]
    floors = [floor for floor in floors if np.isfinite(floor)]
    if not floors:
        return set()
    limit = NOISE_FLOOR_FACTOR * max(*floors, ROUNDING_VARIATION)
    return {i for i, law in enumerate(laws) if law.quality == "exact" and not law.independent
            and law.evidence.variation and law.evidence.variation["median"] > limit}


def outdone(laws: Sequence[Law], data: ConservationData, noisy_only: Sequence[bool]) -> set[int]:
    """Positions of the exact laws that an accepted approximate law outdoes: on the data the two
    are one law (each predicts the other, ``predictable``), and the approximate one, approximate
    only because its ratio is not within its standard errors of 0 (``noisy_only``: not biased by
    the noise, not drifting), is at least as steady on the training and on the held-out data, and
    steadier on one. The exact law's label then rests on its wider standard errors, not on its
    steadiness: were it conserved to within the noise, so would be the steadier law. Heat
    exchange at 10 Hz with 2 % noise (random trust seed 57): the heat content ``0.4008*T1 + T2``,
    0 ± 7e-4 (held out 6.8e-4 ± 2.8e-4: approximate), and ``T2*(T1**2 + 388729)``, which over the
    temperatures' narrow range imitates it, 1.4e-3 ± 7.7e-4 (held out 2.1e-3 ± 1.0e-3: exact),
    independent in its place, the heat content demoted as its approximation."""
    exact = [i for i, law in enumerate(laws) if law.quality == "exact"]
    steadier = [i for i, law in enumerate(laws) if law.quality == "approximate" and noisy_only[i]]
    pairs = [(a, e) for e in exact for a in steadier if _steadier(laws[a], laws[e])]
    truth = data.train.truth
    values = {i: law_values(laws[i], truth.x) for i in {i for pair in pairs for i in pair}}

    def one_law(i: int, j: int) -> bool:
        return predictable(values[i], values[j][None], truth) and predictable(values[j], values[i][None], truth)

    return {e for a, e in pairs if one_law(a, e)}


def _steadier(law: Law, than: Law) -> bool:
    """Whether ``law``'s training and held-out ratios are each at most ``than``'s, one of them
    below (a held-out ratio counts when both laws have one)."""
    pairs = [(law.evidence.ratio, than.evidence.ratio)]
    if law.evidence.ratio_test is not None and than.evidence.ratio_test is not None:
        pairs.append((law.evidence.ratio_test, than.evidence.ratio_test))
    return all(mine <= theirs for mine, theirs in pairs) and any(mine < theirs for mine, theirs in pairs)


def drifting_beside_exact(laws: Sequence[Law]) -> set[int]:
    """Positions of the approximate laws, not independent, whose level drifts from window to
    window (``conslaw.discovery.drift``), when some independent law is exact: beside laws the data
    conserve exactly, a dependent quantity that is steady only within windows (two modes that
    beat slower than a window) is not a law of its own."""
    if not any(law.quality == "exact" and law.independent for law in laws):
        return set()
    return {i for i, law in enumerate(laws)
            if law.quality == "approximate" and not law.independent and drifting(law.evidence.drift)}


def series_beyond_noise(laws: Sequence[Law], beyond_noise: Sequence[bool]) -> set[int]:
    """Positions of the approximate laws that vary beyond the noise (``beyond_noise``: their
    ratio is not within its standard errors of 0), whose level does not drift, and that read as
    a truncated power series: a series standing in for a law outside the vocabulary's reach, no
    law of the system. A Toda bond at 2 % noise (``toda-pair``, energy ``v**2/2 + 4*(exp(-q) +
    q)``): ``-0.28*q**3 + q**2 + 0.23*v**2``, ratio 9e-4 ± 2e-4. A weakly damped cubic
    oscillator's energy ``v**2 + x**2 - x**3/3`` varies beyond the noise too, and drifts: it
    stays, approximate, as the real pendulum's energy does."""
    return {i for i, (law, beyond) in enumerate(zip(laws, beyond_noise))
            if law.quality == "approximate" and stands_in_as_series(law, beyond)}


def stands_in_as_series(law: Law, beyond_noise: bool) -> bool:
    """Whether a law that varies beyond the noise (``beyond_noise``) does not drift and reads as a
    truncated power series, of any function or of an even or odd one, or mixes an angle in and
    out of ``sin``/``cos`` (``mixes_an_angle``): what ``series_beyond_noise`` demotes. A
    relativistic oscillator's energy ``sqrt(p**2 + 1) + 2*x**2`` (a hand-written file, 1 and 5 %
    noise): ``-0.069*p**4 + p**2 + 4.7*x**2``, accepted as approximate, was a false law; so was a
    rotating hoop's ``-1.36e-5*omega**6 + omega**2 + 6.87*theta**2 - 12.85*cos(theta)`` (10 Hz, 2 %
    noise, finite differences; random trust seed 85)."""
    return beyond_noise and not drifting(law.evidence.drift) and reads_as_stand_in(law, parity=True)


def reads_as_stand_in(law: Law, parity: bool = False) -> bool:
    """Whether the law bears a mark of a series standing in for a law that a wider library
    writes: it reads as a truncated power series (``reads_as_series``, with ``parity`` as there)
    or mixes an angle in and out of ``sin``/``cos`` (``mixes_an_angle``)."""
    return reads_as_series(law.expression, parity) or mixes_an_angle(law)


def reads_as_series(expression: sympy.Expr, parity: bool = False) -> bool:
    """Whether a law holds two consecutive powers of one column, the higher at least a cube
    (``q**2`` and ``q**3``): the mark of a truncated power series. With ``parity``, also two
    powers two apart, the higher at least a fourth (``p**2`` and ``p**4``): the series of an even
    or odd function. A quartic oscillator's energy (``x**4`` beside ``x**2``) reads so too, so
    only a law beyond the noise is judged by it (``stands_in_as_series``)."""
    powers: dict[sympy.Expr, set[int]] = collections.defaultdict(set)
    for term in sympy.Add.make_args(sympy.expand(expression)):
        base, exponent = term.as_coeff_Mul()[1].as_base_exp()
        if base.is_Symbol and exponent.is_Integer and exponent > 0:
            powers[base].add(int(exponent))
    steps = (1, 2) if parity else (1,)
    return any(k - step >= 2 and k - step in found for found in powers.values() for k in found for step in steps)


def mixes_an_angle(law: Law) -> bool:
    """Whether the law holds an angle column both inside ``sin``/``cos`` and outside them
    (``theta*sin(theta)``, ``theta**2`` beside ``cos(theta)``): the mark of a series standing in
    for a periodic term that a wider library writes. A rotating hoop recorded at 1 % noise gave
    ``-0.00497*omega**2 + 0.169*theta**2 + 0.276*theta*sin(theta) + cos(theta)``, within the noise,
    for its ``-0.0255*omega**2 + 0.229*sin(theta)**2 + cos(theta)``, whose ``sin(theta)**2``
    the lean libraries (one lifted factor per term) do not hold. A pendulum on a torsion spring
    (``theta**2`` beside ``cos(theta)``) reads so too, so it only keeps the widening going."""
    symbols = column_symbols(law.columns.names)
    angles = {symbols[name] for name, unit in zip(law.columns.names, law.columns.dimensions) if unit.is_angle}
    trig = law.expression.atoms(sympy.sin, sympy.cos)
    inside = set().union(*(function.free_symbols for function in trig))
    outside = law.expression.xreplace({function: sympy.Dummy() for function in trig}).free_symbols
    return bool(angles & inside & outside)


def demoted(laws: Sequence[Law], data: ConservationData, beyond_noise: Sequence[bool],
            relation: set[int]) -> dict[int, str]:
    """The positions of the accepted ``laws`` that the rules above demote, each with the key of
    ``conslaw.law.REJECTIONS`` of the first rule that does (``beyond_noise``: per law, whether its
    ratio is not within its errors of 0; ``relation``: the positions of the laws that are no law
    with an identity restored, ``ranking.borne_by_broken_relations``, the first rule); and when
    they demote every independent law, the
    dependent ones too (``dependent``), which were judged functions of those. Left accepted
    beside no independent law, they became identities (a relativistic oscillator's
    ``-0.221*p**2*Abs(p) + p**2 + 3.76*x**2``, beside its demoted series, noiseless)."""
    rules = {"relation": relation, "approximation": approximations(laws, data), "truncation": truncations(laws),
             "misfit": misfitted(laws, data), "derived_column": reading_derived(laws, data),
             "unneeded_column": unneeded(laws, data), "drifting": drifting_beside_exact(laws),
             "series": series_beyond_noise(laws, beyond_noise), "by_run": averaged_over_runs(laws, data),
             "beating": beating(laws, data),
             "unidentified": unidentified(laws, data)}
    reasons: dict[int, str] = {}
    for key, positions in rules.items():
        for position in sorted(positions):
            reasons.setdefault(position, key)
    independent = [i for i, law in enumerate(laws) if law.independent]
    if independent and all(i in reasons for i in independent):  # the dependent laws depend on them
        reasons.update({i: "dependent" for i in range(len(laws)) if i not in reasons})
    return reasons
