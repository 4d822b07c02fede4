"""Mechanical systems outside the canonical (q, p) form: ``double-pendulum``, ``spherical-pendulum``,
``rigid-body``, ``cyclotron``, ``rotating-trap`` and ``spring-pendulum``."""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import sympy

from conslaw.datasets.specs import (
    Constant, Constants, CoordinateMap, SystemSpec, always, template_laws, with_unit_noise,
)


# ---------------------------------------------------------------- double pendulum
def _double_pendulum_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """The double pendulum's equations of motion in angles and angular velocities."""
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


def _double_pendulum_sample(
    rng: np.random.RandomState, n: int, n_points: int, c: Constants
) -> tuple[np.ndarray, np.ndarray]:
    """Angles U[-max_angle, max_angle], rates U[-max_rate, max_rate]."""
    angles = rng.uniform(-c["max_angle"], c["max_angle"], size=(n, 2))
    rates = rng.uniform(-c["max_rate"], c["max_rate"], size=(n, 2))
    return with_unit_noise(rng, np.concatenate([angles, rates], axis=1), n_points)


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
    laws=template_laws(
        ("q1", "q2", "w1", "w2"),
        [
            (
                "energy",
                "(m1 + m2)*l1**2*w1**2/2 + m2*l2**2*w2**2/2 + m2*l1*l2*w1*w2*cos(q1 - q2)"
                " - (m1 + m2)*g*l1*cos(q1) - m2*g*l2*cos(q2)",
                always,
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




# ---------------------------------------------------------------- spherical pendulum
def _spherical_pendulum_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """A bob on a rod in polar angle theta (from the downward vertical) and azimuth phi."""
    theta, thetadot, phidot = x[..., 0], x[..., 2], x[..., 3]
    sin, cos = np.sin(theta), np.cos(theta)
    return np.stack([thetadot, phidot, sin * cos * phidot**2 - c["g"] / c["l"] * sin,
                     -2 * cos / sin * thetadot * phidot], axis=-1)


def _spherical_pendulum_sample(
    rng: np.random.RandomState, n: int, n_points: int, c: Constants
) -> tuple[np.ndarray, np.ndarray]:
    """theta U[min_angle, max_angle], phi U[-pi, pi], thetadot U[-max_rate, max_rate], phidot
    U[0.8, 1.25] times the conical pendulum's rate at theta, sqrt(g / (l cos(theta))), with a
    random sign: the bob circles, so it keeps away from the bottom, where the angles are singular."""
    theta = rng.uniform(c["min_angle"], c["max_angle"], size=n)
    phi = rng.uniform(-np.pi, np.pi, size=n)
    thetadot = rng.uniform(-c["max_rate"], c["max_rate"], size=n)
    conical = np.sqrt(c["g"] / (c["l"] * np.cos(theta)))
    phidot = conical * rng.uniform(0.8, 1.25, size=n) * rng.choice([-1.0, 1.0], size=n)
    return with_unit_noise(rng, np.stack([theta, phi, thetadot, phidot], axis=1), n_points)


SPHERICAL_PENDULUM = SystemSpec(
    name="spherical-pendulum",
    description="spherical pendulum in polar angle theta (from the downward vertical), azimuth phi and "
    "their rates: energy and the vertical angular momentum m l**2 sin(theta)**2 dphi/dt",
    columns=("theta", "phi", "thetadot", "phidot"),
    units=("rad", "rad", "rad/s", "rad/s"),
    constants=(
        Constant("m", 1.0, "kg", "bob mass"),
        Constant("l", 1.0, "m", "rod length"),
        Constant("g", 9.81, "m/s**2", "gravitational acceleration"),
        Constant("min_angle", 0.5, "rad", "initial theta drawn from U[min_angle, max_angle]"),
        Constant("max_angle", 1.2, "rad", "initial theta drawn from U[min_angle, max_angle]"),
        Constant("max_rate", 1.0, "rad/s", "initial thetadot drawn from U[-max_rate, max_rate]"),
    ),
    field=_spherical_pendulum_field,
    laws=template_laws(
        ("theta", "phi", "thetadot", "phidot"),
        [
            ("energy", "m*l**2*(thetadot**2 + sin(theta)**2*phidot**2)/2 - m*g*l*cos(theta)", always),
            ("angular_momentum_z", "m*l**2*sin(theta)**2*phidot", always),
        ],
    ),
    independent_laws=lambda c: 2,
    sample=_spherical_pendulum_sample,
    initial_conditions="theta ~ U[min_angle, max_angle], phi ~ U[-pi, pi], thetadot ~ U[-max_rate, max_rate], "
    "phidot ~ +-U[0.8, 1.25]*sqrt(g/(l*cos(theta)))",
    t_end=4.0,
    n_points=60,
    notes=("phi is cyclic: it appears in no law and winds without bound (unwrapped)",
           "the energy's kinetic term is weighted by sin(theta)**2, as the double pendulum's by cos(q1 - q2)"),
)


# ---------------------------------------------------------------- torque-free rigid body
def _rigid_body_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """Euler's equations in the body frame: I1 dw1/dt = (I2 - I3) w2 w3 and cyclic."""
    w1, w2, w3 = x[..., 0], x[..., 1], x[..., 2]
    i1, i2, i3 = c["I1"], c["I2"], c["I3"]
    return np.stack([(i2 - i3) * w2 * w3 / i1, (i3 - i1) * w3 * w1 / i2, (i1 - i2) * w1 * w2 / i3], axis=-1)


def _rigid_body_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Body-frame rates U[-max_rate, max_rate]."""
    return with_unit_noise(rng, rng.uniform(-c["max_rate"], c["max_rate"], size=(n, 3)), n_points)


def _equal(first: str, second: str) -> Callable[[Constants], bool]:
    """A law that holds when two principal moments are equal (a symmetric top)."""

    def applies(c: Constants) -> bool:
        return c[first] == c[second]

    return applies


RIGID_BODY = SystemSpec(
    name="rigid-body",
    description="torque-free rigid body, body-frame angular velocities (Euler's equations): "
    "E = (I1 w1**2 + I2 w2**2 + I3 w3**2)/2, |L|**2 = I1**2 w1**2 + I2**2 w2**2 + I3**2 w3**2",
    columns=("w1", "w2", "w3"),
    units=("rad/s", "rad/s", "rad/s"),
    constants=(
        Constant("I1", 1.0, "kg*m**2", "principal moment of inertia about body axis 1"),
        Constant("I2", 1.6, "kg*m**2", "principal moment of inertia about body axis 2"),
        Constant("I3", 2.5, "kg*m**2", "principal moment of inertia about body axis 3"),
        Constant("max_rate", 2.0, "rad/s", "initial w1, w2, w3 drawn from U[-max_rate, max_rate]"),
    ),
    field=_rigid_body_field,
    laws=template_laws(
        ("w1", "w2", "w3"),
        [
            ("energy", "(I1*w1**2 + I2*w2**2 + I3*w3**2)/2", always),
            ("angular_momentum_squared", "I1**2*w1**2 + I2**2*w2**2 + I3**2*w3**2", always),
            ("spin_1", "w1", _equal("I2", "I3")),
            ("spin_2", "w2", _equal("I1", "I3")),
            ("spin_3", "w3", _equal("I1", "I2")),
        ],
    ),
    independent_laws=lambda c: 3 if c["I1"] == c["I2"] == c["I3"] else 2,
    sample=_rigid_body_sample,
    initial_conditions="w1, w2, w3 ~ U[-max_rate, max_rate]",
    t_end=5.0,
    n_points=75,
    notes=(
        "non-canonical, three columns: the kinetic energy and |L|**2 are the two independent laws",
        "with two equal moments the third body-frame rate is conserved too (listed as spin_k)",
    ),
)


# ---------------------------------------------------------------- charged particle in a magnetic field
def _cyclotron_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """The Lorentz force of a uniform field along z turns the velocity at ``omega`` = qB/m:
    dvx/dt = omega vy, dvy/dt = -omega vx."""
    w = c["omega"]
    return np.stack([x[..., 2], x[..., 3], w * x[..., 3], -w * x[..., 2]], axis=-1)


def _planar_particle_sample(rng: np.random.RandomState, n: int, n_points: int,
                            c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Positions U[-size, size], velocities U[-max_speed, max_speed]."""
    positions = rng.uniform(-c["size"], c["size"], size=(n, 2))
    velocities = rng.uniform(-c["max_speed"], c["max_speed"], size=(n, 2))
    return with_unit_noise(rng, np.concatenate([positions, velocities], axis=1), n_points)


CYCLOTRON = SystemSpec(
    name="cyclotron",
    description="charged particle in the plane of a uniform magnetic field along z, positions and "
    "velocities (the field turns the velocity at omega = qB/m): the speed**2 vx**2 + vy**2 and the "
    "guiding centre x + vy/omega, y - vx/omega",
    columns=("x", "y", "vx", "vy"),
    units=("m", "m", "m/s", "m/s"),
    constants=(
        Constant("omega", 1.7, "1/s", "cyclotron frequency qB/m"),
        Constant("size", 1.0, "m", "initial x, y drawn from U[-size, size]"),
        Constant("max_speed", 2.0, "m/s", "initial vx, vy drawn from U[-max_speed, max_speed]"),
    ),
    field=_cyclotron_field,
    laws=template_laws(
        ("x", "y", "vx", "vy"),
        [
            ("speed_squared", "vx**2 + vy**2", always),
            ("centre_x", "x + vy/omega", always),
            ("centre_y", "y - vx/omega", always),
        ],
    ),
    independent_laws=lambda c: 3,
    sample=_planar_particle_sample,
    initial_conditions="x, y ~ U[-size, size], vx, vy ~ U[-max_speed, max_speed]",
    t_end=4.0,
    n_points=81,
    notes=("velocities are not canonical momenta here (p = m v + q A): the HNN baseline, which takes "
           "(x, y) as q and (vx, vy) as p, cannot represent the flow",),
)


# ---------------------------------------------------------------- a trap seen from a rotating frame
def _rotating_trap_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """An isotropic trap of frequency ``omega0`` in a frame rotating at ``Omega`` about z: the
    trap's pull, the Coriolis force and the centrifugal force,
    dvx/dt = -(omega0**2 - Omega**2) x + 2 Omega vy, dvy/dt = -(omega0**2 - Omega**2) y - 2 Omega vx."""
    stiffness, rotation = c["omega0"] ** 2 - c["Omega"] ** 2, c["Omega"]
    return np.stack([x[..., 2], x[..., 3], -stiffness * x[..., 0] + 2 * rotation * x[..., 3],
                     -stiffness * x[..., 1] - 2 * rotation * x[..., 2]], axis=-1)


ROTATING_TRAP = SystemSpec(
    name="rotating-trap",
    description="particle in an isotropic harmonic trap, recorded in a frame rotating about the trap's "
    "axis (positions and velocities in that frame): the Jacobi integral vx**2 + vy**2 + "
    "(omega0**2 - Omega**2)(x**2 + y**2) and the angular momentum in the fixed frame "
    "x*vy - y*vx + Omega*(x**2 + y**2)",
    columns=("x", "y", "vx", "vy"),
    units=("m", "m", "m/s", "m/s"),
    constants=(
        Constant("omega0", 2.0, "1/s", "trap frequency"),
        Constant("Omega", 0.5, "1/s", "rotation rate of the frame"),
        Constant("size", 1.0, "m", "initial x, y drawn from U[-size, size]"),
        Constant("max_speed", 1.0, "m/s", "initial vx, vy drawn from U[-max_speed, max_speed]"),
    ),
    field=_rotating_trap_field,
    laws=template_laws(
        ("x", "y", "vx", "vy"),
        [
            ("jacobi", "vx**2 + vy**2 + (omega0**2 - Omega**2)*(x**2 + y**2)", always),
            ("angular_momentum", "x*vy - y*vx + Omega*(x**2 + y**2)", always),
        ],
    ),
    independent_laws=lambda c: 2,
    sample=_planar_particle_sample,
    initial_conditions="x, y ~ U[-size, size], vx, vy ~ U[-max_speed, max_speed]",
    t_end=6.0,
    n_points=121,
    notes=("velocities in the rotating frame are not canonical momenta (p = v + Omega x r): the HNN "
           "baseline, which takes (x, y) as q and (vx, vy) as p, cannot represent the flow",),
)


# ---------------------------------------------------------------- spring pendulum
def _spring_pendulum_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """A bob on a spring from a pivot at the origin: gravity along -y, the spring's pull along
    the bob's position, k (r - L0) / m."""
    bob_x, bob_y = x[..., 0], x[..., 1]
    pull = c["k"] / c["m"] * (1.0 - c["L0"] / np.hypot(bob_x, bob_y))
    return np.stack([x[..., 2], x[..., 3], -pull * bob_x, -pull * bob_y - c["g"]], axis=-1)


def _spring_pendulum_sample(rng: np.random.RandomState, n: int, n_points: int,
                            c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Length r_eq + U[-max_stretch, max_stretch] about the resting length r_eq = L0 + m g/k,
    angle U[-max_angle, max_angle]; radial and angular rates at most those amplitudes times the
    spring's and the swing's frequencies."""
    rest = c["L0"] + c["m"] * c["g"] / c["k"]
    r = rest + rng.uniform(-c["max_stretch"], c["max_stretch"], n)
    theta = rng.uniform(-c["max_angle"], c["max_angle"], n)
    vr = rng.uniform(-1.0, 1.0, n) * c["max_stretch"] * np.sqrt(c["k"] / c["m"])
    omega = rng.uniform(-1.0, 1.0, n) * c["max_angle"] * np.sqrt(c["g"] / rest)
    cartesian = _spring_pendulum_cartesian(np.stack([r, theta, vr, omega], axis=-1))
    return with_unit_noise(rng, cartesian, n_points)


def _spring_pendulum_cartesian(polar: np.ndarray) -> np.ndarray:
    """Polar states (r, theta from the downward vertical, vr, omega) to x, y, vx, vy."""
    r, theta, vr, omega = (polar[..., i] for i in range(4))
    sin, cos = np.sin(theta), np.cos(theta)
    return np.stack([r * sin, -r * cos, vr * sin + r * omega * cos, -vr * cos + r * omega * sin], axis=-1)


def _spring_pendulum_native(c: Constants, s: Mapping[str, sympy.Symbol]) -> dict[str, sympy.Expr]:
    """x, y, vx, vy as expressions in r, theta, vr, omega."""
    r, theta, vr, omega = s["r"], s["theta"], s["vr"], s["omega"]
    sin, cos = sympy.sin(theta), sympy.cos(theta)
    return {"x": r * sin, "y": -r * cos, "vx": vr * sin + r * omega * cos, "vy": -vr * cos + r * omega * sin}


def _spring_pendulum_from_native(x: np.ndarray, c: Constants) -> np.ndarray:
    """x, y, vx, vy to r, theta (from the downward vertical, in (-pi, pi]), vr, omega."""
    bob_x, bob_y, vx, vy = (x[..., i] for i in range(4))
    r = np.hypot(bob_x, bob_y)
    return np.stack([r, np.arctan2(bob_x, -bob_y), (bob_x * vx + bob_y * vy) / r,
                     (bob_x * vy - bob_y * vx) / r**2], axis=-1)


def _spring_pendulum_polar_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """The equations of motion in r, theta, vr, omega."""
    r, theta, vr, omega = (x[..., i] for i in range(4))
    radial = r * omega**2 - c["k"] / c["m"] * (r - c["L0"]) + c["g"] * np.cos(theta)
    return np.stack([vr, omega, radial, (-2.0 * vr * omega - c["g"] * np.sin(theta)) / r], axis=-1)


SPRING_PENDULUM = SystemSpec(
    name="spring-pendulum",
    description="a bob on a spring from a pivot (an elastic pendulum) in a vertical plane, positions "
    "and velocities: E = m (vx**2 + vy**2)/2 + k (sqrt(x**2 + y**2) - L0)**2/2 + m g y",
    columns=("x", "y", "vx", "vy"),
    units=("m", "m", "m/s", "m/s"),
    constants=(
        Constant("m", 0.3, "kg", "bob mass"),
        Constant("k", 12.0, "N/m", "spring constant"),
        Constant("L0", 0.5, "m", "the spring's rest length"),
        Constant("g", 9.81, "m/s**2", "gravitational acceleration"),
        Constant("max_stretch", 0.1, "m", "initial length within this of the resting length L0 + m g/k"),
        Constant("max_angle", 0.8, "rad", "initial angle from the vertical drawn from U[-max_angle, max_angle]"),
    ),
    field=_spring_pendulum_field,
    laws=template_laws(
        ("x", "y", "vx", "vy"),
        [("energy", "m*(vx**2 + vy**2)/2 + k*(sqrt(x**2 + y**2) - L0)**2/2 + m*g*y", always)],
    ),
    independent_laws=lambda c: 1,
    sample=_spring_pendulum_sample,
    initial_conditions="r = L0 + m g/k + U[-max_stretch, max_stretch], theta ~ U[-max_angle, max_angle], "
    "vr ~ U[-1, 1] max_stretch sqrt(k/m), omega ~ U[-1, 1] max_angle sqrt(g/r_eq)",
    t_end=6.0,
    n_points=301,
    notes=("the swing and the spring exchange energy (chaotically at larger amplitudes): the energy is "
           "the only law; in these columns it needs sqrt(x**2 + y**2), in polar ones it is a polynomial",),
    coordinates=(
        CoordinateMap(
            "polar", ("r", "theta", "vr", "omega"), ("m", "rad", "m/s", "rad/s"),
            "the spring's length r, its angle theta from the downward vertical (continuous) and their rates",
            native=_spring_pendulum_native, from_native=_spring_pendulum_from_native,
            field=_spring_pendulum_polar_field, positive=("r",),
        ),
    ),
)
