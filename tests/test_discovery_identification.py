"""Exact laws whose coefficients the data do not fix (``conslaw.terms.check.unseen_mixture``,
``conslaw.discovery.demotions.unidentified``)."""
import pytest
import sympy

from conslaw.datasets import make_variant
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.demotions import IDENTIFIED_SHARE, outdone
from conslaw.dsl.units import DIMENSIONLESS
from conslaw.law import Evidence, Law, StateColumns
from conslaw.terms.check import unseen_mixture
from discovery_cases import assert_no_false_law, coefficient, run

WEAK = {"lam": 0.05}
"""Hénon-Heiles with a twentieth of its default coupling: nearly two uncoupled oscillators,
whose own energies ``E_x = (vx**2 + x**2)/2`` and ``E_y`` are nearly conserved."""
ENERGY_X = "(vx**2 + x**2)/2"


def mixture(variant, law):
    """``unseen_mixture`` of ``law`` (text or SymPy, SI) on the variant's judging data."""
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    columns = StateColumns.from_dataset(variant.dataset)
    return unseen_mixture(columns.parse(law), columns, data, IDENTIFIED_SHARE)


def coefficients_open(variant, law) -> bool:
    """Whether the data leave ``law``'s coefficients open: a quantity mixes into it unseen."""
    return mixture(variant, law) is not None


@pytest.mark.parametrize("system, options, noise", [
    ("pendulum", {}, 0.05), ("duffing", {}, 0.05), ("coupled-springs", {}, 0.05),
    ("henon-heiles", {}, 0.01), ("henon-heiles", WEAK, 0.0), ("pendulum", {"rate": 10.0}, 0.02)])
def test_a_true_law_with_nothing_nearly_conserved_among_its_terms_is_identified(system, options, noise):
    """The energy of systems whose other combinations of the energy's terms vary (at up to 5 %
    noise, and at 10 Hz), and of weakly coupled oscillators without noise, where nothing hides
    the variation of their own energies."""
    variant = make_variant(system, noise=noise, **options)
    assert not coefficients_open(variant, variant.laws["energy"])


@pytest.mark.parametrize("coupling, noise", [(0.02, 0.005), (0.05, 0.01), (0.1, 0.02)])
def test_under_noise_a_nearly_conserved_quantity_mixes_into_a_law_unseen(coupling, noise):
    """Weakly coupled oscillators, the weaker the coupling the less noise it takes: one
    oscillator's own energy varies beyond the noise, but mixed into the energy at 0.4 of its
    variation it leaves the energy as steady within the noise, so the data do not fix the
    energy's coefficients. The quantity is ``E_x`` less 0.83 ``E_y`` (uncorrelated with the
    energy on the null; both nearly conserved); the energy less a tenth of ``E_x`` is as open (hand-written weakly
    coupled oscillators had such a mixture accepted, 11 % off). With more noise still, ``E_x``
    is as steady as a law (docs/discovery.md, Known limits); with less, the energy is
    identified."""
    variant = make_variant("henon-heiles", noise=noise, lam=coupling)
    energy = variant.laws["energy"]
    quantity = sympy.expand(mixture(variant, energy))
    terms = quantity.as_coefficients_dict()
    coefficient = {name: float(terms[sympy.Symbol(name, real=True) ** 2]) for name in ("x", "vx", "y", "vy")}
    assert coefficient["vx"] == pytest.approx(coefficient["x"], rel=0.02)  # E_x ...
    assert coefficient["vy"] == pytest.approx(coefficient["y"], rel=0.02)  # ... less a multiple of E_y
    assert coefficient["y"] / coefficient["x"] == pytest.approx(-0.83, abs=0.05)
    assert coefficients_open(variant, energy - 0.1 * StateColumns.from_dataset(variant.dataset).parse(ENERGY_X))


def test_a_law_whose_terms_hold_a_second_law_is_not_called_open():
    """An isotropic oscillator's energy ``E_x + E_y``: its terms also hold ``E_x - E_y``, a law
    too, and every mixture of the two is conserved; nothing is left open that is not a law."""
    variant = make_variant("oscillator2d", noise=0.01)
    assert not coefficients_open(variant, variant.laws["energy"])


def test_a_law_whose_terms_coincide_on_the_data_has_nothing_to_mix_in():
    """On temperatures above zero ``T1`` and ``Abs(T1)`` are one term: the heat content written
    ``0.2*T1 + 0.2*Abs(T1) + T2`` is identified, and ``T1 + 2*Abs(T1)`` leaves no quantity to mix
    in (nothing to judge, and no error)."""
    variant = make_variant("heat-exchange")
    assert not coefficients_open(variant, "0.2*T1 + 0.2*Abs(T1) + T2")
    assert not coefficients_open(variant, "T1 + 2*Abs(T1)")


