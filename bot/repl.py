"""An interactive question loop over any Answerer, with line editing and history on a terminal."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from index import Answer, Answerer, ArticleQAError, IndexFormatError, SearchFilter, has_searchable_words

from .limits import MAX_PASSAGES
from .render import marker_bold, to_text
from .terminal import age, bold_style, printable
from .timeexpr import search_filter

log = logging.getLogger(__name__)

HELP = f"""Type a question and press Enter. Commands:
  :k N     show N passages per answer (1-{MAX_PASSAGES}); :k alone shows the current value
  :since D only articles dated from D: 2025-02-11, 7d, 2w, yesterday, last week, March 2014,
           since March 2014 ... (a period alone is the whole window); :since alone removes it
  :until D only articles dated up to D; :until alone removes it
  :source S  only articles from publisher or site S (repeat to add more); alone: list the sources
  :clear   remove every filter
  :info    the corpus, how many articles and passages are indexed, when, and the active filter
  :reload  reopen the index, rebuilding it first if the corpus changed
  :help    this help
  :quit    leave (or Ctrl-D); Ctrl-C clears the line"""
PROMPT = "question> "
NO_WORDS = "the question has no searchable words; ask about a name, a place, a topic or an event"


Heal = Callable[[Answerer, IndexFormatError], Answerer]
"""Given an answerer whose index failed a checksum while answering, the answerer to ask again."""


def shortfall(shown: int, k: int) -> str | None:
    """Why fewer passages than asked for are shown, if so."""
    if 0 < shown < k:
        return f"only {shown} passage{'s' if shown != 1 else ''} match{'es' if shown == 1 else ''}"
    return None


@contextlib.contextmanager
def readline_history(path: Path) -> Iterator[None]:
    """Line editing and persistent history for `input()`, where readline exists.

    The history holds every question asked, so its file is readable by its owner only (0600).
    """
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
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            os.chmod(path, 0o600)  # also a file an older version or another readline left readable
            readline.write_history_file(path)


@dataclass
class _Session:
    answerer: Answerer
    k: int
    out: TextIO
    reopen: Callable[[], Answerer] | None
    heal: Heal | None = None
    today: Callable[[], dt.date] = dt.date.today
    # The filter as typed: relative dates ("7d") are read again at each question, against that day.
    since: str | None = None
    until: str | None = None
    sources: list[str] = field(default_factory=list)

    def search_filter(self) -> SearchFilter | None:
        """The active filter, None without one.

        Raises:
            QuestionError: a date cannot be read, or the window ends before it starts.
        """
        if not (self.since or self.until or self.sources):
            return None
        return search_filter(self.since, self.until, tuple(self.sources), self.today())


def _filter_command(session: _Session, command: str, argument: str) -> None:
    """`:since`, `:until`, `:source` and `:clear`: change the filter and state it, or refuse a bad one."""
    before = (session.since, session.until, list(session.sources))
    if command == ":source" and not argument:
        names = session.answerer.publishers()
        session.out.write("sources: " + (", ".join(names) if names else "none indexed") + "\n")
        return
    if command == ":since":
        session.since = argument or None
    elif command == ":until":
        session.until = argument or None
    elif command == ":source":
        session.sources.append(argument)
    else:
        session.since, session.until, session.sources = None, None, []
    try:
        active = session.search_filter()
    except ArticleQAError as err:
        session.since, session.until, session.sources = before
        session.out.write(f"{err}\n")
        return
    session.out.write(f"filter: {active.describe() if active else 'none'}\n")


def _command(session: _Session, line: str) -> bool:
    """Run one `:command`; returns False when the loop should end."""
    command, _, argument = line.partition(" ")
    argument = argument.strip()
    out = session.out
    if command in (":q", ":quit", ":exit"):
        return False
    if command in (":h", ":help", ":?"):
        out.write(HELP + "\n")
    elif command == ":k":
        if not argument:
            out.write(f"showing {session.k} passage(s) per answer\n")
        elif argument.isdigit() and 1 <= int(argument) <= MAX_PASSAGES:
            session.k = int(argument)
            out.write(f"showing {session.k} passage(s) per answer\n")
        else:
            out.write(f"k must be 1-{MAX_PASSAGES}\n")
    elif command in (":since", ":until", ":source", ":clear"):
        _filter_command(session, command, argument)
    elif command == ":info":
        out.write(_info(session.answerer) + "\n")
        active = session.search_filter()
        out.write(f"filter: {active.describe() if active else 'none'}\n")
    elif command == ":reload":
        _reload(session)
    else:
        out.write(f"unknown command {line!r}; :help lists the commands\n")
    return True


def _info(answerer: Answerer) -> str:
    stats = answerer.stats()
    skipped = f" ({stats.skipped_files} file(s) skipped)" if stats.skipped_files else ""
    return (
        f"corpus: {printable(stats.corpus)}\n"
        f"indexed: {stats.articles:,} articles, {stats.passages:,} passages{skipped}\n"
        f"built: {age(stats.built_at)}"
    )


def _reload(session: _Session) -> None:
    if session.reopen is None:
        session.out.write("this session cannot reload its index\n")
        return
    try:
        session.answerer = session.reopen()
    except ArticleQAError as err:
        session.out.write(f"reload failed, still answering from the previous index: {err}\n")
        return
    stats = session.answerer.stats()
    session.out.write(f"reloaded: {stats.articles:,} articles, {stats.passages:,} passages\n")


def _ask(session: _Session, question: str, bold: Callable[[str], str]) -> None:
    if not has_searchable_words(question):
        session.out.write(NO_WORDS + "\n")
        return
    try:
        answer = _answer_healing(session, question)
    except ArticleQAError as err:
        session.out.write(f"{err}\n")
        return
    note = shortfall(len(answer.passages), session.k)
    session.out.write(to_text(answer, bold) + (f"\n\n({note})" if note else "") + "\n\n")


def _answer_healing(session: _Session, question: str) -> Answer:
    """The answer; when a passage of the index fails its checksum, the index is healed once and the
    question asked again."""
    filters = session.search_filter()
    try:
        return session.answerer.answer(question, session.k, filters)
    except IndexFormatError as err:
        if session.heal is None:
            raise
        session.answerer = session.heal(session.answerer, err)
    return session.answerer.answer(question, session.k, filters)


def run_repl(
    answerer: Answerer,
    *,
    input_fn: Callable[[str], str] = input,
    out: TextIO,
    k: int = 3,
    interactive: bool = True,
    reopen: Callable[[], Answerer] | None = None,
    heal: Heal | None = None,
    filters: SearchFilter | None = None,
    today: Callable[[], dt.date] = dt.date.today,
) -> int:
    """Answer questions until `:quit` or end of input; returns the exit code.

    On a terminal (`interactive`), Ctrl-C abandons the line being typed or the answer being looked up,
    as in a shell. Reading from a pipe, Ctrl-C stops the loop (exit code 130). `reopen` serves
    `:reload`: it returns the answerer of the index as it is now. `heal` replaces an answerer whose
    index turns out damaged while answering, once per question. `filters` (from the command line) is
    the filter to start with; `today` dates the relative dates typed at the prompt.
    """
    session = _Session(answerer, k, out, reopen, heal, today)
    if filters is not None:
        session.since = filters.since.isoformat() if filters.since else None
        session.until = filters.until.isoformat() if filters.until else None
        session.sources = list(filters.publishers)
    bold = bold_style(out) if interactive else marker_bold
    prompt = PROMPT if interactive else ""
    if interactive:
        stats = answerer.stats()
        out.write(f"article-qa: {stats.articles} articles, {stats.passages} passages. :help for commands.\n")
    while True:
        try:
            line = printable(input_fn(prompt)).strip()
            if not line:
                continue
            if line.startswith(":"):
                if not _command(session, line):
                    return 0
                continue
            if not interactive:
                out.write(f"question: {line}\n")
            _ask(session, line, bold)
            out.flush()
        except EOFError:
            if interactive:
                out.write("\n")
            return 0
        except KeyboardInterrupt:
            if not interactive:
                return 130
            out.write("\n")
