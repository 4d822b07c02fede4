"""Discovery end to end, approximations that stand in for a law outside the vocabulary: truncated
power series beyond the noise, polynomial formulas that miss a fourth power, the laws that
depend on such laws alone, a series whose level drifts, and series in an angle beside its sin
and cos."""
import dataclasses

import pytest
import sympy

from conslaw.datasets import make_variant
from conslaw.discovery.conservation import NULL_DRAWS, ConservationData, DiscoveryConfig
from conslaw.discovery.demotions import demoted, mixes_an_angle, reads_as_series
from conslaw.dsl.units import parse_unit
from conslaw.law import REJECTIONS, StateColumns
from discovery_cases import coefficient, run
from report_cases import make_law


def test_an_approximate_series_that_varies_beyond_the_noise_is_no_law():
    """A Toda bond (energy ``v**2/2 + 4*(exp(-q) + q)``) at 2 % noise: no vocabulary yields its
    energy, and the cubic ``-0.28*q**3 + q**2 + 0.23*v**2`` varies beyond the noise; it was
    accepted as approximate, and is rejected now (``demotions.series_beyond_noise``)."""
    variant = make_variant("toda-pair", noise=0.02, rate=25.0)
    discovery = run(variant.dataset, mode="both", unit_check=False)
    assert discovery.accepted == []
    series = [law for law in discovery.laws if reads_as_series(law.expression)]
    assert series and (series[0].quality, series[0].rejection) == ("rejected", "series")
    assert coefficient(series[0], "q**3", "q**2") == pytest.approx(-0.28, abs=0.02)
    warning = [text for text in discovery.warnings if "truncated power series" in text]
    assert len(warning) == 1 and f"the first law {series[0].rank} " in warning[0]


def terms_of(expression: sympy.Expr) -> set[str]:
    """The terms of an expanded expression without their coefficients, as text."""
    return {str(term.as_coeff_Mul()[1]) for term in sympy.Add.make_args(sympy.expand(expression))}


@pytest.mark.parametrize("noise, rate, seed, first_series", [
    (0.0, 50.0, 0, "-0.031*p**6 + 0.17*p**4*Abs(p) - 0.32*p**4 + p**2 + 4*x**2 - 0.0012*Abs(p)"),
    (0.01, 25.0, 1, "1.5*p**2*x**2 + p**2 + 4.2*x**4 + 4*x**2"),
])
def test_an_even_series_standing_in_for_a_square_root_is_no_law(noise, rate, seed, first_series):
    """A relativistic oscillator (energy ``sqrt(p**2 + 1) + 2*x**2``): no vocabulary writes its
    energy, and series of even powers stand in for it beyond the noise; they were accepted as
    approximate, and are rejected now, with the warning that says why."""
    variant = make_variant("relativistic-oscillator", noise=noise, rate=rate, seed=seed)
    discovery = run(variant.dataset, mode="both", unit_check=False)
    assert discovery.accepted == []
    series = [law for law in discovery.laws if law.rejection == "series"]
    assert series and reads_as_series(series[0].expression, parity=True)
    assert not reads_as_series(series[0].expression)  # only by two powers two apart
    assert all(law.rejection in REJECTIONS for law in discovery.laws if law.quality == "rejected")
    assert terms_of(series[0].expression) == terms_of(sympy.sympify(first_series))
    warning = [text for text in discovery.warnings if "truncated power series" in text]
    assert len(warning) == 1 and f"the first law {series[0].rank} " in warning[0]


def test_a_polynomial_formula_beyond_the_noise_is_judged_among_fourth_powers():
    """The relativistic oscillator at 1 % noise, 200 Hz: the whole formula ``p**2 + 5.37*x**2``, its
    energy's harmonic part, varies beyond the noise and was accepted as approximate; ``p**4``,
    which no lean library term is, makes it significantly steadier, and it is superseded."""
    variant = make_variant("relativistic-oscillator", noise=0.01, rate=200.0)
    discovery = run(variant.dataset, mode="both", unit_check=False)
    assert discovery.searches["formulas"]["counts"]["superseded"] >= 1
    assert not [law for law in discovery.laws if law.origin == "formula" and law.template == "c0*x**2 + p**2"]


