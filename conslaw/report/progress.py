"""Progress bars of a run's stages on stderr (``--quiet`` hides them, never the results)."""
from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class StageProgress:
    """``progress(stage, done, total)``: one tqdm bar per stage name on stderr with its count and
    ETA, created on the stage's first report (work done before it, e.g. checkpointed, does not
    count towards the rate) and advanced on every call; a bar closes when its
    stage reports ``done >= total``, and a stage that reports again after that gets a new bar. A
    bar left open while other stages report (the HNN's training after the ranker's stages) does
    not count their time in its rate.
    Silent when ``quiet``. Fits every stage's ``progress`` argument."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bars: dict[str, tqdm] = {}
        self._finished: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage in self._finished:
            if done >= total:
                return
            self._finished.discard(stage)
            del self._bars[stage]
        for other, idle in self._bars.items():
            if other != stage and other not in self._finished:
                idle.unpause()  # its rate and ETA leave out the time the other stages take
        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = tqdm(total=total, initial=done, desc=stage, file=sys.stderr,
                                           disable=self.quiet, dynamic_ncols=True, mininterval=0.0)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            self._finished.add(stage)

    def close(self) -> None:
        """Close every bar (a stage interrupted mid-way keeps its last count on screen)."""
        for bar in self._bars.values():
            bar.close()

    def __enter__(self) -> "StageProgress":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
