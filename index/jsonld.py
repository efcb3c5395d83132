"""Article metadata from schema.org JSON-LD blocks (`<script type="application/ld+json">`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "BackgroundNewsArticle",
        "OpinionNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
    }
)
# A page's JSON-LD is a few kilobytes; a block larger than this is not metadata worth parsing.
MAX_BLOCK_CHARS = 1024 * 1024
# Objects visited per block: bounds the walk over a hostile `@graph`.
MAX_NODES = 10_000


def article_meta(blocks: list[str]) -> dict[str, str]:
    """title/date/modified/publisher/author of the first article object in `blocks`, where present."""
    for block in blocks:
        if len(block) > MAX_BLOCK_CHARS:
            continue
        try:
            data = json.loads(block)
        except (ValueError, RecursionError):
            continue  # invalid JSON-LD is common on real pages; the meta tags still count
        for node in _article_nodes(data):
            meta = _meta(node)
            if meta:
                return meta
    return {}


def _article_nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Article objects at the top level, in a list, or in an `@graph`, breadth first."""
    queue: list[Any] = [data]
    visited = 0
    while queue and visited < MAX_NODES:
        node = queue.pop(0)
        visited += 1
        if isinstance(node, list):
            queue.extend(node)
        elif isinstance(node, dict):
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and k in ARTICLE_TYPES for k in kinds):
                yield node
            graph = node.get("@graph")
            if isinstance(graph, list):
                queue.extend(graph)


def _meta(node: dict[str, Any]) -> dict[str, str]:
    found = {
        "title": _text(node.get("headline")) or _text(node.get("name")),
        "date": _text(node.get("datePublished")),
        "modified": _text(node.get("dateModified")),
        "publisher": _name(node.get("publisher")),
        "author": _names(node.get("author")),
    }
    return {key: value for key, value in found.items() if value}


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def _name(value: Any) -> str | None:
    """A person's or organization's name: a string, or an object with a "name"."""
    if isinstance(value, dict):
        return _text(value.get("name"))
    if isinstance(value, list):
        return next((name for item in value if (name := _name(item))), None)
    return _text(value)


def _names(value: Any) -> str | None:
    """Every author's name, joined: a string, an object, or a list of either."""
    items = value if isinstance(value, list) else [value]
    names = [name for item in items if (name := _name(item))]
    return ", ".join(dict.fromkeys(names)) or None
