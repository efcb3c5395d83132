"""The bot's process supervisor: checks the settings, opens the index, runs the bot, restarts, stops."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import re
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
import discord
import yarl

from index import IndexFormatError

from . import discord_compat
from .config import Settings
from .discord_app import QABot, ServiceLoader
from .exitcodes import EXIT_OK, EXIT_USAGE
from .hardening import disable_core_dumps, quiet_discord_loggers

if TYPE_CHECKING:
    from index import Answerer

_log = logging.getLogger(__name__)

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
UNREACHABLE = "cannot reach the Discord API"
UNREACHABLE_HINT = "check the network or ARTICLE_QA_DISCORD_API_BASE"


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


def use_endpoints(settings: Settings) -> None:
    """Point discord.py at the configured REST base and gateway (a proxy, or a fake in tests).

    discord.py has no option for this (see `discord_compat`); setting them before login is enough.
    Unset settings leave Discord itself.
    """
    if settings.discord_api_base:
        base = settings.discord_api_base.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"ARTICLE_QA_DISCORD_API_BASE must be an http(s) URL, not {base!r}")
        discord_compat.set_rest_base(base)
    if settings.discord_gateway_url:
        url = yarl.URL(settings.discord_gateway_url)
        if url.scheme not in ("ws", "wss"):
            raise ValueError(f"ARTICLE_QA_DISCORD_GATEWAY_URL must be a ws(s):// URL, not {str(url)!r}")
        discord_compat.set_gateway(url)


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
        if isinstance(error, discord_compat.SessionStartLimitReached):
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
