"""Population dynamics: ``predator-prey`` (Lotka-Volterra)."""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, SystemSpec, always, template_laws, with_unit_noise


def _lotka_volterra_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dx/dt = a x - b x y (prey), dy/dt = c x y - d y (predators)."""
    prey, predators = x[..., 0], x[..., 1]
    return np.stack(
        [c["a"] * prey - c["b"] * prey * predators, c["c"] * prey * predators - c["d"] * predators], axis=-1
    )


def _lotka_volterra_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Each population U[spread_min, spread_max] x its equilibrium value (d/c for prey, a/b for predators)."""
    equilibrium = np.array([c["d"] / c["c"], c["a"] / c["b"]])
    factors = rng.uniform(c["spread_min"], c["spread_max"], size=(n, 2))
    return with_unit_noise(rng, factors * equilibrium, n_points)


PREDATOR_PREY = SystemSpec(
    name="predator-prey",
    description="Lotka-Volterra predator-prey model in dimensionless populations: dx/dt = a x - b x y, "
    "dy/dt = c x y - d y; invariant c x - d log(x) + b y - a log(y)",
    columns=("x", "y"),
    units=("1", "1"),
    constants=(
        Constant("a", 1.1, "1/s", "prey growth rate"),
        Constant("b", 0.4, "1/s", "predation rate per predator"),
        Constant("c", 0.1, "1/s", "predator growth per prey"),
        Constant("d", 0.4, "1/s", "predator death rate"),
        Constant("spread_min", 0.4, "1", "smallest initial population, as a fraction of its equilibrium value"),
        Constant("spread_max", 1.6, "1", "largest initial population, as a fraction of its equilibrium value"),
    ),
    field=_lotka_volterra_field,
    laws=template_laws(("x", "y"), [("invariant", "c*x - d*log(x) + b*y - a*log(y)", always)]),
    independent_laws=lambda c: 1,
    sample=_lotka_volterra_sample,
    initial_conditions="x ~ U[spread_min, spread_max] * d/c, y ~ U[spread_min, spread_max] * a/b",
    t_end=15.0,
    n_points=150,
    notes=(
        "not Hamiltonian in x, y; the invariant is the only law, and every orbit is a closed cycle around (d/c, a/b)",
        "populations stay positive, so log(x) and log(y) are always defined",
    ),
)
