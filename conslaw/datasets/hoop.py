"""A bead on a spinning hoop: ``rotating-hoop``, its angle from the bottom of a hoop that turns
about its vertical diameter at a fixed rate (a motor holds the rate, so the lab-frame energy is
not conserved). What is conserved is the Jacobi integral, the energy in the hoop's frame, which
needs ``sin(theta)**2`` beside ``cos(theta)``: a law whose terms a series in ``theta`` imitates
within the noise (``conslaw.discovery.demotions.mixes_an_angle``).
"""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, SystemSpec, always, template_laws, with_unit_noise


def _hoop_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dtheta/dt = omega, domega/dt = sin(theta) (spin**2 cos(theta) - g/R)."""
    theta, omega = x[..., 0], x[..., 1]
    return np.stack([omega, np.sin(theta) * (c["spin"] ** 2 * np.cos(theta) - c["g"] / c["R"])], axis=-1)


def _hoop_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """theta ~ U[-max_angle, max_angle], omega ~ U[-max_rate, max_rate]."""
    u = rng.uniform(-1.0, 1.0, size=(n, 2))
    return with_unit_noise(rng, u * np.array([c["max_angle"], c["max_rate"]]), n_points)


ROTATING_HOOP = SystemSpec(
    name="rotating-hoop",
    description="a bead on a hoop of radius R spinning at a fixed rate about its vertical diameter, the "
    "angle theta from the bottom and its rate: the Jacobi integral omega**2/2 - spin**2 sin(theta)**2/2 "
    "- (g/R) cos(theta) (the energy in the hoop's frame) is conserved, the lab-frame energy is not",
    columns=("theta", "omega"),
    units=("rad", "rad/s"),
    constants=(
        Constant("spin", 3.0, "1/s", "the hoop's angular velocity about its vertical diameter"),
        Constant("g", 9.81, "m/s**2", "gravitational acceleration"),
        Constant("R", 0.5, "m", "hoop radius"),
        Constant("max_angle", 2.5, "rad", "initial angles drawn from U[-max_angle, max_angle]"),
        Constant("max_rate", 3.0, "rad/s", "initial rates drawn from U[-max_rate, max_rate]"),
    ),
    field=_hoop_field,
    laws=template_laws(("theta", "omega"), [("Jacobi integral", "omega**2/2 - spin**2*sin(theta)**2/2 - g*cos(theta)/R",
                                             always)]),
    independent_laws=lambda c: 1,
    sample=_hoop_sample,
    initial_conditions="theta ~ U[-max_angle, max_angle], omega ~ U[-max_rate, max_rate]",
    t_end=6.0,
    n_points=181,
    notes=("with spin**2 > g/R the bottom is unstable and the bead settles into swings about an off-axis angle",),
)
