"""Results built the way ``ConservationSearch.result()`` builds them, from real ``Law`` records,
for the report tests (``test_report.py``, ``test_figures_and_runs.py``): a real discovery run
on a pendulum recorded in degrees (the ``pendulum`` fixture of ``conftest.py``), and hand-made
laws for the multi-column cases."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
from scipy import stats

from conslaw.datasets import make_variant
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.discovery.conservation import DiscoveryConfig
from conslaw.discovery.discover import discover
from conslaw.dsl.budget import EnumerationConfig
from conslaw.dsl.expressions import parse_expression
from conslaw.dsl.units import parse_unit
from conslaw.law import Evidence, Law, Parameter, StateColumns
from conslaw.parallel import WorkerPool


# ----------------------------------------------------------------------------- building results


def result_of(dataset, laws, *, config=None, searches=None, warnings=(), tailoring=None, symmetries=None,
              known_laws=(), expected_laws=()) -> dict:
    """A result dict with exactly the keys of ``ConservationSearch.result()``."""
    laws = sorted(laws, key=lambda law: law.rank)
    return {
        "conslaw_version": "0.1.0", "dataset": dataset.summary() if dataset is not None else None,
        "columns": laws[0].columns.to_dict(),
        "config": config or {"data": {"dataset": dataset.name if dataset else None}, "discovery": {"threshold": 100.0}},
        "conservation": {"window_s": 1.0}, "searches": searches or {}, "space": None, "independence": None,
        "warnings": list(warnings), "known_laws": list(known_laws),
        "expected_laws": list(expected_laws), "candidates": [law.to_dict() for law in laws],
        "independent": [law.rank for law in laws if law.independent],
        "pareto": [law.rank for law in laws if law.pareto], "tailoring": tailoring, "symmetries": symmetries,
    }


def _summary(values):
    finite = np.array([v for v in values if v is not None], dtype=float)
    if not finite.size:
        return {"mean": None, "std": None, "median": None, "n": 0}
    return {"mean": float(finite.mean()), "std": float(finite.std(ddof=1)), "median": float(np.median(finite)),
            "n": int(finite.size)}


def _paired(method, reference):
    d = np.array([m - r for m, r in zip(method, reference) if m is not None and r is not None])
    low, high = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
    return {"mean_diff": float(d.mean()), "ci95": [float(low), float(high)], "p_value": 0.01,
            "wins": int((d < 0).sum()), "n": int(d.size)}


def tailoring_section(laws, true_law="p**2 - 3*cos(q)") -> dict:
    """A tailoring section shaped as ``TailoringResults.to_dict()``: 25 candidates in stage 1, the
    best 20 meta-tailored (one diverged), five seeds."""
    pool = sorted(laws, key=lambda law: law.rank)[:25]
    candidates = []
    for i, law in enumerate(pool):
        stage2 = None if i >= 20 else {"train_rmse": None if i == 7 else 0.04 + 0.001 * i, "diverged": i == 7,
                                       "outer_loss": 1e-3, "inner_lr": 0.1, "epochs": 100}
        candidates.append({"id": str(law.rank), "expression": str(law.expression), "accepted": law.accepted,
                           "rank": law.rank, "stage1": {"inner_lr": 0.1 if i % 2 == 0 else 0.0,
                                                        "train_rmse": 0.05 + 0.001 * i, "sweep": {"0": 0.06}},
                           "stage2": stage2})
    per_seed = {"vanilla": [0.060, 0.050, 0.070, 0.055, 0.065], "finetune": [0.057, 0.049, 0.066, 0.054, 0.062],
                "tailored": [0.050, 0.047, 0.060, 0.052, 0.058], "noether": [0.047, 0.046, 0.052, 0.050, 0.049],
                "oracle": [0.047, 0.046, 0.052, 0.050, 0.049], "combined": [None] * 5,
                "hnn": [0.045, None, 0.050, 0.048, 0.046]}
    paired = {f"{m}_vs_vanilla": _paired(per_seed[m], per_seed["vanilla"])
              for m in ("finetune", "tailored", "noether", "oracle", "hnn")}
    paired.update({f"{m}_vs_finetune": _paired(per_seed[m], per_seed["finetune"]) for m in ("tailored", "noether")})
    evaluation = {f"{m}_rmse": _summary(v)["mean"] for m, v in per_seed.items()}
    evaluation.update(seeds=list(range(5)), per_seed=per_seed, summary={m: _summary(v) for m, v in per_seed.items()},
                      paired=paired, interval="paired t, 95 %", inner_lrs={"noether": [0.1, 0.1, 0.0, 0.1, 0.1]})
    selected = dict(candidates[0], inner_lr=0.1, train_rmse=0.04, is_discovery_rank_1=True)
    return {"candidates": candidates, "selected": selected, "combined": None, "evaluation": evaluation,
            "protocol": {"true_law": true_law}, "timings": {"stage1": 1.0}}


def pendulum_case() -> SimpleNamespace:
    """A real discovery on a pendulum whose angle was declared in degrees (about 5 s)."""
    variant = make_variant("pendulum", angle_unit="deg")
    with WorkerPool(jobs=1) as pool:
        found = discover(variant.dataset, DiscoveryConfig(mode="formulas"),
                         EnumerationConfig(depth=7, operators=("+", "*", "cos", "square")), None, seed=0, pool=pool)
    dataset = dataclasses.replace(variant.dataset, true_field=None)
    searches = dict(found.searches, terms={"ran": False, "reason": "the term library is larger than the data allow",
                                           "counts": {}, "timings": {}, "partial": False})
    config = {"data": {"dataset": "pendulum", "noise": 0.0, "options": []},
              "discovery": {"threshold": 100.0, "mode": "both"}, "run": {"canonical": None}}
    result = result_of(dataset, found.laws, config=config, searches=searches, tailoring=tailoring_section(found.laws),
                       warnings=["column 'p' is declared in kg*m**2/s: check its unit in --units"])
    search = SimpleNamespace(laws_=found.laws, result=lambda: result)  # what export_laws reads of a search
    return SimpleNamespace(dataset=dataset, laws=found.laws, result=result, search=search)


def make_law(expression, columns, unit, rank, *, accepted=True, independent=True, parameters=(), ratio=1e-20):
    return Law(parse_expression(expression, columns.names) if isinstance(expression, str) else expression,
               columns, parse_unit(unit).dimension, 5, "formula", str(expression), tuple(parameters),
               Evidence(ratio, 2 * ratio, 0.5, ratio / 2, {"median": 1e-10, "max": 1e-9}, 0.3),
               accepted=accepted, quality="exact" if accepted else "rejected", independent=independent,
               pareto=independent, rank=rank)


def trajectories_of(states_of, n, seed=0, points=40):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 2 * np.pi, points)
    return [Trajectory(t, states_of(t, rng)) for _ in range(n)]


def oscillator(extra_constant=False) -> TrajectoryDataset:
    def states(t, rng):
        (a, b), (f, g) = rng.uniform(0.5, 1.5, 2), rng.uniform(0, 6, 2)
        columns = [a * np.cos(t + f), b * np.cos(t + g), -a * np.sin(t + f), -b * np.sin(t + g)]
        return np.stack(columns + ([np.full_like(t, rng.uniform(1, 2))] if extra_constant else []), axis=-1)

    names = ("x", "y", "px", "py") + (("k",) if extra_constant else ())
    units = ("m", "m", "kg*m/s", "kg*m/s") + (("1",) if extra_constant else ())
    trajectories = trajectories_of(states, 6)
    return TrajectoryDataset("oscillator2d", names, tuple(parse_unit(u).dimension for u in units),
                             trajectories[:4], trajectories[4:], true_law="(px**2 + py**2 + x**2 + y**2)/2")


def oscillator_laws(dataset):
    columns = StateColumns.from_dataset(dataset)
    return [make_law("px**2 + x**2", columns, "kg**2*m**2/s**2", 1,
                 parameters=[Parameter("c0", 1.0, parse_unit("kg**2/s**2").dimension)]),
            make_law("py**2 + y**2", columns, "kg**2*m**2/s**2", 2),
            make_law("py*x - px*y", columns, "kg*m**2/s", 3),
            make_law("px*py + x*y", columns, "kg*m**2/s", 4, independent=False)]


def rollouts_of(dataset, trajectories=2):
    truth = np.stack([trajectory.x for trajectory in dataset.test[:trajectories]])
    drift = dataset.test[0].t[None, :, None]
    return {"times": dataset.test[0].t, "truth": truth, "vanilla": truth * (1 + 0.05 * drift),
            "noether": truth * (1 + 0.01 * drift)}
