"""Stories: articles that report one event (copies, partial copies, updates, other outlets' accounts)."""

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
class StoryConfig:
    """How alike two articles must be to report one event."""

    # Near-verbatim copies (shingle Jaccard at least this) are one story whatever they name.
    copy_jaccard: float = 0.7
    # Partial copies share less text; they also agree on what they name, unlike template twins.
    partial_jaccard: float = 0.25
    partial_entities: float = 0.5  # weighted share of the smaller article's names found in the other
    # Accounts in an outlet's own words: names and figures agree and the dates are close.
    event_entities: float = 0.3
    event_min_shared: int = 4
    window_days: int = 45  # the gap allowed between two dated updates of one story
    # An undated article (an explainer) has no date to agree on: it joins on names alone only when
    # they agree much more than between dated updates.
    undated_entities: float = 0.45
    undated_min_shared: int = 8
    # A name in more articles than this is no evidence of one event (a city, a president).
    max_entity_articles: int = 100
    bands: int = 16  # locality-sensitive hashing: NUM_HASHES is cut into this many bands


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


@dataclass(frozen=True, slots=True)
class Stories:
    """Which story each article belongs to: stories are numbered in the order of their first article."""

    labels: npt.NDArray[np.int32]  # story number of each article row
    _order: npt.NDArray[np.int64]  # article rows sorted by story
    _starts: npt.NDArray[np.int64]  # story s holds _order[_starts[s]:_starts[s + 1]]

    @classmethod
    def from_labels(cls, labels: npt.NDArray[np.integer]) -> Stories:
        """Stories from any per-article labels (equal labels, one story), renumbered by first article."""
        _, first, inverse = np.unique(np.asarray(labels), return_index=True, return_inverse=True)
        renumber = np.empty(first.shape[0], dtype=np.int32)
        renumber[np.argsort(first, kind="stable")] = np.arange(first.shape[0], dtype=np.int32)
        numbered = renumber[inverse.reshape(-1)].astype(np.int32)
        order = np.argsort(numbered, kind="stable").astype(np.int64)
        starts = np.searchsorted(numbered[order], np.arange(first.shape[0] + 1)).astype(np.int64)
        return cls(numbered, order, starts)

    def __len__(self) -> int:
        return int(self._starts.shape[0]) - 1

    def story_of(self, row: int) -> int:
        return int(self.labels[row])

    def members(self, story: int) -> tuple[int, ...]:
        """The article rows of `story`, in article order."""
        return tuple(int(row) for row in self._order[self._starts[story] : self._starts[story + 1]])


def group_stories(found: Signatures, config: StoryConfig = StoryConfig()) -> Stories:
    """Group articles into stories from their signatures alone (no text is read)."""
    count = len(found)
    if count == 0:
        return Stories.from_labels(np.zeros(0, dtype=np.int64))
    weights, totals = _entity_weights(found)
    shared_keys, shared_weight, shared_count = _shared_entities(found, weights, config)
    first, second = _split(shared_keys, count)
    overlap = shared_weight / np.maximum(np.minimum(totals[first], totals[second]), 1e-9)
    close = _close_in_time(found.dates, first, second, config.window_days)
    both_dated = (found.dates[first] != UNDATED) & (found.dates[second] != UNDATED)
    event = (
        both_dated & close & (shared_count >= config.event_min_shared) & (overlap >= config.event_entities)
    )
    undated = ~both_dated & (shared_count >= config.undated_min_shared) & (overlap >= config.undated_entities)
    links = [shared_keys[event | undated]]

    text_keys = _similar_text_candidates(found, config.bands)
    a, b = _split(text_keys, count)
    jaccard = (found.minhash[a] == found.minhash[b]).mean(axis=1) if text_keys.size else np.zeros(0)
    agree = _lookup(shared_keys, overlap, text_keys)
    copy = jaccard >= config.copy_jaccard
    partial = (jaccard >= config.partial_jaccard) & (agree >= config.partial_entities)
    links.append(text_keys[(copy | partial) & _close_in_time(found.dates, a, b, config.window_days)])
    return Stories.from_labels(_components(count, np.concatenate(links)))


