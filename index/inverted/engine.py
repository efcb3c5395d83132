"""The inverted BM25 index: segments built, grown, thinned, saved, opened and queried as one object.

Global statistics. BM25 depends on the number of live passages N, their average length avgdl and each
term's document frequency df, which every added or removed passage changes. Segments therefore store
term frequencies, never impacts: opening the index computes N, avgdl and every passage's length norm
`k1 * (1 - b + b * dl / avgdl)` (one O(N) numpy pass), and a query turns a term's postings into
impacts with the df counted over the live postings themselves, exactly as a full build of the same
passages computes them (same float64 operations, stored as float32). Removed passages are dropped
from a term's postings as they are read, so no filter needs to know about them. A term's impacts are
kept in a small cache: common terms come back in most questions.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..bm25 import BM25Params, lucene_idf_array
from ..errors import IndexFormatError
from . import format as disk
from .arrays import BLOCK, Float32s, Floats, Int32s
from .build import CHUNK, Postings, count
from .search import Allowed, PostingLists, Scratch, Tuning, search
from .segment import Segment, load_deleted, save_deleted, segment_files
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)

DEFAULT_PARAMS = BM25Params()
# Postings whose impacts are worked out together: 32k float64s (256 KB) per temporary array.
IMPACT_SLICE = 1 << 15


@dataclass(frozen=True, slots=True)
class TermList:
    """One term's live postings over every segment: global ids ascending, impacts, block maxima."""

    ids: Int32s
    impacts: Float32s
    block_max: Float32s


class TermCache:
    """The most recently used terms' postings, up to a number of postings; safe across threads."""

    def __init__(self, max_postings: int) -> None:
        self._max = max_postings
        self._held = 0
        self._terms: OrderedDict[str, TermList | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, term: str, compute: Callable[[str], TermList | None]) -> TermList | None:
        with self._lock:
            if term in self._terms:
                self._terms.move_to_end(term)
                return self._terms[term]
        found = compute(term)  # outside the lock: two threads may compute the same list, harmlessly
        size = len(found.ids) if found is not None else 0
        with self._lock:
            if term not in self._terms and size <= self._max:
                self._terms[term] = found
                self._held += size
                while self._held > self._max or len(self._terms) > 65_536:
                    _, dropped = self._terms.popitem(last=False)
                    self._held -= len(dropped.ids) if dropped is not None else 0
        return found


