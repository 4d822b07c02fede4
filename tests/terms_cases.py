"""The multi-term search as discovery runs it, and helpers to read its laws (for test_terms.py,
test_terms_library.py and test_terms_noise.py)."""
import sympy

from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.ranking import rank_laws
from conslaw.dsl.operators import resolve_operators
from conslaw.law import StateColumns
from conslaw.terms import TermsConfig, search_terms

THRESHOLD = 100.0


def run(dataset, operators="default", seed=0, keep=10, max_seconds=None, **config):
    """The search as discovery runs it, and the ranked laws."""
    data = ConservationData.prepare(dataset, DiscoveryConfig().window, NULL_DRAWS, seed)
    columns = StateColumns.from_dataset(dataset)
    outcome = search_terms(dataset, data, columns, TermsConfig(**{"vocabulary": "default", **config}),
                           operators=resolve_operators(operators), threshold=THRESHOLD, keep=keep,
                           seed=seed, max_seconds=max_seconds)
    return outcome, rank_laws(outcome.candidates, data, THRESHOLD, seed)


def coefficients(law):
    """The law's coefficients by term (SymPy term -> float), normalized to the first term's."""
    expression = sympy.expand(law.sympy("si"))
    pairs = dict(reversed(term.as_coeff_Mul()) for term in sympy.Add.make_args(expression))
    return {str(term): float(value) for term, value in pairs.items()}


def accepted(laws):
    return [law for law in laws if law.accepted]
