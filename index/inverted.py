"""Inverted BM25 index: precomputed impacts, exact MaxScore top-k retrieval, memory-mapped files.

Layout. Terms are sorted by their UTF-8 bytes. Term t owns postings `indptr[t]:indptr[t + 1]`: passage
ids ascending (int32), term frequencies (smallest unsigned dtype that fits) and impacts
`idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))`, computed in float64 exactly as
rank-bm25 does and stored as float32. Postings are cut into blocks whose maximum impact is kept, with
each term's maximum. The vocabulary is a sorted fixed-width byte prefix per term, binary-searched with
numpy and backed by a blob of the full terms, so loading parses nothing.

Queries. A score is a float64 sum of float32 impacts; such sums are exact, so it does not depend on
the order terms are added and every pruning test below is exact (a 1e-9 relative margin covers
pathological exponent ranges). The shortest lists are summed in full; the k-th best of those
partial scores (or, if needed, of a few of them completed from the long lists) is a lower bound
`theta` on the k-th best score. MaxScore then leaves "lazy" the long lists whose maxima sum below
theta: a passage found only in them cannot place. The other lists are summed too, skipping blocks and
postings whose impact plus every other term's maximum stays below theta. Passages whose partial score
plus the lazy maxima can still reach theta are completed by binary search in the lazy lists, highest
maximum first, with theta rising as partial scores come in. Ties go to the lower passage id, as in
`LuceneBM25.top_k`.

Growth. Impacts depend on N, avgdl and df, which every added passage changes. `extend` therefore
inserts the new postings into the sorted arrays and recomputes every impact from the stored term
frequencies and passage lengths in one vectorised pass: O(postings) numpy work (seconds at a million
passages) instead of the O(tokens) Python work of a full build, and the result is identical to a full
build. Keeping old segments with stale impacts would make `extend` cheaper but the ranking inexact;
computing impacts from tf at query time would keep it exact but slow every query down.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .bm25 import BM25Params, lucene_idf_array
from .errors import IndexFormatError

log = logging.getLogger(__name__)

FORMAT = "article-qa-inverted"
VERSION = 1
BLOCK = 128  # postings per block-max block
PREFIX_BYTES = 12  # width of the binary-searched term prefix
CHUNK = 1 << 20  # tokens (or postings) per vectorised batch while building: bounds the temporaries
PROGRESS_EVERY = 1 << 13  # passages between progress calls
MARGIN = 1e-9  # relative slack on theta, against rounding in the exponent extremes
TINY = 5e-324  # smallest positive float64: every impact and partial score is above it
DEFAULT_PARAMS = BM25Params()

Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Float32s = npt.NDArray[np.float32]
UInts = npt.NDArray[np.unsignedinteger[Any]]
Vocab = tuple[npt.NDArray[np.bytes_], npt.NDArray[np.uint8], Int64s]  # prefixes, blob, offsets

_META = "inverted.json"
# numpy dtype kinds of the arrays that are not signed integers ("i"); checked on load.
_KINDS = {
    "impacts": "f",
    "block_max": "f",
    "term_max": "f",
    "tfs": "u",
    "vocab_blob": "u",
    "vocab_prefix": "S",
}
_ARRAYS = (
    "doc_ids",
    "impacts",
    "tfs",
    "indptr",
    "doc_len",
    "block_max",
    "block_ptr",
    "term_max",
    "vocab_prefix",
    "vocab_blob",
    "vocab_offsets",
)


def _file(name: str) -> str:
    return f"inverted.{name}.npy"


@dataclass(slots=True)
class _Postings:
    """Term-major postings with term frequencies (no impacts yet), terms in sorted byte order."""

    terms: list[bytes]
    indptr: Int64s
    doc_ids: Int32s
    tfs: UInts
    doc_len: Int32s


@dataclass(slots=True)
class _Batch:
    """Distinct (term, passage) pairs of some passages, by term then passage; terms run-length coded."""

    run_terms: Int32s  # build-order term id of each run
    run_lengths: Int64s
    doc_ids: Int32s
    counts: UInts


def _count(
    docs: Iterable[Sequence[str]], first_doc: int, progress: Callable[[int], None] | None, batch: int
) -> _Postings:
    """Map every token to an id in one pass over `docs`, then count (term, passage) pairs with numpy."""
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__  # an unseen term gets the next id
    get = vocab.__getitem__
    tokens = array("i")
    lengths = array("i")
    batches: list[_Batch] = []
    batch_start = n_docs = 0
    for doc in docs:
        tokens.fromlist(list(map(get, doc)))
        lengths.append(len(doc))
        n_docs += 1
        if len(tokens) >= batch:
            batches.append(_pairs(tokens, lengths, batch_start, first_doc))
            tokens = array("i")
            batch_start = n_docs
        if progress is not None and n_docs % PROGRESS_EVERY == 0:
            progress(n_docs)
    if len(tokens):
        batches.append(_pairs(tokens, lengths, batch_start, first_doc))
    if progress is not None:
        progress(n_docs)
    return _assemble(list(vocab), batches, np.array(lengths, dtype=np.int32))


def _pairs(tokens: array[int], lengths: array[int], start: int, first_doc: int) -> _Batch:
    """Count the (term, passage) pairs of passages `start:` (the tokens since the last batch)."""
    sizes = np.array(lengths[start:], dtype=np.int64)
    keys = np.array(tokens, dtype=np.int64)
    keys <<= 32
    keys |= np.repeat(np.arange(first_doc + start, first_doc + len(lengths), dtype=np.int64), sizes)
    keys.sort()
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    at = np.flatnonzero(first)
    counts = np.diff(at, append=len(keys))
    keys = keys[at]
    terms = (keys >> 32).astype(np.int32)
    runs = np.flatnonzero(np.diff(terms, prepend=-1))
    return _Batch(
        run_terms=terms[runs],
        run_lengths=np.diff(runs, append=len(terms)),
        doc_ids=keys.astype(np.int32),  # the low 32 bits
        counts=counts.astype(np.min_scalar_type(int(counts.max()))),
    )


def _assemble(terms: list[str], batches: list[_Batch], doc_len: Int32s) -> _Postings:
    """Scatter the batches' pairs into term-major arrays, renumbering terms in sorted byte order."""
    encoded = [term.encode("utf-8") for term in terms]
    order = sorted(range(len(encoded)), key=encoded.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    df = np.zeros(len(order), dtype=np.int64)
    for batch in batches:
        df[batch.run_terms] += batch.run_lengths
    indptr = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(df[order], out=indptr[1:])
    tf_type = np.result_type(np.uint8, *(batch.counts.dtype for batch in batches))
    doc_ids = np.empty(int(indptr[-1]), dtype=np.int32)
    tfs = np.empty(int(indptr[-1]), dtype=tf_type)
    fill = indptr[:-1][rank]  # next free slot of each term, by first-seen id
    batches.reverse()
    while batches:  # popped one by one so each batch's memory goes as soon as it is placed
        batch = batches.pop()
        run_starts = np.cumsum(batch.run_lengths) - batch.run_lengths
        dest = np.repeat(fill[batch.run_terms] - run_starts, batch.run_lengths)
        dest += np.arange(len(dest))
        doc_ids[dest] = batch.doc_ids
        tfs[dest] = batch.counts
        fill[batch.run_terms] += batch.run_lengths
    return _Postings([encoded[i] for i in order], indptr, doc_ids, tfs, doc_len)


def _impacts(postings: _Postings, n_docs: int, total_len: int, params: BM25Params) -> Float32s:
    """BM25 impact of every posting under the given global statistics, in bounded chunks."""
    indptr = postings.indptr
    out = np.empty(len(postings.doc_ids), dtype=np.float32)
    if not len(out):
        return out
    df = np.diff(indptr)
    idf = lucene_idf_array(n_docs, df)
    avgdl = total_len / n_docs
    norm = params.k1 * (1 - params.b + params.b * postings.doc_len.astype(np.float64) / avgdl)
    term = 0
    while term < len(df):
        end = int(np.searchsorted(indptr, indptr[term] + CHUNK, side="right")) - 1
        end = max(end, term + 1)
        lo, hi = int(indptr[term]), int(indptr[end])
        tf = postings.tfs[lo:hi].astype(np.float64)
        weight = np.repeat(idf[term:end], df[term:end])
        # The operations of rank-bm25's BM25Okapi.get_scores, in its order.
        out[lo:hi] = weight * (tf * (params.k1 + 1) / (tf + norm[postings.doc_ids[lo:hi]]))
        term = end
    return out


def _blocks(indptr: Int64s, impacts: Float32s, block: int) -> tuple[Float32s, Int64s, Float32s]:
    """Block maxima, each term's first block, and term maxima."""
    df = np.diff(indptr)
    n_blocks = (df + block - 1) // block
    block_ptr = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(n_blocks, out=block_ptr[1:])
    if not len(impacts):
        return np.zeros(0, dtype=np.float32), block_ptr, np.zeros(len(df), dtype=np.float32)
    within = np.arange(int(block_ptr[-1]), dtype=np.int64) - np.repeat(block_ptr[:-1], n_blocks)
    starts = np.repeat(indptr[:-1], n_blocks) + within * block
    block_max = np.maximum.reduceat(impacts, starts)
    return block_max, block_ptr, np.maximum.reduceat(block_max, block_ptr[:-1])


def _vocab(terms: list[bytes]) -> Vocab:
    offsets = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in terms], out=offsets[1:])
    blob = np.frombuffer(b"".join(terms), dtype=np.uint8).copy()
    prefix = np.array([t[:PREFIX_BYTES] for t in terms], dtype=f"S{PREFIX_BYTES}")
    return prefix, blob, offsets