def _entity_weights(found: Signatures) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each entity occurrence's weight (rarer names weigh more), and each article's total."""
    count = len(found)
    _, inverse, df = np.unique(found.entities, return_inverse=True, return_counts=True)
    weights = np.log1p(count / df)[inverse.reshape(-1)]
    rows = np.repeat(np.arange(count), np.diff(found.entity_offsets))
    totals = np.bincount(rows, weights=weights, minlength=count).astype(np.float64)
    return weights.astype(np.float64), totals


def _shared_entities(
    found: Signatures, weights: npt.NDArray[np.float64], config: StoryConfig
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Pairs of articles that share names and may report one event (dated at most `window_days` apart,
    or one undated), as sorted keys `low * n + high`, with the weight and the number of names shared."""
    count = len(found)
    rows = np.repeat(np.arange(count, dtype=np.int64), np.diff(found.entity_offsets))
    days = found.dates[rows].astype(np.int64)
    order = np.lexsort((rows, days, found.entities))  # by name, then by date, the undated first
    names, members, weight, days = found.entities[order], rows[order], weights[order], days[order]
    # Names in too many articles are left out before pairs are formed: they would cost n² pairs.
    _, df = np.unique(names, return_counts=True)
    keep = np.repeat((df >= 2) & (df <= config.max_entity_articles), df)
    names, members, weight, days = names[keep], members[keep], weight[keep], days[keep]
    # Occurrences are sorted by (name, date): a single key orders them, so that each occurrence's
    # partners (the later ones of its name within the window; all later ones for an undated article,
    # whose undated date sorts first) are one run of positions found by binary search.
    rank = np.concatenate([np.zeros(1, np.int64), np.cumsum(names[1:] != names[:-1])])
    key = (rank << 32) + (days - UNDATED)
    window_end = (rank << 32) + np.minimum(days - UNDATED + config.window_days, (1 << 32) - 1)
    window_end[days == UNDATED] = ((rank[days == UNDATED] + 1) << 32) - 1
    partners = np.searchsorted(key, window_end, side="right") - np.arange(key.shape[0]) - 1
    if not partners.sum():
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    first = np.repeat(np.arange(key.shape[0]), partners)
    run_start = np.repeat(np.cumsum(partners) - partners, partners)
    later = first + 1 + (np.arange(first.shape[0]) - run_start)
    low, high = members[first], members[later]
    keys = [np.minimum(low, high) * count + np.maximum(low, high)]
    pair_weights = [weight[first]]
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    inverse = inverse.reshape(-1)
    shared = np.bincount(inverse, weights=np.concatenate(pair_weights), minlength=unique.shape[0]).astype(
        np.float64
    )
    return unique.astype(np.int64), shared, np.bincount(inverse, minlength=unique.shape[0]).astype(np.int64)


def _similar_text_candidates(found: Signatures, bands: int) -> npt.NDArray[np.int64]:
    """Pairs whose MinHash agrees on a whole band (locality-sensitive hashing), as sorted keys."""
    count = len(found)
    width = NUM_HASHES // bands
    has_text = ~(found.minhash == np.iinfo(np.uint32).max).all(axis=1)
    rows = np.flatnonzero(has_text)
    keys: list[npt.NDArray[np.int64]] = []
    for band in range(bands):
        part = found.minhash[rows, band * width : (band + 1) * width].astype(np.uint64)
        bucket = np.zeros(rows.shape[0], dtype=np.uint64)
        for column in range(width):
            bucket = bucket * np.uint64(4_294_967_311) + part[:, column]
        order = np.argsort(bucket, kind="stable")
        same = bucket[order][1:] == bucket[order][:-1]
        # Consecutive members of a bucket: linking is transitive, so a chain covers a bucket of copies.
        low, high = rows[order][:-1][same], rows[order][1:][same]
        keys.append(np.minimum(low, high).astype(np.int64) * count + np.maximum(low, high))
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)


def _lookup(
    keys: npt.NDArray[np.int64], values: npt.NDArray[np.float64], wanted: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """`values` at `wanted` among the sorted `keys`, 0 where a key is missing."""
    found = np.zeros(wanted.shape[0])
    if keys.size == 0:
        return found
    at = np.minimum(np.searchsorted(keys, wanted), keys.shape[0] - 1)
    hit = keys[at] == wanted
    found[hit] = values[at[hit]]
    return found


def _split(keys: npt.NDArray[np.int64], count: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    return keys // max(count, 1), keys % max(count, 1)


def _close_in_time(
    dates: npt.NDArray[np.int32], first: npt.NDArray[np.int64], second: npt.NDArray[np.int64], window: int
) -> npt.NDArray[np.bool_]:
    """True for pairs dated at most `window` days apart, or with an undated article."""
    a, b = dates[first].astype(np.int64), dates[second].astype(np.int64)
    close: npt.NDArray[np.bool_] = (a == UNDATED) | (b == UNDATED) | (np.abs(a - b) <= window)
    return close


def _components(count: int, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each article's smallest linked article row (connected components of the linked pairs)."""
    labels = np.arange(count, dtype=np.int64)
    first, second = _split(keys, count)
    while True:
        low = np.minimum(labels[first], labels[second])
        before = labels.copy()
        np.minimum.at(labels, first, low)
        np.minimum.at(labels, second, low)
        labels = labels[labels]  # pointer jumping: follow each label to its own label
        if np.array_equal(labels, before):
            return labels
