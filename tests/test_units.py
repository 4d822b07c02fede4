"""Units: the dimension algebra, unit specs and offsets, scaled and counted units, and the unit a
law's value is reported in."""
import re
from fractions import Fraction

import numpy as np
import pytest
import sympy

from conslaw.dsl import ANGLE, DIMENSIONLESS, Dimension, format_unit, parse_unit, parse_units_spec
from conslaw.dsl.expressions import in_unit, numpy_function
from conslaw.dsl.units import latex_named_unit, latex_unit, latex_unit_text, named_unit, unit_from
from conslaw.errors import ConslawError, UsageError
from conslaw.law import StateColumns


def test_dimension_algebra_is_exact_and_keeps_angle():
    newton_metre = parse_unit("N*m").dimension
    assert newton_metre == Dimension.of(mass=1, length=2, time=-2)
    assert parse_unit("rad").dimension == ANGLE
    assert parse_unit("deg").dimension == ANGLE
    assert parse_unit("rad/s").dimension == ANGLE / Dimension.of(time=1)
    assert parse_unit("deg").to_si == pytest.approx(np.pi / 180)
    assert parse_unit("m").dimension ** Fraction(1, 2) == Dimension.of(length=Fraction(1, 2))
    assert all(isinstance(e, Fraction) for e in newton_metre.exponents)
    assert format_unit(parse_unit("kg*m**2/s").dimension ** 2) == "kg**2*m**4/s**2"
    assert (ANGLE / ANGLE).is_dimensionless and not ANGLE.is_dimensionless


def test_units_spec_errors_name_the_culprit():
    assert list(parse_units_spec("q=rad, p=kg*m**2/s")) == ["q", "p"]
    for spec, culprit in [("q=", "q="), ("q rad", "q rad"), ("q=rad,q=m", "'q'"),
                          ("q=furlongz", "furlongz"), ("", "empty")]:
        with pytest.raises(UsageError, match=culprit):
            parse_units_spec(spec)
    with pytest.raises(ConslawError, match="unknown unit"):
        parse_unit("bananas")


def test_a_unit_with_an_offset_converts_by_factor_and_offset_and_a_logarithm_is_refused():
    """25 degC is 298.15 K, not 25 * 274.15 K: an offset unit keeps its offset (SI value =
    factor x value + offset), to the last bits; a difference and a temperature rate have none."""
    for unit, factor, kelvin in (("degC", 1.0, 273.15), ("degF", 5 / 9, 255.37222222222223)):
        parsed = parse_unit(unit)
        assert parsed.dimension == Dimension.of(temperature=1)
        assert (parsed.to_si, parsed.offset) == (pytest.approx(factor, rel=1e-15), pytest.approx(kelvin, rel=1e-15))
    assert parse_units_spec("T=degC,x=m")["T"].offset == 273.15
    assert parse_unit("delta_degC").to_si == 1.0 and parse_unit("degC/s").to_si == 1.0
    assert parse_unit("delta_degC").offset == parse_unit("degC/s").offset == parse_unit("K").offset == 0.0
    assert parse_unit("delta_degF").to_si == pytest.approx(5 / 9)
    with pytest.raises(ConslawError, match=r"empty unit string \(a dimensionless column is '1'\)"):
        parse_unit(" ")
    for unit in ("dB", "Np"):
        with pytest.raises(ConslawError, match=rf"unit '{unit}' is logarithmic"):
            parse_unit(unit)


def test_a_unit_written_with_a_number_scales_it_and_stays_out_of_law_units():
    """A video's frame is ``s/30`` (or ``1/30*s``, ``33.3 ms``), its velocities ``pixel*30/s``
    (pixel per frame): the number scales the unit; it must be positive, and such a unit is not
    combined into a law's unit (pint cannot write a product of it back)."""
    assert parse_unit("s/30").to_si == parse_unit("1/30*s").to_si == pytest.approx(1 / 30, rel=1e-15)
    assert parse_unit("33.3 ms").to_si == pytest.approx(0.0333, rel=1e-15)
    per_frame = parse_unit("pixel*30/s")
    assert per_frame.to_si == 30.0 and per_frame.dimension == parse_unit("pixel/s").dimension
    for text, culprit in (("-2*s", "is -2 times a unit"), ("0*s", "is 0 times a unit"), ("2*degC", "unknown unit"),
                          ("1e400*s", "is inf times a unit; a unit's number must be finite and positive"),
                          ("s**1e400", "raises second to the power inf; a power must be finite")):
        with pytest.raises(ConslawError, match=re.escape(culprit)):
            parse_unit(text)
    assert unit_from(parse_unit("pixel**2/s**2").dimension, ("pixel", "pixel*30/s")) is None
    assert unit_from(parse_unit("pixel**2").dimension, ("pixel", "pixel*30/s")).text == "pixel**2"


