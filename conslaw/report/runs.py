"""What the command line does around the engine: run directories, resume, outputs, summaries.

``run_search(given)`` builds the configuration from the options given on the command line,
loads and checks the data, opens (or resumes) a run directory, runs ``ConservationSearch`` with
the directory as its checkpoint store and progress bars on stderr, writes every output, and
prints the summary.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

from conslaw.config import SearchConfig
from conslaw.engine import ConservationSearch
from conslaw.errors import UsageError
from conslaw.options import flag_of
from conslaw.report.rundir import RunDirectory, default_run_path
from conslaw.report.outputs import write_run
from conslaw.report.progress import StageProgress
from conslaw.report.summary import format_summary

LOGGER = logging.getLogger("conslaw")


def _resumed_config(run: RunDirectory, given: dict[str, Any]) -> SearchConfig:
    """The stored configuration with the given neutral options applied; any other given option
    must equal the stored value (a one-line UsageError naming it otherwise). A resumed run keeps
    its directory, so the ``--overwrite`` it may have been started with no longer applies."""
    if given.get("out") is not None and Path(given["out"]).resolve() != Path(run.path).resolve():
        raise UsageError(f"--out {given['out']} with --resume {run.path}: a resumed run finishes in its own "
                         "directory (drop --out, or start a new run there)")
    stored = SearchConfig.from_dict(run.read_config())
    index = SearchConfig.options()
    neutral = {}
    for name, value in given.items():
        section, field = index[name]
        if field.metadata.get("neutral"):
            neutral[name] = value
            continue
        before = getattr(getattr(stored, section), name) if getattr(stored, section) is not None else None
        if before != value:
            raise UsageError(f"--resume {run.path}: {flag_of(field)} was {before!r}, now {value!r}; a "
                             "resumed run keeps its options (start a new run to change them)")
    return stored.with_options(**{"overwrite": False, **neutral})


def resume_run(given: dict[str, Any]) -> tuple[SearchConfig, RunDirectory]:
    """The stored configuration (with the given neutral options) and the run directory of
    ``conslaw search --resume DIR``."""
    run = RunDirectory(given["resume"], resume=True)
    return _resumed_config(run, given), run


def _new_config(given: dict[str, Any]) -> SearchConfig:
    config = SearchConfig().with_options(**given)
    if config.data is None:
        raise UsageError("give exactly one of --dataset NAME or --data FILE (or --resume DIR)")
    return config


def _new_run(config: SearchConfig) -> RunDirectory:
    name = config.data.dataset or Path(config.data.data).stem
    out = Path(config.run.out) if config.run.out else default_run_path(name)
    return RunDirectory(out, overwrite=config.run.overwrite)


def _model_cache(config: SearchConfig, run: RunDirectory) -> Path:
    """Where the trained baselines are cached: ``--model-cache`` (created, and checked to be
    writable) or the run's checkpoints."""
    if not config.run.model_cache:
        return run.checkpoint_dir / "models"
    path = Path(config.run.model_cache).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--model-cache {config.run.model_cache}: cannot create it ({error.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"--model-cache {config.run.model_cache}: not a writable directory")
    return path


def run_search(given: dict[str, Any], echo: Callable[[str], None] = print) -> ConservationSearch:
    """``conslaw search``: see the module docstring. Returns the finished search."""
    config, run = resume_run(given) if given.get("resume") else (_new_config(given), None)
    search = ConservationSearch(config)
    dataset = search.load()  # bad data and a runaway depth fail here, before any file is written
    search.check_budget(dataset)
    search.check_laws_and_pairs(dataset)
    run = run or _new_run(config)  # an occupied --out is named once the inputs are known good
    model_cache = _model_cache(config, run)
    run.write_config(config.to_dict())
    started = time.perf_counter()
    with run, StageProgress(quiet=config.run.quiet) as progress:
        run.attach_logging(config.run.log_level)
        LOGGER.info("search on %s", dataset.name)
        search.run(checkpoints=run.store(), progress=progress, cache_dir=model_cache)  # the data loaded above
        result = search.result()
        write_run(run, search, result)
        LOGGER.info("run complete in %.1f s", time.perf_counter() - started)
    echo(format_summary(result, run.output_paths(), brief=config.run.quiet,
                        laws=sorted(search.laws_, key=lambda law: law.rank)))
    return search


def enumerate_formulas_text(units_spec: str, depth: Optional[int], operators: Optional[str],
                            count_only: bool) -> str:
    """``conslaw enumerate``: every formula (or the count) and a summary line on stderr."""
    import sys

    from conslaw.dsl import enumerate_formulas, parse_units_spec

    config = SearchConfig().with_options(**{k: v for k, v in (("depth", depth), ("operators", operators))
                                            if v is not None}).enumeration
    units = parse_units_spec(units_spec)
    space = enumerate_formulas(list(units), [u.dimension for u in units.values()], config.depth,
                               operators=config.operators, max_formulas=config.max_formulas,
                               max_memory_gb=config.max_memory_gb)
    per_size = ", ".join(f"{s}: {n}" for s, n in space.summary()["formulas_by_size"].items())
    print(f"# {len(space)} formulas up to {config.depth} nodes ({per_size}) in {space.seconds:.2f} s",
          file=sys.stderr)
    if count_only:
        return f"{len(space)}\n"
    return "".join(space.table.to_text(root) + "\n" for root in space.roots)


def replot(run_path: str) -> list[Path]:
    """``conslaw plot RUN``: redraw a finished run's figures."""
    from conslaw.report.outputs import read_rollouts
    from conslaw.report.plots import make_plots

    search = ConservationSearch.from_run(run_path)
    dataset = search.load()
    return make_plots(Path(run_path), search, dataset, read_rollouts(run_path))
