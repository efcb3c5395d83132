"""The command line contract: output, --json schema and exit codes."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.parser import DEFAULT_K
from bot.terminal import bold_style
from tests.conftest import REPO, WriteFiles


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_builds_on_first_use_and_prints_passages_with_sources(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = str(tmp_path / "idx")
    code, out, _ = run(
        capsys, "ask", "how long did Kerry and Lavrov talk", "--corpus", str(corpus_dir), "--index-dir", index
    )
    assert code == 0
    assert "**" in out and "four hours" in out
    assert "Kerry and Lavrov End Paris Talks Without a Deal · Example Wire · 2014-03-30" in out
    assert (tmp_path / "idx" / "CURRENT").exists()


def test_ask_json_schema(corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "ask",
        "bridge repairs",
        "--json",
        "-k",
        "2",
        "--corpus",
        str(corpus_dir),
        "--index-dir",
        str(tmp_path / "i"),
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"question", "answered", "short_answer", "passages", "filter", "left_out_undated"}
    assert data["filter"] is None and data["left_out_undated"] == 0
    assert data["answered"] is True
    assert data["question"] == "bridge repairs"
    assert 1 <= len(data["passages"]) <= 2
    for passage in data["passages"]:
        assert set(passage) == {"text", "score", "highlight", "sources", "also_in", "dates", "story"}
        assert set(passage["story"]) == {"id", "articles", "publishers", "first_date", "last_date"}
        assert isinstance(passage["score"], float)
        start, end = passage["highlight"]
        assert 0 <= start < end <= len(passage["text"])
        for source in passage["sources"]:
            assert set(source) == {"title", "publisher", "date", "url", "path", "author"}
    assert data["passages"][0]["sources"][0] == {
        "title": "Old bridge closes for repairs",
        "publisher": "City Times",
        "date": "2023-05-02",
        "url": "https://citytimes.example/bridge",
        "path": "city/bridge.html",
        "author": None,
    }


def test_no_answer_exits_zero(corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "ask", "zeppelin", "--json", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 0 and json.loads(out)["passages"] == []
    code, out, _ = run(
        capsys, "ask", "zeppelin", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 0 and out.startswith("No answer found")


@pytest.mark.parametrize("question", ["", "?", "the", "  What was it?! "])
def test_wordless_question_is_a_usage_error(
    question: str, corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "ask", question, "--json", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 2 and out == ""
    assert err.startswith("ERROR: the question has no searchable words")
    assert not (tmp_path / "i").exists()  # refused before any index is built


def test_fewer_passages_than_asked_says_how_many_match(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i"))
    code, out, _ = run(capsys, "ask", "bridge repairs", "-k", "10", *args)
    assert code == 0 and out.rstrip().endswith("(only 1 passage matches)")
    code, out, _ = run(capsys, "ask", "bridge repairs", "-k", "1", *args)
    assert code == 0 and "only" not in out


def test_errors_are_one_line_with_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "ask", "x", "--corpus", str(tmp_path / "missing"), "--index-dir", str(tmp_path / "i")
    )
    assert code == 2 and err.strip().splitlines() == [
        f"ERROR: corpus not found: {tmp_path / 'missing'} (pass --corpus PATH or set ARTICLE_QA_CORPUS)"
    ]
    (tmp_path / "empty").mkdir()
    code, _, err = run(
        capsys, "index", "--corpus", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "i")
    )
    assert code == 2 and "no .txt/.md/.html/.json/.jsonl file" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as usage:
        main(["ask"])
    assert usage.value.code == 2


def test_invalid_setting_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARTICLE_QA_TOP_K", "lots")
    code, _, err = run(capsys, "ask", "x")
    assert code == 2 and "invalid settings: ARTICLE_QA_TOP_K must be a valid integer" in err


def test_question_too_long_is_a_usage_error(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "ask", "bridge " * 200, "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 2 and "characters long" in err


def test_index_command_reports_counts_and_corpus(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "index", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i"))
    assert code == 0
    assert out.startswith(
        f"added 4, updated 0, removed 0 articles; index now 4 passages from 4 articles of {corpus_dir.resolve()} ("
    )
    assert out.rstrip().endswith(f"-> {tmp_path / 'i'}")


def test_corrupt_index_is_rebuilt_with_one_line(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i"))
    run(capsys, "index", *args)
    (tmp_path / "i" / "CURRENT").write_text("gen-gone", encoding="utf-8")
    code, out, err = run(capsys, "ask", "bridge", *args)
    assert code == 0 and "bridge" in out
    assert [line for line in err.splitlines() if line.startswith("WARNING")] == [
        f"WARNING: index was corrupt (index pointer {tmp_path / 'i' / 'CURRENT'} names a missing generation); "
        "rebuilt it"
    ]


def test_console_entry_point_and_python_m(tmp_path: Path) -> None:
    for command in ([sys.executable, "-m", "bot", "--help"],):
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
        assert result.returncode == 0
        for word in ("index", "ask", "repl"):
            assert word in result.stdout


PORT_STRIKE_MD = """\
# Port workers end three-day strike

