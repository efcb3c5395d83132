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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .corpusfiles import SkipFile, corpus_root
from .corpusscan import Stamp
from .errors import IndexFormatError
from .loader import SkippedFile, drop_emptied, read_file
from .manifest import REBUILD_HINT
from .models import Article, Chunk

log = logging.getLogger(__name__)

CORPUS_STATE = "corpus-state.json"
STATE_VERSION = 2  # 2: flat columns


class Placed(NamedTuple):
    """Where an indexed article came from and where its passages are.

    A named tuple rather than a frozen dataclass: an update reads one per article of the corpus (a
    few hundred thousand at a million passages), and tuples are built several times faster.
    """

    file: str
    digest: str
    segment: str
    first: int  # the segment's local id of its first passage
    passages: int


@dataclass(frozen=True, slots=True)
class CorpusState:
    """The article files an index was built from, and its articles."""

    files: dict[str, Stamp]
    skipped: dict[str, int]  # file -> records (or the file itself) skipped in it
    articles: dict[str, Placed]
    listing_skipped: int = 0  # files of other types and unreadable folders

    def to_bytes(self) -> bytes:
        # Flat columns: JSON reads and writes lists of plain values several times faster than nested
        # objects, and a million-passage corpus has a few hundred thousand articles.
        names = list(self.files)
        placed = list(self.articles.values())
        data = {
            "version": STATE_VERSION,
            "files": names,
            "sizes": [stamp[0] for stamp in self.files.values()],
            "mtimes": [stamp[1] for stamp in self.files.values()],
            "skipped": self.skipped,
            "ids": list(self.articles),
            "article_files": [p.file for p in placed],
            "digests": [p.digest for p in placed],
            "segments": [p.segment for p in placed],
            "firsts": [p.first for p in placed],
            "counts": [p.passages for p in placed],
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
            files = dict(zip(data["files"], zip(data["sizes"], data["mtimes"], strict=True), strict=True))
            columns = zip(
                data["article_files"],
                data["digests"],
                data["segments"],
                data["firsts"],
                data["counts"],
                strict=True,
            )
            articles = dict(zip(data["ids"], map(Placed._make, columns), strict=True))
            skipped = {str(name): int(count) for name, count in data["skipped"].items()}
            return cls(files, skipped, articles, int(data["listing_skipped"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            raise IndexFormatError(
                f"the index's record of its corpus is unreadable ({err}); {REBUILD_HINT}"
            ) from None

    @property
    def skipped_count(self) -> int:
        return self.listing_skipped + sum(self.skipped.values())

    def ids_in(self, files: Iterable[str]) -> set[str]:
        """The ids of the articles read from `files`."""
        names = set(files)
        return {doc_id for doc_id, placed in self.articles.items() if placed.file in names}


def article_digest(article: Article) -> str:
    """A hash of everything the index keeps of an article: a change of any of it is an update."""
    fields = [article.doc_id, article.title, article.text, article.publisher, article.url]
    fields += [article.date.isoformat() if article.date else None, article.author, article.path]
    return hashlib.blake2b(json.dumps(fields, ensure_ascii=False).encode(), digest_size=16).hexdigest()


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


def read_files(corpus: Path, files: dict[str, str]) -> FileReading:
    """Read the article `files` (name: path) of `corpus` exactly as a full build reads them, each alone."""
    root = corpus_root(corpus)
    reading = FileReading()
    for rel, where in sorted(files.items()):
        path = Path(where)
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


def state_json(state: CorpusState) -> dict[str, Any]:
    """The state as plain data (for tests and tools)."""
    parsed: dict[str, Any] = json.loads(state.to_bytes())
    return parsed
