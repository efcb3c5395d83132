"""The standing queries of every server and what was posted for them, in SQLite in the state folder."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from index import ArticleQAError

log = logging.getLogger(__name__)

STATE_FILE = "follows.sqlite3"  # in the state folder, beside feeds.sqlite3
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    query TEXT NOT NULL,
    added_by INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    last_post TEXT,
    disabled TEXT,
    problem TEXT
);
CREATE INDEX IF NOT EXISTS follows_guild ON follows (guild_id);
CREATE TABLE IF NOT EXISTS posts (
    follow_id INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
    story TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    PRIMARY KEY (follow_id, story)
);
"""


class FollowStoreError(ArticleQAError):
    """The follow database cannot be used (written by a newer version, or damaged)."""


@dataclass(frozen=True, slots=True)
class Follow:
    """One standing query: a server's question, the channel its matches go to, and its state.

    `disabled` says why the bot stopped posting for it (its channel is gone); `problem` is the last
    posting failure of a follow that is kept (missing permissions), cleared by the next post.
    """

    id: int
    guild_id: int
    channel_id: int
    query: str
    added_by: int
    added_at: dt.datetime
    last_post: dt.datetime | None = None
    disabled: str | None = None
    problem: str | None = None


def _iso(moment: dt.datetime) -> str:
    """UTC, always with microseconds: stored times then compare correctly as text."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _time(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(value)) if value else None


def _follow(row: tuple[object, ...]) -> Follow:
    added_at = _time(row[5])
    assert added_at is not None  # NOT NULL
    return Follow(
        id=int(str(row[0])),
        guild_id=int(str(row[1])),
        channel_id=int(str(row[2])),
        query=str(row[3]),
        added_by=int(str(row[4])),
        added_at=added_at,
        last_post=_time(row[6]),
        disabled=None if row[7] is None else str(row[7]),
        problem=None if row[8] is None else str(row[8]),
    )


_COLUMNS = "id, guild_id, channel_id, query, added_by, added_at, last_post, disabled, problem"


class FollowStore:
    """The follow database (WAL journal, private to the user). One connection shared by the event loop
    and the matching thread, so every call takes a lock; each call is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Created private: it names the servers, channels and members that use the bot.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise FollowStoreError(f"cannot read the follow database {path.name}: {err}") from None

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise FollowStoreError(
                f"{self.path.name} was written by a newer article-qa (schema {version}, this one reads "
                f"{SCHEMA_VERSION}); upgrade article-qa"
            )
        if version < SCHEMA_VERSION:
            self._db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FollowStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def add(
        self, guild_id: int, channel_id: int, query: str, added_by: int, now: dt.datetime, *, limit: int
    ) -> Follow | None:
        """Add a follow; None when the server already has `limit` follows (checked in the same
        transaction, so two managers adding at once cannot pass the cap)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                count = self._db.execute(
                    "SELECT COUNT(*) FROM follows WHERE guild_id = ?", (guild_id,)
                ).fetchone()[0]
                if count >= limit:
                    self._db.execute("ROLLBACK")
                    return None
                cursor = self._db.execute(
                    "INSERT INTO follows (guild_id, channel_id, query, added_by, added_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (guild_id, channel_id, query, added_by, _iso(now)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        assert cursor.lastrowid is not None
        return Follow(cursor.lastrowid, guild_id, channel_id, query, added_by, now)

    def remove(self, guild_id: int, follow_id: int) -> Follow | None:
        """Remove a follow of this server (and its post history); None when it has no such follow."""
        follow = self.get(guild_id, follow_id)
        if follow is not None:
            with self._lock:
                self._db.execute("DELETE FROM follows WHERE id = ? AND guild_id = ?", (follow_id, guild_id))
        return follow

    def get(self, guild_id: int, follow_id: int) -> Follow | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM follows WHERE id = ? AND guild_id = ?", (follow_id, guild_id)
            ).fetchone()
        return None if row is None else _follow(row)

    def of_guild(self, guild_id: int) -> list[Follow]:
        """The server's follows, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM follows WHERE guild_id = ? ORDER BY id", (guild_id,)
            ).fetchall()
        return [_follow(row) for row in rows]

    def active(self) -> list[Follow]:
        """Every follow still posting, of every server, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM follows WHERE disabled IS NULL ORDER BY id"
            ).fetchall()
        return [_follow(row) for row in rows]

    def recently_posted(self, follow_id: int, stories: Iterable[str], since: dt.datetime) -> bool:
        """Whether any of `stories` was posted for this follow at `since` or later."""
        keys = list(stories)
        if not keys:
            return False
        marks = ", ".join("?" * len(keys))
        with self._lock:
            row = self._db.execute(
                f"SELECT 1 FROM posts WHERE follow_id = ? AND posted_at >= ? AND story IN ({marks}) LIMIT 1",
                (follow_id, _iso(since), *keys),
            ).fetchone()
        return row is not None

    def record_post(self, follow_id: int, stories: Iterable[str], now: dt.datetime) -> None:
        """Remember a post of these stories, and clear the follow's last problem."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO posts (follow_id, story, posted_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (follow_id, story) DO UPDATE SET posted_at = excluded.posted_at",
                    [(follow_id, story, _iso(now)) for story in stories],
                )
                self._db.execute(
                    "UPDATE follows SET last_post = ?, problem = NULL WHERE id = ?",
                    (_iso(now), follow_id),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def set_problem(self, follow_id: int, problem: str) -> bool:
        """Record why the last post failed, keeping the follow; False when that was already recorded."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE follows SET problem = ? WHERE id = ? AND problem IS NOT ?",
                (problem, follow_id, problem),
            )
        return cursor.rowcount > 0

    def disable(self, follow_id: int, reason: str) -> None:
        """Stop posting for a follow (its channel is gone); it stays listed, with the reason."""
        with self._lock:
            self._db.execute("UPDATE follows SET disabled = ? WHERE id = ?", (reason, follow_id))

    def forget_posts_before(self, before: dt.datetime) -> None:
        """Drop post records older than any rate limit still looks at, so the table stays small."""
        with self._lock:
            self._db.execute("DELETE FROM posts WHERE posted_at < ?", (_iso(before),))