def test_counts_are_dimensionless_and_a_camera_pixel_is_a_dimension_of_its_own():
    """pint counts ``count`` and ``bit`` dimensionless (an epidemic's populations); a camera's
    ``pixel`` is its own dimension, so tracked positions in pixels keep their units, while pint's
    ``px`` is the CSS pixel, a length of 1/96 inch."""
    assert parse_unit("count").dimension == DIMENSIONLESS
    assert parse_unit("count/day").dimension == Dimension.of(time=-1)
    assert parse_unit("count/day").to_si == pytest.approx(1 / 86400)
    assert parse_unit("byte").dimension == DIMENSIONLESS and parse_unit("byte").to_si == 8
    speed = parse_unit("pixel/s").dimension
    assert format_unit(speed) == "pixel/s" and not (speed / Dimension.of(time=-1)).is_dimensionless
    assert format_unit(parse_unit("pixel**2").dimension * Dimension.of(mass=1)) == "kg*pixel**2"
    assert parse_unit("px").dimension == Dimension.of(length=1)
    assert parse_unit("px").to_si == pytest.approx(0.0254 / 96)


@pytest.mark.parametrize("dimension, declared, expected", [
    ("m**2/s", ("au", "au", "au/year", "au/year"), "au**2/year"),
    ("1/m", ("au", "au/year"), "1/au"),
    ("m**2/s**2", ("cm", "cm/s"), "cm**2/s**2"),
    ("rad**2/s**2", ("deg", "deg/s"), "deg**2/s**2"),
    ("m**2", ("cm", "mm"), "cm**2"),
    ("m/s", ("km", "km/h"), "km/h"),
    ("kg*m**2/s", ("mm", "g*mm/ms"), "mm**2*g/ms"),
])
def test_a_law_unit_is_the_simplest_product_of_the_declared_units(dimension, declared, expected):
    unit = unit_from(parse_unit(dimension).dimension, declared)
    assert unit.text == expected and unit.dimension == parse_unit(dimension).dimension
    assert unit.to_si == pytest.approx(parse_unit(expected).to_si, rel=1e-12)


def test_no_law_unit_from_declared_units_that_cannot_make_it():
    assert unit_from(parse_unit("kg").dimension, ("m", "m/s")) is None
    assert unit_from(DIMENSIONLESS, ("m", "m/s")) is None
    assert unit_from(parse_unit("m**(1/2)").dimension, ("m",)) is None


def test_a_unit_text_is_typeset_as_a_dimension_is():
    assert latex_unit_text("au**2/year") == r"\mathrm{au}^{2}\,\mathrm{year}^{-1}"
    for text in ("kg**2*m**4/s**2", "m**(1/2)", "kg/(m*s**(3/2))", "1/m", "1"):
        assert latex_unit_text(text) == latex_unit(parse_unit(text).dimension)


def test_a_law_rescaled_to_another_unit_keeps_its_value_and_reads_as_written():
    """The Kepler energy in au: the number under the square root is taken out and meets the
    unit's factor, leaving 1/sqrt(x**2 + y**2) with a coefficient of exactly 1."""
    x, y, vx, vy = sympy.symbols("x y vx vy", real=True)
    au = 1.495978707e11
    law = -8.46613e-14 * (vx**2 + vy**2) + 1 / sympy.sqrt(au**2 * x**2 + au**2 * y**2)
    rescaled = in_unit(law, 1 / au)
    assert rescaled.coeff(1 / sympy.sqrt(x**2 + y**2)) == 1
    assert float(rescaled.coeff(vx**2)) == pytest.approx(-8.46613e-14 * au, rel=1e-12)
    point = {x: 0.3, y: -0.9, vx: 4.0, vy: 5.5}
    assert float(rescaled.subs(point)) == pytest.approx(float(law.subs(point)) * au, rel=1e-12)


def test_a_units_power_of_ten_meets_the_number_beside_a_sum_or_taken_out_of_its_power():
    """An LC circuit in mV and mA: ``V**2*(I**2 + 0.0488)`` in SI reads ``V**2*(I**2 + 48827)`` in
    the declared units, not ``1e6*V**2*(1e-6*I**2 + 0.0488)``; a number that makes no term of
    the sum 1 stays beside it (``3*V*(I + 0.5)``, V in mV and I in A, as it is); and
    ``(-V**2*I**2 + 4.25e-14)**2`` reads ``(0.0425 - I**2*V**2)**2``, not ``1e24*(-1e-12*I**2*V**2
    + 4.25e-14)**2``."""
    V, I = sympy.symbols("V I", real=True)
    states = np.array([[120.0, -3.5], [-4000.0, 250.0]])
    for units, text, scale, expected in [(("mV", "mA"), "V**2*(I**2 + 0.0488274)", 1e-12, V**2 * (I**2 + 48827.4)),
                                         (("mV", "A"), "3*V*(I + 0.5)", 1e-3, sympy.Float(3) * V * (I + 0.5))]:
        factors = tuple(parse_unit(unit).to_si for unit in units)
        columns = StateColumns(("V", "I"), (parse_unit("V").dimension, parse_unit("A").dimension), units, factors)
        law = columns.parse(text)
        declared = in_unit(columns.declared_form(law), scale)
        assert sympy.srepr(declared) == sympy.srepr(expected)
        np.testing.assert_allclose(numpy_function(declared, columns.names)(states),
                                   numpy_function(law, columns.names)(states * np.array(factors)) / scale,
                                   rtol=1e-12)
    # a power of a sum whose leading number is negative: the number comes out without its sign
    columns = StateColumns(("V", "I"), (parse_unit("V").dimension, parse_unit("A").dimension), ("mV", "mA"),
                           (1e-3, 1e-3))
    declared = in_unit(columns.declared_form(columns.parse("(-V**2*I**2 + 4.25e-14)**2")), 1e-24)
    assert declared.is_Pow and declared.exp == 2 and declared.base.coeff(V**2 * I**2) == -1
    assert float(declared.base.subs({V: 0, I: 0})) == pytest.approx(0.0425, rel=1e-12)


