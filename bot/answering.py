"""The engine work the Discord bot takes on: one worker pool, the in-flight cap, and who is refused."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import functools
import logging
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, Protocol, TypeVar

from discord.ext import commands

from index import ArticleQAError, SearchFilter

from .config import Settings
from .ratelimit import ReplyLimits
from .timeexpr import search_filter

_log = logging.getLogger(__name__)

BUSY = "I am answering a lot of questions right now; please ask again in a minute."
RESTARTING = "The bot is restarting; please ask again in a minute."
DATE_HINT = "e.g. 2025-02-11, 7d, last week, March 2014, since March 2014"

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Restarting(ArticleQAError):
    """The bot is shutting down and will not finish this request."""

    def __init__(self) -> None:
        super().__init__(RESTARTING)


class EnginePool:
    """The threads every engine call of the bot runs on, the count of requests in flight, and the drain.

    /ask, mentions, /timeline and the follow matcher share one pool, so together they never run more
    than `limits.answer_threads` engine calls at once (each takes the GIL from the event loop, which
    must stay free to acknowledge interactions), and users' requests share one in-flight cap.
    """

    def __init__(self, limits: ReplyLimits | None = None) -> None:
        self.limits = limits = limits or ReplyLimits()
        self._executor = ThreadPoolExecutor(limits.answer_threads, thread_name_prefix="article-qa-engine")
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._abandon = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> EnginePool:
        """The pool sized by the operator's settings."""
        limits = ReplyLimits(
            max_in_flight=settings.discord_max_in_flight, answer_threads=settings.discord_answer_threads
        )
        return cls(limits)

    @property
    def closing(self) -> bool:
        """Whether a drain started: new requests are refused."""
        return self._closing

    @property
    def busy(self) -> bool:
        """Whether as many requests as the cap allows are in flight."""
        return self._in_flight >= self.limits.max_in_flight

    @contextlib.contextmanager
    def tracked(self) -> Iterator[None]:
        """Count a request as in flight until its reply is sent, so a drain can wait for it."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def run(self, work: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """`work(*args, **kwargs)` on one of the pool's threads; `Restarting` when a drain stops waiting."""
        if self._abandon.is_set():
            raise Restarting
        call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
        job = asyncio.get_running_loop().run_in_executor(self._executor, call)
        abandon = asyncio.ensure_future(self._abandon.wait())
        either: set[asyncio.Future[Any]] = {job, abandon}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            abandon.cancel()
        if job.done():
            return job.result()
        # A job still queued never starts; a running thread cannot be stopped, and its result is dropped.
        job.cancel()
        job.add_done_callback(lambda done: done.cancelled() or done.exception())
        raise Restarting

    async def drain(self, grace: float) -> None:
        """Refuse new requests, give those in flight `grace` seconds, then tell the rest we restart."""
        self._closing = True
        if self._in_flight:
            _log.info("waiting up to %.0f s for %d request(s) in flight", grace, self._in_flight)
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            _log.warning("%d request(s) still running: telling them the bot restarts", self._in_flight)
            self._abandon.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), 3.0)

    def close(self) -> None:
        """Drop queued engine calls and let the running ones finish on their own."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def request_filter(
    since: str | None, until: str | None, source: str | None, today: dt.date
) -> SearchFilter | None:
    """The filter a command's `since`, `until` and `source` options ask for; None when none is given.

    Raises:
        QuestionError: a date is not readable, or the window ends before it starts.
    """
    if not (since or until or source):
        return None
    return search_filter(since, until, (source,) if source else (), today)


class SettingsHost(Protocol):
    """A bot with settings (read at each request, so tests and reloads may swap them)."""

    @property
    def settings(self) -> Settings: ...


class Admission:
    """Whether one command takes a user's request now: readable filters, a usable text, room in the
    shared pool, and no cooldown running for that user (each command keeps its own cooldowns)."""

    def __init__(
        self,
        pool: EnginePool,
        host: SettingsHost,
        *,
        noun: str,
        usage: str,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.pool = pool
        self._host = host
        self._noun = noun  # what the user sent, as refusals name it: "question", "query"
        self._usage = usage
        self._clock = clock
        self._today = today  # what relative dates in filters ("7d") count back from
        seconds = host.settings.discord_cooldown_seconds
        # One bucket per user id (app_commands cooldowns would cover one command and one entry point).
        self._cooldowns: commands.CooldownMapping[int] = commands.CooldownMapping(
            commands.Cooldown(1, seconds) if seconds > 0 else None, lambda user_id: user_id
        )

    def admit(
        self,
        text: str,
        user_id: int,
        since: str | None = None,
        until: str | None = None,
        source: str | None = None,
    ) -> tuple[SearchFilter | None, str | None]:
        """The request's filter and why it is refused (None: take it, which starts the cooldown)."""
        try:
            filters = request_filter(since, until, source, self._today())
        except ArticleQAError as err:
            return None, str(err)  # about the user's own input: safe and useful to show
        return filters, self.refusal(text, user_id)

    def refusal(self, text: str, user_id: int) -> str | None:
        """Why a request is not taken right now, or None to take it (which starts the cooldown)."""
        if self.pool.closing:
            return RESTARTING
        if not text:
            return self._usage
        limit = self._host.settings.max_question_chars
        if len(text) > limit:
            return f"That {self._noun} is {len(text):,} characters long; please keep it under {limit:,}."
        if self.pool.busy:
            return BUSY  # checked before the cooldown, which a request not taken must not start
        now = self._clock()
        bucket = self._cooldowns.get_bucket(user_id, now) if self._cooldowns.valid else None
        retry_after = bucket.update_rate_limit(now) if bucket is not None else None
        if retry_after:
            return f"You are asking quickly: try again in {math.ceil(retry_after)} s."
        return None
