"""The QA cog: /ask, /about and /reload, and answers to mentions and direct messages."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import discord
from discord import app_commands
from discord.ext import commands

from index import (
    Answer,
    ArticleQAError,
    IndexFormatError,
    IndexStats,
    QuestionError,
    SearchFilter,
    normalize_question,
)

from ..answering import DATE_HINT, Admission, EnginePool, Restarting
from ..config import Settings
from ..discord_render import NO_MENTIONS, AnswerView, about_embed, message_text
from ..limits import MAX_PASSAGES
from ..ratelimit import ReplyLimits, SlidingWindow

if TYPE_CHECKING:
    from index import Answerer

    from ..discord_app import QABot

_log = logging.getLogger(__name__)

FAILED = "Sorry, something went wrong while answering; the details are in the bot's log."
UNAVAILABLE = "The articles cannot be searched right now; the bot's operator has the details in its log."
USAGE = "Ask me about the articles, e.g. `/ask question: how long did the talks last`."
NOT_DELIVERED = "Sorry, Discord did not accept the answer; please ask again in a moment."
EXPIRED = "This answer has expired; please ask again with /ask."
MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices


class QAHost(Protocol):
    """What the cog needs from its bot: `QABot` provides it, and tests pass a fake."""

    @property
    def service(self) -> Answerer: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def user(self) -> discord.ClientUser | None: ...

    async def reload_service(self, *, rebuild: bool) -> IndexStats: ...

    async def heal_service(self, damaged: Answerer, damage: IndexFormatError) -> Answerer: ...

    async def is_owner(self, user: discord.abc.User, /) -> bool: ...


class QACog(commands.Cog):
    """Answers questions from the host's current service on the bot's shared `EnginePool`, with a
    per-user cooldown, reply budgets per channel and a clean drain."""

    def __init__(
        self,
        host: QAHost,
        *,
        clock: Callable[[], float] = time.monotonic,
        limits: ReplyLimits | None = None,
        pool: EnginePool | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        """`pool` is the bot's, shared with the other commands; without one the cog makes its own from
        `limits` (whose reply budgets it uses either way)."""
        self.host = host
        self.limits = limits = limits or (pool.limits if pool is not None else ReplyLimits())
        self.pool = pool or EnginePool(limits)
        self.admission = Admission(self.pool, host, noun="question", usage=USAGE, clock=clock, today=today)
        # A user in a cooldown hears about it once, not once per message, however long the cooldown.
        notice_seconds = max(limits.notice_seconds, host.settings.discord_cooldown_seconds)
        self._user_notices = SlidingWindow(1, notice_seconds, clock)
        self._channel_notices = SlidingWindow(1, limits.notice_seconds, clock)
        self._channel_replies = SlidingWindow(limits.channel_replies, limits.channel_seconds, clock)
        # Message id -> the view whose buttons it carries, oldest first (they all time out alike).
        self._live_views: OrderedDict[int, AnswerView] = OrderedDict()

    # -- commands -------------------------------------------------------------------------------

    @app_commands.command(name="ask", description="Ask a question about the news articles")
    @app_commands.describe(
        question="Your question, e.g. how long did the talks last",
        k=f"How many passages to show at once (1-{MAX_PASSAGES})",
        private="Show the answer only to you",
        since=f"Only articles dated from this day or period ({DATE_HINT})",
        until="Only articles dated up to this day (or the end of this period)",
        source="Only articles from this publisher or site",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        k: app_commands.Range[int, 1, MAX_PASSAGES] | None = None,
        private: bool = False,
        since: app_commands.Range[str, 1, 100] | None = None,
        until: app_commands.Range[str, 1, 100] | None = None,
        source: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        # Every path starts with the acknowledgement (a deferral or a private refusal): the checks before it
        # are counters, and Discord drops interactions not acknowledged within 3 seconds.
        question = normalize_question(question)
        filters, problem = self.admission.admit(question, interaction.user.id, since, until, source)
        if problem is not None:
            await self._acknowledge(
                interaction,
                interaction.response.send_message(
                    message_text(problem), ephemeral=True, allowed_mentions=NO_MENTIONS
                ),
            )
            return
        with self.pool.tracked():
            if not await self._acknowledge(
                interaction, interaction.response.defer(thinking=True, ephemeral=private)
            ):
                return
            try:
                answer = await self._answer(question, filters)
            except Exception as err:
                await self._follow_up(interaction, message_text(self._explain(err, question)))
                return
            view = AnswerView(answer, per_page=k or self.host.settings.top_k, owner_id=interaction.user.id)
            try:
                view.message = await interaction.followup.send(
                    embed=view.embed(), view=view, ephemeral=private, allowed_mentions=NO_MENTIONS, wait=True
                )
            except discord.HTTPException as err:
                view.stop()
                _log.error("could not send the answer to interaction %s: %s", interaction.id, err)
                await self._replace_thinking(interaction)
            else:
                self._remember(view)

    @ask.autocomplete("source")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The indexed publishers starting with what was typed, then those containing it."""
        # The first call reads every article's metadata: off the event loop, but not on the engine pool,
        # where it would wait behind answers while Discord gives an autocomplete 3 s (later calls are cached).
        names = await asyncio.to_thread(self.host.service.publishers)
        return [
            app_commands.Choice(name=name[:100], value=name[:100]) for name in source_choices(names, current)
        ]

    @app_commands.command(name="about", description="How many articles and passages I know, and since when")
    async def about(self, interaction: discord.Interaction) -> None:
        embed = about_embed(self.host.service.stats())
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="reload", description="Rebuild the index from the corpus (bot owner only)")
    @app_commands.default_permissions(administrator=True)
    async def reload(self, interaction: discord.Interaction) -> None:
        if not await self.host.is_owner(interaction.user):
            await interaction.response.send_message(
                "Only the bot's owner can reload the index.", ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            stats = await self.host.reload_service(rebuild=True)
        except ArticleQAError as err:
            reply = f"Reload failed; still answering from the previous index. {err}"
        except Exception:
            _log.exception("reload failed")
            reply = "Reload failed; still answering from the previous index. The details are in the log."
        else:
            reply = f"Reloaded: {stats.articles:,} articles, {stats.passages:,} passages."
        await interaction.followup.send(message_text(reply), ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Anything the commands did not handle themselves: one friendly line, details in the log."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, discord.NotFound) and not interaction.response.is_done():
            _log.warning("interaction %s expired before it was acknowledged: %s", interaction.id, cause)
            return
        line = self._explain(cause, question=None)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    message_text(line), ephemeral=True, allowed_mentions=NO_MENTIONS
                )
            else:
                await interaction.response.send_message(
                    message_text(line), ephemeral=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException as err:
            _log.error("could not tell the user about an error (%s): %s", type(cause).__name__, err)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons whose answer this process no longer knows (sent before a restart, or expired)."""
        if interaction.type is not discord.InteractionType.component or interaction.message is None:
            return
        view = self._live_views.get(interaction.message.id)
        if view is not None and not view.is_finished():
            return  # discord.py hands the click to the view
        await self._acknowledge(
            interaction,
            interaction.response.send_message(EXPIRED, ephemeral=True, allowed_mentions=NO_MENTIONS),
        )

    # -- mentions and direct messages -----------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        question = self.question_in(message)
        if question is None:
            return
        channel_id = message.channel.id
        if not self._channel_replies.available(channel_id):
            # A reply now would wait in Discord's queue for this channel, delaying everyone's answers.
            _log.debug("channel %s is at its reply budget; message %s not answered", channel_id, message.id)
            return
        problem = self.admission.refusal(question, message.author.id)
        try:
            if problem is not None:
                if self._may_notify(message.author.id, channel_id):
                    await message.reply(message_text(problem), allowed_mentions=NO_MENTIONS)
                return
            self._channel_replies.take(channel_id)
            with self.pool.tracked():
                try:
                    answer = await self._answer(question)
                except Exception as err:
                    await message.reply(
                        message_text(self._explain(err, question)), allowed_mentions=NO_MENTIONS
                    )
                    return
                view = AnswerView(answer, per_page=self.host.settings.top_k, owner_id=message.author.id)
                try:
                    view.message = await message.reply(
                        embed=view.embed(), view=view, allowed_mentions=NO_MENTIONS
                    )
                except discord.HTTPException:
                    view.stop()
                    raise
                self._remember(view)
        except discord.HTTPException as err:
            _log.error("could not reply to message %s in channel %s: %s", message.id, channel_id, err)

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when it is not addressed to the bot.

        A message is addressed to the bot when it is a direct message or mentions the bot by id:
        `raw_mentions` reads `<@id>` tokens from the content, so `@everyone`, role mentions and the
        implicit mention of a reply do not count. Mentions carry their content without the privileged
        message-content intent.
        """
        me = self.host.user
        if me is None or message.author.bot or message.author.id == me.id:
            return None
        if message.guild is not None and me.id not in message.raw_mentions:
            return None
        return normalize_question(re.sub(rf"<@!?{me.id}>", " ", message.content))

    # -- shared machinery -----------------------------------------------------------------------

    async def _answer(self, question: str, filters: SearchFilter | None = None) -> Answer:
        """Retrieved on the shared pool; gives up with `Restarting` when a shutdown stops waiting."""
        # One reference for the whole question: a hot reload swaps `host.service`, never this object.
        service = self.host.service
        try:
            return await self.pool.run(service.answer, question, MAX_PASSAGES, filters)
        except IndexFormatError as damage:
            # A passage failed its checksum: heal the index once (rebuilt, or already healed for another
            # question) and ask again, rather than tell users the index is broken.
            healed = await self.host.heal_service(service, damage)
            return await self.pool.run(healed.answer, question, MAX_PASSAGES, filters)

    async def _acknowledge(self, interaction: discord.Interaction, response: Awaitable[object]) -> bool:
        """Send the first response to an interaction; False (logged in one line) when Discord refused it."""
        try:
            await response
        except discord.NotFound as err:  # 10062 Unknown interaction: the 3 s deadline passed
            _log.warning("interaction %s expired before it was acknowledged: %s", interaction.id, err)
            return False
        except discord.HTTPException as err:
            _log.error("could not acknowledge interaction %s: %s", interaction.id, err)
            return False
        return True

    async def _follow_up(self, interaction: discord.Interaction, line: str) -> None:
        """A private one-line followup; if Discord refuses it, the deferred reply says so instead."""
        try:
            await interaction.followup.send(line, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            _log.error("could not send a reply to interaction %s: %s", interaction.id, err)
            await self._replace_thinking(interaction)

    async def _replace_thinking(self, interaction: discord.Interaction) -> None:
        """Turn the deferred "thinking..." into a short error, so the user is not left waiting forever."""
        try:
            await interaction.edit_original_response(
                content=NOT_DELIVERED, embed=None, view=None, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as err:  # the token expired too: nothing more can be said
            _log.debug("could not edit the response of interaction %s: %s", interaction.id, err)

    def _may_notify(self, user_id: int, channel_id: int) -> bool:
        """Whether a refusal may be posted: one per user and one per channel per window, within budget."""
        if not (self._user_notices.available(user_id) and self._channel_notices.available(channel_id)):
            _log.debug("refusal to user %s in channel %s not sent: notice budget spent", user_id, channel_id)
            return False
        self._user_notices.take(user_id)
        self._channel_notices.take(channel_id)
        self._channel_replies.take(channel_id)
        return True

    def _remember(self, view: AnswerView) -> None:
        """Track a sent answer's buttons, so clicks on buttons this process does not know get a reply."""
        if view.message is None:
            return
        self._live_views[view.message.id] = view
        while self._live_views:
            oldest = next(iter(self._live_views.values()))
            if not oldest.is_finished():
                break
            self._live_views.popitem(last=False)

    def _explain(self, error: BaseException, question: str | None) -> str:
        """One friendly line for the user; anything unexpected is logged with its traceback."""
        if isinstance(error, (QuestionError, Restarting)):
            return str(error)  # about the user's own input or the bot's state: safe and useful to show
        if isinstance(error, ArticleQAError):
            # About the server's corpus or index: its text can name server paths, so it stays in the log.
            _log.error("could not answer: %s", error)
            return UNAVAILABLE
        _log.error("failed to answer a question", exc_info=error)
        _log.debug("the question that failed: %r", question)  # questions are private: debug level only
        return FAILED


def source_choices(names: list[str], typed: str) -> list[str]:
    """Publisher names that start with `typed` (any case), then those containing it; at most 25."""
    key = typed.strip().casefold()
    starting = [name for name in names if name.casefold().startswith(key)]
    containing = [name for name in names if key in name.casefold() and name not in starting]
    return (starting + containing)[:MAX_CHOICES]


async def setup(bot: QABot) -> None:
    """Extension entry point for `bot.load_extension`."""
    await bot.add_cog(QACog(bot, pool=bot.engine_pool))
