"""Which of a data set's known laws discovery reached.

A built-in system (or a variant of one) knows its true conserved quantities. After a search,
each of them is *found* when it is a function of the accepted laws at the data (its gradient
adds nothing to the rank of theirs: ``ranking.functionally_dependent``), so that a run says
plainly which laws it did not reach, for instance within a ``--max-seconds`` budget. User data
carry no known laws, and this report is then empty.
"""
from __future__ import annotations

from typing import Sequence

from conslaw.datasets.types import TrajectoryDataset
from conslaw.discovery.ranking import functionally_dependent
from conslaw.law import Law, StateColumns

CHECK_STATES = 300
"""States (evenly spaced through the training data) at which the gradients are compared."""


def known_laws(dataset: TrajectoryDataset, laws: Sequence[Law]) -> list[dict]:
    """One entry per known law of ``dataset``: its name, its SI expression and whether the
    accepted ``laws`` reach it."""
    if not dataset.true_laws:
        return []
    names = dataset.metadata.get("true_law_names") or [f"law {k + 1}" for k in range(len(dataset.true_laws))]
    columns = StateColumns.from_dataset(dataset)
    accepted = [law.expression for law in laws if law.accepted]
    states = dataset.stacked("train")
    states = states[:: max(1, len(states) // CHECK_STATES)]
    entries = []
    for name, text in zip(names, dataset.true_laws):
        found = bool(accepted) and functionally_dependent(columns.parse(text), accepted, dataset.columns, states)
        entries.append({"name": str(name), "law": text, "found": bool(found)})
    return entries

