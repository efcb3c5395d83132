"""Progress of long runs (index builds, evaluations) on stderr, the same way for every command."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class StderrProgress:
    """Called as `progress(stage, done, total)`: a live line on a terminal, a line every `interval`
    seconds otherwise, with a bar of `width` characters when `width` is set. Runs of fewer than
    `min_total` steps print nothing: they finish before anyone could read them."""

    def __init__(
        self, stream: TextIO | None = None, interval: float = 2.0, min_total: int = 1000, width: int = 0
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._live = self._stream.isatty()
        self._interval = 0.1 if self._live else interval
        self._min_total = min_total
        self._width = width
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < self._min_total:
            return
        now = time.monotonic()
        finished = done >= total
        if not finished and now - self._last < self._interval:
            return
        self._last = now
        line = f"{stage}: {self._bar(done, total)}{done:,}/{total:,}"
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
