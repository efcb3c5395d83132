"""The QA cog and bot with fakes: /ask, mentions and DMs, cooldown, errors, reload, drain, run_discord."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.answering import RESTARTING
from bot.cogs.qa import FAILED, UNAVAILABLE, USAGE, QACog
from bot.config import Settings
from bot.discord_app import QABot, reload_delay
from bot.discord_render import AnswerView
from bot.launcher import restart_delay, run_discord, start_prefetch
from bot.limits import MAX_PASSAGES
from bot.render import NO_ANSWER
from index.errors import ArticleQAError, IndexFormatError, QuestionError
from index.filters import SearchFilter
from index.models import Answer, IndexStats, Passage, Source
from tests.conftest import make_settings

BOT_ID = 111111111111111111
ASKER_ID = 222222222222222222
SOURCES = (Source("Talks End in Deadlock", "CBN", dt.date(2014, 3, 30), "https://cbn.example/talks"),)
STATS = IndexStats(2, 9, dt.datetime(2024, 5, 1, tzinfo=dt.UTC), 0.1, "corpus")


class FakeAnswerer:
    """Answers from a script; records each question and the thread it ran on."""

    def __init__(
        self, *, found: bool = True, error: Exception | None = None, gate: threading.Event | None = None
    ):
        self.found = found
        self.error = error
        self.gate = gate  # when set, answer() blocks until the test opens it
        self.calls: list[tuple[str, int | None, str]] = []
        self.entered = threading.Event()  # a question reached answer()
        self.stats_read = threading.Event()  # the bot read stats(), as it does once a reload swapped us in
        self.filters: list[SearchFilter | None] = []  # the filter each question came with

    def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Answer:
        self.calls.append((question, k, threading.current_thread().name))
        self.filters.append(filters)
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.error is not None:
            raise self.error
        if not self.found:
            return Answer(question, ())
        text = "Kerry and Lavrov met. They talked for four hours. Nothing was agreed."
        start = text.index("They")
        sentence = "They talked for four hours."
        passages = tuple(Passage(text, 1.0, (start, start + len(sentence)), SOURCES) for _ in range(5))
        return Answer(question, passages, "four hours")

    def stats(self) -> IndexStats:
        self.stats_read.set()
        return STATS

    def publishers(self) -> list[str]:
        return ["CBN", "Coastline Daily", "Harborview Courier"]


async def until_answering(answerer: FakeAnswerer) -> None:
    """Wait, without blocking the event loop, until a question has reached `answerer`."""
    assert await asyncio.to_thread(answerer.entered.wait, 5), "no question reached the answerer"


class FakeHost:
    """The bot, as far as the cog can tell."""

    def __init__(self, service: FakeAnswerer, settings: Settings, *, owner: bool = True) -> None:
        self.service = service
        self.settings = settings
        self.user = MagicMock(id=BOT_ID)
        self.owner = owner
        self.reload_service = AsyncMock(return_value=STATS)

    async def is_owner(self, user: Any) -> bool:
        return self.owner

    async def heal_service(self, damaged: Any, damage: IndexFormatError) -> Any:
        raise damage  # the real bot rebuilds; these tests never damage the fake index


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bot_settings(tmp_path: Path) -> Settings:
    return make_settings(index_dir=tmp_path / "index", discord_cooldown_seconds=5)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def answerer() -> FakeAnswerer:
    return FakeAnswerer()


@pytest.fixture
def host(answerer: FakeAnswerer, bot_settings: Settings) -> FakeHost:
    return FakeHost(answerer, bot_settings)


@pytest.fixture
def cog(host: FakeHost, clock: Clock) -> QACog:
    return QACog(host, clock=clock)


def make_interaction(user_id: int = ASKER_ID) -> MagicMock:
    interaction = MagicMock()
    interaction.id = 333333333333333333
    interaction.user.id = user_id
    interaction.response.defer = AsyncMock()
    interaction.response.send_message = AsyncMock()
    interaction.response.is_done.return_value = False
    interaction.followup.send = AsyncMock(return_value=MagicMock(name="sent message"))
    interaction.edit_original_response = AsyncMock()
    return interaction


def make_message(
    content: str, *, mentions: list[int] | None = None, guild: bool = True, bot_author: bool = False
) -> MagicMock:
    message = MagicMock()
    message.content = content
    message.author.id = ASKER_ID
    message.author.bot = bot_author
    message.guild = MagicMock() if guild else None
    message.raw_mentions = mentions if mentions is not None else []
    message.reply = AsyncMock(return_value=MagicMock(name="reply"))
    return message


def no_mentions(kwargs: dict[str, Any]) -> bool:
    return kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def invoke(command: Any, cog: QACog, interaction: MagicMock, **options: Any) -> None:
    """Run a slash command's callback as discord.py does, on a mock interaction (which its types refuse)."""
    await command.callback(cog, interaction, **options)


