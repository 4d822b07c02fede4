"""``conslaw search`` end to end: data -> formula space -> fitted candidates -> tailoring -> report.

Every stage checkpoints into the run directory (the enumeration, each fitted chunk, each
candidate's tailoring), so ``--resume DIR`` finishes an interrupted run without redoing work
and gives the same result as an uninterrupted run with the same options.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

import conslaw
from conslaw.datasets import TrajectoryDataset, load_dataset, load_file
from conslaw.discovery import DiscoveryConfig, discover
from conslaw.discovery.discover import merge_candidate_lists
from conslaw.dsl import PAPER_OPERATORS, enumerate_formulas
from conslaw.dsl.units import format_unit, parse_units_spec
from conslaw.errors import UsageError
from conslaw.report import (
    RunDirectory, default_run_path, format_summary, progress_bar, write_result_files, write_rollouts,
)
from conslaw.report.plots import make_plots

LOGGER = logging.getLogger("conslaw")
MODES = ("formulas", "terms", "both")


@dataclass
class SearchOptions:
    """Every option of ``conslaw search`` (config.json stores them all)."""

    dataset: Optional[str] = None
    data: Optional[str] = None
    units: Optional[str] = None
    trajectory_column: str = "trajectory"
    time_column: str = "t"
    data_dir: Optional[str] = None
    dataset_options: dict = field(default_factory=dict)
    noise: float = 0.0
    depth: int = 7
    operators: tuple[str, ...] = PAPER_OPERATORS
    threshold: float = 100.0
    window: int = 25
    seed: int = 0
    jobs: int = 1
    backend: str = "loky"
    scheduler: Optional[str] = None
    mode: str = "both"
    term_depth: int = 3
    max_factors: int = 2
    tailor: bool = True
    top: int = 20
    inner_lrs: Optional[tuple[float, ...]] = None
    meta_epochs: int = 100
    loss_form: str = "central"
    seeds: int = 5
    canonical: Optional[str] = None
    plots: bool = True
    out: Optional[str] = None
    resume: Optional[str] = None
    overwrite: bool = False
    quiet: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.resume is None and (self.dataset is None) == (self.data is None):
            raise UsageError("give exactly one of --dataset NAME or --data FILE (or --resume DIR)")
        if self.data is not None and not self.units:
            raise UsageError("--data needs --units naming the state columns, e.g. \"q=rad,p=kg*m**2/s\"")
        if self.mode not in MODES:
            raise UsageError(f"unknown --mode {self.mode!r}; choose from {', '.join(MODES)}")
        if self.seeds < 1:
            raise UsageError(f"--seeds must be >= 1, got {self.seeds}")
        if self.depth < 1:
            raise UsageError(f"--depth must be >= 1, got {self.depth}")
        if self.units is not None:
            parse_units_spec(self.units)
        self.operators = tuple(self.operators)
        if self.inner_lrs is not None:
            self.inner_lrs = tuple(float(v) for v in self.inner_lrs)

    @classmethod
    def from_config(cls, config: dict, **overrides: Any) -> "SearchOptions":
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in config.items() if k in names}
        values.update(overrides)
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)


def load_search_dataset(options: SearchOptions, seed: Optional[int] = None) -> TrajectoryDataset:
    """The dataset the options name; ``seed`` overrides the split/simulation seed."""
    seed = options.seed if seed is None else seed
    if options.data is not None:
        return load_file(options.data, options.units, trajectory_column=options.trajectory_column,
                         time_column=options.time_column, seed=seed)
    return load_dataset(options.dataset, seed=seed, noise=options.noise, data_dir=options.data_dir,
                        **options.dataset_options)


def _dataset_source(options: SearchOptions, dataset: TrajectoryDataset):
    """Seed -> dataset for multi-seed evaluation: simulated data get a new split per seed;
    recorded data keep their split (seeds vary the model initialization only)."""
    if options.data is not None or dataset.derivatives != "exact" or dataset.true_field is None:
        return dataset
    return lambda seed: load_search_dataset(options, seed=seed)


def _stage(run: RunDirectory, name: str, compute: Callable[[], Any]) -> Any:
    """A whole-stage checkpoint: load it when present, otherwise compute and save it."""
    store = run.store()
    value = store.load(name)
    if value is None:
        value = compute()
        store.save(name, value)
    else:
        LOGGER.info("resumed stage %s from its checkpoint", name)
    return value


def _discovery(options: SearchOptions, dataset: TrajectoryDataset, run: RunDirectory) -> dict:
    config = DiscoveryConfig(depth=options.depth, operators=options.operators,
                             threshold=options.threshold, window=options.window, seed=options.seed,
                             jobs=options.jobs, backend=options.backend,
                             scheduler=options.scheduler)
    started = time.perf_counter()
    space = _stage(run, "enumeration", lambda: enumerate_formulas(
        dataset.columns, dataset.dimensions, options.depth, operators=options.operators,
        seed=options.seed))
    LOGGER.info("enumerated %d formulas up to %d nodes", len(space), options.depth)
    with progress_bar(len(space), "fit formulas", options.quiet, unit="formula") as bar:
        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        result = discover(dataset, config, space=space, checkpoint=run.store(), progress=progress)
    result.timings["enumerate_s"] = space.seconds
    result.timings["discovery_s"] = time.perf_counter() - started
    return {"candidates": result.candidates, "counts": result.counts, "timings": result.timings,
            "space": result.space_summary}


def _terms(options: SearchOptions, dataset: TrajectoryDataset, run: RunDirectory) -> Optional[dict]:
    if options.mode == "formulas":
        return None
    from conslaw.terms import find_multiterm_laws

    def search() -> dict:
        result = find_multiterm_laws(
            dataset, term_depth=options.term_depth, max_factors=options.max_factors,
            threshold=options.threshold, window=options.window, seed=options.seed)
        return {"candidates": result.candidates, "library": result.library,
                "counts": result.counts, "timings": result.timings}

    return _stage(run, "terms", search)


def _merged_candidates(formulas: Optional[dict], terms: Optional[dict], dataset: TrajectoryDataset,
                       options: SearchOptions) -> tuple[list[dict], list[int]]:
    """One ranked list: accepted laws of both searches (the same law shown once), then the rest."""
    lists = [r["candidates"] for r in (formulas, terms) if r is not None]
    return merge_candidate_lists(lists, dataset, options.window)


def _tailoring(options: SearchOptions, dataset: TrajectoryDataset, candidates: list[dict],
               run: RunDirectory) -> Optional[dict]:
    accepted = [c for c in candidates if c["accepted"]]
    if not options.tailor or not accepted:
        return None
    from conslaw.tailoring import run_tailoring

    laws = [{"id": str(c["rank"]), "expression": c["expression"]} for c in accepted]
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = progress_bar(total, stage, options.quiet).__enter__()
        bars[stage].update(done - bars[stage].n)

    try:
        result = run_tailoring(
            _dataset_source(options, dataset), laws, top=options.top, inner_lrs=options.inner_lrs,
            meta_epochs=options.meta_epochs, loss_form=options.loss_form, seeds=options.seeds,
            jobs=options.jobs, backend=options.backend, scheduler=options.scheduler,
            cache_dir=run.checkpoint_dir / "models", progress=progress, checkpoint=run.store())
    finally:
        for bar in bars.values():
            bar.close()
    return result.to_dict()


def _symmetries(options: SearchOptions, dataset: TrajectoryDataset, candidates: list[dict]) -> Optional[dict]:
    """For each independent law G, the symmetry it generates (dq = dG/dp, dp = -dG/dq), in
    symbols and in words, and the Poisson brackets between the laws and with the known energy."""
    if not options.canonical:
        return None
    from conslaw.symmetry import (
        bracket_table, describe_symmetry, parse_canonical_pairs, symmetry_generator,
    )

    pairs = parse_canonical_pairs(options.canonical, dataset.columns)
    laws = {f"G{c['rank']}": c["expression"] for c in candidates if c.get("independent")}
    energy = dataset.true_law
    generators = {
        name: {"law": law,
               "generator": {k: str(v) for k, v in symmetry_generator(law, pairs).items()},
               "description": describe_symmetry(law, pairs, energy)}
        for name, law in laws.items()}
    brackets = [{"left": e.left, "right": e.right, "bracket": str(e.bracket), "zero": e.zero,
                 "decided_by": e.decided_by} for e in bracket_table(laws, pairs, energy)]
    return {"pairs": [list(p) for p in pairs], "energy": energy, "generators": generators,
            "brackets": brackets,
            "note": "time-dependent laws are out of scope: every law is a function of the state"}


def _symmetry_figure(run: RunDirectory, symmetries: dict, dataset: TrajectoryDataset) -> Path:
    """plots/symmetry_flows.png: the flow each independent law generates, on the plane of each
    canonical pair and, with two or more pairs, on the plane of the first two coordinates."""
    import matplotlib

    matplotlib.use("Agg")
    from conslaw.symmetry import plot_symmetry_flows

    pairs = [tuple(pair) for pair in symmetries["pairs"]]
    planes = list(pairs) + ([(pairs[0][0], pairs[1][0])] if len(pairs) > 1 else [])
    medians = dict(zip(dataset.columns, np.median(dataset.stacked("train"), axis=0)))
    laws = {f"{name} = {entry['law']}": entry["law"] for name, entry in symmetries["generators"].items()}
    figure = plot_symmetry_flows(laws, pairs, planes, base_point=medians,
                                 energy=symmetries["energy"])
    path = run.plots_dir / "symmetry_flows.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _independence(candidates: list[dict], laws: list[int], dataset: TrajectoryDataset) -> dict:
    """The independent set's size (numerical test) beside the exact generic rank of the
    Jacobian of those laws and of every accepted law (symbolic test). Fitted coefficients are
    first rationalized (relative tolerance 1e-6), so that a law fitted as ``1.00000*px**2 + x**2``
    is taken as ``px**2 + x**2`` and exact identities between laws can hold."""
    import sympy

    from conslaw.symmetry import symbolic_independence

    def exact(candidate: dict) -> sympy.Expr:
        return sympy.nsimplify(sympy.sympify(candidate["expression"]), tolerance=1e-6, rational=True)

    accepted = [exact(c) for c in candidates if c["accepted"]]
    chosen = [exact(c) for c in candidates if c["rank"] in laws]
    return {
        "numerical": len(laws),
        "symbolic_rank_of_independent": symbolic_independence(chosen, dataset.columns)[0] if chosen else 0,
        "symbolic_rank_of_accepted": symbolic_independence(accepted, dataset.columns)[0] if accepted else 0,
        "note": "on noisy data an approximation of a law (accepted, not independent) can raise the "
                "exact rank of the accepted set; the numerical test judges it within its "
                "conservation error",
    }


def _attach_tailoring(candidates: list[dict], tailoring: dict) -> None:
    by_id = {entry["id"]: entry["tailoring"] for entry in tailoring["candidates"]}
    for candidate in candidates:
        if str(candidate["rank"]) in by_id:
            candidate["tailoring"] = by_id[str(candidate["rank"])]


def build_result(options: SearchOptions, dataset: TrajectoryDataset, formulas: Optional[dict],
                 terms: Optional[dict], ranked: tuple[list[dict], list[int]],
                 tailoring: Optional[dict], symmetries: Optional[dict]) -> dict:
    """result.json's content from each stage's output (``ranked``: the merged candidates and
    the ranks of the independent laws)."""
    candidates, laws = ranked
    if tailoring is not None:
        _attach_tailoring(candidates, tailoring)
    counts = dict(formulas["counts"]) if formulas else {"enumerated": 0, "fitted": 0, "non_finite": 0}
    counts["accepted"] = sum(1 for c in candidates if c["accepted"])
    counts["independent"] = len(laws)
    if terms is not None:
        counts["terms_accepted"] = sum(1 for c in terms["candidates"] if c["accepted"])
        counts["term_library"] = terms.get("library", {})
    timings = dict(formulas["timings"]) if formulas else {}
    if terms is not None:
        timings.update({f"terms_{k}": v for k, v in terms.get("timings", {}).items()})
    if tailoring is not None:
        timings.update({f"tailoring_{k}": v for k, v in tailoring.get("timings", {}).items()})
    summary = dataset.summary()
    summary["units"] = {c: format_unit(d) for c, d in zip(dataset.columns, dataset.dimensions)}
    summary["declared_units"] = dict(dataset.units)
    return {
        "conslaw_version": conslaw.__version__,
        "dataset": summary,
        "config": options.to_dict(),
        "space": formulas["space"] if formulas else None,
        "counts": counts,
        "timings": timings,
        "candidates": candidates,
        "laws": laws,
        "independence": _independence(candidates, laws, dataset),
        "selected": tailoring["selected"] if tailoring else None,
        "evaluation": tailoring["evaluation"] if tailoring else None,
        "tailoring_protocol": tailoring["protocol"] if tailoring else None,
        "symmetries": symmetries,
    }


def run_search(options: SearchOptions, echo: Callable[[str], None] = print) -> dict:
    """Run (or resume) a search; write the run directory; return result.json's content."""
    if options.resume is not None:
        run = RunDirectory(options.resume, resume=True)
        stored = run.read_config()["options"]
        options = SearchOptions.from_config(stored, resume=options.resume, jobs=options.jobs,
                                            backend=options.backend, scheduler=options.scheduler,
                                            quiet=options.quiet, log_level=options.log_level)
        run.write_config(options.to_dict())  # checks the conslaw version, records --jobs etc.
    dataset = load_search_dataset(options)  # bad input fails here, before any file is touched
    if options.canonical:
        from conslaw.symmetry import parse_canonical_pairs

        parse_canonical_pairs(options.canonical, dataset.columns)
    if options.resume is None:
        out = Path(options.out) if options.out else default_run_path(dataset.name)
        run = RunDirectory(out, overwrite=options.overwrite)
        run.write_config(options.to_dict())
    with run:
        run.attach_logging(options.log_level)
        LOGGER.info("conslaw %s search on %s", conslaw.__version__, dataset.name)
        formulas = _discovery(options, dataset, run) if options.mode != "terms" else None
        terms = _terms(options, dataset, run)
        ranked = _merged_candidates(formulas, terms, dataset, options)
        tailoring = _tailoring(options, dataset, ranked[0], run)
        rollouts = tailoring.pop("rollouts", None) if tailoring else None
        symmetries = _symmetries(options, dataset, ranked[0])
        result = build_result(options, dataset, formulas, terms, ranked, tailoring, symmetries)
        write_result_files(run, result)
        if rollouts:
            write_rollouts(run, rollouts)
        if options.plots:
            make_plots(run, result, dataset, rollouts)
            if symmetries and symmetries["generators"]:
                _symmetry_figure(run, symmetries, dataset)
        LOGGER.info("run complete")
    if not options.quiet:
        echo(format_summary(result, run.output_paths()))
    return result
