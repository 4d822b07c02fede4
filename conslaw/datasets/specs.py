"""The parts every built-in simulated system is made of: constants, coordinate maps, the spec.

A ``SystemSpec`` states a system's vector field (vectorized over states), its physical
constants (every one an option with a declared SI unit), its known conserved quantities as
SymPy templates in the column and constant names (energy first), how initial states are drawn,
and the other coordinates a user might record it in (``CoordinateMap``). ``integrate`` solves
all trajectories of a system at once with scipy's RK45, and keeps its latest solutions: a sweep
asks for the same clean trajectories under many noise levels, units and samplings. The systems
themselves live in ``hnn.py``, ``oscillators.py``, ``mechanics.py``, ``gravitation.py`` and
``ecology.py``; ``systems.py`` collects them.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import sympy
from scipy.integrate import solve_ivp

from conslaw.errors import ConslawError

RTOL = 1e-10
ATOL = 1e-12
SOLUTIONS_KEPT = (16, 256 << 20)
"""How many of its latest solutions ``integrate`` keeps, and how many bytes of them at most."""
_SOLUTIONS: OrderedDict = OrderedDict()

Constants = Mapping[str, float]
Field = Callable[[np.ndarray, Constants], np.ndarray]
Sampler = Callable[[np.random.RandomState, int, int, Constants], tuple[np.ndarray, np.ndarray]]
Laws = Callable[[Constants], list[tuple[str, sympy.Expr]]]


@dataclass(frozen=True)
class Constant:
    """A physical constant or initial-state range of a system; ``default=None`` means derived.
    Every constant is > 0, or >= 0 when ``zero`` (a friction that can be switched off)."""

    name: str
    default: float | None
    unit: str
    description: str
    zero: bool = False


@dataclass(frozen=True)
class CoordinateMap:
    """Other columns a user might record a system in (velocities, polar coordinates, ...).

    ``native(constants, symbols)`` gives each native column as a SymPy expression in the new
    columns' ``symbols``; it turns the native laws into laws in the new columns. A linear map
    gives ``scales(constants)``: new column i = scales[i] * native column i, and the native
    trajectories are rescaled. A nonlinear map gives ``from_native`` (native states to new
    states, for the initial states) and the ``field`` in the new columns, and the trajectories
    are integrated in the new columns (so a column whose rate is exactly 0 stays exactly
    constant). ``positive`` names columns known to be > 0 (they help SymPy simplify the laws).
    ``units`` are the new columns' coherent SI units. ``constraints(constants, symbols)`` gives
    the relations more columns than the system has degrees of freedom satisfy at every state
    (a rod's length in a bob's position), each of one value on every trajectory: true laws of the
    variant beside the system's own, which discovery reports as identities.
    """

    name: str
    columns: tuple[str, ...]
    units: tuple[str, ...]
    description: str
    native: Callable[[Constants, Mapping[str, sympy.Symbol]], dict[str, sympy.Expr]]
    scales: Callable[[Constants], np.ndarray] | None = None
    from_native: Field | None = None
    field: Field | None = None
    positive: tuple[str, ...] = ()
    constraints: Callable[[Constants, Mapping[str, sympy.Symbol]], dict[str, sympy.Expr]] | None = None


@dataclass(frozen=True)
class SystemSpec:
    """Everything needed to simulate one system and to know its conserved quantities."""

    name: str
    description: str
    columns: tuple[str, ...]
    units: tuple[str, ...]
    constants: tuple[Constant, ...]
    field: Field
    laws: Laws
    independent_laws: Callable[[Constants], int]
    sample: Sampler
    initial_conditions: str
    t_end: float = 3.0
    n_points: int = 45
    n_trajectories: int = 50
    test_fraction: float = 0.5
    flags: tuple[str, ...] = ()
    finalize: Callable[[dict[str, float | None], dict[str, bool]], dict[str, float]] | None = None
    reference: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    coordinates: tuple[CoordinateMap, ...] = ()
    noiseless: tuple[str, ...] = ()
    """Columns recorded as set, which noise leaves alone (a run's setting)."""

    def noise_mask(self, columns: tuple[str, ...]) -> np.ndarray:
        """1 for each of ``columns`` that takes noise, 0 for a ``noiseless`` one."""
        return np.array([0.0 if name in self.noiseless else 1.0 for name in columns])


def exact(value: float) -> sympy.Rational:
    """A float option as the exact decimal the user typed (0.5 -> 1/2, 9.81 -> 981/100)."""
    return sympy.Rational(repr(float(value)))


def drop_additive_constant(expression: sympy.Expr) -> sympy.Expr:
    """The expression without its constant term (a law is defined up to an additive constant)."""
    return expression - expression.as_coeff_Add()[0]


def law_from_template(template: str, columns: tuple[str, ...], constants: Constants) -> sympy.Expr:
    """Substitute exact constant values into a SymPy template and drop the additive constant."""
    symbols = {name: sympy.Symbol(name) for name in (*columns, *constants)}
    expression = sympy.sympify(template, locals=symbols)
    expression = sympy.expand(expression.subs({symbols[k]: exact(v) for k, v in constants.items()}))
    return drop_additive_constant(expression)


def template_laws(columns: tuple[str, ...], templates: list[tuple[str, str, Callable[[Constants], bool]]]) -> Laws:
    """A ``laws`` function from (name, template, applies-to-these-constants) triples."""

    def laws(constants: Constants) -> list[tuple[str, sympy.Expr]]:
        return [
            (name, law_from_template(template, columns, constants))
            for name, template, applies in templates
            if applies(constants)
        ]

    return laws


def always(_: Constants) -> bool:
    """A law that holds for every value of the constants."""
    return True


def with_unit_noise(rng: np.random.RandomState, x0: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal noise draws (trajectory, time, column), drawn after all initial states."""
    return x0, rng.standard_normal((x0.shape[0], n_points, x0.shape[1]))


def scaled_coordinates(
    name: str, columns: tuple[str, ...], units: tuple[str, ...], native_columns: tuple[str, ...],
    scales: tuple[str, ...], description: str,
) -> CoordinateMap:
    """A linear map: new column i = ``scales[i]`` (a template in the constants) x native column i.

    E.g. velocities from momenta: ``scales=("1", "1/m")`` maps (q, p) to (x, v = p/m).
    """

    def exact_scales(constants: Constants) -> list[sympy.Expr]:
        values = {sympy.Symbol(k): exact(v) for k, v in constants.items()}
        return [sympy.sympify(s, locals={k: sympy.Symbol(k) for k in constants}).subs(values) for s in scales]

    def native(constants: Constants, symbols: Mapping[str, sympy.Symbol]) -> dict[str, sympy.Expr]:
        factors = exact_scales(constants)
        return {old: symbols[new] / f for old, new, f in zip(native_columns, columns, factors)}

    def numeric_scales(constants: Constants) -> np.ndarray:
        return np.array([float(f) for f in exact_scales(constants)])

    return CoordinateMap(name, columns, units, description, native=native, scales=numeric_scales)


def integrate(
    spec: SystemSpec, constants: Constants, x0: np.ndarray, t_eval: np.ndarray, field: Field | None = None
) -> np.ndarray:
    """Integrate every initial state at once (one stacked ODE); returns (trajectory, time, column).

    ``field`` replaces the spec's own field (a coordinate map's field in its columns). The
    solution is a pure function of the arguments, so the latest ones are kept
    (``SOLUTIONS_KEPT``) and a repeated call returns a copy of the kept one.
    """
    x0, t_eval = np.asarray(x0, dtype=float), np.asarray(t_eval, dtype=float)
    vector_field = field or spec.field
    key = (spec.name, vector_field, tuple((name, _frozen(constants[name])) for name in sorted(constants)),
           x0.shape, x0.tobytes(), t_eval.tobytes())
    if key in _SOLUTIONS:
        _SOLUTIONS.move_to_end(key)
        return _SOLUTIONS[key].copy()
    n, d = x0.shape

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        return vector_field(y.reshape(n, d), constants).ravel()

    solution = solve_ivp(rhs, (t_eval[0], t_eval[-1]), x0.ravel(), t_eval=t_eval, method="RK45", rtol=RTOL, atol=ATOL)
    if not solution.success:
        raise ConslawError(f"{spec.name}: integration failed ({solution.message})")
    states = solution.y.T.reshape(len(t_eval), n, d).transpose(1, 0, 2)
    _SOLUTIONS[key] = states.copy()
    count, size = SOLUTIONS_KEPT
    while len(_SOLUTIONS) > count or sum(kept.nbytes for kept in _SOLUTIONS.values()) > size:
        _SOLUTIONS.popitem(last=False)
    return states


def _frozen(value: object) -> object:
    """A constant's exact, hashable form (an array by its dtype, shape and bytes)."""
    if isinstance(value, np.ndarray):
        return value.dtype.str, value.shape, value.tobytes()
    return type(value).__name__, repr(value)
