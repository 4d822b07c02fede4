"""The multi-term search's options (each default written once)."""
from __future__ import annotations

from dataclasses import dataclass

from conslaw.options import option, require

VOCABULARIES = ("default", "auto")


@dataclass(frozen=True)
class TermsConfig:
    """Which term library the multi-term search builds, and how large it may grow."""

    term_depth: int = option(3, "Largest factor of a library term, in DSL nodes.")
    max_factors: int = option(2, "Factors per library term (a product of short formulas).")
    max_terms: int = option(600, "Largest term library: a larger one is shrunk (simplest terms "
                            "first) to fit this and the constraints the data give.")
    vocabulary: str = option("auto", "Term vocabulary: the chosen --operators only (default), or "
                             "widened step by step (log, exp, inverse powers, square roots of "
                             "unit-valid sums) within the search's time budget while the "
                             "default finds fewer laws than it could (auto).", choices=VOCABULARIES)

    def __post_init__(self) -> None:
        require(self.term_depth >= 1, self, "term_depth", "must be at least 1")
        require(self.max_factors >= 1, self, "max_factors", "must be at least 1")
        require(self.max_terms >= 2, self, "max_terms", "must be at least 2")
        require(self.vocabulary in VOCABULARIES, self, "vocabulary",
                f"must be one of {', '.join(VOCABULARIES)}")
