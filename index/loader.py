"""Read a corpus (a folder of .txt/.md/.html/.json/.jsonl files, or one .jsonl file) into clean Articles."""

from __future__ import annotations

import json
import logging
import re
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
from .corpusfiles import (
    CONTROL_CHARS,
    Listing,
    SkipFile,
    corpus_root,
    decode,
    list_corpus,
    open_file,
    read_bytes,
)
from .corpusfiles import MAX_FILE_BYTES as MAX_FILE_BYTES  # re-exported: part of this module's interface
from .corpusfiles import SUFFIXES as SUFFIXES
from .corpusfiles import corpus_files as corpus_files
from .corpusfiles import corpus_fingerprint as corpus_fingerprint
from .corpusfiles import decode_bytes as decode_bytes
from .dates import parse_date as parse_date
from .dates import read_date
from .errors import EmptyCorpusError
from .htmltext import parse_html
from .metadata import FIELD_NAMES, clean_label, clean_url
from .models import Article

log = logging.getLogger(__name__)

MAX_JSONL_LINE_BYTES = 16 * 1024 * 1024
# Bad lines of one .jsonl file logged one by one; the rest are counted in one summary warning.
MAX_LINE_WARNINGS = 3
# The reason a file or record is skipped (raised by the readers and parsers below).
_Skip = SkipFile
# Tabs and line breaks are text in an article, but a file name holding one would split a warning in two.
_LINE_BREAKS = re.compile(r"[\t\n\r\x0c\x85\u2028\u2029]")
# A str holds a surrogate only when it came from bytes that were not UTF-8, and it cannot be encoded.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Either of the two: one scan tells whether `_safe_text` has anything to replace at all.
_UNSAFE = re.compile(CONTROL_CHARS.pattern[:-1] + "\ud800-\udfff]")

_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,20}):\s*(.*?)\s*$")
_HEADER_KEYS = {name.lower(): field for field, names in FIELD_NAMES.items() for name in names}
_JSON_TEXT_KEYS = ("text", "body", "content")


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A corpus file (or JSON record) that could not be used, and why; `count` > 1 sums up many records."""

    path: str
    reason: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Corpus:
    """The usable articles of a corpus and the files that were skipped."""

    articles: tuple[Article, ...]
    skipped: tuple[SkippedFile, ...]

    @property
    def skipped_count(self) -> int:
        """How many files and records were skipped (a summary entry counts every record it stands for)."""
        return sum(item.count for item in self.skipped)


def load_corpus(corpus: Path, progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Read, parse and clean every article of `corpus`; every file or record skipped gets a warning.

    Raises:
        CorpusError: the corpus path does not exist.
        EmptyCorpusError: no file held a usable article.
    """
    listing = list_corpus(corpus)
    files, root = listing.articles, corpus_root(corpus)
    articles: list[Article] = []
    skipped = _skip_unlisted(listing, corpus)
    for done, path in enumerate(files, 1):
        rel = _relative(path, corpus)
        try:
            for item in _read_file(path, root, rel, skipped):
                articles.append(item)
        except _Skip as skip:
            log.warning("skipped %s: %s", rel, skip)
            skipped.append(SkippedFile(rel, str(skip)))
        if progress is not None:
            progress(done, len(files))
    usable = _drop_emptied(_unique_ids(articles), skipped)
    if not usable:
        raise empty_corpus_error(corpus, listing)
    return Corpus(usable, tuple(skipped))


def empty_corpus_error(corpus: Path, listing: Listing) -> EmptyCorpusError:
    """The error for a corpus in which no file held a usable article."""
    what = (
        f"{len(listing.articles)} file(s), none with a usable article"
        if listing.articles
        else "no .txt/.md/.html/.json/.jsonl file"
        + (f" ({len(listing.others)} file(s) of other types)" if listing.others else "")
    )
    return EmptyCorpusError(f"corpus {corpus} has {what}: add articles and try again")


def _skip_unlisted(listing: Listing, corpus: Path) -> list[SkippedFile]:
    """Warn about, and list as skipped, the files of unsupported types and the unreadable folders."""
    skipped: list[SkippedFile] = []
    for path in listing.others:
        suffix = path.suffix.lower()
        skipped.append(
            SkippedFile(
                _relative(path, corpus),
                f"unsupported file type ({suffix or 'no extension'})",
            )
        )
    for folder, reason in listing.unreadable:
        skipped.append(SkippedFile(_safe_text(folder), reason))
    for item in skipped:
        log.warning("skipped %s: %s", item.path, item.reason)
    return skipped


