"""Posting a follow's match into its channel: the embed, and what a failed post does to the follow."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

import discord

from ..discord_render import (
    CONTENT_LIMIT,
    FIELD_VALUE_LIMIT,
    NO_MENTIONS,
    TITLE_LIMIT,
    escape,
    passage_markdown,
    source_markdown,
    sources_markdown,
    trim,
    web_url,
)
from .matcher import Post
from .store import Follow, FollowStore

log = logging.getLogger(__name__)

PASSAGE_LIMIT = 1500  # the highlighted sentence and its neighbours; the embed stays readable
FOOTER_LIMIT = 300
CHANNEL_GONE = "its channel was deleted, or the bot was removed from it"
_COLOUR = discord.Colour.dark_gold()

Messageable = Callable[[Follow], discord.abc.Messageable]


def post_content(follow: Follow) -> str:
    """The line above the embed: which follow this is (the query is the user's, so it is escaped)."""
    return trim(f"New for follow #{follow.id}: {escape(follow.query)}", CONTENT_LIMIT)


def post_embed(post: Post) -> discord.Embed:
    """The article that answers the follow: its highlighted passage, title, publisher, date and link."""
    found = post.found
    source = found.source
    embed = discord.Embed(
        title=trim(source.title or "Untitled article", TITLE_LIMIT),
        url=web_url(source.url),
        description=passage_markdown(found.passage, PASSAGE_LIMIT),
        colour=_COLOUR,
    )
    embed.add_field(name="Source", value=trim(source_markdown(source), FIELD_VALUE_LIMIT), inline=False)
    others = tuple(other for other in found.passage.sources if other != source)
    if others:
        embed.add_field(
            name="Also printed by", value=sources_markdown(others, FIELD_VALUE_LIMIT), inline=False
        )
    embed.set_footer(text=trim(f"/unfollow {post.follow.id} stops these posts", FOOTER_LIMIT))
    return embed


async def deliver(post: Post, channel_of: Messageable, store: FollowStore, now: dt.datetime) -> bool:
    """Send `post` and record it; True when it was sent. A deleted channel disables the follow, a
    refusal (missing permissions) is noted on it with one warning; neither ever raises."""
    follow = post.follow
    try:
        await channel_of(follow).send(
            content=post_content(follow), embed=post_embed(post), allowed_mentions=NO_MENTIONS
        )
    except discord.NotFound as err:
        log.warning("follow %d stopped: %s (%s)", follow.id, CHANNEL_GONE, err)
        await asyncio.to_thread(store.disable, follow.id, CHANNEL_GONE)
        return False
    except discord.Forbidden as err:
        problem = "the bot may not post in its channel (it needs Send Messages and Embed Links there)"
        if await asyncio.to_thread(store.set_problem, follow.id, problem):
            log.warning("follow %d not posted: %s (%s)", follow.id, problem, err)
        return False
    except discord.HTTPException as err:  # Discord had a bad moment: this match is not posted
        log.warning("follow %d not posted: %s", follow.id, err)
        return False
    await asyncio.to_thread(store.record_post, follow.id, post.found.stories, now)
    return True
