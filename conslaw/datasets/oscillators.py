"""Oscillators: the linear ``oscillator2d``, ``coupled-springs``, ``three-oscillators`` and
``four-oscillators``, and the anharmonic ``duffing`` (a quartic energy)."""
from __future__ import annotations

import math

import numpy as np
import sympy

from conslaw.datasets.specs import (
    Constant,
    Constants,
    SystemSpec,
    always,
    law_from_template,
    scaled_coordinates,
    template_laws,
    with_unit_noise,
)
from conslaw.errors import UsageError


def normal_mode_energies(
    mass: np.ndarray, stiffness: np.ndarray, positions: sympy.Matrix, momenta: sympy.Matrix
) -> list[tuple[str, sympy.Expr]]:
    """The energy of each normal mode of ``M x'' = -K x`` (mass and stiffness matrices).

    Modes solve K v = w**2 M v with V^T M V = 1; mode i has coordinate a_i = (V^T M x)_i and
    rate da_i/dt = (V^T p)_i, so its energy is (V^T p)_i**2/2 + w_i**2 a_i**2/2. The
    energies sum to p^T M^-1 p/2 + x^T K x/2. ``momenta`` is p, or M v for velocities.
    """
    inverse_sqrt_mass = np.diag(1.0 / np.sqrt(np.diag(mass)))
    omega_squared, w = np.linalg.eigh(inverse_sqrt_mass @ stiffness @ inverse_sqrt_mass)
    modes = inverse_sqrt_mass @ w
    laws = []
    for i in range(len(omega_squared)):
        coordinate = (sympy.Matrix(modes[:, i]).T * sympy.Matrix(mass) * positions)[0]
        rate = (sympy.Matrix(modes[:, i]).T * momenta)[0]
        mode_energy = sympy.expand(rate**2 / 2 + sympy.Float(omega_squared[i]) * coordinate**2 / 2)
        laws.append((f"mode{i + 1}_energy", mode_energy))
    return laws


# ---------------------------------------------------------------- 2D oscillator
def _oscillator2d_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dx/dt = px/m, dpx/dt = -kx x, and the same along y."""
    px, py = x[..., 2], x[..., 3]
    return np.stack([px / c["m"], py / c["m"], -c["kx"] * x[..., 0], -c["ky"] * x[..., 1]], axis=-1)


def _oscillator2d_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """x, y ~ U[-A, A]; momenta ~ U[-A, A] sqrt(m k) (equal energy scales)."""
    u = rng.uniform(-1.0, 1.0, size=(n, 4))
    scale = c["amplitude"] * np.array([1.0, 1.0, math.sqrt(c["m"] * c["kx"]), math.sqrt(c["m"] * c["ky"])])
    return with_unit_noise(rng, u * scale, n_points)


def _oscillator2d_finalize(values: dict[str, float | None], flags: dict[str, bool]) -> dict[str, float]:
    """ky defaults to kx (2 kx when anisotropic); anisotropic with ky == kx is an error."""
    kx = values["kx"]
    if values["ky"] is None:
        values["ky"] = 2.0 * kx if flags["anisotropic"] else kx
    elif flags["anisotropic"] and values["ky"] == kx:
        raise UsageError(f"oscillator2d: anisotropic=True but kx == ky == {kx}")
    return values  # type: ignore[return-value]


def _isotropic(c: Constants) -> bool:
    """Whether kx == ky (then the angular momentum is conserved)."""
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
    laws=template_laws(
        ("x", "y", "px", "py"),
        [
            ("energy", "(px**2 + py**2)/(2*m) + (kx*x**2 + ky*y**2)/2", always),
            ("angular_momentum", "x*py - y*px", _isotropic),
            ("energy_x", "px**2/(2*m) + kx*x**2/2", always),
            ("energy_y", "py**2/(2*m) + ky*y**2/2", always),
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
    coordinates=(
        scaled_coordinates(
            "velocities", ("x", "y", "vx", "vy"), ("m", "m", "m/s", "m/s"), ("x", "y", "px", "py"),
            ("1", "1", "1/m", "1/m"), "positions x, y and velocities vx = px/m, vy = py/m",
        ),
    ),
)


# ---------------------------------------------------------------- chains of masses and springs
def _chain(c: Constants, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mass and stiffness matrices of n masses on a line between walls, wall-k1-m1-k2-...-mn-k(n+1)-wall."""
    springs = [c[f"k{i + 1}"] for i in range(n + 1)]
    stiffness = np.zeros((n, n))
    for i in range(n):
        stiffness[i, i] = springs[i] + springs[i + 1]
        if i + 1 < n:
            stiffness[i, i + 1] = stiffness[i + 1, i] = -springs[i + 1]
    return np.diag([c[f"m{i + 1}"] for i in range(n)]), stiffness


