"""Each passage's analysis and each article's title terms, stored per segment so answers read arrays.

The rerank needs, for every candidate passage, its analyzed terms, the sentence each term sits in and
the sentences' character spans (`rerank.analyze_passage`), and its article's title terms. A build
computes them once, in its worker processes, and stores them beside the segment's other files as flat
arrays: term ids into the segment's own vocabulary (every one of them is an index term of the passage),
the terms of each sentence, and the spans. Files carry the segment's name, so updates hard-link them
unchanged like the postings; opening memory-maps them.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .analyzer import Analyzer, NumberedWords
from .chunker import sentence_spans
from .errors import IndexFormatError
from .inverted.arrays import Int32s, Int64s
from .inverted.segment import file_name
from .inverted.vocabulary import PREFIX_BYTES, Vocabulary
from .manifest import REBUILD_HINT
from .models import Article, Chunk
from .rerank import PassageTerms, analyze_passage

# term ids, sentence offsets (per passage), term offsets (per sentence), spans (start, end per sentence),
# title term ids, title offsets (per article)
ARRAYS = ("pa_terms", "pa_sentences", "pa_term_ptr", "pa_spans", "title_terms", "title_ptr")
DECODE_BATCH = 1 << 16  # terms decoded together by `prefetch`: bounds its temporary arrays
SEPARATOR = 0  # no term holds a NUL (a term may hold a space: NFKC turns some ligatures into words)


def analysis_files(segment: str) -> list[str]:
    """The names of the stored-analysis files of `segment`."""
    return [file_name(segment, name) for name in ARRAYS]


def analyze(analyzer: Analyzer, text: str) -> tuple[list[str], list[tuple[int, int]], list[int]]:
    """`rerank.analyze_passage(analyzer, text)` as flat lists: the terms, the sentences' spans and the
    number of terms of each sentence. The terms are also the passage's index terms: sentences are cut
    at whitespace, and no token holds or looks at whitespace (`Analyzer.tokens`)."""
    found = analyze_passage(analyzer, text)
    counts = [0] * len(found.sentences)
    for sentence in found.sentence_of:
        counts[sentence] += 1
    return list(found.terms), list(found.sentences), counts


def analyze_numbers(
    words: NumberedWords, text: str, sentences: list[tuple[int, int]] | None = None
) -> tuple[list[int], list[tuple[int, int]], list[int]]:
    """`analyze` with the terms numbered by `words`, each word looked up once; `sentences` are the spans
    `sentence_spans(text)` gives, when the caller has them already."""
    if sentences is None:
        sentences = sentence_spans(text) or [(0, len(text))]
    if text.isascii():  # lowered once for all its sentences, as `Analyzer.tokens` lowers each
        text, numbers = text.lower(), words.lowered_numbers
    else:
        numbers = words.numbers
    ids: list[int] = []
    counts: list[int] = []
    for start, end in sentences:
        found = numbers(text[start:end])
        ids += found
        counts.append(len(found))
    return ids, sentences, counts


def index_terms(
    analyzer: Analyzer, articles: Sequence[Article], chunks: Sequence[Chunk], collector: AnalysisCollector
) -> Iterator[list[str]]:
    """Each passage's index terms, as every build makes them: its article's title terms, then its own;
    `collector` gathers the articles' titles and the passages' analyses meanwhile."""
    titles = {article.doc_id: analyzer.tokens(article.title) for article in articles}
    for article in articles:
        collector.add_title(collector.number(titles[article.doc_id]))
    for chunk in chunks:
        terms, spans, counts = analyze(analyzer, chunk.text)
        collector.add_passage(collector.number(terms), spans, counts)
        yield titles[chunk.doc_id] + terms


class _Numbering(dict[str, int]):
    """Numbers words in order of first appearance."""

    def __missing__(self, word: str) -> int:
        self[word] = number = len(self)
        return number


@dataclass(frozen=True, slots=True)
class AnalysisBatch:
    """Analyses sent from a worker to the main process: term ids number the worker's words."""

    terms: bytes  # int32 each, below
    sentence_terms: bytes
    sentence_counts: bytes
    spans: bytes
    title_terms: bytes
    title_lengths: bytes


