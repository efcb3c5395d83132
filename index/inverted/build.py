"""Building the inverted index's postings: counting terms, BM25 impacts, block maxima, growth.

Impacts are `idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))`, computed in float64
exactly as rank-bm25 does and stored as float32.

Growth. Impacts depend on N, avgdl and df, which every added passage changes. Growing an index
therefore inserts the new postings into the sorted arrays (`merge`) and recomputes every impact from
the stored term frequencies and passage lengths in one vectorised pass: O(postings) numpy work
(seconds at a million passages) instead of the O(tokens) Python work of a full build, and the result
is identical to a full build. Keeping old segments with stale impacts would make growth cheaper but
the ranking inexact; computing impacts from tf at query time would keep it exact but slow every query.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..bm25 import BM25Params, lucene_idf_array
from .arrays import Float32s, Int32s, Int64s, UInts
from .vocabulary import Vocabulary

CHUNK = 1 << 20  # tokens (or postings) per vectorised batch while building: bounds the temporaries
PROGRESS_EVERY = 1 << 13  # passages between progress calls


@dataclass(frozen=True, slots=True)
class Postings:
    """Term-major postings with term frequencies (no impacts yet), terms in sorted byte order."""

    terms: list[bytes]
    indptr: Int64s
    doc_ids: Int32s
    tfs: UInts
    doc_len: Int32s


@dataclass(frozen=True, slots=True)
class Batch:
    """Distinct (term, passage) pairs of some passages, by term then passage; terms run-length coded."""

    run_terms: Int32s  # build-order term id of each run
    run_lengths: Int64s
    doc_ids: Int32s
    counts: UInts


def count(
    docs: Iterable[Sequence[str]], first_doc: int, progress: Callable[[int], None] | None, batch: int
) -> Postings:
    """Map every token to an id in one pass over `docs`, then count (term, passage) pairs with numpy."""
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__  # an unseen term gets the next id
    get = vocab.__getitem__
    tokens = array("i")
    lengths = array("i")
    batches: list[Batch] = []
    batch_start = n_docs = 0
    for doc in docs:
        tokens.fromlist(list(map(get, doc)))
        lengths.append(len(doc))
        n_docs += 1
        if len(tokens) >= batch:
            batches.append(pairs(tokens, lengths, batch_start, first_doc))
            tokens = array("i")
            batch_start = n_docs
        if progress is not None and n_docs % PROGRESS_EVERY == 0:
            progress(n_docs)
    if len(tokens):
        batches.append(pairs(tokens, lengths, batch_start, first_doc))
    if progress is not None:
        progress(n_docs)
    return assemble(list(vocab), batches, np.array(lengths, dtype=np.int32))


def pairs(tokens: array[int], lengths: array[int], start: int, first_doc: int) -> Batch:
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
    return Batch(
        run_terms=terms[runs],
        run_lengths=np.diff(runs, append=len(terms)),
        doc_ids=keys.astype(np.int32),  # the low 32 bits
        counts=counts.astype(np.min_scalar_type(int(counts.max()))),
    )


def assemble(terms: list[str], batches: list[Batch], doc_len: Int32s) -> Postings:
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
    return Postings([encoded[i] for i in order], indptr, doc_ids, tfs, doc_len)


def impacts(postings: Postings, n_docs: int, total_len: int, params: BM25Params) -> Float32s:
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


def blocks(indptr: Int64s, impacts: Float32s, block: int) -> tuple[Float32s, Int64s, Float32s]:
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


def merge(old: Postings, vocabulary: Vocabulary, new: Postings) -> tuple[Postings, Vocabulary]:
    """`old` postings followed by `new` ones (whose passage ids continue `old`'s), and the merged terms.

    The merged postings carry no term list: the merged vocabulary holds the terms.
    """
    old_terms = len(vocabulary)
    # Each new term's id in the old vocabulary if it has one, else where it would be inserted.
    located = [vocabulary.locate(term) for term in new.terms]
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
    df[old_to_merged] = np.diff(old.indptr)
    new_df = np.diff(new.indptr)
    df[new_to_merged] += new_df
    indptr = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    # New postings go after the old postings of their term (their passage ids are larger).
    at = np.where(known, old.indptr[np.minimum(position + 1, old_terms)], old.indptr[position])
    at = np.repeat(at, new_df)
    doc_ids = np.insert(np.asarray(old.doc_ids), at, new.doc_ids)
    tf_type = np.promote_types(old.tfs.dtype, new.tfs.dtype)
    tfs = np.insert(np.asarray(old.tfs, dtype=tf_type), at, new.tfs.astype(tf_type))
    doc_len = np.concatenate([old.doc_len, new.doc_len])
    merged = Postings([], indptr, doc_ids, tfs, doc_len)
    return merged, vocabulary.insert(added, added_terms)
