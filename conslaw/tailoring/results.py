"""The stage's input and output records: candidate laws in, ``TailoringResults`` out.

``TailoringResults.to_dict()`` is result.json's ``tailoring`` section (JSON only); the test
rollouts, arrays, are kept apart in ``rollouts`` (rollouts.npz). Table 1 is formatted by
``conslaw.report.table1`` from that dict, never here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import sympy


@dataclass(frozen=True)
class TailoringCandidate:
    """A candidate law: its id, SymPy expression over the SI columns, and discovery's verdicts."""

    id: str
    expression: Any  # sympy.Expr, or a string in the column names
    accepted: bool = True
    rank: int = 0
    independent: bool = False

    @property
    def text(self) -> str:
        return self.expression if isinstance(self.expression, str) else sympy.sstr(self.expression)


@dataclass
class TailoringResults:
    """Every candidate's stage figures, the selection, the evaluation over seeds and the settings."""

    candidates: list[dict]
    selected: Optional[dict]
    evaluation: dict
    protocol: dict
    combined: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    rollouts: Optional[dict] = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """result.json's tailoring section (JSON-serialisable; the rollouts are not in it)."""
        return {"candidates": self.candidates, "selected": self.selected, "combined": self.combined,
                "evaluation": self.evaluation, "protocol": self.protocol, "timings": self.timings,
                "warnings": self.warnings}


def candidate_record(candidate: TailoringCandidate, stage1: dict, stage2: Optional[dict]) -> dict:
    """One entry of ``candidates``."""
    return {"id": candidate.id, "rank": candidate.rank, "expression": candidate.text,
            "accepted": bool(candidate.accepted), "stage1": stage1, "stage2": stage2}
