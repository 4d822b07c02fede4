"""What a dependent law is a function of (``conslaw.discovery.independence.function_of``)."""

from conslaw.datasets import make_variant
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.independence import function_of
from conslaw.law import StateColumns
from report_cases import make_law

SPRINGS_LAWS = (  # what the search accepts on coupled springs at 10 Hz with 5 % noise (data seed 1)
    ("p1*p2 + 0.1235*p2**2 - 0.5135*x1**2 + 4.038*x1*x2", "kg**2*m**2/s**2", True),
    ("1.372*p1**2 + 0.6733*p1*p2 + p2**2 + 3.708*x1**2 + 5.516*x2**2", "kg**2*m**2/s**2", True),
    ("0.2579*p1**2 + 0.1661*p2**2 + 0.7596*x1**2 - 0.503*x1*x2 + x2**2", "m**2", False),
    ("-0.05858*p1**2 + 0.2231*p1*p2 - 0.2831*x1**2 + x1*x2 - 0.1672*x2**2", "m**2", False),
)


def springs_at(noise: float):
    variant = make_variant("coupled-springs", noise=noise, rate=10.0, seed=1)
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    return variant, data, StateColumns.from_dataset(variant.dataset)


def test_a_dependent_law_the_noise_tilts_off_the_laws_gradients_names_the_laws_that_predict_it():
    """Both mode energies' mixtures, fitted under 5 % noise: the fourth law's gradient leans off
    the first two's by more than the rank test's tolerance (the first law's ``p2**2`` is 25 %
    off), yet their values predict its values, which kept it out of the independent set: it is
    a function of both, not of nothing (it was listed dependent with no law named)."""
    _, data, columns = springs_at(0.05)
    laws = [make_law(text, columns, unit, rank, independent=independent)
            for rank, (text, unit, independent) in enumerate(SPRINGS_LAWS, start=1)]
    assert function_of(laws, data, seed=0) == [(), (), (0, 1), (0, 1)]


def test_a_law_beside_as_many_laws_as_the_columns_allow_is_a_function_of_all_of_them():
    """The isotropic oscillator's three independent laws of four columns fix each trajectory's
    curve: an exact law beside them is a function of them, here a stand-in the rank test cannot
    put in their span (``x``)."""
    variant = make_variant("oscillator2d", seed=1)  # unit masses and stiffnesses
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    columns = StateColumns.from_dataset(variant.dataset)
    laws = [make_law(law, columns, unit, rank) for rank, (law, unit) in enumerate(
        [("px**2 + x**2", "kg**2*m**2/s**2"), ("py**2 + y**2", "kg**2*m**2/s**2"), ("x*py - y*px", "kg*m**2/s")],
        start=1)]
    stand_in = make_law("x", columns, "m", 4, independent=False)
    assert function_of(laws + [stand_in], data, seed=0)[3] == (0, 1, 2)
