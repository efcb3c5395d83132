"""What the feed fetcher remembers between passes, in SQLite: per feed and per item."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "feeds.sqlite3"  # in the state folder, beside the REPL history

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_fetch TEXT,
    status TEXT NOT NULL DEFAULT 'never fetched',
    failures INTEGER NOT NULL DEFAULT 0,
    next_retry TEXT,
    last_warning TEXT
);
CREATE TABLE IF NOT EXISTS items (
    feed_url TEXT NOT NULL,
    item_key TEXT NOT NULL,
    url TEXT,
    canonical_url TEXT,
    content_hash TEXT,
    file TEXT,
    updated TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_retry TEXT,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (feed_url, item_key)
);
CREATE INDEX IF NOT EXISTS items_canonical ON items (canonical_url);
CREATE INDEX IF NOT EXISTS items_hash ON items (content_hash);
"""


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """One feed as last fetched."""

    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    last_fetch: dt.datetime | None
    status: str
    failures: int
    next_retry: dt.datetime | None
    last_warning: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One feed item already seen; `file` is the corpus file it was stored in (None: not stored)."""

    feed_url: str
    item_key: str
    url: str | None
    canonical_url: str | None
    content_hash: str | None
    file: str | None
    updated: str | None
    attempts: int
    next_retry: dt.datetime | None


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class FetchState:
    """The fetch state database (WAL journal, private to the user); one connection, one thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Created private: it lists every source the user follows.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FetchState:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def feed(self, url: str) -> FeedRecord | None:
        row = self._db.execute(
            "SELECT url, title, etag, last_modified, last_fetch, status, failures, next_retry, last_warning "
            "FROM feeds WHERE url = ?",
            (url,),
        ).fetchone()
        if row is None:
            return None
        return FeedRecord(
            row[0], row[1], row[2], row[3], _time(row[4]), row[5], row[6], _time(row[7]), _time(row[8])
        )

    def feeds(self) -> list[FeedRecord]:
        urls = [row[0] for row in self._db.execute("SELECT url FROM feeds ORDER BY url")]
        return [record for url in urls if (record := self.feed(url)) is not None]

    def save_feed(self, record: FeedRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO feeds (url, title, etag, last_modified, last_fetch, status, failures, "
            "next_retry, last_warning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.url,
                record.title,
                record.etag,
                record.last_modified,
                _iso(record.last_fetch),
                record.status,
                record.failures,
                _iso(record.next_retry),
                _iso(record.last_warning),
            ),
        )

    def item(self, feed_url: str, item_key: str) -> ItemRecord | None:
        row = self._db.execute(
            "SELECT feed_url, item_key, url, canonical_url, content_hash, file, updated, attempts, "
            "next_retry FROM items WHERE feed_url = ? AND item_key = ?",
            (feed_url, item_key),
        ).fetchone()
        return None if row is None else _item(row)

    def save_item(self, record: ItemRecord, now: dt.datetime) -> None:
        self._db.execute(
            "INSERT INTO items (feed_url, item_key, url, canonical_url, content_hash, file, updated, "
            "attempts, next_retry, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (feed_url, item_key) DO UPDATE SET url = excluded.url, "
            "canonical_url = excluded.canonical_url, content_hash = excluded.content_hash, "
            "file = excluded.file, updated = excluded.updated, attempts = excluded.attempts, "
            "next_retry = excluded.next_retry",
            (
                record.feed_url,
                record.item_key,
                record.url,
                record.canonical_url,
                record.content_hash,
                record.file,
                record.updated,
                record.attempts,
                _iso(record.next_retry),
                now.isoformat(),
            ),
        )

    def stored_elsewhere(self, *, canonical_url: str | None, content_hash: str) -> str | None:
        """The corpus file already holding this article (same canonical URL or same text), if any."""
        row = self._db.execute(
            "SELECT file FROM items WHERE file IS NOT NULL AND (content_hash = ? OR canonical_url = ?) "
            "LIMIT 1",
            (content_hash, canonical_url),
        ).fetchone()
        return None if row is None else str(row[0])

    def article_count(self, feed_url: str) -> int:
        """Items of `feed_url` stored in a corpus file."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM items WHERE feed_url = ? AND file IS NOT NULL", (feed_url,)
        ).fetchone()
        return int(row[0])


def _item(row: tuple[object, ...]) -> ItemRecord:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    attempts = row[7]
    return ItemRecord(
        str(row[0]),
        str(row[1]),
        text(row[2]),
        text(row[3]),
        text(row[4]),
        text(row[5]),
        text(row[6]),
        attempts if isinstance(attempts, int) else 0,
        _time(text(row[8])),
    )
