"""Read a corpus (a folder of .txt/.md/.html/.json/.jsonl files, or one .jsonl file) into clean Articles."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import CorpusError, EmptyCorpusError
from .htmltext import parse_html
from .models import Article

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})
MAX_FILE_BYTES = 64 * 1024 * 1024  # one article file; .jsonl files are streamed and may be larger
MAX_JSONL_LINE_BYTES = 16 * 1024 * 1024

# Site furniture that is never part of an article, matched against whole lines (case-insensitive).
BOILERPLATE_LINES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"skip to (?:main )?content",
        r"share (?:this|on \w+)(?: (?:article|story|page|post))?:?",
        r"comments?(?: \(\d+\))?:?",
        r"\d+ comments?",
        r"please let us know if you'?re having issues with commenting\.?",
        r"advertisement",
        r"sponsored(?: content)?",
        r"(?:read|see) more(?: stories| news)?:?",
        r"related(?: articles| stories| coverage)?:?",
        r"click here.*",
        r"follow us(?: on .*)?",
        r"sign up for (?:our|the) .*newsletter.*",
        r"subscribe(?: now| today)?\.?",
        r"(?:copyright|©) .*",
        r".*all rights reserved\.?",
        r"print(?: this article)?",
        r"email(?: this article)?",
    )
)
# A line repeated verbatim in at least this many articles (and this short) is site furniture.
REPEATED_LINE_MIN_ARTICLES = 4
REPEATED_LINE_MAX_WORDS = 20

_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,20}):\s*(.*?)\s*$")
_HEADER_KEYS = {
    "title": "title",
    "headline": "title",
    "source": "publisher",
    "publisher": "publisher",
    "site": "publisher",
    "url": "url",
    "link": "url",
    "date": "date",
    "published": "date",
    "author": "author",
    "by": "author",
}
_JSON_TEXT_KEYS = ("text", "body", "content")
_JSON_PUBLISHER_KEYS = ("publisher", "source", "site", "site_name")
_JSON_DATE_KEYS = ("date", "published", "published_at", "publishedAt", "pub_date")
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%m/%d/%Y", "%B %d %Y")


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A corpus file (or JSON line) that could not be used, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """The usable articles of a corpus and the files that were skipped."""

    articles: tuple[Article, ...]
    skipped: tuple[SkippedFile, ...]


class _Skip(Exception):
    """Internal: this file cannot be used, for the reason given."""


def corpus_files(corpus: Path) -> list[Path]:
    """Every article file under `corpus` (a folder, searched recursively, or a single file), sorted."""
    if not corpus.exists():
        raise CorpusError(f"corpus not found: {corpus} (pass --corpus PATH or set ARTICLE_QA_CORPUS)")
    if corpus.is_file():
        return [corpus]
    if not corpus.is_dir():
        raise CorpusError(f"corpus is neither a folder nor a file: {corpus}")
    found: list[Path] = []
    # os.walk does not follow symlinked folders, so a symlink loop cannot trap it.
    for root, dirs, files in os.walk(
        corpus, onerror=lambda err: log.warning("skipped %s: %s", err.filename, err.strerror)
    ):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root, name)
            if not name.startswith(".") and path.suffix.lower() in SUFFIXES:
                found.append(path)
    return found


def corpus_fingerprint(corpus: Path) -> str:
    """A hash of every article file's path, size and modification time: changes when the corpus does."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{_relative(path, corpus)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def load_corpus(corpus: Path, progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Read, parse and clean every article of `corpus`; unusable files are skipped with a warning.

    Raises:
        CorpusError: the corpus path does not exist.
        EmptyCorpusError: no file held a usable article.
    """
    files = corpus_files(corpus)
    articles: list[Article] = []
    skipped: list[SkippedFile] = []
    for done, path in enumerate(files, 1):
        rel = _relative(path, corpus)
        try:
            for item in _read_file(path, rel, skipped):
                articles.append(item)
        except _Skip as skip:
            log.warning("skipped %s: %s", rel, skip)
            skipped.append(SkippedFile(rel, str(skip)))
        if progress is not None:
            progress(done, len(files))
    articles = _unique_ids(_drop_repeated_lines(articles))
    usable = tuple(article for article in articles if article.text.strip())
    if not usable:
        what = (
            f"{len(files)} file(s), none with a usable article"
            if files
            else "no .txt/.md/.html/.json/.jsonl file"
        )
        raise EmptyCorpusError(f"corpus {corpus} has {what}: add articles and try again")
    return Corpus(usable, tuple(skipped))


def _relative(path: Path, corpus: Path) -> str:
    if corpus.is_file():
        return path.name
    return path.relative_to(corpus).as_posix()


def _read_file(path: Path, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(path, rel, skipped)
        return
    text = decode_bytes(_read_bytes(path), rel)
    if not text.strip():
        raise _Skip("empty file")
    if suffix in (".html", ".htm"):
        yield _html_article(text, rel)
    elif suffix == ".json":
        yield from _json_articles(text, rel)
    else:
        yield _text_article(text, rel, markdown=suffix in (".md", ".markdown"))


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            mib = 1024 * 1024
            raise _Skip(f"file too large ({size // mib} MiB; the limit is {MAX_FILE_BYTES // mib} MiB)")
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise _Skip(f"cannot read ({err.strerror or err})") from None


def decode_bytes(data: bytes, rel: str) -> str:
    """Decode file bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252 with a warning."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _Skip("invalid UTF-16 text") from None
    if b"\x00" in data[:8192]:
        raise _Skip("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise _Skip("not UTF-8 text and not Windows-1252 text") from None
        log.warning("%s is not UTF-8; read it as Windows-1252", rel)
    controls = sum(1 for char in text[:8192] if ord(char) < 32 and char not in "\t\n\r\f")
    if controls > 0.05 * min(len(text), 8192):
        raise _Skip("binary file (control characters)")
    return text


def _text_article(text: str, rel: str, *, markdown: bool) -> Article:
    lines = text.splitlines()
    meta: dict[str, str] = {}
    body_start = 0
    # Leading "Key: value" lines are metadata; the first other non-empty line may be the title.
    for i, line in enumerate(lines):
        if not line.strip():
            if meta:
                body_start = i + 1
                continue
            continue
        match = _HEADER.match(line)
        key = _HEADER_KEYS.get(match.group(1).strip().lower()) if match else None
        if match is None or key is None or not match.group(2):
            body_start = i
            break
        meta.setdefault(key, match.group(2))
        body_start = i + 1
    body = lines[body_start:]
    if markdown:
        body = [_strip_markdown(line) for line in body]
    title = meta.get("title")
    if title is None:
        first = next((i for i, line in enumerate(body) if line.strip() and not is_boilerplate(line)), None)
        if first is None:
            raise _Skip("no text")
        title = body[first].strip()
        body = body[first + 1 :]
    return _make_article(rel, title, "\n".join(body), meta, path=rel)


def _strip_markdown(line: str) -> str:
    line = re.sub(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+(?=\S))", "", line)
    line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)  # images
    line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)  # links keep their text
    return re.sub(r"(\*\*|__|`)(.+?)\1", r"\2", line)