async def ask(cog: QACog, interaction: MagicMock, question: str, **options: Any) -> None:
    await invoke(QACog.ask, cog, interaction, question=question, **options)


# -- /ask -------------------------------------------------------------------------------------


async def test_ask_defers_then_answers_with_an_embed_off_the_event_loop(
    cog: QACog, answerer: FakeAnswerer
) -> None:
    interaction = make_interaction()
    await ask(cog, interaction, "  how long did the talks last ")
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=False)
    assert answerer.calls == [("how long did the talks last", MAX_PASSAGES, answerer.calls[0][2])]
    assert answerer.calls[0][2] != threading.current_thread().name
    kwargs = interaction.followup.send.await_args.kwargs
    assert "**They talked for four hours.**" in kwargs["embed"].description
    assert isinstance(kwargs["view"], AnswerView) and kwargs["view"].per_page == 3
    assert kwargs["view"].message is interaction.followup.send.return_value
    assert kwargs["ephemeral"] is False and kwargs["wait"] is True and no_mentions(kwargs)


async def test_private_answers_are_ephemeral_and_k_sets_the_page_size(cog: QACog) -> None:
    interaction = make_interaction()
    await ask(cog, interaction, "how long", k=2, private=True)
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)
    kwargs = interaction.followup.send.await_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["view"].per_page == 2
    assert len(kwargs["embed"].fields) == 1


async def test_no_answer_is_said_plainly(host: FakeHost, cog: QACog) -> None:
    host.service = FakeAnswerer(found=False)
    interaction = make_interaction()
    await ask(cog, interaction, "the airspeed of a swallow")
    assert interaction.followup.send.await_args.kwargs["embed"].description == NO_ANSWER


@pytest.mark.parametrize(
    ("question", "expected"),
    [("   ", USAGE), ("x" * 501, "That question is 501 characters long; please keep it under 500.")],
)
async def test_empty_and_overlong_questions_get_a_clear_private_reply(
    cog: QACog, answerer: FakeAnswerer, question: str, expected: str
) -> None:
    interaction = make_interaction()
    await ask(cog, interaction, question)
    interaction.response.send_message.assert_awaited_once()
    assert interaction.response.send_message.await_args.args == (expected,)
    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is True and no_mentions(kwargs)
    interaction.response.defer.assert_not_awaited()
    assert answerer.calls == []


async def test_cooldown_is_per_user_and_says_when_to_retry(cog: QACog, clock: Clock) -> None:
    await ask(cog, make_interaction(), "first")
    again = make_interaction()
    clock.now += 1.5
    await ask(cog, again, "second")
    assert again.response.send_message.await_args.args == ("You are asking quickly: try again in 4 s.",)
    other = make_interaction(user_id=ASKER_ID + 1)
    await ask(cog, other, "someone else")
    other.response.defer.assert_awaited_once()
    later = make_interaction()
    clock.now += 5
    await ask(cog, later, "third")
    later.response.defer.assert_awaited_once()


async def test_refused_questions_do_not_start_the_cooldown(cog: QACog) -> None:
    await ask(cog, make_interaction(), "x" * 1000)
    interaction = make_interaction()
    await ask(cog, interaction, "a fine question")
    interaction.response.defer.assert_awaited_once()


async def test_zero_cooldown_means_none(host: FakeHost, bot_settings: Settings) -> None:
    host.settings = bot_settings.model_copy(update={"discord_cooldown_seconds": 0})
    cog = QACog(host)
    for _ in range(3):
        interaction = make_interaction()
        await ask(cog, interaction, "again")
        interaction.response.defer.assert_awaited_once()


