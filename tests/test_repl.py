"""The REPL, tested by transcript."""

from __future__ import annotations

import io
import re
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.config import Settings
from bot.repl import readline_history, run_repl
from bot.service import open_service
from index.answer import QAService
from index.errors import IndexFormatError
from tests.conftest import REPO, WriteFiles
from tests.test_api import QUESTION, damage_passage

FERRY_TXT = """\
Title: Harbor ferry adds a winter timetable
Source: Harbor Gazette
Date: 2024-11-04

The harbor ferry will run every 40 minutes on weekdays from December, the port authority said on Monday, down from every 20 minutes in summer.

Weekend crossings stay hourly. Commuters asked for an earlier first boat, and the 6:10 a.m. departure from the north pier is new this winter.
"""


def feeder(lines: list[str]) -> Callable[[str], str]:
    pending = iter(lines)

    def read(_prompt: str) -> str:
        try:
            return next(pending)
        except StopIteration:
            raise EOFError from None

    return read


def test_transcript_with_commands(qa: QAService) -> None:
    out = io.StringIO()
    code = run_repl(
        qa,
        input_fn=feeder([":help", "bridge repairs", ":k 1", "library hours", ":bogus", ":quit", "x"]),
        out=out,
    )
    text = out.getvalue()
    assert code == 0
    assert text.startswith("article-qa: 4 articles")
    assert ":k N" in text
    assert "Old bridge closes for repairs" in text
    assert "showing 1 passage(s) per answer" in text
    assert "[2]" not in text.split("showing 1 passage(s)")[1]
    assert "unknown command ':bogus'" in text


def test_end_of_input_exits_cleanly(qa: QAService) -> None:
    assert run_repl(qa, input_fn=feeder([]), out=io.StringIO()) == 0


def test_ctrl_c_clears_the_line_and_ctrl_d_leaves(qa: QAService) -> None:
    typed: Iterator[str | BaseException] = iter(["library hours", KeyboardInterrupt(), "bridge repairs"])

    def terminal(_prompt: str) -> str:
        line = next(typed, EOFError())
        if isinstance(line, BaseException):
            raise line
        return line

    out = io.StringIO()
    assert run_repl(qa, input_fn=terminal, out=out) == 0
    text = out.getvalue()
    assert "9 p.m." in text and "Old bridge closes for repairs" in text


def test_ctrl_c_while_reading_a_pipe_stops_with_130(qa: QAService) -> None:
    def interrupted(_prompt: str) -> str:
        raise KeyboardInterrupt

    assert run_repl(qa, input_fn=interrupted, out=io.StringIO(), interactive=False) == 130


def test_k_alone_shows_the_value_and_out_of_range_says_the_range(qa: QAService) -> None:
    out = io.StringIO()
    run_repl(
        qa, input_fn=feeder([":k", ":k 0", ":k 11", ":k two", ":k 2", ":k"]), out=out, k=3, interactive=False
    )
    lines = out.getvalue().splitlines()
    assert lines == [
        "showing 3 passage(s) per answer",
        "k must be 1-10",
        "k must be 1-10",
        "k must be 1-10",
        "showing 2 passage(s) per answer",
        "showing 2 passage(s) per answer",
    ]


def test_wordless_questions_say_so(qa: QAService) -> None:
    out = io.StringIO()
    run_repl(qa, input_fn=feeder(["?", "the", "what is it?", ""]), out=out, interactive=False)
    assert out.getvalue().count("the question has no searchable words") == 3
    assert "No answer found" not in out.getvalue()


def test_fewer_passages_than_k_says_how_many_match(qa: QAService) -> None:
    out = io.StringIO()
    run_repl(qa, input_fn=feeder([":k 10", "old stone bridge repairs"]), out=out, interactive=False)
    assert "(only 1 passage matches)" in out.getvalue()


