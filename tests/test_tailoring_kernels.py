"""The tailoring kernels: Noether loss forms, the two tailoring engines, meta-tailoring, RK4, HNN."""
import numpy as np
import pytest
import torch
from torch.func import functional_call, grad

from conslaw.errors import ConslawError
from conslaw.tailoring import MLP, HNN, Block, Ensemble, NoetherLoss, combined_weights, meta_tailor, rollout
from conslaw.tailoring.models import Scaling, member_fields
from conslaw.tailoring.tailor import _vmap_predict, shared_block, tailored_predict

torch.set_num_threads(1)
COLUMNS = ["q", "p"]


def spring_field(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([2 * x[..., 1], -2 * x[..., 0]], -1)


def states(n: int = 7, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def double(model: torch.nn.Module) -> dict:
    return {k: v.detach().double() for k, v in model.named_parameters()}


def test_central_and_analytic_losses_vanish_for_the_true_field_and_forward_does_not():
    x = states()
    for form, zero in (("central", True), ("analytic", True), ("forward", False)):
        value = NoetherLoss(["q**2 + p**2"], COLUMNS, form=form, dt=0.1).pointwise(x, spring_field(x))
        assert value.shape == (7,)
        assert (value.abs().max() < 1e-20) == zero, form


def test_loss_forms_agree_to_first_order_and_weights_scale_each_law():
    x, f = states(), states(seed=1)
    small = [NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS, form=form, dt=1e-4).pointwise(x, f)
             for form in ("forward", "central", "analytic")]
    torch.testing.assert_close(small[0], small[2], rtol=1e-3, atol=0)
    torch.testing.assert_close(small[1], small[2], rtol=1e-6, atol=0)
    one = NoetherLoss(["q**2"], COLUMNS).pointwise(x, f)
    two = NoetherLoss(["q**2", "q**2"], COLUMNS, weights=[1.0, 3.0]).pointwise(x, f)
    torch.testing.assert_close(two, 4 * one)


def test_bad_loss_options_raise():
    with pytest.raises(ConslawError, match="form"):
        NoetherLoss(["q"], COLUMNS, form="sideways")
    with pytest.raises(ConslawError, match="time step"):
        NoetherLoss(["q"], COLUMNS, dt=0.0)
    with pytest.raises(ConslawError, match="time step must be positive, got None"):
        NoetherLoss(["q"], COLUMNS, dt=None)


def test_tailoring_refuses_states_and_steps_it_cannot_take_and_takes_numpy_states():
    """A user's call gets a one-line error naming the culprit, not torch's shape error (or, for a
    negative lr, a step up the loss)."""
    torch.manual_seed(0)
    model = MLP(2, 16)
    params, loss = dict(model.named_parameters()), NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    x = states()
    torch.testing.assert_close(tailored_predict(model, params, loss, x.numpy(), lr=0.3),
                               tailored_predict(model, params, loss, x, lr=0.3))
    for given, lr, steps, message in [(torch.zeros(8, 3), 0.3, 1, "states have 3 columns; the model takes 2"),
                                      (torch.zeros(2), 0.3, 1, r"states must be a float array \(N, d\)"),
                                      (x, -0.3, 1, "an inner lr >= 0 and at least one step; got lr -0.3"),
                                      (x, 0.3, 0, "at least one step; got lr 0.3, steps 0")]:
        with pytest.raises(ConslawError, match=message):
            tailored_predict(model, params, loss, given, lr=lr, steps=steps)
    with pytest.raises(ConslawError, match="an MLP needs at least one input"):
        MLP(0)


def test_combined_weights_are_inverse_variances():
    x = np.random.default_rng(0).normal(size=(100, 2))
    weights = combined_weights(["q", "3*p"], COLUMNS, x)
    np.testing.assert_allclose(weights, [1 / np.var(x[:, 0]), 1 / np.var(3 * x[:, 1])])


def test_one_step_closed_form_equals_vmap_engine_and_a_per_query_loop():
    torch.manual_seed(0)
    model = MLP(2, 16)
    params, x = double(model), states()
    loss = NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    lr = torch.tensor(0.3, dtype=torch.float64)
    fast = tailored_predict(model, params, loss, x, lr)
    general = _vmap_predict(model, params, loss, x, lr, 1)
    loop = []
    for row in x:
        g = grad(lambda p: loss(row[None], functional_call(model, p, (row[None],))).sum())(params)
        adapted = {k: params[k] - lr * g[k] for k in params}
        loop.append(functional_call(model, adapted, (row[None],))[0])
    torch.testing.assert_close(fast, general, rtol=0, atol=1e-12)
    torch.testing.assert_close(fast, torch.stack(loop), rtol=0, atol=1e-12)


@pytest.mark.parametrize("steps, standardized", [(2, False), (3, False), (2, True)])
def test_several_inner_steps_in_closed_form_equal_per_query_sgd(steps, standardized):
    """The low-rank engine (no per-query weights) takes the same SGD steps as ``vmap`` over
    queries of ``grad``, and as a plain loop; inside an ``Ensemble`` too; with standardized
    inputs and scaled outputs as well."""
    torch.manual_seed(1)
    model = MLP(2, 16)
    if standardized:
        model.scale_with(Scaling((0.5, -1.0), (2.0, 0.3), (4.0, 0.5)))
    params, x = double(model), states()
    loss = NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    lr = torch.tensor(0.2, dtype=torch.float64)
    fast = tailored_predict(model, params, loss, x, lr, steps)
    general = _vmap_predict(model, params, loss, x, lr, steps)
    loop = []
    for row in x:
        adapted = params
        for _ in range(steps):
            g = grad(lambda p: loss(row[None], functional_call(model, p, (row[None],))).sum())(adapted)
            adapted = {k: adapted[k] - lr * g[k] for k in adapted}
        loop.append(functional_call(model, adapted, (row[None],))[0])
    torch.testing.assert_close(fast, general, rtol=0, atol=1e-12)
    torch.testing.assert_close(fast, torch.stack(loop), rtol=0, atol=1e-12)
    assert (fast - tailored_predict(model, params, loss, x, lr, 1)).abs().max() > 1e-6
    block = Block(loss, {k: v.unsqueeze(0).expand(2, *v.shape) for k, v in params.items()},
                  torch.tensor([0.2, 0.0], dtype=torch.float64))
    field = Ensemble(model, [block], steps).field(x.unsqueeze(0).expand(2, -1, -1))
    torch.testing.assert_close(field[0], fast, rtol=0, atol=1e-12)
    torch.testing.assert_close(field[1], functional_call(model, params, (x,)), rtol=0, atol=1e-12)


def test_an_ensemble_of_any_module_tailors_each_member_as_tailored_predict_does():
    """A model that is not an ``MLP`` takes the general engine under ``vmap`` over members; the
    user's checks of ``tailored_predict`` (an lr >= 0) cannot run there, and once made it raise."""
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    params, x = dict(model.named_parameters()), states()
    loss = NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    lrs = torch.tensor([0.3, 0.05], dtype=torch.float64)
    block = Block(loss, {k: v.detach().unsqueeze(0).expand(2, *v.shape) for k, v in params.items()}, lrs)
    field = Ensemble(model, [block]).field(x.unsqueeze(0).expand(2, -1, -1))
    for member, lr in enumerate(lrs):
        torch.testing.assert_close(field[member], tailored_predict(model, params, loss, x, lr), rtol=0, atol=1e-12)


def test_tailored_predict_takes_float32_and_float64_states_with_a_float32_model():
    torch.manual_seed(0)
    model = MLP(2, 16)  # float32 parameters
    loss = NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    x64 = states()
    wide = tailored_predict(model, dict(model.named_parameters()), loss, x64, lr=0.3)
    narrow = tailored_predict(model, dict(model.named_parameters()), loss, x64.float(), lr=0.3)
    assert wide.dtype == torch.float64 and narrow.dtype == torch.float32
    torch.testing.assert_close(narrow.double(), wide, rtol=1e-4, atol=1e-5)
    untailored = functional_call(model, dict(model.named_parameters()), (x64.float(),))
    assert not torch.allclose(narrow, untailored)  # the inner step changed the prediction


def test_rk4_is_fourth_order_on_the_spring():
    x0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    errors = []
    for steps in (20, 40):
        t = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
        path = rollout(spring_field, x0, t)
        exact = torch.tensor([np.cos(2.0), -np.sin(2.0)], dtype=torch.float64)
        errors.append(float((path[0, -1] - exact).abs().max()))
    assert path.shape == (1, 41, 2)
    assert 12 < errors[0] / errors[1] < 20


@pytest.mark.parametrize("form", ["central", "forward", "analytic"])
def test_the_analytic_field_gradient_equals_autograd(form):
    x, field = states(9, 1), states(9, 2)
    for laws, weights in ((["p**2 - 3*cos(q)"], None), (["q**2 + p**2", "sin(q)*p**3", "q"], [1.0, 0.3, 2.0])):
        loss = NoetherLoss(laws, COLUMNS, form=form, dt=0.2, weights=weights)
        expected = grad(lambda f: loss.pointwise(x, f).sum())(field)
        torch.testing.assert_close(loss.field_gradient(x, field), expected, rtol=1e-12, atol=1e-12)
    as_function = NoetherLoss([lambda s: s[..., 0] * s[..., 1] ** 2], form=form, dt=0.2)  # no symbolic form
    torch.testing.assert_close(as_function.field_gradient(x, field),
                               grad(lambda f: as_function.pointwise(x, f).sum())(field))


@pytest.mark.parametrize("pairs, conjugates", [(None, [(0, 2), (1, 3)]), (((0, 2), (1, 3)), [(0, 1), (2, 3)]),
                                                (((3, 0), (1, 2)), [(3, 1), (0, 2)])])
def test_hnn_field_is_the_symplectic_gradient_of_its_hamiltonian(pairs, conjugates):
    """dq/dt = dH/dp and dp/dt = -dH/dq for each (q, p) pair: by default the first half of the
    columns and the second, else as ``pairs`` says; the batched members agree."""
    torch.manual_seed(0)
    model = HNN(4, 8, pairs).double()
    x = torch.randn(7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    dh = torch.autograd.functional.jacobian(lambda s: model.hamiltonian(s).sum(), x)
    expected = torch.empty_like(x)
    for q, p in conjugates:
        expected[:, q], expected[:, p] = dh[:, p], -dh[:, q]
    torch.testing.assert_close(model(x), expected)
    with torch.no_grad():
        stacked = member_fields(model, {k: v[None] for k, v in double(model).items()}, x[None])[0]
    torch.testing.assert_close(stacked, expected)


@pytest.mark.parametrize("n_in, pairs", [(3, None), (4, ((0,), (1,))), (4, ((0, 1), (1, 2))), (4, ((0, 1), (2,)))])
def test_an_hnn_whose_columns_are_not_all_paired_is_refused(n_in, pairs):
    with pytest.raises(ConslawError, match="HNN needs"):
        HNN(n_in, 8, pairs)


@pytest.mark.parametrize("kind", [MLP, HNN])
def test_batched_member_fields_equal_each_model_alone(kind):
    torch.manual_seed(0)
    models = [kind(2, 8).double() for _ in range(3)]
    stacked = {name: torch.stack([dict(m.named_parameters())[name].detach() for m in models])
               for name, _ in models[0].named_parameters()}
    x = torch.stack([states(5, seed) for seed in range(3)])
    with torch.no_grad():
        batched = member_fields(models[0], stacked, x)
    assert not batched.requires_grad
    torch.testing.assert_close(batched, torch.stack([m(x[i]) for i, m in enumerate(models)]).detach())
    for name, tensor in stacked.items():  # differentiable in the parameters when gradients are on
        tensor.requires_grad_(True)
    grads = torch.autograd.grad(member_fields(models[0], stacked, x)[1].sum(), list(stacked.values()))
    assert all(float(g[0].abs().max()) == 0 and float(g[1].abs().max()) > 0 for g in grads)


def test_meta_tailoring_freezes_a_diverging_member_and_trains_the_others():
    torch.manual_seed(0)
    model = MLP(2, 8)
    params = {k: v.detach().double().expand(2, *v.shape).clone() for k, v in model.named_parameters()}
    loss = NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    ensemble = Ensemble(model, [Block(loss, params, torch.tensor([1e-2, 1e9], dtype=torch.float64))])
    x = states(50).expand(2, 50, 2)
    result = meta_tailor(ensemble, x, spring_field(x), epochs=3, outer_lr=1e-3, weight_decay=0.0, blowup=10.0)
    assert result.diverged.tolist() == [False, True]
    trained = result.ensemble.blocks[0].params
    assert not torch.equal(trained["linears.0.weight"][0], params["linears.0.weight"][0])
    assert torch.equal(trained["linears.0.weight"][1], params["linears.0.weight"][1])


def test_a_mixed_ensemble_gives_each_block_the_field_it_has_alone():
    torch.manual_seed(1)
    model = MLP(2, 16)
    params = {k: v.detach().double().expand(3, *v.shape).clone() + 0.01 * torch.randn(3, *v.shape, dtype=torch.float64)
              for k, v in model.named_parameters()}
    loss = NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    lrs = torch.tensor([0.1, 0.3, 1.0], dtype=torch.float64)
    blocks = [Block(None, params, torch.zeros(3, dtype=torch.float64)), Block(loss, params, lrs),
              Block(None, params, torch.zeros(3, dtype=torch.float64))]
    x = states(20).expand(9, 20, 2).clone()
    mixed = Ensemble(model, blocks).field(x)
    alone = [Ensemble(model, [block]).field(x[:3]) for block in blocks]
    torch.testing.assert_close(mixed, torch.cat(alone), rtol=0, atol=1e-12)
    plain = torch.stack([functional_call(model, {k: v[i] for k, v in params.items()}, (x[i],)) for i in range(3)])
    torch.testing.assert_close(alone[0], plain, rtol=0, atol=1e-12)
    assert (mixed[3:6] - plain).abs().max() > 1e-6  # the tailored block moved


def test_training_reports_progress_every_block_of_steps():
    from conslaw.tailoring.models import PROGRESS_STEPS, train_ensemble
    x = np.random.default_rng(0).normal(size=(2, 30, 2)).astype(np.float32)
    done = []
    train_ensemble("mlp", x, -x, [0, 1], hidden=8, steps=2 * PROGRESS_STEPS + 7, lr=1e-3, weight_decay=0.0,
                   progress=done.append)
    assert done == [PROGRESS_STEPS, 2 * PROGRESS_STEPS, 2 * PROGRESS_STEPS + 7]


def test_trained_weights_do_not_depend_on_the_workers_or_the_ensembles():
    """Each training runs on one torch thread, so a seed's weights are bitwise the same whether
    the seeds train alone, as one ensemble, or split over 2 or 3 workers side by side; the
    progress it reports only grows, to 1; the queues put the larger ensembles of the two kinds on
    different workers."""
    from conslaw.tailoring.models import pretrained_params, training_queues

    rng = np.random.default_rng(1)
    x = [rng.normal(size=(40, 2)).astype(np.float32) for _ in range(3)]
    dxdt = [np.flip(a, -1) * [1.0, -1.0] for a in x]
    runs = []
    for workers, vectorize in ((1, True), (2, True), (3, True), (2, False)):
        reported = []
        runs.append(pretrained_params(("mlp", "hnn"), x, dxdt, [0, 1, 2], hidden=16, steps=30, lr=1e-3,
                                      weight_decay=1e-4, vectorize=vectorize, workers=workers,
                                      progress=reported.append))
        assert reported == sorted(reported) and reported[0] > 0 and reported[-1] == pytest.approx(1.0)
    for run in runs[1:]:
        for kind in ("mlp", "hnn"):
            for mine, reference in zip(run[kind], runs[0][kind]):
                assert mine.keys() == reference.keys()
                assert all(torch.equal(mine[name], reference[name]) for name in mine)
    assert not torch.equal(runs[0]["mlp"][0]["linears.0.weight"], runs[0]["mlp"][1]["linears.0.weight"])
    assert training_queues(("mlp", "hnn"), 5, 2, True) == [[("mlp", [0, 1, 2]), ("hnn", [3, 4])],
                                                           [("mlp", [3, 4]), ("hnn", [0, 1, 2])]]
    assert training_queues(("mlp",), 2, 4, True) == [[("mlp", [0])], [("mlp", [1])]]


def test_parts_share_every_block_evenly_and_join_back():
    """Single-member blocks alternate between the parts, larger blocks are cut into runs one
    apart in size, the members are each in one part, and joining the parts restores every block."""
    def block(size: int, start: int) -> Block:
        return Block(None, {"w": torch.arange(start, start + size, dtype=torch.float64)[:, None]},
                     torch.arange(size, dtype=torch.float64))

    sizes = [1, 1, 1, 5, 9, 1]
    blocks = [block(size, 100 * j) for j, size in enumerate(sizes)]
    ensemble = Ensemble(MLP(2, 4), blocks)
    parts = ensemble.parts(2)
    assert [p.blocks for p in parts] == [[0, 2, 3, 4], [1, 3, 4, 5]]
    assert [[b.size for b in p.ensemble.blocks] for p in parts] == [[1, 1, 2, 5], [1, 3, 4, 1]]
    assert sorted(np.concatenate([p.members for p in parts]).tolist()) == list(range(sum(sizes)))
    rows = torch.cat([b.params["w"] for b in blocks])[:, 0]
    for part in parts:  # each part's members are the rows it holds
        held = torch.cat([b.params["w"] for b in part.ensemble.blocks])[:, 0]
        assert torch.equal(held, rows[part.members])
    for joined, original in zip(ensemble.joined(parts), blocks):
        assert torch.equal(joined.params["w"], original.params["w"]) and torch.equal(joined.lrs, original.lrs)
    assert len(ensemble.parts(40)) == len(ensemble.split()) == sum(sizes)  # one member each


def test_an_ensemble_runs_in_parts_only_where_each_part_holds_enough_rows():
    """One part per torch thread when each gets at least ``PART_ROWS`` rows (members x states);
    an ensemble of small rollouts stays whole (its parts would spend their time on the GIL); the
    unvectorized path takes one member at a time."""
    from conslaw.tailoring.stages import PART_ROWS, _pieces

    model = MLP(2, 4)
    params = {k: v.detach() for k, v in model.named_parameters()}
    loss = NoetherLoss(["p**2 - 3*cos(q)"], COLUMNS).pointwise
    ensemble = Ensemble(model, [shared_block(loss, params, [1e-3] * 9, torch.float32) for _ in range(8)])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert len(_pieces(ensemble, True, 1)) == 1
        assert len(_pieces(ensemble, True, PART_ROWS // 72)) == 1
        assert [len(p.members) for p in _pieces(ensemble, True, 25)] == [36, 36]
        assert len(_pieces(ensemble, False, 25)) == 72
    finally:
        torch.set_num_threads(threads)
