"""The command line as a process: closed pipes, Ctrl-C during a build, and what loads at start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TOWNS = ["Alder Bay", "Brookfield", "Cedar Falls", "Dunmore", "Eastwick", "Fairhaven", "Glenrock", "Hollis"]
TOPICS = [
    (
        "council approves {n} new bus shelters",
        "The {town} council voted {n} to 2 on Tuesday to fund new bus shelters along the "
        "main road. Work starts in spring, the transport office said, and should take about {n} weeks.",
    ),
    (
        "school board delays budget vote",
        "The {town} school board put off its budget vote for {n} days after parents asked "
        "for more time to read the plan. The draft adds {n} teaching posts and trims the sports budget.",
    ),
    (
        "storm knocks out power to {n} homes",
        "High winds cut power to {n} homes in {town} overnight. Crews restored most "
        "lines by noon on Wednesday, and the utility said the last repairs would finish by Friday.",
    ),
]


def _env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("ARTICLE_QA_")}
    return {**env, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def _command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "bot", *argv]


@pytest.fixture
def built(corpus_dir: Path, tmp_path: Path) -> tuple[str, ...]:
    """Flags naming the test corpus and an index already built from it."""
    where = ("--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "index"))
    subprocess.run(_command("index", *where), env=_env(), cwd=tmp_path, check=True, capture_output=True)
    return where


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (("ask", "how long did Kerry and Lavrov talk"), b""),
        (("ask", "bridge repairs", "--json"), b""),
        (("repl",), b"bridge repairs\nlibrary saturday hours\n"),
        (("--help",), b""),
    ],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(
    argv: tuple[str, ...], stdin: bytes, built: tuple[str, ...], tmp_path: Path
) -> None:
    """`article-qa ask ... | head -1`: the reader closes the pipe before the answer is written."""
    process = subprocess.Popen(
        _command(*argv, *built) if argv != ("--help",) else _command(*argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=tmp_path,
    )
    assert process.stdout is not None
    process.stdout.close()  # as `head` does once it has what it wants
    _, err = process.communicate(stdin, timeout=120)
    assert process.returncode in (0, 141)  # 0 only if everything was written before the close
    assert b"Traceback" not in err and b"please report" not in err and b"Exception ignored" not in err
    assert b"ERROR" not in err


def test_closed_pipe_exits_141(built: tuple[str, ...], tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails
    with os.fdopen(write_end, "wb") as stdout:
        result = subprocess.run(
            _command("ask", "bridge repairs", *built),
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=_env(),
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
    assert result.returncode == 141
    assert result.stderr == b""


def _write_big_corpus(folder: Path, count: int) -> None:
    folder.mkdir()
    for number in range(count):
        town = TOWNS[number % len(TOWNS)]
        title, body = TOPICS[number % len(TOPICS)]
        n = 10 + number % 90
        (folder / f"{number:05d}.txt").write_text(
            f"Title: {town} {title.format(n=n)}\nSource: County Ledger\nDate: 2024-0{1 + number % 9}-1{number % 10}\n\n"
            f"{body.format(town=town, n=n)}\n",
            encoding="utf-8",
        )


def test_ctrl_c_during_index_keeps_the_previous_index(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    old = ("--corpus", str(corpus_dir), "--index-dir", str(index_dir))
    subprocess.run(_command("index", *old), env=_env(), cwd=tmp_path, check=True, capture_output=True)
    live = (index_dir / "CURRENT").read_text(encoding="utf-8")
    # Large enough that the build is still reading when the signal lands (3,000 articles took 0.65 s).
    _write_big_corpus(tmp_path / "county", 20000)

    process = subprocess.Popen(
        _command("index", "--corpus", str(tmp_path / "county"), "--index-dir", str(index_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=tmp_path,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # wait until the build is reading articles
        seen.append(line)
        if line.startswith("reading: "):
            break
    process.send_signal(signal.SIGINT)
    out, rest = process.communicate(timeout=120)
    err = "".join(seen) + rest
    assert process.returncode == 130, err
    assert err.rstrip().endswith("interrupted; the previous index is unchanged")
    assert "Traceback" not in err and out == ""
    assert (index_dir / "CURRENT").read_text(encoding="utf-8") == live

    answer = subprocess.run(
        _command("ask", "bridge repairs", "--json", "--index-dir", str(index_dir)),
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(answer.stdout)["passages"][0]["sources"][0]["title"] == "Old bridge closes for repairs"


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        f"try:\n    main({code})\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\n"
        "print('\\n' + ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(result.stderr.splitlines()[-1].split())


def test_help_loads_neither_the_engine_nor_pydantic(tmp_path: Path) -> None:
    loaded = _modules_after("['--help']", tmp_path)
    assert not {"numpy", "pydantic", "pydantic_settings", "discord", "index", "bot.evaluate"} & loaded
    loaded = _modules_after("['ask', '--help']", tmp_path)
    assert not {"numpy", "pydantic", "discord", "index"} & loaded


def test_ask_loads_neither_discord_nor_the_evaluation(built: tuple[str, ...], tmp_path: Path) -> None:
    loaded = _modules_after(repr(["ask", "bridge repairs", *built]), tmp_path)
    assert "index.answer" in loaded  # it did answer
    assert (
        not {"discord", "bot.discord_app", "bot.launcher", "bot.evaluate", "index.evaluation", "rank_bm25"}
        & loaded
    )
    # A current index is answered from without loading the build side.
    assert not {"index.builder", "index.loader", "index.htmltext"} & loaded


class Terminal:
    """The REPL on a pseudo-terminal, so that readline, Ctrl-C and Ctrl-D behave as for a person."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the REPL
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, *argv[1:]], _env())
        self.seen = b""

    def wait_for(self, text: bytes, deadline_s: float = 120.0) -> bytes:
        """Read until `text` appears; returns what came since the last wait (the deadline only stops a hang)."""
        import select
        import time

        start = len(self.seen)
        give_up = time.monotonic() + deadline_s
        while text not in self.seen[start:]:
            assert time.monotonic() < give_up, f"no {text!r} in {self.seen[start:]!r}"
            ready, _, _ = select.select([self.fd], [], [], 1.0)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:  # the REPL exited and the terminal closed
                    break
        return self.seen[start:]

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def settle(self, quiet_s: float = 0.5) -> None:
        """Read until the REPL has been silent for `quiet_s`: it is then waiting for a key.

        CPython's readline loop checks for signals only when its select() is interrupted, so a Ctrl-C
        that lands while it is still echoing the previous key waits for the next key (a person never
        types that fast; a test on a busy machine can).
        """
        import select

        while select.select([self.fd], [], [], quiet_s)[0]:
            try:
                self.seen += os.read(self.fd, 65536)
            except OSError:
                return

    def exit_code(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_repl_on_a_terminal_ctrl_c_clears_the_line_and_ctrl_d_leaves(
    built: tuple[str, ...], tmp_path: Path
) -> None:
    repl = Terminal(_command("repl", *built), tmp_path)
    repl.wait_for(b"question> ")
    repl.type(b"how long did Kerry and Lav")
    repl.wait_for(b"Lav")
    repl.settle()
    repl.type(b"\x03")  # Ctrl-C: the terminal sends SIGINT
    repl.wait_for(b"question> ")
    repl.type(b"bridge repairs\r")
    answer = repl.wait_for(b"question> ")
    assert b"Old bridge closes for repairs" in answer and b"Kerry" not in answer
    repl.type(b":k\r")
    assert b"showing 3 passage(s) per answer" in repl.wait_for(b"question> ")
    repl.type(b"\x04")  # Ctrl-D on an empty line: end of input
    assert repl.exit_code() == 0
    history = Path(f"{built[-1]}-state") / "repl_history"  # beside the index, never inside it
    assert (history.stat().st_mode & 0o777) == 0o600
    assert "bridge repairs" in history.read_text(encoding="utf-8")
