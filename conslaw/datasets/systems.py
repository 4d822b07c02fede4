"""Built-in simulated systems, as data: equations, constants with units, true laws, samplers.

Each ``SystemSpec`` states its vector field (vectorized over states), its physical constants
(every one an option with a declared SI unit), its known conserved quantities as SymPy
templates in the column and constant names (energy first), and how initial states are drawn.
``generate`` integrates all trajectories of a system at once with scipy's RK45.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import sympy
from scipy.integrate import solve_ivp

from conslaw.errors import ConslawError, UsageError

RTOL = 1e-10
ATOL = 1e-12

Constants = Mapping[str, float]
Sampler = Callable[[np.random.RandomState, int, int, Constants], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Constant:
    """A physical constant or initial-state range of a system; ``default=None`` means derived."""

    name: str
    default: float | None
    unit: str
    description: str


@dataclass(frozen=True)
class SystemSpec:
    """Everything needed to simulate one system and to know its conserved quantities."""

    name: str
    description: str
    columns: tuple[str, ...]
    units: tuple[str, ...]
    constants: tuple[Constant, ...]
    field: Callable[[np.ndarray, Constants], np.ndarray]
    laws: Callable[[Constants], list[tuple[str, sympy.Expr]]]
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


def _exact(value: float) -> sympy.Rational:
    """A float option as the exact decimal the user typed (0.5 -> 1/2, 9.81 -> 981/100)."""
    return sympy.Rational(repr(float(value)))


def law_from_template(template: str, columns: tuple[str, ...], constants: Constants) -> sympy.Expr:
    """Substitute exact constant values into a SymPy template and drop the additive constant."""
    symbols = {name: sympy.Symbol(name) for name in (*columns, *constants)}
    expression = sympy.sympify(template, locals=symbols)
    expression = sympy.expand(expression.subs({symbols[k]: _exact(v) for k, v in constants.items()}))
    return expression - expression.as_coeff_Add()[0]


def _template_laws(columns: tuple[str, ...], templates: list[tuple[str, str, Callable[[Constants], bool]]]):
    def laws(constants: Constants) -> list[tuple[str, sympy.Expr]]:
        return [
            (name, law_from_template(template, columns, constants))
            for name, template, applies in templates
            if applies(constants)
        ]

    return laws


def _always(_: Constants) -> bool:
    return True


def _with_unit_noise(rng: np.random.RandomState, x0: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal noise draws (trajectory, time, column), drawn after all initial states."""
    return x0, rng.standard_normal((x0.shape[0], n_points, x0.shape[1]))


# ---------------------------------------------------------------- HNN pendulum and spring
def _hnn_sampler(radius_min: str, radius_max: str) -> Sampler:
    """HNN's draw order per trajectory: rand(2) direction, rand() radius, then q and p noise."""

    def sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants):
        x0 = np.empty((n, 2))
        unit_noise = np.empty((n, n_points, 2))
        for i in range(n):
            direction = rng.rand(2) * 2 - 1
            radius = rng.rand() * (c[radius_max] - c[radius_min]) + c[radius_min]
            x0[i] = direction / np.sqrt((direction**2).sum()) * radius
            unit_noise[i, :, 0] = rng.randn(n_points)
            unit_noise[i, :, 1] = rng.randn(n_points)
        return x0, unit_noise

    return sample


def _pendulum_field(x: np.ndarray, c: Constants) -> np.ndarray:
    q, p = x[..., 0], x[..., 1]
    inertia = c["m"] * c["l"] ** 2
    return np.stack([p / inertia, -c["m"] * c["g"] * c["l"] * np.sin(q)], axis=-1)


def _spring_field(x: np.ndarray, c: Constants) -> np.ndarray:
    q, p = x[..., 0], x[..., 1]
    return np.stack([p / c["m"], -c["k"] * q], axis=-1)


