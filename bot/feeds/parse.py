"""Read an RSS or Atom document into feed items with feedparser."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import feedparser

from index import parse_html

from .http import FetchError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed; `key` identifies it across passes (its id, else its link, else its text)."""

    key: str
    url: str | None
    title: str | None
    text: str | None  # the item's own content or summary as paragraphs, if it carries any
    published: str | None  # ISO 8601
    updated: str | None  # as the feed states it, to notice edits
    author: str | None


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its title and link, its items in order, and how many entries repeated another."""

    title: str | None
    link: str | None
    items: tuple[FeedItem, ...]
    repeats: int


def parse_feed(body: bytes, url: str) -> Feed:
    """Parse a fetched feed document; relative links resolve against `url`.

    Raises:
        FetchError: the document is not a feed feedparser can read.
    """
    if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise FetchError("not an RSS or Atom feed (a web page)")
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    channel: Any = parsed.feed
    if parsed.bozo and not parsed.entries:
        problem = type(parsed.get("bozo_exception")).__name__
        raise FetchError(f"malformed feed ({problem})")
    if not parsed.entries and not channel.get("title"):
        raise FetchError("not an RSS or Atom feed")
    if parsed.bozo:
        log.debug("%s: feed has errors but was read (%s)", url, parsed.get("bozo_exception"))
    items: list[FeedItem] = []
    seen: set[str] = set()
    repeats = 0
    for entry in parsed.entries:
        item = _item(entry)
        if item.key in seen:
            repeats += 1
            continue
        seen.add(item.key)
        items.append(item)
    return Feed(_text(channel.get("title")), _text(channel.get("link")), tuple(items), repeats)


def _item(entry: Any) -> FeedItem:
    url = _text(entry.get("link"))
    title = _text(entry.get("title"))
    text = _content(entry)
    key = _text(entry.get("id")) or url
    if key is None:
        key = "sha256:" + hashlib.sha256(f"{title}\0{text}".encode()).hexdigest()
    return FeedItem(
        key=key,
        url=url,
        title=title,
        text=text,
        # dict.get: feedparser's own get() maps a missing `updated` to `published`, with a warning.
        published=_date(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        updated=_text(dict.get(entry, "updated")) or _text(dict.get(entry, "published")),
        author=_text(entry.get("author")),
    )


def _content(entry: Any) -> str | None:
    """The longest of the item's full content and its summary, as plain paragraphs."""
    candidates = [part.get("value", "") for part in entry.get("content", []) or []]
    candidates.append(entry.get("summary", "") or "")
    texts = [html_to_paragraphs(value) for value in candidates if isinstance(value, str) and value.strip()]
    best = max(texts, key=len, default="")
    return best or None


def html_to_paragraphs(markup: str) -> str:
    """Text of an HTML fragment, one paragraph per block, blank lines between them."""
    lines = (line.strip() for line in parse_html(markup).text.splitlines())
    return "\n\n".join(line for line in lines if line)


def _date(parsed: time.struct_time | None) -> str | None:
    if parsed is None:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.UTC).isoformat()


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
