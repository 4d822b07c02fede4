"""Tiny, seeded runs of the neural Noether embedding (Algorithm 1) on states and on pixels."""
import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from conslaw.errors import ConslawError
from conslaw.neural import (
    EmbeddingMLP,
    FieldMLP,
    FrameEmbedding,
    FramePredictor,
    Tailoring,
    bob_position,
    clip_sampler,
    frame_embedding,
    frame_step,
    initial_meta,
    law_embedding,
    make_pendulum_videos,
    meta_train,
    module_embedding,
    noether_loss,
    parameters_of,
    predict_sequences,
    pretrain_field,
    psnr_per_frame,
    render_pendulum,
    rk4_step,
    rollout,
    ssim_per_frame,
    tailored_parameters,
    window_sampler,
)


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pendulum_trajectories(n_trajectories: int, n_points: int, seed: int = 0) -> tuple[np.ndarray, float]:
    """dq/dt = 2p, dp/dt = -3 sin q on [0, 3], radius U[1.3, 2.3] (the HNN ideal pendulum)."""
    rng = np.random.default_rng(seed)
    times = np.linspace(0, 3, n_points)
    trajectories = []
    for _ in range(n_trajectories):
        direction = rng.random(2) * 2 - 1
        start = direction / np.linalg.norm(direction) * rng.uniform(1.3, 2.3)
        solution = solve_ivp(lambda t, z: [2 * z[1], -3 * np.sin(z[0])], (0, 3), start, t_eval=times, rtol=1e-9)
        trajectories.append(solution.y.T)
    return np.array(trajectories), times[1] - times[0]


def pendulum_field(states: np.ndarray) -> np.ndarray:
    return np.column_stack([2 * states[:, 1], -3 * np.sin(states[:, 0])])


@pytest.fixture(scope="module")
def small_pendulum():
    torch.manual_seed(0)
    trajectories, dt = pendulum_trajectories(6, 16)
    field = FieldMLP(2, hidden=24)
    states = trajectories.reshape(-1, 2)
    theta = pretrain_field(field, states, pendulum_field(states), n_steps=150, lr=1e-2)
    return trajectories, dt, field, theta


def test_neural_noether_run_learns_and_stays_finite(small_pendulum):
    trajectories, dt, field, theta = small_pendulum
    torch.manual_seed(1)
    embedding = EmbeddingMLP(2, n_features=3, hidden=16)
    tailoring = Tailoring(module_embedding(embedding), form="a")
    meta = initial_meta(parameters_of(embedding), inner_lr=1e-3)
    run = meta_train(rk4_step(field, dt), theta, window_sampler(trajectories, horizon=6, batch_size=12), n_steps=12,
                     tailoring=tailoring, meta=meta, outer_lr=3e-3, embedding_lr=3e-3, seed=0)
    assert all(math.isfinite(loss) for loss in run.losses)
    assert np.mean(run.losses[-3:]) < 0.7 * np.mean(run.losses[:3])
    # Second-order gradients reached phi: the embedding and the inner learning rate moved.
    moved = max(float((run.meta["embedding"][k] - meta["embedding"][k]).abs().max()) for k in meta["embedding"])
    assert moved > 1e-4
    assert float(run.meta["log_inner_lr"]) != pytest.approx(float(meta["log_inner_lr"]), abs=1e-6)
    assert all(torch.isfinite(v).all() for v in run.theta.values())


def test_inner_step_changes_predictions_and_vanishes_with_zero_lr(small_pendulum):
    trajectories, dt, field, theta = small_pendulum
    step = rk4_step(field, dt)
    contexts = torch.as_tensor(trajectories[:, :1], dtype=torch.float32)
    energy = Tailoring(law_embedding("p**2 - 3*cos(q)", ["q", "p"]), form="a")
    plain = predict_sequences(step, theta, contexts, 10)
    tailored = predict_sequences(step, theta, contexts, 10, energy, initial_meta({}, 1e-3))
    untouched = predict_sequences(step, theta, contexts, 10, energy, initial_meta({}, 1e-30))
    assert float((tailored - plain).abs().max()) > 1e-5
    assert torch.allclose(untouched, plain, atol=1e-6)


def test_inner_step_descends_the_noether_loss(small_pendulum):
    trajectories, dt, field, theta = small_pendulum
    step = rk4_step(field, dt)
    context = torch.as_tensor(trajectories[0, :1], dtype=torch.float32)
    energy = Tailoring(law_embedding("p**2 - 3*cos(q)", ["q", "p"]), form="b")
    meta = initial_meta({}, 1e-4)

    def loss(parameters):
        return float(noether_loss(energy.embed, {}, context[-1], rollout(step, parameters, context, 10), "b"))

    adapted = tailored_parameters(step, energy, theta, meta, context, 10)
    assert loss(adapted) < loss(theta)


