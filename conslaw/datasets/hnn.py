"""The HNN experiments' systems, ``pendulum`` and ``spring``, with HNN's exact initial-state draws."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import sympy

from conslaw.datasets.specs import (
    Constant, Constants, CoordinateMap, Sampler, SystemSpec, always, exact, scaled_coordinates, template_laws,
)


def hnn_sampler(radius_min: str, radius_max: str) -> Sampler:
    """HNN's draw order per trajectory: rand(2) direction, rand() radius, then q and p noise."""

    def sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
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
    """dq/dt = p/(m l**2), dp/dt = -m g l sin q."""
    q, p = x[..., 0], x[..., 1]
    inertia = c["m"] * c["l"] ** 2
    return np.stack([p / inertia, -c["m"] * c["g"] * c["l"] * np.sin(q)], axis=-1)


def _spring_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dq/dt = p/m, dp/dt = -k q."""
    q, p = x[..., 0], x[..., 1]
    return np.stack([p / c["m"], -c["k"] * q], axis=-1)


def _bob_native(c: Constants, s: Mapping[str, sympy.Symbol]) -> dict[str, sympy.Expr]:
    """The angle from the downward vertical and its momentum (the bob's angular momentum about
    the pivot) in the bob's position and velocity."""
    x, y, vx, vy = s["x"], s["y"], s["vx"], s["vy"]
    return {"q": sympy.atan2(x, -y), "p": exact(c["m"]) * (x * vy - y * vx)}


def _bob_constraints(c: Constants, s: Mapping[str, sympy.Symbol]) -> dict[str, sympy.Expr]:
    """The rod fixes the bob's distance from the pivot, so its velocity has no radial part."""
    x, y, vx, vy = s["x"], s["y"], s["vx"], s["vy"]
    return {"rod_length": x**2 + y**2, "radial_velocity": x * vx + y * vy}


def _bob_from_native(x: np.ndarray, c: Constants) -> np.ndarray:
    """(q, p) to the bob's x = l sin q, y = -l cos q and velocity l dq/dt (cos q, sin q)."""
    q, length = x[..., 0], c["l"]
    speed = length * x[..., 1] / (c["m"] * length**2)
    return np.stack([length * np.sin(q), -length * np.cos(q), speed * np.cos(q), speed * np.sin(q)], axis=-1)


def _bob_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """The bob turns about the pivot at the rate omega = (x vy - y vx)/r**2, which changes at
    -g x/r**2 (the torque of gravity): its acceleration is domega/dt (-y, x) - omega**2 (x, y)."""
    bob_x, bob_y, vx, vy = x[..., 0], x[..., 1], x[..., 2], x[..., 3]
    squared = bob_x**2 + bob_y**2
    omega, turning = (bob_x * vy - bob_y * vx) / squared, -c["g"] * bob_x / squared
    return np.stack([vx, vy, -turning * bob_y - omega**2 * bob_x, turning * bob_x - omega**2 * bob_y], axis=-1)


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
    laws=template_laws(("q", "p"), [("energy", "p**2/(2*m*l**2) + m*g*l*(1 - cos(q))", always)]),
    independent_laws=lambda c: 1,
    sample=hnn_sampler("radius_min", "radius_max"),
    initial_conditions="HNN: direction rand(2)*2-1 normalised, radius U[radius_min, radius_max]",
    t_end=3.0,
    n_points=45,
    reference="greydanus/hamiltonian-nn experiment-pend/data.py",
    coordinates=(
        scaled_coordinates(
            "velocities", ("theta", "omega"), ("rad", "rad/s"), ("q", "p"), ("1", "1/(m*l**2)"),
            "angle theta = q and angular velocity omega = p/(m l**2)",
        ),
        CoordinateMap(
            "cartesian", ("x", "y", "vx", "vy"), ("m", "m", "m/s", "m/s"),
            "the bob's position x (horizontal) and y (vertical, up, from the pivot) and its velocity, as a "
            "camera tracking the bob records them; the rod fixes x**2 + y**2 = l**2 and x*vx + y*vy = 0",
            native=_bob_native, from_native=_bob_from_native, field=_bob_field, constraints=_bob_constraints,
        ),
    ),
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
    laws=template_laws(("q", "p"), [("energy", "p**2/(2*m) + k*q**2/2", always)]),
    independent_laws=lambda c: 1,
    sample=hnn_sampler("radius_min", "radius_max"),
    initial_conditions="HNN: direction rand(2)*2-1 normalised, radius U[radius_min, radius_max]",
    t_end=3.0,
    n_points=30,
    reference="greydanus/hamiltonian-nn experiment-spring/data.py",
    coordinates=(
        scaled_coordinates("velocities", ("x", "v"), ("m", "m/s"), ("q", "p"), ("1", "1/m"), "position x = q, velocity v = p/m"),
    ),
)
