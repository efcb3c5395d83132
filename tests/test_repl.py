"""The REPL, tested by transcript."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import REPO

from bot.repl import run_repl
from index.answer import QAService


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


def test_end_of_input_and_ctrl_c_exit_cleanly(qa: QAService) -> None:
    assert run_repl(qa, input_fn=feeder([]), out=io.StringIO()) == 0

    def interrupt(_prompt: str) -> str:
        raise KeyboardInterrupt

    assert run_repl(qa, input_fn=interrupt, out=io.StringIO()) == 0


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