# ---------------------------------------------------------------- coupled springs
def _coupled_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """Hamilton's equations of the two coupled springs."""
    x1, x2, p1, p2 = (x[..., i] for i in range(4))
    force1 = -(c["k1"] + c["k2"]) * x1 + c["k2"] * x2
    force2 = c["k2"] * x1 - (c["k2"] + c["k3"]) * x2
    return np.stack([p1 / c["m1"], p2 / c["m2"], force1, force2], axis=-1)


def _coupled_laws(c: Constants) -> list[tuple[str, sympy.Expr]]:
    """The energy and the two normal-mode energies."""
    columns = ("x1", "x2", "p1", "p2")
    energy = law_from_template(
        "p1**2/(2*m1) + p2**2/(2*m2) + k1*x1**2/2 + k2*(x2 - x1)**2/2 + k3*x2**2/2", columns, c
    )
    mass, stiffness = _chain(c, 2)
    positions = sympy.Matrix(sympy.symbols("x1 x2"))
    momenta = sympy.Matrix(sympy.symbols("p1 p2"))
    return [("energy", energy), *normal_mode_energies(mass, stiffness, positions, momenta)]


def _coupled_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """x ~ U[-A, A]; p_i ~ U[-A, A] sqrt(m_i mean(k))."""
    a = c["amplitude"]
    k_mean = (c["k1"] + c["k2"] + c["k3"]) / 3.0
    u = rng.uniform(-1.0, 1.0, size=(n, 4))
    scale = a * np.array([1.0, 1.0, math.sqrt(c["m1"] * k_mean), math.sqrt(c["m2"] * k_mean)])
    return with_unit_noise(rng, u * scale, n_points)


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
    coordinates=(
        scaled_coordinates(
            "velocities", ("x1", "x2", "v1", "v2"), ("m", "m", "m/s", "m/s"), ("x1", "x2", "p1", "p2"),
            ("1", "1", "1/m1", "1/m2"), "positions x1, x2 and velocities v_i = p_i/m_i",
        ),
    ),
)


# ---------------------------------------------------------------- three and four oscillators
def _chain_field(n: int):
    """dx/dt = v, dv/dt = -M^-1 K x for a chain of n masses."""
    def field(x: np.ndarray, c: Constants) -> np.ndarray:
        mass, stiffness = _chain(c, n)
        acceleration = -(x[..., :n] @ stiffness.T) / np.diag(mass)
        return np.concatenate([x[..., n:], acceleration], axis=-1)

    return field


def _chain_columns(n: int) -> tuple[str, ...]:
    return tuple(f"x{i + 1}" for i in range(n)) + tuple(f"v{i + 1}" for i in range(n))


def _chain_laws(n: int):
    """The energy and the n normal-mode energies, in positions and velocities."""
    def laws(c: Constants) -> list[tuple[str, sympy.Expr]]:
        kinetic = [f"m{i + 1}*v{i + 1}**2/2" for i in range(n)]
        springs = ["k1*x1**2/2", *(f"k{i + 2}*(x{i + 2} - x{i + 1})**2/2" for i in range(n - 1)),
                   f"k{n + 1}*x{n}**2/2"]
        energy = law_from_template(" + ".join(kinetic + springs), _chain_columns(n), c)
        mass, stiffness = _chain(c, n)
        positions = sympy.Matrix(sympy.symbols(" ".join(f"x{i + 1}" for i in range(n))))
        momenta = sympy.Matrix(mass) * sympy.Matrix(sympy.symbols(" ".join(f"v{i + 1}" for i in range(n))))
        return [("energy", energy), *normal_mode_energies(mass, stiffness, positions, momenta)]

    return laws


