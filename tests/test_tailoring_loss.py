"""Laws to torch, the Noether loss forms, and the two tailoring engines."""
import pytest
import sympy
import torch
from torch.func import functional_call, grad, vmap

from conslaw.errors import ConslawError
from conslaw.tailoring import MLP, NoetherLoss, law_to_torch, meta_tailor, model_params, rollout, tailored_predict

torch.set_num_threads(1)


def spring_field(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([2 * x[..., 1], -2 * x[..., 0]], -1)


def states(n: int = 7, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_law_string_compiles_to_float64_torch_function_usable_under_vmap_and_grad():
    g = law_to_torch("p**2 - 2.99*cos(q) + sqrt(Abs(q)) + pi", ["q", "p"])
    x = states()
    q, p = x[:, 0], x[:, 1]
    expected = p**2 - 2.99 * torch.cos(q) + torch.sqrt(q.abs()) + torch.pi
    assert g(x).dtype == torch.float64
    torch.testing.assert_close(g(x), expected, rtol=0, atol=1e-14)
    gradient = vmap(grad(g))(x)
    torch.testing.assert_close(gradient[:, 1], 2 * p)
    torch.testing.assert_close(gradient[:, 0], 2.99 * torch.sin(q) + torch.sign(q) / (2 * torch.sqrt(q.abs())))
    assert "torch.cos" in g.source


def test_law_from_candidate_dict_sympy_expression_and_constant():
    q, p = sympy.symbols("q p")
    x = states()
    from_dict = law_to_torch({"id": "c1", "expression": "q**2 + p**2"}, ["q", "p"])
    from_sympy = law_to_torch(q**2 + p**2, ["q", "p"])
    torch.testing.assert_close(from_dict(x), from_sympy(x))
    assert law_to_torch("3", ["q", "p"])(x).shape == (7,)


@pytest.mark.parametrize("law, culprit", [("p + z", "z"), ("besselj(1, q)", "besselj"), ("p +* q", "p +* q")])
def test_bad_laws_raise_one_line_errors_naming_the_culprit(law, culprit):
    with pytest.raises(ConslawError) as error:
        law_to_torch(law, ["q", "p"])
    assert culprit in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("form", ["forward", "central", "analytic"])
def test_noether_loss_gradient_matches_finite_differences(form):
    loss = NoetherLoss("p**2 - 3*cos(q) + q*p", form=form, dt=0.07, columns=["q", "p"])
    x = states(5).requires_grad_(True)
    dxdt = states(5, seed=1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: loss(a, b), (x, dxdt))


def test_central_and_analytic_vanish_for_quadratic_energy_under_its_field_and_forward_does_not():
    x, dt = states(50), 0.1
    dxdt = spring_field(x)
    energy = (x**2).sum(-1)
    for form in ("central", "analytic"):
        assert NoetherLoss("q**2 + p**2", form=form, dt=dt, columns=["q", "p"]).pointwise(x, dxdt).abs().max() < 1e-24
    forward = NoetherLoss("q**2 + p**2", form="forward", dt=dt, columns=["q", "p"]).pointwise(x, dxdt)
    # an Euler step of the exact field raises the energy by the factor 1 + 4 dt^2
    torch.testing.assert_close(forward, (4 * dt**2 * energy) ** 2)


def test_all_forms_agree_to_first_order_in_dt_on_a_random_field():
    x, dxdt = states(20), states(20, seed=3)
    law = "p**2 - 3*cos(q) + q**3"
    errors = []
    for dt in (1e-2, 1e-3):
        analytic = NoetherLoss(law, "analytic", dt, ["q", "p"])(x, dxdt)
        relative = [abs(NoetherLoss(law, form, dt, ["q", "p"])(x, dxdt) / analytic - 1) for form in ("forward", "central")]
        errors.append(relative)
    assert errors[1][0] < 0.02 and errors[1][1] < 1e-4
    assert errors[1][0] < errors[0][0] / 5  # forward converges linearly, central quadratically
    assert errors[1][1] < errors[0][1] / 50


def test_sequence_forms_against_hand_computed_values():
    loss = NoetherLoss("q**2 + p**2", columns=["q", "p"])
    x0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    predictions = torch.tensor([[[0.0, 2.0], [3.0, 0.0]]], dtype=torch.float64)  # g = 4, 9; g(x0) = 1
    torch.testing.assert_close(loss.sequence(x0, predictions, "x0"), torch.tensor([9.0 + 64.0], dtype=torch.float64))
    torch.testing.assert_close(loss.sequence(x0, predictions, "previous"), torch.tensor([9.0 + 25.0], dtype=torch.float64))


def test_bad_loss_options_raise():
    with pytest.raises(ConslawError, match="backward"):
        NoetherLoss("q", form="backward", columns=["q"])
    with pytest.raises(ConslawError, match="dt"):
        NoetherLoss("q", dt=0.0, columns=["q"])


def small_model(seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    return MLP(2, 32).double()


def test_rank1_engine_vmap_engine_and_a_per_query_loop_agree():
    model = small_model()
    params = model_params(model)
    loss = NoetherLoss("p**2 - 3*cos(q)", dt=0.07, columns=["q", "p"]).pointwise
    x = states(6)
    lrs = torch.tensor([0.0, 0.01, 0.1, 0.3, 1.0, 3.0], dtype=torch.float64)
    fast = tailored_predict(model, params, loss, x, lrs, engine="rank1")
    batched = tailored_predict(model, params, loss, x, lrs, engine="vmap")
    looped = []
    for query, lr in zip(x, lrs):
        trial = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        value = loss(query[None], functional_call(model, trial, (query[None],))).sum()
        gradients = torch.autograd.grad(value, list(trial.values()))
        adapted = {k: v.detach() - lr * g for (k, v), g in zip(trial.items(), gradients)}
        looped.append(functional_call(model, adapted, (query[None],))[0])
    torch.testing.assert_close(batched, torch.stack(looped), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast, torch.stack(looped), rtol=1e-12, atol=1e-12)
    assert not torch.allclose(fast[1:], functional_call(model, params, (x,))[1:])  # tailoring did something


def test_tailoring_with_true_energy_reduces_energy_drift_in_a_short_rollout():
    model = small_model()
    params = model_params(model)
    loss = NoetherLoss("p**2 - 3*cos(q)", dt=0.068, columns=["q", "p"])
    x0 = states(8) * 1.5
    t = torch.linspace(0, 1.5, 23, dtype=torch.float64)

    def drift(lr: float) -> float:
        with torch.no_grad():
            from conslaw.tailoring import TailoredField
            path = rollout(TailoredField(model, params, loss.pointwise, lr), x0, t)
        energy = loss.law(path)
        return float((energy - energy[:, :1]).abs().mean())

    untailored = drift(0.0)
    assert drift(0.1) < 0.8 * untailored
    assert drift(0.3) < 0.5 * untailored


def test_one_meta_epoch_changes_weights_and_keeps_loss_finite():
    model = small_model()
    params = model_params(model)
    loss = NoetherLoss("p**2 - 3*cos(q)", dt=0.068, columns=["q", "p"]).pointwise
    x = states(40)
    target = torch.stack([2 * x[:, 1], -3 * torch.sin(x[:, 0])], -1)
    result = meta_tailor(model, params, loss, x, target, 0.1, epochs=1, outer_lr=1e-3)
    assert not result.diverged and len(result.outer_losses) == 1
    assert all(torch.isfinite(v).all() for v in result.params.values())
    assert any(not torch.equal(result.params[k], params[k]) for k in params)
    after = ((tailored_predict(model, result.params, loss, x, 0.1) - target) ** 2).mean()
    assert torch.isfinite(after) and after < result.outer_losses[0]
    # the second-order path (vmap engine) gives the same first step
    via_vmap = meta_tailor(model, params, loss, x, target, 0.1, epochs=1, outer_lr=1e-3, engine="vmap")
    for name in params:
        torch.testing.assert_close(via_vmap.params[name], result.params[name], rtol=1e-9, atol=1e-12)


def test_meta_tailoring_blow_up_is_reported_not_raised():
    model = small_model()
    params = model_params(model)
    loss = NoetherLoss("exp(10*p)", dt=0.068, columns=["q", "p"]).pointwise
    x = states(20) * 5
    result = meta_tailor(model, params, loss, x, torch.zeros_like(x), 1e6, epochs=3)
    assert result.diverged
