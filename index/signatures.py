"""Story signatures: per article, a MinHash of its lead, the names and figures it mentions, and its date."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .records import FIRST_SEGMENT

# The per-article signatures of a generation: everything grouping needs, so that stories can be
# recomputed without reading any article text again. A build that adds and removes articles keeps the
# stored rows of the articles it keeps (`Signatures.select`), appends the new articles' signatures
# (`Signatures.concat`), saves them, and groups again: the same stories as a full build in that order.
SIGNATURE_FILE = "stories.npz"


def signature_file(segment: str = FIRST_SEGMENT) -> str:
    """The name of the signature file of `segment`'s articles."""
    return SIGNATURE_FILE if segment == FIRST_SEGMENT else f"{segment}.{SIGNATURE_FILE}"


UNDATED = np.iinfo(np.int32).min
NUM_HASHES = 64
# An article's entities beyond these (first mentions first) add little and cost memory.
MAX_ENTITIES = 64
_EPOCH = dt.date(1970, 1, 1)

_SPACE = ord(" ")
# A shingle is this many bytes of folded text from a word's start: about four words.
SHINGLE_BYTES = 24
# A capitalized word inside a sentence (after a word or a comma: a sentence's first word is
# capitalized whatever it is), or a number with the word that says what it counts ("1,850 acres").
_ENTITY = re.compile(
    r"[A-Z](?<=[\w,] [A-Z])[\w&-]*(?:['\u2019](?!s\b)\w+)*|\b\d(?:[\d,.]*\d)?(?: [a-z]+)?|\x00"
)
# Names and shingles are read from an article's first characters: its lead names the event, and long
# articles cost no more than short ones.
SIGNATURE_CHARS = 4000
_BIN_BITS = 6  # 2**6 == NUM_HASHES
_EMPTY = 1 << 40  # above every 32-bit value: a bin no shingle fell into
_BATCH = 512
_BASE = 1_000_003
_INVERSE = pow(_BASE, -1, 1 << 64)
_THOUSANDS = re.compile(r",(?=\d\d\d)")
# Capitalized words that name no one: calendar words and titles say nothing about which event.
_NOT_NAMES = frozenset(
    "i a an the mr mrs ms dr st jan feb mar apr jun jul aug sep sept oct nov dec january february march "
    "april may june july august september october november december monday tuesday wednesday thursday "
    "friday saturday sunday".split()
)


@dataclass(frozen=True, slots=True)
class Signatures:
    """Per-article story signatures, one row per article, in article order."""

    minhash: npt.NDArray[np.uint32]  # (articles, NUM_HASHES) MinHash of word 4-grams
    entity_offsets: npt.NDArray[np.int64]  # article i's entities are entities[offsets[i]:offsets[i+1]]
    entities: npt.NDArray[np.uint64]  # hashes of names and figures, sorted and distinct per article
    dates: npt.NDArray[np.int32]  # days since 1970-01-01, UNDATED when unknown

    def __len__(self) -> int:
        return int(self.dates.shape[0])

    def entities_of(self, row: int) -> npt.NDArray[np.uint64]:
        return self.entities[self.entity_offsets[row] : self.entity_offsets[row + 1]]

    def select(self, rows: Sequence[int] | npt.NDArray[np.int64]) -> Signatures:
        """The signatures of `rows`, in that order (articles kept when others are removed)."""
        index = np.asarray(rows, dtype=np.int64)
        parts = [self.entities_of(int(row)) for row in index]
        return _assemble(self.minhash[index], parts, self.dates[index])

    @staticmethod
    def concat(parts: Sequence[Signatures]) -> Signatures:
        """One table of `parts` in order (articles added after the ones indexed)."""
        if not parts:
            return _assemble(_empty_minhash(), [], np.zeros(0, np.int32))
        shifts = np.cumsum([0] + [p.entities.shape[0] for p in parts[:-1]])
        offsets = [parts[0].entity_offsets[:1]] + [
            p.entity_offsets[1:] + shift for p, shift in zip(parts, shifts, strict=True)
        ]
        return Signatures(
            np.concatenate([p.minhash for p in parts]),
            np.concatenate(offsets).astype(np.int64),
            np.concatenate([p.entities for p in parts]),
            np.concatenate([p.dates for p in parts]),
        )

    def save(self, folder: Path, segment: str = FIRST_SEGMENT) -> None:
        with (folder / signature_file(segment)).open("wb") as out:
            np.savez(
                out,
                minhash=self.minhash,
                entity_offsets=self.entity_offsets,
                entities=self.entities,
                dates=self.dates,
            )

    @classmethod
    def load(cls, folder: Path, segment: str = FIRST_SEGMENT) -> Signatures:
        """Raises OSError when the file is missing, ValueError when it is not a signature table."""
        with np.load(folder / signature_file(segment), allow_pickle=False) as data:
            found = cls(data["minhash"], data["entity_offsets"], data["entities"], data["dates"])
        rows = len(found)
        if (
            found.minhash.shape != (rows, NUM_HASHES)
            or found.entity_offsets.shape != (rows + 1,)
            or int(found.entity_offsets[-1]) != found.entities.shape[0]
        ):
            raise ValueError(f"{SIGNATURE_FILE} does not hold one signature per article")
        return found


