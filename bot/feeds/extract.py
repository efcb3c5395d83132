"""Pull the article out of a fetched news page with trafilatura: text, title, site, date, author, URL."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import trafilatura

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 200  # less than this is a teaser, a paywall notice or a cookie wall, not an article


@dataclass(frozen=True, slots=True)
class Extracted:
    """What trafilatura found on a page; fields it could not find are None."""

    text: str
    title: str | None
    site: str | None
    date: str | None
    author: str | None
    canonical_url: str | None


def extract_article(page: bytes | str, url: str) -> Extracted | None:
    """The article on `page` (fetched from `url`), or None when it holds no article text."""
    try:
        document = trafilatura.bare_extraction(
            page,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=True,
        )
    except Exception as err:  # trafilatura and lxml raise many types on broken markup
        log.debug("%s: extraction failed: %s", url, err)
        return None
    if document is None:
        return None
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    raw = data.get("text") or ""
    title = _field(data.get("title"))
    # trafilatura puts one block per line; the corpus separates paragraphs by blank lines.
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    text = "\n\n".join(lines)
    if len(text) < MIN_TEXT_CHARS:
        return None
    return Extracted(
        text=text,
        title=title,
        site=_field(data.get("sitename")),
        date=_field(data.get("date")),
        author=_field(data.get("author")),
        canonical_url=_field(data.get("url")),
    )


def _field(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
