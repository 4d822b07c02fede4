"""Symmetry generators, Poisson brackets and functional independence on the 2D oscillators."""
import math

import numpy as np
import pytest
import sympy as sp

from conslaw.discovery.independence import functionally_dependent
from conslaw.discovery.symmetry import (
    bracket_table,
    describe_symmetry,
    flow_on_plane,
    parse_canonical_pairs,
    poisson_bracket,
    symmetry_generator,
)
from conslaw.discovery.symbolic_rank import MAX_MINOR_WORK, _confirm_minors_vanish, symbolic_independence
from conslaw.dsl.expressions import parse_expression
from conslaw.errors import ConslawError

COLUMNS = ["x", "y", "px", "py"]
PAIRS = [("x", "px"), ("y", "py")]
H_ISO = "(px**2 + py**2)/2 + (x**2 + y**2)/2"
H_ANISO = "(px**2 + py**2)/2 + (x**2 + 4*y**2)/2"
L = "x*py - y*px"
EX = "(px**2 + x**2)/2"
EY_ISO = "(py**2 + y**2)/2"
EY_ANISO = "(py**2 + 4*y**2)/2"
FRADKIN_XY = "px*py + x*y"


def symbols():
    return {name: sp.Symbol(name, real=True) for name in COLUMNS}


