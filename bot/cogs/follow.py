"""The follow cog: /follow, /unfollow and /following, and posting new articles that answer a follow."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import discord
from discord import app_commands
from discord.ext import commands

from index import has_searchable_words, normalize_question

from ..answering import EnginePool, Restarting
from ..config import Settings
from ..discord_render import DESCRIPTION_LIMIT, NO_MENTIONS, escape, trim
from ..follow.matcher import FollowMatcher, Searchable
from ..follow.posting import deliver
from ..follow.store import STATE_FILE, Follow, FollowStore, FollowStoreError
from ..state import state_path

if TYPE_CHECKING:
    from ..discord_app import QABot

_log = logging.getLogger(__name__)

MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices
LISTED_QUERY_CHARS = 50  # /following shows the start of each query, so 25 follows fit one embed
_COLOUR = discord.Colour.dark_gold()
NOT_IN_SERVER = "Follows belong to a server: use this command in one."
POST_PERMISSIONS = "I need View Channel, Send Messages and Embed Links in {channel} to post there."


class FollowHost(Protocol):
    """The bot, as far as this cog can tell."""

    settings: Settings

    def get_partial_messageable(
        self, id: int, *, guild_id: int | None = None, type: discord.ChannelType | None = None
    ) -> discord.PartialMessageable: ...


class FollowCog(commands.Cog):
    """Keeps the follows in `store` and, after each index update the bot announces, posts the new
    articles that answer them; matching runs on the engine pool, one update at a time."""

    def __init__(
        self,
        host: FollowHost,
        store: FollowStore,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        pool: EnginePool | None = None,
    ) -> None:
        """`pool` is the bot's, which matching shares with /ask and /timeline; without one the cog makes
        its own."""
        self.host = host
        self.pool = pool or EnginePool()
        self.store = store
        self._clock = clock
        settings = host.settings
        self.matcher = FollowMatcher(
            store,
            min_coverage=settings.follow_min_coverage,
            repost_after=dt.timedelta(minutes=settings.follow_repost_minutes),
        )
        self._matching = asyncio.Lock()  # updates are matched in the order they were swapped in
        self._closing = False

    async def cog_unload(self) -> None:
        # Matching in progress is dropped rather than awaited: a shutdown must not wait on Discord.
        self._closing = True
        await asyncio.to_thread(self.store.close)

    # -- commands -------------------------------------------------------------------------------

    @app_commands.command(name="follow", description="Post new articles that answer a question here")
    @app_commands.describe(
        query="What to follow, e.g. when will the Calder River Bridge reopen",
        channel="Where to post (this channel if left out)",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def follow(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 1000],
        channel: discord.TextChannel | discord.Thread | None = None,
    ) -> None:
        if interaction.guild_id is None:
            await _reply(interaction, NOT_IN_SERVER)
            return
        query = normalize_question(query)
        channel_id = channel.id if channel is not None else interaction.channel_id
        problem = self._refusal(query, channel)
        if problem is None and channel_id is None:
            problem = "Name a channel to post in."
        if problem is not None:
            await _reply(interaction, problem)
            return
        assert channel_id is not None
        existing = await asyncio.to_thread(self.store.of_guild, interaction.guild_id)
        same = next(
            (f for f in existing if f.channel_id == channel_id and f.query.casefold() == query.casefold()),
            None,
        )
        if same is not None:
            await _reply(interaction, f"<#{channel_id}> already follows that query (#{same.id}).")
            return
        settings = self.host.settings
        added = await asyncio.to_thread(
            self.store.add,
            interaction.guild_id,
            channel_id,
            query,
            interaction.user.id,
            self._clock(),
            limit=settings.follow_max_per_server,
        )
        if added is None:
            await _reply(
                interaction,
                f"This server already follows {settings.follow_max_per_server} queries, the most it may; "
                "remove one with /unfollow first.",
            )
            return
        _log.info("follow %d added in server %s", added.id, added.guild_id)
        await _reply(
            interaction,
            f"Following #{added.id} in <#{channel_id}>: {escape(query)}\n"
            f"New articles that answer it will be posted there; /unfollow {added.id} stops it.",
        )

    def _refusal(self, query: str, channel: discord.TextChannel | discord.Thread | None) -> str | None:
        """Why a follow cannot be added, or None."""
        limit = self.host.settings.follow_max_query_chars
        if len(query) > limit:
            return f"That query is {len(query):,} characters long; please keep it under {limit:,}."
        if not has_searchable_words(query):
            return "That query has no words to look for; try e.g. `when will the bridge reopen`."
        if channel is not None and not _may_post(channel):
            return POST_PERMISSIONS.format(channel=channel.mention)
        return None

    @app_commands.command(
        name="unfollow", description="Stop posting articles for one of this server's follows"
    )
    @app_commands.describe(follow_id="The follow's number, as /following lists it")
    @app_commands.rename(follow_id="id")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def unfollow(self, interaction: discord.Interaction, follow_id: int) -> None:
        if interaction.guild_id is None:
            await _reply(interaction, NOT_IN_SERVER)
            return
        removed = await asyncio.to_thread(self.store.remove, interaction.guild_id, follow_id)
        if removed is None:
            await _reply(interaction, f"This server has no follow #{follow_id}; /following lists them.")
            return
        await _reply(interaction, f"Stopped follow #{removed.id}: {escape(removed.query)}")

    @unfollow.autocomplete("follow_id")
    async def follow_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        """The server's follows whose number or query contains what was typed."""
        if interaction.guild_id is None:
            return []
        follows = await asyncio.to_thread(self.store.of_guild, interaction.guild_id)
        typed = current.strip().lstrip("#").casefold()
        return [
            app_commands.Choice(name=trim(f"#{f.id} {f.query}", 100), value=f.id)
            for f in follows
            if typed in str(f.id) or typed in f.query.casefold()
        ][:MAX_CHOICES]

    @app_commands.command(name="following", description="The questions this server follows")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def following(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None:
            await _reply(interaction, NOT_IN_SERVER)
            return
        follows = await asyncio.to_thread(self.store.of_guild, interaction.guild_id)
        await interaction.response.send_message(
            embed=following_embed(follows, self.host.settings.follow_max_per_server),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    # -- matching -------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_index_swapped(self, old: Any, new: Any) -> None:
        """After an index update: post the new articles that answer a follow. Never raises."""
        if not (hasattr(old, "article_fingerprints") and hasattr(new, "article_fingerprints")):
            return  # a service that cannot list its articles (a stale fallback, a test fake)
        async with self._matching:
            try:
                await self._post_matches(old, new)
            except Restarting:
                _log.debug("matching stopped by the shutdown")
            except Exception:
                if self._closing:  # the database closed under it: the bot is stopping
                    _log.debug("matching stopped by the shutdown", exc_info=True)
                else:
                    _log.exception("new articles were not matched against the follows")

    async def _post_matches(self, old: Searchable, new: Searchable) -> None:
        if self._closing:
            return
        now = self._clock()
        posts = await self.pool.run(self.matcher.posts, old, new, now)
        sent = 0
        for post in posts:
            if self._closing:
                break
            current = await asyncio.to_thread(self.store.get, post.follow.guild_id, post.follow.id)
            if current is None or current.disabled:
                continue  # removed with /unfollow, or stopped, while the articles were matched
            sent += await deliver(post, self._channel_of, self.store, now)
        if posts:
            _log.info("posted %d of %d match(es) for the follows", sent, len(posts))

    def _channel_of(self, follow: Follow) -> discord.abc.Messageable:
        return self.host.get_partial_messageable(follow.channel_id, guild_id=follow.guild_id)


def _may_post(channel: discord.TextChannel | discord.Thread) -> bool:
    """False when the bot's cached permissions in `channel` forbid posting an embed there."""
    me = channel.guild.me if channel.guild is not None else None
    if me is None:
        return True  # not cached: the first post will tell, and the follow shows the problem
    allowed = channel.permissions_for(me)
    send = allowed.send_messages_in_threads if isinstance(channel, discord.Thread) else allowed.send_messages
    return allowed.view_channel and send and allowed.embed_links


def following_embed(follows: list[Follow], cap: int) -> discord.Embed:
    """One line per follow: number, channel, query, who added it and when, last post, any problem."""
    if not follows:
        description = (
            "This server follows nothing yet. `/follow query: ...` posts new articles that answer it."
        )
    else:
        lines: list[str] = []
        used = 0
        for shown, follow in enumerate(follows):
            line = _follow_line(follow)
            more = f"… and {len(follows) - shown} more"
            if used + len(line) + 1 + len(more) > DESCRIPTION_LIMIT:
                lines.append(more)
                break
            lines.append(line)
            used += len(line) + 1
        description = "\n".join(lines)
    title = f"Following ({len(follows)} of {cap})"
    return discord.Embed(title=title, description=description, colour=_COLOUR)


def _follow_line(follow: Follow) -> str:
    query = escape(trim(follow.query, LISTED_QUERY_CHARS))
    last = f"<t:{int(follow.last_post.timestamp())}:R>" if follow.last_post else "never"
    line = (
        f"**#{follow.id}** {query} → <#{follow.channel_id}> · by <@{follow.added_by}> "
        f"<t:{int(follow.added_at.timestamp())}:d> · last post {last}"
    )
    if follow.disabled:
        line += f"\n  ⚠ stopped: {escape(follow.disabled)}"
    elif follow.problem:
        line += f"\n  ⚠ {escape(follow.problem)}"
    return line


async def _reply(interaction: discord.Interaction, line: str) -> None:
    """A private one-line reply, sent with mentions disabled."""
    await interaction.response.send_message(line, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: QABot) -> None:
    """Extension entry point for `bot.load_extension`; a follow database that cannot be opened leaves
    the bot answering without follows, with one error."""
    try:
        store = await asyncio.to_thread(FollowStore, state_path(bot.settings, STATE_FILE))
    except (FollowStoreError, OSError) as err:
        _log.error("follows are off: %s", err)
        return
    await bot.add_cog(FollowCog(bot, store, pool=bot.engine_pool))
