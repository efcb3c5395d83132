"""Read, clean, chunk and analyze a corpus in worker processes, merged back in corpus order."""

from __future__ import annotations

import logging
import multiprocessing
import os
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .analyzer import AnalyzerConfig
from .bm25 import BM25Params
from .chunker import ChunkingConfig
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
    numbered_lines,
    read_file,
    relative_name,
    skip_unlisted,
)
from .models import Article, Chunk
from .passage_analysis import AnalysisCollector
from .pipeline_worker import (
    Analyzed,
    BatchTerms,
    FilesResult,
    LineBatch,
    LineResult,
    LinesResult,
    passages,
    read_files,
    read_lines,
    start_worker,
)

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


class _LineSkips(JsonRecords):
    """Takes the lines that the reader itself skips (overlong, unreadable) into the current batch, so
    that they are reported in their place among the lines the workers read."""

    def __init__(self, rel: str) -> None:
        super().__init__(rel, "line")
        self.batch = LineBatch(rel, [], {})

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


_Pending = AsyncResult[FilesResult | LinesResult] | _FileEnd | _FileSkip
_Unit = list[tuple[Path, str]] | LineBatch | _FileEnd | _FileSkip  # a batch of files, or of lines


class TermCounter:
    """Counts (term, passage) pairs from the workers' batches (or numbered passages) exactly as
    `InvertedIndex.build` counts analyzed passages, so that the index is the same; a word is looked up
    once per worker.

    A worker takes batches in the order they were sent and they are counted in that order, so each
    batch's new words continue the numbers of that worker's earlier batches.
    """

    def __init__(self, batch_tokens: int) -> None:
        self.vocab: defaultdict[str, int] = defaultdict()
        self.vocab.default_factory = self.vocab.__len__
        self.batch_tokens = batch_tokens
        self.tokens = array("i")
        self.lengths = array("i")
        self.batches: list[Batch] = []
        self.batch_start = 0
        self.numbers: dict[int, npt.NDArray[np.int32]] = {}  # worker -> its word numbers -> ours

    def add(self, terms: BatchTerms) -> None:
        number = self.vocab.__getitem__
        known = self.numbers.get(terms.worker, np.empty(0, dtype=np.int32))
        if len(known) != terms.first_new:
            raise RuntimeError("a worker's words arrived out of order")  # a broken invariant, not input
        new = np.fromiter(map(number, terms.new_words), dtype=np.int32, count=len(terms.new_words))
        self.numbers[terms.worker] = mapping = np.concatenate([known, new])
        self.tokens.frombytes(mapping[np.frombuffer(terms.ids, dtype=np.int32)].tobytes())
        self.lengths.frombytes(terms.lengths)
        if len(self.tokens) >= self.batch_tokens:
            self.batches.append(pairs(self.tokens, self.lengths, self.batch_start, 0))
            self.tokens, self.batch_start = array("i"), len(self.lengths)

    def add_passage(self, ids: list[int]) -> None:
        """Count the next passage, its terms numbered by `vocab` (a build in one process)."""
        self.tokens.fromlist(ids)
        self.lengths.append(len(ids))
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
        self._counter = TermCounter(InvertedIndex.batch_tokens)
        # The passages' analyses and the articles' titles, words numbered as the counter numbers them.
        self.analysis = AnalysisCollector(self._counter.vocab)

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
            context.set_forkserver_preload([start_worker.__module__])
        level = min(log.getEffectiveLevel(), logging.getLogger("index").getEffectiveLevel())
        pool = context.Pool(self.workers, start_worker, (self.analyzer, self.chunking, root, level))
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
                pending.append((pool.apply_async(read_files, (unit,)), size))
            elif isinstance(unit, LineBatch):
                size = sum(len(raw) for _, raw in unit.lines if raw is not None)
                pending.append((pool.apply_async(read_lines, (unit,)), size))
            else:
                pending.append((unit, 0))
            while len(pending) > limit:
                self._take(*pending.popleft())
        while pending:
            self._take(*pending.popleft())

    def _units(
        self, root: Path | None
    ) -> Iterator[list[tuple[Path, str]] | LineBatch | _FileEnd | _FileSkip]:
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
    ) -> Iterator[LineBatch | _FileEnd | _FileSkip]:
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
                    reader.batch, size = LineBatch(rel, [], {}), 0
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
            self.analysis.add_batch(result.terms.analysis, self._counter.numbers[result.terms.worker])
        self._done_bytes += size
        if self.progress is not None:
            self.progress("reading", self._done_bytes, self.total_bytes)

    def _add_lines(self, records: JsonRecords, lines: list[LineResult]) -> None:
        for number, analyzed, skip_reason, legacy, notes in lines:
            note = records.noter(number)
            for message in notes:
                note(message)
            if analyzed is None:
                records.skip(number, skip_reason)
                continue
            records.found = True
            self._legacy[records.rel] += legacy
            self._add(analyzed)

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
        fields, spans = analyzed
        article = Article(*fields)
        self._ids[article.doc_id] += 1
        if self._ids[article.doc_id] > 1:
            article = replace(article, doc_id=f"{article.doc_id}~{self._ids[article.doc_id]}")
        if not article.text.strip():  # has no passages, so no terms either
            self._emptied.append(article)
            return
        self.articles.append(article)
        self.chunks.extend(passages(article, spans))


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