PENDULUM = SystemSpec(
    name="pendulum",
    description="ideal pendulum, HNN experiment-pend: H = p**2/(2 m l**2) + m g l (1 - cos q)",
    columns=("q", "p"),
    units=("rad", "kg*m**2/s"),
    constants=(
        Constant("m", 0.5, "kg", "bob mass"),
        Constant("l", 1.0, "m", "length"),
        Constant("g", 6.0, "m/s**2", "gravitational acceleration (defaults give HNN's H = 3(1-cos q) + p**2)"),
        Constant("radius_min", 1.3, "1", "smallest |(q, p)| of an initial state (HNN)"),
        Constant("radius_max", 2.3, "1", "largest |(q, p)| of an initial state (HNN)"),
    ),
    field=_pendulum_field,
    laws=_template_laws(("q", "p"), [("energy", "p**2/(2*m*l**2) + m*g*l*(1 - cos(q))", _always)]),
    independent_laws=lambda c: 1,
    sample=_hnn_sampler("radius_min", "radius_max"),
    initial_conditions="HNN: direction rand(2)*2-1 normalised, radius U[radius_min, radius_max]",
    t_end=3.0,
    n_points=45,
    reference="greydanus/hamiltonian-nn experiment-pend/data.py",
)

SPRING = SystemSpec(
    name="spring",
    description="mass on a spring, HNN experiment-spring: H = p**2/(2 m) + k q**2/2",
    columns=("q", "p"),
    units=("m", "kg*m/s"),
    constants=(
        Constant("m", 0.5, "kg", "mass"),
        Constant("k", 2.0, "N/m", "spring constant (defaults give HNN's H = q**2 + p**2)"),
        Constant("radius_min", 0.1, "1", "smallest |(q, p)| of an initial state (HNN)"),
        Constant("radius_max", 1.0, "1", "largest |(q, p)| of an initial state (HNN)"),
    ),
    field=_spring_field,
    laws=_template_laws(("q", "p"), [("energy", "p**2/(2*m) + k*q**2/2", _always)]),
    independent_laws=lambda c: 1,
    sample=_hnn_sampler("radius_min", "radius_max"),
    initial_conditions="HNN: direction rand(2)*2-1 normalised, radius U[radius_min, radius_max]",
    t_end=3.0,
    n_points=30,
    reference="greydanus/hamiltonian-nn experiment-spring/data.py",
)


# ---------------------------------------------------------------- 2D oscillator
def _oscillator2d_field(x: np.ndarray, c: Constants) -> np.ndarray:
    px, py = x[..., 2], x[..., 3]
    return np.stack([px / c["m"], py / c["m"], -c["kx"] * x[..., 0], -c["ky"] * x[..., 1]], axis=-1)


def _oscillator2d_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants):
    u = rng.uniform(-1.0, 1.0, size=(n, 4))
    scale = c["amplitude"] * np.array([1.0, 1.0, math.sqrt(c["m"] * c["kx"]), math.sqrt(c["m"] * c["ky"])])
    return _with_unit_noise(rng, u * scale, n_points)


def _oscillator2d_finalize(values: dict[str, float | None], flags: dict[str, bool]) -> dict[str, float]:
    kx = values["kx"]
    if values["ky"] is None:
        values["ky"] = 2.0 * kx if flags["anisotropic"] else kx
    elif flags["anisotropic"] and values["ky"] == kx:
        raise UsageError(f"oscillator2d: anisotropic=True but kx == ky == {kx}")
    return values  # type: ignore[return-value]


def _isotropic(c: Constants) -> bool:
    return c["kx"] == c["ky"]