class AnalysisCollector:
    """Gathers the analyses of a segment's passages and its articles' titles, in order, with words
    numbered as they come (by `words`, or by a worker whose numbers `add_batch` maps)."""

    def __init__(self, words: dict[str, int] | None = None) -> None:
        self.words: dict[str, int] = _Numbering() if words is None else words
        self.clear()

    def clear(self) -> None:
        self.terms, self.sentence_terms, self.sentence_counts = array("i"), array("i"), array("i")
        self.spans, self.title_terms, self.title_lengths = array("i"), array("i"), array("i")

    def number(self, terms: Sequence[str]) -> list[int]:
        """The numbers of `terms` (new words get the next ones)."""
        return list(map(self.words.__getitem__, terms))

    def add_title(self, ids: list[int]) -> None:
        """The title terms (numbered) of the next article; every article of the segment has one."""
        self.title_terms.fromlist(ids)
        self.title_lengths.append(len(ids))

    def add_passage(self, ids: list[int], spans: Sequence[tuple[int, int]], counts: list[int]) -> None:
        """The analysis (terms numbered) of the next passage, as `analyze` gives it."""
        self.terms.fromlist(ids)
        self.sentence_terms.fromlist(counts)
        self.sentence_counts.append(len(spans))
        self.spans.fromlist(list(itertools.chain.from_iterable(spans)))

    def batch(self) -> AnalysisBatch:
        return AnalysisBatch(
            self.terms.tobytes(),
            self.sentence_terms.tobytes(),
            self.sentence_counts.tobytes(),
            self.spans.tobytes(),
            self.title_terms.tobytes(),
            self.title_lengths.tobytes(),
        )

    def add_batch(self, batch: AnalysisBatch, mapping: Int32s) -> None:
        """Take a worker's batch; `mapping` turns its word numbers into this collector's."""
        self.terms.frombytes(mapping[np.frombuffer(batch.terms, dtype=np.int32)].tobytes())
        self.title_terms.frombytes(mapping[np.frombuffer(batch.title_terms, dtype=np.int32)].tobytes())
        self.sentence_terms.frombytes(batch.sentence_terms)
        self.sentence_counts.frombytes(batch.sentence_counts)
        self.spans.frombytes(batch.spans)
        self.title_lengths.frombytes(batch.title_lengths)

    def save(self, folder: Path, segment: str, vocabulary: Vocabulary, counts: tuple[int, int]) -> list[str]:
        """Write the arrays of `segment` into `folder`, term ids into `vocabulary` (which holds every
        passage term collected); the names of the files written. `counts` are the segment's articles and
        passages, which the collector must hold.

        Raises:
            RuntimeError: the collector holds other counts, or a term that `vocabulary` lacks.
        """
        if counts != (len(self.title_lengths), len(self.sentence_counts)):
            raise RuntimeError(f"{counts} articles and passages indexed, but analyses of another number")
        lookup = _ids_in(vocabulary, list(self.words))
        terms = lookup[np.frombuffer(self.terms, dtype=np.int32)]
        if len(terms) and int(terms.min()) < 0:
            raise RuntimeError("a passage's term is missing from its segment's index")
        arrays: dict[str, npt.NDArray[Any]] = {
            "pa_terms": terms,
            "pa_sentences": _offsets(self.sentence_counts),
            "pa_term_ptr": _offsets(self.sentence_terms),
            "pa_spans": np.frombuffer(self.spans, dtype=np.int32),
            "title_terms": lookup[np.frombuffer(self.title_terms, dtype=np.int32)],
            "title_ptr": _offsets(self.title_lengths),
        }
        names = analysis_files(segment)
        for name, array_name in zip(names, ARRAYS, strict=True):
            np.save(folder / name, arrays[array_name], allow_pickle=False)
        return names