class InvertedIndex:
    """A BM25 index over analyzed passages (ids 0..N-1) that ranks exactly as `LuceneBM25.top_k`.

    Immutable once built; queries may run from several threads (each gets its own scratch arrays).
    """

    files: ClassVar[list[str]] = [_META, *(_file(name) for name in _ARRAYS)]
    # Query tuning (tests shrink these to drive every path on small corpora).
    exhaustive_postings: ClassVar[int] = 12_000  # below this many postings per query, no pruning
    short_postings: ClassVar[int] = 4_096  # lists this short (or N/256) are summed in full first
    dense_fraction: ClassVar[int] = 8  # past N/8 summed postings, scan the dense array for candidates
    batch_tokens: ClassVar[int] = CHUNK  # tokens counted per batch while building

    def __init__(
        self, arrays: dict[str, npt.NDArray[Any]], n_docs: int, total_len: int, params: BM25Params, block: int
    ) -> None:
        self.params = params
        self._n_docs = n_docs
        self._total_len = total_len
        self._block = block
        self._arrays = arrays
        self._doc_ids: Int32s = arrays["doc_ids"]
        self._impacts: Float32s = arrays["impacts"]
        self._indptr: Int64s = arrays["indptr"]
        self._block_max: Float32s = arrays["block_max"]
        self._block_ptr: Int64s = arrays["block_ptr"]
        self._term_max: Float32s = arrays["term_max"]
        self._prefix: npt.NDArray[np.bytes_] = arrays["vocab_prefix"]
        self._blob: npt.NDArray[np.uint8] = arrays["vocab_blob"]
        self._offsets: Int64s = arrays["vocab_offsets"]
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
        return cls._from_postings(_count(docs, 0, progress, cls.batch_tokens), params, block)

    @classmethod
    def _from_postings(
        cls, postings: _Postings, params: BM25Params, block: int, vocab: Vocab | None = None
    ) -> InvertedIndex:
        n_docs = len(postings.doc_len)
        total_len = int(postings.doc_len.sum(dtype=np.int64))
        impacts = _impacts(postings, n_docs, total_len, params)
        block_max, block_ptr, term_max = _blocks(postings.indptr, impacts, block)
        prefix, blob, offsets = vocab if vocab is not None else _vocab(postings.terms)
        arrays: dict[str, npt.NDArray[Any]] = {
            "doc_ids": postings.doc_ids,
            "impacts": impacts,
            "tfs": postings.tfs,
            "indptr": postings.indptr,
            "doc_len": postings.doc_len,
            "block_max": block_max,
            "block_ptr": block_ptr,
            "term_max": term_max,
            "vocab_prefix": prefix,
            "vocab_blob": blob,
            "vocab_offsets": offsets,
        }
        log.debug("indexed %d passages: %d terms, %d postings", n_docs, len(term_max), len(impacts))
        return cls(arrays, n_docs, total_len, params, block)

    def extend(
        self, docs: Iterable[Sequence[str]], progress: Callable[[int], None] | None = None
    ) -> InvertedIndex:
        """A new index: this one's passages followed by `docs`, whose ids continue from `n_docs`.

        It ranks exactly as a full build of all the passages would. No product path calls it yet: it is
        kept for updating an index with new articles without a full rebuild.
        """
        new = _count(docs, self._n_docs, progress, self.batch_tokens)
        if not len(new.doc_len):
            return self
        old_terms = self.n_terms
        # Each new term's id in the old vocabulary if it has one, else where it would be inserted.
        located = [self._locate(term) for term in new.terms]
        position = np.array([pos for pos, _ in located], dtype=np.int64)
        known = np.array([found for _, found in located], dtype=bool)
        added = position[~known]
        added_terms = [term for term, (_, found) in zip(new.terms, located, strict=True) if not found]
        # Merged ids: an old term moves up by the number of added terms inserted at or before it.
        shift = np.searchsorted(added, np.arange(old_terms), side="right")
        old_to_merged = np.arange(old_terms, dtype=np.int64) + shift
        new_to_merged = np.empty(len(new.terms), dtype=np.int64)
        new_to_merged[known] = old_to_merged[position[known]]
        new_to_merged[~known] = added + np.arange(len(added))
        df = np.zeros(old_terms + len(added), dtype=np.int64)
        df[old_to_merged] = np.diff(self._indptr)
        new_df = np.diff(new.indptr)
        df[new_to_merged] += new_df
        indptr = np.zeros(len(df) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        # New postings go after the old postings of their term (their passage ids are larger).
        at = np.where(known, self._indptr[np.minimum(position + 1, old_terms)], self._indptr[position])
        at = np.repeat(at, new_df)
        doc_ids = np.insert(np.asarray(self._doc_ids), at, new.doc_ids)
        tf_type = np.promote_types(self._arrays["tfs"].dtype, new.tfs.dtype)
        tfs = np.insert(np.asarray(self._arrays["tfs"], dtype=tf_type), at, new.tfs.astype(tf_type))
        doc_len = np.concatenate([self._arrays["doc_len"], new.doc_len])
        merged = _Postings([], indptr, doc_ids, tfs, doc_len)
        return self._from_postings(merged, self.params, self._block, self._insert_terms(added, added_terms))

    def _insert_terms(self, at: Int64s, terms: list[bytes]) -> Vocab:
        new_prefix = np.array([t[:PREFIX_BYTES] for t in terms], dtype=self._prefix.dtype)
        prefix = np.insert(np.asarray(self._prefix), at, new_prefix)
        new_sizes = np.array([len(t) for t in terms], dtype=np.int64)
        sizes = np.insert(np.diff(self._offsets), at, new_sizes)
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        raw = np.frombuffer(b"".join(terms), dtype=np.uint8)
        blob = np.insert(np.asarray(self._blob), np.repeat(self._offsets[at], new_sizes), raw)
        return prefix, blob, offsets

    # ---- persistence -----------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write the index's `files` into the existing `directory`."""
        for name in _ARRAYS:
            np.save(directory / _file(name), self._arrays[name], allow_pickle=False)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "n_docs": self._n_docs,
            "total_len": self._total_len,
            "n_terms": self.n_terms,
            "n_postings": len(self._doc_ids),
            "k1": self.params.k1,
            "b": self.params.b,
            "block": self._block,
            "prefix_bytes": PREFIX_BYTES,
        }
        (directory / _META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> InvertedIndex:
        """Open an index written by `save`; its arrays are memory-mapped, not read.

        Raises:
            IndexFormatError: the files are of another format or version, or do not fit together.
        """
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
        if (meta.get("format"), meta.get("version"), meta.get("prefix_bytes")) != (
            FORMAT,
            VERSION,
            PREFIX_BYTES,
        ):
            raise IndexFormatError(f"the inverted index in {directory} is of another version; rebuild it")
        arrays = {
            name: np.load(directory / _file(name), mmap_mode="r", allow_pickle=False) for name in _ARRAYS
        }
        arrays = {
            name: np.asarray(array) for name, array in arrays.items()
        }  # plain views: no memmap overhead
        n_terms, n_postings, n_docs = meta["n_terms"], meta["n_postings"], meta["n_docs"]
        expected = {
            "doc_ids": n_postings,
            "impacts": n_postings,
            "tfs": n_postings,
            "indptr": n_terms + 1,
            "doc_len": n_docs,
            "block_ptr": n_terms + 1,
            "term_max": n_terms,
            "vocab_prefix": n_terms,
            "vocab_offsets": n_terms + 1,
        }
        if any(
            array.ndim != 1 or array.dtype.kind != _KINDS.get(name, "i") for name, array in arrays.items()
        ):
            raise IndexFormatError(
                f"the inverted index in {directory} has arrays of the wrong type; rebuild it"
            )
        if any(len(arrays[name]) != size for name, size in expected.items()):
            raise IndexFormatError(f"the inverted index in {directory} is incomplete; rebuild it")
        return cls(arrays, n_docs, meta["total_len"], BM25Params(meta["k1"], meta["b"]), meta["block"])

    # ---- statistics ------------------------------------------------------------------------------

    @property
    def n_docs(self) -> int:
        return self._n_docs

    @property
    def n_terms(self) -> int:
        return len(self._indptr) - 1

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
        pos, found = self._locate(term.encode("utf-8"))
        return int(self._indptr[pos + 1] - self._indptr[pos]) if found else 0

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._locate(term.encode("utf-8"))[1]

    def terms(self) -> Iterator[str]:
        """Every indexed term, in sorted byte order."""
        blob, offsets = self._blob.tobytes(), self._offsets.tolist()
        for lo, hi in itertools.pairwise(offsets):
            yield blob[lo:hi].decode("utf-8")

    def _term_bytes(self, tid: int) -> bytes:
        return self._blob[int(self._offsets[tid]) : int(self._offsets[tid + 1])].tobytes()

    def _locate(self, key: bytes, lo: int | None = None) -> tuple[int, bool]:
        """(term id, True) if `key` is indexed, else (where it would be inserted, False)."""
        prefix = np.array(key[:PREFIX_BYTES], dtype=self._prefix.dtype)
        if lo is None:
            lo = int(np.searchsorted(self._prefix, prefix, side="left"))
        if len(key) < PREFIX_BYTES and b"\0" not in key:
            # No other term shares a short key's prefix except longer ones that sort after it.
            return lo, lo < self.n_terms and self._term_bytes(lo) == key
        hi = int(np.searchsorted(self._prefix, prefix, side="right"))
        while lo < hi:  # the few terms sharing the prefix, compared in full
            mid = (lo + hi) // 2
            if self._term_bytes(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo, lo < self.n_terms and self._term_bytes(lo) == key

    def _term_ids(self, terms: Sequence[str]) -> list[int]:
        """Ids of the distinct known terms, in query order."""
        keys = [term.encode("utf-8") for term in dict.fromkeys(terms)]
        if not keys or not self.n_terms:
            return []
        prefixes = np.array([key[:PREFIX_BYTES] for key in keys], dtype=self._prefix.dtype)
        starts = np.searchsorted(self._prefix, prefixes).tolist()
        found = (self._locate(key, lo) for key, lo in zip(keys, starts, strict=True))
        return [pos for pos, ok in found if ok]

    # ---- queries ---------------------------------------------------------------------------------

    def top_k(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Best `k` (passage id, score) pairs among passages sharing a term with the query.

        Same contract as `LuceneBM25.top_k`: terms are deduplicated, unknown terms ignored, order is
        score descending then passage id ascending.
        """
        if k <= 0:
            return []
        tids = self._term_ids(terms)
        if not tids:
            return []
        try:
            ids, scores = self._search(tids, k)
        except BaseException:
            self._local.__dict__.clear()  # the scratch arrays may hold partial sums: drop them
            raise
        if len(ids) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = np.flatnonzero(scores >= kth)
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[:k]
        return list(zip(ids[order].tolist(), scores[order].tolist(), strict=True))

    def _scratch(self) -> _Scratch:
        scratch: _Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _Scratch(self._n_docs)
        return scratch

    def _search(self, tids: list[int], k: int) -> tuple[npt.NDArray[np.integer[Any]], Floats]:
        """Distinct candidate passages, with exact scores, that include the top k."""
        tid_arr = np.array(tids, dtype=np.int64)
        spans = list(zip(self._indptr[tid_arr].tolist(), self._indptr[tid_arr + 1].tolist(), strict=True))
        if len(tids) == 1:
            pos = self._best_positions(tids[0], spans[0], k)
            return self._doc_ids[pos], self._impacts[pos].astype(np.float64)
        sizes = [e - s for s, e in spans]
        if sum(sizes) <= self.exhaustive_postings:
            return self._exhaustive(spans, k)
        return self._pruned(tids, spans, sizes, self._term_max[tid_arr].astype(np.float64).tolist(), k)

    def _blocks_of(self, tid: int) -> Float32s:
        return self._block_max[int(self._block_ptr[tid]) : int(self._block_ptr[tid + 1])]

    def _best_positions(self, tid: int, span: tuple[int, int], n: int) -> Int64s:
        """Positions, ascending, of a list's n best postings (and of any tied with the n-th)."""
        s, e = span
        block_max = self._blocks_of(tid)
        if len(block_max) > n:
            # The n best postings lie in the blocks whose maxima reach the n-th largest maximum.
            pos = self._positions(np.flatnonzero(block_max >= _kth(block_max, n)), s, e)
        else:
            pos = np.arange(s, e)
        if len(pos) <= n:
            return pos
        values = self._impacts[pos]
        return pos[values >= _kth(values, n)]

    def _exhaustive(self, spans: list[tuple[int, int]], k: int) -> tuple[Int32s, Floats]:
        scratch = self._scratch()
        ids = self._sum(scratch, [self._postings(span) for span in spans])
        sums = scratch.acc[ids]
        # A passage repeats once per matching term, so the (k * terms)-th best entry is a score at
        # least k distinct passages reach: nothing below it can place.
        cands = _sorted_unique(ids[sums >= _kth(sums, k * len(spans))])
        scores = scratch.acc[cands]
        scratch.acc[ids] = 0.0
        return cands, scores

    def _postings(self, span: tuple[int, int], tid: int = -1, floor: float = 0.0) -> tuple[Int32s, Float32s]:
        """Ids and impacts of a list's postings: all of them, or (`floor` > 0) those reaching `floor`."""
        s, e = span
        if floor <= 0:
            return self._doc_ids[s:e], self._impacts[s:e]
        block_max = self._blocks_of(tid)
        blocks = np.flatnonzero(block_max >= floor)
        if len(blocks) * 4 < len(block_max):  # few blocks reach it: gather just those
            pos = self._positions(blocks, s, e)
            pos = pos[self._impacts[pos] >= floor]
            return self._doc_ids[pos], self._impacts[pos]
        values = self._impacts[s:e]
        keep = np.flatnonzero(values >= floor)
        return self._doc_ids[s:e][keep], values[keep]

    def _sum(self, scratch: _Scratch, parts: list[tuple[Int32s, Float32s]]) -> Int32s:
        """Add the impacts to the scratch sums; returns the ids added to."""
        ids = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        values = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        np.add.at(scratch.acc, ids, scratch.float64(values))
        return ids

    def _lookup(self, span: tuple[int, int], cands: npt.NDArray[np.integer[Any]]) -> Float32s:
        """Impacts of the term owning `span` for the sorted passages `cands` (0 where absent)."""
        s, e = span
        ids = self._doc_ids[s:e]
        pos = ids.searchsorted(cands)
        np.minimum(pos, e - s - 1, out=pos)
        found = self._impacts[s:e].take(pos)
        found[ids.take(pos) != cands] = 0
        return found

    def _scatter_lookup(
        self, scratch: _Scratch, span: tuple[int, int], cands: npt.NDArray[np.integer[Any]]
    ) -> Float32s:
        """`_lookup` for many candidates: scatter the whole list into a zeroed array, read them back."""
        s, e = span
        ids, table = self._doc_ids[s:e], scratch.float32()
        table[ids] = self._impacts[s:e]
        found: Float32s = table[cands]
        table[ids] = 0
        return found

    def _positions(self, blocks: npt.NDArray[np.integer[Any]], start: int, end: int) -> Int64s:
        """Posting positions, ascending, in the given blocks of the list `start:end`."""
        pos = (start + blocks[:, None] * self._block + np.arange(self._block)).ravel()
        if len(blocks) and start + (int(blocks[-1]) + 1) * self._block > end:
            pos = pos[pos < end]
        return pos

    def _pruned(
        self, tids: list[int], spans: list[tuple[int, int]], sizes: list[int], ub: list[float], k: int
    ) -> tuple[npt.NDArray[np.integer[Any]], Floats]:
        scratch = self._scratch()
        acc = scratch.acc  # partial scores, zeroed again once the candidates are read out
        bound_all = sum(ub)
        # 1. The shortest lists come first: the best passages among them seed theta.
        short_size = max(self.short_postings, self._n_docs // 256)
        by_size = sorted(range(len(tids)), key=sizes.__getitem__)
        short = [by_size[0], *(i for i in by_size[1:] if sizes[i] <= short_size)]
        long = sorted((i for i in by_size if i not in short), key=ub.__getitem__)
        n_seeds = 2 * k + 32
        summed: Int32s | None = None  # ids whose acc entries hold partial scores
        if len(short) == 1:  # one list: its best postings are found by block
            pos = self._best_positions(tids[short[0]], spans[short[0]], n_seeds)
            seeds, partial = self._doc_ids[pos], self._impacts[pos].astype(np.float64)
        else:
            summed = self._sum(scratch, [self._postings(spans[i]) for i in short])
            sums = acc[summed]
            seeds = _sorted_unique(summed[sums >= _kth(sums, n_seeds * len(short))])
            partial = acc[seeds]
        # 2. theta, a lower bound on the k-th best score: the k-th best of the seeds' partial
        # scores, or of their full (exact) scores when the long lists might matter.
        theta = _kth(partial, k)
        if long and theta and sum(ub[i] for i in long) >= theta:
            for i in long:
                partial = partial + self._lookup(spans[i], seeds)
            theta = max(theta, _kth(partial, k))
        elif not theta:  # fewer than k seeds: k distinct passages reach any list's k-th best block
            theta = max([_kth(self._blocks_of(tids[i]), k) for i in long], default=0.0)
        cut = theta * (1 - MARGIN)
        # 3. MaxScore: the long lists whose maxima sum below theta cannot place a passage on their
        # own; they are "lazy", looked up only for candidates from the other lists.
        lazy: list[int] = []
        lazy_bound = 0.0
        for i in long:
            if lazy_bound + ub[i] >= cut:
                break
            lazy.append(i)
            lazy_bound += ub[i]
        # 4. Sum the other lists, less the blocks and postings that cannot reach theta: a passage
        # places only if its impact in a list reaches theta less every other list's maximum.
        eager = long[len(lazy) :]
        if eager:
            more = short if summed is None else []
            parts = [self._postings(spans[i], tids[i], cut - (bound_all - ub[i])) for i in eager + more]
            added = self._sum(scratch, parts)
            summed = added if summed is None else np.concatenate([summed, added])
        # 5. Candidates: passages whose partial score plus the lazy maxima can still reach theta.
        floor = max(cut - lazy_bound, TINY)
        cands: npt.NDArray[np.integer[Any]]
        if summed is None:  # one short list and every long list lazy: filter that list
            cands, values = self._postings(spans[short[0]], tids[short[0]], floor)
            partial = values.astype(np.float64)
        elif len(summed) * self.dense_fraction > self._n_docs:
            # Most passages touched: scanning the array beats sorting the touched ids.
            cands = np.flatnonzero(np.greater_equal(acc, floor, out=scratch.mask()))
            partial = acc[cands]
            acc.fill(0.0)
        else:
            cands = _sorted_unique(summed[acc[summed] >= floor])
            partial = acc[cands]
            acc[summed] = 0.0
        if lazy and eager and len(cands) > 4 * n_seeds:
            # The eager lists brought new passages: complete the best to raise theta.
            best = np.flatnonzero(partial >= scratch.kth(partial, n_seeds))
            full = partial[best]
            for i in lazy:
                full = full + self._lookup(spans[i], cands[best])
            cut = max(cut, _kth(full, k) * (1 - MARGIN))
        # 6. Complete the candidates from the lazy lists, highest maximum first, pruning as theta
        # rises.
        remaining = lazy_bound
        for i in reversed(lazy):
            if len(cands) > k:
                cut = max(cut, scratch.kth(partial, k) * (1 - MARGIN))
                keep = np.flatnonzero(partial >= cut - remaining)
                if len(keep) < len(cands):
                    cands, partial = cands[keep], partial[keep]
            if len(cands) * 16 > sizes[i]:
                partial = partial + self._scatter_lookup(scratch, spans[i], cands)
            else:
                partial = partial + self._lookup(spans[i], cands)
            remaining -= ub[i]
        return cands, partial


class _Scratch:
    """One thread's work arrays, reused across queries: fresh large arrays cost page faults."""

    def __init__(self, n_docs: int) -> None:
        self.acc = np.zeros(n_docs, dtype=np.float64)  # zero between queries
        self._table = np.zeros(0, dtype=np.float32)  # zero between uses
        self._float64 = np.empty(0, dtype=np.float64)
        self._mask = np.empty(0, dtype=bool)

    def float64(self, values: Float32s | Floats) -> Floats:
        """`values` as float64, in a buffer that the next call reuses."""
        if len(self._float64) < len(values):
            self._float64 = np.empty(max(len(values), 2 * len(self._float64)), dtype=np.float64)
        out = self._float64[: len(values)]
        np.copyto(out, values)
        return out

    def float32(self) -> Float32s:
        """A zeroed float32 array over the passages; whoever writes to it zeroes it again."""
        if not len(self._table):
            self._table = np.zeros(len(self.acc), dtype=np.float32)
        return self._table

    def kth(self, values: Floats, k: int) -> float:
        """The k-th largest of at least k values, without allocating: partitions a reused copy."""
        n = len(values)
        copy = self.float64(values)
        copy.partition(n - k)
        return float(copy[n - k])

    def mask(self) -> npt.NDArray[np.bool_]:
        """A boolean array over the passages."""
        if not len(self._mask):
            self._mask = np.empty(len(self.acc), dtype=bool)
        return self._mask


def _kth(values: Floats | Float32s, k: int) -> float:
    """The k-th largest value, or 0 if there are fewer than k."""
    n = len(values)
    return float(np.partition(values, n - k)[n - k]) if n >= k else 0.0


def _sorted_unique(ids: Int32s) -> Int32s:
    ids = np.sort(ids)
    keep = np.empty(len(ids), dtype=bool)
    keep[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=keep[1:])
    return ids[keep]
