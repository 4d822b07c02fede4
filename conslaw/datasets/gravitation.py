"""Gravitating bodies: ``two-body`` and ``kepler`` (one body in a -k/r potential), ``three-body``, and
``henon-heiles`` (a star in a galaxy's potential)."""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import sympy

from conslaw.datasets.specs import (
    Constant,
    Constants,
    CoordinateMap,
    SystemSpec,
    always,
    scaled_coordinates,
    template_laws,
    with_unit_noise,
)
from conslaw.errors import UsageError


def _orbit_launch(
    rng: np.random.RandomState, distance: np.ndarray, circular_speed: np.ndarray, speed_factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Relative positions and velocities (n, 2) of tangential launches at a uniform phase, either orientation."""
    n = distance.shape[0]
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    orientation = np.where(rng.rand(n) < 0.5, -1.0, 1.0)
    radial = np.stack([np.cos(phase), np.sin(phase)], axis=1)
    tangential = orientation[:, None] * np.stack([-np.sin(phase), np.cos(phase)], axis=1)
    return distance[:, None] * radial, (speed_factor * circular_speed)[:, None] * tangential


# ---------------------------------------------------------------- planar Kepler problem
def _kepler_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """Hamilton's equations of H = (px**2 + py**2)/(2 m) - k/r."""
    px, py = x[..., 2], x[..., 3]
    inverse_r3 = (x[..., 0] ** 2 + x[..., 1] ** 2) ** -1.5
    return np.stack(
        [px / c["m"], py / c["m"], -c["k"] * x[..., 0] * inverse_r3, -c["k"] * x[..., 1] * inverse_r3], axis=-1
    )


def _kepler_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """r ~ U[r_min, r_max], speed U[speed_min, speed_max] x circular, flight angle U[-a, a] (this draw order)."""
    radius = rng.uniform(c["r_min"], c["r_max"], size=n)
    phase = rng.uniform(0.0, 2 * np.pi, size=n)
    speed = rng.uniform(c["speed_min"], c["speed_max"], size=n) * np.sqrt(c["k"] / (c["m"] * radius))
    flight_angle = rng.uniform(-c["max_flight_angle"], c["max_flight_angle"], size=n)
    orientation = np.where(rng.rand(n) < 0.5, -1.0, 1.0)
    radial = np.stack([np.cos(phase), np.sin(phase)], axis=1)
    tangential = orientation[:, None] * np.stack([-np.sin(phase), np.cos(phase)], axis=1)
    velocity = speed[:, None] * (np.cos(flight_angle)[:, None] * tangential + np.sin(flight_angle)[:, None] * radial)
    x0 = np.concatenate([radius[:, None] * radial, c["m"] * velocity], axis=1)
    return with_unit_noise(rng, x0, n_points)


def _polar_native(c: Constants, s: Mapping[str, sympy.Symbol]) -> dict[str, sympy.Expr]:
    """Cartesian x, y, px, py as expressions in r, phi, pr, pphi."""
    r, phi, pr, pphi = s["r"], s["phi"], s["pr"], s["pphi"]
    return {
        "x": r * sympy.cos(phi),
        "y": r * sympy.sin(phi),
        "px": pr * sympy.cos(phi) - pphi * sympy.sin(phi) / r,
        "py": pr * sympy.sin(phi) + pphi * sympy.cos(phi) / r,
    }


def _polar_from_native(x: np.ndarray, c: Constants) -> np.ndarray:
    """Cartesian states to polar r, phi (in (-pi, pi]), pr, pphi."""
    r = np.hypot(x[..., 0], x[..., 1])
    phi = np.arctan2(x[..., 1], x[..., 0])
    pr = (x[..., 0] * x[..., 2] + x[..., 1] * x[..., 3]) / r
    pphi = x[..., 0] * x[..., 3] - x[..., 1] * x[..., 2]
    return np.stack([r, phi, pr, pphi], axis=-1)


def _polar_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """Hamilton's equations of H = (pr**2 + pphi**2/r**2)/(2 m) - k/r; phi is cyclic, so dpphi/dt = 0."""
    r, pr, pphi = x[..., 0], x[..., 2], x[..., 3]
    m, k = c["m"], c["k"]
    return np.stack([pr / m, pphi / (m * r**2), pphi**2 / (m * r**3) - k / r**2, np.zeros_like(r)], axis=-1)


KEPLER_COORDINATES = (
    scaled_coordinates(
        "velocities", ("x", "y", "vx", "vy"), ("m", "m", "m/s", "m/s"), ("x", "y", "px", "py"),
        ("1", "1", "1/m", "1/m"), "positions x, y and velocities vx = px/m, vy = py/m",
    ),
    CoordinateMap(
        "polar", ("r", "phi", "pr", "pphi"), ("m", "rad", "kg*m/s", "kg*m**2/s"),
        "polar coordinates r, phi (continuous, not wrapped) and their canonical momenta pr = m dr/dt, "
        "pphi = m r**2 dphi/dt (the angular momentum: phi is cyclic, so pphi is exactly constant)",
        native=_polar_native, from_native=_polar_from_native, field=_polar_field, positive=("r",),
    ),
)

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
        Constant("speed_min", 0.75, "1", "smallest initial speed, as a fraction of the circular speed sqrt(k/(m r))"),
        Constant("speed_max", 1.15, "1", "largest initial speed, as a fraction of the circular speed (< sqrt(2): bound)"),
        Constant("max_flight_angle", 0.35, "rad", "initial velocity within this angle of the tangential direction"),
    ),
    field=_kepler_field,
    laws=template_laws(
        ("x", "y", "px", "py"),
        [
            ("energy", "(px**2 + py**2)/(2*m) - k/sqrt(x**2 + y**2)", always),
            ("angular_momentum", "x*py - y*px", always),
            ("runge_lenz_x", "py*(x*py - y*px) - m*k*x/sqrt(x**2 + y**2)", always),
            ("runge_lenz_y", "-px*(x*py - y*px) - m*k*y/sqrt(x**2 + y**2)", always),
        ],
    ),
    independent_laws=lambda c: 3,
    sample=_kepler_sample,
    initial_conditions=(
        "r ~ U[r_min, r_max] at a uniform phase; speed U[speed_min, speed_max] x circular speed sqrt(k/(m r)) "
        "(defaults: always bound, eccentricity <= 0.45); flight angle U[-max_flight_angle, max_flight_angle] "
        "from tangential; either orientation with probability 1/2"
    ),
    t_end=5.0,
    n_points=50,
    notes=("energy, angular momentum and the Runge-Lenz vector: 3 functionally independent laws",),
    coordinates=KEPLER_COORDINATES,
)


