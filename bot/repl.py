"""An interactive question loop over any Answerer, with line editing and history on a terminal."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from index.answer import Answerer
from index.errors import ArticleQAError

from .render import ansi_bold, marker_bold, to_text

log = logging.getLogger(__name__)

HELP = """Type a question and press Enter. Commands:
  :k N     show N passages per answer (1-10)
  :help    this help
  :quit    leave (Ctrl-D and Ctrl-C work too)"""
PROMPT = "question> "


@contextlib.contextmanager
def readline_history(path: Path) -> Iterator[None]:
    """Line editing and persistent history for `input()`, where readline exists."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        yield
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)


def run_repl(
    answerer: Answerer,
    *,
    input_fn: Callable[[str], str] = input,
    out: TextIO,
    k: int = 3,
    interactive: bool = True,
) -> int:
    """Answer questions until `:quit`, end of input or Ctrl-C; returns the exit code."""
    bold = ansi_bold if interactive and out.isatty() else marker_bold
    prompt = PROMPT if interactive else ""
    if interactive:
        stats = answerer.stats()
        out.write(f"article-qa: {stats.articles} articles, {stats.passages} passages. :help for commands.\n")
    while True:
        try:
            line = input_fn(prompt).strip()
        except (EOFError, KeyboardInterrupt):
            if interactive:
                out.write("\n")
            return 0
        if not line:
            continue
        if line.startswith(":"):
            command, _, argument = line.partition(" ")
            if command in (":q", ":quit", ":exit"):
                return 0
            if command in (":h", ":help", ":?"):
                out.write(HELP + "\n")
            elif command == ":k" and argument.strip().isdigit() and 1 <= int(argument) <= 10:
                k = int(argument)
                out.write(f"showing {k} passage(s) per answer\n")
            else:
                out.write(f"unknown command {line!r}; :help lists the commands\n")
            continue
        if not interactive:
            out.write(f"question: {line}\n")
        try:
            answer = answerer.answer(line, k)
        except ArticleQAError as err:
            out.write(f"{err}\n")
            continue
        out.write(to_text(answer, bold) + "\n\n")
        out.flush()