def _offsets(lengths: array[int]) -> Int64s:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(lengths, dtype=np.int32), out=offsets[1:])
    return offsets


def _ids_in(vocabulary: Vocabulary, words: list[str]) -> Int32s:
    """The vocabulary id of each of `words` (distinct), in their order; -1 for a word it lacks (the title
    word of an article without passages, if there ever is one)."""
    keys = [word.encode("utf-8") for word in words]
    if not keys or not len(vocabulary):
        return np.full(len(keys), -1, dtype=np.int32)
    prefixes = np.array([key[:PREFIX_BYTES] for key in keys], dtype=vocabulary.prefix.dtype)
    starts = np.searchsorted(vocabulary.prefix, prefixes)
    n_terms, offsets = len(vocabulary), vocabulary.offsets
    at = np.minimum(starts, max(n_terms - 1, 0))
    sizes = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    # A short key is the first term of its prefix, if it is a term: same prefix and same length.
    found = (
        (starts < n_terms) & (vocabulary.prefix[at] == prefixes) & (offsets[at + 1] - offsets[at] == sizes)
    )
    ids = np.where(found, starts, -1).astype(np.int32)
    for i in np.flatnonzero(sizes >= PREFIX_BYTES).tolist():  # the few long keys share their prefix
        lo, known = vocabulary.locate(keys[i], int(starts[i]))
        ids[i] = lo if known else -1
    for i, key in enumerate(keys):
        if b"\0" in key and len(key) < PREFIX_BYTES:  # a NUL reads as the prefix's padding
            lo, known = vocabulary.locate(key)
            ids[i] = lo if known else -1
    return ids