OSCILLATOR2D = SystemSpec(
    name="oscillator2d",
    description="2D harmonic oscillator: H = (px**2 + py**2)/(2 m) + (kx x**2 + ky y**2)/2",
    columns=("x", "y", "px", "py"),
    units=("m", "m", "kg*m/s", "kg*m/s"),
    constants=(
        Constant("m", 0.5, "kg", "mass"),
        Constant("kx", 2.0, "N/m", "spring constant along x"),
        Constant("ky", None, "N/m", "spring constant along y (default kx; 2*kx when anisotropic)"),
        Constant("amplitude", 1.0, "m", "initial x, y drawn from U[-amplitude, amplitude]"),
    ),
    field=_oscillator2d_field,
    laws=_template_laws(
        ("x", "y", "px", "py"),
        [
            ("energy", "(px**2 + py**2)/(2*m) + (kx*x**2 + ky*y**2)/2", _always),
            ("angular_momentum", "x*py - y*px", _isotropic),
            ("energy_x", "px**2/(2*m) + kx*x**2/2", _always),
            ("energy_y", "py**2/(2*m) + ky*y**2/2", _always),
        ],
    ),
    independent_laws=lambda c: 3 if _isotropic(c) else 2,
    sample=_oscillator2d_sample,
    initial_conditions="x, y ~ U[-A, A]; px ~ U[-A, A]*sqrt(m kx), py ~ U[-A, A]*sqrt(m ky) (A = amplitude)",
    t_end=3.0,
    n_points=45,
    flags=("anisotropic",),
    finalize=_oscillator2d_finalize,
    notes=(
        "isotropic: energy_x, energy_y and angular_momentum are functionally independent; energy = energy_x + energy_y",
        "anisotropic: energy_x and energy_y (a third, non-polynomial invariant exists only for rational sqrt(ky/kx))",
    ),
)


# ---------------------------------------------------------------- coupled springs
def _stiffness(c: Constants) -> tuple[np.ndarray, np.ndarray]:
    mass = np.diag([c["m1"], c["m2"]])
    stiffness = np.array([[c["k1"] + c["k2"], -c["k2"]], [-c["k2"], c["k2"] + c["k3"]]])
    return mass, stiffness


def _coupled_field(x: np.ndarray, c: Constants) -> np.ndarray:
    x1, x2, p1, p2 = (x[..., i] for i in range(4))
    force1 = -(c["k1"] + c["k2"]) * x1 + c["k2"] * x2
    force2 = c["k2"] * x1 - (c["k2"] + c["k3"]) * x2
    return np.stack([p1 / c["m1"], p2 / c["m2"], force1, force2], axis=-1)


def _coupled_laws(c: Constants) -> list[tuple[str, sympy.Expr]]:
    columns = ("x1", "x2", "p1", "p2")
    energy = law_from_template(
        "p1**2/(2*m1) + p2**2/(2*m2) + k1*x1**2/2 + k2*(x2 - x1)**2/2 + k3*x2**2/2", columns, c
    )
    # Normal modes: K v = w**2 M v with V^T M V = 1; mode i has a_i = (V^T M x)_i, da_i/dt = (V^T p)_i.
    mass, stiffness = _stiffness(c)
    inverse_sqrt_mass = np.diag(1.0 / np.sqrt(np.diag(mass)))
    omega_squared, w = np.linalg.eigh(inverse_sqrt_mass @ stiffness @ inverse_sqrt_mass)
    modes = inverse_sqrt_mass @ w
    x = sympy.Matrix(sympy.symbols("x1 x2"))
    p = sympy.Matrix(sympy.symbols("p1 p2"))
    laws = [("energy", energy)]
    for i in range(2):
        coordinate = (sympy.Matrix(modes[:, i]).T * sympy.Matrix(mass) * x)[0]
        rate = (sympy.Matrix(modes[:, i]).T * p)[0]
        mode_energy = sympy.expand(rate**2 / 2 + sympy.Float(omega_squared[i]) * coordinate**2 / 2)
        laws.append((f"mode{i + 1}_energy", mode_energy))
    return laws


def _coupled_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants):
    a = c["amplitude"]
    k_mean = (c["k1"] + c["k2"] + c["k3"]) / 3.0
    u = rng.uniform(-1.0, 1.0, size=(n, 4))
    scale = a * np.array([1.0, 1.0, math.sqrt(c["m1"] * k_mean), math.sqrt(c["m2"] * k_mean)])
    return _with_unit_noise(rng, u * scale, n_points)


