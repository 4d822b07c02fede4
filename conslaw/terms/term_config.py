"""The multi-term search's options (each default written once)."""
from __future__ import annotations

from dataclasses import dataclass

from conslaw.options import check_types, option, require

VOCABULARIES = ("default", "auto")


@dataclass(frozen=True)
class TermsConfig:
    """Which term library the multi-term search builds, and how large it may grow."""

    term_depth: int = option(3, "Largest factor of a library term, in DSL nodes (sin/cos of an "
                             "angle combination and square roots of x**2 + y**2 (+ z**2) for two "
                             "or three columns of one unit are lifted beyond it).")
    max_factors: int = option(2, "Factors per library term (a product of short formulas).")
    max_terms: int = option(600, "Largest term library: a larger one, or one with fewer than 2 "
                            "within-segment constraints per term, is shrunk to its simplest terms.")
    vocabulary: str = option("auto", "Term vocabulary: 'default', the chosen --operators only; or "
                             "'auto', a lean library first (polynomials of degree 3 times at most one "
                             "norm), then the configured one, each widened step by step (log and "
                             "exp, inverse powers, square roots of unit-valid sums) within the "
                             "search's time budget while fewer independent exact laws are found "
                             "than the data could hold, one less than the number of columns.",
                             choices=VOCABULARIES)

    def __post_init__(self) -> None:
        check_types(self)
        require(self.term_depth >= 1, self, "term_depth",
                "must be an integer >= 1")
        require(self.max_factors >= 1, self, "max_factors",
                "must be an integer >= 1")
        require(self.max_terms >= 2, self, "max_terms",
                "must be an integer >= 2")
        require(self.vocabulary in VOCABULARIES, self, "vocabulary",
                f"must be one of {', '.join(VOCABULARIES)}")