class InvertedIndex:
    """A BM25 index over analyzed passages that ranks exactly as `LuceneBM25.top_k` over its live ones.

    Passage ids run over the segments in order (0..n_ids-1); removed passages keep their ids and never
    match. Immutable once built; queries may run from several threads (each gets its own scratch arrays).
    """

    # Query tuning (tests shrink these to drive every path on small corpora); see `search.Tuning`.
    exhaustive_postings: ClassVar[int] = 12_000
    short_postings: ClassVar[int] = 4_096
    dense_fraction: ClassVar[int] = 8
    direct_ratio: ClassVar[float] = 1.0
    batch_tokens: ClassVar[int] = CHUNK  # tokens counted per batch while building
    cache_postings: ClassVar[int] = 1 << 23  # postings of recent terms kept with their impacts (~70 MB)

    def __init__(
        self,
        segments: Sequence[Segment],
        deleted: Sequence[Int32s],
        params: BM25Params,
        block: int,
        next_segment: int,
    ) -> None:
        self.params = params
        self.segments = tuple(segments)
        self.deleted = tuple(np.asarray(d, dtype=np.int32) for d in deleted)
        self.next_segment = next_segment
        self._block = block
        sizes = [len(segment) for segment in self.segments]
        self.bases = [0, *np.cumsum(sizes, dtype=np.int64).tolist()]
        self._n_ids = int(self.bases[-1])
        doc_len = np.concatenate([s.doc_len for s in self.segments]) if self.segments else np.zeros(0)
        self._live: npt.NDArray[np.bool_] | None = None
        if any(len(d) for d in self.deleted):
            self._live = np.ones(self._n_ids, dtype=bool)
            for base, removed in zip(self.bases, self.deleted, strict=False):
                self._live[base + removed] = False
        self._n_docs = self._n_ids - sum(len(d) for d in self.deleted)
        live_len = doc_len if self._live is None else doc_len[self._live]
        self._total_len = int(live_len.sum(dtype=np.int64))
        avgdl = self._total_len / self._n_docs if self._total_len else 1.0  # no postings: any value
        # The operations of rank-bm25's BM25Okapi.get_scores, in its order (see `_compute`).
        self._norm: Floats = params.k1 * (1 - params.b + params.b * doc_len.astype(np.float64) / avgdl)
        self._cache = TermCache(self.cache_postings)
        self._local = threading.local()

    # ---- building --------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        docs: Iterable[Sequence[str]],
        params: BM25Params = DEFAULT_PARAMS,
        progress: Callable[[int], None] | None = None,
        *,
        block: int = BLOCK,
    ) -> InvertedIndex:
        """Index `docs` (analyzed token lists, one per passage); `progress(n_done)` is called as it goes."""
        postings = count(docs, 0, progress, cls.batch_tokens)
        return cls._from_postings(postings, params, block, Vocabulary.build(postings.terms))

    @classmethod
    def _from_postings(
        cls, postings: Postings, params: BM25Params, block: int, vocabulary: Vocabulary
    ) -> InvertedIndex:
        """The one-segment index of `postings` (a full build)."""
        segment = Segment.of(disk.segment_name(0), postings, vocabulary)
        log.debug("indexed %d passages: %d postings", len(segment), segment.n_postings)
        return cls([segment], [np.zeros(0, dtype=np.int32)], params, block, 1)

    def updated(
        self,
        *,
        remove: Iterable[int] = (),
        drop: Collection[str] = (),
        add: Iterable[Sequence[str]] = (),
        progress: Callable[[int], None] | None = None,
    ) -> InvertedIndex:
        """A new index: without the passages `remove` (global ids) and the segments named in `drop`,
        with the passages `add` (analyzed token lists) in a new last segment, if there are any.

        It ranks exactly as a full build of its live passages would. The ids of the passages after a
        dropped segment move down by its size; the new segment's passages follow every kept one.
        """
        removed = np.unique(np.fromiter(remove, dtype=np.int64))
        if len(removed) and (removed[0] < 0 or removed[-1] >= self._n_ids):
            raise ValueError(f"passage ids must lie in 0..{self._n_ids - 1}")
        segments, deleted = [], []
        for segment, base, before in zip(self.segments, self.bases, self.deleted, strict=False):
            if segment.name in drop:
                continue
            mine = removed[(removed >= base) & (removed < base + len(segment))] - base
            segments.append(segment)
            deleted.append(np.union1d(before, mine.astype(np.int32)).astype(np.int32))
        new = count(add, 0, progress, self.batch_tokens)
        next_segment = self.next_segment
        if len(new.doc_len):
            segments.append(Segment.of(disk.segment_name(next_segment), new, Vocabulary.build(new.terms)))
            deleted.append(np.zeros(0, dtype=np.int32))
            next_segment += 1
        return InvertedIndex(segments, deleted, self.params, self._block, next_segment)

    def extend(
        self, docs: Iterable[Sequence[str]], progress: Callable[[int], None] | None = None
    ) -> InvertedIndex:
        """A new index: this one's passages followed by `docs` (in a new segment), ids from `n_ids`."""
        return self.updated(add=docs, progress=progress)

    # ---- persistence -----------------------------------------------------------------------------

    def save(self, directory: Path) -> list[str]:
        """Write the index into the existing `directory`; the names of the files written.

        Segments loaded from another folder are hard-linked from it, not rewritten.
        """
        names = [disk.META]
        entries = []
        for segment, removed in zip(self.segments, self.deleted, strict=True):
            segment.save(directory)
            names += segment_files(segment.name)
            written = save_deleted(directory, segment.name, removed)
            names += [written] if written else []
            entries.append({"name": segment.name, "passages": len(segment), "deleted": len(removed)})
        header = {
            "segments": entries,
            "next_segment": self.next_segment,
            "n_docs": self._n_docs,
            "total_len": self._total_len,
            "k1": self.params.k1,
            "b": self.params.b,
            "block": self._block,
        }
        disk.save(directory, header)
        return names

    @classmethod
    def load(cls, directory: Path) -> InvertedIndex:
        """Open an index written by `save`; its arrays are memory-mapped, not read.

        Raises:
            IndexFormatError: the files are of another format or version, or do not fit together.
        """
        meta = disk.load(directory)
        segments, deleted = [], []
        for entry in meta["segments"]:
            segments.append(Segment.load(directory, entry["name"], entry["passages"]))
            deleted.append(load_deleted(directory, entry["name"], entry["deleted"], entry["passages"]))
        params = BM25Params(meta["k1"], meta["b"])
        index = cls(segments, deleted, params, meta["block"], meta["next_segment"])
        if (index.n_docs, index._total_len) != (meta["n_docs"], meta["total_len"]):
            raise IndexFormatError(f"the inverted index in {directory} is inconsistent; rebuild it")
        return index

    # ---- statistics ------------------------------------------------------------------------------

    @property
    def n_docs(self) -> int:
        """Live passages: the N of BM25."""
        return self._n_docs

    @property
    def n_ids(self) -> int:
        """Passage ids in use, removed passages included: the size of a filter's mask."""
        return self._n_ids

    @property
    def avgdl(self) -> float:
        return self._total_len / self._n_docs if self._n_docs else 0.0

    @property
    def removed(self) -> int:
        return self._n_ids - self._n_docs

    @property
    def live(self) -> npt.NDArray[np.bool_] | None:
        """True for each live passage id, or None when no passage was removed (read-only)."""
        if self._live is None:
            return None
        view = self._live.view()
        view.flags.writeable = False
        return view

    def prefetch(self) -> None:
        """Read every page of the memory-mapped postings in, so that no query waits on a page fault.

        Takes about a second per million passages, mostly outside the GIL: run it in a thread.
        """
        for segment in self.segments:
            for array in (segment.doc_ids, segment.tfs, segment.indptr, segment.vocabulary.prefix):
                np.bitwise_or.reduce(array.reshape(-1).view(np.uint8)[::4096])

    def doc_freq(self, term: str) -> int:
        """Live passages containing `term` (0 if it is unknown)."""
        found = self._term(term)
        return len(found.ids) if found is not None else 0

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.doc_freq(term) > 0

    def terms(self) -> Iterator[str]:
        """Every term of a live passage, in sorted byte order."""
        known: set[bytes] = set()
        for segment in self.segments:
            known.update(t.encode("utf-8") for t in segment.vocabulary.terms())
        for key in sorted(known):
            term = key.decode("utf-8")
            if self._live is None or self.doc_freq(term):
                yield term

    # ---- queries ---------------------------------------------------------------------------------

    def top_k(self, terms: Sequence[str], k: int, allowed: Allowed | None = None) -> list[tuple[int, float]]:
        """Best `k` (passage id, score) pairs among live passages sharing a term with the query.

        Same contract as `LuceneBM25.top_k`: terms are deduplicated, unknown terms ignored, order is
        score descending then passage id ascending. With `allowed`, only those passages are ranked
        (exactly: as if the index held no other passage, with the whole index's statistics).

        Raises:
            ValueError: `allowed` is a mask over another number of passages.
        """
        if allowed is not None and len(allowed.mask) != self._n_ids:
            raise ValueError(f"the filter covers {len(allowed.mask)} passages, the index {self._n_ids}")
        if k <= 0 or (allowed is not None and not len(allowed.ids)):
            return []
        lists, tids = self.query_lists(terms)
        if not tids:
            return []
        tuning = Tuning(self.exhaustive_postings, self.short_postings, self.dense_fraction, self.direct_ratio)
        try:
            query = lists.query(tids, k, allowed)
            ids, scores = search(lists, self.scratch(), query, tuning)
        except BaseException:
            self._local.__dict__.clear()  # the scratch arrays may hold partial sums: drop them
            raise
        if len(ids) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = np.flatnonzero(scores >= kth)
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[:k]
        return list(zip(ids[order].tolist(), scores[order].tolist(), strict=True))

    def query_lists(self, terms: Sequence[str]) -> tuple[PostingLists, list[int]]:
        """The posting lists of the distinct known `terms`, with impacts, and their ids in those lists."""
        found = [t for t in (self._term(term) for term in dict.fromkeys(terms)) if t is not None]
        lists = PostingLists(
            [t.ids for t in found],
            [t.impacts for t in found],
            [t.block_max for t in found],
            self._n_ids,
            self._block,
        )
        return lists, list(range(len(found)))

    def _term(self, term: str) -> TermList | None:
        return self._cache.get(term, self._compute)

    def _compute(self, term: str) -> TermList | None:
        """`term`'s live postings over every segment, with their impacts under the global statistics."""
        key = term.encode("utf-8")
        id_parts: list[Int32s] = []
        tf_parts: list[npt.NDArray[Any]] = []
        for segment, base in zip(self.segments, self.bases, strict=False):
            found = segment.postings_of(key)
            if found is None:
                continue
            ids, tfs = found
            if self._live is not None:
                keep = self._live[base:][ids]
                ids, tfs = ids[keep], tfs[keep]
            id_parts.append(ids + np.int32(base) if base else ids)
            tf_parts.append(tfs)
        ids = _joined(id_parts, np.int32)
        if not len(ids):
            return None
        idf = lucene_idf_array(self._n_docs, np.array([len(ids)], dtype=np.int64))[0]
        impacts = self._impacts(ids, _joined(tf_parts, np.float64), idf)
        block_max = np.maximum.reduceat(impacts, np.arange(0, len(impacts), self._block))
        return TermList(ids, impacts, block_max)

    def _impacts(self, ids: Int32s, tfs: npt.NDArray[Any], idf: float) -> Float32s:
        """The impacts of one term's postings: the operations of rank-bm25's BM25Okapi.get_scores, in its
        order, as a full build did them: idf * (tf * (k1 + 1) / (tf + norm)). Worked in place (sums and
        products commute exactly) and a slice at a time, so that a long list's temporaries stay in the
        processor's cache: twice as fast on a list of a million postings, with identical floats."""
        impacts = np.empty(len(ids), dtype=np.float32)
        for start in range(0, len(ids), IMPACT_SLICE):
            end = start + IMPACT_SLICE
            tf = tfs[start:end].astype(np.float64, copy=False)
            scaled = tf * (self.params.k1 + 1)
            denominator = self._norm[ids[start:end]]
            denominator += tf
            scaled /= denominator
            scaled *= idf
            impacts[start:end] = scaled  # rounded to float32 as astype rounds
        return impacts

    def scratch(self) -> Scratch:
        """This thread's work arrays."""
        scratch: Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = Scratch(self._n_ids)
        return scratch


def _joined(parts: Sequence[npt.NDArray[Any]], dtype: type[Any]) -> npt.NDArray[Any]:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
