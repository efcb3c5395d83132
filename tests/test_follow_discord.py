"""/follow end to end: the real bot against the fake Discord, a watched corpus, and a restart."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.bot_process import start_bot
from tests.fake_discord import FakeDiscord, Reply

TOKEN = "FAKE-follow-token.MTIzNDU2Nzg5MDEyMzQ1Njc4.never-log-me"
DATED_NEWS = Path(__file__).resolve().parent / "data" / "dated-news" / "articles"
BEFORE = ("hc-calder-bridge-to-close.html", "ro-water-main-break.txt", "hc-measles-airport-exposure.txt")
BRIDGE_QUERY = "When will the Calder River Bridge reopen?"
TRAINS_QUERY = "Which company will build the new commuter trains?"
WATCHING = {"watch_quiet_seconds": "0.3"}

pytestmark = pytest.mark.slow


def channel_posts(fake: FakeDiscord) -> list[Reply]:
    """Messages the bot posted on its own (not replies to an interaction or a message)."""
    return [r for r in fake.replies if r.kind == "message" and r.reference_id is None]


async def command(fake: FakeDiscord, name: str, **options: Any) -> str:
    interaction = await fake.send_interaction(name, **options)
    return (await fake.wait_for_reply(interaction)).text()


async def test_a_follow_posts_new_articles_and_survives_a_restart(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in BEFORE:
        shutil.copy(DATED_NEWS / name, corpus / name)
    async with FakeDiscord(token=TOKEN) as fake:
        async with start_bot(fake, tmp_path, TOKEN, corpus=corpus, stop_timeout=15, settings=WATCHING):
            synced = {c["name"]: c for c in fake.commands[fake.guild_id]}
            assert int(synced["follow"]["default_member_permissions"]) == 1 << 5  # Manage Server
            assert await command(fake, "follow", query=BRIDGE_QUERY) == (
                f"Following #1 in <#{fake.channel_id}>: {BRIDGE_QUERY}\n"
                "New articles that answer it will be posted there; /unfollow 1 stops it."
            )
            assert (await command(fake, "follow", query=TRAINS_QUERY)).startswith("Following #2 in")
            # An unrelated article matches neither follow; the story's next article matches the bridge one.
            shutil.copy(DATED_NEWS / "ro-fernway-air-fined.html", corpus / "ro-fernway-air-fined.html")
            shutil.copy(DATED_NEWS / "hc-calder-bridge-delay.html", corpus / "hc-calder-bridge-delay.html")
            await fake.wait_until(lambda: bool(channel_posts(fake)), timeout=60, what="a follow post")
            [post] = channel_posts(fake)
            assert post.message["channel_id"] == str(fake.channel_id)
            assert post.payload["allowed_mentions"] == {"parse": []}
            assert post.payload["content"] == f"New for follow #1: {BRIDGE_QUERY}"
            [embed] = post.payload["embeds"]
            assert embed["title"] == "Calder River Bridge reopening pushed to late April"
            assert "**The bridge is now expected to reopen April 25" in embed["description"]
            assert "Harborview Courier" in embed["fields"][0]["value"]

        async with start_bot(fake, tmp_path, TOKEN, corpus=corpus, stop_timeout=15, settings=WATCHING):
            listed = await command(fake, "following")
            assert "Following (2 of 25)" in listed
            assert f"**#1** {BRIDGE_QUERY} → <#{fake.channel_id}>" in listed
            assert listed.count("last post never") == 1  # the bridge follow remembers its post
            # The same bridge article saved again under another name is the story already posted
            # within the hour; the train contract is news for the other follow.
            shutil.copy(DATED_NEWS / "hc-calder-bridge-delay.html", corpus / "calder-bridge-delay-copy.html")
            shutil.copy(
                DATED_NEWS / "mws-commuter-train-contract.txt", corpus / "mws-commuter-train-contract.txt"
            )
            await fake.wait_until(
                lambda: len(channel_posts(fake)) > 1, timeout=60, what="a second follow post"
            )
            await asyncio.sleep(0.5)  # any post the same update still had to make
            posts = channel_posts(fake)
            assert [p.payload["content"] for p in posts[1:]] == [f"New for follow #2: {TRAINS_QUERY}"]
            assert "Alder Rail Works" in posts[1].text()
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "Traceback" not in log


async def test_a_deleted_channel_stops_its_follow_and_the_bot_goes_on(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in BEFORE:
        shutil.copy(DATED_NEWS / name, corpus / name)
    async with (
        FakeDiscord(token=TOKEN) as fake,
        start_bot(fake, tmp_path, TOKEN, corpus=corpus, stop_timeout=15, settings=WATCHING),
    ):
        assert (await command(fake, "follow", query=BRIDGE_QUERY)).startswith("Following #1 in")
        fake.fail("POST", rf"channels/{fake.channel_id}/messages", status=404)  # Unknown Channel
        shutil.copy(DATED_NEWS / "hc-calder-bridge-delay.html", corpus / "hc-calder-bridge-delay.html")

        def refused() -> bool:
            return any(r.path.startswith("channels/") and r.status == 404 for r in fake.requests)

        await fake.wait_until(refused, timeout=60, what="a post to the deleted channel")
        for _ in range(50):
            listed = await command(fake, "following")
            if "stopped" in listed:
                break
            await asyncio.sleep(0.1)
        assert "⚠ stopped: its channel was deleted, or the bot was removed from it" in listed
        assert "Articles\n4" in await command(fake, "about")  # still answering, from the new index
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert log.count("follow 1 stopped") == 1 and "Traceback" not in log
