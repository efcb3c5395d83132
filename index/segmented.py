"""The passage and article tables of every segment, read as one: global passage ids, live articles only.

Passage ids run over the segments in order, as in the inverted index. Article rows are numbered over
the live articles only (an article is removed with all its passages), so filters, publisher lists and
undated counts see exactly the articles a full build of the same corpus would hold; a removed
passage's article row is -1.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import IndexFormatError
from .inverted.vocabulary import Vocabulary
from .manifest import REBUILD_HINT
from .models import Chunk, Source
from .passage_analysis import StoredAnalysis
from .records import Records
from .rerank import PassageTerms

Bools = npt.NDArray[np.bool_]


class LiveRecords:
    """Read access to the passages and live articles of an index's segments."""

    def __init__(
        self,
        parts: Sequence[Records],
        live: Bools | None,
        names: Sequence[str] = (),
        analyses: Sequence[StoredAnalysis] = (),
    ) -> None:
        self._parts = list(parts)
        # Each segment's stored passage analyses, when opened from a folder with its vocabularies.
        self._analyses = list(analyses)
        self.segment_names = list(names)  # the segments' names, in order, when opened from a folder
        self._bases = [0, *np.cumsum([len(part) for part in parts], dtype=np.int64).tolist()]
        passage_rows, segment_of, local_of = [], [], []
        first_row = 0
        for number, (part, base) in enumerate(zip(self._parts, self._bases, strict=False)):
            local = part.passage_articles()
            has_live = np.ones(part.article_count, dtype=bool)  # an article without passages stays
            if live is not None:
                alive = live[base : base + len(part)]
                has_live[local[~alive]] = False
                has_live[local[alive]] = True
            kept = np.flatnonzero(has_live)
            row_of = np.full(part.article_count + 1, -1, dtype=np.int32)  # the extra -1: unknown rows
            row_of[kept] = np.arange(first_row, first_row + len(kept), dtype=np.int32)
            rows = row_of[local]
            if live is not None:
                rows[~live[base : base + len(part)]] = -1
            passage_rows.append(rows)
            segment_of.append(np.full(len(kept), number, dtype=np.int32))
            local_of.append(kept)
            first_row += len(kept)
        self._passage_rows: npt.NDArray[np.int32] = _joined(passage_rows, np.int32)
        self._segment_of: npt.NDArray[np.int32] = _joined(segment_of, np.int32)
        self._local_of: npt.NDArray[np.int64] = _joined(local_of, np.int64)
        self.live_passages = int(np.count_nonzero(self._passage_rows >= 0))
        self.source = lru_cache(maxsize=65_536)(self._source)

    @classmethod
    def open(
        cls,
        folder: Path,
        segments: Sequence[str],
        live: Bools | None,
        vocabularies: Sequence[Vocabulary] = (),
    ) -> LiveRecords:
        """The records of the `segments` stored in `folder`; `live` masks the removed passages. With the
        segments' `vocabularies`, their stored passage analyses too.

        Raises:
            IndexFormatError: the stored analyses are missing or do not fit the records.
        """
        parts = [Records(folder, name) for name in segments]
        analyses = [
            StoredAnalysis.load(folder, name, vocabulary, len(part), part.article_count)
            for name, vocabulary, part in zip(segments, vocabularies, parts, strict=False)
        ]
        return cls(parts, live, segments, analyses)

    def __len__(self) -> int:
        """Passage ids in use, removed passages included."""
        return int(self._bases[-1])

    @property
    def article_count(self) -> int:
        """Live articles."""
        return len(self._segment_of)

    def _part(self, passage: int) -> tuple[Records, int]:
        number = self._number(passage)
        return self._parts[number], passage - self._bases[number]

    def _number(self, passage: int) -> int:
        """The number of the segment holding `passage`."""
        if not 0 <= passage < len(self):  # a damaged posting list can name any number
            raise IndexFormatError(f"the index names passage {passage}, which it lacks; {REBUILD_HINT}")
        return bisect.bisect_right(self._bases, passage) - 1

    def chunk(self, passage: int) -> Chunk:
        """The passage's text and place.

        Raises:
            IndexFormatError: its bytes or its row are damaged.
        """
        part, local = self._part(passage)
        return part.chunk(local)

    def prefetch(self) -> None:
        """Read the stored analyses in and decode their terms ahead of the first questions."""
        for analysis in self._analyses:
            analysis.prefetch()

    def passage_terms(self, passage: int) -> PassageTerms | None:
        """The passage's stored analysis (`rerank.analyze_passage` of its text), or None if not loaded.

        Raises:
            IndexFormatError: the stored analysis is damaged.
        """
        if not self._analyses:
            return None
        number = self._number(passage)
        return self._analyses[number].passage(passage - self._bases[number])

    def title_terms(self, row: int) -> frozenset[str] | None:
        """The analyzed title of live article `row`, or None if not stored."""
        if not self._analyses:
            return None
        return self._analyses[int(self._segment_of[row])].title(int(self._local_of[row]))

    def passage_articles(self) -> npt.NDArray[np.int32]:
        """Every passage's live article row (-1 for removed passages), in passage order (a copy)."""
        return self._passage_rows.copy()

    def article_row(self, passage: int) -> int:
        self._part(passage)  # checks the id
        return int(self._passage_rows[passage])

    def rows_of(self, segment: int) -> npt.NDArray[np.int64]:
        """The live article rows of segment number `segment`, in order."""
        return np.flatnonzero(self._segment_of == segment).astype(np.int64)

    def live_articles(self, segment: int) -> npt.NDArray[np.int64]:
        """The rows, within segment number `segment`'s own tables, of its live articles, in order."""
        rows: npt.NDArray[np.int64] = self._local_of[self._segment_of == segment]
        return rows

    def passage_checksums(self) -> npt.NDArray[np.int64]:
        """Every passage's CRC32 in passage order, removed passages included (their row is -1)."""
        return _joined([part.passage_checksums() for part in self._parts], np.int64)

    def doc_id(self, row: int) -> str:
        """The document id of live article `row`."""
        return self._parts[int(self._segment_of[row])].doc_id(int(self._local_of[row]))

    def article_record(self, row: int) -> dict[str, str | None]:
        """The stored fields of live article `row`."""
        return self._parts[int(self._segment_of[row])].article_record(int(self._local_of[row]))

    def _source(self, article_row: int) -> Source:
        return self._parts[int(self._segment_of[article_row])].source(int(self._local_of[article_row]))


def _joined(parts: Sequence[npt.NDArray[Any]], dtype: type[Any]) -> npt.NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
