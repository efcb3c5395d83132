"""Article text and metadata from an HTML page, with the stdlib parser."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements whose text is never article text.
_SKIP = frozenset(
    "script style nav header footer aside noscript form iframe svg template button select figcaption".split()
)
_BLOCK = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 section article main blockquote pre tr table dd dt figure hr".split()
)
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_META = {
    "og:title": "title",
    "twitter:title": "title",
    "og:site_name": "publisher",
    "application-name": "publisher",
    "og:url": "url",
    "article:published_time": "date",
    "date": "date",
    "pubdate": "date",
    "publish-date": "date",
    "dc.date": "date",
    "author": "author",
    "article:author": "author",
}


@dataclass(slots=True)
class HtmlPage:
    """The visible article text of a page, one paragraph per line, and its metadata."""

    text: str
    meta: dict[str, str] = field(default_factory=dict)


class _ArticleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.page_parts: list[str] = []
        self.article_parts: list[str] = []
        self._skip_depth = 0
        self._article_depth = 0
        self._in_title = False
        self._title: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self._meta(dict(attrs))
        elif tag == "link" and (dict(attrs).get("rel") or "").lower() == "canonical":
            self.meta.setdefault("url", dict(attrs).get("href") or "")
        elif tag == "title":
            self._in_title = True
        if tag in _VOID:
            if tag in _BLOCK:
                self._text("\n")
            return
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag == "article":
            self._article_depth += 1
        if tag in _BLOCK:
            self._text("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "article" and self._article_depth:
            self._article_depth -= 1
        if tag in _BLOCK:
            self._text("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif not self._skip_depth:
            self._text(data)

    def _text(self, data: str) -> None:
        if self._skip_depth:
            return
        self.page_parts.append(data)
        if self._article_depth:
            self.article_parts.append(data)

    def _meta(self, attrs: dict[str, str | None]) -> None:
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        content = attrs.get("content")
        if key in _META and content and content.strip():
            self.meta.setdefault(_META[key], html.unescape(content.strip()))

    @property
    def title(self) -> str:
        return " ".join("".join(self._title).split())


def parse_html(markup: str) -> HtmlPage:
    """Visible text (the `<article>` element when there is one) and title/publisher/url/date/author."""
    parser = _ArticleParser()
    parser.feed(markup)
    parser.close()
    parts = parser.article_parts if "".join(parser.article_parts).strip() else parser.page_parts
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    meta = dict(parser.meta)
    if parser.title and "title" not in meta:
        meta["title"] = parser.title
    return HtmlPage("\n".join(line for line in lines if line), meta)