def _chain_sample(n: int):
    """x_i ~ U[-A, A]; v_i ~ U[-A, A] sqrt(mean(k)/m_i)."""
    def sample(rng: np.random.RandomState, count: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
        k_mean = sum(c[f"k{i + 1}"] for i in range(n + 1)) / (n + 1)
        masses = np.array([c[f"m{i + 1}"] for i in range(n)])
        scale = c["amplitude"] * np.concatenate([np.ones(n), np.sqrt(k_mean / masses)])
        return with_unit_noise(rng, rng.uniform(-1.0, 1.0, size=(count, 2 * n)) * scale, n_points)

    return sample


def _chain_constants(masses: tuple[float, ...], springs: tuple[float, ...]) -> tuple[Constant, ...]:
    n = len(masses)
    walls = {0: "wall-m1", n: f"m{n}-wall"}
    return (*(Constant(f"m{i + 1}", m, "kg", f"mass {i + 1}") for i, m in enumerate(masses)),
            *(Constant(f"k{i + 1}", k, "N/m", f"spring {walls.get(i, f'm{i}-m{i + 1}')}")
              for i, k in enumerate(springs)),
            Constant("amplitude", 0.5, "m", "initial displacements drawn from U[-amplitude, amplitude]"))


THREE_OSCILLATORS = SystemSpec(
    name="three-oscillators",
    description="three masses on a line, wall-k1-m1-k2-m2-k3-m3-k4-wall, in positions and velocities: "
    "E = sum m_i v_i**2/2 + k1 x1**2/2 + k2 (x2-x1)**2/2 + k3 (x3-x2)**2/2 + k4 x3**2/2",
    columns=_chain_columns(3),
    units=("m",) * 3 + ("m/s",) * 3,
    constants=_chain_constants((1.0, 1.3, 0.7), (2.0, 1.2, 0.8, 1.7)),
    field=_chain_field(3),
    laws=_chain_laws(3),
    independent_laws=lambda c: 3,
    sample=_chain_sample(3),
    initial_conditions="x_i ~ U[-A, A]; v_i ~ U[-A, A]*sqrt(mean(k)/m_i) (A = amplitude)",
    t_end=5.0,
    n_points=75,
    notes=("the three normal-mode energies are independent (for distinct frequencies); the energy is their sum",),
)


FOUR_OSCILLATORS = SystemSpec(
    name="four-oscillators",
    description="four masses on a line, wall-k1-m1-k2-m2-k3-m3-k4-m4-k5-wall, in positions and "
    "velocities: E = sum m_i v_i**2/2 + k1 x1**2/2 + sum k_(i+1) (x_(i+1) - x_i)**2/2 + k5 x4**2/2",
    columns=_chain_columns(4),
    units=("m",) * 4 + ("m/s",) * 4,
    constants=_chain_constants((1.0, 2.0, 0.5, 1.5), (1.0, 2.0, 3.0, 1.0, 2.0)),
    field=_chain_field(4),
    laws=_chain_laws(4),
    independent_laws=lambda c: 4,
    sample=_chain_sample(4),
    initial_conditions="x_i ~ U[-A, A]; v_i ~ U[-A, A]*sqrt(mean(k)/m_i) (A = amplitude)",
    t_end=8.0,
    n_points=121,
    notes=("the four normal-mode energies are independent (for distinct frequencies: 0.63 to 3.09 rad/s "
           "by default, the closest two beating with an 11.6 s period); each is a quadratic form of 20 "
           "terms; the energy is their sum",),
)


# ---------------------------------------------------------------- Duffing oscillator
def _duffing_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dx/dt = v, dv/dt = -k x - alpha x**2 - beta x**3 - gamma v (per unit mass)."""
    position, velocity = x[..., 0], x[..., 1]
    force = -c["k"] * position - c["alpha"] * position**2 - c["beta"] * position**3 - c["gamma"] * velocity
    return np.stack([velocity, force], axis=-1)


def _undamped(c: Constants) -> bool:
    """Whether the energy is conserved: no friction."""
    return c["gamma"] == 0


def _duffing_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """x ~ U[-A, A]; v ~ U[-A, A] sqrt(k) (A = amplitude)."""
    u = rng.uniform(-1.0, 1.0, size=(n, 2))
    return with_unit_noise(rng, u * c["amplitude"] * np.array([1.0, math.sqrt(c["k"])]), n_points)


DUFFING = SystemSpec(
    name="duffing",
    description="Duffing (anharmonic) oscillator, in position and velocity: dv/dt = -k x - alpha x**2 - "
    "beta x**3 - gamma v; energy v**2/2 + k x**2/2 + alpha x**3/3 + beta x**4/4, conserved unless gamma > 0",
    columns=("x", "v"),
    units=("m", "m/s"),
    constants=(
        Constant("k", 2.0, "1/s**2", "linear stiffness per unit mass"),
        Constant("alpha", 0.0, "1/(m*s**2)", "quadratic stiffness per unit mass (an asymmetric well)", zero=True),
        Constant("beta", 0.5, "1/(m**2*s**2)", "cubic stiffness per unit mass"),
        Constant("gamma", 0.0, "1/s", "friction rate (0: the energy is conserved)", zero=True),
        Constant("amplitude", 2.0, "m", "initial x drawn from U[-amplitude, amplitude]"),
    ),
    field=_duffing_field,
    laws=template_laws(("x", "v"), [("energy", "v**2/2 + k*x**2/2 + alpha*x**3/3 + beta*x**4/4", _undamped)]),
    independent_laws=lambda c: 1 if _undamped(c) else 0,
    sample=_duffing_sample,
    initial_conditions="x ~ U[-A, A], v ~ U[-A, A]*sqrt(k) (A = amplitude)",
    t_end=10.0,
    n_points=200,
    notes=("the energy needs x**4, out of the whole-formula search's depth 7 beside v**2 and x**2: "
           "the multi-term search finds it",),
)


# ---------------------------------------------------------------- hyperbolic saddle
def _saddle_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dx/dt = growth x, dy/dt = -growth y: two columns that move independently of each other."""
    return np.stack([c["growth"] * x[..., 0], -c["growth"] * x[..., 1]], axis=-1)


def _saddle_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """|x|, |y| ~ U[A/5, A] with random signs (A = amplitude)."""
    u = rng.uniform(0.2, 1.0, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))
    return with_unit_noise(rng, u * c["amplitude"], n_points)


SADDLE = SystemSpec(
    name="saddle",
    description="hyperbolic saddle dx/dt = growth x, dy/dt = -growth y (the Hamiltonian flow of growth*x*y); "
    "conserved x*y",
    columns=("x", "y"),
    units=("m", "m"),
    constants=(
        Constant("growth", 1.0, "1/s", "growth rate of x and decay rate of y (not 'rate': that is a variant's "
                 "sampling rate)"),
        Constant("amplitude", 1.0, "m", "initial |x| and |y| drawn from U[amplitude/5, amplitude]"),
    ),
    field=_saddle_field,
    laws=template_laws(("x", "y"), [("hamiltonian", "growth*x*y", always)]),
    independent_laws=lambda c: 1,
    sample=_saddle_sample,
    initial_conditions="|x|, |y| ~ U[A/5, A] with random signs (A = amplitude)",
    t_end=2.0,
    n_points=40,
    notes=("x and y move independently of each other: a surrogate pairing x of one segment with y of another "
           "of the same length, both run forwards, is itself a solution and conserves x*y; only surrogates with "
           "a column run backwards judge the law (found on the default 50 trajectories, not on 12 at 2 % noise)",),
)