def _html_article(text: str, rel: str) -> Article:
    page = parse_html(text)
    if not page.text.strip():
        raise _Skip("HTML page without article text")
    title = page.meta.get("title") or next((line for line in page.text.splitlines() if line.strip()), "")
    return _make_article(rel, title.strip(), page.text, page.meta, path=rel)


def _json_articles(text: str, rel: str) -> Iterator[Article]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise _Skip(f"malformed JSON ({err})") from None
    records = data if isinstance(data, list) else [data]
    if not records:
        raise _Skip("JSON list is empty")
    for i, record in enumerate(records):
        try:
            yield _json_article(record, f"{rel}#{i}" if isinstance(data, list) else rel, rel)
        except _Skip as skip:
            if len(records) == 1:
                raise
            log.warning("skipped %s item %d: %s", rel, i, skip)


def _read_jsonl(path: Path, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    try:
        handle = path.open("rb")
    except OSError as err:
        raise _Skip(f"cannot read ({err.strerror or err})") from None
    found = False
    with handle:
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_JSONL_LINE_BYTES), b""), 1):
            if not raw.strip():
                continue
            where = f"{rel} line {number}"
            try:
                if len(raw) >= MAX_JSONL_LINE_BYTES and not raw.endswith(b"\n"):
                    raise _Skip("line too long")
                line = decode_bytes(raw, where)
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, RecursionError) as err:
                    raise _Skip(
                        f"malformed JSON ({err.msg if isinstance(err, json.JSONDecodeError) else err})"
                    ) from None
                yield _json_article(record, f"{rel}#{number}", rel)
                found = True
            except _Skip as skip:
                log.warning("skipped %s: %s", where, skip)
                skipped.append(SkippedFile(where, str(skip)))
    if not found:
        raise _Skip("no usable article in the file")


