"""The Python API: a small sklearn-style estimator over the pipeline's stages.

    search = ConservationSearch(units={"q": "rad", "p": "kg*m**2/s"}).fit(trajectories)
    law = search.laws_[0]
    law.sympy(), law.latex(), law.torch(), NoetherLoss(law)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import sympy

from conslaw.datasets import TrajectoryDataset
from conslaw.datasets.files import dataset_from_table
from conslaw.discovery import DiscoveryConfig, discover
from conslaw.discovery.discover import merge_candidate_lists
from conslaw.dsl import PAPER_OPERATORS
from conslaw.errors import UsageError

TrajectoryLike = Union[np.ndarray, tuple]


@dataclass
class Law:
    """One discovered law: a result.json candidate with conversions. Calling it on a torch
    tensor of states ``(..., d)`` evaluates it, so ``NoetherLoss(law)`` works directly."""

    candidate: dict
    columns: tuple[str, ...]
    _torch: Any = field(default=None, repr=False)

    @property
    def expression(self) -> str:
        return self.candidate["expression"]

    @property
    def unit(self) -> str:
        return self.candidate["unit"]

    @property
    def ratio(self) -> float:
        return self.candidate["conservation"]["true"]

    @property
    def independent(self) -> bool:
        return bool(self.candidate.get("independent"))

    def sympy(self) -> sympy.Expr:
        symbols = sympy.symbols(self.columns)
        return sympy.sympify(self.expression, locals=dict(zip(self.columns, symbols)))

    def latex(self) -> str:
        return sympy.latex(self.sympy())

    def numpy(self):
        """A numpy function of the state columns, ``f(q, p)``."""
        return sympy.lambdify(sympy.symbols(self.columns), self.sympy(), "numpy")

    def torch(self):
        """A torch function of a state tensor ``(..., d)``, differentiable and vmap-able."""
        if self._torch is None:
            from conslaw.tailoring import law_to_torch

            self._torch = law_to_torch(self.expression, self.columns)
        return self._torch

    def __call__(self, states):
        return self.torch()(states)

    def __str__(self) -> str:
        return self.expression


class ConservationSearch:
    """Find the quantities conserved along trajectories.

    ``units`` maps each state column to a pint unit string (its order gives the columns).
    ``mode`` is "formulas" (whole-formula enumeration to ``depth`` nodes), "terms" (sparse
    multi-term laws) or "both". After ``fit``: ``laws_`` (accepted laws, best first),
    ``independent_laws_`` and ``result_`` (candidates, counts and timings).
    """

    def __init__(self, units: Optional[Mapping[str, str]] = None, *, depth: int = 7,
                 mode: str = "both", operators: Sequence[str] = PAPER_OPERATORS,
                 threshold: float = 100.0, window: int = 25, seed: int = 0, jobs: int = 1,
                 backend: str = "loky", term_depth: int = 3, max_factors: int = 2) -> None:
        if mode not in ("formulas", "terms", "both"):
            raise UsageError(f"mode must be formulas, terms or both, got {mode!r}")
        self.units = dict(units) if units else None
        self.depth = depth
        self.mode = mode
        self.operators = tuple(operators)
        self.threshold = threshold
        self.window = window
        self.seed = seed
        self.jobs = jobs
        self.backend = backend
        self.term_depth = term_depth
        self.max_factors = max_factors

    def _dataset(self, trajectories: Union[TrajectoryDataset, Sequence[TrajectoryLike]],
                 times: Optional[Sequence[np.ndarray]]) -> TrajectoryDataset:
        if isinstance(trajectories, TrajectoryDataset):
            return trajectories
        if not self.units:
            raise UsageError("units are needed to fit arrays: ConservationSearch(units={...})")
        arrays = [np.asarray(x, dtype=float) for x in trajectories]
        columns = list(self.units)
        table: dict[str, list] = {"trajectory": [], "t": [], **{c: [] for c in columns}}
        for index, x in enumerate(arrays):
            if x.ndim != 2 or x.shape[1] != len(columns):
                raise UsageError(f"trajectory {index} has shape {x.shape}; expected (n, {len(columns)})")
            t = np.arange(len(x), dtype=float) if times is None else np.asarray(times[index], float)
            table["trajectory"].append(np.full(len(x), index))
            table["t"].append(t)
            for j, column in enumerate(columns):
                table[column].append(x[:, j])
        merged = {name: np.concatenate(values) for name, values in table.items()}
        return dataset_from_table(merged, self.units, name="arrays", source="<arrays>",
                                  seed=self.seed)

    def fit(self, trajectories: Union[TrajectoryDataset, Sequence[TrajectoryLike]],
            times: Optional[Sequence[np.ndarray]] = None) -> "ConservationSearch":
        """Search ``trajectories``: a ``TrajectoryDataset`` or a list of (n, d) arrays in the
        units given (``times``: one time array per trajectory, if known)."""
        dataset = self._dataset(trajectories, times)
        lists = []
        if self.mode in ("formulas", "both"):
            config = DiscoveryConfig(depth=self.depth, operators=self.operators,
                                     threshold=self.threshold, window=self.window,
                                     seed=self.seed, jobs=self.jobs, backend=self.backend)
            formulas = discover(dataset, config)
            lists.append(formulas.candidates)
            counts, timings = dict(formulas.counts), dict(formulas.timings)
        else:
            counts, timings = {}, {}
        if self.mode in ("terms", "both"):
            from conslaw.terms import find_multiterm_laws

            terms = find_multiterm_laws(dataset, term_depth=self.term_depth,
                                        max_factors=self.max_factors, threshold=self.threshold,
                                        window=self.window, seed=self.seed)
            lists.append(terms.candidates)
            timings.update({f"terms_{k}": v for k, v in terms.timings.items()})
        candidates, laws = merge_candidate_lists(lists, dataset, self.window)
        counts["accepted"] = sum(1 for c in candidates if c["accepted"])
        counts["independent"] = len(laws)
        self.dataset_ = dataset
        self.result_ = {"candidates": candidates, "laws": laws, "counts": counts,
                        "timings": timings}
        self.laws_ = [Law(c, dataset.columns) for c in candidates if c["accepted"]]
        self.independent_laws_ = [law for law in self.laws_ if law.independent]
        return self

    def table(self) -> str:
        """The hall of fame: rank, law, unit, conservation ratio, independent."""
        rows = [f"{'rank':>4}  {'ratio':>9}  {'indep':>5}  law [unit]"]
        for law in self.laws_:
            rows.append(f"{law.candidate['rank']:>4}  {law.ratio:>9.2e}  "
                        f"{'yes' if law.independent else 'no':>5}  {law.expression} [{law.unit}]")
        return "\n".join(rows)
