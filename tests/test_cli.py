"""The command line contract: output, --json schema and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from bot.cli import main


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
    assert set(data) == {"question", "answered", "short_answer", "passages"}
    assert data["answered"] is True
    assert data["question"] == "bridge repairs"
    assert 1 <= len(data["passages"]) <= 2
    for passage in data["passages"]:
        assert set(passage) == {"text", "score", "highlight", "sources", "also_in"}
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
        capsys, "ask", "the", "--json", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 0 and json.loads(out)["passages"] == []
    code, out, _ = run(
        capsys, "ask", "zeppelin", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 0 and out.startswith("No answer found")


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
    assert code == 2 and "invalid settings (top_k:" in err


def test_question_too_long_is_a_usage_error(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "ask", "bridge " * 200, "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 2 and "characters long" in err


def test_index_command_reports_counts(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "index", "--verify", "--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i")
    )
    assert code == 0 and out.startswith("Indexed ") and "from 4 articles" in out


def test_corrupt_index_is_rebuilt_with_one_line(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--corpus", str(corpus_dir), "--index-dir", str(tmp_path / "i"))
    run(capsys, "index", *args)
    (tmp_path / "i" / "CURRENT").write_text("gen-gone", encoding="utf-8")
    code, out, err = run(capsys, "ask", "bridge", *args)
    assert code == 0 and "bridge" in out
    assert [line for line in err.splitlines() if line.startswith("WARNING")] == [
        f"WARNING: rebuilding the index: index pointer {tmp_path / 'i' / 'CURRENT'} names a missing generation; "
        "run `article-qa index` to rebuild it"
    ]


def test_console_entry_point_and_python_m(tmp_path: Path) -> None:
    for command in ([sys.executable, "-m", "bot", "--help"],):
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
        assert result.returncode == 0
        for word in ("index", "ask", "repl"):
            assert word in result.stdout
