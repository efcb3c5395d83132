"""Stories: articles that report one event (copies, partial copies, updates, other outlets' accounts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .signatures import NUM_HASHES, UNDATED
from .signatures import SIGNATURE_FILE as SIGNATURE_FILE  # re-exported: stories are grouped from these
from .signatures import Signatures as Signatures
from .signatures import entities as entities
from .signatures import minhashes as minhashes
from .signatures import signature_file as signature_file
from .signatures import signatures as signatures
from .signatures import write_signatures as write_signatures


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
