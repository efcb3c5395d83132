"""Builds in worker processes: the same index byte for byte, the same warnings, and a clean stop."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import psutil
import pytest

from bot.config import Settings
from bot.progress import StderrProgress
from index.answer import QAService
from index.builder import build_index
from index.store import CURRENT, IndexStore
from tests.conftest import WriteFiles, make_settings
from tests.news_corpus import NEWS_FILES, NEWS_QUESTIONS, WILDFIRE_TEMPLATE

TOWNS = ("Paradise Valley", "Cedar Ridge", "Pine Hollow", "Silver Lake", "Eagle Pass", "Red Bluff")
PUBLISHERS = ("Valley Tribune", "Mountain Courier", "Lakeside Gazette", "Desert Sun Reporter")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def wildfire(i: int, date: str = "2024-07-16") -> str:
    """A wildfire report; `i` varies the town, the figures and the paper, so that every report differs."""
    return WILDFIRE_TEMPLATE.format(
        town=f"{TOWNS[i % len(TOWNS)]} {i // len(TOWNS) + 1}",
        publisher=PUBLISHERS[i % len(PUBLISHERS)],
        date=date,
        acres=f"{1_000 + 37 * i:,}",
        homes=str(i % 50),
        day=DAYS[i % len(DAYS)],
        contained=str(i % 100),
        evacuated=f"{200 + 11 * i:,}",
        shelter=f"the {TOWNS[i % len(TOWNS)]} community center",
    )


def feed_records(n: int) -> str:
    """A JSON Lines feed of `n` wildfire reports with the faults real feeds have: malformed lines, blank
    lines, repeated ids, ambiguous dates, a record of site furniture only and Windows-1252 lines."""
    lines = []
    for i in range(n):
        if i % 97 == 13:
            lines.append('{"id": "fire-broken", "title": "Wildfire update", "text": ')
            continue
        if i % 151 == 5:
            lines.append("")
        body = wildfire(i).split("\n\n", 1)[1]
        record = {
            "id": f"fire-{i % 400}",  # the feed restarts its numbering: later ids repeat
            "title": f"Wildfire near {TOWNS[i % len(TOWNS)]} forces evacuations",
            "text": "Share this article" if i == 211 else body,
            "publisher": PUBLISHERS[i % len(PUBLISHERS)],
            "date": "12/03/2024" if i % 89 == 0 else "2024-07-16",
            "url": f"https://news.example/fires/{i}",
        }
        lines.append(json.dumps(record, ensure_ascii=i % 2 == 0))
    return "\n".join(lines) + "\n"


@pytest.fixture
def news_corpus(write_files: WriteFiles) -> Path:
    """Several hundred kilobytes of news: files of every kind, a large feed, and files that are skipped."""
    files: dict[str, str | bytes] = dict(NEWS_FILES)
    files.update({f"regional/fires/report-{i:03d}.txt": wildfire(i) for i in range(150)})
    files["feeds/wildfires.jsonl"] = feed_records(900)
    files["feeds/legacy.jsonl"] = (
        json.dumps(
            {"id": "cafe", "title": "Café reopens", "text": "Caf\u00e9 Lumi\u00e8re reopened on Monday."}
        )
        .encode("utf-8")
        .replace(b"\\u00e9", "\u00e9".encode("cp1252"))
        .replace(b"\\u00e8", "\u00e8".encode("cp1252"))
        + b"\n"
    )
    files["feeds/broken.jsonl"] = "not json at all\n{still not\n"
    files["statement.json"] = "{truncated"
    files["empty.txt"] = ""
    files["scan.pdf"] = b"%PDF-1.7 binary"
    return write_files(files)


def checksums(index_dir: Path) -> dict[str, str]:
    manifest = IndexStore(index_dir).read_manifest()
    return {name: entry["sha256"] for name, entry in manifest.files.items()}


def build_logged(
    corpus: Path, index_dir: Path, workers: int, caplog: pytest.LogCaptureFixture
) -> list[tuple[str, str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        build_index(corpus, index_dir, workers=workers, min_parallel_bytes=0)
    return [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]


def test_parallel_build_writes_the_same_index_and_warnings(
    news_corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    single = build_logged(news_corpus, tmp_path / "single", 1, caplog)
    parallel = build_logged(news_corpus, tmp_path / "parallel", 2, caplog)

    assert checksums(tmp_path / "parallel") == checksums(tmp_path / "single")
    assert parallel == single
    messages = [message for _, message in single]
    assert "skipped scan.pdf: unsupported file type (.pdf)" in messages
    assert "skipped empty.txt: empty file" in messages
    assert any(m.startswith("skipped statement.json: malformed JSON") for m in messages)
    assert any(m.startswith("skipped feeds/broken.jsonl: no usable article") for m in messages)
    # Ten malformed lines and the record of site furniture only: three named, the rest counted.
    assert "skipped feeds/wildfires.jsonl: 8 more bad line(s)" in messages
    assert "feeds/wildfires.jsonl: 8 more line(s) with a date or URL left out" in messages
    assert "feeds/legacy.jsonl: 1 line(s) are not UTF-8; read them as Windows-1252" in messages
    a = IndexStore(tmp_path / "single").read_manifest()
    b = IndexStore(tmp_path / "parallel").read_manifest()
    assert (a.articles, a.passages, a.skipped_files) == (b.articles, b.passages, b.skipped_files)
    assert a.articles > 1000

    one, two = QAService.open(tmp_path / "single"), QAService.open(tmp_path / "parallel")
    for question in (*NEWS_QUESTIONS, "How many homes burned near Eagle Pass 3?", "Where is the café?"):
        assert two.answer(question) == one.answer(question)


def test_small_corpus_is_read_in_process(
    write_files: WriteFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_files(dict(NEWS_FILES))
    with caplog.at_level(logging.DEBUG, logger="index.builder"):
        build_index(corpus, tmp_path / "index", workers=4)
    assert "reading the corpus in this process" in caplog.messages


def test_interrupted_parallel_build_stops_its_workers_and_keeps_the_index(
    news_corpus: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    build_index(news_corpus, index_dir, workers=2, min_parallel_bytes=0)
    live = (index_dir / CURRENT).read_text(encoding="utf-8")
    before = {p.pid for p in psutil.Process().children(recursive=True)}  # the fork server stays

    def interrupt(stage: str, done: int, total: int) -> None:
        if stage == "reading" and done > total // 3:
            raise KeyboardInterrupt

    (news_corpus / "regional/fires/report-000.txt").write_text(wildfire(999), encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        build_index(news_corpus, index_dir, progress=interrupt, workers=2, min_parallel_bytes=0)

    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert (index_dir / CURRENT).read_text(encoding="utf-8") == live
    assert not [p.name for p in index_dir.iterdir() if p.name.endswith(".tmp")]
    answer = QAService.open(index_dir).answer("How many homes burned near Paradise Valley 1?")
    assert answer.passages


def test_build_workers_setting(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("ARTICLE_QA_BUILD_WORKERS=1\n", encoding="utf-8")
    assert make_settings(env).build_workers == 1
    assert make_settings().build_workers is None  # one per core
    with pytest.raises(ValueError):
        Settings(_env_file=None, build_workers=0)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_shows_counts_and_time_left() -> None:
    clock = iter([100.0, 130.0, 160.0])
    terminal = Terminal()
    progress = StderrProgress(terminal, min_total=10, clock=lambda: next(clock))
    progress("reading", 0, 4_000)
    progress("reading", 1_000, 4_000)  # a quarter in 30 s: 90 s to go
    progress("reading", 4_000, 4_000)
    lines = terminal.getvalue().split("\r\033[K")
    assert lines[2] == "reading: 1,000/4,000, about 2 min left"
    assert lines[3] == "reading: 4,000/4,000\n"


def test_progress_off_a_terminal_has_no_live_line_or_time_left() -> None:
    stream = io.StringIO()
    progress = StderrProgress(stream, min_total=10, interval=0.0)
    progress("reading", 1_000, 4_000)
    progress("reading", 4_000, 4_000)
    assert stream.getvalue() == "reading: 1,000/4,000\nreading: 4,000/4,000\n"
