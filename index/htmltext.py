"""Article text and metadata from an HTML page, with the stdlib parser."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .jsonld import article_meta

# Elements whose text is never article text.
_SKIP = frozenset(
    "script style nav header footer aside noscript form iframe svg template button select figcaption".split()
)
_BLOCK = frozenset(
    """p div br li ul ol h1 h2 h3 h4 h5 h6 section article main blockquote pre tr table dd dt dl figure hr
    address details summary caption td th""".split()
)
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
# Class and id words of site furniture ("social-share", "newsletter-signup", "article-comments").
_FURNITURE_CLASSES = frozenset(
    """share sharing social newsletter newsletters related comments comment advert advertisement ads
    promo subscribe paywall outbrain taboola breadcrumb breadcrumbs cookie cookies popup modal credit
    credits""".split()
)
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog"})
_CLASS_WORD = re.compile(r"[a-z]+")
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
    "article:modified_time": "modified",
    "author": "author",
    "article:author": "author",
}
# How deep into the open-element stack an end tag is matched: bounds the work of stray end tags.
_MAX_MATCH_DEPTH = 64
_MAX_JSONLD_CHARS = 2 * 1024 * 1024
# "Headline - Site Name", "Headline | Site Name": the separators a <title> puts before the site's name.
_TITLE_SUFFIX = re.compile(r"^(?P<headline>.+)\s(?P<sep>[|\u2013\u2014\u00b7-]|::)\s(?P<site>[^|]{2,40})$")
_MAX_TITLE_CHARS = 300


@dataclass(slots=True)
class HtmlPage:
    """The visible article text of a page, one block per line, and its metadata."""

    text: str
    meta: dict[str, str] = field(default_factory=dict)


def guard_unclosed_tags(markup: str) -> str:
    """`markup` with every `<` that no `>` closes before the next `<` written as `&lt;`.

    The stdlib parser rescans an unclosed tag from its start again at every following character, so a
    page of unclosed tags (`<a <a <a ...`) takes quadratic time (CPython gh-135462). Such a `<` is text
    to a browser too. One pass, with the next `<` and `>` positions found once each: linear time.
    Comments, and the raw text of script and style elements, are kept whole.
    """
    lowered = markup.lower()
    out: list[str] = []
    pos = 0
    next_gt = -1
    length = len(markup)
    while (lt := markup.find("<", pos)) >= 0:
        out.append(markup[pos:lt])
        if markup.startswith("<!--", lt):
            end = markup.find("-->", lt + 4)
            if end < 0:
                return "".join(out)  # an unterminated comment hides the rest of the page
            out.append(markup[lt : end + 3])
            pos = end + 3
            continue
        if next_gt <= lt:
            next_gt = markup.find(">", lt + 1)
            if next_gt < 0:
                next_gt = length
        next_lt = markup.find("<", lt + 1, next_gt)
        if next_gt == length or next_lt >= 0:
            out.append("&lt;")
            pos = lt + 1
            continue
        pos = next_gt + 1
        out.append(markup[lt:pos])
        name = lowered[lt + 1 : lt + 7]
        if name.startswith(("script", "style")) and not markup.startswith("/>", next_gt - 1):
            tag = "</script" if name.startswith("script") else "</style"
            close = lowered.find(tag, pos)
            close = length if close < 0 else close
            out.append(markup[pos:close])
            pos = close
    out.append(markup[pos:])
    return "".join(out)


class _ArticleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.jsonld: list[str] = []
        # (text, inside furniture found by class/id): the page's and the <article> element's text.
        self.page_parts: list[tuple[str, bool]] = []
        self.article_parts: list[tuple[str, bool]] = []
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, skipped, furniture by class)
        self._skip_depth = 0
        self._class_depth = 0
        self._article_depth = 0
        self._pre_depth = 0
        self._in_title = False
        self._title: list[str] = []
        self._jsonld_parts: list[str] | None = None
        self._jsonld_chars = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta":
            self._meta(values)
        elif tag == "link" and (values.get("rel") or "").lower() == "canonical":
            self.meta.setdefault("url", values.get("href") or "")
        elif tag == "title":
            self._in_title = True
        elif tag == "script" and (values.get("type") or "").strip().lower() == "application/ld+json":
            self._jsonld_parts = []
        if tag in _VOID:
            if tag in _BLOCK:
                self._text("\n")
            return
        if tag in _BLOCK and self._stack and self._stack[-1][0] == "p":
            self._close_top()  # a block start ends an open paragraph, as in a browser
        skipped = tag in _SKIP or "hidden" in values or values.get("aria-hidden") == "true"
        skipped = skipped or (values.get("role") or "").lower() in _FURNITURE_ROLES
        furniture = tag not in ("html", "body", "main", "article") and _is_furniture(values)
        self._stack.append((tag, skipped, furniture))
        self._skip_depth += skipped
        self._class_depth += furniture
        self._article_depth += tag == "article"
        self._pre_depth += tag == "pre"
        if tag in _BLOCK:
            self._text("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "script" and self._jsonld_parts is not None:
            self._keep_jsonld("".join(self._jsonld_parts))
            self._jsonld_parts = None
        if tag in _BLOCK:
            self._text("\n")
        depth = len(self._stack)
        for i in range(depth - 1, max(depth - 1 - _MAX_MATCH_DEPTH, -1), -1):
            if self._stack[i][0] == tag:
                while len(self._stack) > i:
                    self._close_top()
                break

    def _close_top(self) -> None:
        tag, skipped, furniture = self._stack.pop()
        self._skip_depth -= skipped
        self._class_depth -= furniture
        self._article_depth -= tag == "article"
        self._pre_depth -= tag == "pre"

    def handle_data(self, data: str) -> None:
        if self._jsonld_parts is not None:
            self._jsonld_parts.append(data)
        elif self._in_title:
            self._title.append(data)
        elif not self._skip_depth:
            # Whitespace inside a block is one space; only block elements (and <pre> lines) break text.
            self._text(data if self._pre_depth else re.sub(r"\s+", " ", data))

    def _text(self, data: str) -> None:
        if self._skip_depth:
            return
        part = (data, self._class_depth > 0)
        self.page_parts.append(part)
        if self._article_depth:
            self.article_parts.append(part)

    def _keep_jsonld(self, block: str) -> None:
        if self._jsonld_chars + len(block) <= _MAX_JSONLD_CHARS:
            self._jsonld_chars += len(block)
            self.jsonld.append(block)

    def _meta(self, attrs: dict[str, str | None]) -> None:
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        content = attrs.get("content")
        if key in _META and content and content.strip():
            self.meta.setdefault(_META[key], " ".join(html.unescape(content).split()))

    @property
    def title(self) -> str:
        return " ".join("".join(self._title).split())


def _is_furniture(attrs: dict[str, str | None]) -> bool:
    words = _CLASS_WORD.findall(f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower())
    return any(word in _FURNITURE_CLASSES for word in words)


def split_title(title: str, site: str | None = None) -> tuple[str, str | None]:
    """A `<title>` as (headline, site name): "Fire spreads | City Times" -> ("Fire spreads", "City Times").

    A pipe always separates the site's name; a dash only when what follows reads as a name (every word
    capitalized) or is the known site name, so "Fire spreads - thousands flee" stays whole.
    """
    if site and title.casefold().endswith(site.casefold()) and len(title) > len(site):
        headline = title[: -len(site)].rstrip(" |-:\u2013\u2014\u00b7")
        if headline:
            return headline, site
    match = _TITLE_SUFFIX.match(title) if len(title) <= _MAX_TITLE_CHARS else None
    if match is None:
        return title, None
    name = match.group("site").strip()
    if "|" not in match.group("sep") and not all(word[:1].isupper() for word in name.split()):
        return title, None
    if len(name.split()) > 5:
        return title, None
    return match.group("headline").strip(), name


def parse_html(markup: str) -> HtmlPage:
    """Visible text (the `<article>` element when there is one) and title/publisher/url/date/author.

    Schema.org JSON-LD wins over meta tags, which win over the `<title>`; its " | Site" suffix is the
    publisher when nothing better names one.
    """
    parser = _ArticleParser()
    parser.feed(guard_unclosed_tags(markup))
    parser.close()
    meta = {**parser.meta, **article_meta(parser.jsonld)}
    if "date" not in meta and "modified" in meta:
        meta["date"] = meta["modified"]
    meta.pop("modified", None)
    if parser.title:
        headline, site = split_title(parser.title, meta.get("publisher"))
        meta.setdefault("title", headline)
        if site:
            meta.setdefault("publisher", site)
    return HtmlPage(_visible_text(parser), meta)


def _visible_text(parser: _ArticleParser) -> str:
    """The article element's text if it has any, else the page's; furniture found by class or id is
    left out unless nothing else remains."""
    for parts in (parser.article_parts, parser.page_parts):
        for with_furniture in (False, True):
            text = "".join(data for data, furniture in parts if with_furniture or not furniture)
            lines = (" ".join(line.split()) for line in text.split("\n"))
            joined = "\n".join(line for line in lines if line)
            if joined:
                return joined
    return ""
