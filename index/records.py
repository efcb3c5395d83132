"""The passage and article tables of an index: UTF-8 blobs with offset arrays, memory-mapped on load."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import IndexFormatError
from .models import Article, Chunk, Source
from .store import REBUILD_HINT

PASSAGE_TEXT = "passages.txt"
# int64 rows: byte start, byte end, article row, chunk number, char start, CRC32 of the bytes
PASSAGE_TABLE = "passages.npy"
PASSAGE_COLUMNS = 6
ARTICLE_DATA = "articles.jsonl"
ARTICLE_OFFSETS = "articles.npy"  # int64 byte offsets of each line, plus the end
ARTICLE_CHECKSUMS = "articles.crc32.npy"  # int64 CRC32 of each line
FILES = (PASSAGE_TEXT, PASSAGE_TABLE, ARTICLE_DATA, ARTICLE_OFFSETS, ARTICLE_CHECKSUMS)


# An article's line of `ARTICLE_DATA`, written field by field with the quoting `json.dumps(...,
# ensure_ascii=False)` applies to each string (it would build an encoder per line, a third of the cost).
_ARTICLE_LINE = (
    '{"doc_id": %s, "title": %s, "publisher": %s, "url": %s, "date": %s, "author": %s, "path": %s}\n'
)
_quote: Callable[[str], str] = json.encoder.encode_basestring

FIRST_SEGMENT = "seg000000"  # a full build's one segment: its record files keep their plain names


def record_files(segment: str = FIRST_SEGMENT) -> list[str]:
    """The names of the record files of `segment` (see `inverted.segment`)."""
    return [name if segment == FIRST_SEGMENT else f"{segment}.{name}" for name in FILES]


def write_records(
    folder: Path, articles: Sequence[Article], chunks: Sequence[Chunk], segment: str = FIRST_SEGMENT
) -> list[str]:
    """Write the article and passage tables of `chunks` (whose doc ids are among `articles`) into `folder`,
    as those of `segment`; the names of the files written."""
    names = dict(zip(FILES, record_files(segment), strict=True))
    row_of = {article.doc_id: row for row, article in enumerate(articles)}
    lines = list(map(article_line, articles))
    with (folder / names[ARTICLE_DATA]).open("wb") as out:
        out.writelines(lines)
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)), out=offsets[1:])
    np.save(folder / names[ARTICLE_OFFSETS], offsets)
    checksums = np.fromiter(map(zlib.crc32, lines), dtype=np.int64, count=len(lines))
    np.save(folder / names[ARTICLE_CHECKSUMS], checksums)
    del lines

    # Column by column: filling a numpy row per passage costs more than the encoding itself.
    data = [chunk.text.encode() for chunk in chunks]
    with (folder / names[PASSAGE_TEXT]).open("wb") as out:
        out.writelines(data)
    table = np.empty((len(chunks), PASSAGE_COLUMNS), dtype=np.int64)
    ends = np.cumsum(np.fromiter(map(len, data), dtype=np.int64, count=len(data)))
    table[:, 1] = ends
    table[:, 0] = ends - np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    table[:, 2] = [row_of[chunk.doc_id] for chunk in chunks]
    table[:, 3] = [chunk.n for chunk in chunks]
    table[:, 4] = [chunk.start for chunk in chunks]
    table[:, 5] = np.fromiter(map(zlib.crc32, data), dtype=np.int64, count=len(data))
    np.save(folder / names[PASSAGE_TABLE], table)
    return list(names.values())


def article_line(article: Article) -> bytes:
    """`json.dumps(_article_json(article), ensure_ascii=False)` and a newline, as UTF-8."""
    a, q = article, _json_string
    try:
        date = q(a.date.isoformat()) if a.date else "null"
        fields = (q(a.doc_id), q(a.title), q(a.publisher), q(a.url), date, q(a.author), q(a.path))
    except TypeError:  # a field that is not a string after all: the encoder writes what it can
        return json.dumps(_article_json(article), ensure_ascii=False).encode() + b"\n"
    return (_ARTICLE_LINE % fields).encode()


def _json_string(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _article_json(article: Article) -> dict[str, str | None]:
    return {
        "doc_id": article.doc_id,
        "title": article.title,
        "publisher": article.publisher,
        "url": article.url,
        "date": article.date.isoformat() if article.date else None,
        "author": article.author,
        "path": article.path,
    }


class Records:
    """Read access to passages and their articles, decoded on demand from memory-mapped files.

    Each passage and article line is checked against its CRC32 when read, so damage to the large text
    files (never hashed whole on load) raises IndexFormatError instead of serving altered text.
    """

    def __init__(self, folder: Path, segment: str = FIRST_SEGMENT) -> None:
        names = dict(zip(FILES, record_files(segment), strict=True))
        # Plain views of the memory maps: numpy's memmap class costs microseconds on every index.
        self._table: npt.NDArray[np.int64] = _plain(np.load(folder / names[PASSAGE_TABLE], mmap_mode="r"))
        self._text = _map_bytes(folder / names[PASSAGE_TEXT])
        self._article_offsets: npt.NDArray[np.int64] = _plain(
            np.load(folder / names[ARTICLE_OFFSETS], mmap_mode="r")
        )
        self._article_checksums: npt.NDArray[np.int64] = _plain(
            np.load(folder / names[ARTICLE_CHECKSUMS], mmap_mode="r")
        )
        self._article_data = _map_bytes(folder / names[ARTICLE_DATA])
        self._check()
        self.source = lru_cache(maxsize=65_536)(self._source)
        # Every passage read names its article: its line is parsed once, not once per passage.
        self._doc_id = lru_cache(maxsize=65_536)(self.doc_id)

    def _check(self) -> None:
        """Raise ValueError unless the tables fit each other.

        Large files are not checksummed on load, and a damaged header can still parse: without this, such
        damage would surface as a crash (or wrong text) when a question hits the bad row.
        """
        table, offsets = self._table, self._article_offsets
        if table.dtype != np.int64 or table.ndim != 2 or table.shape[1] != PASSAGE_COLUMNS:
            raise ValueError(
                f"{PASSAGE_TABLE} holds {table.dtype} {table.shape}, not int64 rows of {PASSAGE_COLUMNS}"
            )
        if offsets.dtype != np.int64 or offsets.ndim != 1 or offsets.shape[0] < 1:
            raise ValueError(f"{ARTICLE_OFFSETS} holds {offsets.dtype} {offsets.shape}, not int64 offsets")
        checksums = self._article_checksums
        if checksums.dtype != np.int64 or checksums.shape != (offsets.shape[0] - 1,):
            raise ValueError(
                f"{ARTICLE_CHECKSUMS} holds {checksums.dtype} {checksums.shape}, not one per article"
            )
        if offsets[0] != 0 or offsets[-1] != self._article_data.shape[0] or np.any(np.diff(offsets) < 0):
            raise ValueError(f"{ARTICLE_OFFSETS} does not match {ARTICLE_DATA}")
        if table.shape[0]:
            starts, ends, rows = table[:, 0], table[:, 1], table[:, 2]
            if starts.min() < 0 or np.any(ends < starts) or ends.max() > self._text.shape[0]:
                raise ValueError(f"{PASSAGE_TABLE} does not match {PASSAGE_TEXT}")
            if rows.min() < 0 or rows.max() >= self.article_count:
                raise ValueError(f"{PASSAGE_TABLE} names articles that {ARTICLE_OFFSETS} lacks")

    def __len__(self) -> int:
        return int(self._table.shape[0])

    @property
    def article_count(self) -> int:
        return int(self._article_offsets.shape[0]) - 1

    def chunk(self, passage: int) -> Chunk:
        """The passage's text and place.

        Raises:
            IndexFormatError: its bytes or its row are damaged.
        """
        start, end, article_row, n, char_start, checksum = self._row(passage).tolist()
        data = bytes(self._text[start:end])
        try:
            if zlib.crc32(data) != checksum:
                raise ValueError("checksum mismatch")
            text = data.decode()
        except ValueError as err:  # also UnicodeDecodeError
            raise IndexFormatError(
                f"passage {passage} of the index is corrupt ({err}); {REBUILD_HINT}"
            ) from None
        doc_id = self._doc_id(article_row)
        return Chunk(f"{doc_id}#{n}", doc_id, n, text, char_start, char_start + len(text))

    def passage_articles(self) -> npt.NDArray[np.int32]:
        """Every passage's article row, in passage order (a copy, read in one pass)."""
        return np.asarray(self._table[:, 2], dtype=np.int32)

    def passage_checksums(self) -> npt.NDArray[np.int64]:
        """Every passage's CRC32, in passage order (a copy, read in one pass): a cheap digest of the text."""
        return np.asarray(self._table[:, 5], dtype=np.int64)

    def doc_id(self, article_row: int) -> str:
        """The document id of an article (its path in the corpus, or its JSON id)."""
        return str(self._article(article_row).get("doc_id") or "")

    def article_row(self, passage: int) -> int:
        return int(self._row(passage)[2])

    def _row(self, passage: int) -> npt.NDArray[np.int64]:
        if not 0 <= passage < len(self):  # a damaged posting list can name any number
            raise IndexFormatError(f"the index names passage {passage}, which it lacks; {REBUILD_HINT}")
        row: npt.NDArray[np.int64] = self._table[passage]
        return row

    def article_record(self, row: int) -> dict[str, str | None]:
        """The stored fields of article `row` (doc_id, title, publisher, url, date, author, path)."""
        return self._article(row)

    def _article(self, row: int) -> dict[str, str | None]:
        start, end = int(self._article_offsets[row]), int(self._article_offsets[row + 1])
        line = bytes(self._article_data[start:end])
        try:
            if zlib.crc32(line) != int(self._article_checksums[row]):
                raise ValueError("checksum mismatch")
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError) as err:
            raise IndexFormatError(f"article {row} of the index is corrupt ({err}); {REBUILD_HINT}") from None
        return data

    def _source(self, article_row: int) -> Source:
        data = self._article(article_row)
        date = data.get("date")
        return Source(
            title=data.get("title") or "",
            publisher=data.get("publisher"),
            date=dt.date.fromisoformat(date) if date else None,
            url=data.get("url"),
            path=data.get("path"),
            author=data.get("author"),
        )


def _map_bytes(path: Path) -> npt.NDArray[np.uint8]:
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return _plain(np.memmap(path, dtype=np.uint8, mode="r"))


def _plain(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """`array` as a plain ndarray (a view: a memory map stays mapped while the view lives)."""
    return array.view(np.ndarray)
