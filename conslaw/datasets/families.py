"""A family of systems in one data set: ``pendulum-lengths``, pendulums whose rod lengths differ
from trajectory to trajectory, the length recorded as a column beside the angle and its rate.

A lab's file often carries such a setting per run. The column is exactly constant along each
trajectory (a still column: ``conslaw.discovery.surrogate.still_columns``), so it is itself
conserved, and the energy per unit mass needs it: ``l*omega**2 - 2*g*cos(theta)``.
"""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, SystemSpec, always, template_laws, with_unit_noise


def _pendulum_lengths_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dl/dt = 0, dtheta/dt = omega, domega/dt = -(g/l) sin(theta)."""
    length, theta, omega = x[..., 0], x[..., 1], x[..., 2]
    return np.stack([np.zeros_like(length), omega, -c["g"] / length * np.sin(theta)], axis=-1)


def _pendulum_lengths_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants
                             ) -> tuple[np.ndarray, np.ndarray]:
    """l ~ U[l_low, l_high], theta ~ U[-max_angle, max_angle], omega ~ U[-max_rate, max_rate]."""
    length = rng.uniform(c["l_low"], c["l_high"], size=n)
    theta = rng.uniform(-c["max_angle"], c["max_angle"], size=n)
    omega = rng.uniform(-c["max_rate"], c["max_rate"], size=n)
    return with_unit_noise(rng, np.stack([length, theta, omega], axis=1), n_points)


PENDULUM_LENGTHS = SystemSpec(
    name="pendulum-lengths",
    description="pendulums of different rod lengths, one per trajectory, the length l a column beside the "
    "angle and its rate: l itself and l*omega**2 - 2*g*cos(theta) (twice the energy per unit mass) conserved",
    columns=("l", "theta", "omega"),
    units=("m", "rad", "rad/s"),
    constants=(
        Constant("g", 9.81, "m/s**2", "gravitational acceleration"),
        Constant("l_low", 0.3, "m", "shortest rod, lengths drawn from U[l_low, l_high]"),
        Constant("l_high", 1.5, "m", "longest rod, lengths drawn from U[l_low, l_high]"),
        Constant("max_angle", 2.0, "rad", "initial angles drawn from U[-max_angle, max_angle]"),
        Constant("max_rate", 1.0, "rad/s", "initial rates drawn from U[-max_rate, max_rate]"),
    ),
    field=_pendulum_lengths_field,
    # the energy first: a data set's first law is the oracle of the tailoring's Table 1
    laws=template_laws(("l", "theta", "omega"), [("energy", "l*omega**2 - 2*g*cos(theta)", always),
                                                  ("rod length", "l", always)]),
    independent_laws=lambda c: 2,
    sample=_pendulum_lengths_sample,
    initial_conditions="l ~ U[l_low, l_high], theta ~ U[-max_angle, max_angle], omega ~ U[-max_rate, max_rate]",
    t_end=5.0,
    n_points=250,
    n_trajectories=30,
    noiseless=("l",),
    notes=("noise, when asked for, goes on theta and omega only: the length is recorded as set",
           "at 1 % noise and 50 Hz the energy is the term library's best pair: docs/terms.md, Limits"),
)
