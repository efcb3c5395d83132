"""The Discord bot: QABot, and run_discord which builds the index, connects, restarts and shuts down."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import random
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import aiohttp
import discord
import yarl
from discord import gateway, http
from discord.ext import commands

from index.errors import ArticleQAError
from index.models import IndexStats

from .config import Settings
from .hardening import disable_core_dumps, quiet_discord_loggers, write_private

if TYPE_CHECKING:
    from index.answer import Answerer

_log = logging.getLogger(__name__)

EXIT_OK, EXIT_USAGE = 0, 2  # as in cli.py
SHUTDOWN_GRACE_SECONDS = 5.0  # questions in flight get this long to be answered on SIGINT/SIGTERM
# Crash restarts wait 5 s, 10 s, 20 s ... up to 10 minutes, so a crash loop stays far below Discord's
# 1000 logins a day; a run that stayed up this long counts as healthy and resets the backoff.
RESTART_BASE_SECONDS = 5.0
RESTART_MAX_SECONDS = 600.0
HEALTHY_RUN_SECONDS = 600.0
# Gateway close codes that no reconnect can fix: bad token, bad shard settings, bad intents.
FATAL_CLOSE_CODES = {
    4004: "Discord rejected the token (gateway close 4004); check ARTICLE_QA_DISCORD_TOKEN",
    4010: "Discord rejected the shard settings (invalid shard); check ARTICLE_QA_DISCORD_SHARD_IDS/_COUNT",
    4011: "Discord requires sharding for this bot; set ARTICLE_QA_DISCORD_SHARD_COUNT",
    4013: "Discord rejected the gateway intents (invalid intents)",
    4014: "Discord refused intents this bot was not granted (disallowed intents)",
}
COMMANDS_MARKER = "discord-commands.json"  # in the index dir: what was last synced, to skip needless syncs
# A bot token is three base64url parts joined by dots (user id, timestamp, signature).
BOT_TOKEN_SHAPE = re.compile(r"[\w-]+\.[\w-]+\.[\w-]+")
UNREACHABLE = "cannot reach the Discord API"
UNREACHABLE_HINT = "check the network or ARTICLE_QA_DISCORD_API_BASE"


class ServiceLoader(Protocol):
    """Opens the answering service again, for hot reloads; `run_discord` uses `bot.service`."""

    def open(self, *, rebuild: bool) -> Answerer: ...

    def is_current(self, service: Answerer) -> bool: ...


@runtime_checkable
class _Drains(Protocol):
    async def drain(self, grace: float) -> None: ...


class SessionStartLimitReached(Exception):
    """Discord's daily budget of gateway logins is spent; connecting again must wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Discord's daily session start limit is used up; it resets in {retry_after:.0f} s")
        self.retry_after = retry_after


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
        # A text-only bot: the library's warnings about missing voice libraries would only alarm operators.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
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
        self._loader = loader
        self._force_sync = force_sync
        self._reload_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        self._followers: list[asyncio.Task[None]] = []  # the folder watcher and the feed fetcher

    async def setup_hook(self) -> None:
        await self.load_extension(f"{__package__}.cogs.qa")
        await self.load_extension(f"{__package__}.cogs.sources")
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
        marker = self.settings.index_dir / COMMANDS_MARKER
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
        """
        if self._loader is None:
            raise ArticleQAError("this bot was started without a way to reload its index")
        loader = self._loader
        async with self._reload_lock:
            service = await asyncio.to_thread(loader.open, rebuild=rebuild)
            self.service = service
        stats = service.stats()
        _log.info("now answering from %s articles, %s passages", stats.articles, stats.passages)
        return stats

    async def _poll_corpus(self, interval: float) -> None:
        loader = self._loader
        assert loader is not None
        while True:
            await asyncio.sleep(interval)
            try:
                if not await asyncio.to_thread(loader.is_current, self.service):
                    _log.info("the corpus or settings changed: rebuilding the index")
                    await self.reload_service(rebuild=False)
            except ArticleQAError as err:
                _log.warning("hot reload failed; still answering from the previous index: %s", err)
            except Exception:
                _log.exception("hot reload failed; still answering from the previous index")

    async def launch_shards(self) -> None:
        """AutoShardedClient.launch_shards, plus the gateway URL setting and the session start budget.

        The library takes the gateway URL from /gateway/bot unless a shard count is set, which would
        bypass a configured gateway; and it would log in even with no session starts left.
        """
        if self.is_closed():
            return
        recommended, url, limits = await self.http.get_bot_gateway()
        if self.shard_count is None:
            self.shard_count = recommended
        shard_ids: list[int] | range = self.shard_ids or range(self.shard_count)
        if limits["remaining"] < len(shard_ids):
            raise SessionStartLimitReached(limits["reset_after"] / 1000)
        configured = self.settings.discord_gateway_url
        gateway_url = gateway.DiscordWebSocket.DEFAULT_GATEWAY if configured else yarl.URL(url)
        self._connection.shard_count = self.shard_count
        self._connection.shard_ids = shard_ids
        for shard_id in shard_ids:
            await self.launch_shard(gateway_url, shard_id, initial=shard_id == shard_ids[0])

    async def shutdown(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let questions in flight finish (or tell them we restart), then disconnect."""
        for cog in self.cogs.values():
            if isinstance(cog, _Drains):
                await cog.drain(grace)
        await self.close()

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        for task in self._followers:
            task.cancel()
        await super().close()


