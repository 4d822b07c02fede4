"""A rendered pendulum video data set and the small conv models for pixel Noether Networks.

Frames are grayscale (size x size) images in [0, 1] of a rod hanging from a fixed pivot with a
round bob, drawn with anti-aliased distance fields in numpy. Angles follow the nonlinear
pendulum theta'' = -(g / l) sin(theta), integrated by RK4 with sub-steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from conslaw.errors import ConslawError
from conslaw.neural.core import BatchSampler, EmbedFn, StepFn

PIVOT = (0.5, 0.2)  # (x, y) as fractions of the frame size; y grows downwards
GRAVITY = 0.03  # frame-size units per frame^2: a length of 0.45 swings with a period of ~24 frames
BOB_RADIUS = 0.09
ROD_HALF_WIDTH = 0.02
ROD_INTENSITY = 0.5


def bob_position(angle: np.ndarray, length: np.ndarray, size: int) -> np.ndarray:
    """Pixel coordinates (..., 2) as (column, row) of the bob centre; angle 0 hangs straight down."""
    angle, length = np.asarray(angle, dtype=float), np.asarray(length, dtype=float)
    column = (PIVOT[0] + length * np.sin(angle)) * size - 0.5
    row = (PIVOT[1] + length * np.cos(angle)) * size - 0.5
    return np.stack([column, row], axis=-1)


def render_pendulum(angle: np.ndarray, length: np.ndarray, size: int = 32) -> np.ndarray:
    """Frames (..., size, size) float32 for angles and lengths (fractions of the frame) of equal shape."""
    angle, length = np.broadcast_arrays(np.asarray(angle, dtype=float), np.asarray(length, dtype=float))
    pixel = np.arange(size, dtype=float)
    columns, rows = pixel[None, :], pixel[:, None]
    pivot = np.array([PIVOT[0] * size - 0.5, PIVOT[1] * size - 0.5])
    bob = bob_position(angle, length, size)[..., None, None, :]
    distance_bob = np.hypot(columns - bob[..., 0], rows - bob[..., 1])
    bob_ink = np.clip(BOB_RADIUS * size + 0.5 - distance_bob, 0.0, 1.0)
    # distance from each pixel to the rod segment pivot -> bob
    direction = bob[..., 0, 0, :] - pivot
    offset_c, offset_r = columns - pivot[0], rows - pivot[1]
    segment_length2 = np.sum(direction ** 2, axis=-1)[..., None, None]
    along = np.clip((offset_c * direction[..., 0, None, None] + offset_r * direction[..., 1, None, None])
                    / np.maximum(segment_length2, 1e-12), 0.0, 1.0)
    distance_rod = np.hypot(offset_c - along * direction[..., 0, None, None],
                            offset_r - along * direction[..., 1, None, None])
    rod_ink = ROD_INTENSITY * np.clip(ROD_HALF_WIDTH * size + 0.5 - distance_rod, 0.0, 1.0)
    return np.maximum(bob_ink, rod_ink).astype(np.float32)


def simulate_angles(amplitude: np.ndarray, length: np.ndarray, n_frames: int, rng: np.random.Generator,
                    substeps: int = 8) -> np.ndarray:
    """Angles (n, n_frames) of pendulums with the given amplitudes, starting at a random phase."""
    amplitude, length = np.asarray(amplitude, dtype=float), np.asarray(length, dtype=float)
    angle = rng.uniform(-1.0, 1.0, size=amplitude.shape) * amplitude
    speed = np.sqrt(np.maximum(2 * GRAVITY / length * (np.cos(angle) - np.cos(amplitude)), 0.0))
    velocity = speed * rng.choice([-1.0, 1.0], size=amplitude.shape)
    state = np.stack([angle, velocity], axis=-1)
    h = 1.0 / substeps

    def derivative(s: np.ndarray) -> np.ndarray:
        return np.stack([s[..., 1], -GRAVITY / length * np.sin(s[..., 0])], axis=-1)

    angles = [state[..., 0]]
    for _ in range(n_frames - 1):
        for _ in range(substeps):
            k1 = derivative(state)
            k2 = derivative(state + 0.5 * h * k1)
            k3 = derivative(state + 0.5 * h * k2)
            k4 = derivative(state + h * k3)
            state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        angles.append(state[..., 0])
    return np.stack(angles, axis=-1)


@dataclass(frozen=True)
class PendulumVideos:
    """Videos (n, frames, size, size) with their angles (n, frames) and lengths (n,)."""

    frames: np.ndarray
    angles: np.ndarray
    lengths: np.ndarray


def make_pendulum_videos(n_videos: int, n_frames: int, size: int = 32, seed: int = 0,
                         amplitude_range: tuple[float, float] = (0.4, 1.0),
                         length_range: tuple[float, float] = (0.35, 0.55)) -> PendulumVideos:
    """A seeded set of rendered pendulum videos with varied amplitudes and rod lengths."""
    if size < 8 or n_frames < 3:
        raise ConslawError(f"pendulum videos: need size >= 8 and n_frames >= 3, got size {size}, frames {n_frames}")
    rng = np.random.default_rng(seed)
    amplitude = rng.uniform(*amplitude_range, size=n_videos)
    length = rng.uniform(*length_range, size=n_videos)
    angles = simulate_angles(amplitude, length, n_frames, rng)
    frames = render_pendulum(angles, length[:, None], size)
    return PendulumVideos(frames, angles, length)


class FramePredictor(nn.Module):
    """Next frame from the last ``context`` frames: a small conv encoder-decoder, residual output."""

    def __init__(self, context: int = 2, width: int = 16):
        super().__init__()
        self.encode = nn.Sequential(
            nn.Conv2d(context, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
        )
        self.decode = nn.Sequential(nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.ReLU())
        self.output = nn.Conv2d(width + context, 1, 3, padding=1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (context, H, W) or (B, context, H, W) -> next frame (H, W) or (B, H, W)."""
        batched = frames.dim() == 4
        x = frames if batched else frames.unsqueeze(0)
        features = self.decode(self.encode(x))
        change = self.output(torch.cat([features, x], dim=1))[:, 0]
        following = x[:, -1] + change
        return following if batched else following[0]


