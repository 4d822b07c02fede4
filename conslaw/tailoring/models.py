"""The HNN baselines (Greydanus et al. 2019): a derivative MLP and a Hamiltonian neural network.

Both follow ``greydanus/hamiltonian-nn`` (``nn_models.py``, ``experiment-*/train.py``): two tanh
hidden layers of 200 units, orthogonal weight init, a bias-free output layer, Adam lr 1e-3 with
weight decay 1e-4, full-batch training on dx/dt in float32 for ``total_steps + 1 = 2001`` steps
(HNN loops ``range(total_steps + 1)``). Trained models are cached by content so they train once.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch

from conslaw.errors import ConslawError

_INIT_LOCK = threading.Lock()  # seeding + init touches torch's global RNG


class MLP(torch.nn.Module):
    """``n_in -> hidden -> ... -> n_out`` with tanh, orthogonal init and a bias-free output layer."""

    def __init__(self, n_in: int, hidden: int = 200, n_out: Optional[int] = None, depth: int = 2) -> None:
        super().__init__()
        widths = [n_in] + [hidden] * depth + [n_in if n_out is None else n_out]
        self.linears = torch.nn.ModuleList(
            torch.nn.Linear(a, b, bias=i < depth) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))
        )
        for layer in self.linears:
            torch.nn.init.orthogonal_(layer.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.linears[:-1]:
            x = torch.tanh(layer(x))
        return self.linears[-1](x)


class HNN(torch.nn.Module):
    """A Hamiltonian network: an MLP gives a scalar H(q, p); the field is (dH/dp, -dH/dq).

    States are ``(q_1..q_k, p_1..p_k)``. HNN's repository outputs two scalars and keeps the
    solenoidal one for this field; a single scalar output is the same model class.
    """

    def __init__(self, n_in: int, hidden: int = 200) -> None:
        super().__init__()
        if n_in % 2:
            raise ConslawError(f"an HNN needs an even number of state columns (q, p pairs), got {n_in}")
        self.hamiltonian = MLP(n_in, hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        training_graph = torch.is_grad_enabled()  # keep the graph when the caller differentiates
        with torch.enable_grad():
            state = x if x.requires_grad else x.detach().requires_grad_(True)
            energy = self.hamiltonian(state).sum()
            dh = torch.autograd.grad(energy, state, create_graph=training_graph)[0]
        half = x.shape[-1] // 2
        return torch.cat([dh[..., half:], -dh[..., :half]], dim=-1)


@dataclass(frozen=True)
class TrainingConfig:
    """HNN's training recipe (``experiment-*/train.py``)."""

    hidden: int = 200
    steps: int = 2001
    lr: float = 1e-3
    weight_decay: float = 1e-4


def build_model(kind: str, n_state: int, seed: int, hidden: int = 200) -> torch.nn.Module:
    """A freshly initialised ``"mlp"`` or ``"hnn"`` with a seeded init (float32)."""
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "mlp":
            return MLP(n_state, hidden)
        if kind == "hnn":
            return HNN(n_state, hidden)
    raise ConslawError(f"unknown model kind {kind!r}; choose 'mlp' or 'hnn'")


def train_derivative_model(
    model: torch.nn.Module, x: np.ndarray, dxdt: np.ndarray, config: TrainingConfig = TrainingConfig()
) -> torch.nn.Module:
    """Full-batch Adam on the dx/dt mean squared error, in float32, as HNN's train.py."""
    inputs = torch.as_tensor(x, dtype=torch.float32)
    targets = torch.as_tensor(dxdt, dtype=torch.float32)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    for _ in range(config.steps):
        optimiser.zero_grad()
        loss = ((model(inputs) - targets) ** 2).mean()
        loss.backward()
        optimiser.step()
    return model


def _fingerprint(kind: str, seed: int, x: np.ndarray, dxdt: np.ndarray, config: TrainingConfig) -> str:
    digest = hashlib.sha1()
    digest.update(f"{kind}|{seed}|{config}".encode())
    for array in (x, dxdt):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def pretrained_model(
    kind: str,
    x: np.ndarray,
    dxdt: np.ndarray,
    seed: int,
    config: TrainingConfig = TrainingConfig(),
    cache_dir: Union[str, Path, None] = None,
) -> torch.nn.Module:
    """A trained ``"mlp"``/``"hnn"``; loaded from ``cache_dir`` when the same data, seed and
    recipe were trained before, else trained and saved there."""
    model = build_model(kind, x.shape[1], seed, config.hidden)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{kind}-{_fingerprint(kind, seed, x, dxdt, config)}.pt"
        if path.exists():
            model.load_state_dict(torch.load(path, weights_only=True))
            return model
    train_derivative_model(model, x, dxdt, config)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{threading.get_ident()}")
        torch.save(model.state_dict(), temporary)
        temporary.replace(path)
    return model