async def test_engine_errors_reach_the_user_as_their_message(host: FakeHost, cog: QACog) -> None:
    host.service = FakeAnswerer(error=QuestionError("the question is too long"))
    interaction = make_interaction()
    await ask(cog, interaction, "q")
    assert interaction.followup.send.await_args.args == ("the question is too long",)
    assert interaction.followup.send.await_args.kwargs["ephemeral"] is True


async def test_index_errors_stay_in_the_log_because_they_name_server_paths(
    host: FakeHost, cog: QACog, caplog: pytest.LogCaptureFixture
) -> None:
    host.service = FakeAnswerer(
        error=IndexFormatError("index file /srv/qa/index/gen-1/passages.npy is damaged")
    )
    interaction = make_interaction()
    await ask(cog, interaction, "q")
    (reply,) = interaction.followup.send.await_args.args
    assert reply == UNAVAILABLE and "/srv" not in reply
    assert "/srv/qa/index/gen-1/passages.npy" in caplog.text


async def test_unexpected_errors_are_logged_and_answered_with_one_line(
    host: FakeHost, cog: QACog, caplog: pytest.LogCaptureFixture
) -> None:
    host.service = FakeAnswerer(error=RuntimeError("index exploded"))
    interaction = make_interaction()
    await ask(cog, interaction, "q")
    assert interaction.followup.send.await_args.args == (FAILED,)
    assert "index exploded" in caplog.text and "Traceback" in caplog.text


async def test_a_failed_reply_is_logged_not_raised(cog: QACog, caplog: pytest.LogCaptureFixture) -> None:
    interaction = make_interaction()
    interaction.followup.send.side_effect = discord.HTTPException(MagicMock(status=500, reason="x"), "down")
    await ask(cog, interaction, "q")
    assert "could not send the answer" in caplog.text


async def test_command_errors_get_a_friendly_line(cog: QACog, caplog: pytest.LogCaptureFixture) -> None:
    interaction = make_interaction()
    error = discord.app_commands.CommandInvokeError(MagicMock(), ValueError("bug"))
    await cog.cog_app_command_error(interaction, error)
    assert interaction.response.send_message.await_args.args == (FAILED,)
    assert "bug" in caplog.text


# -- mentions and direct messages -------------------------------------------------------------


async def test_a_mention_is_answered_with_a_reply(cog: QACog, answerer: FakeAnswerer) -> None:
    message = make_message(f"<@{BOT_ID}> how long did the talks last", mentions=[BOT_ID])
    await cog.on_message(message)
    assert answerer.calls[0][0] == "how long did the talks last"
    kwargs = message.reply.await_args.kwargs
    assert "four hours" in kwargs["embed"].description and no_mentions(kwargs)
    assert kwargs["view"].message is message.reply.return_value


async def test_a_nickname_mention_in_the_middle_counts(cog: QACog, answerer: FakeAnswerer) -> None:
    await cog.on_message(make_message(f"hey <@!{BOT_ID}>, who met?", mentions=[BOT_ID]))
    assert answerer.calls[0][0] == "hey , who met?"


async def test_direct_messages_are_answered_without_a_mention(cog: QACog, answerer: FakeAnswerer) -> None:
    await cog.on_message(make_message("who met in Paris?", guild=False))
    assert answerer.calls[0][0] == "who met in Paris?"


@pytest.mark.parametrize(
    "message",
    [
        make_message("@everyone how long did the talks last"),  # raw_mentions has no bot id
        make_message("just chatting", mentions=[ASKER_ID]),
        make_message(f"<@{BOT_ID}> hi", mentions=[BOT_ID], bot_author=True),
    ],
    ids=["everyone", "other-user", "from-a-bot"],
)
async def test_other_messages_are_ignored(cog: QACog, answerer: FakeAnswerer, message: MagicMock) -> None:
    await cog.on_message(message)
    message.reply.assert_not_awaited()
    assert answerer.calls == []


async def test_a_bare_mention_gets_usage(cog: QACog) -> None:
    message = make_message(f"<@{BOT_ID}>", mentions=[BOT_ID])
    await cog.on_message(message)
    assert message.reply.await_args.args == (USAGE,)


async def test_mentions_share_the_cooldown_with_ask(cog: QACog) -> None:
    await ask(cog, make_interaction(), "first")
    message = make_message(f"<@{BOT_ID}> second", mentions=[BOT_ID])
    await cog.on_message(message)
    assert "try again in 5 s" in message.reply.await_args.args[0]