def _with_defaults(constants: tuple[Constant, ...], **defaults: float) -> tuple[Constant, ...]:
    """The constants with some defaults replaced."""
    return tuple(dataclasses.replace(c, default=defaults.get(c.name, c.default)) for c in constants)


KEPLER = dataclasses.replace(
    TWO_BODY,
    name="kepler",
    description="planar Kepler problem with eccentric orbits (eccentricity up to about 0.75): "
    "H = (px**2 + py**2)/(2 m) - k/r",
    constants=_with_defaults(TWO_BODY.constants, speed_min=0.6, speed_max=1.3, max_flight_angle=0.6),
    initial_conditions=TWO_BODY.initial_conditions.replace("eccentricity <= 0.45", "eccentricity up to about 0.75"),
    t_end=10.0,
    n_points=150,
    notes=(
        "energy, angular momentum and the Runge-Lenz vector: 3 functionally independent laws",
        "the orbits' eccentricities spread over 0.05-0.75 (seed 0), so |A| = m k e varies widely between trajectories",
    ),
)


# ---------------------------------------------------------------- planar three-body problem
THREE_BODY_COLUMNS = ("x1", "y1", "x2", "y2", "x3", "y3", "px1", "py1", "px2", "py2", "px3", "py3")


def _three_body_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """Newtonian gravity between three point masses, no softening."""
    masses = np.array([c["m1"], c["m2"], c["m3"]])
    positions = x[..., :6].reshape(x.shape[:-1] + (3, 2))
    momenta = x[..., 6:].reshape(x.shape[:-1] + (3, 2))
    separation = positions[..., :, None, :] - positions[..., None, :, :]  # r_i - r_j
    distance_squared = (separation**2).sum(axis=-1) + np.eye(3)  # the diagonal's separation is 0 anyway
    pull = masses[None, :, None] * separation / distance_squared[..., None] ** 1.5
    forces = -c["G"] * masses[:, None] * pull.sum(axis=-2)
    velocities = momenta / masses[:, None]
    shape = x.shape[:-1] + (6,)
    return np.concatenate([velocities.reshape(shape), forces.reshape(shape)], axis=-1)


