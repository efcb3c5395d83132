"""`article-qa discord` as a child process against the fake Discord on 127.0.0.1: the real client."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from pathlib import Path

import pytest

from tests.bot_process import REPO, start_bot, until_ready
from tests.fake_discord import FakeDiscord, Reply

# Recognisable, so a leak into the logs is easy to find; it only ever reaches the fake.
TOKEN = "FAKE-e2e-token.MTIzNDU2Nzg5MDEyMzQ1Njc4.never-log-me"
DEBUG = {"log_level": "DEBUG"}  # the most verbose logs, for the token checks
QUESTION = "how long did the talks last"
SEED_TITLES = (
    "No Resolution After Kerry, Lavrov Talk for Four Hours About Ukraine and Russia",
    "US, Russia Talks on Ukraine End in Deadlock",
)

pytestmark = pytest.mark.slow


def assert_cites_the_seed_answer(reply: Reply) -> None:
    text = reply.text()
    assert "four hours" in text
    for title in SEED_TITLES:
        assert title in text
    assert reply.payload["allowed_mentions"] == {"parse": []}


async def test_ask_mentions_dms_and_buttons_end_to_end(tmp_path: Path) -> None:
    async with (
        FakeDiscord(token=TOKEN) as fake,
        start_bot(fake, tmp_path, TOKEN, stop_timeout=15, settings=DEBUG) as bot,
    ):
        # The token in memory never reaches a core file.
        limits = Path(f"/proc/{bot.pid}/limits")
        if limits.exists():
            core = next(line for line in limits.read_text().splitlines() if line.startswith("Max core"))
            assert core.split()[4:6] == ["0", "0"], core
        synced = {command["name"]: command for command in fake.commands[fake.guild_id]}
        assert set(synced) == {
            "ask",
            "about",
            "reload",
            "sources",
            "timeline",
            "follow",
            "unfollow",
            "following",
        }
        assert int(synced["sources"]["default_member_permissions"]) == 1 << 5  # Manage Server
        assert [(o["name"], bool(o["description"])) for o in synced["ask"]["options"]] == [
            ("question", True),
            ("k", True),
            ("private", True),
            ("since", True),
            ("until", True),
            ("source", True),
        ]
        assert [o["name"] for o in synced["ask"]["options"] if o.get("autocomplete")] == ["source"]

        # /ask: deferred first, then the answer as a followup.
        interaction = await fake.send_interaction("ask", question=QUESTION)
        reply = await fake.wait_for_reply(interaction)
        print("\n/ask payload as captured by the fake Discord:\n" + json.dumps(reply.payload, indent=2))
        assert interaction.acks == [5] and reply.kind == "followup"
        assert_cites_the_seed_answer(reply)
        assert "**" in reply.payload["embeds"][0]["description"]  # the answer sentence is bold

        # The Sources button answers privately with every source.
        click = await fake.click(reply, "Sources")
        sources = await fake.wait_for_reply(click)
        assert sources.kind == "callback" and sources.payload["flags"] & 64  # ephemeral
        assert all(title in sources.text() for title in SEED_TITLES)

        # @everyone is not a mention of the bot; a real mention gets a reply to its message.
        everyone = await fake.send_message(f"@everyone {QUESTION}")
        mention = await fake.send_message(f"{fake.bot_mention} {QUESTION}")
        answer = await fake.wait_for_reply(mention)
        assert answer.kind == "message" and answer.payload["message_reference"]["message_id"] == int(
            mention["id"]
        )
        assert_cites_the_seed_answer(answer)
        assert not [r for r in fake.replies if r.reference_id == int(everyone["id"])]

        direct = await fake.send_message(QUESTION, dm=True)
        assert_cites_the_seed_answer(await fake.wait_for_reply(direct))

        # A rate limit is waited out; a refused reply is logged and the bot carries on.
        fake.fail("POST", r"webhooks/\d+/[^/]+", status=429, retry_after=0.2)
        limited = await fake.send_interaction("ask", question=QUESTION, private=True)
        private = await fake.wait_for_reply(limited)
        assert_cites_the_seed_answer(private)
        assert private.payload["flags"] & 64  # private: true is ephemeral
        assert [r.status for r in fake.requests if limited.token in r.path] == [200, 429, 200]
        fake.fail("POST", r"webhooks/\d+/[^/]+", status=403)
        await fake.send_interaction("ask", question=QUESTION)

        # A dropped gateway connection is resumed and the next question is answered.
        await fake.drop_gateway()
        about = await fake.send_interaction("about")
        assert "Articles\n2" in (await fake.wait_for_reply(about)).text()
        assert fake.resumes == 1 and len(fake.identifies) == 1

    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "could not send the answer" in log  # the 403
    assert TOKEN not in log
    assert "Traceback" not in log
    # At DEBUG too: no interaction token (valid 15 minutes), no asker's id, no question in discord.py's logs.
    assert "interaction-token-" not in log
    assert fake.user["id"] not in log
    assert QUESTION not in log
    marker = tmp_path / "index-state" / "discord-commands.json"
    assert marker.stat().st_mode & 0o777 == 0o600


async def test_buttons_of_answers_sent_before_a_restart_say_the_answer_expired(tmp_path: Path) -> None:
    async with FakeDiscord(token=TOKEN) as fake:
        async with start_bot(fake, tmp_path, TOKEN, stop_timeout=15):
            reply = await fake.wait_for_reply(await fake.send_interaction("ask", question=QUESTION))
            mention = await fake.send_message(f"{fake.bot_mention} {QUESTION}")
            mention_reply = await fake.wait_for_reply(mention)
        async with start_bot(fake, tmp_path, TOKEN, stop_timeout=15):
            for old in (reply, mention_reply):
                click = await fake.click(old, "Sources")
                expired = await fake.wait_for_reply(click)
                assert expired.kind == "callback" and expired.payload["flags"] & 64  # private
                assert "expired" in expired.text() and "ask again" in expired.text()
            fresh = await fake.wait_for_reply(await fake.send_interaction("ask", question=QUESTION))
            sources = await fake.wait_for_reply(await fake.click(fresh, "Sources"))
            assert all(title in sources.text() for title in SEED_TITLES)


async def test_a_rejected_token_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    async with (
        FakeDiscord(token="the-right-token") as fake,
        start_bot(fake, tmp_path, TOKEN, ready_timeout=None, settings=DEBUG) as bot,
    ):
        assert await asyncio.wait_for(bot.wait(), 60) == 2
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    errors = [line for line in log.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "Discord rejected the token" in errors[0]
    assert "Traceback" not in log and TOKEN not in log
    assert not fake.identifies


async def test_a_spent_session_start_budget_waits_instead_of_logging_in(tmp_path: Path) -> None:
    async with (
        FakeDiscord(token=TOKEN, session_starts=0) as fake,
        start_bot(fake, tmp_path, TOKEN, ready_timeout=None) as bot,
    ):
        log_file = tmp_path / "bot.log"
        for _ in range(600):
            if "session start limit" in log_file.read_text(encoding="utf-8"):
                break
            await asyncio.sleep(0.05)
        bot.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(bot.wait(), 15) == 0
        assert not fake.identifies
    assert "resets in 3600 s" in log_file.read_text(encoding="utf-8")


async def test_a_process_runs_only_its_own_shards(tmp_path: Path) -> None:
    async with FakeDiscord(token=TOKEN, shard_count=2) as fake:
        shard = fake.shard_of(fake.guild_id)
        shards = {"discord_shard_count": "2", "discord_shard_ids": f"[{shard}]"}
        async with start_bot(
            fake, tmp_path, TOKEN, ready_timeout=None, stop_timeout=15, settings=shards
        ) as bot:
            await until_ready(fake, bot, tmp_path, [shard])
            assert [identify["shard"] for identify in fake.identifies] == [[shard, 2]]
            interaction = await fake.send_interaction("ask", question=QUESTION)
            assert_cites_the_seed_answer(await fake.wait_for_reply(interaction))


async def test_a_changed_corpus_is_swapped_in_without_a_restart(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    async with (
        FakeDiscord(token=TOKEN) as fake,
        start_bot(
            fake, tmp_path, TOKEN, corpus=corpus, stop_timeout=15, settings={"reload_interval_seconds": "0.2"}
        ),
    ):
        (corpus / "lighthouse.txt").write_text(
            "Harbour Lighthouse Reopens\n\nThe old harbour lighthouse reopened on Friday after a "
            "restoration that took eleven months.\n",
            encoding="utf-8",
        )
        for _ in range(100):
            about = await fake.send_interaction("about")
            if "Articles\n3" in (await fake.wait_for_reply(about)).text():
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the new article never showed up in /about")
        interaction = await fake.send_interaction(
            "ask", question="how long did the lighthouse restoration take"
        )
        assert "eleven months" in (await fake.wait_for_reply(interaction)).text()
