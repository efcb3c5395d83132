"""Read a corpus (a folder of .txt/.md/.html/.json/.jsonl files, or one .jsonl file) into clean Articles."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from .corpusfiles import MAX_FILE_BYTES as MAX_FILE_BYTES  # re-exported: part of this module's interface
from .corpusfiles import SUFFIXES as SUFFIXES
from .corpusfiles import (
    Listing,
    SkipFile,
    corpus_root,
    list_corpus,
    read_bytes,
)
from .corpusfiles import corpus_files as corpus_files
from .corpusfiles import corpus_fingerprint as corpus_fingerprint
from .corpusfiles import decode_bytes as decode_bytes
from .dates import parse_date as parse_date
from .errors import EmptyCorpusError
from .jsonrecords import MAX_JSONL_LINE_BYTES as MAX_JSONL_LINE_BYTES
from .jsonrecords import JsonRecords as JsonRecords
from .jsonrecords import json_articles, read_jsonl
from .jsonrecords import jsonl_article as jsonl_article
from .jsonrecords import numbered_lines as numbered_lines
from .models import Article
from .rawarticle import html_article, safe_text, text_article
from .skipped import MAX_LINE_WARNINGS as MAX_LINE_WARNINGS
from .skipped import SkippedFile as SkippedFile

log = logging.getLogger(__name__)

# Tabs and line breaks are text in an article, but a file name holding one would split a warning in two.
_LINE_BREAKS = re.compile(r"[\t\n\r\x0c\x85\u2028\u2029]")


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
        except SkipFile as skip:
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
        skipped.append(SkippedFile(safe_text(folder), reason))
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
    """The file's name relative to the corpus, made safe to store and print on one line (see `safe_text`)."""
    name = path.name if corpus.is_file() else path.relative_to(corpus).as_posix()
    return _LINE_BREAKS.sub(" ", safe_text(name))


def _read_file(path: Path, root: Path | None, rel: str, skipped: list[SkippedFile]) -> Iterator[Article]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from read_jsonl(path, root, rel, skipped)
        return
    text = decode_bytes(read_bytes(path, root), rel)
    if not text.strip():
        raise SkipFile("empty file")
    if suffix in (".html", ".htm"):
        yield html_article(text, rel)
    elif suffix == ".json":
        yield from json_articles(text, rel, skipped)
    else:
        yield text_article(text, rel, markdown=suffix in (".md", ".markdown"))


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
drop_emptied = _drop_emptied