async def test_a_failed_message_reply_is_logged(cog: QACog, caplog: pytest.LogCaptureFixture) -> None:
    message = make_message(f"<@{BOT_ID}> q", mentions=[BOT_ID])
    message.reply.side_effect = discord.Forbidden(MagicMock(status=403, reason="x"), "no perms")
    await cog.on_message(message)
    assert "could not reply" in caplog.text


# -- /about and /reload -----------------------------------------------------------------------


async def test_about_shows_the_index(cog: QACog) -> None:
    interaction = make_interaction()
    await invoke(QACog.about, cog, interaction)
    embed = interaction.response.send_message.await_args.kwargs["embed"]
    assert [(f.name, f.value) for f in embed.fields[:2]] == [("Articles", "2"), ("Passages", "9")]


async def test_reload_is_for_the_owner_only(host: FakeHost, cog: QACog) -> None:
    host.owner = False
    interaction = make_interaction()
    await invoke(QACog.reload, cog, interaction)
    assert "owner" in interaction.response.send_message.await_args.args[0]
    host.reload_service.assert_not_awaited()


async def test_reload_rebuilds_and_reports(host: FakeHost, cog: QACog) -> None:
    interaction = make_interaction()
    await invoke(QACog.reload, cog, interaction)
    host.reload_service.assert_awaited_once_with(rebuild=True)
    assert interaction.followup.send.await_args.args == ("Reloaded: 2 articles, 9 passages.",)


async def test_a_failed_reload_keeps_the_old_index(host: FakeHost, cog: QACog) -> None:
    host.reload_service.side_effect = IndexFormatError("corpus unreadable")
    interaction = make_interaction()
    await invoke(QACog.reload, cog, interaction)
    assert interaction.followup.send.await_args.args == (
        "Reload failed; still answering from the previous index. corpus unreadable",
    )


# -- shutdown ---------------------------------------------------------------------------------


async def test_drain_waits_for_questions_in_flight(host: FakeHost, cog: QACog) -> None:
    gate = threading.Event()
    host.service = answerer = FakeAnswerer(gate=gate)
    interaction = make_interaction()
    asking = asyncio.create_task(ask(cog, interaction, "slow"))
    await until_answering(answerer)
    draining = asyncio.create_task(cog.pool.drain(grace=5))
    await asyncio.sleep(0)  # the drain starts: from now on questions are refused
    late = make_interaction(user_id=ASKER_ID + 1)
    await ask(cog, late, "too late")
    assert late.response.send_message.await_args.args == (RESTARTING,)
    gate.set()
    await asyncio.wait_for(asyncio.gather(asking, draining), 5)
    assert "four hours" in interaction.followup.send.await_args.kwargs["embed"].description


async def test_drain_tells_questions_still_running_after_the_grace_that_we_restart(
    host: FakeHost, cog: QACog
) -> None:
    gate = threading.Event()
    host.service = answerer = FakeAnswerer(gate=gate)
    interaction = make_interaction()
    asking = asyncio.create_task(ask(cog, interaction, "stuck"))
    await until_answering(answerer)
    try:
        await asyncio.wait_for(cog.pool.drain(grace=0.1), 5)
        await asyncio.wait_for(asking, 5)
    finally:
        gate.set()
    assert interaction.followup.send.await_args.args == (RESTARTING,)


# -- the bot: hot reload and start-up errors --------------------------------------------------


class FakeLoader:
    def __init__(self, service: FakeAnswerer | Exception) -> None:
        self.service = service
        self.opened: list[bool] = []

    def open(self, *, rebuild: bool) -> FakeAnswerer:
        self.opened.append(rebuild)
        if isinstance(self.service, Exception):
            raise self.service
        return self.service

    def is_current(self, service: Any) -> bool:
        return service is self.service

    def heal(self, service: Any, damage: IndexFormatError) -> Any:
        raise damage


async def test_reload_swaps_the_service_while_a_question_keeps_the_old_one(bot_settings: Settings) -> None:
    gate = threading.Event()
    old, new = FakeAnswerer(gate=gate), FakeAnswerer()
    loader = FakeLoader(new)
    bot = QABot(bot_settings, old, loader=loader)
    cog = QACog(bot)
    interaction = make_interaction()
    asking = asyncio.create_task(ask(cog, interaction, "during the reload"))
    await until_answering(old)
    try:
        assert await bot.reload_service(rebuild=True) == STATS
    finally:
        gate.set()
    await asyncio.wait_for(asking, 5)
    assert bot.service is new and loader.opened == [True]
    assert [call[0] for call in old.calls] == ["during the reload"] and new.calls == []
    assert "four hours" in interaction.followup.send.await_args.kwargs["embed"].description