COUPLED_SPRINGS = SystemSpec(
    name="coupled-springs",
    description="two masses on a line, wall-k1-m1-k2-m2-k3-wall: H = p1**2/(2 m1) + p2**2/(2 m2) "
    "+ k1 x1**2/2 + k2 (x2 - x1)**2/2 + k3 x2**2/2",
    columns=("x1", "x2", "p1", "p2"),
    units=("m", "m", "kg*m/s", "kg*m/s"),
    constants=(
        Constant("m1", 1.0, "kg", "first mass"),
        Constant("m2", 1.5, "kg", "second mass"),
        Constant("k1", 2.0, "N/m", "spring wall-m1"),
        Constant("k2", 1.0, "N/m", "spring m1-m2 (the coupling)"),
        Constant("k3", 3.0, "N/m", "spring m2-wall"),
        Constant("amplitude", 0.5, "m", "initial displacements drawn from U[-amplitude, amplitude]"),
    ),
    field=_coupled_field,
    laws=_coupled_laws,
    independent_laws=lambda c: 2,
    sample=_coupled_sample,
    initial_conditions="x1, x2 ~ U[-A, A]; p_i ~ U[-A, A]*sqrt(m_i*(k1+k2+k3)/3) (A = amplitude)",
    t_end=5.0,
    n_points=50,
    notes=("the two normal-mode energies are independent; the total energy is their sum",),
)


# ---------------------------------------------------------------- double pendulum
def _double_pendulum_field(x: np.ndarray, c: Constants) -> np.ndarray:
    q1, q2, w1, w2 = (x[..., i] for i in range(4))
    m1, m2, l1, l2, g = c["m1"], c["m2"], c["l1"], c["l2"], c["g"]
    delta = q1 - q2
    denominator = 2 * m1 + m2 - m2 * np.cos(2 * delta)
    dw1 = (
        -g * (2 * m1 + m2) * np.sin(q1)
        - m2 * g * np.sin(q1 - 2 * q2)
        - 2 * np.sin(delta) * m2 * (w2**2 * l2 + w1**2 * l1 * np.cos(delta))
    ) / (l1 * denominator)
    dw2 = (
        2 * np.sin(delta) * (w1**2 * l1 * (m1 + m2) + g * (m1 + m2) * np.cos(q1) + w2**2 * l2 * m2 * np.cos(delta))
    ) / (l2 * denominator)
    return np.stack([w1, w2, dw1, dw2], axis=-1)


def _double_pendulum_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants):
    angles = rng.uniform(-c["max_angle"], c["max_angle"], size=(n, 2))
    rates = rng.uniform(-c["max_rate"], c["max_rate"], size=(n, 2))
    return _with_unit_noise(rng, np.concatenate([angles, rates], axis=1), n_points)


DOUBLE_PENDULUM = SystemSpec(
    name="double-pendulum",
    description="planar double pendulum in angles from the downward vertical and angular velocities",
    columns=("q1", "q2", "w1", "w2"),
    units=("rad", "rad", "rad/s", "rad/s"),
    constants=(
        Constant("m1", 1.0, "kg", "upper bob mass"),
        Constant("m2", 0.8, "kg", "lower bob mass"),
        Constant("l1", 1.0, "m", "upper rod length"),
        Constant("l2", 0.7, "m", "lower rod length"),
        Constant("g", 9.81, "m/s**2", "gravitational acceleration"),
        Constant("max_angle", 1.0, "rad", "initial angles drawn from U[-max_angle, max_angle]"),
        Constant("max_rate", 1.0, "rad/s", "initial angular velocities drawn from U[-max_rate, max_rate]"),
    ),
    field=_double_pendulum_field,
    laws=_template_laws(
        ("q1", "q2", "w1", "w2"),
        [
            (
                "energy",
                "(m1 + m2)*l1**2*w1**2/2 + m2*l2**2*w2**2/2 + m2*l1*l2*w1*w2*cos(q1 - q2)"
                " - (m1 + m2)*g*l1*cos(q1) - m2*g*l2*cos(q2)",
                _always,
            )
        ],
    ),
    independent_laws=lambda c: 1,
    sample=_double_pendulum_sample,
    initial_conditions="q1, q2 ~ U[-max_angle, max_angle]; w1, w2 ~ U[-max_rate, max_rate]",
    t_end=3.0,
    n_points=45,
    notes=("generically chaotic: the energy is the only global conserved quantity",),
)


