"""Multi-term laws: conserved quantities as sparse linear combinations of DSL terms."""
from conslaw.terms.library import TERM_OPERATORS, TermLibrary, build_library, prune_library
from conslaw.terms.search import TermSearchResult, check_law, find_multiterm_laws

__all__ = [
    "TERM_OPERATORS", "TermLibrary", "TermSearchResult", "build_library", "check_law",
    "find_multiterm_laws", "prune_library",
]
