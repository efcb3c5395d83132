"""The watched folder: changes are batched until the folder is quiet, then the index catches up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import open_service
from bot.watch import CorpusWatcher, corpus_watcher, on_corpus_changed
from tests.conftest import REPO, make_settings

FERRY_STRIKE = """\
Title: Ferry crews vote to strike over winter rota
Source: Coastal Gazette
URL: https://coastal.example/news/ferry-crews-strike
Date: 2024-10-21

Crews on the Marlow Island ferry have voted to strike for 48 hours from 1 November, the RMT union said on Monday, after talks over the winter rota broke down.

Of the 62 crew members balloted, 51 voted in favour. North Sound Ferries said it was disappointed and would run a reduced service using managers who hold sea certificates.
"""

MARKET_NOTE = """\
Title: Farmers' market moves to the old fish hall
Source: Valley Courier
Date: 2024-10-22

The Saturday farmers' market will move indoors to the old fish hall on Quay Street from November until March. Stallholders voted for the move after three markets were cancelled by high winds last winter.
"""


class Calls:
    """Records each batch of changes the watcher reports."""

    def __init__(self) -> None:
        self.batches: list[frozenset[Path]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, changed: frozenset[Path]) -> None:
        self.batches.append(changed)
        self.arrived.set()

    async def next(self, timeout: float = 5.0) -> frozenset[Path]:
        await asyncio.wait_for(self.arrived.wait(), timeout)
        self.arrived.clear()
        return self.batches[-1]


async def running(watcher: CorpusWatcher) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(watcher.run())
    await asyncio.wait_for(watcher.ready.wait(), 5)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def calls() -> Calls:
    return Calls()


@pytest.mark.parametrize("force_polling", [False, True])
async def test_a_dropped_article_is_reported(corpus_dir: Path, calls: Calls, force_polling: bool) -> None:
    watcher = CorpusWatcher(corpus_dir, calls, quiet=0.3, force_polling=force_polling)
    async for _ in running(watcher):
        (corpus_dir / "ferry-strike.txt").write_text(FERRY_STRIKE, encoding="utf-8")
        changed = await calls.next()
    assert {path.name for path in changed} == {"ferry-strike.txt"}


async def test_a_batch_copied_in_parts_is_reported_once(corpus_dir: Path, calls: Calls) -> None:
    watcher = CorpusWatcher(corpus_dir, calls, quiet=1.0, max_delay=30)
    async for _ in running(watcher):
        for number in range(5):
            (corpus_dir / "batch").mkdir(exist_ok=True)
            (corpus_dir / "batch" / f"note-{number}.md").write_text(MARKET_NOTE, encoding="utf-8")
            await asyncio.sleep(0.05)  # well inside the quiet period
        changed = await calls.next()
        await asyncio.sleep(1.5)
    assert len(calls.batches) == 1
    # A file written into a brand-new folder can beat the watch on that folder: the folder is reported
    # then, and stands for everything under it.
    names = {path.name for path in changed}
    assert "batch" in names or names >= {f"note-{number}.md" for number in range(5)}
    assert "note-4.md" in names


async def test_hidden_and_temporary_files_are_ignored(corpus_dir: Path, calls: Calls) -> None:
    watcher = CorpusWatcher(corpus_dir, calls, quiet=0.3)
    async for _ in running(watcher):
        (corpus_dir / ".ferry-strike.json.tmp-4242").write_text("{}", encoding="utf-8")
        (corpus_dir / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        (corpus_dir / "ferry-strike.txt").write_text(FERRY_STRIKE, encoding="utf-8")
        changed = await calls.next()
    assert {path.name for path in changed} == {"ferry-strike.txt"}


async def test_a_stream_of_changes_is_reported_by_the_max_delay(corpus_dir: Path, calls: Calls) -> None:
    watcher = CorpusWatcher(corpus_dir, calls, quiet=0.5, max_delay=1.0)
    async for _ in running(watcher):
        log = corpus_dir / "live-blog.md"
        for minute in range(25):  # a file written every 0.1 s for 2.5 s never goes quiet
            with log.open("a", encoding="utf-8") as out:
                out.write(f"Update {minute}: the harbour road is still closed.\n\n")
            await asyncio.sleep(0.1)
        reported_while_writing = len(calls.batches)
    assert reported_while_writing >= 1


def settings_for(corpus: Path, index_dir: Path) -> Settings:
    return make_settings(corpus=corpus, index_dir=index_dir, watch_quiet_seconds=0.3)


def cited(settings: Settings, question: str) -> list[str]:
    answer = open_service(settings).answer(question, 3)
    return [source.title for passage in answer.passages for source in passage.sources]


async def test_the_index_follows_files_added_and_deleted(corpus_dir: Path, tmp_path: Path) -> None:
    settings = settings_for(corpus_dir, tmp_path / "index")
    on_corpus_changed(settings)
    updated = asyncio.Event()

    async def update(changed: frozenset[Path]) -> None:
        await asyncio.to_thread(on_corpus_changed, settings, changed)
        updated.set()

    question = "how long will the ferry crews strike"
    async for _ in running(corpus_watcher(settings, update)):
        (corpus_dir / "ferry-strike.txt").write_text(FERRY_STRIKE, encoding="utf-8")
        await asyncio.wait_for(updated.wait(), 5)  # answerable within 5 s of landing
        assert cited(settings, question)[0] == "Ferry crews vote to strike over winter rota"
        updated.clear()
        (corpus_dir / "ferry-strike.txt").unlink()
        await asyncio.wait_for(updated.wait(), 5)
        assert "Ferry crews vote to strike over winter rota" not in cited(settings, question)


def test_watch_command_updates_the_index_and_stops_on_sigterm(corpus_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_QA_")}
    env["ARTICLE_QA_WATCH_QUIET_SECONDS"] = "0.3"
    index_dir = tmp_path / "index"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "watch", "--corpus", str(corpus_dir), "--index-dir", str(index_dir)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "watching" in line:
                break
        (corpus_dir / "market.md").write_text(MARKET_NOTE, encoding="utf-8")
        for line in process.stderr:
            lines.append(line)
            if "index updated" in line:
                break
        assert "index updated: 5 articles" in lines[-1], lines
        settings = settings_for(corpus_dir, index_dir)
        assert (
            cited(settings, "where will the farmers market move")[0]
            == "Farmers' market moves to the old fish hall"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


async def test_a_missing_corpus_is_an_error_not_a_silent_watcher(tmp_path: Path, calls: Calls) -> None:
    watcher = CorpusWatcher(tmp_path / "no-such-folder", calls, quiet=0.3)
    with pytest.raises(OSError):
        await asyncio.wait_for(watcher.run(), 5)


async def test_the_bot_answers_a_dropped_article_within_seconds(corpus_dir: Path, tmp_path: Path) -> None:
    from bot.discord_app import QABot
    from bot.launcher import _EngineLoader

    settings = settings_for(corpus_dir, tmp_path / "index")
    loader = _EngineLoader(settings)
    bot = QABot(settings, loader.open(rebuild=False), loader=loader)
    question = "how long will the ferry crews strike"
    async for _ in running(corpus_watcher(settings, bot.corpus_changed)):
        (corpus_dir / "ferry-strike.txt").write_text(FERRY_STRIKE, encoding="utf-8")
        for _attempt in range(50):  # up to 5 s
            answer = bot.service.answer(question, 3)
            titles = [source.title for passage in answer.passages for source in passage.sources]
            if titles and titles[0] == "Ferry crews vote to strike over winter rota":
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the new article was not answered within 5 s")