def oscillator_states(omega_y: float, n_points: int = 300, seed: int = 0) -> np.ndarray:
    """Exact states along random 2D oscillator trajectories (omega_x = 1)."""
    rng = np.random.default_rng(seed)
    amplitude = rng.uniform(0.5, 1.5, size=(n_points, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(n_points, 2))
    t = rng.uniform(0, 10, size=n_points)
    omega = np.array([1.0, omega_y])
    angle = omega * t[:, None] + phase
    position = amplitude * np.cos(angle)
    momentum = -amplitude * omega * np.sin(angle)
    return np.column_stack([position, momentum])


def test_parse_canonical_pairs_accepts_spaces_and_checks_columns():
    assert parse_canonical_pairs(" x:px , y : py", COLUMNS) == PAIRS
    assert parse_canonical_pairs("q:p") == [("q", "p")]


@pytest.mark.parametrize(
    "text, culprit",
    [("x-px", "x-px"), ("x:px,", "''"), ("", "empty"), ("x:pz", "pz"), ("x:px,x:py", "'x'"), ("x:x", "'x'")],
)
def test_parse_canonical_pairs_rejects_bad_text(text, culprit):
    with pytest.raises(ConslawError, match=culprit):
        parse_canonical_pairs(text, COLUMNS)


def test_time_dependent_law_is_rejected_by_name():
    with pytest.raises(ConslawError, match="t, which is not a state column"):
        parse_expression("x*t + px", COLUMNS)


def test_column_names_that_are_sympy_constants_stay_symbols():
    expression = parse_expression("E**2 + I", ["E", "I"])
    assert {s.name for s in expression.free_symbols} == {"E", "I"}


def test_angular_momentum_generates_rotation():
    s = symbols()
    generator = symmetry_generator(L, PAIRS)
    assert generator == {"x": -s["y"], "y": s["x"], "px": -s["py"], "py": s["px"]}
    description = describe_symmetry(L, PAIRS, energy=H_ISO)
    assert description.startswith("rotation in the (x, y) plane at rate 1")


def test_energy_generates_time_translation_also_scaled_or_as_a_function():
    assert describe_symmetry(H_ISO, PAIRS, energy=H_ISO).startswith("time translation")
    scaled = describe_symmetry(f"3*({H_ISO}) + 7", PAIRS, energy=H_ISO)
    assert scaled.startswith("time translation") and "rate 3" in scaled
    assert describe_symmetry(f"({H_ISO})**2", PAIRS, energy=H_ISO).startswith("time translation")
    # Without the energy the same flow is not recognised as a time translation.
    assert describe_symmetry(H_ISO, PAIRS).startswith("unrecognised")


def test_translation_scaling_and_unrecognised():
    assert describe_symmetry("px + 2*py", PAIRS).startswith("translation of the coordinates: δx = 1, δy = 2")
    assert describe_symmetry("x", PAIRS).startswith("momentum translation")
    assert describe_symmetry("x*px + y*py", PAIRS).startswith("scaling")
    assert describe_symmetry(FRADKIN_XY, PAIRS, energy=H_ISO).startswith("unrecognised")


def test_a_flow_that_is_not_polynomial_is_described_not_raised():
    """Pairs given the other way round (``--canonical omega:theta``) make the pendulum energy's
    flow ``δomega = 8*sin(theta)``: not linear, so unrecognised; it raised SymPy's
    PolynomialError, which ended the run."""
    description = describe_symmetry("omega**2 - 8*cos(theta)", [("omega", "theta")])
    assert description == "unrecognised: δomega = 8*sin(theta), δtheta = -2*omega"


def test_brackets_isotropic_oscillator():
    assert poisson_bracket(H_ISO, L, PAIRS) == 0
    assert poisson_bracket(EX, EY_ISO, PAIRS) == 0
    assert poisson_bracket(FRADKIN_XY, H_ISO, PAIRS) == 0
    s = symbols()
    assert sp.simplify(poisson_bracket(L, EX, PAIRS) - (s["x"] * s["y"] + s["px"] * s["py"])) == 0
    table = {(e.left, e.right): e for e in bracket_table({"L": L, "Ex": EX, "Ey": EY_ISO}, PAIRS, energy=H_ISO)}
    assert set(table) == {("L", "Ex"), ("L", "Ey"), ("Ex", "Ey"), ("L", "H"), ("Ex", "H"), ("Ey", "H")}
    assert all(table[key].zero for key in [("Ex", "Ey"), ("L", "H"), ("Ex", "H"), ("Ey", "H")])
    assert not table[("L", "Ex")].zero


def test_brackets_anisotropic_oscillator():
    assert poisson_bracket(EX, EY_ANISO, PAIRS) == 0
    assert poisson_bracket(EX, H_ANISO, PAIRS) == 0
    s = symbols()
    # dL/dt = x*dpy/dt - y*dpx/dt = -4xy + xy
    assert sp.simplify(poisson_bracket(L, H_ANISO, PAIRS) + 3 * s["x"] * s["y"]) == 0


def test_bracket_zero_decided_numerically_when_simplify_fails():
    # sqrt(x**2 + 2x + 1) - |x + 1| is identically zero, but sympy.simplify does not see it.
    hidden_zero = "sqrt(x**2 + 2*x + 1) - Abs(x + 1)"
    (entry,) = bracket_table({"A": hidden_zero}, PAIRS, energy=H_ISO)
    assert entry.zero and entry.decided_by == "numeric"
    (entry,) = bracket_table({"A": hidden_zero.replace("Abs", "1.001*Abs")}, PAIRS, energy=H_ISO)
    assert not entry.zero


def test_symbolic_independence_isotropic():
    assert symbolic_independence([H_ISO, L, EX], COLUMNS) == (3, [0, 1, 2])
    # H = Ex + Ey, so the fourth law adds nothing.
    assert symbolic_independence([H_ISO, L, EX, EY_ISO], COLUMNS) == (3, [0, 1, 2])
    assert symbolic_independence([EX, EY_ISO, H_ISO, L], COLUMNS) == (3, [0, 1, 3])


def test_symbolic_independence_dependent_and_transcendental():
    energy = "p**2 - 3*cos(q)"
    assert symbolic_independence([energy, f"({energy})**2"], ["q", "p"]) == (1, [0])
    assert symbolic_independence([energy, f"exp({energy})", "p*sin(q)"], ["q", "p"]) == (2, [0, 2])


def test_the_minors_check_catches_a_rank_missed_and_skips_minors_too_large_to_expand():
    """A rank below the generic one leaves a nonzero minor, which is refused; a true rank is
    confirmed; seven 6x6 minors (count times 6! over ``MAX_MINOR_WORK``) are not expanded."""
    names = ["q", "p"]
    variables = [sp.Symbol(name, real=True) for name in names]

    def jacobian(laws, symbols=variables):
        return sp.Matrix([[sp.diff(parse_expression(law, [s.name for s in symbols]), s) for s in symbols]
                          for law in laws])

    with pytest.raises(ConslawError, match="minor"):
        _confirm_minors_vanish(jacobian(["p**2 - 3*cos(q)", "p*sin(q)"]), 1, variables, 0)
    _confirm_minors_vanish(jacobian(["p**2 - 3*cos(q)", "(p**2 - 3*cos(q))**3"]), 1, variables, 0)
    wide = [sp.Symbol(name, real=True) for name in "abcdef"]
    seven = jacobian(["a", "b", "c", "d", "e", "f", "a*b"], wide)
    assert 7 * math.factorial(6) > MAX_MINOR_WORK >= 10 * math.factorial(5)
    _confirm_minors_vanish(seven, 5, wide, 0)  # a wrong rank, but unchecked: too large


def test_anisotropic_separate_energies_independent_and_angular_momentum_not_conserved():
    assert symbolic_independence([EX, EY_ANISO], COLUMNS) == (2, [0, 1])
    X = oscillator_states(omega_y=2.0)
    assert numerical_rank([EX, EY_ANISO], X) == 2
    assert poisson_bracket(L, H_ANISO, PAIRS) != 0
    values = sp.lambdify([sp.Symbol(c, real=True) for c in COLUMNS], parse_expression(L, COLUMNS))(*X.T)
    assert np.std(values) > 0.1  # L changes along anisotropic trajectories


def numerical_rank(laws, states):
    """Greedy independent subset by the discovery ranker's gradient-rank test."""
    chosen = []
    for law in laws:
        expression = parse_expression(law, COLUMNS)
        if not chosen or not functionally_dependent(expression, chosen, COLUMNS, states):
            chosen.append(expression)
    return len(chosen)


def test_numerical_independence_agrees_with_symbolic():
    X = oscillator_states(omega_y=1.0)
    for laws in ([H_ISO, L, EX], [H_ISO, L, EX, EY_ISO], [H_ISO, f"({H_ISO})**2"], [H_ISO, L, FRADKIN_XY, EX]):
        assert numerical_rank(laws, X) == symbolic_independence(laws, COLUMNS)[0]


def test_flow_on_plane():
    U, V, dU, dV = flow_on_plane(L, PAIRS, ("x", "y"), {"px": 0.3, "py": -0.2}, n_grid=5)
    np.testing.assert_allclose(dU, -V)
    np.testing.assert_allclose(dV, U)
    U, V, dU, dV = flow_on_plane(H_ISO, PAIRS, ("x", "px"), {"y": 1.0, "py": 0.5}, n_grid=5)
    np.testing.assert_allclose(dU, V)  # δx = px
    np.testing.assert_allclose(dV, -U)  # δpx = -x
    with pytest.raises(ConslawError, match="'z'"):
        flow_on_plane(L, PAIRS, ("x", "z"), {})


def test_partial_energy_generates_time_translation_of_its_degree_of_freedom():
    pairs = parse_canonical_pairs("x:px,y:py")
    energy = "(px**2 + py**2)/2 + (x**2 + y**2)/2"
    text = describe_symmetry("px**2 + x**2", pairs, energy)
    assert text.startswith("time translation of the (x, px) degree(s) of freedom alone")
    assert "rate 2" in text
    assert describe_symmetry("px*py + x*y", pairs, energy).startswith("unrecognised")


def test_symbolic_independence_of_laws_that_leave_the_reals_at_the_random_points():
    """``log(cos(q))`` and ``sqrt(q)`` are complex at some random points: the rank is then taken
    over the complex numbers (it once raised a TypeError and stopped a whole discovery)."""
    energy = "p**2 - 3*cos(q)"
    assert symbolic_independence([energy, "p**2*log(cos(q)) + sqrt(q)"], ["q", "p"]) == (2, [0, 1])
    assert symbolic_independence([f"log(cos(q)) + {energy}", f"2*log(cos(q)) + 2*({energy})"], ["q", "p"]) == (1, [0])
