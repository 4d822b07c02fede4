"""Training one kind of baseline in a process of its own, beside the rest of the tailoring.

The HNN baselines are needed only at the evaluation's end, and their training (a gradient of a
gradient) is the longest of the run's. On one torch thread a model's weights are the same in any
process and any ensemble (``models.pretrained_params``), so the HNNs can train in a spawned
process while this one trains the MLPs and runs the ranker's stages on its own torch threads:
the two cores are busy from the start instead of one training waiting for the other. A thread
would not do: torch's thread count is one per process, and the stages' sums would round
differently on the training's one thread.
"""
from __future__ import annotations

import multiprocessing
import queue
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from conslaw.errors import ConslawError
from conslaw.tailoring.models import Params, pretrained_params

POLL_SECONDS = 0.5
"""How often a wait for the process checks that it is still alive."""


def _train(messages: "multiprocessing.Queue", kind: str, x: Sequence[np.ndarray], dxdt: Sequence[np.ndarray],
           seeds: Sequence[int], recipe: dict) -> None:
    """The spawned process: train, reporting the share done; send the weights as numpy arrays
    (torch tensors would travel through shared-memory handles that outlive no process cleanly)."""
    try:
        trained = pretrained_params((kind,), x, dxdt, seeds, workers=1, **recipe,
                                    progress=lambda fraction: messages.put(("progress", fraction)))[kind]
        messages.put(("done", [{name: value.numpy() for name, value in params.items()} for params in trained]))
    except BaseException as error:  # the parent re-raises it with its own message
        messages.put(("error", f"{type(error).__name__}: {error}"))


class BackgroundTraining:
    """``pretrained_params`` of one ``kind`` running in a spawned process; ``result`` waits for it."""

    def __init__(self, kind: str, x: Sequence[np.ndarray], dxdt: Sequence[np.ndarray], seeds: Sequence[int], *,
                 hidden: int, steps: int, lr: float, weight_decay: float,
                 cache_dir: Union[str, Path, None] = None, vectorize: bool = True) -> None:
        context = multiprocessing.get_context("spawn")  # fork would copy this process's OpenMP state
        self.kind = kind
        self._messages = context.Queue()
        recipe = dict(hidden=hidden, steps=steps, lr=lr, weight_decay=weight_decay,
                      cache_dir=str(cache_dir) if cache_dir else None, vectorize=vectorize)
        self._process = context.Process(target=_train, args=(self._messages, kind, list(x), list(dxdt), list(seeds),
                                                             recipe), daemon=True)
        self._process.start()
        self.fraction = 0.0

    def result(self, progress: Optional[Callable[[float], None]] = None) -> list[Params]:
        """The trained parameters per seed, once the process has sent them; ``progress(fraction)``
        on every report meanwhile. A process that fails or dies raises ``ConslawError``."""
        while True:
            try:
                message = self._messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    raise ConslawError(f"the {self.kind.upper()} training process ended without a result "
                                       f"(exit code {self._process.exitcode})") from None
                continue
            if message[0] == "progress":
                self.fraction = message[1]
                if progress:
                    progress(self.fraction)
            elif message[0] == "error":
                raise ConslawError(f"the {self.kind.upper()} training failed: {message[1]}")
            else:
                self._process.join()
                return [{name: torch.as_tensor(value) for name, value in params.items()} for params in message[1]]

    def stop(self) -> None:
        """End the process if it is still training (an interrupted run)."""
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