@dataclass(frozen=True, slots=True)
class StoredAnalysis:
    """The memory-mapped analyses of one segment's passages and titles."""

    terms: Int32s
    sentences: Int64s
    term_ptr: Int64s
    spans: Int32s
    title_terms: Int32s
    title_ptr: Int64s
    vocabulary: Vocabulary
    decoded: npt.NDArray[np.object_]  # each term's string once decoded, else None

    @classmethod
    def load(
        cls, folder: Path, segment: str, vocabulary: Vocabulary, passages: int, articles: int
    ) -> StoredAnalysis:
        """The analyses of `segment` (of `passages` passages, `articles` articles) in `folder`.

        Raises:
            IndexFormatError: the arrays are missing, of the wrong type, or do not fit together.
        """
        try:
            found = [
                np.asarray(np.load(folder / name, mmap_mode="r", allow_pickle=False))
                for name in analysis_files(segment)
            ]
        except (OSError, ValueError) as err:
            raise IndexFormatError(
                f"segment {segment} in {folder} lacks its passage analyses ({err}); rebuild it"
            ) from None
        terms, sentences, term_ptr, spans, title_terms, title_ptr = found
        decoded = np.full(len(vocabulary), None, dtype=object)
        stored = cls(terms, sentences, term_ptr, spans, title_terms, title_ptr, vocabulary, decoded)
        stored._check(segment, passages, articles)
        return stored

    def _check(self, segment: str, passages: int, articles: int) -> None:
        arrays: tuple[npt.NDArray[Any], ...] = (
            self.terms,
            self.sentences,
            self.term_ptr,
            self.spans,
            self.title_terms,
            self.title_ptr,
        )
        kinds = "iiiiii"
        n_sentences = len(self.term_ptr) - 1
        if (
            any(a.ndim != 1 or a.dtype.kind != kind for a, kind in zip(arrays, kinds, strict=True))
            or len(self.sentences) != passages + 1
            or len(self.title_ptr) != articles + 1
            or n_sentences < 0
            or len(self.spans) != 2 * n_sentences
            or int(self.sentences[-1]) != n_sentences
            or int(self.term_ptr[-1]) != len(self.terms)
            or int(self.title_ptr[-1]) != len(self.title_terms)
        ):
            raise IndexFormatError(f"the passage analyses of segment {segment} do not fit it; rebuild it")

    def prefetch(self) -> None:
        """Read the arrays' pages in and decode every term of the vocabulary, so that no question decodes
        one (about a second at a million passages; run it in a background thread)."""
        for stored in (self.terms, self.sentences, self.term_ptr, self.spans, self.title_terms):
            np.bitwise_or.reduce(stored.reshape(-1).view(np.uint8)[::4096])
        for start in range(0, len(self.vocabulary), DECODE_BATCH):
            wanted = list(range(start, min(start + DECODE_BATCH, len(self.vocabulary))))
            self.decoded[start : start + len(wanted)] = _decode(self.vocabulary, wanted)

    def passage(self, local: int) -> PassageTerms:
        """The analysis of the segment's passage `local`, as `rerank.analyze_passage` gives it.

        Raises:
            IndexFormatError: the stored analysis is damaged.
        """
        # Python lists rather than numpy calls: a passage has a few sentences and a hundred terms.
        first, last = self.sentences[local : local + 2].tolist()
        bounds = self.term_ptr[first : last + 1].tolist()
        sizes = [end - start for start, end in itertools.pairwise(bounds)]
        ids = self.terms[bounds[0] : bounds[-1]] if bounds else self.terms[:0]
        if last < first or (sizes and min(sizes) < 0) or (len(ids) and int(ids.min()) < 0):
            raise IndexFormatError(f"the stored analysis of passage {local} is damaged; {REBUILD_HINT}")
        flat = self.spans[2 * first : 2 * last].tolist()
        sentence_of = tuple(itertools.chain.from_iterable(map(itertools.repeat, range(len(sizes)), sizes)))
        return PassageTerms(self.strings(ids), sentence_of, tuple(zip(flat[::2], flat[1::2], strict=True)))

    def title(self, local: int) -> frozenset[str] | None:
        """The analyzed title terms of the segment's article `local` (None if one was not stored)."""
        ids = self.title_terms[int(self.title_ptr[local]) : int(self.title_ptr[local + 1])]
        return frozenset(self.strings(ids)) if not len(ids) or int(ids.min()) >= 0 else None

    def strings(self, ids: Int32s) -> tuple[str, ...]:
        """The terms of `ids`; those not decoded yet are decoded together, and kept."""
        try:
            terms = self.decoded[ids].tolist()
        except IndexError:
            raise IndexFormatError(
                f"a stored analysis names a term its segment lacks; {REBUILD_HINT}"
            ) from None
        if None in terms:
            # Two threads may both decode a term: they store the same string, harmlessly.
            wanted = sorted({tid for tid, term in zip(ids.tolist(), terms, strict=True) if term is None})
            self.decoded[wanted] = _decode(self.vocabulary, wanted)
            terms = self.decoded[ids].tolist()
        return tuple(terms)


def _decode(vocabulary: Vocabulary, ids: list[int]) -> list[str]:
    """The terms of `ids`, cut from the vocabulary's blob in one gather."""
    wanted = np.asarray(ids, dtype=np.int64)
    starts, ends = vocabulary.offsets[wanted], vocabulary.offsets[wanted + 1]
    lengths = ends - starts
    placed = np.cumsum(lengths + 1) - (lengths + 1)  # where each term goes in the joined bytes
    out = np.full(int(lengths.sum()) + len(ids), SEPARATOR, dtype=np.uint8)
    shift = np.repeat(starts - placed, lengths)
    positions = np.arange(len(shift), dtype=np.int64) + np.repeat(
        placed - (np.cumsum(lengths) - lengths), lengths
    )
    out[positions] = vocabulary.blob[positions + shift]
    terms = out[:-1].tobytes().decode("utf-8").split(chr(SEPARATOR))
    if len(terms) != len(ids):  # cannot happen with terms of the analyzer; exact all the same
        return [vocabulary.term_bytes(tid).decode("utf-8") for tid in ids]
    return terms
