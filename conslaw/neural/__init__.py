"""Noether Networks with a meta-learned neural conservation loss (Algorithm 1 of the paper).

- ``core``: the tailoring step, PREDICTSEQUENCE and TRAIN, generic over predictor and embedding.
- ``state``: a dx/dt MLP with an RK4 step and an MLP embedding (or a fixed symbolic law).
- ``video``: a rendered pendulum video data set, a conv frame predictor and a CNN embedding.
- ``metrics``: MSE, PSNR and SSIM per frame.
"""
from conslaw.neural.core import (
    Tailoring,
    TrainingRun,
    initial_meta,
    meta_train,
    noether_loss,
    predict_sequences,
    rollout,
    tailored_parameters,
)
from conslaw.neural.metrics import mse_per_frame, psnr_per_frame, ssim_per_frame
from conslaw.neural.state import (
    EmbeddingMLP,
    FieldMLP,
    law_embedding,
    module_embedding,
    parameters_of,
    pretrain_field,
    rk4_step,
    rollout_rmse,
    window_sampler,
)
from conslaw.neural.video import (
    FrameEmbedding,
    FramePredictor,
    PendulumVideos,
    bob_position,
    clip_sampler,
    frame_embedding,
    frame_step,
    make_pendulum_videos,
    render_pendulum,
)

__all__ = [
    "Tailoring", "TrainingRun", "initial_meta", "meta_train", "noether_loss", "predict_sequences", "rollout",
    "tailored_parameters", "mse_per_frame", "psnr_per_frame", "ssim_per_frame", "EmbeddingMLP", "FieldMLP",
    "law_embedding", "module_embedding", "parameters_of", "pretrain_field", "rk4_step", "rollout_rmse",
    "window_sampler", "FrameEmbedding", "FramePredictor", "PendulumVideos", "bob_position", "clip_sampler",
    "frame_embedding", "frame_step", "make_pendulum_videos", "render_pendulum",
]
