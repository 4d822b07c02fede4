"""Multi-term laws: conserved quantities as sparse linear combinations of DSL terms."""
from conslaw.terms.term_config import TermsConfig

__all__ = ["TermsConfig"]
