"""What the bot follows, for `/sources`: each feed's last fetch, status and article count, and the folder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from index import ArticleQAError, corpus_files

from ..config import Settings
from .schedule import state_path
from .sources import feed_urls
from .state import FetchState
from .store import FEEDS_FOLDER


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """One followed feed as last fetched."""

    url: str
    title: str | None
    last_fetch: dt.datetime | None
    status: str
    articles: int
    next_retry: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SourcesOverview:
    """The followed feeds and the corpus folder; `problem` says why the feed list could not be read."""

    feeds: tuple[FeedStatus, ...]
    folder: Path
    folder_files: int
    feed_files: int
    fetch_interval_minutes: float
    problem: str | None = None


def sources_overview(settings: Settings) -> SourcesOverview:
    """Read the feed list, the fetch state and the corpus folder (blocking: run it in a thread)."""
    problem = None
    try:
        urls = feed_urls(settings.feeds)
    except (ArticleQAError, ValueError) as err:
        urls, problem = [], str(err)
    feeds: list[FeedStatus] = []
    if urls:
        with FetchState(state_path(settings)) as state:
            for url in urls:
                record = state.feed(url)
                feeds.append(
                    FeedStatus(
                        url,
                        record.title if record else None,
                        record.last_fetch if record else None,
                        record.status if record else "never fetched",
                        state.article_count(url),
                        record.next_retry if record else None,
                    )
                )
    try:
        files = corpus_files(settings.corpus)
    except ArticleQAError as err:
        files, problem = [], problem or str(err)
    feeds_root = settings.corpus / FEEDS_FOLDER
    from_feeds = sum(1 for path in files if path.is_relative_to(feeds_root))
    return SourcesOverview(
        tuple(feeds), settings.corpus, len(files), from_feeds, settings.fetch_interval_minutes, problem
    )
