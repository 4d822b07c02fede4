"""Pieces of torch work run side by side, one thread each, every torch op on one thread.

The tailoring's tensors are too small for torch's own intra-op threads to pay off (stage 1 of the
pendulum: 6.5 s on 2 threads against 6.0 s on one), but independent pieces (ensemble members,
trainings) on one thread each keep both cores busy: torch releases the GIL inside its ops, so
pieces of small ops spend their time handing it over instead (``stages.PART_ROWS`` sizes the
tailoring's pieces). With one torch thread per op, a piece's numbers also do not depend on the
number of cores.
"""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

import joblib
import torch

Result = TypeVar("Result")
PIECE_THREADS = 1
"""Torch threads each piece runs on. With one, a trained model's weights do not depend on the
ensemble it trains in, the number of cores or the pieces beside it (with two, the matrix products'
sums are split differently and the last bits differ), and two trainings on one thread each, side
by side, train 1.5x faster on 2 cores than one after the other on two threads."""


def side_by_side(work: Sequence[Callable[[], Result]]) -> list[Result]:
    """``[piece() for piece in work]``, each piece in its own thread (a single piece in this one),
    torch on ``PIECE_THREADS`` during the call (restored after). An exception of a piece is
    raised here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(PIECE_THREADS)
    try:
        if len(work) == 1:
            return [work[0]()]
        return joblib.Parallel(n_jobs=len(work), backend="threading")(joblib.delayed(piece)() for piece in work)
    finally:
        torch.set_num_threads(threads)
