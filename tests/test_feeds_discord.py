"""`/sources` and the bot's feed fetcher, with a news site on 127.0.0.1 and a fake interaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.cogs.sources import DESCRIPTION_LIMIT, SourcesCog, sources_embed
from bot.config import Settings
from bot.feeds.overview import FeedStatus, SourcesOverview
from bot.feeds.schedule import fetch_pass
from bot.watch import start_following
from tests.conftest import make_settings
from tests.feed_server import ATOM, FeedServer


@pytest.fixture
def site() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.feed("/rss.xml", "coastal-rss.xml")
        server.feed("/valley/atom.xml", "valley-atom.xml", content_type=ATOM)
        server.page("/news/2024/10/winter-ferry-timetable", "winter-ferry-timetable.html")
        server.page("/valley/2024/council-bike-lanes", "council-bike-lanes.html")
        yield server


def feed_settings(corpus: Path, tmp_path: Path, feeds: list[str], **extra: Any) -> Settings:
    return make_settings(corpus=corpus, index_dir=tmp_path / "index", feeds=json.dumps(feeds), **extra)


async def invoke(command: Any, cog: SourcesCog, interaction: MagicMock) -> None:
    """Run a slash command's callback as discord.py does, on a mock interaction (which its types refuse)."""
    await command.callback(cog, interaction)


class Host:
    """The bot, as far as the cog can tell."""

    def __init__(self, settings: Settings, *, owner: bool = False) -> None:
        self.settings = settings
        self.owner = owner

    async def is_owner(self, _user: object) -> bool:
        return self.owner


def interaction(*, in_server: bool = True) -> MagicMock:
    fake = MagicMock()
    if not in_server:
        fake.guild = None
    fake.response.defer = AsyncMock()
    fake.response.send_message = AsyncMock()
    fake.followup.send = AsyncMock()
    return fake


async def test_sources_lists_each_feed_and_the_folder(
    site: FeedServer, corpus_dir: Path, tmp_path: Path
) -> None:
    feeds = [f"{site.base}/rss.xml", f"{site.base}/valley/atom.xml", f"{site.base}/gone.xml"]
    settings = feed_settings(corpus_dir, tmp_path, feeds)
    fetch_pass(settings)
    host = Host(settings)
    asked = interaction()

    await invoke(SourcesCog.sources, SourcesCog(host), asked)

    asked.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)
    embed: discord.Embed = asked.followup.send.await_args.kwargs["embed"]
    assert asked.followup.send.await_args.kwargs["ephemeral"] is True
    text = embed.description or ""
    assert "**Folder** corpus: 7 article files (3 from feeds)" in text
    assert "**Feeds**: 3, fetched every 30 min" in text
    assert f"**Coastal Gazette**\n<{site.base}/rss.xml>\nlast fetch <t:" in text
    assert "· ok (1 item(s) without readable text) · 2 articles" in text
    assert f"**Valley Courier**\n<{site.base}/valley/atom.xml>\n" in text
    assert text.count("· ok (1 item(s) without readable text) ·") == 2  # the partner copy's page is missing
    assert (
        f"**127.0.0.1**\n<{site.base}/gone.xml>\nlast fetch <t:" in text
        and "· failed: HTTP 404, retry <t:" in text
    )


async def test_in_direct_messages_only_the_owner_sees_the_sources(corpus_dir: Path, tmp_path: Path) -> None:
    settings = feed_settings(corpus_dir, tmp_path, ["https://private-newsletter.example/feed?token=abc"])
    stranger, owner = interaction(in_server=False), interaction(in_server=False)

    await invoke(SourcesCog.sources, SourcesCog(Host(settings)), stranger)
    await invoke(SourcesCog.sources, SourcesCog(Host(settings, owner=True)), owner)

    stranger.response.send_message.assert_awaited_once()
    assert stranger.response.send_message.await_args.args == ("Use /sources in a server you manage.",)
    stranger.followup.send.assert_not_awaited()
    assert "private-newsletter.example" in owner.followup.send.await_args.kwargs["embed"].description


def test_the_embed_stays_within_discord_limits() -> None:
    when = dt.datetime(2024, 10, 16, 9, 0, tzinfo=dt.UTC)
    feeds = tuple(
        FeedStatus(
            f"https://news{n}.example/feeds/all-stories.rss", f"*Regional* News_{n}", when, "ok", n, None
        )
        for n in range(300)
    )
    embed = sources_embed(SourcesOverview(feeds, Path("corpus"), 12_000, 9_500, 30.0))
    text = embed.description or ""
    assert len(text) <= DESCRIPTION_LIMIT
    assert text.endswith("more feeds")
    assert "\\*Regional\\* News\\_0" in text  # titles cannot restyle the embed
    assert "12,000 article files (9,500 from feeds)" in text


def test_no_feeds_says_how_to_add_them() -> None:
    embed = sources_embed(SourcesOverview((), Path("corpus"), 4, 0, 30.0))
    assert "**Feeds**: none (set ARTICLE_QA_FEEDS)" in (embed.description or "")


async def test_the_bot_fetches_on_start_and_reports_the_change(
    site: FeedServer, corpus_dir: Path, tmp_path: Path
) -> None:
    settings = feed_settings(corpus_dir, tmp_path, [f"{site.base}/rss.xml"], watch_corpus=False)
    changed = asyncio.Event()

    async def corpus_changed(_paths: frozenset[Path]) -> None:
        changed.set()

    tasks = start_following(settings, corpus_changed)
    try:
        await asyncio.wait_for(changed.wait(), 10)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert len(tasks) == 1
    assert (corpus_dir / "feeds/coastal-gazette").is_dir()


async def test_an_unreadable_feeds_file_does_not_stop_the_bot(
    corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        corpus=corpus_dir,
        index_dir=tmp_path / "index",
        feeds=str(tmp_path / "missing.txt"),
        watch_corpus=False,
    )

    async def corpus_changed(_paths: frozenset[Path]) -> None:
        raise AssertionError("nothing changed")

    assert start_following(settings, corpus_changed) == []
    assert "not fetching feeds: cannot read the feeds file" in caplog.text


async def test_the_fetch_loop_keeps_robots_txt_between_passes(
    site: FeedServer, corpus_dir: Path, tmp_path: Path
) -> None:
    from bot.feeds.schedule import fetch_periodically

    settings = feed_settings(corpus_dir, tmp_path, [f"{site.base}/rss.xml"], fetch_interval_minutes=0.001)

    async def nothing() -> None:
        pass

    loop = asyncio.create_task(fetch_periodically(settings, nothing))
    try:
        for _ in range(100):  # up to 10 s for three passes
            if site.paths().count("/rss.xml") >= 3:
                break
            await asyncio.sleep(0.1)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert site.paths().count("/rss.xml") >= 3
    assert site.paths().count("/robots.txt") == 1
