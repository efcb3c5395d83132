"""Read .json and .jsonl corpus files record by record, with a bounded number of warnings per file."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .corpusfiles import SkipFile, decode, open_file
from .metadata import FIELD_NAMES
from .models import Article
from .rawarticle import make_article
from .skipped import MAX_LINE_WARNINGS, SkippedFile

# Files and records are reported under the reader's name, as the parallel reader (index.pipeline) does.
log = logging.getLogger(f"{__package__}.loader")

MAX_JSONL_LINE_BYTES = 16 * 1024 * 1024
_JSON_TEXT_KEYS = ("text", "body", "content")


class JsonRecords:
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
        """A `note` for `make_article` that names this record."""

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
            raise SkipFile(f"no usable article in the file ({self.bad} bad {self.unit}(s){detail})")
        for item in self.first_bad:
            log.warning("skipped %s: %s", item.path, item.reason)
        skipped.extend(self.first_bad)
        more = self.bad - len(self.first_bad)
        if more:
            log.warning("skipped %s: %d more bad %s(s)", self.rel, more, self.unit)
            skipped.append(SkippedFile(self.rel, f"{more} more bad {self.unit}(s)", count=more))


def json_articles(text: str, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise SkipFile(f"malformed JSON ({err})") from None
    if not isinstance(data, list):
        yield json_article(data, rel, rel)
        return
    if not data:
        raise SkipFile("JSON list is empty")
    records = JsonRecords(rel, "item")
    for i, record in enumerate(data):
        try:
            article = json_article(record, f"{rel}#{i}", rel, records.noter(i))
        except SkipFile as skip:
            records.skip(i, str(skip))
            continue
        records.found = True
        yield article
    records.finish(skipped)


def read_jsonl(path: Path, root: Path | None, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    records = JsonRecords(rel, "line")
    legacy_lines = 0
    with open_file(path, root, limit=None) as handle:
        for number, raw in numbered_lines(handle, records):
            try:
                article, legacy = jsonl_article(raw, number, rel, records.noter(number))
            except SkipFile as skip:
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
        raise SkipFile(
            f"malformed JSON ({err.msg if isinstance(err, json.JSONDecodeError) else err})"
        ) from None
    return json_article(record, f"{rel}#{number}", rel, note), legacy


def numbered_lines(handle: BinaryIO, records: JsonRecords) -> Iterator[tuple[int, bytes]]:
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


def json_article(
    record: Any, default_id: str, rel: str, note: Callable[[str], None] | None = None
) -> Article:
    if not isinstance(record, dict):
        raise SkipFile("expected a JSON object with a text field")
    text = next((record[key] for key in _JSON_TEXT_KEYS if isinstance(record.get(key), str)), None)
    if not text or not text.strip():
        raise SkipFile('no "text", "body" or "content" string')
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
    return make_article(doc_id, (title or "").strip(), text, given, path=rel, note=note)


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
