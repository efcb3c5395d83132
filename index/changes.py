"""What an index knows of its corpus's files and articles, and what changed in the corpus since.

Each generation keeps a corpus state: every article file's size and modification time (and how many
of its records were skipped), and every article's content hash and place (segment, first passage,
passage count). An update re-reads only the files whose size or time changed, and compares their
articles by id and hash: an article that is new is added, one whose hash differs is updated (removed,
then added again), and one gone from its file, or whose file is gone, is removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import stat
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .corpusfiles import SkipFile, corpus_root, list_corpus
from .errors import IndexFormatError
from .loader import SkippedFile, drop_emptied, read_file, relative_name, skip_unlisted
from .manifest import REBUILD_HINT
from .models import Article, Chunk

log = logging.getLogger(__name__)

CORPUS_STATE = "corpus-state.json"
STATE_VERSION = 1

Stamp = tuple[int, int]  # size, modification time in ns
UNSURE: Stamp = (-1, -1)  # matches no file: read again by the next update
RACY_NS = 2_000_000_000  # FAT keeps times to 2 s; others to a clock tick or better


@dataclass(frozen=True, slots=True)
class Placed:
    """Where an indexed article came from and where its passages are."""

    file: str
    digest: str
    segment: str
    first: int  # the segment's local id of its first passage
    count: int


@dataclass(frozen=True, slots=True)
class CorpusState:
    """The article files an index was built from, and its articles."""

    files: dict[str, Stamp]
    skipped: dict[str, int]  # file -> records (or the file itself) skipped in it
    articles: dict[str, Placed]
    listing_skipped: int = 0  # files of other types and unreadable folders

    def to_bytes(self) -> bytes:
        data = {
            "version": STATE_VERSION,
            "files": {name: [*stamp, self.skipped.get(name, 0)] for name, stamp in self.files.items()},
            "articles": {
                doc_id: [p.file, p.digest, p.segment, p.first, p.count] for doc_id, p in self.articles.items()
            },
            "listing_skipped": self.listing_skipped,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def read(cls, generation: Path) -> CorpusState:
        """The state stored in `generation`.

        Raises:
            IndexFormatError: it is missing or malformed.
        """
        try:
            data = json.loads((generation / CORPUS_STATE).read_bytes())
            if data["version"] != STATE_VERSION:
                raise ValueError(f"version {data['version']}")
            files = {name: (int(size), int(mtime)) for name, (size, mtime, _) in data["files"].items()}
            skipped = {name: int(entry[2]) for name, entry in data["files"].items() if entry[2]}
            articles = {doc_id: Placed(*entry) for doc_id, entry in data["articles"].items()}
            return cls(files, skipped, articles, int(data["listing_skipped"]))
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
            raise IndexFormatError(
                f"the index's record of its corpus is unreadable ({err}); {REBUILD_HINT}"
            ) from None

    @property
    def skipped_count(self) -> int:
        return self.listing_skipped + sum(self.skipped.values())

    def by_file(self) -> dict[str, list[str]]:
        """Each file's article ids."""
        found: defaultdict[str, list[str]] = defaultdict(list)
        for doc_id, placed in self.articles.items():
            found[placed.file].append(doc_id)
        return found


def article_digest(article: Article) -> str:
    """A hash of everything the index keeps of an article: a change of any of it is an update."""
    fields = [article.doc_id, article.title, article.text, article.publisher, article.url]
    fields += [article.date.isoformat() if article.date else None, article.author, article.path]
    return hashlib.blake2b(json.dumps(fields, ensure_ascii=False).encode(), digest_size=16).hexdigest()


def file_stamps(corpus: Path) -> tuple[dict[str, Stamp], int]:
    """Every article file's size and modification time by name, and how many listing entries (files of
    other types, unreadable folders) a build skips."""
    listing = list_corpus(corpus)
    stamps: dict[str, Stamp] = {}
    # A file changed within the file system's timestamp granularity of this moment could change again
    # with the same size and time: it is stamped so that the next update reads it again ("racy git").
    racy = time.time_ns() - RACY_NS
    for path in listing.articles:
        try:
            info = path.stat() if stat.S_ISLNK(path.lstat().st_mode) else path.lstat()
        except OSError:
            info = None  # read (and skipped) by the build as it is: stamped so that it is read again
        stamp = (info.st_size, info.st_mtime_ns) if info and info.st_mtime_ns < racy else UNSURE
        stamps[relative_name(path, corpus)] = stamp
    return stamps, len(listing.others) + len(listing.unreadable)


def skips_by_file(skipped: Iterable[SkippedFile], files: Iterable[str]) -> dict[str, int]:
    """How many of `skipped` belong to each file (an entry names its file, maybe followed by a record)."""
    names = set(files)
    counts: defaultdict[str, int] = defaultdict(int)
    for item in skipped:
        owner = item.path if item.path in names else _owner(item.path, names)
        if owner is not None:
            counts[owner] += item.count
    return dict(counts)


def _owner(path: str, names: set[str]) -> str | None:
    cut = path.rfind(" ")
    while cut > 0:
        if path[:cut] in names:
            return path[:cut]
        cut = path.rfind(" ", 0, cut)
    return None


def place(
    articles: Sequence[Article], chunks: Sequence[Chunk], segment: str, digests: dict[str, str] | None = None
) -> dict[str, Placed]:
    """Where each of `articles` lies in a segment holding `chunks` (grouped by article) from passage 0."""
    first: dict[str, int] = {}
    counts: defaultdict[str, int] = defaultdict(int)
    for number, chunk in enumerate(chunks):
        first.setdefault(chunk.doc_id, number)
        counts[chunk.doc_id] += 1
    return {
        a.doc_id: Placed(
            a.path or "",
            digests[a.doc_id] if digests else article_digest(a),
            segment,
            first.get(a.doc_id, 0),
            counts[a.doc_id],
        )
        for a in articles
    }


@dataclass(slots=True)
class FileReading:
    """The articles of some re-read files, and how many records each file had skipped."""

    articles: list[Article] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def read_files(corpus: Path, names: Iterable[str]) -> FileReading:
    """Read the article files `names` of `corpus` exactly as a full build reads them (each file alone)."""
    root = corpus_root(corpus)
    reading = FileReading()
    for rel in sorted(names):
        path = corpus if corpus.is_file() else corpus / rel
        skipped: list[SkippedFile] = []
        try:
            articles = list(read_file(path, root, rel, skipped))
        except SkipFile as skip:
            log.warning("skipped %s: %s", rel, skip)
            skipped.append(SkippedFile(rel, str(skip)))
            articles = []
        kept = drop_emptied(articles, skipped)
        reading.articles.extend(kept)
        reading.skipped[rel] = sum(item.count for item in skipped)
    return reading


def listing_skips(corpus: Path) -> int:
    """Entries a build skips before reading: files of other types and unreadable folders (warned)."""
    return len(skip_unlisted(list_corpus(corpus), corpus))


def state_json(state: CorpusState) -> dict[str, Any]:
    """The state as plain data (for tests and tools)."""
    parsed: dict[str, Any] = json.loads(state.to_bytes())
    return parsed
