"""The discord.py internals the bot relies on still have the shape its overrides were written for."""

from __future__ import annotations

import discord
import pytest
import yarl
from discord import gateway, http

from bot import discord_compat
from bot.discord_compat import drift, source_sha256


def test_installed_discord_py_matches_the_overrides() -> None:
    # A new discord.py release that fails this needs its launch_shards, Route.BASE, DEFAULT_GATEWAY
    # and VoiceClient flags read again before `discord_compat` and its recorded hash are updated.
    assert drift() == [], discord.__version__


def test_drift_reports_a_changed_launch_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    async def launch_shards(self: discord.AutoShardedClient, *, eager: bool = False) -> None:
        """A future release's version, with an option the copy here does not know."""

    monkeypatch.setattr(discord.AutoShardedClient, "launch_shards", launch_shards)
    problems = drift()
    assert any("launch_shards is now launch_shards(self" in problem for problem in problems)
    assert any("launch_shards changed" in problem for problem in problems)


def test_drift_reports_a_patched_attribute_of_another_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway.DiscordWebSocket, "DEFAULT_GATEWAY", "wss://gateway.discord.gg/")
    monkeypatch.delattr(discord.VoiceClient, "warn_dave")
    assert drift() == [
        "DiscordWebSocket.DEFAULT_GATEWAY is no longer a URL",
        "VoiceClient.warn_dave is no longer a bool",
    ]


def test_the_recorded_hash_is_of_the_installed_source() -> None:
    assert source_sha256(discord.AutoShardedClient.launch_shards) == discord_compat.LAUNCH_SHARDS_SHA256


def test_endpoints_are_set_process_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http.Route, "BASE", http.Route.BASE)  # restored after the test
    monkeypatch.setattr(gateway.DiscordWebSocket, "DEFAULT_GATEWAY", gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord_compat.set_rest_base("http://127.0.0.1:8080/api/v10")
    discord_compat.set_gateway(yarl.URL("ws://127.0.0.1:8081/"))
    assert http.Route("GET", "/gateway/bot").url == "http://127.0.0.1:8080/api/v10/gateway/bot"
    assert gateway.DiscordWebSocket.DEFAULT_GATEWAY == yarl.URL("ws://127.0.0.1:8081/")
