"""The Python API: fit user arrays, read the laws, and tailor with one as a Noether loss."""
import numpy as np
import pytest
import sympy
import torch

from conslaw import ConservationSearch, NoetherLoss
from conslaw.errors import UsageError


def oscillator_arrays(n_traj=8, n=40, seed=0):
    """q in metres, p in kg*m/s, conserving q**2 + p**2/4 (omega = 2, unit mass times 2)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 3, n)
    arrays = []
    for _ in range(n_traj):
        amplitude, phase = rng.uniform(0.5, 1.5), rng.uniform(0, 2 * np.pi)
        q = amplitude * np.cos(2 * t + phase)
        p = -2 * amplitude * np.sin(2 * t + phase)
        arrays.append(np.stack([q, p], axis=1))
    return t, arrays


def test_fit_arrays_finds_the_energy_and_exports_it():
    t, arrays = oscillator_arrays()
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, mode="terms").fit(
        arrays, times=[t] * len(arrays))
    law = search.laws_[0]
    assert law.independent and len(search.independent_laws_) == 1
    q, p = sympy.symbols("q p")
    expr = sympy.expand(law.sympy())
    assert float(expr.coeff(p**2) / expr.coeff(q**2)) == pytest.approx(0.25, rel=1e-3)
    assert "q" in law.latex()
    states = torch.tensor(arrays[0])
    values = law.torch()(states)
    np.testing.assert_allclose(values.numpy(), law.numpy()(arrays[0][:, 0], arrays[0][:, 1]))
    assert float(values.std()) < 1e-6 * float(values.abs().mean())
    assert "rank" in search.table() and law.expression in search.table()


def test_a_law_plugs_into_noether_loss():
    t, arrays = oscillator_arrays()
    search = ConservationSearch(units={"q": "m", "p": "kg*m/s"}, mode="terms").fit(arrays)
    loss = NoetherLoss(search.laws_[0], form="analytic", dt=0.1)
    x = torch.tensor(arrays[0][:5])
    true_field = torch.stack([x[:, 1] / 2, -2 * x[:, 0]], dim=1)  # dq/dt = p/2, dp/dt = -2q
    assert float(loss(x, true_field)) < 1e-20
    assert float(loss(x, true_field + 0.1)) > 1e-6


def test_arrays_need_units_and_the_right_shape():
    _, arrays = oscillator_arrays()
    with pytest.raises(UsageError, match="units"):
        ConservationSearch().fit(arrays)
    with pytest.raises(UsageError, match="shape"):
        ConservationSearch(units={"q": "m", "p": "kg*m/s", "r": "m"}).fit(arrays)