Dock workers at the city port returned to work on Thursday after a three-day strike over night-shift pay.

The union said members accepted a 6% raise over two years. About 40 container ships waited offshore during the stoppage.
"""


@pytest.fixture
def shipped_like_corpus(tmp_path: Path) -> Path:
    """A ./corpus in the working directory, as in a clone, holding an article of its own."""
    folder = Path.cwd() / "corpus"
    folder.mkdir()
    (folder / "port-strike.md").write_text(PORT_STRIKE_MD, encoding="utf-8")
    return folder


def test_ask_answers_from_the_corpus_the_index_was_built_from(
    corpus_dir: Path, shipped_like_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "index", "--corpus", str(corpus_dir))[0] == 0
    code, out, err = run(capsys, "ask", "how long was the bridge closed for repairs")
    assert code == 0 and "six months of repairs" in out
    assert "WARNING" not in err
    code, out, err = run(capsys, "index", "--verify")
    assert code == 0 and f"articles of {corpus_dir.resolve()}" in out and "up to date" in out


def test_another_explicit_corpus_warns_before_replacing_the_index(
    corpus_dir: Path, shipped_like_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "index", "--corpus", str(corpus_dir))
    code, out, err = run(capsys, "ask", "how long did the strike last", "--corpus", "corpus")
    assert code == 0 and "three-day strike" in out
    assert [line for line in err.splitlines() if line.startswith("WARNING")] == [
        f"WARNING: replacing the index of {corpus_dir.resolve()} with corpus"
    ]
    code, out, err = run(capsys, "ask", "how long did the strike last")  # the new corpus stays
    assert code == 0 and "three-day strike" in out and "WARNING" not in err


def test_corpus_setting_counts_as_explicit(
    corpus_dir: Path,
    shipped_like_corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "index", "--corpus", str(corpus_dir))
    monkeypatch.setenv("ARTICLE_QA_CORPUS", "corpus")
    code, out, err = run(capsys, "ask", "how long did the strike last")
    assert code == 0 and "three-day strike" in out
    assert f"replacing the index of {corpus_dir.resolve()} with corpus" in err


def test_verify_checks_the_index_as_it_is(
    corpus_dir: Path, write_files: WriteFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i"))
    code, _, err = run(capsys, "index", "--verify", *args)
    assert code == 1 and "no index in" in err
    assert not (tmp_path / "i" / "CURRENT").exists()  # verifying never builds

    run(capsys, "index", *args)
    live = (tmp_path / "i" / "CURRENT").read_text(encoding="utf-8").strip()
    code, out, _ = run(capsys, "index", "--verify", *args)
    assert code == 0
    assert out.startswith(f"The index in {tmp_path / 'i'} is intact: ")
    assert "It holds 4 passages from 4 articles" in out and "It is up to date with the corpus." in out

    write_files(
        {
            "extra.md": "# Market hall reopens\n\nThe market hall reopened on Friday after a new roof was fitted.\n"
        }
    )
    code, out, _ = run(capsys, "index", "--verify", *args)
    assert code == 0 and "It needs a rebuild (the corpus changed since the index was built)" in out
    assert (tmp_path / "i" / "CURRENT").read_text(encoding="utf-8").strip() == live

    passages = tmp_path / "i" / live / "passages.txt"
    text = passages.read_bytes()
    passages.write_bytes(text.replace(b"bridge", b"bridgE", 1))  # same size, other content
    code, out, err = run(capsys, "index", "--verify", *args)
    assert code == 1 and out == ""
    assert err.startswith("ERROR: the index is damaged: index file ") and "checksum mismatch" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["-q", "--index-dir", "IDX", "index", "--corpus", "CORPUS"],
        ["index", "-q", "--corpus", "CORPUS", "--index-dir", "IDX"],
        ["--corpus", "CORPUS", "index", "--index-dir", "IDX", "--quiet"],
    ],
)
def test_global_flags_go_before_or_after_the_command(
    argv: list[str], corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    swap = {"IDX": str(tmp_path / "i"), "CORPUS": str(corpus_dir)}
    code, out, err = run(capsys, *[swap.get(arg, arg) for arg in argv])
    assert (
        code == 0
        and out.startswith("added 4, updated 0, removed 0 articles; index now 4 passages")
        and err == ""
    )
    assert (tmp_path / "i" / "CURRENT").exists()


def test_flag_after_the_command_wins(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        *("-q", "--corpus", str(tmp_path / "nowhere"), "index"),
        *("-v", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")),
    )
    assert code == 0 and "INFO: indexed 4 passages" in err


def test_a_bad_flag_shows_the_command_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "--bogus", "how long did the talks last"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("usage: article-qa ask ")
    assert err.rstrip().endswith("article-qa ask: error: unrecognized arguments: --bogus")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"article-qa \d+\.\d+\S*\n", capsys.readouterr().out)


@pytest.mark.parametrize("command", ["index", "ask", "repl", "discord", "eval"])
def test_every_command_help_has_a_description_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())  # help is wrapped to the terminal width
    assert exit_.value.code == 0
    description = out.split("options:")[0].split(" positional arguments:")[0]
    assert len(description.split()) > 20  # a usage line alone is not a description
    assert "exit codes: 0 " in out and " 2 usage or configuration error" in out
    if command in ("ask", "repl"):
        assert "default: 3" in out
    if command in ("ask", "repl", "discord"):
        assert "built on first use and rebuilt on its own when the corpus files or the settings change" in out
    assert "a folder (searched recursively" in out or command == "eval"
    for accepted in (".jsonl file", ".txt", ".md", ".html", ".htm", ".json file"):
        assert accepted in out


def test_eval_help_shows_the_real_index_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "default: .article-qa/eval/<corpus name>-<hash>/" in out


def test_help_default_k_is_the_settings_default() -> None:
    assert Settings.model_fields["top_k"].default == DEFAULT_K


def test_no_color_turns_bold_into_markers() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert bold_style(Terminal(), {})("x") == "\033[1mx\033[0m"
    assert bold_style(Terminal(), {"NO_COLOR": "1"})("x") == "**x**"
    assert bold_style(Terminal(), {"NO_COLOR": ""})("x") == "\033[1mx\033[0m"  # empty means unset
    assert bold_style(io.StringIO(), {})("x") == "**x**"


def test_a_vanished_corpus_is_named_instead_of_replaced(
    corpus_dir: Path, shipped_like_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "index", "--corpus", str(corpus_dir))
    moved = corpus_dir.rename(corpus_dir.with_name("archived"))
    code, out, err = run(capsys, "ask", "how long did the strike last")
    assert code == 2 and out == ""
    assert err.startswith(f"ERROR: corpus not found: {corpus_dir.resolve()} (pass --corpus PATH")
    code, out, _ = run(capsys, "ask", "bridge repairs", "--corpus", str(moved))
    assert code == 0 and "Old bridge closes for repairs" in out


def test_eval_help_says_its_index_is_built_automatically(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "The eval index is built on first use" in " ".join(capsys.readouterr().out.split())


def test_index_summary_counts_agree_with_their_nouns() -> None:
    from bot.commands import count

    assert [count(1, "article"), count(2_340, "article"), count(0, "passage")] == [
        "1 article",
        "2,340 articles",
        "0 passages",
    ]
    assert count(1, "file or record", "files or records") == "1 file or record"
    assert count(3, "file or record", "files or records") == "3 files or records"