async def test_a_failed_reload_keeps_serving_the_old_service(bot_settings: Settings) -> None:
    old = FakeAnswerer()
    bot = QABot(bot_settings, old, loader=FakeLoader(IndexFormatError("bad index")))
    with pytest.raises(ArticleQAError, match="bad index"):
        await bot.reload_service(rebuild=False)
    assert bot.service is old


async def test_polling_reloads_when_the_corpus_changed(bot_settings: Settings) -> None:
    new = FakeAnswerer()
    bot = QABot(bot_settings, FakeAnswerer(), loader=FakeLoader(new))
    polling = asyncio.create_task(bot._poll_corpus(0.01))
    try:
        assert await asyncio.to_thread(new.stats_read.wait, 5), "the corpus poller never reloaded"
    finally:
        polling.cancel()
    assert bot.service is new


def test_a_missing_token_is_one_line_and_exit_2(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    settings = make_settings(index_dir=tmp_path / "index")
    with caplog.at_level(logging.ERROR):
        assert run_discord(settings) == 2
    assert [record.getMessage().count("\n") for record in caplog.records] == [0]
    assert "ARTICLE_QA_DISCORD_TOKEN" in caplog.text and "Traceback" not in caplog.text
    assert not (tmp_path / "index").exists()  # nothing built before the token is known


@pytest.mark.parametrize(
    ("update", "complaint"),
    [
        ({"discord_shard_ids": [1]}, "SHARD_COUNT"),
        ({"discord_api_base": "discord.com/api"}, "http(s) URL"),
        ({"discord_gateway_url": "https://gateway.example"}, "ws(s)://"),
    ],
)
def test_bad_discord_settings_are_one_line_and_exit_2(
    update: dict[str, Any], complaint: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    settings = make_settings(index_dir=tmp_path / "index", discord_token="MTIz.abc.def", **update)
    assert run_discord(settings) == 2
    assert complaint in caplog.text and "Traceback" not in caplog.text


def test_crash_restarts_back_off_up_to_ten_minutes() -> None:
    delays = [restart_delay(failures) for failures in range(1, 12)]
    assert 4 <= delays[0] <= 5 and 8 <= delays[1] <= 10
    assert all(480 <= delay <= 600 for delay in delays[-3:])
    # A crash loop at the longest delay logs in at most 180 times a day, of the 1000 Discord allows.
    assert 86_400 / min(delays[-3:]) <= 180


async def test_commands_sync_to_the_test_guild_only_when_they_changed(
    bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = bot_settings.model_copy(update={"discord_guild_id": 444444444444444444})
    bot = QABot(settings, FakeAnswerer())
    await bot.add_cog(QACog(bot))
    bot.tree.sync = AsyncMock(return_value=[])  # type: ignore[method-assign]
    await bot.sync_commands()
    await bot.sync_commands()  # unchanged: no second call to Discord's rate-limited endpoint
    assert [call.kwargs["guild"].id for call in bot.tree.sync.await_args_list] == [444444444444444444]
    assert {c.name for c in bot.tree.get_commands(guild=discord.Object(444444444444444444))} == {
        "ask",
        "about",
        "reload",
    }
    await bot.sync_commands(force=True)
    assert bot.tree.sync.await_count == 2
    bot.tree.sync.side_effect = discord.Forbidden(MagicMock(status=403, reason="x"), "Missing Access")
    await bot.sync_commands(force=True)  # logged, not raised: mentions and DMs still work
    assert "applications.commands scope" in caplog.text


async def test_global_commands_are_synced_by_the_process_running_shard_0(bot_settings: Settings) -> None:
    for shard_ids, expected in (([1, 2], 0), ([0], 1)):
        settings = bot_settings.model_copy(update={"discord_shard_count": 3, "discord_shard_ids": shard_ids})
        bot = QABot(settings, FakeAnswerer())
        bot.tree.sync = AsyncMock(return_value=[])  # type: ignore[method-assign]
        await bot.sync_commands()
        assert bot.tree.sync.await_count == expected


# -- the bot: healing a damaged index, and backing off failed hot reloads ----------------------

DAMAGE = "passage 3 of the index is corrupt (checksum mismatch); the index must be rebuilt"


class HealingLoader(FakeLoader):
    """A loader whose rebuilds fail with `failure` (an error, or a stale index served instead), and
    whose heal replaces a damaged service with `healed`."""

    def __init__(self, service: FakeAnswerer | Exception, healed: FakeAnswerer | None = None) -> None:
        super().__init__(service)
        self.healed = healed
        self.heals: list[tuple[Any, str]] = []

    def is_current(self, service: Any) -> bool:
        return False  # the corpus keeps changing, so every poll tries to rebuild

    def heal(self, service: Any, damage: IndexFormatError) -> FakeAnswerer:
        self.heals.append((service, str(damage)))
        assert self.healed is not None
        return self.healed


async def test_a_damaged_passage_heals_the_index_once_and_the_question_is_answered(
    bot_settings: Settings,
) -> None:
    damaged = FakeAnswerer(error=IndexFormatError(DAMAGE))
    healed = FakeAnswerer()
    loader = HealingLoader(FakeAnswerer(), healed)
    bot = QABot(bot_settings, damaged, loader=loader)
    cog = QACog(bot)
    first, second = make_interaction(), make_interaction(user_id=ASKER_ID + 1)
    await ask(cog, first, "how long did the talks last")
    await ask(cog, second, "how long did the talks last")
    assert "four hours" in first.followup.send.await_args.kwargs["embed"].description
    assert "four hours" in second.followup.send.await_args.kwargs["embed"].description
    assert loader.heals == [(damaged, DAMAGE)] and bot.service is healed
    assert len(damaged.calls) == 1 and len(healed.calls) == 2


async def test_a_question_that_meets_a_healed_index_uses_it_without_healing_again(
    bot_settings: Settings,
) -> None:
    damaged, healed = FakeAnswerer(error=IndexFormatError(DAMAGE)), FakeAnswerer()
    loader = HealingLoader(FakeAnswerer(), FakeAnswerer())
    bot = QABot(bot_settings, healed, loader=loader)
    # Another question healed the index while this one was answering from the damaged service.
    assert await bot.heal_service(damaged, IndexFormatError(DAMAGE)) is healed
    assert loader.heals == []


async def poll_until(bot: QABot, loader: FakeLoader, opens: int) -> None:
    polling = asyncio.create_task(bot._poll_corpus(0.001))
    try:
        for _ in range(2000):
            if len(loader.opened) >= opens:
                break
            await asyncio.sleep(0.002)
    finally:
        polling.cancel()
    assert len(loader.opened) >= opens


async def test_failed_hot_reloads_are_logged_once_per_distinct_failure(
    bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    loader = HealingLoader(ArticleQAError("could not write the index in /srv/index: No space left on device"))
    bot = QABot(bot_settings, FakeAnswerer(), loader=loader)
    await poll_until(bot, loader, 4)
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert failures == [
        "hot reload failed; still answering from the previous index: could not write the index in "
        "/srv/index: No space left on device"
    ]


async def test_a_stale_index_served_after_a_failed_rebuild_counts_as_a_failure(
    bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    stale = FakeAnswerer()
    stale.stale_reason = "No space left on device"  # type: ignore[attr-defined]
    loader = HealingLoader(stale)
    bot = QABot(bot_settings, FakeAnswerer(), loader=loader)
    await poll_until(bot, loader, 3)
    assert bot.service is stale  # the last good index answers meanwhile
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert failures == ["hot reload failed; still answering from the previous index: No space left on device"]


def test_failed_hot_reloads_back_off_to_thirty_two_intervals() -> None:
    assert [reload_delay(60, failures) for failures in range(8)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        1920,
        1920,
    ]


def test_the_index_is_read_in_ahead_of_questions_in_a_daemon_thread() -> None:
    read_in = threading.Event()

    class Prefetching(FakeAnswerer):
        def prefetch(self) -> None:
            read_in.set()

    thread = start_prefetch(Prefetching())
    assert thread is not None and thread.daemon
    thread.join(10)
    assert read_in.is_set()
    assert start_prefetch(FakeAnswerer()) is None  # nothing to read in
