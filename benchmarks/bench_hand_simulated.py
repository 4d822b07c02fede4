"""Trust on systems conslaw has no generator for, simulated here as a user would (SciPy's DOP853,
tight tolerances), written as long-format CSV files and read back through ``load_file`` with the
units a user would declare: a bead on a rotating hoop recorded in degrees (its Jacobi integral),
a Morse oscillator (its energy needs ``exp``, outside the default operators), Kepler's problem in
polar coordinates (angular momentum, energy and the Runge-Lenz vector), Kepler's problem in three
dimensions (six columns: the angular momentum's three components, the energy and the Runge-Lenz
vector, five independent laws), two uncoupled oscillators of incommensurate frequencies (two
energies), a driven pendulum (explicitly time-dependent: nothing conserved), and an SIR epidemic
in counts and days (the population, and ``log(S) + (b/g)*R``, which needs ``log``), pendulums
whose g differs from run to run and is not recorded (nothing conserved: each run has its own
energy), two pendulums coupled by a torsion spring in degrees (one energy, with
``(q1 - q2)**2``; at small swings each normal mode's energy is nearly conserved too), a particle
in the chaotic well ``(x**2 + y**2)/2 + 2*x**2*y**2`` (its energy alone), and a pendulum recorded
as its angle in degrees and the bob's speed along the arc in cm/s (``v**2/2 - g*l*cos(theta)``). State components beyond a system's declared columns are such unrecorded settings.
Each accepted law is checked against the system's true laws as ``bench_trust.py`` checks them (a
law is false when it is not a function of them at the data).

    python benchmarks/bench_hand_simulated.py [--noise 0 0.01] [--seed 0] [--jobs 1] [--systems NAME ...]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import sympy
from scipy.integrate import solve_ivp

from conslaw.datasets.files import load_file
from conslaw.discovery.independence import functionally_dependent
from conslaw.dsl.units import parse_unit
from conslaw.engine import ConservationSearch

TRAJECTORIES = 20


def _hoop(rng):
    spin, gravity = 3.0, 9.81 / 0.5  # the hoop's rate (rad/s) and g/R (1/s**2)
    field = lambda t, s: [s[1], np.sin(s[0]) * (spin**2 * np.cos(s[0]) - gravity)]
    starts = np.column_stack([rng.uniform(-2.5, 2.5, TRAJECTORIES), rng.uniform(-3, 3, TRAJECTORIES)])
    laws = [f"omega**2/2 - {spin**2 / 2}*sin(theta)**2 - {gravity}*cos(theta)"]
    return field, starts, 6.0, 30.0, {"theta": "deg", "omega": "deg/s"}, laws


def _morse(rng):
    depth, reach = 2.0, 1.5  # the well's depth (J/kg) and inverse width (1/m)
    field = lambda t, s: [s[1], -2 * depth * reach * np.exp(-reach * s[0]) * (1 - np.exp(-reach * s[0]))]
    starts = np.column_stack([rng.uniform(-0.3, 0.6, TRAJECTORIES), rng.uniform(-1.5, 1.5, TRAJECTORIES)])
    return field, starts, 8.0, 25.0, {"x": "m", "v": "m/s"}, [f"v**2/2 + {depth}*(1 - exp(-{reach}*x))**2"]


def _polar_kepler(rng):
    k = 1.3  # G M (m**3/s**2)
    field = lambda t, s: [s[2], s[3], s[0] * s[3]**2 - k / s[0]**2, -2 * s[2] * s[3] / s[0]]
    radius = rng.uniform(0.8, 1.5, TRAJECTORIES)
    starts = np.column_stack([radius, rng.uniform(0, 6, TRAJECTORIES), rng.uniform(-0.2, 0.2, TRAJECTORIES),
                              np.sqrt(k / radius**3) * rng.uniform(0.8, 1.15, TRAJECTORIES)])
    units = {"r": "m", "phi": "rad", "vr": "m/s", "phidot": "rad/s"}
    vx, vy = "(vr*cos(phi) - r*phidot*sin(phi))", "(vr*sin(phi) + r*phidot*cos(phi))"
    runge_lenz = [f"{vy}*r**2*phidot - {k}*cos(phi)", f"-{vx}*r**2*phidot - {k}*sin(phi)"]
    return field, starts, 10.0, 20.0, units, ["r**2*phidot", f"vr**2 + r**2*phidot**2 - {2 * k}/r", *runge_lenz]


def _kepler_3d(rng):
    k = 1.0  # G M (m**3/s**2); orbits in every plane, so six columns and five independent laws
    field = lambda t, s: [*s[3:], *(-k * s[:3] / np.linalg.norm(s[:3]) ** 3)]
    positions = rng.normal(size=(TRAJECTORIES, 3))
    radius = rng.uniform(0.8, 1.4, TRAJECTORIES)
    positions *= (radius / np.linalg.norm(positions, axis=1))[:, None]
    across = rng.normal(size=(TRAJECTORIES, 3))
    across -= np.sum(across * positions, axis=1)[:, None] * positions / radius[:, None] ** 2
    across /= np.linalg.norm(across, axis=1)[:, None]
    speed = np.sqrt(k / radius) * rng.uniform(0.8, 1.15, TRAJECTORIES)
    starts = np.column_stack([positions, across * speed[:, None] + 0.1 * rng.normal(size=(TRAJECTORIES, 3))])
    units = {c: "m" for c in ("x", "y", "z")} | {c: "m/s" for c in ("vx", "vy", "vz")}
    momentum = {"x": "(y*vz - z*vy)", "y": "(z*vx - x*vz)", "z": "(x*vy - y*vx)"}
    r = "sqrt(x**2 + y**2 + z**2)"
    runge_lenz = [f"v{b}*{momentum[c]} - v{c}*{momentum[b]} - {k}*{a}/{r}" for a, b, c in ("xyz", "yzx", "zxy")]
    return field, starts, 12.0, 20.0, units, [*momentum.values(), f"(vx**2 + vy**2 + vz**2)/2 - {k}/{r}", *runge_lenz]


def _two_frequencies(rng):
    field = lambda t, s: [s[2], s[3], -s[0], -5.0 * s[1]]
    units = {"x1": "m", "x2": "m", "v1": "m/s", "v2": "m/s"}
    return field, rng.uniform(-1, 1, (TRAJECTORIES, 4)), 10.0, 20.0, units, ["v1**2 + x1**2", "v2**2 + 5*x2**2"]


def _driven_pendulum(rng):
    field = lambda t, s: [s[1], -9.81 * np.sin(s[0]) + 1.2 * np.cos(1.7 * t)]
    return field, rng.uniform(-1, 1, (TRAJECTORIES, 2)), 8.0, 25.0, {"q": "rad", "w": "rad/s"}, []


def _epidemic(rng):
    infection, recovery = 0.004, 0.25  # mass action (1/(count*day)) and recovery rate (1/day)
    field = lambda t, s: [-infection * s[0] * s[1], infection * s[0] * s[1] - recovery * s[1], recovery * s[1]]
    population = rng.uniform(300, 1000, TRAJECTORIES)
    infected = rng.uniform(0.01, 0.1, TRAJECTORIES) * population
    starts = np.column_stack([population - infected, infected, np.zeros(TRAJECTORIES)])
    units = {"t": "day", "S": "count", "I": "count", "R": "count"}  # SIR, sampled twice a day
    return field, starts, 40.0, 2.0, units, ["S + I + R", f"log(S) + {infection / recovery}*R"]  # dS/dR = -b S/g


def _unrecorded_gravity(rng):
    field = lambda t, s: [s[1], -s[2] * np.sin(s[0]), 0.0]  # s[2]: this run's g, not a column
    starts = np.column_stack([rng.uniform(-1.5, 1.5, TRAJECTORIES), rng.uniform(-2, 2, TRAJECTORIES),
                              9.81 * rng.uniform(0.8, 1.25, TRAJECTORIES)])
    return field, starts, 8.0, 20.0, {"theta": "rad", "omega": "rad/s"}, []


def _coupled_pendulums(rng):
    gravity, coupling = 9.81, 3.0  # g/l (1/s**2) and the spring's torque per radian of twist (1/s**2)
    field = lambda t, s: [s[2], s[3], -gravity * np.sin(s[0]) - coupling * (s[0] - s[1]),
                          -gravity * np.sin(s[1]) - coupling * (s[1] - s[0])]
    starts = np.column_stack([rng.uniform(-1.8, 1.8, (TRAJECTORIES, 2)), rng.uniform(-2, 2, (TRAJECTORIES, 2))])
    units = {"q1": "deg", "q2": "deg", "w1": "deg/s", "w2": "deg/s"}
    return field, starts, 8.0, 25.0, units, [
        f"(w1**2 + w2**2)/2 - {gravity}*(cos(q1) + cos(q2)) + {coupling / 2}*(q1 - q2)**2"]


def _quartic_well(rng):
    field = lambda t, s: [s[2], s[3], -s[0] - 4 * s[0] * s[1] ** 2, -s[1] - 4 * s[1] * s[0] ** 2]
    units = {"x": "m", "y": "m", "vx": "m/s", "vy": "m/s"}
    return field, rng.uniform(-1.2, 1.2, (TRAJECTORIES, 4)), 10.0, 20.0, units, [
        "(vx**2 + vy**2 + x**2 + y**2)/2 + 2*x**2*y**2"]


def _bob_speed(rng):
    gravity, length = 9.81, 0.7  # the bob's speed along its arc, v = length * dtheta/dt, in cm/s
    field = lambda t, s: [s[1] / length, -gravity * np.sin(s[0])]
    starts = np.column_stack([rng.uniform(-2.0, 2.0, TRAJECTORIES), rng.uniform(-2.0, 2.0, TRAJECTORIES)])
    return field, starts, 6.0, 30.0, {"theta": "deg", "v": "cm/s"}, [f"v**2/2 - {gravity * length}*cos(theta)"]


SYSTEMS = {"rotating-hoop": _hoop, "morse": _morse, "polar-kepler": _polar_kepler, "kepler-3d": _kepler_3d,
           "two-frequencies": _two_frequencies, "driven-pendulum": _driven_pendulum, "epidemic": _epidemic,
           "unrecorded-gravity": _unrecorded_gravity, "coupled-pendulums": _coupled_pendulums,
           "quartic-well": _quartic_well, "bob-speed": _bob_speed}


def written(name: str, noise: float, seed: int, folder: Path) -> tuple[Path, dict, list[str]]:
    """The system simulated and written as ``folder/name.csv`` in its declared units (degrees, cm/s),
    with Gaussian noise at ``noise`` times each column's spread; its units and true laws (SI)."""
    rng = np.random.default_rng(seed)
    field, starts, t_end, rate, units, laws = SYSTEMS[name](rng)
    times = np.arange(0.0, t_end, 1.0 / rate)
    rows = []
    for k, start in enumerate(starts):
        states = solve_ivp(field, (0.0, times[-1]), start, t_eval=times, rtol=1e-11, atol=1e-12, method="DOP853").y.T
        rows.append(np.column_stack([np.full(len(times), k), times, states]))
    columns = [column for column in units if column != "t"]  # "t": a time unit other than s
    table = np.concatenate(rows)[:, :2 + len(columns)]  # the states beyond them are not recorded
    table[:, 2:] /= [parse_unit(units[column]).to_si for column in columns]  # SI -> the declared units
    table[:, 2:] += rng.normal(size=table[:, 2:].shape) * noise * table[:, 2:].std(axis=0)
    path = folder / f"{name}.csv"
    np.savetxt(path, table, delimiter=",", header=",".join(["trajectory", "t", *columns]), comments="")
    return path, units, laws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.01])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    false_laws = 0
    with tempfile.TemporaryDirectory(prefix="conslaw-hand-") as folder:
        for name in args.systems:
            for noise in args.noise:
                started = time.perf_counter()
                path, units, laws = written(name, noise, args.seed, Path(folder))
                dataset = load_file(path, units)
                search = ConservationSearch(jobs=args.jobs, tailor=False).fit(dataset)
                columns = dataset.columns
                symbols = {column: sympy.Symbol(column) for column in columns}
                truths = [sympy.sympify(law, locals=symbols) for law in laws]
                states = dataset.stacked("train")
                accepted = [law for law in search.laws_ if law.accepted]
                false = [law for law in accepted if not truths
                         or not functionally_dependent(law.expression, truths, columns, states)]
                false_laws += len(false)
                print(f"{name:16s} noise {noise:<5g} {time.perf_counter() - started:5.1f} s  accepted "
                      f"{len(accepted)}  false {len(false)}  independent {sum(law.independent for law in accepted)}"
                      f"  rank 1: {search.laws_[0].text(digits=4)[:70] if accepted else '-'}", flush=True)
                for law in false:
                    print(f"{'':16s} false law: {law.text(digits=4)} ({law.quality})")
    print(f"false laws in all: {false_laws}")


if __name__ == "__main__":
    main()
