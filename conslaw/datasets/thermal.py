"""Heat flow: ``heat-exchange``, two bodies in thermal contact, in absolute temperatures.

Their temperatures relax towards each other, so nothing moves for long and every trajectory
ends still; the heat content ``C1*T1 + C2*T2`` is conserved unless heat leaks to the room.
A user's recording of it is in degC, which conslaw reads as absolute temperatures
(``make_variant("heat-exchange", units={"T1": "degC", "T2": "degC"})``).
"""
from __future__ import annotations

import numpy as np

from conslaw.datasets.specs import Constant, Constants, SystemSpec, template_laws, with_unit_noise


def _heat_exchange_field(x: np.ndarray, c: Constants) -> np.ndarray:
    """C1 dT1/dt = G (T2 - T1) + G_room (T_room - T1), and the same for body 2."""
    t1, t2 = x[..., 0], x[..., 1]
    flow = c["G"] * (t2 - t1)
    return np.stack([(flow + c["G_room"] * (c["T_room"] - t1)) / c["C1"],
                     (-flow + c["G_room"] * (c["T_room"] - t2)) / c["C2"]], axis=-1)


def _heat_exchange_sample(rng: np.random.RandomState, n: int, n_points: int, c: Constants) -> tuple[np.ndarray, np.ndarray]:
    """Each body's temperature U[T_low, T_high]."""
    return with_unit_noise(rng, rng.uniform(c["T_low"], c["T_high"], size=(n, 2)), n_points)


def _insulated(c: Constants) -> bool:
    return c["G_room"] == 0


HEAT_EXCHANGE = SystemSpec(
    name="heat-exchange",
    description="two bodies exchanging heat through a conductance G, in kelvin: C1 dT1/dt = G (T2 - T1), "
    "C2 dT2/dt = G (T1 - T2); heat content C1 T1 + C2 T2 conserved unless G_room > 0 leaks heat to the room",
    columns=("T1", "T2"),
    units=("K", "K"),
    constants=(
        Constant("C1", 400.0, "J/K", "heat capacity of body 1"),
        Constant("C2", 1000.0, "J/K", "heat capacity of body 2"),
        Constant("G", 20.0, "W/K", "thermal conductance between the bodies"),
        Constant("G_room", 0.0, "W/K", "thermal conductance of each body to the room (0: insulated)", zero=True),
        Constant("T_room", 293.15, "K", "room temperature"),
        Constant("T_low", 280.0, "K", "lowest initial temperature"),
        Constant("T_high", 370.0, "K", "highest initial temperature"),
    ),
    field=_heat_exchange_field,
    laws=template_laws(("T1", "T2"), [("heat content", "C1*T1 + C2*T2", _insulated)]),
    independent_laws=lambda c: 1 if _insulated(c) else 0,
    sample=_heat_exchange_sample,
    initial_conditions="T1, T2 ~ U[T_low, T_high]",
    t_end=40.0,
    n_points=100,
    n_trajectories=30,
    notes=("T1 - T2 decays at the rate G (1/C1 + 1/C2) = 0.07/s by default, so a trajectory's motion is "
           "all in its first seconds",),
)