def _drop_emptied(articles: list[Article], skipped: list[SkippedFile]) -> tuple[Article, ...]:
    """The articles that still have text once site furniture is gone; the rest are skipped, with a
    bounded number of warnings per file."""
    emptied: Counter[str] = Counter()
    for article in articles:
        if article.text.strip():
            continue
        where = article.path or article.doc_id
        emptied[where] += 1
        if emptied[where] <= MAX_LINE_WARNINGS:
            what = where if article.doc_id == where else f"{where} ({article.doc_id})"
            reason = "no article text once site furniture is removed"
            log.warning("skipped %s: %s", what, reason)
            skipped.append(SkippedFile(what, reason))
    for where, count in emptied.items():
        if count > MAX_LINE_WARNINGS:
            more = count - MAX_LINE_WARNINGS
            log.warning("skipped %s: %d more article(s) with no text left", where, more)
            skipped.append(SkippedFile(where, f"{more} more article(s) with no text left", count=more))
    return tuple(article for article in articles if article.text.strip())


def _relative(path: Path, corpus: Path) -> str:
    """The file's name relative to the corpus, made safe to store and print on one line (see `_safe_text`)."""
    name = path.name if corpus.is_file() else path.relative_to(corpus).as_posix()
    return _LINE_BREAKS.sub(" ", _safe_text(name))


def _safe_text(text: str) -> str:
    """`text` without control characters, and lone surrogates (from file names that are not UTF-8 or
    JSON "\\ud800" escapes) as U+FFFD, so that it can be encoded, stored and shown."""
    if (text.isascii() and text.isprintable()) or _UNSAFE.search(text) is None:
        return text  # nothing to replace (checked in C: most text has neither)
    return CONTROL_CHARS.sub("", _SURROGATE.sub("\ufffd", text))


