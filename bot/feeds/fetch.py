"""One fetch pass: every feed, every new item's page, stored in the corpus; failures never stop the pass."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from .extract import extract_article
from .http import FetchError, HttpFetcher
from .parse import Feed, FeedItem, parse_feed
from .state import FeedRecord, FetchState, ItemRecord
from .store import ArticleFiles, StoredArticle, content_hash

log = logging.getLogger(__name__)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
RETRY_BASE = dt.timedelta(minutes=5)  # a failed feed or item is tried again after 5, 10, 20 ... minutes
RETRY_MAX = dt.timedelta(hours=24)
WARN_EVERY = dt.timedelta(hours=1)  # one warning per feed per hour; the rest go to the debug log
MAX_ITEM_ATTEMPTS = 5  # an item page that never yields text is given up after this many passes
MIN_FEED_TEXT_CHARS = 80  # a feed summary shorter than this is a teaser, not an article
ItemResult = Literal["new", "updated", "seen", "failed", "duplicate"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def retry_delay(failures: int) -> dt.timedelta:
    """How long to wait after `failures` failures in a row (1, 2, ...)."""
    return min(RETRY_MAX, RETRY_BASE * (1 << min(failures - 1, 20)))


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What one pass did with one feed."""

    url: str
    new: int = 0
    updated: int = 0
    failure: str | None = None
    waiting_until: dt.datetime | None = None  # skipped: backing off after earlier failures


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one pass did with every feed."""

    outcomes: tuple[FeedOutcome, ...]

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.outcomes)

    @property
    def updated(self) -> int:
        return sum(outcome.updated for outcome in self.outcomes)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

    def summary(self) -> str:
        """e.g. "3 feeds: 12 new articles, 2 updated, 1 feed failed (timeout)"."""
        feeds = len(self.outcomes)
        parts = [f"{self.new} new article{'s' * (self.new != 1)}", f"{self.updated} updated"]
        failed = [outcome.failure for outcome in self.outcomes if outcome.failure]
        if failed:
            reasons = ", ".join(sorted(set(failed)))
            parts.append(f"{len(failed)} feed{'s' * (len(failed) != 1)} failed ({reasons})")
        waiting = sum(1 for outcome in self.outcomes if outcome.waiting_until)
        if waiting:
            parts.append(f"{waiting} waiting to retry")
        return f"{feeds} feed{'s' * (feeds != 1)}: " + ", ".join(parts)


class FeedFetcher:
    """Fetches feeds into `corpus/feeds/`, remembering in `state` what it has seen."""

    def __init__(
        self,
        corpus: Path,
        state: FetchState,
        http: HttpFetcher,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.files = ArticleFiles(corpus)
        self.state = state
        self.http = http
        self._clock = clock

    def run_pass(self, feeds: Sequence[str], *, honour_backoff: bool = True) -> PassReport:
        """Fetch every feed once; a feed that fails is recorded and retried later with backoff."""
        outcomes = []
        for url in feeds:
            try:
                outcomes.append(self.fetch_feed(url, honour_backoff=honour_backoff))
            except Exception as err:
                # A full disk, or a feed that trips a bug, must not take down the pass: later feeds still run.
                log.exception("%s: fetching this feed stopped", url)
                outcomes.append(FeedOutcome(url, failure=type(err).__name__))
        return PassReport(tuple(outcomes))

    def fetch_feed(self, url: str, *, honour_backoff: bool = True) -> FeedOutcome:
        now = self._clock()
        record = self.state.feed(url) or FeedRecord(
            url, None, None, None, None, "never fetched", 0, None, None
        )
        if honour_backoff and record.next_retry is not None and record.next_retry > now:
            return FeedOutcome(url, waiting_until=record.next_retry)
        try:
            fetched = self.http.get(
                url, etag=record.etag, last_modified=record.last_modified, accept=FEED_ACCEPT
            )
            feed = None if fetched.not_modified else parse_feed(fetched.body, fetched.url)
        except FetchError as err:
            return self._feed_failed(record, str(err), now)
        record = replace(record, last_fetch=now, failures=0, next_retry=None)
        if feed is None:
            self.state.save_feed(replace(record, status="ok (not modified)"))
            return FeedOutcome(url)
        if feed.repeats:
            record = self._warn(record, now, f"{url}: the feed lists {feed.repeats} item(s) more than once")
        outcome, record = self._store_items(record, feed, now)
        self.state.save_feed(
            replace(
                record,
                title=feed.title or record.title,
                etag=fetched.headers.get("etag"),
                last_modified=fetched.headers.get("last-modified"),
            )
        )
        return outcome

    def _store_items(
        self, record: FeedRecord, feed: Feed, now: dt.datetime
    ) -> tuple[FeedOutcome, FeedRecord]:
        counts: dict[ItemResult, int] = {}
        for item in feed.items:
            result = self._item(record.url, feed, item, now)
            counts[result] = counts.get(result, 0) + 1
        failed = counts.get("failed", 0)
        status = "ok" if not failed else f"ok ({failed} item(s) without readable text)"
        record = replace(record, status=status)
        if failed:
            record = self._warn(
                record, now, f"{record.url}: {failed} item(s) had no readable article; will retry them later"
            )
        return FeedOutcome(record.url, counts.get("new", 0), counts.get("updated", 0)), record

    def _feed_failed(self, record: FeedRecord, reason: str, now: dt.datetime) -> FeedOutcome:
        failures = record.failures + 1
        retry = now + retry_delay(failures)
        record = replace(
            record, last_fetch=now, status=f"failed: {reason}", failures=failures, next_retry=retry
        )
        record = self._warn(
            record,
            now,
            f"{record.url}: {reason} (failure {failures} in a row; next try after {retry:%H:%M} UTC)",
        )
        self.state.save_feed(record)
        return FeedOutcome(record.url, failure=reason)

    def _warn(self, record: FeedRecord, now: dt.datetime, message: str) -> FeedRecord:
        """Log `message` as a warning at most once per feed per WARN_EVERY; at debug level otherwise."""
        if record.last_warning is not None and now - record.last_warning < WARN_EVERY:
            log.debug("%s", message)
            return record
        log.warning("%s", message)
        return replace(record, last_warning=now)

    def _item(self, feed_url: str, feed: Feed, item: FeedItem, now: dt.datetime) -> ItemResult:
        known = self.state.item(feed_url, item.key)
        if known is not None and not _due(known, item, now):
            return "seen"
        if known is not None and known.file is not None and not self.files.exists(known.file):
            return "seen"  # the user deleted it: an edited feed item does not bring it back
        article = self._article(feed_url, feed, item, now)
        if article is None and known is not None and known.file is not None:
            # The edited version cannot be read: keep the stored one, and do not chase this edit again.
            self.state.save_item(replace(known, updated=item.updated), now)
            return "seen"
        if article is None:
            attempts = (known.attempts if known else 0) + 1
            retry = now + retry_delay(attempts)
            self.state.save_item(
                ItemRecord(feed_url, item.key, item.url, None, None, None, item.updated, attempts, retry), now
            )
            return "failed"
        digest = content_hash(article.text, article.publisher)
        own_file = known.file if known is not None else None
        elsewhere = self.state.stored_elsewhere(canonical_url=article.url, content_hash=digest)
        if elsewhere is not None and elsewhere != own_file:
            log.info("%s: %s is already stored as %s", feed_url, article.url or item.key, elsewhere)
            self._remember(feed_url, item, article.url, digest, None, now)
            return "duplicate"
        if own_file is not None and known is not None and known.content_hash == digest:
            self._remember(feed_url, item, article.url, digest, own_file, now)
            return "seen"
        path = own_file or self.files.new_path(article)
        self.files.write(path, article)
        self._remember(feed_url, item, article.url, digest, path, now)
        return "updated" if own_file else "new"

    def _remember(
        self,
        feed_url: str,
        item: FeedItem,
        canonical: str | None,
        digest: str,
        path: str | None,
        now: dt.datetime,
    ) -> None:
        self.state.save_item(
            ItemRecord(feed_url, item.key, item.url, canonical, digest, path, item.updated, 0, None), now
        )

    def _article(self, feed_url: str, feed: Feed, item: FeedItem, now: dt.datetime) -> StoredArticle | None:
        """The item's article from its page, else from the feed's own content; None if neither has text."""
        extracted = None
        final_url = item.url
        if item.url:
            try:
                if self.http.allowed(item.url):
                    fetched = self.http.get(item.url, accept=PAGE_ACCEPT)
                    final_url = fetched.url
                    extracted = extract_article(fetched.body, fetched.url)
                    if extracted is None:
                        log.debug("%s: no article text on the page", item.url)
                else:
                    log.info("%s: robots.txt disallows fetching it; using the feed's text", item.url)
            except FetchError as err:
                log.debug("%s: %s", item.url, err)
        if extracted is not None:
            text, title = extracted.text, extracted.title or item.title
            url = _http_url(extracted.canonical_url) or final_url
            publisher, date = extracted.site or feed.title, extracted.date or item.published
            author = extracted.author or item.author
        elif item.text and len(item.text) >= MIN_FEED_TEXT_CHARS:
            text, title, url = item.text, item.title, item.url
            publisher, date, author = feed.title, item.published, item.author
        else:
            return None
        return StoredArticle(
            title=title or text.split("\n", 1)[0][:120],
            text=text,
            url=url,
            publisher=publisher,
            date=date,
            author=author,
            feed=feed_url,
            fetched_at=now.isoformat(timespec="seconds"),
        )


def _due(known: ItemRecord, item: FeedItem, now: dt.datetime) -> bool:
    """Whether a known item needs fetching again: an earlier try failed, or the feed says it was edited."""
    if known.file is None:
        return 0 < known.attempts < MAX_ITEM_ATTEMPTS and (
            known.next_retry is None or known.next_retry <= now
        )
    return item.updated is not None and item.updated != known.updated


def _http_url(url: str | None) -> str | None:
    return url if url is not None and url.startswith(("http://", "https://")) else None
