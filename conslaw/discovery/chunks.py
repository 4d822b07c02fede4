"""The unit of parallel work of the whole-formula search: a chunk of formulas fitted on the
training data, scored on the held-out data and refitted on the control.

This module and what it imports are all a worker loads for it (no data sets, laws or
enumeration), and a worker keeps its fitters from one chunk to the next.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from conslaw.discovery.fit import FitData, FormulaFitter
from conslaw.dsl.grammar import NodeTable
from conslaw.threads import single_threaded_blas


@dataclass(frozen=True)
class FittingJob:
    """What every chunk of the search needs, sent to each worker once."""

    table: NodeTable
    train: FitData
    test: Optional[FitData]
    control: FitData
    threshold: float
    grid_states: int
    seed: int


_FITTERS: dict = {}
"""The fitters of the last job this process worked on (``_fitters``)."""


def _fitters(job: FittingJob) -> tuple:
    """The training, held-out and control fitters of ``job``, made once per process: they keep
    what they remember (``GridEvaluator``) from one chunk to the next."""
    if _FITTERS.get("job") is not job:
        def make(data: Optional[FitData]) -> Optional[FormulaFitter]:
            return FormulaFitter(job.table, data, grid_states=job.grid_states, seed=job.seed) \
                if data is not None else None

        _FITTERS.clear()
        _FITTERS.update(job=job, fitters=(make(job.train), make(job.test), make(job.control)))
    return _FITTERS["fitters"]


def release() -> None:
    """Drop the fitters this process kept (a search in the calling process ends)."""
    _FITTERS.clear()


def fit_chunk(job: FittingJob, nodes: Sequence[int]) -> list[dict]:
    """Fit and judge a chunk of formulas; one record each (the unit of parallel work and of
    checkpointing). A formula whose training ratio is at most ``1 / threshold`` is scored on the
    held-out data with its training fit, and one that passes there too is refitted on the
    control. BLAS runs single-threaded: the matrices are tiny."""
    with single_threaded_blas():
        train, test, control = _fitters(job)
        records = [{"node": f.node, "status": f.status, "ratio": f.ratio, "error": f.error,
                    "parameters": f.parameters.tolist(), "ratio_test": None, "error_test": None,
                    "ratio_control": None}
                   for f in train.fit([int(node) for node in nodes])]
        passed = [r for r in records if r["status"] == "ok" and r["ratio"] * job.threshold <= 1]
        if test is not None and passed:
            judged = test.ratios([r["node"] for r in passed], [r["parameters"] for r in passed])
            for record, (ratio, error) in zip(passed, judged):
                record["ratio_test"], record["error_test"] = ratio, error
            passed = [r for r in passed if r["ratio_test"] * job.threshold <= 1]
        for record, fitted in zip(passed, control.fit([r["node"] for r in passed])):
            record["ratio_control"] = fitted.ratio
        return records
