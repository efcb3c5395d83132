"""Build an index from a corpus: load, chunk, analyze, score and publish a new generation atomically."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import Stemmer

from .analyzer import ANALYZER_VERSION, Analyzer, AnalyzerConfig
from .bm25 import BM25Params
from .chunker import ChunkingConfig, chunk_article
from .errors import ArticleQAError, EmptyCorpusError, IndexFormatError, IndexMissingError, IndexWriteError
from .inverted import InvertedIndex
from .loader import Corpus, corpus_files, corpus_fingerprint, load_corpus
from .models import Chunk
from .records import Records, write_records
from .store import FORMAT_NAME, FORMAT_VERSION, MANIFEST, REBUILD_HINT, IndexStore, Manifest

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as `progress(stage, done, total)` while a build runs."""


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """Every setting that changes what an index holds; a change means a rebuild."""

    analyzer: AnalyzerConfig = field(default_factory=AnalyzerConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    bm25: BM25Params = field(default_factory=BM25Params)

    def to_json(self) -> dict[str, Any]:
        return {
            "analyzer": self.analyzer.to_json(),
            "chunking": self.chunking.to_json(),
            "bm25": {"k1": self.bm25.k1, "b": self.bm25.b},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexConfig:
        """The settings stored in a manifest.

        Raises:
            IndexFormatError: they are malformed, or the analyzer rules differ from this version's, so
                questions would not be analyzed the way the index was.
        """
        try:
            config = cls(
                AnalyzerConfig(**data["analyzer"]),
                ChunkingConfig(**data["chunking"]),
                BM25Params(**data["bm25"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise IndexFormatError(f"index settings are malformed ({err!r}); {REBUILD_HINT}") from None
        analyzer = config.analyzer
        if analyzer.version != ANALYZER_VERSION:
            raise IndexFormatError(
                f"the index was built with analyzer version {analyzer.version}, this is version "
                f"{ANALYZER_VERSION}; {REBUILD_HINT}"
            )
        if analyzer.stem and analyzer.language not in Stemmer.algorithms():
            raise IndexFormatError(f"the index uses an unknown stemmer {analyzer.language!r}; {REBUILD_HINT}")
        return config


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """Whether the index in a directory can serve a corpus as configured, and if not, why."""

    state: Literal["current", "missing", "stale", "broken"]
    reason: str

    @property
    def usable(self) -> bool:
        return self.state == "current"


def corpus_key(corpus: Path) -> str:
    return str(corpus.resolve())


def index_status(corpus: Path, index_dir: Path, config: IndexConfig) -> IndexStatus:
    """Compare the live index with the corpus on disk and the settings, without loading it."""
    store = IndexStore(index_dir)
    try:
        manifest = _live_manifest(store)
    except IndexMissingError as err:
        return IndexStatus("missing", str(err))
    except ArticleQAError as err:
        if _made_by_older_version(store):
            return IndexStatus("stale", "the index was made by an older version of article-qa")
        return IndexStatus("broken", str(err))
    if manifest.settings != config.to_json():
        return IndexStatus("stale", "the index was built with other analyzer, chunking or BM25 settings")
    if manifest.corpus != corpus_key(corpus):
        return IndexStatus("stale", f"the index was built from another corpus ({manifest.corpus})")
    if manifest.corpus_fingerprint != corpus_fingerprint(corpus):
        return IndexStatus("stale", "the corpus changed since the index was built")
    return IndexStatus("current", "up to date")


def _live_manifest(store: IndexStore) -> Manifest:
    """The live manifest; read again once if a build replaced the generation while it was read."""
    generation = store.current()
    try:
        return store.read_manifest(generation)
    except IndexFormatError:
        if store.current() == generation:
            raise
        return store.read_manifest()


def _live_name(store: IndexStore) -> str | None:
    try:
        return store.current().name
    except ArticleQAError:
        return None


def _made_by_older_version(store: IndexStore) -> bool:
    try:
        data = json.loads((store.current() / MANIFEST).read_text(encoding="utf-8"))
    except (ArticleQAError, OSError, ValueError, RecursionError):
        return False
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        return False
    version = data.get("format_version")
    return type(version) is int and 1 <= version < FORMAT_VERSION


def load_generation(generation: Path, manifest: Manifest) -> tuple[InvertedIndex, Records]:
    """The engine and records of `generation`, memory-mapped and checked against `manifest`.

    Raises:
        IndexFormatError: the files cannot be loaded, or hold other counts than the manifest states.
    """
    try:
        engine = InvertedIndex.load(generation)
        records = Records(generation)
    except IndexFormatError as err:
        if REBUILD_HINT in str(err):
            raise
        raise IndexFormatError(f"{str(err).removesuffix('; rebuild it')}; {REBUILD_HINT}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as err:
        raise IndexFormatError(f"index in {generation} cannot be loaded ({err}); {REBUILD_HINT}") from None
    found = (engine.n_docs, len(records), records.article_count)
    if found != (manifest.passages, manifest.passages, manifest.articles):
        raise IndexFormatError(
            f"index in {generation} holds {found[1]} passages of {found[2]} articles, not the "
            f"{manifest.passages} of {manifest.articles} its manifest states; {REBUILD_HINT}"
        )
    return engine, records


def build_index(
    corpus: Path,
    index_dir: Path,
    config: IndexConfig = IndexConfig(),
    progress: Progress | None = None,
    *,
    skip_if_current: bool = False,
    replacing: str | None = None,
) -> Manifest:
    """Build the index of `corpus` into `index_dir` and make it the live one.

    With `skip_if_current`, a build that finds, once it holds the build lock, that the live index already
    serves `corpus` as configured (another process built it meanwhile) returns that index's manifest.
    `replacing` names a generation found damaged: the build is skipped the same way, unless that
    generation is still the live one (its files pass the status check, but not the load).

    Raises:
        CorpusError, EmptyCorpusError: the corpus is missing or has no usable article.
        IndexDirectoryError: `index_dir` is a file, cannot be written, or is not an index folder.
        IndexWriteError: the new index could not be written (the previous one stays live).
    """
    corpus_files(corpus)  # a missing corpus is reported before the index folder is touched
    store = IndexStore(index_dir)
    with store.lock():
        replaced = replacing is not None and _live_name(store) not in (None, replacing)
        if (skip_if_current or replaced) and index_status(corpus, index_dir, config).usable:
            log.info("the index in %s was built meanwhile by another process; using it", index_dir)
            return store.read_manifest()
        manifest = _build_and_publish(store, corpus, config, progress)
    log.info(
        "indexed %d passages from %d articles in %.2f s",
        manifest.passages,
        manifest.articles,
        manifest.build_seconds,
    )
    return manifest


def _build_and_publish(
    store: IndexStore, corpus: Path, config: IndexConfig, progress: Progress | None
) -> Manifest:
    """Load, chunk and analyze `corpus`, then publish it as a new generation; call with the lock held."""
    started = time.perf_counter()
    fingerprint = corpus_fingerprint(corpus)
    loaded = load_corpus(corpus, (lambda done, total: progress("reading", done, total)) if progress else None)
    chunks = _chunk_all(loaded, config.chunking)
    if not chunks:
        raise EmptyCorpusError(f"corpus {corpus} has no text to index: add articles and try again")
    analyzer = Analyzer(config.analyzer)
    titles = {article.doc_id: analyzer.tokens(article.title) for article in loaded.articles}

    def terms() -> Iterator[list[str]]:
        for done, chunk in enumerate(chunks, 1):
            if progress and (done % 5000 == 0 or done == len(chunks)):
                progress("indexing", done, len(chunks))
            # Title words count toward every passage of the article.
            yield titles[chunk.doc_id] + analyzer.tokens(chunk.text)

    def fill(folder: Path) -> Manifest:
        engine = InvertedIndex.build(terms(), config.bm25)
        engine.save(folder)
        write_records(folder, loaded.articles, chunks)
        return Manifest(
            settings=config.to_json(),
            corpus=corpus_key(corpus),
            corpus_fingerprint=fingerprint,
            articles=len(loaded.articles),
            passages=len(chunks),
            skipped_files=loaded.skipped_count,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
        )

    try:
        return store.publish(fill)
    except OSError as err:
        raise IndexWriteError(
            f"could not write the index in {store.directory}: {err.strerror or err}"
        ) from err


def _chunk_all(corpus: Corpus, config: ChunkingConfig) -> list[Chunk]:
    return [chunk for article in corpus.articles for chunk in chunk_article(article, config)]
