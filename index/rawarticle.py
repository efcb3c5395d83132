"""One clean Article from the raw fields of a file or record: metadata headers, text, title, dates."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from .cleaning import (
    clean_lines,
    is_boilerplate,
    reads_as_body,
    text_paragraphs,
    title_from_lead,
)
from .cleaning import lead_publisher as _lead_publisher
from .corpusfiles import CONTROL_CHARS, SkipFile
from .dates import read_date
from .htmltext import parse_html
from .metadata import FIELD_NAMES, clean_label, clean_url
from .models import Article

# Files and records are reported under the reader's name, as the parallel reader (index.pipeline) does.
log = logging.getLogger(f"{__package__}.loader")

# A str holds a surrogate only when it came from bytes that were not UTF-8, and it cannot be encoded.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Either of the two: one scan tells whether `safe_text` has anything to replace at all.
_UNSAFE = re.compile(CONTROL_CHARS.pattern[:-1] + "\ud800-\udfff]")

_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,20}):\s*(.*?)\s*$")
_HEADER_KEYS = {name.lower(): field for field, names in FIELD_NAMES.items() for name in names}


def safe_text(text: str) -> str:
    """`text` without control characters, and lone surrogates (from file names that are not UTF-8 or
    JSON "\\ud800" escapes) as U+FFFD, so that it can be encoded, stored and shown."""
    if (text.isascii() and text.isprintable()) or _UNSAFE.search(text) is None:
        return text  # nothing to replace (checked in C: most text has neither)
    return CONTROL_CHARS.sub("", _SURROGATE.sub("\ufffd", text))


def text_article(text: str, rel: str, *, markdown: bool) -> Article:
    lines = text.splitlines()
    meta: dict[str, str] = {}
    body_start = 0
    # Leading "Key: value" lines are metadata; the first other non-empty line may be the title.
    for i, line in enumerate(lines):
        if not line.strip():
            if meta:
                body_start = i + 1
            continue
        match = _HEADER.match(line)
        key = _HEADER_KEYS.get(match.group(1).strip().lower()) if match else None
        if match is None or key is None or not match.group(2):
            body_start = i
            break
        meta.setdefault(key, match.group(2))
        body_start = i + 1
    body = text_paragraphs(lines[body_start:], markdown=markdown)
    title = meta.get("title")
    if title is None:
        first = next((i for i, line in enumerate(body) if not is_boilerplate(line)), None)
        if first is None:
            raise SkipFile("no text")
        if reads_as_body(body[first]):
            # A lead paragraph, not a headline: it stays in the text and a shortened copy names it.
            title = title_from_lead(body[first])
        else:
            title = body[first]
            body = body[first + 1 :]
    return make_article(rel, title, "\n\n".join(body), meta, path=rel)


def html_article(text: str, rel: str) -> Article:
    page = parse_html(text)
    if not page.text.strip():
        raise SkipFile("HTML page without article text")
    title = page.meta.get("title")
    if not title:
        first = next((line for line in page.text.splitlines() if not is_boilerplate(line)), "")
        # A page without any title names itself by its first block, unless that is the lead paragraph.
        title = title_from_lead(first) if reads_as_body(first) else first
    return make_article(rel, title.strip(), page.text, page.meta, path=rel)


def make_article(
    doc_id: str,
    title: str,
    text: str,
    meta: dict[str, str],
    *,
    path: str,
    note: Callable[[str], None] | None = None,
) -> Article:
    """An Article from raw fields; `note` reports metadata left out (default: one warning naming `path`).

    Raises:
        SkipFile: nothing but a title or site furniture is left of the text.
    """
    doc_id, text, title = safe_text(doc_id), safe_text(text), clean_label(safe_text(title))
    meta = {key: safe_text(value) for key, value in meta.items()}
    publisher = clean_label(meta.get("publisher", "")) or None
    raw_lines = text.splitlines()
    lines = clean_lines(raw_lines, title=title, publisher=publisher)
    if not lines:
        raise SkipFile("no text (only a title or site furniture)")
    publisher = publisher or clean_label(_lead_publisher(raw_lines, title) or "") or None
    report = note or (lambda message: log.warning("%s: %s", path, message))
    url, url_problem = clean_url(meta.get("url"))
    date = read_date(meta.get("date"))
    for problem in (url_problem, date.problem):
        if problem:
            report(problem)
    return Article(
        doc_id=doc_id,
        title=title or clean_label(lines[0])[:120],
        text="\n\n".join(lines),
        publisher=publisher,
        url=url,
        date=date.date,
        author=clean_label(meta.get("author", "")) or None,
        path=path,
    )
