"""The worker side of a parallel build: read, clean, chunk and analyze batches of a corpus."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .analyzer import Analyzer, AnalyzerConfig, NumberedWords
from .chunker import ChunkingConfig, chunk_with_sentences
from .corpusfiles import SkipFile
from .loader import (
    SkippedFile,
    jsonl_article,
    read_file,
)
from .models import Article, Chunk
from .passage_analysis import AnalysisBatch, AnalysisCollector, analyze_numbers

# Files and records are reported under the reader's name, whichever process read them.
log = logging.getLogger(read_file.__module__)


# What is sent between the processes is plain tuples, which pickle several times faster than frozen
# dataclasses (pickled object by object with their field names) and take half the bytes.
# An article: its fields in the order of `Article`'s.
ArticleFields = tuple[str, str, str, str | None, str | None, dt.date | None, str | None, str | None]
# One article and its passages as flat `start, end, start, end...` offsets into its text (sent once).
Analyzed = tuple[ArticleFields, tuple[int, ...]]
# A JSON Lines record: (line number, the article or None, why the line was skipped, whether it was read
# as Windows-1252, the notes about it).
LineResult = tuple[int, Analyzed | None, str, bool, tuple[str, ...]]


def article_fields(article: Article) -> ArticleFields:
    a = article
    return (a.doc_id, a.title, a.text, a.publisher, a.url, a.date, a.author, a.path)


def passages(article: Article, spans: tuple[int, ...]) -> Iterator[Chunk]:
    """The passages of `article` (whose id may have changed since) at the flat `spans`."""
    doc_id, text = article.doc_id, article.text
    for n in range(len(spans) // 2):
        start, end = spans[2 * n], spans[2 * n + 1]
        yield Chunk(f"{doc_id}#{n}", doc_id, n, text[start:end], start, end)


@dataclass(frozen=True, slots=True)
class BatchTerms:
    """The index terms of a batch's passages (title terms first), in order: passage i has the next
    `lengths[i]` entries of `ids`, which number the words of worker `worker`. Its words so far are
    numbered from 0; `new_words` are those it met first in this batch, numbered from `first_new`. Compact
    to send between processes, and the main process looks up each word once per worker, not every token.
    """

    worker: int
    first_new: int
    new_words: list[str]
    ids: bytes  # int32
    lengths: bytes  # int32
    analysis: AnalysisBatch  # the passages' analyses and the articles' titles, words numbered alike


class _Words(dict[str, int]):
    """Numbers words in order of first appearance, and remembers the new ones."""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[str] = []

    def __missing__(self, word: str) -> int:
        self[word] = number = len(self)
        self.new.append(word)
        return number


@dataclass(frozen=True, slots=True)
class FileResult:
    """What a worker made of one corpus file: its articles, what was skipped, and what it logged."""

    articles: list[Analyzed]
    skipped: list[SkippedFile]
    logs: list[logging.LogRecord]


@dataclass(frozen=True, slots=True)
class FilesResult:
    """What a worker made of a batch of files."""

    files: list[FileResult]
    terms: BatchTerms


@dataclass(frozen=True, slots=True)
class LinesResult:
    """What a worker made of a batch of records of the JSON Lines file `rel`."""

    rel: str
    lines: list[LineResult]
    logs: list[logging.LogRecord]
    terms: BatchTerms


@dataclass(frozen=True, slots=True)
class LineBatch:
    """A batch of JSON Lines records: `(number, raw line)`, or `(number, None)` for a line read as
    skipped (`reasons` says why) that must keep its place among the others."""

    rel: str
    lines: list[tuple[int, bytes | None]]
    reasons: dict[int, str]


_worker: _Worker | None = None


class _Worker:
    """The per-process state of a worker: its own Analyzer, and the log records of the current batch."""

    def __init__(self, analyzer: AnalyzerConfig, chunking: ChunkingConfig, root: Path | None) -> None:
        self.analyzer = Analyzer(analyzer)
        self.chunking = chunking
        self.root = root
        self.logs: list[logging.LogRecord] = []
        self.words = _Words()
        # Each word's term numbers: one lookup per word, where numbering the terms took one per term more.
        self.numbered = NumberedWords(self.analyzer, self.words.__getitem__)
        self.first_new = 0
        self.ids = array("i")
        self.lengths = array("i")
        self.analysis = AnalysisCollector(self.words)

    def analyze(self, article: Article) -> Analyzed:
        chunks, sentences = chunk_with_sentences(article, self.chunking)
        if chunks:  # an article without passages is not kept (ParallelCorpus._add)
            title = self.numbered.numbers(article.title)
            self.analysis.add_title(title)
        for chunk, carried in zip(chunks, sentences, strict=True):
            # The passage's terms are its index terms, after its title's (`passage_analysis.analyze`).
            ids, spans, counts = analyze_numbers(self.numbered, chunk.text, carried)
            self.analysis.add_passage(ids, spans, counts)
            self.ids.fromlist(title + ids)
            self.lengths.append(len(title) + len(ids))
        offsets = tuple(offset for chunk in chunks for offset in (chunk.start, chunk.end))
        return article_fields(article), offsets

    def start_batch(self) -> None:
        self.logs = []
        self.first_new, self.words.new = len(self.words), []
        self.ids, self.lengths = array("i"), array("i")
        self.analysis.clear()

    def batch_terms(self) -> BatchTerms:
        ids, lengths = self.ids.tobytes(), self.lengths.tobytes()
        return BatchTerms(os.getpid(), self.first_new, self.words.new, ids, lengths, self.analysis.batch())


class _Capture(logging.Handler):
    """Keeps a worker's log records for the main process, which logs them in corpus order."""

    def emit(self, record: logging.LogRecord) -> None:
        assert _worker is not None
        record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
        _worker.logs.append(record)


def start_worker(analyzer: AnalyzerConfig, chunking: ChunkingConfig, root: Path | None, level: int) -> None:
    global _worker
    # Ctrl-C reaches the whole process group: the main process alone decides to stop the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = _Worker(analyzer, chunking, root)
    logging.root.handlers[:] = [_Capture()]
    logging.root.setLevel(level)


def read_files(files: list[tuple[Path, str]]) -> FilesResult:
    assert _worker is not None
    _worker.start_batch()
    results = []
    for path, rel in files:
        skipped: list[SkippedFile] = []
        articles: list[Analyzed] = []
        _worker.logs = []
        try:
            for article in read_file(path, _worker.root, rel, skipped):
                articles.append(_worker.analyze(article))
        except SkipFile as skip:
            log.warning("skipped %s: %s", rel, skip)
            skipped.append(SkippedFile(rel, str(skip)))
        results.append(FileResult(articles, skipped, _worker.logs))
    return FilesResult(results, _worker.batch_terms())


def read_lines(batch: LineBatch) -> LinesResult:
    assert _worker is not None
    _worker.start_batch()
    results: list[LineResult] = []
    for number, raw in batch.lines:
        if raw is None:
            results.append((number, None, batch.reasons[number], False, ()))
            continue
        notes: list[str] = []
        try:
            article, legacy = jsonl_article(raw, number, batch.rel, notes.append)
        except SkipFile as skip:
            results.append((number, None, str(skip), False, tuple(notes)))
            continue
        results.append((number, _worker.analyze(article), "", legacy, tuple(notes)))
    return LinesResult(batch.rel, results, _worker.logs, _worker.batch_terms())
