"""The engine: ``ConservationSearch``, the only orchestration of a search (the CLI is a layer on it).

    search = ConservationSearch(units={"q": "rad", "p": "kg*m**2/s"}, depth=5)
    search.fit(trajectories, times=times)     # discovery: both searches, one ranking
    print(search.table())                     # the hall of fame
    search.sympy(0), search.latex(0), search.torch(0), search.numpy(0)
    search.tailor()                           # rank the laws as Noether losses (stage 3)
    ConservationSearch.from_run("runs/pendulum-...")

Options are those of ``conslaw.config.SearchConfig``, given as a config or by name
(``depth=5``); a file is ``ConservationSearch(data="run.csv", units="q=rad,p=rad/s",
missing="split")``, its ``units`` as text or a mapping. Every stage asks a ``Checkpoints``
store for finished work first, so a run directory given as the store makes a search resumable.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

import conslaw
from conslaw.checkpoints import Checkpoints, MemoryCheckpoints
from conslaw.config import SearchConfig
from conslaw.datasets.files import dataset_from_table
from conslaw.datasets.source import data_for_seeds, load_data
from conslaw.datasets.tables import resolve_units
from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.discover import Discovery, discover
from conslaw.discovery.known import parse_expected
from conslaw.errors import ConslawError, UsageError
from conslaw.law import Law, StateColumns
from conslaw.parallel import WorkerPool
from conslaw.threads import collector_frozen

LOGGER = logging.getLogger("conslaw")
APPROXIMATELY_CONSERVED = 0.5
Progress = Callable[[str, int, int], None]
DataLike = Union[TrajectoryDataset, np.ndarray, Sequence[np.ndarray], None]


def _trajectory_arrays(data: Any, times: Any) -> tuple[list[np.ndarray], Optional[Sequence]]:
    """``fit``'s arrays as a list of trajectories' states, and their times: one (n, d) array is
    one trajectory (with one array of times), a (k, n, d) array or a sequence of (n, d) arrays
    holds k. Anything else is a one-line UsageError."""
    if isinstance(data, (str, Path)):
        raise UsageError(f"fit() takes arrays of states or a TrajectoryDataset, got the text {str(data)!r}; a "
                         f"file goes by name: ConservationSearch(data={str(data)!r}, units=...).fit()")
    if isinstance(data, np.ndarray) and data.ndim == 2:  # one trajectory
        data, times = [data], (None if times is None else [times])
    elif isinstance(data, np.ndarray) and data.ndim != 3:
        raise UsageError(f"states of shape {data.shape}: give one trajectory (n, d), several (k, n, d), "
                         "or a list of (n, d) arrays")
    if len(data) == 0:
        raise UsageError("fit() was given no trajectories")
    listed = isinstance(times, (list, tuple)) or isinstance(times, np.ndarray) and times.ndim > 0
    if times is not None and (not listed or len(times) != len(data)):
        count = f"{len(times)} entries" if listed else repr(times)
        raise UsageError(f"times must hold one array of times per trajectory; got {count} for "
                         f"{len(data)} trajectories")
    trajectories = []
    for index, states in enumerate(data):
        if np.iscomplexobj(states):  # float would drop the imaginary parts with only a warning
            raise UsageError(f"trajectory {index} holds complex numbers: give their real and imaginary parts "
                             "as columns of their own")
        try:
            trajectories.append(np.asarray(states, dtype=float))
        except (TypeError, ValueError):
            raise UsageError(f"trajectory {index} holds values that are not numbers") from None
    return trajectories, times


class ConservationSearch:
    """Find the quantities conserved along trajectories, and rank them by usefulness.

    After ``fit``: ``laws_`` (every candidate, ranked: accepted laws first), ``dataset_``,
    ``discovery_`` (the judging data's summary and each search's account). After ``tailor``:
    ``tailoring_`` (result.json's tailoring section) and each law's ``tailoring`` entry.
    """

    def __init__(self, config: Optional[SearchConfig] = None, *,
                 units: Union[str, Mapping[str, str], None] = None, **options: Any) -> None:
        if units is not None and ("data" in options or "dataset" in options):  # the data section's to use or refuse
            options["units"] = units if isinstance(units, str) else ",".join(f"{k}={v}" for k, v in units.items())
            units = None
        self.config = (config or SearchConfig()).with_options(**options)
        self.units = resolve_units(units) if units is not None else None  # bad units fail here
        self.dataset_: Optional[TrajectoryDataset] = None
        self.discovery_: Optional[Discovery] = None
        self.laws_: list[Law] = []
        self.tailoring_: Optional[dict] = None
        self.rollouts_: Optional[dict] = None
        self.symmetries_: Optional[dict] = None
        self.stored_: Optional[dict] = None  # result.json of a search rebuilt by from_run
        self._configured_data: Optional[TrajectoryDataset] = None  # the configured data, loaded once

    # ------------------------------------------------------------------ data
    def _arrays(self, trajectories: Sequence[np.ndarray], times: Optional[Sequence[np.ndarray]]
                ) -> TrajectoryDataset:
        trajectories, times = _trajectory_arrays(trajectories, times)
        if not self.units:
            raise UsageError("units are needed to fit arrays: ConservationSearch(units={...})")
        columns = list(self.units)
        # Every name in ``units`` is a state column (one called "t" too): the trajectory and
        # time columns of the table get names that no state column has.
        trajectory_column, time_column = (" ".join(columns) + suffix for suffix in (" trajectory", " time"))
        table: dict[str, list] = {trajectory_column: [], time_column: [], **{c: [] for c in columns}}
        for index, states in enumerate(trajectories):
            if states.ndim != 2 or states.shape[1] != len(columns):
                raise UsageError(f"trajectory {index} has shape {states.shape}; expected (n, {len(columns)})")
            t = np.arange(len(states), dtype=float) if times is None else np.asarray(times[index], float)
            if t.shape != (len(states),):
                raise UsageError(f"times[{index}] has shape {t.shape}; expected ({len(states)},), one per state")
            bad = np.flatnonzero(~np.isfinite(np.column_stack([t, states])).all(axis=1))
            if bad.size:  # a file has --missing split; arrays are the caller's to cut
                raise UsageError(f"trajectory {index} sample {int(bad[0])}: a time or state that is NaN or "
                                 f"infinite ({bad.size} such samples); drop them, or split the trajectory there")
            table[trajectory_column].append(np.full(len(states), index))
            table[time_column].append(t)
            for j, column in enumerate(columns):
                table[column].append(states[:, j])
        merged = {name: np.concatenate(values) for name, values in table.items()}
        return dataset_from_table(merged, self.units, name="arrays", source="<arrays>",
                                  trajectory_column=trajectory_column, time_column=time_column,
                                  seed=self.config.run.seed)

    def load(self, data: DataLike = None, times: Optional[Sequence[np.ndarray]] = None) -> TrajectoryDataset:
        """The data set a fit would use: ``data``, or the configured data set, loaded once (bad
        input fails here, with a one-line error, as does data given two ways)."""
        if data is not None and self.config.data is not None:
            named = self.config.data.dataset or self.config.data.data
            raise UsageError(f"fit() was given data, and the search names {named!r} as its data: pass one of them")
        if times is not None and (data is None or isinstance(data, TrajectoryDataset)):
            raise UsageError("times= goes with arrays of states; a data set has its own times")
        if isinstance(data, TrajectoryDataset) and self.units:
            raise UsageError("units describe arrays; a TrajectoryDataset carries its own: drop units=")
        if isinstance(data, TrajectoryDataset):
            return data
        if data is not None:
            return self._arrays(data, times)
        if self.config.data is None:
            raise UsageError("no data: pass trajectories to fit(), or --dataset/--data")
        if self._configured_data is None:
            self._configured_data = load_data(self.config.data, self.config.run.seed)
        return self._configured_data

    def check_budget(self, dataset: TrajectoryDataset) -> None:
        """Refuse, before any work or file, an enumeration, a multi-term library or a tailoring
        estimated to pass its budget (a one-line UsageError naming the options; the enumeration
        and the tailoring check again as they run)."""
        from conslaw.discovery.conservation import DiscoveryConfig
        from conslaw.dsl.budget import check_budget, estimate_enumeration
        from conslaw.options import flags
        from conslaw.tailoring.duration import check_duration
        from conslaw.tailoring.memory import check_memory
        from conslaw.tailoring.pairing import hnn_pairs
        from conslaw.terms.term_config import TermsConfig
        from conslaw.terms.vocabulary import library_estimate

        enumeration = self.config.enumeration
        if self.config.discovery.mode != "terms":
            estimate = estimate_enumeration(dataset.columns, dataset.dimensions, enumeration.depth,
                                            operators=enumeration.operators)
            check_budget(estimate, enumeration.max_formulas, enumeration.max_memory_gb,
                         other=f", or pass {flags(DiscoveryConfig)['mode']} terms (the multi-term search alone)"
                         if self.config.discovery.mode == "both" else "")
        if self.config.discovery.mode != "formulas":
            check_budget(library_estimate(dataset, self.config.terms, enumeration.operators),
                         enumeration.max_formulas, enumeration.max_memory_gb,
                         depth_flag=flags(TermsConfig)["term_depth"])
        if self.config.tailoring.tailor:
            check_memory(dataset, self.config.tailoring)
            pairs, _ = hnn_pairs(dataset.columns, dataset.dimensions, self.config.run.canonical)
            check_duration(dataset, self.config.tailoring, with_hnn=pairs is not None)

    def check_laws_and_pairs(self, dataset: TrajectoryDataset) -> None:
        """Refuse, before any work or file, an expected law (``--expect``) that does not parse
        over the data's columns or depends on none of them, and ``--canonical`` pairs that name
        no column of the data (found only after the whole discovery before)."""
        from conslaw.discovery.symmetry import parse_canonical_pairs

        parse_expected(StateColumns.from_dataset(dataset), self.config.discovery.expect)
        if self.config.run.canonical is not None:
            parse_canonical_pairs(self.config.run.canonical, dataset.columns)

    # ------------------------------------------------------------------ stages
    def fit(self, data: DataLike = None, times: Optional[Sequence[np.ndarray]] = None, *,
            checkpoints: Optional[Checkpoints] = None, progress: Optional[Progress] = None,
            pool: Optional[WorkerPool] = None) -> "ConservationSearch":
        """Discover the laws of ``data`` (a ``TrajectoryDataset``; states in the declared ``units``,
        one trajectory as an (n, d) array or several as a list of them or a (k, n, d) array, with
        optional ``times`` in seconds, sample numbers without; or None for the configured data).
        What an earlier fit led to (tailoring, rollouts, symmetries, a stored run) is dropped."""
        self.dataset_ = self.load(data, times)
        self.check_laws_and_pairs(self.dataset_)
        self.tailoring_ = self.rollouts_ = self.symmetries_ = self.stored_ = None
        store = checkpoints if checkpoints is not None else MemoryCheckpoints()
        with collector_frozen(), (pool or WorkerPool.from_config(self.config.parallel)) as workers:
            self.discovery_ = discover(self.dataset_, self.config.discovery, self.config.enumeration,
                                       self.config.terms, seed=self.config.run.seed, pool=workers,
                                       checkpoints=store, progress=progress)
        self.laws_ = self.discovery_.laws
        LOGGER.info("discovery: %d candidates, %d accepted, %d independent in %.1f s; searches: %s",
                    len(self.laws_), len(self.accepted_laws_), len(self.independent_laws_),
                    self.discovery_.conservation.get("seconds", 0.0),
                    ", ".join(f"{name} {'partial' if account.get('partial') else 'done'}"
                              if account.get("ran") else f"{name} not run ({account.get('reason')})"
                              for name, account in self.discovery_.searches.items()))
        return self

    def tailor(self, *, checkpoints: Optional[Checkpoints] = None, progress: Optional[Progress] = None,
               cache_dir: Optional[Union[str, Path]] = None) -> "ConservationSearch":
        """Rank the laws as Noether losses and evaluate the winner over seeds (stage 3)."""
        from conslaw.tailoring import TailoringCandidate, run_tailoring

        self._require_fit()
        if self.dataset_ is None:  # rebuilt by from_run
            self.dataset_ = self._reloaded()
        candidates = [TailoringCandidate(str(law.rank), law.expression, law.accepted, law.rank,
                                         law.independent) for law in self.tailoring_pool()]
        source = data_for_seeds(self.config.data, self.dataset_) if self.config.data else self.dataset_
        results = run_tailoring(source, candidates, self.config.tailoring, checkpoints=checkpoints,
                                progress=progress, cache_dir=cache_dir, canonical=self.config.run.canonical)
        self.tailoring_ = results.to_dict()
        self.rollouts_ = results.rollouts
        by_id = {entry["id"]: entry for entry in self.tailoring_.get("candidates", [])}
        self.laws_ = [law.replace(tailoring=by_id.get(str(law.rank))) for law in self.laws_]
        LOGGER.info("tailoring: %d candidates ranked, selected %s; seconds per stage: %s",
                    len(by_id), (self.tailoring_.get("selected") or {}).get("expression"),
                    ", ".join(f"{k} {v:.1f}" for k, v in (self.tailoring_.get("timings") or {}).items()
                              if isinstance(v, (int, float))))
        return self

    def _reloaded(self) -> TrajectoryDataset:
        """The data of a search rebuilt by ``from_run``, loaded again as its run configured them;
        refused when they are not the data its discovery judged (its stored summary)."""
        if self.config.data is None:
            raise ConslawError("this search was rebuilt from a run on arrays, which the run does not keep: "
                               "fit() it on them again before tailor()")
        dataset = self.load()
        stored, now = (self.stored_ or {}).get("dataset") or {}, dataset.summary()
        changed = [key for key in stored if key in now and stored[key] != now[key]]
        if changed:
            raise ConslawError(f"the data of this run are not those its discovery judged ({', '.join(changed)} "
                               "differ): run the search again")
        return dataset

    def tailoring_pool(self) -> list[Law]:
        """The candidates the ranker may try, in rank order: as in the paper, the approximately
        conserved ones (accepted, or judged ratio at most ``APPROXIMATELY_CONSERVED``: at least
        twice as steady as a quantity that merely moves with the data), and never fewer than the
        ``--top`` best-ranked; ``--tailor-pool`` and ``--tailor-pool-size`` then choose among them.
        Identities (one value on every sample: relations between the columns) are not laws and
        are never tried."""
        self._require_fit()
        laws = [law for law in self.laws_ if law.quality != "identity"]
        steady = [law for law in laws if law.accepted or law.evidence.ratio <= APPROXIMATELY_CONSERVED]
        return steady if len(steady) >= self.config.tailoring.top else laws[:self.config.tailoring.top]

    def analyse_symmetries(self) -> "ConservationSearch":
        """With canonical pairs configured: each independent law's symmetry and the brackets."""
        from conslaw.discovery.symmetry import symmetry_report

        self._require_fit()
        if self.config.run.canonical:
            self.symmetries_ = symmetry_report(self.config.run.canonical, self.independent_laws_,
                                               self.dataset_)
        return self

    def run(self, data: DataLike = None, *, checkpoints: Optional[Checkpoints] = None,
            progress: Optional[Progress] = None, cache_dir: Optional[Union[str, Path]] = None
            ) -> "ConservationSearch":
        """Every stage the configuration asks for: discovery, symmetries, tailoring."""
        self.fit(data, checkpoints=checkpoints, progress=progress)
        self.analyse_symmetries()
        if self.config.tailoring.tailor and self.accepted_laws_:
            self.tailor(checkpoints=checkpoints, progress=progress, cache_dir=cache_dir)
        return self

    # ------------------------------------------------------------------ results
    def _require_fit(self) -> None:
        if self.dataset_ is None and self.discovery_ is None:
            raise ConslawError("the search has not been fitted: call fit() first")

    @property
    def accepted_laws_(self) -> list[Law]:
        return [law for law in self.laws_ if law.accepted]

    @property
    def independent_laws_(self) -> list[Law]:
        return [law for law in self.laws_ if law.independent]

    def _law(self, index: int) -> Law:
        self._require_fit()
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise UsageError(f"a law index must be an integer (0 = the best candidate), got {index!r}")
        if not -len(self.laws_) <= index < len(self.laws_):
            raise UsageError(f"law index {index} is out of range: the search has {len(self.laws_)} candidates")
        return self.laws_[index]

    def sympy(self, index: int = 0, units: str = "declared"):
        """The ``index``-th candidate (0 = the best) as a SymPy expression."""
        return self._law(index).sympy(units)

    def latex(self, index: int = 0, units: str = "declared") -> str:
        return self._law(index).latex(units)

    def numpy(self, index: int = 0, units: str = "declared"):
        return self._law(index).numpy(units)

    def torch(self, index: int = 0, units: str = "declared"):
        return self._law(index).torch(units)

    def table(self, rows: Optional[int] = None, units: str = "declared") -> str:
        """The hall of fame (see ``conslaw.report.summary.law_table``): the best ``rows``
        candidates, or all of them."""
        from conslaw.report.summary import law_table

        self._require_fit()
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1):
            raise UsageError(f"rows must be an integer >= 1 (or None for every candidate), got {rows!r}")
        return "\n".join(law_table(self.laws_, rows, units))

    def result(self) -> dict:
        """result.json's content, derived from the laws and the stages' accounts."""
        self._require_fit()
        discovery = self.discovery_
        dataset = self.dataset_
        stored = self.stored_ or {}
        return {
            "conslaw_version": conslaw.__version__,
            "dataset": dataset.summary() if dataset is not None else stored.get("dataset"),
            "columns": StateColumns.from_dataset(dataset).to_dict() if dataset is not None
            else stored.get("columns"),
            "config": self.config.to_dict(),
            "conservation": discovery.conservation if discovery else None,
            "searches": discovery.searches if discovery else None,
            "space": discovery.space if discovery else None,
            "independence": discovery.independence if discovery else None,
            "warnings": discovery.warnings if discovery else [],
            "known_laws": discovery.known_laws if discovery else [],
            "expected_laws": discovery.expected_laws if discovery else [],
            "candidates": [law.to_dict() for law in self.laws_],
            "independent": [law.rank for law in self.laws_ if law.independent],
            "pareto": [law.rank for law in self.laws_ if law.pareto],
            "tailoring": self.tailoring_,
            "symmetries": self.symmetries_,
        }

    @classmethod
    def from_run(cls, path: Union[str, Path]) -> "ConservationSearch":
        """A search rebuilt from a run directory's result.json (laws, configuration)."""
        from conslaw.report.rundir import CONFIG_FILE

        file = Path(path) / "result.json" if Path(path).is_dir() else Path(path)
        if not file.is_file():
            if not Path(path).is_dir():
                raise ConslawError(f"no such run: {path}")
            if (Path(path) / CONFIG_FILE).is_file():
                raise ConslawError(f"{path} is an unfinished run (no {file.name} yet); finish it with: "
                                   f"conslaw search --resume {path}")
            raise ConslawError(f"{path} is not a conslaw run directory (no {file.name})")
        try:
            stored = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ConslawError(f"cannot read {file}: {error}") from None
        search = cls(SearchConfig.from_dict(stored["config"]))
        columns = StateColumns.from_dict(stored["columns"])
        search.laws_ = [Law.from_dict(entry, columns) for entry in stored["candidates"]]
        search.stored_ = stored
        search.tailoring_ = stored.get("tailoring")
        search.symmetries_ = stored.get("symmetries")
        search.discovery_ = Discovery(search.laws_, stored.get("conservation") or {},
                                      stored.get("searches") or {}, stored.get("space"),
                                      stored.get("independence"), stored.get("warnings") or [],
                                      stored.get("known_laws") or [])
        return search