class _EngineLoader:
    """The real ServiceLoader: `bot.service.open_service` and `index_is_current`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def open(self, *, rebuild: bool) -> Answerer:
        from .service import open_service

        return open_service(self._settings, rebuild=rebuild)

    def is_current(self, service: Answerer) -> bool:
        from index.answer import QAService

        from .service import index_is_current

        return not isinstance(service, QAService) or index_is_current(self._settings, service)


def use_endpoints(settings: Settings) -> None:
    """Point discord.py at the configured REST base and gateway (a proxy, or a fake in tests).

    discord.py has no option for this; `Route.BASE` and `DEFAULT_GATEWAY` are read on every request
    and connection, so setting them before login is enough. Unset settings leave Discord itself.
    """
    if settings.discord_api_base:
        base = settings.discord_api_base.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"ARTICLE_QA_DISCORD_API_BASE must be an http(s) URL, not {base!r}")
        http.Route.BASE = base
    if settings.discord_gateway_url:
        url = yarl.URL(settings.discord_gateway_url)
        if url.scheme not in ("ws", "wss"):
            raise ValueError(f"ARTICLE_QA_DISCORD_GATEWAY_URL must be a ws(s):// URL, not {str(url)!r}")
        gateway.DiscordWebSocket.DEFAULT_GATEWAY = url


def run_discord(settings: Settings, *, sync: bool = False) -> int:
    """Build or load the index, then run the bot until SIGINT/SIGTERM; returns the exit code.

    Raises:
        ArticleQAError: the index cannot be built or loaded (the CLI reports it like `ask` does).
    """
    disable_core_dumps()  # first: the token is read just below
    quiet_discord_loggers()
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        _log.error(
            "no Discord bot token: set ARTICLE_QA_DISCORD_TOKEN (or DISCORD_TOKEN) in the environment "
            "or in .env; see 'Run it on Discord' in the README"
        )
        return EXIT_USAGE
    if not BOT_TOKEN_SHAPE.fullmatch(token):
        _log.error(
            "ARTICLE_QA_DISCORD_TOKEN is not a bot token (three parts separated by dots%s); copy it again "
            "from the Bot page of https://discord.com/developers/applications",
            ", without a 'Bot ' prefix" if token.lower().startswith("bot ") else "",
        )
        return EXIT_USAGE
    if settings.discord_shard_ids is not None and settings.discord_shard_count is None:
        _log.error("ARTICLE_QA_DISCORD_SHARD_IDS needs ARTICLE_QA_DISCORD_SHARD_COUNT (the total) too")
        return EXIT_USAGE
    try:
        use_endpoints(settings)
    except ValueError as err:
        _log.error("%s", err)
        return EXIT_USAGE
    loader = _EngineLoader(settings)
    service = loader.open(rebuild=False)  # before connecting: never inside an interaction
    # The heap built so far lives as long as the bot: keep it out of the garbage collector's sweeps,
    # which otherwise stall the event loop for 100+ ms at a time under load.
    gc.collect()
    gc.freeze()
    return asyncio.run(_supervise(settings, token, service, loader, sync=sync))


async def _supervise(
    settings: Settings, token: str, service: Answerer, loader: ServiceLoader, *, sync: bool
) -> int:
    """Run the bot, restarting it with backoff after crashes, until a signal asks us to stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows; not the main thread
            loop.add_signal_handler(signum, stop.set)
    failures = unreachable = 0
    while True:
        bot = QABot(settings, service, loader=loader, force_sync=sync)
        started = loop.time()
        error = await _run_once(bot, token, stop)
        service = bot.service  # a restart keeps the index a hot reload swapped in
        if error is None:
            _log.info("stopped")
            return EXIT_OK
        fatal = _fatal_message(error)
        if fatal is not None:
            _log.error("%s", fatal)
            return EXIT_USAGE
        if isinstance(error, SessionStartLimitReached):
            delay = error.retry_after
            _log.error("%s; waiting before logging in again", error)
        else:
            failures = 1 if loop.time() - started > HEALTHY_RUN_SECONDS else failures + 1
            delay = restart_delay(failures)
            unreachable = unreachable + 1 if _is_unreachable(error) else 0
            _log_crash(error, delay, unreachable)
        sync = False
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            continue
        return EXIT_OK


