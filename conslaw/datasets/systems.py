"""The catalogue of built-in simulated systems, by name (the specs live in their own modules).

``specs.py`` defines what a system is (``SystemSpec``, ``Constant``, ``CoordinateMap``) and
``integrate``; ``hnn.py``, ``oscillators.py``, ``mechanics.py``, ``cart.py``, ``lattice.py``,
``relativistic.py``, ``gravitation.py``, ``ecology.py``, ``thermal.py``, ``families.py``, ``hoop.py`` and
``dissipative.py`` define the systems. A new system is one new ``SystemSpec`` added to ``SYSTEMS``.
"""
from __future__ import annotations

from conslaw.datasets.cart import PENDULUM_CART
from conslaw.datasets.dissipative import DAMPED_PENDULUM, LORENZ, VAN_DER_POL
from conslaw.datasets.ecology import PREDATOR_PREY
from conslaw.datasets.families import PENDULUM_LENGTHS
from conslaw.datasets.gravitation import HENON_HEILES, KEPLER, THREE_BODY, TWO_BODY
from conslaw.datasets.hnn import PENDULUM, SPRING
from conslaw.datasets.hoop import ROTATING_HOOP
from conslaw.datasets.lattice import TODA_PAIR
from conslaw.datasets.mechanics import (
    CYCLOTRON, DOUBLE_PENDULUM, RIGID_BODY, ROTATING_TRAP, SPHERICAL_PENDULUM, SPRING_PENDULUM,
)
from conslaw.datasets.oscillators import (
    COUPLED_SPRINGS, DUFFING, FOUR_OSCILLATORS, OSCILLATOR2D, SADDLE, THREE_OSCILLATORS,
)
from conslaw.datasets.relativistic import RELATIVISTIC_OSCILLATOR
from conslaw.datasets.thermal import HEAT_EXCHANGE
from conslaw.datasets.specs import ATOL, RTOL, Constant, CoordinateMap, SystemSpec, integrate, law_from_template

SYSTEMS: dict[str, SystemSpec] = {
    spec.name: spec
    for spec in (
        PENDULUM,
        SPRING,
        OSCILLATOR2D,
        COUPLED_SPRINGS,
        DOUBLE_PENDULUM,
        SPHERICAL_PENDULUM,
        TWO_BODY,
        KEPLER,
        PREDATOR_PREY,
        THREE_BODY,
        THREE_OSCILLATORS,
        FOUR_OSCILLATORS,
        RIGID_BODY,
        DUFFING,
        TODA_PAIR,
        RELATIVISTIC_OSCILLATOR,
        SADDLE,
        HENON_HEILES,
        CYCLOTRON,
        ROTATING_TRAP,
        SPRING_PENDULUM,
        PENDULUM_CART,
        ROTATING_HOOP,
        HEAT_EXCHANGE,
        PENDULUM_LENGTHS,
        DAMPED_PENDULUM,
        VAN_DER_POL,
        LORENZ,
    )
}

__all__ = ["ATOL", "RTOL", "SYSTEMS", "Constant", "CoordinateMap", "SystemSpec", "integrate", "law_from_template"]
