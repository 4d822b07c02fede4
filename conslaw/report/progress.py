"""Progress bars of a run's stages on stderr (``--quiet`` hides them, never the results)."""
from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

LOG_INTERVAL = 10.0
"""Seconds between a stage's lines when stderr is not a terminal (a log file, a batch job)."""


class _Lines:
    """A stream for tqdm that writes each refresh of a bar as a line of its own. In a log file a
    bar's carriage returns would pile every refresh onto one ever longer line. A refresh that
    repeats the last line (a bar's close after its last update) is left out."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last = ""

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        if text and text != self._last:
            self.stream.write(text + "\n")
            self._last = text

    def flush(self) -> None:
        self.stream.flush()


class StageProgress:
    """``progress(stage, done, total)``: one tqdm bar per stage name on stderr with its count and
    ETA, created on the stage's first report (work done before it, e.g. checkpointed, does not
    count towards the rate) and advanced on every call; a bar closes when its
    stage reports ``done >= total``, and a stage that reports again after that gets a new bar. A
    bar left open while other stages report (the HNN's training after the ranker's stages) does
    not count their time in its rate.
    When stderr is not a terminal, each bar writes lines instead, at most one per
    ``LOG_INTERVAL`` seconds besides its first and last. Silent when ``quiet``. Fits every stage's
    ``progress`` argument."""

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
            bar = self._bars[stage] = self._bar(stage, done, total)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            self._finished.add(stage)

    def _bar(self, stage: str, done: int, total: int) -> tqdm:
        if sys.stderr.isatty():
            return tqdm(total=total, initial=done, desc=stage, file=sys.stderr, disable=self.quiet,
                        dynamic_ncols=True, mininterval=0.0)
        return tqdm(total=total, initial=done, desc=stage, file=_Lines(sys.stderr), disable=self.quiet,
                    ncols=80, mininterval=LOG_INTERVAL)

    def close(self) -> None:
        """Close every bar (a stage interrupted mid-way keeps its last count on screen)."""
        for bar in self._bars.values():
            bar.close()

    def __enter__(self) -> "StageProgress":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
