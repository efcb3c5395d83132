"""Run fetch passes: once for `article-qa fetch`, or every few minutes beside the bot and the watcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from index import ArticleQAError

from ..config import Settings
from ..state import state_path as app_state_path
from .fetch import FeedFetcher, PassReport
from .http import HttpFetcher
from .sources import FeedListError, feed_urls
from .state import STATE_FILE, FetchState

log = logging.getLogger(__name__)


def state_path(settings: Settings) -> Path:
    """The fetch state database: in the application's state folder, beside the REPL history."""
    return app_state_path(settings, STATE_FILE)


def feeds_corpus(settings: Settings) -> Path:
    """The corpus folder fetched articles go into (created when missing).

    Raises:
        FeedListError: the corpus is a single file, which cannot hold fetched articles.
    """
    corpus = settings.corpus
    if corpus.exists() and not corpus.is_dir():
        raise FeedListError(
            f"fetched articles are stored in the corpus folder, but ARTICLE_QA_CORPUS is a file: {corpus}"
        )
    corpus.mkdir(parents=True, exist_ok=True)
    return corpus


def fetch_pass(
    settings: Settings, *, honour_backoff: bool = True, http: HttpFetcher | None = None
) -> PassReport:
    """Fetch every configured feed once into the corpus, with `http` if given (else a client of its own).

    Raises:
        FeedListError: ARTICLE_QA_FEEDS is unset or names a feeds file that cannot be read.
    """
    urls = feed_urls(settings.feeds)
    if not urls:
        raise FeedListError(
            "no feeds to fetch: set ARTICLE_QA_FEEDS to a JSON list of feed URLs or to a file with one URL "
            "per line"
        )
    corpus = feeds_corpus(settings)
    if not log.isEnabledFor(logging.DEBUG):
        # httpx logs every request at INFO: a line per page would bury what a pass did.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    with contextlib.ExitStack() as stack:
        state = stack.enter_context(FetchState(state_path(settings)))
        if http is None:
            http = stack.enter_context(HttpFetcher(timeout=settings.fetch_timeout_seconds))
        return FeedFetcher(corpus, state, http).run_pass(urls, honour_backoff=honour_backoff)


async def fetch_periodically(
    settings: Settings,
    on_changed: Callable[[], Awaitable[None]],
    *,
    run_pass: Callable[..., PassReport] = fetch_pass,
) -> None:
    """A pass now and then every ARTICLE_QA_FETCH_INTERVAL_MINUTES; `on_changed` after passes that stored
    something. Runs until cancelled; no failure stops it."""
    interval = settings.fetch_interval_minutes * 60
    # One client for the loop's life: connections are reused, and robots.txt is asked for once an hour.
    with HttpFetcher(timeout=settings.fetch_timeout_seconds) as http:
        while True:
            await _one_pass(settings, on_changed, run_pass, http)
            await asyncio.sleep(interval)


async def _one_pass(
    settings: Settings,
    on_changed: Callable[[], Awaitable[None]],
    run_pass: Callable[..., PassReport],
    http: HttpFetcher,
) -> None:
    try:
        report = await asyncio.to_thread(run_pass, settings, http=http)
        log.info("fetched %s", report.summary())
        if report.changed:
            await on_changed()
    except ArticleQAError as err:
        log.warning("fetching feeds failed: %s", err)
    except Exception:
        log.exception("fetching feeds failed; trying again at the next interval")
