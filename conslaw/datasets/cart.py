"""``pendulum-cart``: a pendulum hanging from a cart that rolls freely on a level rail.

Two laws, the rail's momentum and the energy, each mixing the cart's and the bob's motion
(``omega*cos(theta)`` beside ``vx``), in the columns a user records: the cart's position and
velocity, the rod's angle and angular velocity. Added after a hand-written file of the same
system (2026-12-06), on which the search at 5 % noise accepted approximations of the energy
(``docs/discovery.md``, Known limits).
"""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, SystemSpec, always, template_laws, with_unit_noise


def _cart_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """The equations of motion from L = (M + m) vx**2/2 + m l vx omega cos(theta) + m l**2
    omega**2/2 + m g l cos(theta), their 2 x 2 mass matrix solved in closed form."""
    theta, vx, omega = x[..., 1], x[..., 2], x[..., 3]
    cart, bob, length, g = c["M"], c["m"], c["l"], c["g"]
    sin, cos = np.sin(theta), np.cos(theta)
    acceleration = bob * sin * (g * cos + length * omega**2) / (cart + bob * sin**2)
    angular = -(cos * acceleration + g * sin) / length
    return np.stack([vx, omega, acceleration, angular], axis=-1)


def _cart_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Cart position U[-0.5, 0.5] m and speed U[-max_speed, max_speed], angle U[-max_angle,
    max_angle], angular velocity U[-max_rate, max_rate]."""
    states = np.stack([rng.uniform(-0.5, 0.5, n), rng.uniform(-c["max_angle"], c["max_angle"], n),
                       rng.uniform(-c["max_speed"], c["max_speed"], n),
                       rng.uniform(-c["max_rate"], c["max_rate"], n)], axis=1)
    return with_unit_noise(rng, states, n_points)


PENDULUM_CART = SystemSpec(
    name="pendulum-cart",
    description="a pendulum hanging from a cart that rolls freely on a level rail: the rail's momentum "
    "P = (M + m) vx + m l omega cos(theta) and the energy E = (M + m) vx**2/2 + m l vx omega cos(theta) "
    "+ m l**2 omega**2/2 - m g l cos(theta)",
    columns=("x", "theta", "vx", "omega"),
    units=("m", "rad", "m/s", "rad/s"),
    constants=(
        Constant("M", 1.5, "kg", "cart mass"),
        Constant("m", 0.4, "kg", "bob mass"),
        Constant("l", 0.6, "m", "rod length"),
        Constant("g", 9.81, "m/s**2", "gravitational acceleration"),
        Constant("max_angle", 1.2, "rad", "initial angle from the vertical drawn from U[-max_angle, max_angle]"),
        Constant("max_speed", 0.5, "m/s", "initial cart speed drawn from U[-max_speed, max_speed]"),
        Constant("max_rate", 2.0, "rad/s", "initial angular velocity drawn from U[-max_rate, max_rate]"),
    ),
    field=_cart_field,
    laws=template_laws(
        ("x", "theta", "vx", "omega"),
        [("momentum", "(M + m)*vx + m*l*omega*cos(theta)", always),
         ("energy", "(M + m)*vx**2/2 + m*l*vx*omega*cos(theta) + m*l**2*omega**2/2 - m*g*l*cos(theta)", always)],
    ),
    independent_laws=lambda c: 2,
    sample=_cart_sample,
    initial_conditions="x ~ U[-0.5, 0.5], theta ~ U[-max_angle, max_angle], vx ~ U[-max_speed, max_speed], "
    "omega ~ U[-max_rate, max_rate]",
    t_end=6.0,
    n_points=301,
    n_trajectories=40,
    notes=("the cart's position is cyclic: the rail's momentum is conserved, and the energy in the "
           "momentum's frame, E - P**2/(2 (M + m)), is a law without vx",),
)
