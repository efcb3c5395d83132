"""Read a corpus (a folder of .txt/.md/.html/.json/.jsonl files, or one .jsonl file) into clean Articles."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from .cleaning import (
    clean_lines,
    is_boilerplate,
    reads_as_body,
    text_paragraphs,
    title_from_lead,
)
from .cleaning import lead_publisher as _lead_publisher
from .errors import CorpusError, EmptyCorpusError
from .htmltext import parse_html
from .models import Article

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})
MAX_FILE_BYTES = 64 * 1024 * 1024  # one article file; .jsonl files are streamed and may be larger
MAX_JSONL_LINE_BYTES = 16 * 1024 * 1024
# Bad lines of one .jsonl file logged one by one; the rest are counted in one summary warning.
MAX_LINE_WARNINGS = 3
# C0/C1 control characters other than tab, newlines and form feed: never article text, and ESC or CSI
# (also reachable through JSON "\\u001b" escapes and HTML character references) would let an article drive
# the terminal that prints it.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# A str holds a surrogate only when it came from bytes that were not UTF-8, and it cannot be encoded.
_SURROGATE = re.compile("[\ud800-\udfff]")

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
        # surrogateescape: a file name that is not UTF-8 still hashes as its own bytes.
        name = path.relative_to(corpus).as_posix() if corpus.is_dir() else path.name
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
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
    articles = _unique_ids(articles)
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
    """The file's name relative to the corpus, made safe to store and print (see `_safe_text`)."""
    return _safe_text(path.name if corpus.is_file() else path.relative_to(corpus).as_posix())


def _safe_text(text: str) -> str:
    """`text` without control characters, and lone surrogates (from file names that are not UTF-8 or
    JSON "\\ud800" escapes) as U+FFFD, so that it can be encoded, stored and shown."""
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


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
    with _open_file(path) as handle:
        try:
            # read(n) reserves n bytes up front: ask for the file's size (plus one, to see it grow).
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(min(size, MAX_FILE_BYTES) + 1)
            if len(data) > size:  # it grew since stat: read on, up to the limit
                data += handle.read(MAX_FILE_BYTES + 1 - len(data))
        except OSError as err:
            raise _Skip(f"cannot read ({err.strerror or err})") from None
    if len(data) > MAX_FILE_BYTES:
        raise _Skip(f"file too large (it grew past {MAX_FILE_BYTES // (1024 * 1024)} MiB while read)")
    return data


def _open_file(path: Path, limit: int | None = MAX_FILE_BYTES) -> BinaryIO:
    """Open a regular file of at most `limit` bytes for reading, or skip it."""
    try:
        info = path.stat()
        # A FIFO would block the build forever, and a device such as /dev/zero never ends.
        if not stat.S_ISREG(info.st_mode):
            raise _Skip("not a regular file")
        if limit is not None and info.st_size > limit:
            mib = 1024 * 1024
            raise _Skip(f"file too large ({info.st_size // mib} MiB; the limit is {limit // mib} MiB)")
        return path.open("rb")
    except OSError as err:
        raise _Skip(f"cannot read ({err.strerror or err})") from None


def decode_bytes(data: bytes, rel: str) -> str:
    """Decode file bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252 with a warning."""
    text, legacy = _decode(data)
    if legacy:
        log.warning("%s is not UTF-8; read it as Windows-1252", rel)
    return text


def _decode(data: bytes) -> tuple[str, bool]:
    """The text of `data`, and whether it was read as Windows-1252."""
    legacy = False
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise _Skip("invalid UTF-16 text") from None
    elif b"\x00" in data:
        raise _Skip("binary file (contains NUL bytes)")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise _Skip("not UTF-8 text and not Windows-1252 text") from None
            legacy = True
    if len(_CONTROL.findall(text, 0, 8192)) > 0.05 * min(len(text), 8192):
        raise _Skip("binary file (control characters)")
    return text, legacy


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
            raise _Skip("no text")
        if reads_as_body(body[first]):
            # A lead paragraph, not a headline: it stays in the text and a shortened copy names it.
            title = title_from_lead(body[first])
        else:
            title = body[first]
            body = body[first + 1 :]
    return _make_article(rel, title, "\n\n".join(body), meta, path=rel)


def _html_article(text: str, rel: str) -> Article:
    page = parse_html(text)
    if not page.text.strip():
        raise _Skip("HTML page without article text")
    title = page.meta.get("title")
    if not title:
        first = next((line for line in page.text.splitlines() if not is_boilerplate(line)), "")
        # A page without any title names itself by its first block, unless that is the lead paragraph.
        title = title_from_lead(first) if reads_as_body(first) else first
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
    found = False
    bad_lines = legacy_lines = 0
    first_bad: list[SkippedFile] = []  # bounded: a huge file of bad lines must not fill memory
    with _open_file(path, limit=None) as handle:
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_JSONL_LINE_BYTES), b""), 1):
            if not raw.strip():
                continue
            try:
                if len(raw) >= MAX_JSONL_LINE_BYTES and not raw.endswith(b"\n"):
                    # Read past the rest of the line, so that it stays one skipped line.
                    while (rest := handle.readline(MAX_JSONL_LINE_BYTES)) and not rest.endswith(b"\n"):
                        pass
                    raise _Skip("line too long")
                line, legacy = _decode(raw)
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, RecursionError) as err:
                    raise _Skip(
                        f"malformed JSON ({err.msg if isinstance(err, json.JSONDecodeError) else err})"
                    ) from None
                article = _json_article(record, f"{rel}#{number}", rel)
            except _Skip as skip:
                bad_lines += 1
                if len(first_bad) < MAX_LINE_WARNINGS:
                    first_bad.append(SkippedFile(f"{rel} line {number}", str(skip)))
                continue
            found = True
            legacy_lines += legacy
            yield article
    if not found:
        # One warning for the whole file: it is not JSON lines at all (binary, or another format).
        first = first_bad[0] if first_bad else None
        detail = f"; {first.path.removeprefix(rel).strip()}: {first.reason}" if first else ""
        raise _Skip(f"no usable article in the file ({bad_lines} bad line(s){detail})")
    for item in first_bad:
        log.warning("skipped %s: %s", item.path, item.reason)
    skipped.extend(first_bad)
    if bad_lines > len(first_bad):
        more = bad_lines - len(first_bad)
        log.warning("skipped %s: %d more bad line(s)", rel, more)
        skipped.append(SkippedFile(rel, f"{more} more bad line(s)"))
    if legacy_lines:
        log.warning("%s: %d line(s) are not UTF-8; read them as Windows-1252", rel, legacy_lines)


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
    doc_id, title, text = _safe_text(doc_id), _safe_text(title), _safe_text(text)
    meta = {key: _safe_text(value) for key, value in meta.items()}
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
