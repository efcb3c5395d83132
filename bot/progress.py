"""Progress of long runs (index builds, evaluations) on stderr, the same way for every command."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class StderrProgress:
    """Called as `progress(stage, done, total)`: a live line with the time left on a terminal, a line
    every `interval` seconds otherwise, with a bar of `width` characters when `width` is set. Runs of
    fewer than `min_total` steps print nothing: they finish before anyone could read them."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = 2.0,
        min_total: int = 1000,
        width: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._live = self._stream.isatty()
        self._interval = 0.1 if self._live else interval
        self._min_total = min_total
        self._width = width
        self._last = 0.0
        self._clock = clock
        self._started: dict[str, tuple[float, int]] = {}  # stage -> (when and where it was first seen)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < self._min_total:
            return
        now = self._clock()
        started = self._started.setdefault(stage, (now, done))
        finished = done >= total
        if not finished and now - self._last < self._interval:
            return
        self._last = now
        line = f"{stage}: {self._bar(done, total)}{done:,}/{total:,}"
        if self._live:
            line += _time_left(started, now, done, total)
        self._stream.write(f"\r\033[K{line}" + ("\n" if finished else "") if self._live else line + "\n")
        self._stream.flush()

    def stage(self, name: str) -> Callable[[int, int], None]:
        """This reporter as `progress(done, total)` for one named stage."""
        return lambda done, total: self(name, done, total)

    def _bar(self, done: int, total: int) -> str:
        if not self._width:
            return ""
        filled = self._width * done // max(total, 1)
        return f"[{'#' * filled}{'.' * (self._width - filled)}] "


def _time_left(started: tuple[float, int], now: float, done: int, total: int) -> str:
    """ ", about 2 min left": the rate so far applied to what is left (nothing until it can be told)."""
    since, first = started
    elapsed, progressed = now - since, done - first
    if done >= total or progressed <= 0 or elapsed < 1.0:
        return ""
    left = elapsed * (total - done) / progressed
    if left < 60:
        return f", about {max(int(left), 1)} s left"
    if left < 3600:
        return f", about {round(left / 60)} min left"
    return f", about {left / 3600:.1f} h left"
