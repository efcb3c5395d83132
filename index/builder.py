"""Build an index from a corpus: load, chunk, analyze, score and publish a new generation atomically."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .analyzer import Analyzer, NumberedWords
from .changes import CORPUS_STATE, CorpusState, place, skips_by_file
from .chunker import ChunkingConfig, PassageSentences, chunk_with_sentences
from .corpusscan import Stamp, scan_corpus
from .errors import EmptyCorpusError, IndexWriteError
from .inverted import InvertedIndex
from .inverted.arrays import BLOCK
from .inverted.vocabulary import Vocabulary
from .loader import Corpus, SkippedFile, corpus_files, load_corpus
from .models import Article, Chunk
from .passage_analysis import AnalysisCollector, analyze_numbers
from .pipeline import MIN_PARALLEL_BYTES, ParallelCorpus, TermCounter
from .records import write_records
from .settings import IndexConfig, corpus_label, corpus_path, index_status, live_generation
from .store import IndexStore, Manifest
from .stories import write_signatures

log = logging.getLogger(__name__)

DEFAULT_CONFIG = IndexConfig()

Progress = Callable[[str, int, int], None]
"""Called as `progress(stage, done, total)` while a build runs."""


def build_index(
    corpus: Path,
    index_dir: Path,
    config: IndexConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
    *,
    skip_if_current: bool = False,
    replacing: str | None = None,
    workers: int | None = None,
    min_parallel_bytes: int = MIN_PARALLEL_BYTES,
) -> Manifest:
    """Build the index of `corpus` into `index_dir` and make it the live one.

    With `skip_if_current`, a build that finds, once it holds the build lock, that the live index already
    serves `corpus` as configured (another process built it meanwhile) returns that index's manifest.
    `replacing` names a generation found damaged: the build is skipped the same way, unless that
    generation is still the live one (its files pass the status check, but not the load).

    `workers` processes read, clean, chunk and analyze the corpus (default: one per core; 1 builds in
    this process); a corpus under `min_parallel_bytes` is read in this process, where it is done before
    workers would have started. Every number of workers builds the same index, byte for byte.

    Raises:
        CorpusError, EmptyCorpusError: the corpus is missing or has no usable article.
        IndexDirectoryError: `index_dir` is a file, cannot be written, or is not an index folder.
        IndexWriteError: the new index could not be written (the previous one stays live).
    """
    corpus_files(corpus)  # a missing corpus is reported before the index folder is touched
    store = IndexStore(index_dir)
    with store.lock():
        replaced = replacing is not None and live_generation(index_dir) not in (None, replacing)
        if (skip_if_current or replaced) and index_status(corpus, index_dir, config).usable:
            log.info("the index in %s was built meanwhile by another process; using it", index_dir)
            return store.read_manifest()
        manifest = full_build(store, corpus, config, progress, workers, min_parallel_bytes)
    log.info(
        "indexed %d passages from %d articles in %.2f s",
        manifest.passages,
        manifest.articles,
        manifest.build_seconds,
    )
    return manifest


def full_build(
    store: IndexStore,
    corpus: Path,
    config: IndexConfig,
    progress: Progress | None,
    workers: int | None,
    min_parallel_bytes: int,
) -> Manifest:
    """Build the whole index of `corpus` and publish it; call with the lock held."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    parallel = (
        ParallelCorpus(corpus, config.analyzer, config.chunking, workers, progress) if workers > 1 else None
    )
    if parallel is not None and parallel.total_bytes >= min_parallel_bytes:
        log.debug("reading the corpus with %d worker processes", workers)
        return _build_in_parallel(store, corpus, config, parallel)
    log.debug("reading the corpus in this process")
    return _build_and_publish(store, corpus, config, progress)


def _build_and_publish(
    store: IndexStore, corpus: Path, config: IndexConfig, progress: Progress | None
) -> Manifest:
    """Load, chunk and analyze `corpus`, then publish it as a new generation; call with the lock held."""
    started = time.perf_counter()
    scan = scan_corpus(corpus)  # before reading: a file changed meanwhile is read again next time
    fingerprint, stamps = scan.fingerprint, scan.stamps
    loaded = load_corpus(corpus, (lambda done, total: progress("reading", done, total)) if progress else None)
    chunks, sentences = _chunk_all(loaded, config.chunking)
    if not chunks:
        raise EmptyCorpusError(f"corpus {corpus} has no text to index: add articles and try again")
    counter = TermCounter(InvertedIndex.batch_tokens)
    analysis = AnalysisCollector(counter.vocab)

    def fill(folder: Path) -> Manifest:
        passages = (chunks, sentences)
        _count(Analyzer(config.analyzer), loaded.articles, passages, (counter, analysis), progress)
        postings = counter.postings()
        engine = InvertedIndex._from_postings(postings, config.bm25, BLOCK, Vocabulary.build(postings.terms))
        found = (loaded.articles, chunks, loaded.skipped)
        return _save(folder, (engine, analysis), corpus, config, (fingerprint, stamps), found, started)

    return publish(store, fill)


