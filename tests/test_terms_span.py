"""The multi-term search's exact span: every direction its library conserves to rounding, taken
on noiseless data when forward selection cannot reach the laws, and only then."""
import pytest

from conslaw.datasets import make_variant
from conslaw.discovery.independence import functionally_dependent
from conslaw.engine import ConservationSearch


@pytest.mark.parametrize("options", [{}, {"m2": 0.7, "k3": 1.6, "seed": 3}])
def test_noiseless_exact_span_gives_every_mode_energy_of_a_four_mass_chain(options):
    """Four masses between walls (8 columns) conserve four mode energies of 20 terms each, beyond
    forward selection's reach: the quadratic library's exact span gives all four, each exact and
    a function of the true laws (two sets of constants)."""
    variant = make_variant("four-oscillators", n_trajectories=16, **options)
    dataset = variant.dataset
    search = ConservationSearch(mode="terms", vocabulary="default", term_depth=1, max_factors=2,
                                tailor=False, jobs=1).fit(dataset)
    accepted = search.accepted_laws_
    states = dataset.stacked("train")[::10]
    truths = list(variant.laws.values())
    assert all(law.quality == "exact" for law in accepted)
    assert all(functionally_dependent(law.expression, truths, dataset.columns, states) for law in accepted)
    assert sum(law.independent for law in accepted) == 4
    assert search.discovery_.searches["terms"]["counts"]["exact_basis"] == 4


def test_exact_span_is_not_taken_beside_the_laws_found():
    """A charged particle in a magnetic field: the quadratic library's exact span has 6
    directions, its 3 laws (the guiding centre's two coordinates and the speed) and their
    products; the extraction finds the 3, and the span, which would add their products, is not
    taken."""
    variant = make_variant("cyclotron", n_trajectories=16)
    search = ConservationSearch(mode="terms", vocabulary="default", term_depth=1, max_factors=2,
                                tailor=False, jobs=1).fit(variant.dataset)
    counts = search.discovery_.searches["terms"]["counts"]
    assert counts["dense_candidates"] == 6 and counts["exact_basis"] == 0
    assert len(search.accepted_laws_) == 3 and all(law.independent for law in search.accepted_laws_)


def test_exact_span_is_not_taken_from_noisy_data():
    """With 0.5 % noise no direction is conserved to rounding: the exact span gives nothing, and
    nothing false is accepted."""
    variant = make_variant("four-oscillators", n_trajectories=16, noise=0.005)
    dataset = variant.dataset
    search = ConservationSearch(mode="terms", vocabulary="default", term_depth=1, max_factors=2,
                                tailor=False, jobs=1).fit(dataset)
    states = dataset.stacked("train")[::10]
    assert search.discovery_.searches["terms"]["counts"]["exact_basis"] == 0
    assert all(functionally_dependent(law.expression, list(variant.laws.values()), dataset.columns, states)
               for law in search.accepted_laws_)