def test_noether_loss_forms():
    embed = law_embedding("q**2 + p**2", ["q", "p"])
    start = torch.tensor([1.0, 0.0])
    predictions = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    # g = q^2 + p^2: g(x0) = 1; predictions g = 1, 4 -> form a averages (1-1)^2 and (4-1)^2
    assert float(noether_loss(embed, {}, start, predictions, "a")) == pytest.approx(4.5)
    # predictions g = 4, 4 -> form a: 9 and 9; form b: (4-1)^2 and (4-4)^2
    predictions = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    assert float(noether_loss(embed, {}, start, predictions, "a")) == pytest.approx(9.0)
    assert float(noether_loss(embed, {}, start, predictions, "b")) == pytest.approx(4.5)
    with pytest.raises(ValueError, match="'c'"):
        noether_loss(embed, {}, start, predictions, "c")


def test_law_embedding_matches_the_formula_and_rejects_time():
    embed = law_embedding("p**2 - 3*cos(q)", ["q", "p"])
    assert float(embed({}, torch.tensor([0.5, 1.5]))) == pytest.approx(1.5 ** 2 - 3 * math.cos(0.5), rel=1e-6)
    with pytest.raises(ConslawError, match="t, which is not a state column"):
        law_embedding("p*t", ["q", "p"])


@pytest.mark.parametrize("angle", [0.0, 0.6, -0.9])
def test_renderer_draws_the_bob_where_the_angle_says(angle):
    size, length = 32, 0.45
    frame = render_pendulum(np.array(angle), np.array(length), size)
    assert frame.shape == (size, size) and frame.max() == pytest.approx(1.0)
    rows, columns = np.nonzero(frame > 0.99)  # only the bob is drawn at full intensity
    expected_column, expected_row = bob_position(angle, length, size)
    assert columns.mean() == pytest.approx(expected_column, abs=0.3)
    assert rows.mean() == pytest.approx(expected_row, abs=0.3)
    if angle > 0:
        assert expected_column > size / 2  # positive angles swing to the right


def test_renderer_is_mirror_symmetric():
    left = render_pendulum(np.array(-0.7), np.array(0.4), 32)
    right = render_pendulum(np.array(0.7), np.array(0.4), 32)
    np.testing.assert_allclose(left, right[:, ::-1], atol=1e-6)


def test_pendulum_videos_swing_with_conserved_amplitude():
    videos = make_pendulum_videos(4, 60, size=16, seed=3)
    assert videos.frames.shape == (4, 60, 16, 16)
    assert np.all(np.abs(videos.angles) <= 1.0 + 1e-6)
    # The angle changes sign within 60 frames (period about 20-26 frames).
    assert np.all(videos.angles.max(axis=1) > 0) and np.all(videos.angles.min(axis=1) < 0)
    with pytest.raises(ConslawError, match="size"):
        make_pendulum_videos(1, 10, size=4)


def test_ssim_and_psnr_of_identical_and_noisy_frames():
    generator = torch.Generator().manual_seed(0)
    frames = torch.as_tensor(make_pendulum_videos(2, 3, size=32, seed=0).frames)
    assert torch.allclose(ssim_per_frame(frames, frames), torch.ones(2, 3), atol=1e-5)
    assert torch.isinf(psnr_per_frame(frames, frames)).all()
    ssims = []
    for noise in (0.01, 0.05, 0.2):
        noisy = frames + noise * torch.randn(frames.shape, generator=generator)
        ssims.append(float(ssim_per_frame(noisy, frames).mean()))
        assert float(psnr_per_frame(noisy, frames).mean()) == pytest.approx(-20 * math.log10(noise), abs=0.3)
    assert 1.0 > ssims[0] > ssims[1] > ssims[2]
    assert torch.allclose(ssim_per_frame(frames[0], frames[1]), ssim_per_frame(frames[1], frames[0]))


def test_pixel_noether_run_learns_and_tailoring_changes_frames():
    torch.manual_seed(0)
    videos = make_pendulum_videos(8, 8, size=16, seed=0)
    predictor, embedding = FramePredictor(context=2, width=4), FrameEmbedding(16, n_features=4, width=4)
    step = frame_step(predictor)
    tailoring = Tailoring(frame_embedding(embedding), form="b")
    meta = initial_meta(parameters_of(embedding), inner_lr=1e-1)
    run = meta_train(step, parameters_of(predictor), clip_sampler(videos.frames, 2, 3, 4), n_steps=10,
                     tailoring=tailoring, meta=meta, outer_lr=1e-2, embedding_lr=1e-2, seed=0)
    assert all(math.isfinite(loss) for loss in run.losses)
    assert np.mean(run.losses[-3:]) < 0.7 * np.mean(run.losses[:3])
    contexts = torch.as_tensor(videos.frames[:2, :2])
    plain = predict_sequences(step, run.theta, contexts, 3)
    tailored = predict_sequences(step, run.theta, contexts, 3, tailoring, run.meta)
    assert plain.shape == tailored.shape == (2, 3, 16, 16)
    assert float((tailored - plain).abs().max()) > 1e-6
