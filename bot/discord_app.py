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
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import aiohttp
import discord
import yarl
from discord import gateway, http
from discord.ext import commands

from index import ArticleQAError, IndexFormatError, IndexStats

from .config import Settings
from .exitcodes import EXIT_OK, EXIT_USAGE
from .hardening import disable_core_dumps, quiet_discord_loggers, write_private
from .state import COMMANDS_MARKER, state_path

if TYPE_CHECKING:
    from index import Answerer

_log = logging.getLogger(__name__)

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
# A bot token is three base64url parts joined by dots (user id, timestamp, signature).
BOT_TOKEN_SHAPE = re.compile(r"[\w-]+\.[\w-]+\.[\w-]+")
# After failed hot reloads the corpus poll waits interval x 2, x 4 ... doubling at most this many times.
RELOAD_BACKOFF_DOUBLINGS = 5
UNREACHABLE = "cannot reach the Discord API"
UNREACHABLE_HINT = "check the network or ARTICLE_QA_DISCORD_API_BASE"


class ServiceLoader(Protocol):
    """Opens the answering service again, for hot reloads; `run_discord` uses `bot.service`."""

    def open(self, *, rebuild: bool) -> Answerer: ...

    def is_current(self, service: Answerer) -> bool: ...

    def heal(self, service: Answerer, damage: IndexFormatError) -> Answerer: ...


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

    async def setup_hook(self) -> None:
        await self.load_extension(f"{__package__}.cogs.qa")
        await self.sync_commands(force=self._force_sync)
        interval = self.settings.reload_interval_seconds
        if interval > 0 and self._loader is not None:
            self._poller = asyncio.create_task(self._poll_corpus(interval), name="article-qa corpus poller")

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
        await super().close()


def start_prefetch(service: Answerer) -> threading.Thread | None:
    """Read the index in from disk in a daemon thread while the bot connects, so that the first
    questions are as fast as the rest; None for a service that has nothing to read in."""
    prefetch = getattr(service, "prefetch", None)
    if prefetch is None:
        return None
    thread = threading.Thread(target=_prefetch, args=(prefetch,), name="article-qa prefetch", daemon=True)
    thread.start()
    return thread


def _prefetch(prefetch: Callable[[], None]) -> None:
    try:
        prefetch()
    except Exception:  # a slow first question is the only cost: never take the bot down for it
        _log.debug("could not read the index in ahead of questions", exc_info=True)


def reload_delay(interval: float, failures: int) -> float:
    """Seconds until the next corpus poll: the interval, doubled after each failed rebuild, capped."""
    return interval * (1 << min(failures, RELOAD_BACKOFF_DOUBLINGS))


class _EngineLoader:
    """The real ServiceLoader: serves the last good index (marked stale) when a rebuild fails."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def open(self, *, rebuild: bool) -> Answerer:
        from .service import open_or_stale

        return open_or_stale(self._settings, rebuild=rebuild)

    def is_current(self, service: Answerer) -> bool:
        from index import QAService

        from .service import is_current

        return not isinstance(service, QAService) or is_current(self._settings, service)

    def heal(self, service: Answerer, damage: IndexFormatError) -> Answerer:
        from index import QAService

        from .service import recover_from_damage

        if not isinstance(service, QAService):
            raise damage
        return recover_from_damage(self._settings, service, damage)


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
    if getattr(service, "stale_reason", None):
        _log.warning("index is out of date (could not rebuild: %s)", service.stale_reason)  # type: ignore[attr-defined]
    start_prefetch(service)
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
