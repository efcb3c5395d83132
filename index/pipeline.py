"""Read, clean, chunk and analyze a corpus in worker processes, merged back in corpus order."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path

import numpy as np

from .analyzer import Analyzer, AnalyzerConfig
from .bm25 import BM25Params
from .chunker import ChunkingConfig, chunk_article
from .corpusfiles import SkipFile, corpus_root, list_corpus, open_file
from .inverted import InvertedIndex
from .inverted.arrays import BLOCK
from .inverted.build import Batch, Postings, assemble, pairs
from .inverted.vocabulary import Vocabulary
from .loader import (
    JsonRecords,
    SkippedFile,
    drop_emptied,
    empty_corpus_error,
    jsonl_article,
    numbered_lines,
    read_file,
    relative_name,
    skip_unlisted,
)
from .models import Article, Chunk

# Files and records are reported under the reader's name, whichever process read them.
log = logging.getLogger(read_file.__module__)

# Below this many corpus bytes (about 200 news articles) the build stays in process: starting the
# workers would take longer than the work.
MIN_PARALLEL_BYTES = 1 << 20
# A batch sent to a worker: enough work to dwarf the cost of sending it, small enough to keep every
# worker busy and memory bounded (at most `IN_FLIGHT_PER_WORKER` batches per worker are in flight).
BATCH_BYTES = 256 * 1024
BATCH_FILES = 64
IN_FLIGHT_PER_WORKER = 3

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Analyzed:
    """One article and its passages as `(start, end)` offsets into its text (the text is sent once)."""

    article: Article
    spans: tuple[tuple[int, int], ...]

    def chunks(self, doc_id: str) -> Iterator[Chunk]:
        text = self.article.text
        for n, (start, end) in enumerate(self.spans):
            yield Chunk(f"{doc_id}#{n}", doc_id, n, text[start:end], start, end)


@dataclass(frozen=True, slots=True)
class BatchTerms:
    """The index terms of a batch's passages (title terms first), in order: passage i has the next
    `lengths[i]` entries of `ids`, which number the batch's own `words`. Compact to send between
    processes, and the main process maps each distinct word once, not every token."""

    words: list[str]
    ids: bytes  # int32
    lengths: bytes  # int32


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
class LineResult:
    """What a worker made of one JSON Lines record: an article, or why the line was skipped."""

    number: int
    analyzed: Analyzed | None
    skip_reason: str
    legacy: bool
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinesResult:
    """What a worker made of a batch of records of the JSON Lines file `rel`."""

    rel: str
    lines: list[LineResult]
    logs: list[logging.LogRecord]
    terms: BatchTerms


@dataclass(frozen=True, slots=True)
class _Lines:
    """A batch of JSON Lines records: `(number, raw line)`, or `(number, None)` for a line read as
    skipped (`reasons` says why) that must keep its place among the others."""

    rel: str
    lines: list[tuple[int, bytes | None]]
    reasons: dict[int, str]


# ------------------------------------------------------------------------------------- worker side

_worker: _Worker | None = None


class _Worker:
    """The per-process state of a worker: its own Analyzer, and the log records of the current batch."""

    def __init__(self, analyzer: AnalyzerConfig, chunking: ChunkingConfig, root: Path | None) -> None:
        self.analyzer = Analyzer(analyzer)
        self.chunking = chunking
        self.root = root
        self.logs: list[logging.LogRecord] = []
        self.words: defaultdict[str, int] = defaultdict()
        self.ids = array("i")
        self.lengths = array("i")

    def analyze(self, article: Article) -> Analyzed:
        chunks = chunk_article(article, self.chunking)
        title = self.analyzer.tokens(article.title)
        number = self.words.__getitem__
        for chunk in chunks:
            terms = title + self.analyzer.tokens(chunk.text)
            self.ids.fromlist(list(map(number, terms)))
            self.lengths.append(len(terms))
        return Analyzed(article, tuple((chunk.start, chunk.end) for chunk in chunks))

    def start_batch(self) -> None:
        self.logs = []
        self.words = defaultdict()
        self.words.default_factory = self.words.__len__  # a new word gets the next number
        self.ids, self.lengths = array("i"), array("i")

    def batch_terms(self) -> BatchTerms:
        return BatchTerms(list(self.words), self.ids.tobytes(), self.lengths.tobytes())


class _Capture(logging.Handler):
    """Keeps a worker's log records for the main process, which logs them in corpus order."""

    def emit(self, record: logging.LogRecord) -> None:
        assert _worker is not None
        record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
        _worker.logs.append(record)


def _start_worker(analyzer: AnalyzerConfig, chunking: ChunkingConfig, root: Path | None, level: int) -> None:
    global _worker
    # Ctrl-C reaches the whole process group: the main process alone decides to stop the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = _Worker(analyzer, chunking, root)
    logging.root.handlers[:] = [_Capture()]
    logging.root.setLevel(level)


def _read_files(files: list[tuple[Path, str]]) -> FilesResult:
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