def restart_delay(failures: int) -> float:
    """Seconds to wait before restart number `failures` (1, 2, ...) after a crash."""
    delay = min(RESTART_MAX_SECONDS, RESTART_BASE_SECONDS * 2.0 ** (failures - 1))
    return delay * random.uniform(0.8, 1.0)  # jitter: several processes must not log in in lockstep


async def _run_once(bot: QABot, token: str, stop: asyncio.Event) -> BaseException | None:
    """Run `bot` until it fails (returns the error) or `stop` is set (returns None after a drain)."""
    async with bot:
        running = asyncio.create_task(bot.start(token), name="article-qa bot")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            _log.info("shutting down: answering the questions in flight first")
            await bot.shutdown()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, 5.0)
            return None
        stopping.cancel()
        return running.exception()


def _fatal_message(error: BaseException) -> str | None:
    """The one line to show for errors a restart cannot fix, else None."""
    if isinstance(error, discord.LoginFailure):
        return "Discord rejected the token (401 Unauthorized); check ARTICLE_QA_DISCORD_TOKEN"
    if isinstance(error, discord.ConnectionClosed) and error.code in FATAL_CLOSE_CODES:
        return FATAL_CLOSE_CODES[error.code]
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return FATAL_CLOSE_CODES[4014]
    return None


def _is_unreachable(error: BaseException) -> bool:
    """A network failure on the way to Discord (refused, unresolvable, timed out), not a bug of ours."""
    return isinstance(error, aiohttp.ClientConnectionError | OSError | TimeoutError)


def _log_crash(error: BaseException, delay: float, unreachable: int) -> None:
    """One line per restart when Discord is out of reach (the traceback at DEBUG only); bugs in full."""
    if not unreachable:
        _log.error("the bot stopped (%s); restarting in %.0f s", _describe(error), delay, exc_info=error)
        return
    what = (
        f"{UNREACHABLE}: {UNREACHABLE_HINT}"
        if unreachable == 1
        else f"still {UNREACHABLE} after {unreachable} tries"
    )
    _log.error("%s (%s); restarting in %.0f s", what, _describe(error), delay)
    _log.debug("the connection failure in full", exc_info=error)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