class FrameEmbedding(nn.Module):
    """g_phi on frames: two strided conv layers and a linear projection to R^k (as in the paper)."""

    def __init__(self, size: int, n_features: int = 16, width: int = 8):
        super().__init__()
        reduced = (size + 3) // 4
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.SiLU(),
            nn.Flatten(), nn.Linear(2 * width * reduced * reduced, n_features),
        )

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        """frame (H, W) -> (k,)."""
        return self.net(frame[None, None])[0]


def frame_step(predictor: nn.Module) -> StepFn:
    """f_theta as a functional step on a context of frames (c, H, W)."""
    return lambda theta, context: functional_call(predictor, theta, (context,))


def frame_embedding(embedding: nn.Module) -> EmbedFn:
    """g_phi as a functional embedding of one frame (H, W)."""
    return lambda phi, frame: functional_call(embedding, phi, (frame,))


def clip_sampler(frames: np.ndarray, context: int, horizon: int, batch_size: int) -> BatchSampler:
    """Random clips: ``context`` conditioning frames and ``horizon`` target frames."""
    data = torch.as_tensor(frames, dtype=torch.float32)
    n_videos, n_frames = data.shape[:2]
    if context + horizon > n_frames:
        raise ConslawError(f"pendulum videos: clips of {context}+{horizon} frames need videos of that length, got {n_frames}")

    def sample(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        which = torch.randint(n_videos, (batch_size,), generator=generator)
        start = torch.randint(n_frames - context - horizon + 1, (batch_size,), generator=generator)
        index = start[:, None] + torch.arange(context + horizon)[None, :]
        clips = data[which[:, None], index]
        return clips[:, :context], clips[:, context:]

    return sample