def test_a_dependent_law_is_not_judged_open_on_its_own():
    """The heat exchange at 1 % noise: beside the accepted ``0.4*T1 + T2`` the formula search
    finds ``T2 - 2.29e7/(T1*T2)``, a near copy of it that the ranking merges into it; judged on
    its own it was named in a warning as a law the data leave open."""
    variant = make_variant("heat-exchange", rate=200.0, noise=0.01)
    discovery = run(variant.dataset, unit_check=False)
    assert [law.rank for law in discovery.laws if law.rejection == "unidentified"] == []
    assert not any("do not fix their coefficients" in warning for warning in discovery.warnings)
    assert len(discovery.accepted) == 1
    assert coefficient(discovery.accepted[0], "T1", "T2") == pytest.approx(0.4, rel=0.01)


def test_the_search_rejects_the_laws_the_data_leave_open_and_says_why():
    """Weakly coupled oscillators at 1 % noise: the multi-term search's three laws, exact and
    independent, were mixtures of the nearly conserved ``E_x``, ``E_y`` and ``vx*vy + x*y`` with
    the energy's terms, and false; now each is rejected as ``unidentified``, with one warning."""
    variant = make_variant("henon-heiles", noise=0.01, **WEAK)
    discovery = run(variant.dataset, mode="terms", unit_check=False)
    assert_no_false_law(discovery, variant)
    open_laws = [law for law in discovery.laws if law.rejection == "unidentified"]
    assert open_laws and not any(law.accepted for law in open_laws)
    warnings = [warning for warning in discovery.warnings if "do not fix their coefficients" in warning]
    assert len(warnings) == 1 and "not conserved, mixed in at 40% of their variation" in warnings[0]


def test_an_exact_law_that_a_steadier_approximate_one_outdoes_is_not_exact():
    """The heat exchange at 10 Hz with 2 % noise (random trust seed 57): over the temperatures'
    narrow range ``T2*(T1**2 + 388729)`` imitates the heat content. Its ratios, 1.4e-3 ± 7.7e-4
    and held out 2.1e-3 ± 1.0e-3, passed as exact where the heat content's, 0 ± 7e-4 and held out
    6.8e-4 ± 2.8e-4, did not; it was marked independent and the heat content demoted as its
    approximation. An exact law that a steadier approximate one outdoes is approximate now
    (``demotions.outdone``): the heat content is the law, and nothing false is accepted."""
    variant = make_variant("heat-exchange", rate=10.0, noise=0.02, derivatives="finite-difference", seed=36)
    discovery = run(variant.dataset, unit_check=False)
    assert_no_false_law(discovery, variant)
    assert [law.independent for law in discovery.accepted] == [True]
    assert coefficient(discovery.accepted[0], "T1", "T2") == pytest.approx(0.4, rel=0.01)


def _judged(text, columns, quality, ratio, ratio_test):
    return Law(expression=columns.parse(text), columns=columns, unit=DIMENSIONLESS, size=5, origin="formula",
               template=text, parameters=(), evidence=Evidence(ratio, ratio_test, 1.0, 1e-3, error_test=1e-3),
               accepted=True, quality=quality)


@pytest.mark.parametrize("other, ratios, noisy_only, outdone_laws", [
    ("2*(0.4*T1 + T2) + 1", (0.0, 5e-4), True, {0}),       # steadier on both parts: one law
    ("2*(0.4*T1 + T2) + 1", (1e-3, 5e-4), True, {0}),      # as steady on one, steadier on the other
    ("2*(0.4*T1 + T2) + 1", (1e-3, 2e-3), True, set()),    # as steady on both: a tie outdoes nothing
    ("2*(0.4*T1 + T2) + 1", (0.0, 3e-3), True, set()),     # steadier on the training data only
    ("2*(0.4*T1 + T2) + 1", (0.0, 5e-4), False, set()),    # approximate for a drift or the noise's bias
    ("T1", (0.0, 5e-4), True, set()),                       # not one law with it on the data
])
def test_an_approximate_law_outdoes_an_exact_one_only_where_the_data_say_it_is_steadier(
        other, ratios, noisy_only, outdone_laws):
    variant = make_variant("heat-exchange", n_trajectories=12)
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    columns = StateColumns.from_dataset(variant.dataset)
    laws = [_judged("0.4*T1 + T2", columns, "exact", 1e-3, 2e-3), _judged(other, columns, "approximate", *ratios)]
    assert outdone(laws, data, [False, noisy_only]) == outdone_laws
