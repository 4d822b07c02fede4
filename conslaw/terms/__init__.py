"""Multi-term laws: conserved quantities as sparse linear combinations of DSL terms."""
from conslaw.terms.check import LawCheck, check_law
from conslaw.terms.search import search_terms
from conslaw.terms.term_config import TermsConfig

__all__ = ["LawCheck", "TermsConfig", "check_law", "search_terms"]
