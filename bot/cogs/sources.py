"""The sources cog: `/sources` shows the followed feeds and the corpus folder, for server managers."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import discord
from discord import app_commands
from discord.ext import commands

from ..config import Settings
from ..feeds.overview import FeedStatus, SourcesOverview, sources_overview

if TYPE_CHECKING:
    from ..discord_app import QABot

_log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
DESCRIPTION_LIMIT = 4096  # Discord's limit for an embed description
_COLOUR = discord.Colour.dark_teal()


class SourcesHost(Protocol):
    """The bot, as far as this cog can tell."""

    settings: Settings

    async def is_owner(self, user: discord.User | discord.Member, /) -> bool: ...


class SourcesCog(commands.Cog):
    """`/sources`; the overview is read in a worker thread (SQLite and a walk of the corpus folder)."""

    def __init__(
        self, host: SourcesHost, *, overview: Callable[[Settings], SourcesOverview] = sources_overview
    ) -> None:
        self.host = host
        self._overview = overview

    @app_commands.command(name="sources", description="The feeds I follow and the articles in my folder")
    @app_commands.default_permissions(manage_guild=True)
    async def sources(self, interaction: discord.Interaction) -> None:
        # Server permissions do not reach direct messages, where the feed list would be anyone's to read.
        if interaction.guild is None and not await self.host.is_owner(interaction.user):
            await interaction.response.send_message(
                "Use /sources in a server you manage.", ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            overview = await asyncio.to_thread(self._overview, self.host.settings)
        except Exception:
            _log.exception("/sources failed")
            await interaction.followup.send(
                "Could not read the sources; the details are in the log.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await interaction.followup.send(
            embed=sources_embed(overview), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def sources_embed(overview: SourcesOverview, now: dt.datetime | None = None) -> discord.Embed:
    """One embed: the folder, then a line pair per feed, cut to the description limit with a count."""
    folder = discord.utils.escape_markdown(overview.folder.name or str(overview.folder))
    every = (
        f"fetched every {overview.fetch_interval_minutes:g} min"
        if overview.fetch_interval_minutes > 0
        else "automatic fetching is off"
    )
    head = [
        f"**Folder** {folder}: {overview.folder_files:,} article files ({overview.feed_files:,} from feeds)",
        f"**Feeds**: {len(overview.feeds)}, {every}"
        if overview.feeds
        else "**Feeds**: none (set ARTICLE_QA_FEEDS)",
    ]
    if overview.problem:
        head.append(f"⚠ {discord.utils.escape_markdown(overview.problem)[:300]}")
    lines = ["\n".join(head)]
    used = len(lines[0])
    for shown, feed in enumerate(overview.feeds):
        entry = _feed_entry(feed)
        rest = len(overview.feeds) - shown
        more = f"\n… and {rest} more feeds"
        if used + len(entry) + 2 + len(more) > DESCRIPTION_LIMIT:
            lines.append(more.strip())
            break
        lines.append(entry)
        used += len(entry) + 2
    return discord.Embed(title="Sources", description="\n\n".join(lines), colour=_COLOUR, timestamp=now)


def _feed_entry(feed: FeedStatus) -> str:
    name = discord.utils.escape_markdown((feed.title or urlsplit(feed.url).hostname or feed.url)[:100])
    fetched = f"<t:{int(feed.last_fetch.timestamp())}:R>" if feed.last_fetch else "never"
    status = discord.utils.escape_markdown(feed.status[:120])
    retry = f", retry <t:{int(feed.next_retry.timestamp())}:R>" if feed.next_retry else ""
    url = feed.url if len(feed.url) <= 300 else feed.url[:297] + "..."
    return (
        f"**{name}**\n<{url}>\nlast fetch {fetched} · {status}{retry} · "
        f"{feed.articles:,} article{'s' * (feed.articles != 1)}"
    )


async def setup(bot: QABot) -> None:
    """Extension entry point for `bot.load_extension`."""
    await bot.add_cog(SourcesCog(bot))