def _read_lines(batch: _Lines) -> LinesResult:
    assert _worker is not None
    _worker.start_batch()
    results = []
    for number, raw in batch.lines:
        if raw is None:
            results.append(LineResult(number, None, batch.reasons[number], False, ()))
            continue
        notes: list[str] = []
        try:
            article, legacy = jsonl_article(raw, number, batch.rel, notes.append)
        except SkipFile as skip:
            results.append(LineResult(number, None, str(skip), False, tuple(notes)))
            continue
        results.append(LineResult(number, _worker.analyze(article), "", legacy, tuple(notes)))
    return LinesResult(batch.rel, results, _worker.logs, _worker.batch_terms())


# --------------------------------------------------------------------------------------- main side


class _LineSkips(JsonRecords):
    """Takes the lines that the reader itself skips (overlong, unreadable) into the current batch, so
    that they are reported in their place among the lines the workers read."""

    def __init__(self, rel: str) -> None:
        super().__init__(rel, "line")
        self.batch = _Lines(rel, [], {})

    def skip(self, number: int, reason: str) -> None:
        self.batch.lines.append((number, None))
        self.batch.reasons[number] = reason


@dataclass(frozen=True, slots=True)
class _FileEnd:
    """The end of a JSON Lines file: its summary warnings are due."""

    rel: str


@dataclass(frozen=True, slots=True)
class _FileSkip:
    """A file skipped before any worker saw it (a JSON Lines file that could not be opened)."""

    rel: str
    reason: str


_Pending = AsyncResult["FilesResult | LinesResult"] | _FileEnd | _FileSkip


class _TermCounter:
    """Counts (term, passage) pairs from the workers' batches exactly as `InvertedIndex.build` counts
    analyzed passages, so that the index is the same; only each batch's distinct words are looked up."""

    def __init__(self, batch_tokens: int) -> None:
        self.vocab: defaultdict[str, int] = defaultdict()
        self.vocab.default_factory = self.vocab.__len__
        self.batch_tokens = batch_tokens
        self.tokens = array("i")
        self.lengths = array("i")
        self.batches: list[Batch] = []
        self.batch_start = 0

    def add(self, terms: BatchTerms) -> None:
        number = self.vocab.__getitem__
        mapping = np.fromiter(map(number, terms.words), dtype=np.int32, count=len(terms.words))
        self.tokens.frombytes(mapping[np.frombuffer(terms.ids, dtype=np.int32)].tobytes())
        self.lengths.frombytes(terms.lengths)
        if len(self.tokens) >= self.batch_tokens:
            self.batches.append(pairs(self.tokens, self.lengths, self.batch_start, 0))
            self.tokens, self.batch_start = array("i"), len(self.lengths)

    def postings(self) -> Postings:
        if len(self.tokens):
            self.batches.append(pairs(self.tokens, self.lengths, self.batch_start, 0))
        return assemble(list(self.vocab), self.batches, np.array(self.lengths, dtype=np.int32))


