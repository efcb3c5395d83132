"""What reading a corpus leaves out: the files and records skipped, and how many are logged one by one."""

from __future__ import annotations

from dataclasses import dataclass

# Bad lines of one .jsonl file logged one by one; the rest are counted in one summary warning.
MAX_LINE_WARNINGS = 3


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A corpus file (or JSON record) that could not be used, and why; `count` > 1 sums up many records."""

    path: str
    reason: str
    count: int = 1