def test_two_sums_in_degrees_in_one_term_read_without_pi():
    """A spinning top in degrees: ``(3.515 - theta)*(phidot + psidot)`` in SI (rad, rad/s) reads
    ``(201.42 - theta)*(phidot + psidot)`` in deg and deg/s, not ``3282.8*(pi*phidot/180 +
    pi*psidot/180)*(3.515 - pi*theta/180)``: each sum that holds the unit's pi gives its number to
    the term's, which then meets the value's unit (deg**2/s)."""
    theta, phidot, psidot = sympy.symbols("theta phidot psidot", real=True)
    degree = np.pi / 180
    columns = StateColumns(("theta", "phidot", "psidot"), (ANGLE, ANGLE / Dimension.of(time=1),
                                                           ANGLE / Dimension.of(time=1)),
                           ("deg", "deg/s", "deg/s"), (degree, degree, degree))
    law = columns.parse("(3.51547235309453 - theta)*(phidot + psidot)")
    declared = in_unit(columns.declared_form(law), degree ** 2)
    angle_sum, rate_sum = sorted(sympy.Mul.make_args(declared), key=lambda factor: factor.has(phidot))
    assert declared.is_Mul and len(declared.args) == 2 and rate_sum == phidot + psidot
    assert angle_sum.coeff(theta) == -1 and float(angle_sum.subs(theta, 0)) == pytest.approx(3.51547235309453 / degree,
                                                                                             rel=1e-12)
    states = np.array([[30.0, -200.0, 500.0], [-120.0, 15.0, 40.0]])
    np.testing.assert_allclose(numpy_function(declared, columns.names)(states),
                               numpy_function(law, columns.names)(states * degree) / degree ** 2, rtol=1e-12)


def test_a_parameter_unit_of_several_base_units_reads_as_the_derived_unit_that_names_it():
    """An LC circuit's L/C is ``ohm**2``, not kg**2*m**4/(s**6*A**4); a unit that no single
    derived unit names, or one base unit, stays as it is; pint reads every form back."""
    cases = {"kg**2*m**4/(s**6*A**4)": "ohm**2", "A**2*s**4/(kg*m**2)": "F", "s**3*A**2/(kg*m**2)": "S",
             "kg*m**2/s**2": "J", "kg*m/s**2": "N", "kg*m**2/(s**2*A**2)": "H", "kg/(s**2*A)": "T",
             "(s**4*A**2/(kg*m**2))**-1": "1/F",
             "kg*m/s": "kg*m/s", "kg**2*m**4/s**2": "kg**2*m**4/s**2", "s**2": "s**2", "rad/s": "rad/s"}
    for text, named in cases.items():
        dimension = parse_unit(text).dimension
        assert named_unit(dimension) == named and parse_unit(named).dimension == dimension
    assert latex_named_unit(parse_unit("ohm**2").dimension) == r"\Omega^{2}"
    assert latex_named_unit(parse_unit("kg*m/s").dimension) == r"\mathrm{kg}\,\mathrm{m}\,\mathrm{s}^{-1}"


def test_a_revolution_reads_as_rev_as_encoders_log_it():
    """``rev`` (``unit_names.txt``) is a full turn, as pint's turn, revolution and rpm are; a name
    neither pint nor conslaw knows is still a one-line error naming it."""
    for text, to_si in [("rev", 2 * np.pi), ("rev/s", 2 * np.pi), ("rev/min", 2 * np.pi / 60)]:
        unit = parse_unit(text)
        assert unit.to_si == pytest.approx(to_si, rel=1e-15) and unit.text == text
    assert parse_unit("rev/min").dimension == parse_unit("rpm").dimension == ANGLE / Dimension.of(time=1)
    assert parse_unit("revs").to_si == pytest.approx(2 * np.pi)  # pint's plurals too
    with pytest.raises(ConslawError, match="unknown unit 'rotation'"):
        parse_unit("rotation")