class ParallelCorpus:
    """The articles, passages and skipped files of a corpus read by `workers` processes.

    `read()` runs the workers and fills `articles`, `chunks` and `skipped`: the same articles, passages,
    warnings and counts as `load_corpus` and a single-process build, in the same order; `index()` is
    then the same index as `InvertedIndex.build` of the passages' terms.
    """

    def __init__(
        self,
        corpus: Path,
        analyzer: AnalyzerConfig,
        chunking: ChunkingConfig,
        workers: int,
        progress: Progress | None = None,
    ) -> None:
        self.corpus, self.analyzer, self.chunking = corpus, analyzer, chunking
        self.workers, self.progress = workers, progress
        self.listing = list_corpus(corpus)
        self.articles: list[Article] = []
        self.chunks: list[Chunk] = []
        self.skipped: list[SkippedFile] = []
        self._ids: Counter[str] = Counter()
        self._emptied: list[Article] = []
        self._records: dict[str, JsonRecords] = {}
        self._legacy: Counter[str] = Counter()
        self._sizes = {path: _size(path) for path in self.listing.articles}
        self.total_bytes = sum(self._sizes.values())
        self._done_bytes = 0
        self._counter = _TermCounter(InvertedIndex.batch_tokens)

    def index(self, params: BM25Params) -> InvertedIndex:
        """The index of every passage read (call after `read`)."""
        postings = self._counter.postings()
        return InvertedIndex._from_postings(postings, params, BLOCK, Vocabulary.build(postings.terms))

    def read(self) -> None:
        """Read the corpus with the workers, in corpus order.

        Raises:
            EmptyCorpusError: no file held a usable article.
        """
        self.skipped = skip_unlisted(self.listing, self.corpus)
        root = corpus_root(self.corpus)
        context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
        if os.name == "posix":
            # Workers fork from a server that has imported the reader once, and nothing of the program
            # that started the build.
            context.set_forkserver_preload([__name__])
        level = min(log.getEffectiveLevel(), logging.getLogger("index").getEffectiveLevel())
        pool = context.Pool(self.workers, _start_worker, (self.analyzer, self.chunking, root, level))
        try:
            self._merge(pool, root)
            pool.close()
        except BaseException:
            pool.terminate()  # Ctrl-C, SIGTERM or a failed write: no worker outlives the build
            raise
        finally:
            pool.join()
        drop_emptied(self._emptied, self.skipped)  # warns about them as load_corpus does, at the end
        if not self.articles:
            raise empty_corpus_error(self.corpus, self.listing)

    def _merge(self, pool: Pool, root: Path | None) -> None:
        pending: deque[tuple[_Pending, int]] = deque()
        limit = self.workers * IN_FLIGHT_PER_WORKER
        for unit in self._units(root):
            if isinstance(unit, list):
                size = sum(self._sizes[path] for path, _ in unit)
                pending.append((pool.apply_async(_read_files, (unit,)), size))
            elif isinstance(unit, _Lines):
                size = sum(len(raw) for _, raw in unit.lines if raw is not None)
                pending.append((pool.apply_async(_read_lines, (unit,)), size))
            else:
                pending.append((unit, 0))
            while len(pending) > limit:
                self._take(*pending.popleft())
        while pending:
            self._take(*pending.popleft())

    def _units(self, root: Path | None) -> Iterator[list[tuple[Path, str]] | _Lines | _FileEnd | _FileSkip]:
        """The corpus as batches of files and of JSON Lines records, in corpus order."""
        files: list[tuple[Path, str]] = []
        size = 0
        for path in self.listing.articles:
            rel = relative_name(path, self.corpus)
            if path.suffix.lower() != ".jsonl":
                files.append((path, rel))
                size += self._sizes[path]
                if len(files) >= BATCH_FILES or size >= BATCH_BYTES:
                    yield files
                    files, size = [], 0
                continue
            if files:
                yield files
                files, size = [], 0
            yield from self._jsonl_batches(path, root, rel)
        if files:
            yield files

    def _jsonl_batches(
        self, path: Path, root: Path | None, rel: str
    ) -> Iterator[_Lines | _FileEnd | _FileSkip]:
        reader = _LineSkips(rel)
        self._records[rel] = JsonRecords(rel, "line")
        try:
            handle = open_file(path, root, limit=None)
        except SkipFile as skip:
            yield _FileSkip(rel, str(skip))
            return
        with handle:
            size = 0
            for number, raw in numbered_lines(handle, reader):
                reader.batch.lines.append((number, raw))
                size += len(raw)
                if size >= BATCH_BYTES:
                    yield reader.batch
                    reader.batch, size = _Lines(rel, [], {}), 0
        if reader.batch.lines:
            yield reader.batch
        yield _FileEnd(rel)

    def _take(self, item: _Pending, size: int) -> None:
        if isinstance(item, _FileSkip):
            log.warning("skipped %s: %s", item.rel, item.reason)
            self.skipped.append(SkippedFile(item.rel, item.reason))
            del self._records[item.rel]
        elif isinstance(item, _FileEnd):
            self._end_jsonl(item.rel)
        else:
            result = item.get()
            if isinstance(result, LinesResult):
                _replay(result.logs)
                self._add_lines(self._records[result.rel], result.lines)
            else:
                for file in result.files:
                    _replay(file.logs)
                    self.skipped.extend(file.skipped)
                    for analyzed in file.articles:
                        self._add(analyzed)
            self._counter.add(result.terms)
        self._done_bytes += size
        if self.progress is not None:
            self.progress("reading", self._done_bytes, self.total_bytes)

    def _add_lines(self, records: JsonRecords, lines: list[LineResult]) -> None:
        for line in lines:
            note = records.noter(line.number)
            for message in line.notes:
                note(message)
            if line.analyzed is None:
                records.skip(line.number, line.skip_reason)
                continue
            records.found = True
            self._legacy[records.rel] += line.legacy
            self._add(line.analyzed)

    def _end_jsonl(self, rel: str) -> None:
        records = self._records.pop(rel)
        try:
            records.finish(self.skipped)
        except SkipFile as skip:
            log.warning("skipped %s: %s", rel, skip)
            self.skipped.append(SkippedFile(rel, str(skip)))
        if self._legacy[rel]:
            log.warning("%s: %d line(s) are not UTF-8; read them as Windows-1252", rel, self._legacy[rel])

    def _add(self, analyzed: Analyzed) -> None:
        """Take one article in corpus order: a repeated id gets its suffix, as `load_corpus` gives it."""
        article = analyzed.article
        self._ids[article.doc_id] += 1
        if self._ids[article.doc_id] > 1:
            article = replace(article, doc_id=f"{article.doc_id}~{self._ids[article.doc_id]}")
        if not article.text.strip():  # has no passages, so no terms either
            self._emptied.append(article)
            return
        self.articles.append(article)
        self.chunks.extend(analyzed.chunks(article.doc_id))


def _replay(records: list[logging.LogRecord]) -> None:
    """Log a worker's records here, where the command's handlers are."""
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