# ---------------------------------------------------------------- planar Kepler problem
def _kepler_field(x: np.ndarray, c: Constants) -> np.ndarray:
    px, py = x[..., 2], x[..., 3]
    inverse_r3 = (x[..., 0] ** 2 + x[..., 1] ** 2) ** -1.5
    return np.stack(
        [px / c["m"], py / c["m"], -c["k"] * x[..., 0] * inverse_r3, -c["k"] * x[..., 1] * inverse_r3], axis=-1
    )


def _kepler_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants):
    radius = rng.uniform(c["r_min"], c["r_max"], size=n)
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    speed = rng.uniform(0.75, 1.15, size=n) * np.sqrt(c["k"] / (c["m"] * radius))
    flight_angle = rng.uniform(-0.35, 0.35, size=n)
    orientation = np.where(rng.rand(n) < 0.5, -1.0, 1.0)
    radial = np.stack([np.cos(phase), np.sin(phase)], axis=1)
    tangential = orientation[:, None] * np.stack([-np.sin(phase), np.cos(phase)], axis=1)
    velocity = speed[:, None] * (np.cos(flight_angle)[:, None] * tangential + np.sin(flight_angle)[:, None] * radial)
    x0 = np.concatenate([radius[:, None] * radial, c["m"] * velocity], axis=1)
    return _with_unit_noise(rng, x0, n_points)


TWO_BODY = SystemSpec(
    name="two-body",
    description="planar Kepler problem (one body, central potential -k/r): H = (px**2 + py**2)/(2 m) - k/r",
    columns=("x", "y", "px", "py"),
    units=("m", "m", "kg*m/s", "kg*m/s"),
    constants=(
        Constant("m", 1.0, "kg", "mass of the orbiting body"),
        Constant("k", 2.0, "kg*m**3/s**2", "strength of the 1/r potential (G M m)"),
        Constant("r_min", 0.8, "m", "smallest initial distance"),
        Constant("r_max", 1.5, "m", "largest initial distance"),
    ),
    field=_kepler_field,
    laws=_template_laws(
        ("x", "y", "px", "py"),
        [
            ("energy", "(px**2 + py**2)/(2*m) - k/sqrt(x**2 + y**2)", _always),
            ("angular_momentum", "x*py - y*px", _always),
            ("runge_lenz_x", "py*(x*py - y*px) - m*k*x/sqrt(x**2 + y**2)", _always),
            ("runge_lenz_y", "-px*(x*py - y*px) - m*k*y/sqrt(x**2 + y**2)", _always),
        ],
    ),
    independent_laws=lambda c: 3,
    sample=_kepler_sample,
    initial_conditions=(
        "r ~ U[r_min, r_max] at a uniform phase; speed U[0.75, 1.15] x circular speed sqrt(k/(m r)) "
        "(always bound, eccentricity <= 0.45); flight angle U[-0.35, 0.35] rad from tangential; "
        "either orientation with probability 1/2"
    ),
    t_end=5.0,
    n_points=50,
    notes=("energy, angular momentum and the Runge-Lenz vector: 3 functionally independent laws",),
)

SYSTEMS: dict[str, SystemSpec] = {
    spec.name: spec for spec in (PENDULUM, SPRING, OSCILLATOR2D, COUPLED_SPRINGS, DOUBLE_PENDULUM, TWO_BODY)
}


def integrate(spec: SystemSpec, constants: Constants, x0: np.ndarray, t_eval: np.ndarray) -> np.ndarray:
    """Integrate every initial state at once (one stacked ODE); returns (trajectory, time, column)."""
    n, d = x0.shape

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        return spec.field(y.reshape(n, d), constants).ravel()

    solution = solve_ivp(rhs, (t_eval[0], t_eval[-1]), x0.ravel(), t_eval=t_eval, method="RK45", rtol=RTOL, atol=ATOL)
    if not solution.success:
        raise ConslawError(f"{spec.name}: integration failed ({solution.message})")
    return solution.y.T.reshape(len(t_eval), n, d).transpose(1, 0, 2)
