"""Systems that conserve nothing: ``damped-pendulum`` (friction; with ``gamma=0`` the pendulum's
energy returns), ``van-der-pol`` (a limit cycle that every trajectory approaches) and ``lorenz``
(chaotic, volume-contracting). They test that discovery reports no law where there is none."""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, SystemSpec, integrate, template_laws, with_unit_noise


def _damped_pendulum_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dtheta/dt = omega, domega/dt = -omega0**2 sin(theta) - gamma omega."""
    theta, omega = x[..., 0], x[..., 1]
    return np.stack([omega, -c["omega0"] ** 2 * np.sin(theta) - c["gamma"] * omega], axis=-1)


def _damped_pendulum_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """theta ~ U[-amplitude, amplitude]; omega ~ U[-1, 1] omega0."""
    u = rng.uniform(-1.0, 1.0, size=(n, 2))
    return with_unit_noise(rng, u * np.array([c["amplitude"], c["omega0"]]), n_points)


def _frictionless(c: Constants) -> bool:
    return c["gamma"] == 0


DAMPED_PENDULUM = SystemSpec(
    name="damped-pendulum",
    description="pendulum with linear friction, in angle and angular velocity: "
    "domega/dt = -omega0**2 sin(theta) - gamma omega; nothing is conserved unless gamma = 0",
    columns=("theta", "omega"),
    units=("rad", "rad/s"),
    constants=(
        Constant("omega0", 2.0, "1/s", "small-angle angular frequency sqrt(g/l)"),
        Constant("gamma", 0.3, "1/s", "friction rate (0: the energy is conserved)", zero=True),
        Constant("amplitude", 2.0, "rad", "initial angle drawn from U[-amplitude, amplitude]"),
    ),
    field=_damped_pendulum_field,
    laws=template_laws(("theta", "omega"), [("energy", "omega**2/2 - omega0**2*cos(theta)", _frictionless)]),
    independent_laws=lambda c: 1 if _frictionless(c) else 0,
    sample=_damped_pendulum_sample,
    initial_conditions="theta ~ U[-amplitude, amplitude], omega ~ U[-omega0, omega0]",
    t_end=10.0,
    n_points=200,
    notes=("the energy omega**2/2 - omega0**2 cos(theta) decays at the rate gamma omega**2",),
)


def _van_der_pol_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dx/dt = v, dv/dt = mu (1 - x**2/a**2) v - omega**2 x."""
    position, velocity = x[..., 0], x[..., 1]
    pumping = c["mu"] * (1.0 - (position / c["a"]) ** 2) * velocity
    return np.stack([velocity, pumping - c["omega"] ** 2 * position], axis=-1)


def _van_der_pol_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """x ~ U[-3a, 3a], v ~ U[-3a omega, 3a omega], then ``settle`` seconds of the flow."""
    u = rng.uniform(-3.0, 3.0, size=(n, 2)) * np.array([c["a"], c["a"] * c["omega"]])
    if c["settle"] > 0:
        u = integrate(VAN_DER_POL, c, u, np.array([0.0, c["settle"]]))[:, -1]
    return with_unit_noise(rng, u, n_points)


VAN_DER_POL = SystemSpec(
    name="van-der-pol",
    description="van der Pol oscillator, in position and velocity: dv/dt = mu (1 - x**2/a**2) v - "
    "omega**2 x; every trajectory approaches one limit cycle, so nothing is conserved (settled on the "
    "cycle, the states share one closed curve: an identity of the data, not a law)",
    columns=("x", "v"),
    units=("m", "m/s"),
    constants=(
        Constant("omega", 1.0, "1/s", "angular frequency of small oscillations"),
        Constant("mu", 0.5, "1/s", "pumping rate: negative damping inside |x| < a, damping outside"),
        Constant("a", 1.0, "m", "amplitude where the damping changes sign (the cycle's is about 2a)"),
        Constant("settle", 0.0, "s", "time the flow runs from the drawn initial states before the "
                 "recording (0: transients recorded; 40/mu and more: the states start on the cycle)", zero=True),
    ),
    field=_van_der_pol_field,
    laws=template_laws(("x", "v"), []),
    independent_laws=lambda c: 0,
    sample=_van_der_pol_sample,
    initial_conditions="x ~ U[-3a, 3a], v ~ U[-3a omega, 3a omega], then settle seconds of the flow",
    t_end=10.0,
    n_points=200,
    notes=("the energy v**2/2 + omega**2 x**2/2 changes at the rate mu (1 - x**2/a**2) v**2",),
)


def _lorenz_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """The Lorenz system."""
    u, v, w = x[..., 0], x[..., 1], x[..., 2]
    return np.stack([c["sigma"] * (v - u), u * (c["rho"] - w) - v, u * v - c["beta"] * w], axis=-1)


def _lorenz_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """x, y ~ U[-10, 10], z ~ U[rho - 13, rho + 7] (near the attractor)."""
    u = rng.uniform(-1.0, 1.0, size=(n, 3))
    return with_unit_noise(rng, u * np.array([10.0, 10.0, 10.0]) + np.array([0.0, 0.0, c["rho"] - 3.0]), n_points)


LORENZ = SystemSpec(
    name="lorenz",
    description="the Lorenz system (chaotic, contracts volume at the rate sigma + 1 + beta): "
    "no conserved quantity",
    columns=("x", "y", "z"),
    units=("1", "1", "1"),
    constants=(
        Constant("sigma", 10.0, "1/s", "Prandtl number (as a rate)"),
        Constant("rho", 28.0, "1", "Rayleigh number"),
        Constant("beta", 8.0 / 3.0, "1/s", "geometric factor (as a rate)"),
    ),
    field=_lorenz_field,
    laws=template_laws(("x", "y", "z"), []),
    independent_laws=lambda c: 0,
    sample=_lorenz_sample,
    initial_conditions="x, y ~ U[-10, 10], z ~ U[rho - 13, rho + 7]",
    t_end=2.0,
    n_points=400,
    notes=("sigma and beta are rates in 1/s so that the field has the unit of the columns per second",),
)
