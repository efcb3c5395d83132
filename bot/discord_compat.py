"""Every use of discord.py internals, in one place, with what they depend on in the library.

discord.py has no options for a REST base, a gateway URL or a session start budget, and warns about
voice libraries a text bot never needs. Each of these reaches into the library; `drift` lists what
has changed shape in the installed discord.py, and the test suite fails when it is not empty.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import discord
import yarl
from discord import gateway, http

# discord.py's AutoShardedClient.launch_shards as `launch_shards` below copies it (2.4 to 2.7): a new
# release that changes it must be read before this hash is updated.
LAUNCH_SHARDS_SHA256 = "b9cb636041e446163fe8e9e7ba48acebf338cdd273a4c865bf7373b45aa69c15"
LAUNCH_SHARDS_SIGNATURE = "(self) -> 'None'"
LAUNCH_SHARD_SIGNATURE = "(self, gateway: 'yarl.URL', shard_id: 'int', *, initial: 'bool' = False) -> 'None'"
GET_BOT_GATEWAY_SIGNATURE = "(self) -> 'Tuple[int, str, SessionStartLimit]'"


class SessionStartLimitReached(Exception):
    """Discord's daily budget of gateway logins is spent; connecting again must wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Discord's daily session start limit is used up; it resets in {retry_after:.0f} s")
        self.retry_after = retry_after


def silence_voice_warnings() -> None:
    """A text-only bot: the library's warnings about missing voice libraries would only alarm operators."""
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


def set_rest_base(base: str) -> None:
    """Send every REST request to `base` (a proxy, or a fake in tests): `Route.BASE` is read per request."""
    http.Route.BASE = base


def set_gateway(url: yarl.URL) -> None:
    """Connect to `url`: `DEFAULT_GATEWAY` is read on every connection (see `launch_shards`)."""
    gateway.DiscordWebSocket.DEFAULT_GATEWAY = url


async def launch_shards(client: discord.AutoShardedClient, *, configured_gateway: bool) -> None:
    """AutoShardedClient.launch_shards, plus a configured gateway URL and the session start budget.

    The library takes the gateway URL from /gateway/bot unless a shard count is set, which would
    bypass a configured gateway; and it would log in even with no session starts left.

    Raises:
        SessionStartLimitReached: fewer session starts are left than shards to start.
    """
    if client.is_closed():
        return
    recommended, url, limits = await client.http.get_bot_gateway()
    if client.shard_count is None:
        client.shard_count = recommended
    shard_ids: list[int] | range = client.shard_ids or range(client.shard_count)
    if limits["remaining"] < len(shard_ids):
        raise SessionStartLimitReached(limits["reset_after"] / 1000)
    gateway_url = gateway.DiscordWebSocket.DEFAULT_GATEWAY if configured_gateway else yarl.URL(url)
    client._connection.shard_count = client.shard_count
    client._connection.shard_ids = shard_ids
    for shard_id in shard_ids:
        await client.launch_shard(gateway_url, shard_id, initial=shard_id == shard_ids[0])


def source_sha256(function: Callable[..., Any]) -> str:
    """Hash of a function's dedented source: changes when the library's code does."""
    return hashlib.sha256(textwrap.dedent(inspect.getsource(function)).encode()).hexdigest()


def drift() -> list[str]:
    """What the installed discord.py has changed among the internals used here (empty: nothing)."""
    problems: list[str] = []
    client = discord.AutoShardedClient
    expected_signatures: dict[str, tuple[Callable[..., Any], str]] = {
        "AutoShardedClient.launch_shards": (client.launch_shards, LAUNCH_SHARDS_SIGNATURE),
        "AutoShardedClient.launch_shard": (client.launch_shard, LAUNCH_SHARD_SIGNATURE),
        "HTTPClient.get_bot_gateway": (http.HTTPClient.get_bot_gateway, GET_BOT_GATEWAY_SIGNATURE),
    }
    for name, (function, signature) in expected_signatures.items():
        if str(inspect.signature(function)) != signature:
            problems.append(f"{name} is now {name.split('.')[-1]}{inspect.signature(function)}")
    if source_sha256(client.launch_shards) != LAUNCH_SHARDS_SHA256:
        problems.append("AutoShardedClient.launch_shards changed: compare it with launch_shards here")
    attributes: dict[str, tuple[object, str, type]] = {
        "Route.BASE": (http.Route, "BASE", str),
        "DiscordWebSocket.DEFAULT_GATEWAY": (gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL),
        "VoiceClient.warn_nacl": (discord.VoiceClient, "warn_nacl", bool),
        "VoiceClient.warn_dave": (discord.VoiceClient, "warn_dave", bool),
    }
    for name, (owner, attribute, kind) in attributes.items():
        if not isinstance(getattr(owner, attribute, None), kind):
            problems.append(f"{name} is no longer a {kind.__name__}")
    return problems