def _read_file(path: Path, root: Path | None, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(path, root, rel, skipped)
        return
    text = decode_bytes(read_bytes(path, root), rel)
    if not text.strip():
        raise _Skip("empty file")
    if suffix in (".html", ".htm"):
        yield _html_article(text, rel)
    elif suffix == ".json":
        yield from _json_articles(text, rel, skipped)
    else:
        yield _text_article(text, rel, markdown=suffix in (".md", ".markdown"))


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


class _Records:
    """The records of one JSON or JSON Lines file: which were skipped, and notes about their metadata.

    The first few skipped records and notes are logged one by one, the rest in one summary line each, so
    that a huge file of bad records neither floods the log nor fills memory.
    """

    def __init__(self, rel: str, unit: str) -> None:
        self.rel, self.unit = rel, unit  # unit: "line" or "item"
        self.found = False
        self.bad = self.notes = 0
        self.first_bad: list[SkippedFile] = []

    def skip(self, number: int, reason: str) -> None:
        self.bad += 1
        if len(self.first_bad) < MAX_LINE_WARNINGS:
            self.first_bad.append(SkippedFile(f"{self.rel} {self.unit} {number}", reason))

    def noter(self, number: int) -> Callable[[str], None]:
        """A `note` for `_make_article` that names this record."""

        def note(message: str) -> None:
            self.notes += 1
            if self.notes <= MAX_LINE_WARNINGS:
                log.warning("%s %s %d: %s", self.rel, self.unit, number, message)

        return note

    def finish(self, skipped: list[SkippedFile]) -> None:
        """Log what was skipped and add it to `skipped`; skip the whole file if no record was usable."""
        if self.notes > MAX_LINE_WARNINGS:
            log.warning(
                "%s: %d more %s(s) with a date or URL left out",
                self.rel,
                self.notes - MAX_LINE_WARNINGS,
                self.unit,
            )
        if not self.found:
            # One warning for the whole file: it is not JSON records at all (binary, or another format).
            first = self.first_bad[0] if self.first_bad else None
            detail = f"; {first.path.removeprefix(self.rel).strip()}: {first.reason}" if first else ""
            raise _Skip(f"no usable article in the file ({self.bad} bad {self.unit}(s){detail})")
        for item in self.first_bad:
            log.warning("skipped %s: %s", item.path, item.reason)
        skipped.extend(self.first_bad)
        more = self.bad - len(self.first_bad)
        if more:
            log.warning("skipped %s: %d more bad %s(s)", self.rel, more, self.unit)
            skipped.append(SkippedFile(self.rel, f"{more} more bad {self.unit}(s)", count=more))


def _json_articles(text: str, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise _Skip(f"malformed JSON ({err})") from None
    if not isinstance(data, list):
        yield _json_article(data, rel, rel)
        return
    if not data:
        raise _Skip("JSON list is empty")
    records = _Records(rel, "item")
    for i, record in enumerate(data):
        try:
            article = _json_article(record, f"{rel}#{i}", rel, records.noter(i))
        except _Skip as skip:
            records.skip(i, str(skip))
            continue
        records.found = True
        yield article
    records.finish(skipped)


def _read_jsonl(path: Path, root: Path | None, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    records = _Records(rel, "line")
    legacy_lines = 0
    with open_file(path, root, limit=None) as handle:
        for number, raw in _numbered_lines(handle, records):
            try:
                article, legacy = jsonl_article(raw, number, rel, records.noter(number))
            except _Skip as skip:
                records.skip(number, str(skip))
                continue
            records.found = True
            legacy_lines += legacy
            yield article
    records.finish(skipped)
    if legacy_lines:
        log.warning("%s: %d line(s) are not UTF-8; read them as Windows-1252", rel, legacy_lines)


def jsonl_article(raw: bytes, number: int, rel: str, note: Callable[[str], None]) -> tuple[Article, bool]:
    """The article of line `number` of the JSON Lines file `rel`, and whether the line was not UTF-8.

    Raises:
        SkipFile: the line is not a usable article.
    """
    line, legacy = decode(raw)
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as err:
        raise _Skip(f"malformed JSON ({err.msg if isinstance(err, json.JSONDecodeError) else err})") from None
    return _json_article(record, f"{rel}#{number}", rel, note), legacy


def _numbered_lines(handle: BinaryIO, records: _Records) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a JSON Lines file with their numbers; overlong and unreadable ones skipped."""
    number = 0
    try:
        while raw := handle.readline(MAX_JSONL_LINE_BYTES):
            number += 1
            if len(raw) >= MAX_JSONL_LINE_BYTES and not raw.endswith(b"\n"):
                # Read past the rest of the line, so that it stays one skipped line.
                while (rest := handle.readline(MAX_JSONL_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                records.skip(number, "line too long")
            elif raw.strip():
                yield number, raw
    except OSError as err:  # a failing disk, or a file that cannot be read at all
        records.skip(number + 1, f"cannot read the rest of the file ({err.strerror or err})")


def _json_article(
    record: Any, default_id: str, rel: str, note: Callable[[str], None] | None = None
) -> Article:
    if not isinstance(record, dict):
        raise _Skip("expected a JSON object with a text field")
    text = next((record[key] for key in _JSON_TEXT_KEYS if isinstance(record.get(key), str)), None)
    if not text or not text.strip():
        raise _Skip('no "text", "body" or "content" string')
    meta = {
        "publisher": _first_str(record, FIELD_NAMES["publisher"]),
        "url": _first_str(record, FIELD_NAMES["url"]),
        "date": _first_str(record, FIELD_NAMES["date"]),
        "author": _author(record.get("author")),
    }
    doc_id = record.get("id")
    doc_id = str(doc_id) if isinstance(doc_id, str | int) and str(doc_id).strip() else default_id
    title = record.get("title") if isinstance(record.get("title"), str) else None
    given = {key: value for key, value in meta.items() if value}
    return _make_article(doc_id, (title or "").strip(), text, given, path=rel, note=note)


def _first_str(record: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and (value := value.strip()):
            return value
    return None


def _author(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value) or None
    return None


def _make_article(
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
        _Skip: nothing but a title or site furniture is left of the text.
    """
    doc_id, text, title = _safe_text(doc_id), _safe_text(text), clean_label(_safe_text(title))
    meta = {key: _safe_text(value) for key, value in meta.items()}
    publisher = clean_label(meta.get("publisher", "")) or None
    raw_lines = text.splitlines()
    lines = clean_lines(raw_lines, title=title, publisher=publisher)
    if not lines:
        raise _Skip("no text (only a title or site furniture)")
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


# The units of work of the parallel reader (index.pipeline): it reads files and JSON Lines records in
# worker processes and must name, count and report them exactly as `load_corpus` does.
skip_unlisted = _skip_unlisted
relative_name = _relative
read_file = _read_file
JsonRecords = _Records
numbered_lines = _numbered_lines
drop_emptied = _drop_emptied