def _three_body_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """A near-circular binary (bodies 1, 2) with body 3 on a near-circular outer orbit, then a drift."""
    m1, m2, m3, gravity = c["m1"], c["m2"], c["m3"], c["G"]
    binary_mass, total = m1 + m2, m1 + m2 + m3
    separation = rng.uniform(c["separation_min"], c["separation_max"], size=n)
    inner, inner_velocity = _orbit_launch(
        rng, separation, np.sqrt(gravity * binary_mass / separation), rng.uniform(0.9, 1.1, size=n)
    )
    distance = rng.uniform(c["distance_min"], c["distance_max"], size=n)
    outer, outer_velocity = _orbit_launch(
        rng, distance, np.sqrt(gravity * total / distance), rng.uniform(0.9, 1.1, size=n)
    )
    centre = rng.uniform(-0.5, 0.5, size=(n, 2))
    drift = rng.uniform(-c["drift"], c["drift"], size=(n, 2))
    binary_centre, binary_velocity = centre - m3 / total * outer, drift - m3 / total * outer_velocity
    positions = [binary_centre - m2 / binary_mass * inner, binary_centre + m1 / binary_mass * inner,
                 centre + binary_mass / total * outer]
    velocities = [binary_velocity - m2 / binary_mass * inner_velocity,
                  binary_velocity + m1 / binary_mass * inner_velocity, drift + binary_mass / total * outer_velocity]
    momenta = [m * v for m, v in zip((m1, m2, m3), velocities)]
    return with_unit_noise(rng, np.concatenate([*positions, *momenta], axis=1), n_points)


def _three_body_energy() -> str:
    """The three-body Hamiltonian as a template in the columns and constants."""
    kinetic = " + ".join(f"(px{i}**2 + py{i}**2)/(2*m{i})" for i in (1, 2, 3))
    potential = " - ".join(
        f"G*m{i}*m{j}/sqrt((x{i} - x{j})**2 + (y{i} - y{j})**2)" for i, j in ((1, 2), (1, 3), (2, 3))
    )
    return f"{kinetic} - {potential}"


THREE_BODY = SystemSpec(
    name="three-body",
    description="planar three-body problem, Newtonian gravity without softening: "
    "H = sum (px_i**2 + py_i**2)/(2 m_i) - sum_{i<j} G m_i m_j/r_ij",
    columns=THREE_BODY_COLUMNS,
    units=("m",) * 6 + ("kg*m/s",) * 6,
    constants=(
        Constant("m1", 1.0, "kg", "mass of the first body of the binary"),
        Constant("m2", 0.8, "kg", "mass of the second body of the binary"),
        Constant("m3", 0.6, "kg", "mass of the distant third body"),
        Constant("G", 1.5, "m**3/(kg*s**2)", "gravitational constant"),
        Constant("separation_min", 0.4, "m", "smallest initial separation of the binary"),
        Constant("separation_max", 0.6, "m", "largest initial separation of the binary"),
        Constant("distance_min", 3.0, "m", "smallest initial distance of body 3 from the binary's centre of mass"),
        Constant("distance_max", 4.0, "m", "largest initial distance of body 3 from the binary's centre of mass"),
        Constant("drift", 0.3, "m/s", "centre-of-mass velocity components drawn from U[-drift, drift]"),
    ),
    field=_three_body_field,
    laws=template_laws(
        THREE_BODY_COLUMNS,
        [
            ("energy", _three_body_energy(), always),
            ("momentum_x", "px1 + px2 + px3", always),
            ("momentum_y", "py1 + py2 + py3", always),
            ("angular_momentum", "x1*py1 - y1*px1 + x2*py2 - y2*px2 + x3*py3 - y3*px3", always),
        ],
    ),
    independent_laws=lambda c: 4,
    sample=_three_body_sample,
    initial_conditions=(
        "a binary (bodies 1, 2) at separation U[separation_min, separation_max] and body 3 at distance "
        "U[distance_min, distance_max] from its centre of mass, each pair launched tangentially at U[0.9, 1.1] "
        "x its circular speed, uniform phases and orientations; centre of mass at U[-0.5, 0.5] m per axis, "
        "moving at U[-drift, drift] per axis"
    ),
    t_end=5.0,
    n_points=75,
    notes=(
        "energy, total momentum (2 components) and angular momentum: 4 independent laws",
        "hierarchical (outer distance >= 5 binary separations), so the bodies stay well apart over the default span",
    ),
    coordinates=(
        scaled_coordinates(
            "velocities", ("x1", "y1", "x2", "y2", "x3", "y3", "vx1", "vy1", "vx2", "vy2", "vx3", "vy3"),
            ("m",) * 6 + ("m/s",) * 6, THREE_BODY_COLUMNS, ("1",) * 6 + ("1/m1", "1/m1", "1/m2", "1/m2", "1/m3", "1/m3"),
            "positions and velocities v_i = p_i/m_i",
        ),
    ),
)


