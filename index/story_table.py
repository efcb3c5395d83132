"""The stories of a loaded index: each article's story, and what readers are shown of it."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from .models import Story
from .segmented import LiveRecords
from .signatures import newest_stored_date
from .stories import SIGNATURE_FILE, Signatures, Stories, StoryConfig, group_stories, signatures

log = logging.getLogger(__name__)

STORY_CACHE_SIZE = 4096


class _Ranked(Protocol):
    @property
    def article_row(self) -> int: ...


Ranked = TypeVar("Ranked", bound=_Ranked)


def diversify(
    ranked: Iterable[Ranked],
    story_of: Callable[[int], int],
    answers: Callable[[Ranked], bool],
    keep: int | None = None,
) -> list[Ranked]:
    """`ranked` with another article of a story already shown moved below the passages of stories not
    shown yet that answer the question; further passages of an article already shown are not held back
    (they often hold what its first passage missed), and nothing waits when no other story answers.
    With `keep`, only the first `keep` of them, reading `ranked` no further than they need."""
    shown: dict[int, set[int]] = {}  # story -> its article rows placed so far
    placed: list[Ranked] = []
    waiting: list[Ranked] = []
    for candidate in ranked:
        story = story_of(candidate.article_row)
        rows = shown.get(story)
        if rows and candidate.article_row not in rows:
            waiting.append(candidate)
            continue
        if waiting and (rows or not answers(candidate)):
            placed += waiting  # no other story answers ahead of them: they keep their rank
            for held in waiting:
                shown[story_of(held.article_row)].add(held.article_row)
            waiting = []
        placed.append(candidate)
        shown.setdefault(story, set()).add(candidate.article_row)
        if keep is not None and len(placed) >= keep:
            return placed[:keep]  # what follows goes after them: placed only grows at its end
    return (placed + waiting)[:keep]


class StoryTable:
    """Groups the articles of one generation into stories on first use, from the signatures stored
    with it (an index built before stories existed has its signatures computed from its passages)."""

    def __init__(self, records: LiveRecords, generation: Path, config: StoryConfig | None = None) -> None:
        self._records = records
        self._generation = generation
        self._config = config or StoryConfig()
        self._stories: Stories | None = None
        self._lock = threading.Lock()
        # Live passages and their article rows: an article's passages are consecutive ids, in article order.
        self._live_passages: tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]] | None = None
        self.story = lru_cache(maxsize=STORY_CACHE_SIZE)(self._story)

    @property
    def stories(self) -> Stories:
        if self._stories is None:
            with self._lock:  # several threads answering at once group only once
                if self._stories is None:
                    self._stories = group_stories(self._signatures(), self._config)
        return self._stories

    def story_of(self, article_row: int) -> int:
        return self.stories.story_of(article_row)

    def members(self, article_row: int) -> tuple[int, ...]:
        """The article rows of the story of `article_row`, in article order."""
        return self.stories.members(self.story_of(article_row))

    def info(self, article_row: int) -> Story:
        """The story of `article_row` as shown to readers."""
        return self.story(self.story_of(article_row))

    def _story(self, story: int) -> Story:
        rows = self.stories.members(story)
        sources = [self._records.source(row) for row in rows]
        dates = sorted(source.date for source in sources if source.date is not None)
        # Publishers in the order they reported the story: the dated articles by date, then the undated.
        by_date = sorted(sources, key=lambda source: (source.date is None, source.date or dt.date.min))
        publishers = dict.fromkeys(source.publisher for source in by_date if source.publisher)
        digest = hashlib.blake2b(self._records.doc_id(rows[0]).encode(), digest_size=5).hexdigest()
        return Story(
            id=f"story-{digest}",
            articles=len(rows),
            publishers=tuple(publishers),
            first_date=dates[0] if dates else None,
            last_date=dates[-1] if dates else None,
        )

    def passages_of(self, article_row: int) -> range:
        """The passages of one live article (consecutive ids; removed passages are skipped over)."""
        if self._live_passages is None:
            rows = self._records.passage_articles()
            ids = np.flatnonzero(rows >= 0)
            self._live_passages = ids, rows[ids]
        ids, rows = self._live_passages
        # A row of the array's own type: a Python int would have numpy convert the whole array first.
        row = rows.dtype.type(article_row)
        lo = int(rows.searchsorted(row, side="left"))
        hi = int(rows.searchsorted(row, side="right"))
        return range(int(ids[lo]), int(ids[hi - 1]) + 1) if hi > lo else range(0)

    def newest_date(self) -> dt.date | None:
        """The newest article's date: from the stored signatures' dates (the article table would have
        every article's record parsed: over a second at a million passages), else from the table."""
        records = self._records
        try:
            live = [records.live_articles(number) for number in range(len(records.segment_names))]
            if sum(len(rows) for rows in live) == records.article_count:
                return newest_stored_date(self._generation, records.segment_names, live)
        except (OSError, ValueError, KeyError, IndexError) as err:
            log.debug("no stored article dates (%s); reading the article table", err)
        dates = (records.source(row).date for row in range(records.article_count))
        return max((day for day in dates if day is not None), default=None)

    def _signatures(self) -> Signatures:
        try:
            found = Signatures.concat(
                [
                    _live(Signatures.load(self._generation, name), self._records.live_articles(number))
                    for number, name in enumerate(self._records.segment_names)
                ]
            )
            if len(found) == self._records.article_count:
                return found
            log.warning(
                "%s does not match the index's articles; computing stories from passages", SIGNATURE_FILE
            )
        except (OSError, ValueError, KeyError) as err:
            log.debug("no stored story signatures (%s); computing them from the passages", err)
        return signatures(self._article_texts())

    def _article_texts(self) -> Iterator[tuple[str, dt.date | None]]:
        """Each article's text as its passages hold it (overlaps repeat a sentence: shingles are a set),
        with dates taken from the article table."""
        for row in range(self._records.article_count):
            text = " ".join(self._records.chunk(p).text for p in self.passages_of(row))
            yield text, self._records.source(row).date


def _live(found: Signatures, rows: npt.NDArray[np.int64]) -> Signatures:
    """The signatures of a segment's live article `rows` (all of them, as a rule: no copy then)."""
    if len(rows) == len(found) and (len(rows) == 0 or int(rows[-1]) == len(rows) - 1):
        return found  # rows are ascending and distinct, so this is every row in order
    return found.select(rows)
