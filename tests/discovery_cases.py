"""Discovery as the engine runs it, and helpers to read and check its laws (for test_discovery.py
and test_discovery_merging.py)."""
import sympy

from conslaw.discovery.discover import discover
from conslaw.discovery.conservation import DiscoveryConfig
from conslaw.discovery.independence import functionally_dependent
from conslaw.dsl.budget import EnumerationConfig
from conslaw.parallel import WorkerPool
from conslaw.terms import TermsConfig


def run(dataset, depth=7, mode="formulas", terms=TermsConfig(), keep=20, **options):
    """Discovery as the engine runs it, keeping 20 rejected candidates rather than 200: no test
    of discovery reads the others, and ranking them took a fifth of those tests' time. The accepted laws
    do not depend on it: the whole-formula search accepts only what it refitted on the control,
    whatever ``keep``, and what is kept is the best by ratio (the same accepted laws, qualities,
    marks and ratios with 200 and 20 on six noisy systems in both modes, 2026-12-05). Tests that
    read nothing of the unit check (its warnings; it never changes a law) pass
    ``unit_check=False``: its trial searches were up to two thirds of such a test's time."""
    with WorkerPool(jobs=1) as pool:
        return discover(dataset, DiscoveryConfig(mode=mode, keep=keep, **options), EnumerationConfig(depth=depth),
                        terms, seed=0, pool=pool)


def coefficient(law, term, reference):
    """The coefficient of ``term`` relative to that of ``reference`` in an expanded law."""
    expanded = sympy.expand(law.expression)
    symbols = {s.name: s for s in expanded.free_symbols}
    term, reference = (sympy.sympify(x, locals=symbols) for x in (term, reference))
    return float(expanded.coeff(term) / expanded.coeff(reference))


def assert_no_false_law(discovery, variant):
    """Every accepted law is a function of the variant's true laws (gradient rank at the data)."""
    dataset = variant.dataset
    states = dataset.stacked("train")[:: max(1, len(dataset.stacked("train")) // 300)]
    for law in discovery.accepted:
        assert functionally_dependent(law.expression, list(variant.laws.values()), dataset.columns, states), \
            f"false law accepted on {variant.label}: {law.expression}"
