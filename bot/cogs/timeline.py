"""The timeline cog: `/timeline` shows the dated updates of the story a query names, oldest first."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import discord
from discord import app_commands
from discord.ext import commands

from index import ArticleQAError, IndexFormatError, QuestionError, SearchFilter, Timeline, normalize_question

from ..answering import DATE_HINT, Admission, EnginePool, Restarting
from ..config import Settings
from ..discord_render import NO_MENTIONS, message_text, timeline_embed
from .qa import UNAVAILABLE as INDEX_UNAVAILABLE

if TYPE_CHECKING:
    from index import Answerer

    from ..discord_app import QABot

_log = logging.getLogger(__name__)

FAILED = "Sorry, something went wrong while building the timeline; the details are in the bot's log."
USAGE = "Name a story, e.g. `/timeline query: Calder River Bridge closure`."
UNAVAILABLE = "Timelines are not available from this index."


class NoTimelines(ArticleQAError):
    """The index being served builds no timelines."""


@runtime_checkable
class Timelines(Protocol):
    """A service that builds timelines (the real one does; simple test fakes may not)."""

    def timeline(self, query: str, filters: SearchFilter | None = None) -> Timeline: ...


class TimelineHost(Protocol):
    """What the cog needs from its bot: `QABot` provides it, and tests pass a fake."""

    @property
    def service(self) -> Answerer: ...

    @property
    def settings(self) -> Settings: ...

    async def heal_service(self, damaged: Answerer, damage: IndexFormatError) -> Answerer: ...


class TimelineCog(commands.Cog):
    """`/timeline`, built on the bot's shared `EnginePool`, with a per-user cooldown as for /ask."""

    def __init__(
        self,
        host: TimelineHost,
        *,
        clock: Callable[[], float] = time.monotonic,
        pool: EnginePool | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        """`pool` is the bot's, shared with /ask; without one the cog makes its own."""
        self.host = host
        self.pool = pool or EnginePool()
        self.admission = Admission(self.pool, host, noun="query", usage=USAGE, clock=clock, today=today)

    @app_commands.command(name="timeline", description="Follow a news story through its updates")
    @app_commands.describe(
        query="The story, e.g. Calder River Bridge closure",
        private="Show the timeline only to you",
        since=f"Only articles dated from this day or period ({DATE_HINT})",
        until="Only articles dated up to this day (or the end of this period)",
        source="Only articles from this publisher or site",
    )
    async def timeline(
        self,
        interaction: discord.Interaction,
        query: str,
        private: bool = False,
        since: app_commands.Range[str, 1, 100] | None = None,
        until: app_commands.Range[str, 1, 100] | None = None,
        source: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        query = normalize_question(query)
        filters, problem = self.admission.admit(query, interaction.user.id, since, until, source)
        if problem is not None:
            await interaction.response.send_message(
                message_text(problem), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        with self.pool.tracked():
            await self._reply(interaction, query, filters, private=private)

    async def _reply(
        self, interaction: discord.Interaction, query: str, filters: SearchFilter | None, *, private: bool
    ) -> None:
        """Acknowledge, build the timeline, and send it (or one line saying why not)."""
        await interaction.response.defer(thinking=True, ephemeral=private)
        try:
            found = await self._timeline(query, filters)
        except (QuestionError, NoTimelines, Restarting) as err:
            reply = str(err)  # about the user's own query, what this bot offers, or its state: safe to show
        except ArticleQAError as err:
            # About the server's corpus or index: its text can name server paths, so it stays in the log.
            _log.error("could not build a timeline: %s", err)
            reply = INDEX_UNAVAILABLE
        except Exception:
            _log.exception("/timeline failed")
            reply = FAILED
        else:
            await interaction.followup.send(
                embed=timeline_embed(found), ephemeral=private, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.followup.send(message_text(reply), ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _timeline(self, query: str, filters: SearchFilter | None) -> Timeline:
        """Built on the shared pool; a damaged index is healed once, then asked again."""
        service = self.host.service  # one service for the whole query: a reload swaps the host's
        if not isinstance(service, Timelines):
            raise NoTimelines(UNAVAILABLE)
        try:
            return await self.pool.run(service.timeline, query, filters)
        except IndexFormatError as damage:
            healed = await self.host.heal_service(service, damage)
            if not isinstance(healed, Timelines):
                raise NoTimelines(UNAVAILABLE) from None
            return await self.pool.run(healed.timeline, query, filters)


async def setup(bot: QABot) -> None:
    await bot.add_cog(TimelineCog(bot, pool=bot.engine_pool))
