"""``toda-pair``: two particles joined by a Toda bond, the stretch of the bond recorded.

The law, the bond's energy, needs ``exp`` of the stretch: in the default vocabulary a truncated
power series stands in for it within the noise. Added after a hand-written file of the same
kind (2026-12-06), on which the multi-term search at 1 % noise accepted ``0.067*q**4 +
0.34*q**3 + q**2 + 0.25*v**2`` as exact and stopped before the vocabulary that holds ``exp``
(``docs/terms.md``, How many laws the data could hold).
"""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, SystemSpec, always, template_laws, with_unit_noise


def _toda_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """dq/dt = v, dv/dt = w**2 (exp(-q) - 1): exponential repulsion, constant attraction."""
    stretch, rate = x[..., 0], x[..., 1]
    return np.stack([rate, c["w"] ** 2 * (np.exp(-stretch) - 1.0)], axis=-1)


def _toda_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Stretch U[-max_compression, max_stretch], rate U[-max_rate, max_rate]."""
    states = np.stack([rng.uniform(-c["max_compression"], c["max_stretch"], n),
                       rng.uniform(-c["max_rate"], c["max_rate"], n)], axis=1)
    return with_unit_noise(rng, states, n_points)


TODA_PAIR = SystemSpec(
    name="toda-pair",
    description="two particles joined by a Toda bond, the bond's stretch q in decay lengths and its rate v: "
    "dv/dt = w**2 (exp(-q) - 1); energy v**2/2 + w**2 (exp(-q) + q)",
    columns=("q", "v"),
    units=("1", "1/s"),
    constants=(
        Constant("w", 2.0, "1/s", "the bond's angular frequency for small stretches"),
        Constant("max_compression", 0.8, "1", "initial stretch drawn from U[-max_compression, max_stretch]"),
        Constant("max_stretch", 1.5, "1", "initial stretch drawn from U[-max_compression, max_stretch]"),
        Constant("max_rate", 2.0, "1/s", "initial rate drawn from U[-max_rate, max_rate]"),
    ),
    field=_toda_field,
    laws=template_laws(("q", "v"), [("energy", "v**2/2 + w**2*(exp(-q) + q)", always)]),
    independent_laws=lambda c: 1,
    sample=_toda_sample,
    initial_conditions="q ~ U[-max_compression, max_stretch], v ~ U[-max_rate, max_rate]",
    t_end=3.0,
    n_points=150,
    n_trajectories=24,
    notes=("the pair's centre of mass moves freely and is not recorded",
           "the potential is stiff on compression and linear on stretching: a power series needs many terms"),
)