def newest_stored_date(
    folder: Path, segments: Sequence[str], live: Sequence[npt.NDArray[np.int64]]
) -> dt.date | None:
    """The newest date of the live articles (`live[i]`: segment i's live rows), read from the dates of the
    stored signatures alone (the other arrays of the files are never read).

    Raises OSError when a file is missing, ValueError or KeyError when it holds no dates for those rows.
    """
    newest = UNDATED
    for name, rows in zip(segments, live, strict=True):
        with np.load(folder / signature_file(name), allow_pickle=False) as data:
            dates = np.asarray(data["dates"], dtype=np.int32)[rows]
        dated = dates[dates != UNDATED]
        if dated.size:
            newest = max(newest, int(dated.max()))
    return None if newest == UNDATED else _EPOCH + dt.timedelta(days=newest)


def write_signatures(
    folder: Path, articles: Iterable[tuple[str, dt.date | None]], segment: str = FIRST_SEGMENT
) -> str:
    """Write the story signatures of `articles` (text, date), in article order, as those of `segment`
    into `folder`; the name of the file written."""
    signatures(articles).save(folder, segment)
    return signature_file(segment)


def signatures(articles: Iterable[tuple[str, dt.date | None]]) -> Signatures:
    """The story signatures of `(text, date)` pairs, in order (computed a batch of articles at a time)."""
    parts: list[Signatures] = []
    batch: list[tuple[str, dt.date | None]] = []
    hashes: dict[str, int] = {}  # names recur across articles: each is hashed once
    for article in articles:
        batch.append(article)
        if len(batch) == _BATCH:
            parts.append(_batch_signatures(batch, hashes))
            batch = []
    if batch or not parts:
        parts.append(_batch_signatures(batch, hashes))
    return parts[0] if len(parts) == 1 else Signatures.concat(parts)


def _batch_signatures(batch: Sequence[tuple[str, dt.date | None]], hashes: dict[str, int]) -> Signatures:
    texts = [text[:SIGNATURE_CHARS] for text, _ in batch]
    dates = np.asarray([UNDATED if d is None else (d - _EPOCH).days for _, d in batch], dtype=np.int32)
    per_article: list[npt.NDArray[np.uint64]] = []
    for names in _batch_names(texts):
        # Names are distinct, so their hashes are (up to a 64-bit collision): sorting is enough.
        per_article.append(np.asarray(sorted([_hash(name, hashes) for name in names]), dtype=np.uint64))
    return _assemble(minhashes(texts), per_article, dates)


def _batch_names(texts: Sequence[str]) -> list[list[str]]:
    """Each text's distinct names and figures (case and thousands separators folded), first mention
    first: one pattern search over the whole batch, where "\x00" marks where each text ends."""
    found = _THOUSANDS.sub("", "\x01".join(_ENTITY.findall("\x00".join(texts))).lower())
    return [
        [name for name in dict.fromkeys(part.split("\x01")) if name and name not in _NOT_NAMES][:MAX_ENTITIES]
        for part in found.split("\x00")
    ]


def _hash(name: str, known: dict[str, int]) -> int:
    """A stable 64-bit hash of `name` (two CRC32s; Python's own hash() differs between processes)."""
    value = known.get(name)
    if value is None:
        data = name.encode()
        value = known[name] = zlib.crc32(data) << 32 | zlib.crc32(data, 0x9E3779B9)
    return value


