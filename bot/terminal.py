"""What the command line and the REPL print on a terminal: bold only where wanted, input echoed safely."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from typing import TextIO

# ANSI escape sequences (CSI such as colours and cursor moves, OSC such as window titles and links, and
# the two-byte ESC forms), then any C0 or C1 control character left: text read from stdin is printed
# back only without them, so a pasted or piped escape sequence cannot move the cursor or retitle the
# terminal.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST (or cut short)
    r"|\x1b[@-Z\\-_]"  # other two-byte sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without escape sequences or control characters (tabs and newlines stay)."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def color_enabled(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """True when `stream` is a terminal and NO_COLOR (https://no-color.org) is unset or empty."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False


def bold_style(stream: TextIO, environ: dict[str, str] | None = None) -> Callable[[str], str]:
    """ANSI bold on a colour terminal, `**markers**` everywhere else (pipes, files, NO_COLOR)."""
    from .render import ansi_bold, marker_bold

    return ansi_bold if color_enabled(stream, environ) else marker_bold


def age(built_at: dt.datetime, now: dt.datetime | None = None) -> str:
    """ "2026-11-29 06:59 UTC, 3 minutes ago": when an index was built, for people."""
    now = now or dt.datetime.now(dt.UTC)
    if built_at.tzinfo is None:
        built_at = built_at.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - built_at).total_seconds()))
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            ago = f"{count} {unit}{'s' if count != 1 else ''} ago"
            break
    else:
        ago = "just now"
    return f"{built_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC, {ago}"