def test_laws_that_depend_on_demoted_laws_alone_go_with_them():
    """A law judged a function of the independent laws goes with them when they are all
    demoted; left accepted beside no independent law, such a law became an identity (the
    relativistic oscillator noiseless at 200 Hz: ``-0.221*p**2*Abs(p) + p**2 + 3.76*x**2``
    beside its demoted series, until the multi-term search dropped it for a lacking term). Here
    a series of that oscillator, independent, and a dependent exact law that no rule demotes on
    its own."""
    variant = make_variant("relativistic-oscillator", rate=200.0)
    discovery = run(variant.dataset, mode="both", unit_check=False)
    series = next(law for law in discovery.laws if law.rejection == "series")
    independent = dataclasses.replace(series, accepted=True, quality="approximate", independent=True, rejection=None)
    dependent = dataclasses.replace(independent, quality="exact", independent=False)
    data = ConservationData.prepare(variant.dataset, DiscoveryConfig().window, NULL_DRAWS, 0)
    assert demoted([independent, dependent], data, [True, False], set()) == {0: "series", 1: "dependent"}
    # within the noise the series rule does not apply; refitted on each run apart the series is
    # far steadier (each run's orbit has its own best series), so it is no law by that rule either
    assert demoted([independent, dependent], data, [False, False], set()) == {0: "by_run", 1: "dependent"}


def test_a_series_whose_level_drifts_stays_an_approximate_law():
    """A weakly damped asymmetric Duffing oscillator: its energy ``v**2 + 2*x**2 + 2/3*x**3 +
    x**4/4`` reads as a series and varies beyond the noise, but its level drifts (friction), as
    the real pendulum's does; it stays, approximate."""
    variant = make_variant("duffing", alpha=1.0, gamma=0.01, noise=0.01, rate=50.0)
    discovery = run(variant.dataset, mode="terms", unit_check=False)
    assert [law.quality for law in discovery.accepted] == ["approximate"]
    law = discovery.accepted[0]
    assert reads_as_series(law.expression) and law.evidence.drift < 1e-10
    assert not any("truncated power series" in text for text in discovery.warnings)
    assert coefficient(law, "x**3", "v**2") == pytest.approx(2 / 3, rel=0.01)
    assert coefficient(law, "x**4", "v**2") == pytest.approx(0.25, rel=0.01)


def test_a_series_in_an_angle_does_not_stand_in_for_a_periodic_term():
    """A bead on a spinning hoop in degrees at 1 % noise, 30 Hz: its Jacobi integral
    ``omega**2/2 - 4.5*sin(theta)**2 - 19.62*cos(theta)`` needs ``sin(theta)**2``, which the lean
    libraries do not hold; their ``theta**2`` and ``theta*sin(theta)`` imitate it within the noise
    (``-0.0049*omega**2 + 0.17*theta**2 + 0.28*theta*sin(theta) + cos(theta)``), and the widening
    stopped there. Such a law mixes its angle in and out of ``sin``/``cos``, so the widening goes on,
    and the integral itself ranks first with its coefficients."""
    variant = make_variant("rotating-hoop", angle_unit="deg", rate=30.0, noise=0.01, seed=3)
    discovery = run(variant.dataset, mode="terms", unit_check=False)
    top = discovery.laws[0]
    assert top.accepted and top.quality == "exact" and not mixes_an_angle(top)
    assert coefficient(top, "sin(theta)**2", "cos(theta)") == pytest.approx(4.5 / 19.62, rel=0.01)
    assert coefficient(top, "omega**2", "cos(theta)") == pytest.approx(-0.5 / 19.62, rel=0.01)
    assert not any(mixes_an_angle(law) for law in discovery.accepted)


@pytest.mark.parametrize("text, mixes", [
    ("-0.0049*omega**2 + 0.17*theta**2 + 0.28*theta*sin(theta) + cos(theta)", True),
    ("theta**2 + cos(theta)", True),  # a pendulum on a torsion spring: a law, only widened past
    ("-0.025*omega**2 + 0.23*sin(theta)**2 + cos(theta)", False),
    ("omega*cos(theta) + omega", False),  # a rate is no angle
])
def test_an_angle_in_and_out_of_sin_and_cos_is_told(text, mixes):
    units = ("rad", "rad/s")
    columns = StateColumns(("theta", "omega"), tuple(parse_unit(unit).dimension for unit in units), units, (1.0, 1.0))
    assert mixes_an_angle(make_law(text, columns, "1", 1)) is mixes


def test_a_series_in_an_angle_beyond_the_noise_is_no_law():
    """The hoop sampled at 10 Hz with 2 % noise (each trajectory's own spread) and finite
    differences: where no stage finds the integral, ``-1.36e-5*omega**6 + omega**2 +
    6.87*theta**2 - 12.85*cos(theta)`` was accepted as approximate, a false law; it mixes its
    angle in and out of ``cos`` and varies beyond the noise, so it is rejected as a series."""
    variant = make_variant("rotating-hoop", rate=10.0, noise=0.02, derivatives="finite-difference", seed=79,
                           noise_scale="trajectory")
    discovery = run(variant.dataset, mode="terms", unit_check=False)
    assert discovery.accepted == []
    series = [law for law in discovery.laws if law.rejection == "series"]
    assert series and all(mixes_an_angle(law) for law in series)
