"""The HNN experiments' systems, ``pendulum`` and ``spring``, with HNN's exact initial-state draws."""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, Sampler, SystemSpec, always, scaled_coordinates, template_laws


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