# ---------------------------------------------------------------- Hénon-Heiles
def _henon_heiles_potential(x: np.ndarray, y: np.ndarray, c: Constants) -> np.ndarray:
    """omega**2 (x**2 + y**2)/2 + lam (x**2 y - y**3/3), per unit mass."""
    return 0.5 * c["omega"] ** 2 * (x**2 + y**2) + c["lam"] * (x**2 * y - y**3 / 3.0)


def _henon_heiles_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dx/dt = vx, dy/dt = vy, dv/dt = -grad V."""
    qx, qy = x[..., 0], x[..., 1]
    w2, lam = c["omega"] ** 2, c["lam"]
    return np.stack([x[..., 2], x[..., 3], -w2 * qx - 2.0 * lam * qx * qy,
                     -w2 * qy - lam * (qx**2 - qy**2)], axis=-1)


def _henon_heiles_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Energy E ~ U[energy_min, energy_max]; the position a share s ~ U[0, 1/2] of E in the
    harmonic part (radius sqrt(2 s E)/omega, within the well's inscribed circle), halved while
    the cubic part lifts V above E; the velocity's direction uniform, its size sqrt(2 (E - V))."""
    energy = rng.uniform(c["energy_min"], c["energy_max"], size=n)
    radius = np.sqrt(2.0 * rng.uniform(0.0, 0.5, size=n) * energy) / c["omega"]
    position, heading = rng.uniform(0.0, 2 * np.pi, size=(2, n))
    x, y = radius * np.cos(position), radius * np.sin(position)
    while np.any(above := _henon_heiles_potential(x, y, c) >= energy):
        x, y = np.where(above, x / 2, x), np.where(above, y / 2, y)
    speed = np.sqrt(2.0 * (energy - _henon_heiles_potential(x, y, c)))
    return with_unit_noise(rng, np.stack([x, y, speed * np.cos(heading), speed * np.sin(heading)], axis=1), n_points)


def _henon_heiles_finalize(values: dict[str, float | None], flags: dict[str, bool]) -> dict[str, float]:
    """energy_max below the escape energy omega**6/(6 lam**2), where the well opens."""
    escape = values["omega"] ** 6 / (6.0 * values["lam"] ** 2)  # type: ignore[operator]
    if values["energy_max"] >= escape:  # type: ignore[operator]
        raise UsageError(f"henon-heiles: energy_max={values['energy_max']} m**2/s**2 reaches the escape energy "
                         f"omega**6/(6*lam**2) = {escape:.4g}: trajectories would leave the well")
    return values  # type: ignore[return-value]


HENON_HEILES = SystemSpec(
    name="henon-heiles",
    description="Hénon-Heiles: a star in an axisymmetric galaxy's potential, in positions and velocities "
    "(per unit mass): V = omega**2 (x**2 + y**2)/2 + lam (x**2 y - y**3/3); chaotic at high energy, "
    "its energy its only law",
    columns=("x", "y", "vx", "vy"),
    units=("m", "m", "m/s", "m/s"),
    constants=(
        Constant("omega", 1.0, "1/s", "harmonic frequency"),
        Constant("lam", 1.0, "1/(m*s**2)", "strength of the cubic coupling"),
        Constant("energy_min", 0.02, "m**2/s**2", "smallest energy drawn"),
        Constant("energy_max", 0.12, "m**2/s**2", "largest energy drawn (below the escape energy, 1/6 by default)"),
    ),
    field=_henon_heiles_field,
    laws=template_laws(("x", "y", "vx", "vy"), [
        ("energy", "(vx**2 + vy**2)/2 + omega**2*(x**2 + y**2)/2 + lam*(x**2*y - y**3/3)", always)]),
    independent_laws=lambda c: 1,
    sample=_henon_heiles_sample,
    initial_conditions="E ~ U[energy_min, energy_max]; position radius sqrt(2 s E)/omega, s ~ U[0, 1/2], "
    "halved until V < E; velocity of size sqrt(2 (E - V)) in a uniform direction",
    t_end=20.0,
    n_points=200,
    finalize=_henon_heiles_finalize,
    reference="M. Hénon and C. Heiles, The applicability of the third integral of motion, Astron. J. 69, 73 (1964)",
    notes=("near energy_min the motion is nearly two uncoupled oscillators, whose energies are then nearly "
           "conserved: approximate laws over part of the energy's columns",),
)
