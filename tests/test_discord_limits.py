"""The bot under abuse, with fakes: reply budgets per user and channel, shed load, expired acks and buttons."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from unittest.mock import MagicMock

import discord
import pytest

from bot.answering import BUSY, EnginePool
from bot.cogs.qa import EXPIRED, NOT_DELIVERED, USAGE, QACog
from bot.ratelimit import ReplyLimits, SlidingWindow
from index.filters import SearchFilter
from index.models import Answer
from tests.conftest import make_settings
from tests.test_cog import (
    ASKER_ID,
    BOT_ID,
    Clock,
    FakeAnswerer,
    FakeHost,
    ask,
    make_interaction,
    make_message,
    until_answering,
)

CHANNEL = 555555555555555555
OTHER_CHANNEL = 666666666666666666
QUESTION = "how long did the talks between Kerry and Lavrov last"


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    settings = make_settings(index_dir=tmp_path / "index", discord_cooldown_seconds=5)
    return FakeHost(FakeAnswerer(), settings)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def mention(text: str, *, user_id: int = ASKER_ID, channel_id: int = CHANNEL) -> MagicMock:
    message = make_message(f"<@{BOT_ID}> {text}".rstrip(), mentions=[BOT_ID])
    message.author.id = user_id
    message.channel.id = channel_id
    return message


async def replies_to(cog: QACog, messages: list[MagicMock]) -> list[MagicMock]:
    """Send each message to the cog in turn; the ones that got a reply."""
    for message in messages:
        await cog.on_message(message)
    return [message for message in messages if message.reply.await_count]


# -- one user flooding a channel ----------------------------------------------------------------


async def test_forty_bare_mentions_get_one_reply(host: FakeHost, clock: Clock) -> None:
    cog = QACog(host, clock=clock)
    replied = await replies_to(cog, [mention("") for _ in range(40)])
    assert len(replied) == 1 and replied[0].reply.await_args.args == (USAGE,)
    clock.now += 5
    assert len(await replies_to(cog, [mention("")])) == 1  # a new window, a new notice


async def test_forty_overlong_questions_get_one_reply_and_a_fine_question_is_still_answered(
    host: FakeHost, clock: Clock
) -> None:
    cog = QACog(host, clock=clock)
    replied = await replies_to(cog, [mention("why " * 200) for _ in range(40)])
    assert len(replied) == 1 and "characters long" in replied[0].reply.await_args.args[0]
    clock.now += 5
    fine = mention(QUESTION)
    await cog.on_message(fine)
    assert "four hours" in fine.reply.await_args.kwargs["embed"].description


async def test_questions_during_the_cooldown_get_one_notice(host: FakeHost, clock: Clock) -> None:
    cog = QACog(host, clock=clock)
    replied = await replies_to(cog, [mention(QUESTION) for _ in range(10)])
    assert len(replied) == 2
    assert "embed" in replied[0].reply.await_args.kwargs  # the answer
    assert "try again in 5 s" in replied[1].reply.await_args.args[0]
    assert len(host.service.calls) == 1


async def test_a_long_cooldown_is_announced_once(host: FakeHost, clock: Clock) -> None:
    host.settings = host.settings.model_copy(update={"discord_cooldown_seconds": 30})
    cog = QACog(host, clock=clock)
    replied = []
    for _ in range(6):  # a question every 5 s, all within the 30 s cooldown after the first
        replied += await replies_to(cog, [mention(QUESTION)])
        clock.now += 5
    assert len(replied) == 2 and "try again in 25 s" in replied[1].reply.await_args.args[0]
    clock.now += 5
    assert len(await replies_to(cog, [mention(QUESTION)])) == 1


# -- many users in one channel ------------------------------------------------------------------


async def test_a_channel_gets_at_most_its_reply_budget_and_other_channels_are_unaffected(
    host: FakeHost, clock: Clock
) -> None:
    cog = QACog(host, clock=clock)
    crowd = [mention(QUESTION, user_id=ASKER_ID + i) for i in range(15)]
    # Discord sends 5 per 5 s in a channel: the 10th reply leaves ~5 s later, and more would wait longer.
    assert len(await replies_to(cog, crowd)) == 10
    elsewhere = mention(QUESTION, user_id=ASKER_ID + 99, channel_id=OTHER_CHANNEL)
    assert await replies_to(cog, [elsewhere]) == [elsewhere]
    clock.now += 10
    late = mention(QUESTION, user_id=ASKER_ID + 50)
    assert await replies_to(cog, [late]) == [late]


async def test_a_crowd_of_bare_mentions_gets_one_notice_per_channel(host: FakeHost, clock: Clock) -> None:
    cog = QACog(host, clock=clock)
    crowd = [mention("", user_id=ASKER_ID + i) for i in range(10)]
    assert len(await replies_to(cog, crowd)) == 1
    asker = mention(QUESTION, user_id=ASKER_ID + 20)
    assert await replies_to(cog, [asker]) == [asker]  # notices leave room in the budget for answers


async def test_slash_command_refusals_are_private_and_always_sent(host: FakeHost, clock: Clock) -> None:
    # Each /ask needs a response (or Discord shows "the application did not respond"), and private
    # interaction responses do not count against the channel's message limit.
    cog = QACog(host, clock=clock)
    interactions = [make_interaction() for _ in range(5)]
    for interaction in interactions:
        await ask(cog, interaction, "   ")
    for interaction in interactions:
        assert interaction.response.send_message.await_args.args == (USAGE,)
        assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


# -- load beyond the bounds ---------------------------------------------------------------------


class CountingAnswerer(FakeAnswerer):
    """Blocks on `gate`, counting how many questions are being answered at once."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__(gate=gate)
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Answer:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return super().answer(question, k, filters)
        finally:
            with self._lock:
                self.running -= 1


