"""Counting the inverted index's postings: every (term, passage) pair and its term frequency.

Postings keep term frequencies and passage lengths only; BM25 impacts depend on corpus-wide
statistics that every update changes, so they are computed when a query reads a term (`engine`).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import Int32s, Int64s, UInts

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
