"""The inverted BM25 index: built, grown, saved, opened and queried as one immutable object."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..bm25 import BM25Params
from . import format as disk
from .arrays import BLOCK, Int32s
from .build import CHUNK, Postings, blocks, count, impacts, merge
from .search import Allowed, PostingLists, Scratch, Tuning, search
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)

DEFAULT_PARAMS = BM25Params()


class InvertedIndex:
    """A BM25 index over analyzed passages (ids 0..N-1) that ranks exactly as `LuceneBM25.top_k`.

    Immutable once built; queries may run from several threads (each gets its own scratch arrays).
    """

    files: ClassVar[list[str]] = disk.FILES
    # Query tuning (tests shrink these to drive every path on small corpora); see `search.Tuning`.
    exhaustive_postings: ClassVar[int] = 12_000
    short_postings: ClassVar[int] = 4_096
    dense_fraction: ClassVar[int] = 8
    direct_ratio: ClassVar[float] = 1.0
    batch_tokens: ClassVar[int] = CHUNK  # tokens counted per batch while building

    def __init__(
        self, arrays: dict[str, npt.NDArray[Any]], n_docs: int, total_len: int, params: BM25Params, block: int
    ) -> None:
        self.params = params
        self._n_docs = n_docs
        self._total_len = total_len
        self._block = block
        self._arrays = arrays
        self.lists = PostingLists(arrays, n_docs, block)
        self.vocabulary = Vocabulary(arrays["vocab_prefix"], arrays["vocab_blob"], arrays["vocab_offsets"])
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
        n_docs = len(postings.doc_len)
        total_len = int(postings.doc_len.sum(dtype=np.int64))
        impact = impacts(postings, n_docs, total_len, params)
        block_max, block_ptr, term_max = blocks(postings.indptr, impact, block)
        arrays: dict[str, npt.NDArray[Any]] = {
            "doc_ids": postings.doc_ids,
            "impacts": impact,
            "tfs": postings.tfs,
            "indptr": postings.indptr,
            "doc_len": postings.doc_len,
            "block_max": block_max,
            "block_ptr": block_ptr,
            "term_max": term_max,
            "vocab_prefix": vocabulary.prefix,
            "vocab_blob": vocabulary.blob,
            "vocab_offsets": vocabulary.offsets,
        }
        log.debug("indexed %d passages: %d terms, %d postings", n_docs, len(term_max), len(impact))
        return cls(arrays, n_docs, total_len, params, block)

    def extend(
        self, docs: Iterable[Sequence[str]], progress: Callable[[int], None] | None = None
    ) -> InvertedIndex:
        """A new index: this one's passages followed by `docs`, whose ids continue from `n_docs`.

        It ranks exactly as a full build of all the passages would (see `build.merge`). No product path
        calls it yet: it is kept for updating an index with new articles without a full rebuild.
        """
        new = count(docs, self._n_docs, progress, self.batch_tokens)
        if not len(new.doc_len):
            return self
        arrays = self._arrays
        old = Postings([], arrays["indptr"], arrays["doc_ids"], arrays["tfs"], arrays["doc_len"])
        merged, vocabulary = merge(old, self.vocabulary, new)
        return self._from_postings(merged, self.params, self._block, vocabulary)

    # ---- persistence -----------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write the index's `files` into the existing `directory`."""
        header = {
            "n_docs": self._n_docs,
            "total_len": self._total_len,
            "n_terms": self.n_terms,
            "n_postings": len(self.lists.doc_ids),
            "k1": self.params.k1,
            "b": self.params.b,
            "block": self._block,
        }
        disk.save(directory, self._arrays, header)

    @classmethod
    def load(cls, directory: Path) -> InvertedIndex:
        """Open an index written by `save`; its arrays are memory-mapped, not read.

        Raises:
            IndexFormatError: the files are of another format or version, or do not fit together.
        """
        arrays, meta = disk.load(directory)
        params = BM25Params(meta["k1"], meta["b"])
        return cls(arrays, meta["n_docs"], meta["total_len"], params, meta["block"])

    # ---- statistics ------------------------------------------------------------------------------

    @property
    def n_docs(self) -> int:
        return self._n_docs

    @property
    def n_terms(self) -> int:
        return len(self.vocabulary)

    @property
    def avgdl(self) -> float:
        return self._total_len / self._n_docs if self._n_docs else 0.0

    @property
    def doc_lengths(self) -> Int32s:
        """Tokens per passage, read-only."""
        lengths: Int32s = self._arrays["doc_len"]
        return lengths

    def prefetch(self) -> None:
        """Read every page of the memory-mapped postings in, so that no query waits on a page fault.

        Takes about a second per million passages, mostly outside the GIL: run it in a thread.
        """
        for name in ("doc_ids", "impacts", "block_max", "indptr", "block_ptr", "term_max", "vocab_prefix"):
            array = self._arrays[name]
            np.bitwise_or.reduce(array.reshape(-1).view(np.uint8)[::4096])

    def doc_freq(self, term: str) -> int:
        """Passages containing `term` (0 if it is unknown)."""
        pos, found = self.vocabulary.locate(term.encode("utf-8"))
        return int(self.lists.indptr[pos + 1] - self.lists.indptr[pos]) if found else 0

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.vocabulary.locate(term.encode("utf-8"))[1]

    def terms(self) -> Iterator[str]:
        """Every indexed term, in sorted byte order."""
        return self.vocabulary.terms()

    # ---- queries ---------------------------------------------------------------------------------

    def top_k(self, terms: Sequence[str], k: int, allowed: Allowed | None = None) -> list[tuple[int, float]]:
        """Best `k` (passage id, score) pairs among passages sharing a term with the query.

        Same contract as `LuceneBM25.top_k`: terms are deduplicated, unknown terms ignored, order is
        score descending then passage id ascending. With `allowed`, only those passages are ranked
        (exactly: as if the index held no other passage, with the whole index's statistics).

        Raises:
            ValueError: `allowed` is a mask over another number of passages.
        """
        if allowed is not None and len(allowed.mask) != self._n_docs:
            raise ValueError(f"the filter covers {len(allowed.mask)} passages, the index {self._n_docs}")
        if k <= 0 or (allowed is not None and not len(allowed.ids)):
            return []
        tids = self.vocabulary.term_ids(terms)
        if not tids:
            return []
        tuning = Tuning(self.exhaustive_postings, self.short_postings, self.dense_fraction, self.direct_ratio)
        try:
            query = self.lists.query(tids, k, allowed)
            ids, scores = search(self.lists, self.scratch(), query, tuning)
        except BaseException:
            self._local.__dict__.clear()  # the scratch arrays may hold partial sums: drop them
            raise
        if len(ids) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = np.flatnonzero(scores >= kth)
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[:k]
        return list(zip(ids[order].tolist(), scores[order].tolist(), strict=True))

    def scratch(self) -> Scratch:
        """This thread's work arrays."""
        scratch: Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = Scratch(self._n_docs)
        return scratch