def test_info_shows_corpus_counts_and_age(qa: QAService, corpus_dir: Path) -> None:
    out = io.StringIO()
    run_repl(qa, input_fn=feeder([":info"]), out=out, interactive=False)
    lines = out.getvalue().splitlines()
    # The corpus by name, as everywhere the index is described (never where the server keeps it).
    assert lines[0] == f"corpus: {corpus_dir.resolve().name}"
    assert lines[1] == "indexed: 4 articles, 4 passages"
    assert re.fullmatch(r"built: \d{4}-\d\d-\d\d \d\d:\d\d UTC, (just now|1 minute ago)", lines[2])


def test_reload_serves_the_rebuilt_index(settings: Settings, write_files: WriteFiles) -> None:
    service = open_service(settings)
    write_files({"ferry.txt": FERRY_TXT})
    out = io.StringIO()
    run_repl(
        service,
        input_fn=feeder(["ferry timetable", ":reload", ":info", "ferry timetable"]),
        out=out,
        interactive=False,
        reopen=lambda: open_service(settings),
    )
    before, after = out.getvalue().split("reloaded: 5 articles, 5 passages\n")
    assert "Harbor ferry adds a winter timetable" not in before
    assert "indexed: 5 articles, 5 passages" in after
    assert "Harbor ferry adds a winter timetable" in after


def test_reload_without_a_way_to_reopen_keeps_the_index(qa: QAService) -> None:
    out = io.StringIO()
    run_repl(qa, input_fn=feeder([":reload", "bridge"]), out=out, interactive=False)
    assert "cannot reload" in out.getvalue() and "Old bridge closes" in out.getvalue()


def test_control_characters_typed_are_never_printed_back(qa: QAService) -> None:
    out = io.StringIO()
    hostile = "\x1b]0;owned\x07bridge \x1b[31mrepairs\x1b[0m\x00\x9b2J\x07 :zap\x1b[2J"
    run_repl(qa, input_fn=feeder([hostile, ":bogus\x1b[2J\x85"]), out=out, interactive=False)
    text = out.getvalue()
    assert "question: bridge repairs :zap" in text
    assert "unknown command ':bogus'" in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)


def test_history_file_is_private(tmp_path: Path) -> None:
    history = tmp_path / "index" / "repl_history"
    with readline_history(history):
        pass
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    history.chmod(0o644)  # as left by an older version
    with readline_history(history):
        pass
    assert stat.S_IMODE(history.stat().st_mode) == 0o600


def test_errors_are_shown_and_the_loop_goes_on(index_dir: Path) -> None:
    from index.answer import AnswerConfig

    qa = QAService.open(index_dir, AnswerConfig(max_question_chars=20))
    out = io.StringIO()
    run_repl(
        qa, input_fn=feeder(["a very long question about the bridge", "bridge"]), out=out, interactive=False
    )
    assert "keep it under 20" in out.getvalue()
    assert "Old bridge closes" in out.getvalue()


def test_piped_questions_are_all_answered(corpus_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "repl",
            "--corpus",
            str(corpus_dir),
            "--index-dir",
            str(tmp_path / "i"),
        ],
        input="bridge repairs\nlibrary saturday hours\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "question: bridge repairs" in result.stdout and "Old bridge closes" in result.stdout
    assert "question: library saturday hours" in result.stdout and "9 p.m." in result.stdout


def test_the_repl_heals_a_damaged_passage_once_and_asks_again(settings: Settings) -> None:
    service = open_service(settings, stream=io.StringIO())
    damage_passage(settings.index_dir, b"four hours", b"fouv hours")
    healed: list[str] = []

    def heal(answerer: object, err: IndexFormatError) -> QAService:
        healed.append(str(err))
        return open_service(settings, rebuild=True, stream=io.StringIO())

    out = io.StringIO()
    run_repl(service, input_fn=feeder([QUESTION, QUESTION]), out=out, interactive=False, heal=heal)
    assert len(healed) == 1 and "checksum" in healed[0]
    assert out.getvalue().count("Answer: **four hours**") == 2 and "corrupt" not in out.getvalue()