async def test_questions_beyond_the_bound_are_refused_at_once_and_threads_are_capped(
    host: FakeHost, clock: Clock
) -> None:
    gate = threading.Event()
    host.service = answerer = CountingAnswerer(gate)
    cog = QACog(host, clock=clock, limits=ReplyLimits(max_in_flight=3, answer_threads=1))
    asked = [make_interaction(user_id=ASKER_ID + i) for i in range(3)]
    tasks = [asyncio.create_task(ask(cog, interaction, QUESTION)) for interaction in asked]
    try:
        await until_answering(answerer)
        for interaction in asked:
            interaction.response.defer.assert_awaited_once()  # acknowledged while waiting for a thread
        shed = make_interaction(user_id=ASKER_ID + 10)
        await ask(cog, shed, QUESTION)
        assert shed.response.send_message.await_args.args == (BUSY,)
        assert shed.response.send_message.await_args.kwargs["ephemeral"] is True
        shed.response.defer.assert_not_awaited()
    finally:
        gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert answerer.most == 1 and len(answerer.calls) == 3
    again = make_interaction(user_id=ASKER_ID + 10)  # being shed did not start the user's cooldown
    await ask(cog, again, QUESTION)
    assert "four hours" in again.followup.send.await_args.kwargs["embed"].description


async def test_a_busy_bot_tells_a_mention_once(host: FakeHost, clock: Clock) -> None:
    gate = threading.Event()
    host.service = answerer = CountingAnswerer(gate)
    cog = QACog(host, clock=clock, limits=ReplyLimits(max_in_flight=1))
    running = asyncio.create_task(ask(cog, make_interaction(), QUESTION))
    try:
        await until_answering(answerer)
        replied = await replies_to(cog, [mention(QUESTION, user_id=ASKER_ID + 1) for _ in range(3)])
        assert len(replied) == 1 and replied[0].reply.await_args.args == (BUSY,)
    finally:
        gate.set()
    await asyncio.wait_for(running, 10)


# -- acknowledgements and replies Discord refuses -----------------------------------------------


def not_found() -> discord.NotFound:
    return discord.NotFound(
        MagicMock(status=404, reason="Not Found"), {"code": 10062, "message": "Unknown interaction"}
    )