def _json_article(record: Any, default_id: str, rel: str) -> Article:
    if not isinstance(record, dict):
        raise _Skip("expected a JSON object with a text field")
    text = next((record[key] for key in _JSON_TEXT_KEYS if isinstance(record.get(key), str)), None)
    if not text or not text.strip():
        raise _Skip('no "text", "body" or "content" string')
    meta = {
        "publisher": _first_str(record, _JSON_PUBLISHER_KEYS),
        "url": _first_str(record, ("url", "link")),
        "date": _first_str(record, _JSON_DATE_KEYS),
        "author": _author(record.get("author")),
    }
    doc_id = record.get("id")
    doc_id = str(doc_id) if isinstance(doc_id, str | int) and str(doc_id).strip() else default_id
    title = record.get("title") if isinstance(record.get("title"), str) else None
    return _make_article(doc_id, (title or "").strip(), text, {k: v for k, v in meta.items() if v}, path=rel)


def _first_str(record: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next(
        (record[key].strip() for key in keys if isinstance(record.get(key), str) and record[key].strip()),
        None,
    )


def _author(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value) or None
    return None


def _make_article(doc_id: str, title: str, text: str, meta: dict[str, str], *, path: str) -> Article:
    title = " ".join(title.split())
    publisher = meta.get("publisher")
    lines = clean_lines(text.splitlines(), title=title, publisher=publisher)
    publisher = publisher or _lead_publisher(text.splitlines(), title)
    body = "\n\n".join(lines)
    if not title:
        title = next((line for line in lines), doc_id)[:120]
    return Article(
        doc_id=doc_id,
        title=title,
        text=body,
        publisher=publisher,
        url=meta.get("url"),
        date=parse_date(meta.get("date")),
        author=meta.get("author"),
        path=path,
    )


def is_boilerplate(line: str) -> bool:
    """True when a whole line is site furniture (see BOILERPLATE_LINES)."""
    stripped = " ".join(line.split()).strip(" |\u00b7\u2022\u2013\u2014-")
    return any(pattern.fullmatch(stripped) for pattern in BOILERPLATE_LINES)


def _is_label(line: str) -> bool:
    """A short line without sentence punctuation, such as a bare publisher name ("CBN")."""
    words = line.split()
    return 0 < len(words) <= 4 and not re.search(r"[.!?:;,\"]$", line) and line[:1].isupper()


def clean_lines(lines: list[str], *, title: str, publisher: str | None) -> list[str]:
    """Drop boilerplate, the repeated title, and bare labels (publisher names) before the first paragraph."""
    folded_title = " ".join(title.split()).casefold()
    kept: list[str] = []
    in_lead = True  # before the first real paragraph
    for raw in lines:
        line = " ".join(raw.split())
        if not line or is_boilerplate(line):
            continue
        if line.casefold() == folded_title and (in_lead or not kept):
            continue
        if publisher and line.casefold() == publisher.casefold():
            continue
        if in_lead and _is_label(line):
            continue
        in_lead = False
        kept.append(line)
    return kept


def _lead_publisher(lines: list[str], title: str) -> str | None:
    """A bare name line among the lead lines of a page, taken as its publisher ("CBN")."""
    folded_title = " ".join(title.split()).casefold()
    for raw in lines:
        line = " ".join(raw.split())
        if not line or is_boilerplate(line) or line.casefold() == folded_title:
            continue
        if not _is_label(line):
            return None
        return line
    return None


def parse_date(value: str | None) -> dt.date | None:
    """A date from ISO 8601, RFC 2822 ("Sun, 30 Mar 2014 ...") or a spelled-out "March 30, 2014"."""
    if not value:
        return None
    value = value.strip()
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _drop_repeated_lines(articles: list[Article]) -> list[Article]:
    """Remove short lines that appear verbatim in many articles: footers, bylines, promos."""
    if len(articles) < REPEATED_LINE_MIN_ARTICLES:
        return articles
    counts: Counter[str] = Counter()
    for article in articles:
        counts.update(
            {line for line in article.text.split("\n\n") if len(line.split()) <= REPEATED_LINE_MAX_WORDS}
        )
    repeated = {line for line, count in counts.items() if count >= REPEATED_LINE_MIN_ARTICLES}
    if not repeated:
        return articles
    log.info("dropping %d line(s) repeated across %d+ articles", len(repeated), REPEATED_LINE_MIN_ARTICLES)
    return [
        replace(
            article, text="\n\n".join(line for line in article.text.split("\n\n") if line not in repeated)
        )
        for article in articles
    ]


def _unique_ids(articles: list[Article]) -> list[Article]:
    """Keep doc ids unique: a repeated JSON "id" gets a numeric suffix."""
    seen: Counter[str] = Counter()
    result = []
    for article in articles:
        seen[article.doc_id] += 1
        if seen[article.doc_id] > 1:
            article = replace(article, doc_id=f"{article.doc_id}~{seen[article.doc_id]}")
        result.append(article)
    return result