def _build_in_parallel(
    store: IndexStore, corpus: Path, config: IndexConfig, parallel: ParallelCorpus
) -> Manifest:
    """Like `_build_and_publish`, with the corpus read by worker processes while the index fills."""
    started = time.perf_counter()
    scan = scan_corpus(corpus)
    fingerprint, stamps = scan.fingerprint, scan.stamps

    parallel.read()
    if not parallel.chunks:
        raise EmptyCorpusError(f"corpus {corpus} has no text to index: add articles and try again")

    def fill(folder: Path) -> Manifest:
        if parallel.progress:
            parallel.progress("indexing", len(parallel.chunks), len(parallel.chunks))
        engine = parallel.index(config.bm25)
        found = (parallel.articles, parallel.chunks, parallel.skipped)
        indexed = (engine, parallel.analysis)
        return _save(folder, indexed, corpus, config, (fingerprint, stamps), found, started)

    return publish(store, fill)


def _save(
    folder: Path,
    indexed: tuple[InvertedIndex, AnalysisCollector],
    corpus: Path,
    config: IndexConfig,
    seen: tuple[str, dict[str, Stamp]],
    found: tuple[Sequence[Article], Sequence[Chunk], Sequence[SkippedFile]],
    started: float,
) -> Manifest:
    """Write the index files of `found` (articles, passages, skipped files) into `folder`, with the corpus
    `seen` (fingerprint, file stamps) before reading, and the `indexed` passages and their analyses; the
    manifest."""
    articles, chunks, skipped = found
    fingerprint, stamps = seen
    engine, analysis = indexed
    engine.save(folder)
    segment = engine.segments[0].name
    analysis.save(folder, segment, engine.segments[0].vocabulary, (len(articles), len(chunks)))
    write_records(folder, articles, chunks, segment)
    write_signatures(folder, ((article.text, article.date) for article in articles), segment)
    per_file = skips_by_file(skipped, stamps)
    listed = sum(item.count for item in skipped) - sum(per_file.values())
    state = CorpusState(stamps, per_file, place(articles, chunks, segment), listed)
    (folder / CORPUS_STATE).write_bytes(state.to_bytes())
    return new_manifest(
        corpus, config, fingerprint, (len(articles), len(chunks), state.skipped_count), started
    )


def new_manifest(
    corpus: Path, config: IndexConfig, fingerprint: str, counts: tuple[int, int, int], started: float
) -> Manifest:
    """The manifest of an index of `corpus` holding `counts` (articles, passages, skipped files)."""
    articles, passages, skipped = counts
    return Manifest(
        settings=config.to_json(),
        corpus=corpus_label(corpus),
        corpus_path=corpus_path(corpus),
        corpus_fingerprint=fingerprint,
        articles=articles,
        passages=passages,
        skipped_files=skipped,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
    )


def publish(
    store: IndexStore, fill: Callable[[Path], Manifest], linked: dict[str, dict[str, Any]] | None = None
) -> Manifest:
    """`store.publish(fill, linked)`, with a write failure reported as IndexWriteError."""
    try:
        return store.publish(fill, linked)
    except OSError as err:
        raise IndexWriteError(
            f"could not write the index in {store.directory}: {err.strerror or err}"
        ) from err


def _chunk_all(corpus: Corpus, config: ChunkingConfig) -> tuple[list[Chunk], PassageSentences]:
    chunks: list[Chunk] = []
    sentences: PassageSentences = []
    for article in corpus.articles:
        found, carried = chunk_with_sentences(article, config)
        chunks += found
        sentences += carried
    return chunks, sentences


def _count(
    analyzer: Analyzer,
    articles: Sequence[Article],
    passages: tuple[Sequence[Chunk], PassageSentences],
    into: tuple[TermCounter, AnalysisCollector],
    progress: Progress | None,
) -> None:
    """Count each passage's index terms (its article's title terms, then its own) and collect the
    titles' and passages' analyses, every word looked up once in the counter's numbering."""
    counter, analysis = into
    chunks, sentences = passages
    words = NumberedWords(analyzer, counter.vocab.__getitem__)
    # Every article loaded has a passage (text that is only whitespace is dropped on loading), so every
    # title term numbered here is an index term, as the counter requires.
    titles = {article.doc_id: words.numbers(article.title) for article in articles}
    for article in articles:
        analysis.add_title(titles[article.doc_id])
    for done, (chunk, carried) in enumerate(zip(chunks, sentences, strict=True), 1):
        ids, spans, counts = analyze_numbers(words, chunk.text, carried)
        analysis.add_passage(ids, spans, counts)
        counter.add_passage(titles[chunk.doc_id] + ids)
        if progress and (done % 5000 == 0 or done == len(chunks)):
            progress("indexing", done, len(chunks))