async def test_an_expired_ack_is_one_warning_line(
    host: FakeHost, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    cog = QACog(host, clock=clock)
    interaction = make_interaction()
    interaction.response.defer.side_effect = not_found()
    with caplog.at_level(logging.DEBUG, logger="bot"):
        await ask(cog, interaction, QUESTION)
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [("WARNING", None)]
    assert "expired before it was acknowledged" in caplog.text and "Unknown interaction" in caplog.text
    assert host.service.calls == [] and interaction.followup.send.await_count == 0


async def test_an_expired_ack_of_another_command_is_one_warning_line(
    host: FakeHost, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    cog = QACog(host, clock=clock)
    interaction = make_interaction()
    error = discord.app_commands.CommandInvokeError(MagicMock(), not_found())
    with caplog.at_level(logging.DEBUG, logger="bot"):
        await cog.cog_app_command_error(interaction, error)
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [("WARNING", None)]
    interaction.response.send_message.assert_not_awaited()
    interaction.followup.send.assert_not_awaited()


async def test_an_answer_discord_refuses_replaces_the_thinking_message(
    host: FakeHost, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    cog = QACog(host, clock=clock)
    interaction = make_interaction()
    interaction.followup.send.side_effect = discord.DiscordServerError(
        MagicMock(status=503, reason="Service Unavailable"), "upstream down"
    )
    await ask(cog, interaction, QUESTION)
    interaction.edit_original_response.assert_awaited_once()
    assert interaction.edit_original_response.await_args.kwargs["content"] == NOT_DELIVERED
    assert "could not send the answer" in caplog.text and "Traceback" not in caplog.text


async def test_an_error_reply_discord_refuses_replaces_the_thinking_message(
    host: FakeHost, clock: Clock
) -> None:
    host.service = FakeAnswerer(error=RuntimeError("index exploded"))
    cog = QACog(host, clock=clock)
    interaction = make_interaction()
    interaction.followup.send.side_effect = discord.DiscordServerError(
        MagicMock(status=500, reason="x"), "down"
    )
    await ask(cog, interaction, QUESTION)
    assert interaction.edit_original_response.await_args.kwargs["content"] == NOT_DELIVERED


# -- buttons this process does not know -----------------------------------------------------------


def click(message_id: int) -> MagicMock:
    interaction = make_interaction()
    interaction.type = discord.InteractionType.component
    interaction.message.id = message_id
    return interaction


async def test_buttons_of_an_unknown_or_finished_answer_say_it_expired(host: FakeHost, clock: Clock) -> None:
    cog = QACog(host, clock=clock)
    asked = make_interaction()
    asked.followup.send.return_value = MagicMock(id=777777777777777777)
    await ask(cog, asked, QUESTION)
    view = asked.followup.send.await_args.kwargs["view"]

    live = click(777777777777777777)
    await cog.on_interaction(live)
    live.response.send_message.assert_not_awaited()  # the view answers that one

    before_restart = click(888888888888888888)
    await cog.on_interaction(before_restart)
    assert before_restart.response.send_message.await_args.args == (EXPIRED,)
    assert before_restart.response.send_message.await_args.kwargs["ephemeral"] is True

    view.stop()
    finished = click(777777777777777777)
    await cog.on_interaction(finished)
    assert finished.response.send_message.await_args.args == (EXPIRED,)


async def test_slash_commands_are_not_mistaken_for_buttons(host: FakeHost, clock: Clock) -> None:
    cog = QACog(host, clock=clock)
    command = make_interaction()
    command.type = discord.InteractionType.application_command
    await cog.on_interaction(command)
    command.response.send_message.assert_not_awaited()


async def test_finished_views_are_forgotten(host: FakeHost, clock: Clock) -> None:
    cog = QACog(host, clock=clock, limits=ReplyLimits(channel_replies=100))
    views = []
    for i in range(5):
        interaction = make_interaction(user_id=ASKER_ID + i)
        interaction.followup.send.return_value = MagicMock(id=900000000000000000 + i)
        await ask(cog, interaction, QUESTION)
        views.append(interaction.followup.send.await_args.kwargs["view"])
    for view in views[:4]:
        view.stop()
    last = make_interaction(user_id=ASKER_ID + 9)
    last.followup.send.return_value = MagicMock(id=910000000000000000)
    await ask(cog, last, QUESTION)
    assert list(cog._live_views) == [900000000000000004, 910000000000000000]


# -- the window itself ----------------------------------------------------------------------------


def test_a_sliding_window_counts_per_key_and_forgets_idle_keys(clock: Clock) -> None:
    window = SlidingWindow(2, 5.0, clock)
    assert [window.allow(1) for _ in range(3)] == [True, True, False]
    assert window.allow(2)
    clock.now += 4.9
    assert not window.allow(1)
    clock.now += 0.2
    assert window.allow(1)
    for key in range(100, 1100):
        window.allow(key)
    clock.now += 6
    window.allow(1)
    assert len(window) == 1


def test_a_zero_window_never_limits(clock: Clock) -> None:
    window = SlidingWindow(1, 0.0, clock)
    assert all(window.allow(1) for _ in range(10))


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        ReplyLimits(max_in_flight=0)
    with pytest.raises(ValueError):
        ReplyLimits(channel_seconds=0)


async def test_the_extension_answers_on_the_bots_pool_sized_by_the_settings(tmp_path: Path) -> None:
    from bot.cogs.qa import setup

    settings = make_settings(index_dir=tmp_path / "index", discord_max_in_flight=7, discord_answer_threads=3)
    bot = FakeHost(FakeAnswerer(), settings)
    bot.engine_pool = EnginePool.from_settings(settings)  # type: ignore[attr-defined]
    added: list[QACog] = []

    async def add_cog(cog: QACog) -> None:
        added.append(cog)

    bot.add_cog = add_cog  # type: ignore[attr-defined]
    await setup(bot)  # type: ignore[arg-type]
    assert added[0].pool is bot.engine_pool  # type: ignore[attr-defined]
    assert (added[0].limits.max_in_flight, added[0].limits.answer_threads) == (7, 3)
