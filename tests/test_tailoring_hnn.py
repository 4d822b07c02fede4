"""The HNN baseline's data and pairs: the recording's split as the HNN repository makes it, and the
(q, p) pairs taken from ``--canonical`` or the columns' units."""
import numpy as np
import sympy

from conslaw.datasets import make_variant
from conslaw.datasets.types import Trajectory, TrajectoryDataset
from conslaw.dsl.units import DIMENSIONLESS, parse_unit
from conslaw.tailoring import TailoringCandidate, TailoringConfig, run_tailoring
from conslaw.tailoring.pairing import hnn_pairs
from conslaw.tailoring.splits import hnn_split


def test_hnn_recording_split_uses_forward_differences_and_the_test_block():
    t = np.arange(21) * 0.5
    x = np.stack([t ** 2, t], -1)
    data = TrajectoryDataset("rec", ("q", "p"), (DIMENSIONLESS, DIMENSIONLESS), [Trajectory(t[:15], x[:15])],
                             [Trajectory(t[15:], x[15:])])
    train_x, train_dxdt, train, test = hnn_split(data)
    # 20 samples after dropping the last: test = [16, 16 + int(20 * (1 - 0.8)) = 19), as HNN's int() gives
    assert len(test[0].t) == 3 and test[0].t[0] == 8.0 and len(train_x) == 17
    np.testing.assert_allclose(train_dxdt[:16, 0], t[1:17] + t[:16])  # (t1^2 - t0^2) / (t1 - t0)
    assert len(train) == 1 and len(train[0].t) == 16


def test_hnn_pairs_follow_the_canonical_pairs_and_say_why_there_is_no_hnn():
    """The HNN's pairs, the reason there is none, and, with two pairs or more, those whose units do
    not multiply to an action (an angle's momentum is per radian; dimensionless columns tell
    nothing; one pair that keeps area is Hamiltonian whatever its units)."""
    def dimensions(*units):
        return [parse_unit(unit).dimension for unit in units]

    springs, columns = dimensions("m", "kg*m/s", "m", "kg*m/s"), ("x1", "p1", "x2", "p2")
    assert hnn_pairs(columns, springs, "x1:p1,x2:p2") == (((0, 2), (1, 3)), [])
    pairs, (warning,) = hnn_pairs(columns, springs, None)
    assert pairs == ((0, 1), (2, 3)) and "pairs x1:x2 (m**2), p1:p2 (kg**2*m**2/s**2)" in warning
    assert hnn_pairs(("q", "p"), dimensions("rad", "kg*m**2/s"), None) == (((0,), (1,)), [])
    assert hnn_pairs(("q", "p"), dimensions("1", "1"), None) == (((0,), (1,)), [])
    assert hnn_pairs(("q", "w"), dimensions("deg", "deg/s"), None) == (((0,), (1,)), [])  # one pair keeps area
    _, (warning,) = hnn_pairs(("q1", "q2", "w1", "w2"), dimensions("deg", "rad", "deg/s", "rad/s"), None)
    assert "q1:w1 (rad**2/s), q2:w2 (rad**2/s), whose units do not multiply to an action (kg*m**2/s)" in warning
    pairs, warnings = hnn_pairs(columns, springs, "x1:p1")
    assert pairs is None and warnings == ["no HNN baseline: --canonical leaves x2, p2 out of its (q, p) pairs"]
    pairs, warnings = hnn_pairs(("w1", "w2", "w3"), dimensions("1/s", "1/s", "1/s"), None)
    assert pairs is None and "3 columns do not split" in warnings[0]


def test_the_hnn_takes_its_coordinates_and_momenta_from_the_canonical_pairs():
    """Coupled springs recorded as ``x1, p1, x2, p2``: the HNN paper's halves would pair ``x1``
    with ``x2``, a flow no energy gives; with ``--canonical x1:p1,x2:p2`` the HNN predicts as it
    does on the columns in their native order, and ``result.json`` says how it paired them."""
    variant = make_variant("coupled-springs", n_trajectories=6)
    interleaved = variant.dataset.with_columns_in_order(("x1", "p1", "x2", "p2"))
    config = TailoringConfig(top=1, seeds=1, hidden=32, train_steps=500, meta_epochs=2, inner_lrs=(0.03,),
                             threads=1)
    energy = [TailoringCandidate("0", sympy.sympify(variant.dataset.true_law), True, 0, True)]

    def hnn_rmse(dataset, canonical=None):
        results = run_tailoring(dataset, energy, config, canonical=canonical)
        return results.evaluation["per_seed"]["hnn"][0], results.protocol["hnn_pairs"], results.warnings

    native, native_pairs, native_warnings = hnn_rmse(variant.dataset)
    paired, paired_pairs, paired_warnings = hnn_rmse(interleaved, "x1:p1,x2:p2")
    halves, halves_pairs, (warning,) = hnn_rmse(interleaved)
    assert (native_pairs, paired_pairs, halves_pairs) == ("x1:p1,x2:p2", "x1:p1,x2:p2", "x1:x2,p1:p2")
    assert paired < 1.5 * native and halves > 3 * paired
    assert native_warnings == paired_warnings == [] and "x1:x2 (m**2)" in warning
