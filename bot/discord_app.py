"""The Discord bot: QABot answers with the index, syncs its commands, reloads and drains."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import discord
from discord.ext import commands

from index import ArticleQAError, IndexFormatError, IndexStats

from . import discord_compat
from .answering import EnginePool
from .config import Settings
from .hardening import write_private
from .state import COMMANDS_MARKER, state_path

if TYPE_CHECKING:
    from index import Answerer

_log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 5.0  # requests in flight get this long to be answered on SIGINT/SIGTERM
# After failed hot reloads the corpus poll waits interval x 2, x 4 ... doubling at most this many times.
RELOAD_BACKOFF_DOUBLINGS = 5


class ServiceLoader(Protocol):
    """Opens the answering service again, for hot reloads; `run_discord` uses `bot.service`."""

    def open(self, *, rebuild: bool) -> Answerer: ...

    def is_current(self, service: Answerer) -> bool: ...

    def heal(self, service: Answerer, damage: IndexFormatError) -> Answerer: ...


class QABot(commands.AutoShardedBot):
    """The article-qa bot: answers with `service`, which a hot reload swaps atomically."""

    def __init__(
        self,
        settings: Settings,
        service: Answerer,
        *,
        loader: ServiceLoader | None = None,
        force_sync: bool = False,
    ) -> None:
        discord_compat.silence_voice_warnings()
        sharding: dict[str, Any] = {"shard_count": settings.discord_shard_count}
        if settings.discord_shard_ids is not None:  # the library wants a list or no argument at all
            sharding["shard_ids"] = settings.discord_shard_ids
        super().__init__(
            # No text commands: mentions are answered by the cog, so never parse them as commands.
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            **sharding,
        )
        self.settings = settings
        self.service = service
        # The threads and in-flight cap that /ask, mentions, /timeline and follow matching share.
        self.engine_pool = EnginePool.from_settings(settings)
        self._loader = loader
        self._force_sync = force_sync
        self._reload_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        self._followers: list[asyncio.Task[None]] = []  # the folder watcher and the feed fetcher

    async def setup_hook(self) -> None:
        await self.load_extension(f"{__package__}.cogs.qa")
        await self.load_extension(f"{__package__}.cogs.sources")
        await self.load_extension(f"{__package__}.cogs.follow")
        await self.load_extension(f"{__package__}.cogs.timeline")
        await self.sync_commands(force=self._force_sync)
        interval = self.settings.reload_interval_seconds
        if interval > 0 and self._loader is not None:
            self._poller = asyncio.create_task(self._poll_corpus(interval), name="article-qa corpus poller")
        if self._loader is not None:
            from .watch import start_following

            self._followers = start_following(self.settings, self.corpus_changed)

    async def corpus_changed(self, changed: frozenset[Path] = frozenset()) -> None:
        """Bring the index up to date after the corpus changed, and answer from it from now on."""
        from .watch import on_corpus_changed

        loader = self._loader
        assert loader is not None
        await asyncio.to_thread(on_corpus_changed, self.settings, changed)
        if not await asyncio.to_thread(loader.is_current, self.service):
            await self.reload_service(rebuild=False)

    async def on_message(self, message: discord.Message, /) -> None:
        """Overrides Bot.on_message, which would parse "@bot how long ..." as a text command."""

    async def on_ready(self) -> None:
        assert self.user is not None
        _log.info(
            "connected as %s (id %s) to %d server(s) on shard(s) %s",
            self.user,
            self.user.id,
            len(self.guilds),
            self.shard_ids if self.shard_ids is not None else f"0-{(self.shard_count or 1) - 1}",
        )

    async def sync_commands(self, *, force: bool = False) -> None:
        """Register the slash commands: on the test guild when one is set (instant), else globally.

        Skipped when the same commands were already synced to the same place, because global syncs are
        rate limited; `force` (``article-qa discord --sync``) syncs anyway.
        """
        guild_id = self.settings.discord_guild_id
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        elif self.shard_ids is not None and 0 not in self.shard_ids and not force:
            return  # several processes share the bot: the one running shard 0 syncs global commands
        target = f"guild {guild_id}" if guild_id is not None else "global"
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps([target, payload], sort_keys=True).encode()).hexdigest()
        marker = state_path(self.settings, COMMANDS_MARKER)
        try:
            synced: dict[str, str] = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            synced = {}
        if not force and synced.get(target) == digest:
            _log.info("slash commands unchanged since the last sync (%s); use --sync to force one", target)
            return
        try:
            commands_ = await self.tree.sync(guild=guild)
        except discord.HTTPException as err:  # mentions and DMs still work, and the next start retries
            _log.error(
                "could not sync the slash commands (%s): %s; was the bot invited with the "
                "applications.commands scope%s?",
                target,
                err,
                " and is ARTICLE_QA_DISCORD_GUILD_ID right" if guild_id is not None else "",
            )
            return
        _log.info("synced %d slash command(s) (%s)", len(commands_), target)
        synced[target] = digest
        try:
            write_private(marker, json.dumps(synced))
        except OSError as err:
            _log.warning("could not record the command sync in %s: %s", marker, err)

    async def reload_service(self, *, rebuild: bool) -> IndexStats:
        """Open the index again (rebuilding it when asked or stale) and swap it in atomically.

        Questions already running keep the service they started with; a failure keeps the old one.
        Listeners of `index_swapped` (the follow cog) get the old and the new service.
        """
        if self._loader is None:
            raise ArticleQAError("this bot was started without a way to reload its index")
        loader = self._loader
        async with self._reload_lock:
            service = await asyncio.to_thread(loader.open, rebuild=rebuild)
            previous, self.service = self.service, service
        if service is not previous:
            self.dispatch("index_swapped", previous, service)
        stats = service.stats()
        _log.info("now answering from %s articles, %s passages", stats.articles, stats.passages)
        return stats

    async def heal_service(self, damaged: Answerer, damage: IndexFormatError) -> Answerer:
        """The service to ask again once `damaged` failed a checksum while answering: the one already
        swapped in by another question, else a healed one (rebuilt, or the live index reopened)."""
        if self._loader is None:
            raise damage
        loader = self._loader
        async with self._reload_lock:
            if self.service is damaged:
                self.service = await asyncio.to_thread(loader.heal, damaged, damage)
            return self.service

    async def _poll_corpus(self, interval: float) -> None:
        loader = self._loader
        assert loader is not None
        failures, last_failure = 0, ""
        while True:
            await asyncio.sleep(reload_delay(interval, failures))
            unexpected: BaseException | None = None
            try:
                if await asyncio.to_thread(loader.is_current, self.service):
                    continue
                if failures == 0:
                    _log.info("the corpus or settings changed: rebuilding the index")
                await self.reload_service(rebuild=False)
                failure = getattr(self.service, "stale_reason", None) or ""
            except ArticleQAError as err:
                failure = str(err)
            except Exception as err:
                failure, unexpected = repr(err), err
            failures = failures + 1 if failure else 0
            if failure and failure != last_failure:  # each distinct failure once, not at every retry
                _log.warning(
                    "hot reload failed; still answering from the previous index: %s",
                    failure,
                    exc_info=unexpected,
                )
            last_failure = failure

    async def launch_shards(self) -> None:
        """AutoShardedClient.launch_shards, plus the gateway URL setting and the session start budget."""
        await discord_compat.launch_shards(self, configured_gateway=bool(self.settings.discord_gateway_url))

    async def shutdown(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let requests in flight finish (or tell them we restart), then disconnect."""
        await self.engine_pool.drain(grace)
        await self.close()

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        for task in self._followers:
            task.cancel()
        await super().close()
        self.engine_pool.close()


def reload_delay(interval: float, failures: int) -> float:
    """Seconds until the next corpus poll: the interval, doubled after each failed rebuild, capped."""
    return interval * (1 << min(failures, RELOAD_BACKOFF_DOUBLINGS))
