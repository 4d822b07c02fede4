"""The data's white measurement noise per column, and the bias it puts into a law's nonlinear terms.

Noise passes through a law's polynomial terms as noise (a square gains only a constant), but a
nonlinear function of a noisy argument is biased: to second order (the delta method),
``E[f(u + e)] = f(u) + f''(u) s**2 / 2`` for noise ``e`` of standard deviation ``s``. For sin
and cos the bias is ``-s**2 / 2`` times the function itself, so the fitted coefficient of such a
term is that of the noisy data's smooth part, not the physical one: a pendulum's energy fitted on
angles with 0.43 rad of noise is ``omega**2 - 30.7*cos(theta)`` where the law is
``omega**2 - 28.0*cos(theta)`` (28.0 / exp(-0.43**2 / 2) = 30.7). The data cannot tell the two
apart (both are conserved to within the noise), so such a law is not called exact.

``column_noise`` estimates each column's noise from how far each sample lies off the cubic through
its two neighbours on either side (a smooth motion's fourth derivative adds to it: an upper
bound, tight at sampling fine enough for the judgement); ``noise_bias`` is the largest bias of a
law's nonlinear terms, as a fraction of the term's variation over the data.

``unresolved_change`` asks whether a law changes between neighbouring samples by more than the
noise explains (each trajectory's own, ``trajectory_noise``, or, where the noise grows with the
values, the level of each value's magnitude, ``by_magnitude``). The conservation ratio compares
smooth forms (each state with the next), which white noise does not inflate; but neither does a
law's own change when it is faster than the sampling resolves, so such a change passes for noise
there. On a pendulum sampled at 10 Hz with
2 % noise, ``p**4*(q**2 + 2.02*cos(q) - 0.073*q**4 - 2.02) + 0.036*(p**2 - 2.8*cos(q))`` (about
zero times a steep factor, plus a little energy) had a ratio of 0.0014 +- 0.0009: exact. Its
residual off the same cubic stencil as ``column_noise``, though, is 1.9 to 3.1 times (over four
data seeds) what the columns' noise would leave in a conserved law, where the energy's is 0.9
to 1.1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import sympy
from scipy.special import erf, gammainc, gammaincc, gammaincinv

from conslaw.discovery.segments import Segments
from conslaw.dsl.expressions import column_symbols, gradient_function, numpy_function

NOISE_BIAS = 0.01
"""A law whose nonlinear term is biased by more than this fraction of the term's variation over
the data (its coefficients are uncertain by about as much) is approximate, not exact."""
CHI2_MEDIAN = 2.0 * float(gammaincinv(0.5, 0.5))
"""The median of a chi-squared variable with one degree of freedom (0.455): a Gaussian sample's
median square is this times its variance. scipy.special, not scipy.stats, whose import costs
0.7 s."""
NEIGHBOURS = (-2, -1, 1, 2)
"""Where the four samples lie, around each sample, that the cubic it is measured against passes through."""
CLIP = 9.0
"""Squared standardized residuals are clipped here (3 standard deviations), so that a few
tracking glitches do not count."""
CLIPPED_CHI2_MEAN = float(gammainc(1.5, CLIP / 2) + CLIP * gammaincc(0.5, CLIP / 2))
"""The mean of ``min(z**2, CLIP)`` for a standard Gaussian ``z`` (0.995)."""
UNRESOLVED = 1.5
"""A law whose residual off the cubic stencil has this many times the variance the columns' noise
leaves in a conserved law (at the bottom of its ``TIE_SIGMAS``-standard-error interval) changes
faster than the sampling resolves: it is not accepted. Conserved laws measure 0.9 to 1.15
(``docs/discovery.md``), and 0 without noise."""
NOISE_GROWTH = 3.0
"""A column whose noise (standard deviation, in units of its trajectory's level) is this many times
larger among its largest values than among its smallest has a noise level per magnitude
(``by_magnitude``). Measured: 0.75-1.56 on 25 variants of 21 systems with noise of one level,
2.3-19 on 6 with noise proportional to the value (predator-prey's ``y`` 2.3 stays at one level)."""
MAGNITUDE_BINS = 8
MIN_BIN_STATES = 50
"""A level by magnitude is taken in at most this many bins of a column's values, of at least this
many states each (a bin's median square is then uncertain by about 20 %)."""
WHITE = -0.4
"""Neighbouring residuals off the cubic correlate by -0.8 for white noise at even sampling and by
nearly +1 for a smooth motion the sampling does not resolve (a coarsely sampled orbit's fast
pericentre passages); at most this, they are taken for noise (``by_magnitude``)."""
MIN_TRAJECTORY_STATES = 20
"""A trajectory's own noise level (``trajectory_noise``) is estimated from at least this many
states with four neighbours (the median of fewer squares is uncertain by more than 50 %)."""
MIN_WHITE_PAIRS = 20
"""Residuals are called white (``_white``) from at least this many neighbouring pairs (a
correlation of fewer is uncertain by more than 0.2)."""
ROUNDING = 1e-6
"""The residual's noise floor, as a fraction of the law's typical range on the null: change below
it (rounding, an integrator's error on noiseless data) is not judged."""
SMOOTH = (sympy.sin, sympy.cos, sympy.tan, sympy.exp, sympy.log, sympy.sinh, sympy.cosh, sympy.tanh,
          sympy.atan, sympy.asin, sympy.acos)
"""The smooth functions whose bias is judged by their second derivative (abs and sign: exactly)."""


def _cubic_stencil(segments: Segments) -> tuple[np.ndarray, np.ndarray]:
    """The states with four neighbours in their segment (two on each side), and the weights
    ``(n, 4)`` of the cubic through those neighbours, evaluated at the state's time."""
    t, segment = segments.time, segments.segment
    centre = np.arange(2, len(t) - 2)
    centre = centre[segment[centre - 2] == segment[centre + 2]]
    around = np.stack([t[centre + k] for k in NEIGHBOURS], axis=1)
    weights = np.ones_like(around)
    for j in range(len(NEIGHBOURS)):
        for k in range(len(NEIGHBOURS)):
            if j != k:
                weights[:, j] *= (t[centre] - around[:, k]) / (around[:, j] - around[:, k])
    return centre, weights


def _cubic_residuals(values: np.ndarray, centre: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``values`` (N, ...) at the ``centre`` states minus the cubic through their neighbours."""
    fitted = sum(weights[:, j].reshape(-1, *[1] * (values.ndim - 1)) * values[centre + k]
                 for j, k in enumerate(NEIGHBOURS))
    return values[centre] - fitted


def _scaled_squares(residuals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each stencil state's squared residual per column (n, d), in units of the noise variance: a
    noise ``e`` leaves a residual of variance ``(1 + sum w**2) e**2`` for the interpolation
    weights ``w``."""
    return residuals ** 2 / (1.0 + np.sum(weights ** 2, axis=1))[:, None]


def column_noise(segments: Segments) -> np.ndarray:
    """Each column's white-noise standard deviation (d,), from each state's residual off the
    cubic through its four neighbours (``_cubic_stencil``, ``_scaled_squares``). The median
    square is used, so that a few jumps do not count. Zeros where no state has four neighbours."""
    return noise_stencil(segments).columns


def _group_medians(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The median of each column of ``values`` (n, d) within each group (G, d), and the groups'
    sizes (G,), for ``groups`` labelled 0..G-1 with none empty. numpy has no grouped median, and
    one ``np.median`` per group costs a Python loop over every trajectory for every law."""
    sizes = np.bincount(groups)
    starts = np.cumsum(sizes) - sizes
    lower, upper = starts + (sizes - 1) // 2, starts + sizes // 2
    medians = np.empty((len(sizes), values.shape[1]))
    for j in range(values.shape[1]):
        ordered = values[np.lexsort((values[:, j], groups)), j]
        medians[:, j] = (ordered[lower] + ordered[upper]) / 2.0
    return medians, sizes


def trajectory_noise(segments: Segments, centre: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each stencil state's column noise (n, d) as ``column_noise`` estimates it, on the states of
    its own trajectory: recordings can differ in noise (sizes, sessions, instruments), and one
    level for all would call the noisier ones' change unresolved. A trajectory with fewer than
    ``MIN_TRAJECTORY_STATES`` stencil states takes the level of all states."""
    return _trajectory_levels(segments, centre, _scaled_squares(_cubic_residuals(segments.x, centre, weights), weights))


def _trajectory_levels(segments: Segments, centre: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """``trajectory_noise`` from the stencil states' ``_scaled_squares``."""
    _, trajectory = np.unique(segments.source[segments.segment[centre]], return_inverse=True)
    medians, sizes = _group_medians(trajectory, scaled)
    own = np.where((sizes >= MIN_TRAJECTORY_STATES)[:, None], medians, np.median(scaled, axis=0))
    return np.sqrt(own[trajectory] / CHI2_MEDIAN)


@dataclass(frozen=True)
class NoiseStencil:
    """The states of some segments (``x``), those with four neighbours (``centre``), the weights
    of the cubic through those (``_cubic_stencil``) and each state's column noise
    (``noise_stencil``): what ``unresolved_change`` needs of the segments, whatever the law."""

    x: np.ndarray
    centre: np.ndarray
    weights: np.ndarray
    noise: np.ndarray
    columns: np.ndarray
    """Each column's level over all states (``column_noise``)."""


def noise_stencil(segments: Segments) -> NoiseStencil:
    """The ``NoiseStencil`` of ``segments``, computed once for every law judged on them: each
    state's column noise is its trajectory's level (``trajectory_noise``), or, for a column
    whose noise grows with its values, a level by magnitude (``by_magnitude``)."""
    centre, weights = _cubic_stencil(segments)
    if not len(centre):
        d = segments.x.shape[1]
        return NoiseStencil(segments.x, centre, weights, np.zeros((0, d)), np.zeros(d))
    residuals = _cubic_residuals(segments.x, centre, weights)
    squares = _scaled_squares(residuals, weights)
    columns = np.sqrt(np.median(squares, axis=0) / CHI2_MEDIAN)
    levels = _trajectory_levels(segments, centre, squares)
    return NoiseStencil(segments.x, centre, weights, by_magnitude(segments.x, centre, residuals, squares, levels),
                        columns)


def by_magnitude(x: np.ndarray, centre: np.ndarray, residuals: np.ndarray, squares: np.ndarray,
                 levels: np.ndarray) -> np.ndarray:
    """Each stencil state's column noise (n, d) from the stencil's ``residuals`` and their
    ``_scaled_squares``: its trajectory's ``levels``, except for a column whose noise, in units of
    those levels, grows by ``NOISE_GROWTH`` or more from its smallest values to its largest, white
    where a level is raised (``_magnitude_levels``): there the level of the state's magnitude. An
    instrument accurate to a share of its reading gives such noise, and one level per trajectory
    called its laws' change unresolved: a spring or a pendulum recorded with 2 % of each value
    accepted nothing."""
    follows = np.append(np.diff(centre) == 1, False)  # the next stencil state is the next sample
    noise = levels.copy()
    for j in np.flatnonzero(np.all(levels > 0, axis=0)):
        found = _magnitude_levels(residuals[:, j], squares[:, j], levels[:, j], np.abs(x[centre, j]), follows)
        noise[:, j] = noise[:, j] if found is None else found
    return noise


def _magnitude_levels(residuals: np.ndarray, squares: np.ndarray, levels: np.ndarray, magnitude: np.ndarray,
                      follows: np.ndarray) -> Optional[np.ndarray]:
    """One column's noise per state, interpolated in its magnitude between bins of equal counts
    (at most ``MAGNITUDE_BINS``, at least ``MIN_BIN_STATES`` states each), when, in units of
    the trajectories' ``levels`` (so that noisier recordings of larger motions do not count), it
    grows by ``NOISE_GROWTH`` from the lowest bin to the highest and the upper half of the bins,
    whose levels it raises, have neighbouring residuals that correlate as white noise's
    (``_white``); None otherwise (noise of one level along each trajectory, or a motion the
    sampling does not resolve, which a raised level would excuse). In the lower bins a level
    from the residuals is lowered, never raised, and there the motion's own curvature can
    outweigh noise proportional to small values (a Kepler orbit's slowest speeds)."""
    bins = min(MAGNITUDE_BINS, len(magnitude) // MIN_BIN_STATES)
    if bins < 2:
        return None
    parts = np.array_split(np.argsort(magnitude, kind="stable"), bins)
    relative = [float(np.median(squares[part] / levels[part] ** 2)) for part in parts]
    if not relative[-1] >= NOISE_GROWTH ** 2 * relative[0] or \
            not all(_white(residuals, part[follows[part]]) for part in parts[bins // 2:]):
        return None
    centres = np.array([np.median(magnitude[part]) for part in parts])
    if np.any(np.diff(centres) <= 0):  # bins of one repeated value: no magnitude to interpolate in
        return None
    absolute = np.sqrt(np.array([np.median(squares[part]) for part in parts]) / CHI2_MEDIAN)
    return np.interp(magnitude, centres, absolute)


def unresolved_change(expression: sympy.Expr, columns: Sequence[str], stencil: NoiseStencil,
                      scale: float) -> Optional[dict]:
    """How much the law changes between neighbouring samples beyond what the noise explains:
    ``{"ratio", "error"}``, the mean over the ``stencil``'s states of the law's squared residual
    off the cubic over the variance the columns' noise leaves there in a conserved law
    (propagated through the law's gradient; at least ``ROUNDING`` times ``scale``, the law's
    typical range on the null, squared), each clipped at ``CLIP``, over its Gaussian mean: about
    1 for a conserved law, and its standard error. None where no state has four neighbours or
    the values are not finite."""
    centre, weights = stencil.centre, stencil.weights
    if not len(centre):
        return None
    with np.errstate(all="ignore"):
        values = numpy_function(expression, columns)(stencil.x)
        gradient = gradient_function(expression, columns)(stencil.x[centre])
        expected = np.sum((gradient * stencil.noise) ** 2, axis=1) * (1.0 + np.sum(weights ** 2, axis=1))
        squared = _cubic_residuals(values, centre, weights) ** 2 / np.maximum(expected, (ROUNDING * scale) ** 2)
    if not np.all(np.isfinite(squared)):
        return None
    clipped = np.minimum(squared, CLIP) / CLIPPED_CHI2_MEAN
    return {"ratio": float(np.mean(clipped)), "error": float(np.std(clipped) / np.sqrt(len(clipped)))}


def unresolved(change: Optional[dict], sigmas: float) -> bool:
    """Whether a law's ``unresolved_change`` is beyond ``UNRESOLVED`` at the bottom of its
    ``sigmas``-standard-error interval."""
    return change is not None and change["ratio"] - sigmas * change["error"] > UNRESOLVED


def _white(residuals: np.ndarray, rows: np.ndarray) -> bool:
    """Whether the residuals at ``rows`` and at the states after them correlate as white noise's
    do (at most ``WHITE``)."""
    first, second = residuals[rows], residuals[rows + 1]
    scale = np.sqrt(np.sum(first ** 2) * np.sum(second ** 2))
    return bool(len(rows) >= MIN_WHITE_PAIRS and scale > 0 and np.sum(first * second) / scale <= WHITE)


def _second_derivative(node: sympy.Expr) -> Optional[tuple[sympy.Expr, sympy.Expr]]:
    """``(u, f''(u))`` for a smooth function of one argument or a power with a number exponent;
    None for anything else (sums and products pass independent noise through unbiased)."""
    if node.is_Pow and node.exp.is_Number:
        u, k = node.base, node.exp
        return u, k * (k - 1) * u ** (k - 2)
    if node.func in SMOOTH:
        dummy = sympy.Dummy("u")
        return node.args[0], sympy.diff(node.func(dummy), dummy, 2).subs(dummy, node.args[0])
    return None


def _kinked_bias(name: str, u: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """``E[f(u + e)] - f(u)`` for ``f`` = abs or sign and Gaussian ``e`` of that variance, exactly
    (the folded normal's mean; ``erf``): no second derivative describes a kink, and the bias is
    largest where ``u`` is within the noise of 0."""
    s = np.sqrt(variance)
    z = np.divide(u, s * np.sqrt(2.0), out=np.zeros_like(u), where=s > 0)
    if name == "Abs":
        bias = s * np.sqrt(2.0 / np.pi) * np.exp(-z ** 2) + u * erf(z) - np.abs(u)
    else:
        bias = erf(z) - np.sign(u)
    return np.where(s > 0, bias, 0.0)


def _term_bias(node: sympy.Expr, columns: Sequence[str], noise: np.ndarray,
               states: np.ndarray) -> Optional[np.ndarray]:
    """The noise's bias of one nonlinear term at ``states`` (the argument's noise propagated from
    the columns' through its gradient): ``f''(u) s**2 / 2`` for a smooth function or a power
    (the delta method), the exact Gaussian bias for abs and sign; None for any other node."""
    kinked = node.func in (sympy.Abs, sympy.sign)
    found = (node.args[0], None) if kinked else _second_derivative(node)
    if found is None:
        return None
    argument, second = found
    variance = np.sum((gradient_function(argument, columns)(states) * noise) ** 2, axis=-1)
    if kinked:
        u = np.broadcast_to(numpy_function(argument, columns)(states), variance.shape).astype(float)
        return _kinked_bias(node.func.__name__, u, variance)
    return numpy_function(second, columns)(states) * variance / 2.0


def noise_bias(expression: sympy.Expr, columns: Sequence[str], noise: np.ndarray,
               states: np.ndarray) -> Optional[dict]:
    """The law's most biased nonlinear term: ``{"term", "relative", "columns"}``, the standard
    deviation over ``states`` of its bias (``_term_bias``) over that of the term, and the columns
    in it; None without such a term."""
    named = column_symbols(columns)
    symbols = set(named.values())
    worst: Optional[dict] = None
    with np.errstate(all="ignore"):
        for node in sympy.preorder_traversal(expression):
            if not (node.args and node.args[0].free_symbols & symbols):
                continue
            bias = _term_bias(node, columns, noise, states)
            if bias is None:
                continue
            values = numpy_function(node, columns)(states)
            finite = np.isfinite(bias) & np.isfinite(values)
            spread = float(np.std(values[finite])) if finite.sum() > 1 else 0.0
            if spread > 0:
                relative = float(np.std(bias[finite])) / spread
                if worst is None or relative > worst["relative"]:
                    worst = {"term": str(node), "relative": relative,
                             "columns": [name for name, symbol in named.items() if symbol in node.free_symbols]}
    return worst


def biased(bias: Optional[dict]) -> bool:
    """Whether a law's noise bias (``noise_bias``) makes its coefficients uncertain."""
    return bias is not None and bias["relative"] > NOISE_BIAS


def bias_warning(rank: int, bias: dict, columns: Sequence[str], units: Sequence[str],
                 noise: Sequence[float]) -> str:
    """The one-line warning for an accepted law with a biased term (each column's noise in the
    unit given beside it)."""
    noisy = ", ".join(f"{name} about {level:.2g} {unit}" for name, unit, level in zip(columns, units, noise)
                      if name in bias["columns"])
    return (f"law {rank}: the data's noise ({noisy}, estimated) biases its term {bias['term']} by "
            f"{100 * bias['relative']:.2g} % of the term's variation, so its coefficients are uncertain by "
            "about as much; it is labelled approximate")