def entities(text: str) -> list[str]:
    """The names (capitalized words inside sentences) and counted figures of `text`, first mention first."""
    return _batch_names([text])[0]


def minhashes(texts: Sequence[str]) -> npt.NDArray[np.uint32]:
    """One-permutation MinHashes (one row per text) of each text's shingles: SHINGLE_BYTES of case-folded
    text from each word on, about four words. Equal entries estimate the Jaccard similarity of two texts."""
    folded = [" ".join(text[:SIGNATURE_CHARS].lower().split()).encode() for text in texts]
    pad = b" " * SHINGLE_BYTES
    data = np.frombuffer(b"".join(f + pad for f in folded), dtype=np.uint8).astype(np.uint64)
    lengths = np.asarray([len(f) for f in folded], dtype=np.int64)
    bases = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths + SHINGLE_BYTES)])[:-1]
    # Words start after a space; every text starts after the padding of the one before.
    is_word = data != _SPACE
    starts = np.flatnonzero(is_word & ~np.concatenate([np.zeros(1, dtype=bool), is_word[:-1]]))
    owner = np.searchsorted(bases, starts, side="right") - 1
    # A shingle may not run past its text's end, unless the whole text is shorter than one shingle.
    keep = (starts + SHINGLE_BYTES <= bases[owner] + lengths[owner]) | (starts == bases[owner])
    starts, owner = starts[keep], owner[keep]
    # A polynomial hash of each shingle's bytes from prefix sums: byte j weighs INVERSE**j, so that a
    # window's sum times BASE**start depends on its bytes only (BASE is odd: INVERSE exists modulo
    # 2**64, where numpy's unsigned arithmetic wraps).
    inverse_powers = np.full(data.shape[0], _INVERSE, dtype=np.uint64)
    inverse_powers[0] = 1
    powers = np.full(data.shape[0], _BASE, dtype=np.uint64)
    powers[0] = 1
    prefix = np.zeros(data.shape[0] + 1, dtype=np.uint64)
    np.cumsum(data * np.cumprod(inverse_powers), out=prefix[1:])
    shingles = (prefix[starts + SHINGLE_BYTES] - prefix[starts]) * np.cumprod(powers)[starts]
    shingles = _mix(shingles)
    # One hash cut into NUM_HASHES bins by its top bits: each bin's smallest value is its MinHash.
    cell = owner * NUM_HASHES + (shingles >> np.uint64(64 - _BIN_BITS)).astype(np.int64)
    values = ((shingles >> np.uint64(32 - _BIN_BITS)) & np.uint64(0xFFFFFFFF)).astype(np.int64)
    table = np.full(len(texts) * NUM_HASHES, _EMPTY, dtype=np.int64)
    np.minimum.at(table, cell, values)
    return _densify(table.reshape(len(texts), NUM_HASHES))


def _densify(table: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
    """Fill each empty bin with the next filled bin's value (circularly), shifted by the distance, so
    that short texts do not match each other on their empty bins."""
    values, distance = table.copy(), np.zeros_like(table)
    for step in range(2 * NUM_HASHES - 1, -1, -1):  # two sweeps backwards reach every bin's donor
        column, donor = step % NUM_HASHES, (step + 1) % NUM_HASHES
        empty = (values[:, column] == _EMPTY) & (values[:, donor] != _EMPTY)
        values[empty, column] = values[empty, donor]
        distance[empty, column] = distance[empty, donor] + 1
    blank = values == _EMPTY  # a text without any shingle
    values = (values + distance * 0x9E3779B9) & 0xFFFFFFFF
    values[blank] = 0xFFFFFFFF
    return values.astype(np.uint32)


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Spread every input bit over the whole word (the splitmix64 finalizer)."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _assemble(
    minhash: npt.NDArray[np.uint32], entities: Sequence[npt.NDArray[np.uint64]], dates: npt.NDArray[np.int32]
) -> Signatures:
    lengths = np.asarray([len(part) for part in entities], dtype=np.int64)
    offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths)])
    flat = np.concatenate(list(entities)) if len(entities) else np.zeros(0, np.uint64)
    return Signatures(minhash.astype(np.uint32), offsets, flat.astype(np.uint64), dates.astype(np.int32))


def _empty_minhash() -> npt.NDArray[np.uint32]:
    return np.zeros((0, NUM_HASHES), dtype=np.uint32)
