"""What an index holds and whether it still serves a corpus: shared by the build and the query side."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import Stemmer

from .analyzer import ANALYZER_VERSION, AnalyzerConfig
from .bm25 import BM25Params
from .chunker import ChunkingConfig
from .corpusfiles import corpus_fingerprint
from .errors import ArticleQAError, IndexFormatError, IndexMissingError
from .manifest import FORMAT_NAME, FORMAT_VERSION, MANIFEST, REBUILD_HINT, Manifest
from .store import IndexStore


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


def corpus_label(corpus: Path | str) -> str:
    """The corpus as the index names it to users: its folder or file name, never where it lives, so that
    no front-end shows the server's paths and moving a checkout does not make its index stale."""
    return Path(corpus).resolve().name if isinstance(corpus, Path) else Path(corpus).name


def corpus_path(corpus: Path) -> str:
    """The corpus's absolute path, kept in the manifest for local use (reopening it) only."""
    return str(corpus.resolve())


def staleness(manifest: Manifest, corpus: Path, config: IndexConfig) -> str | None:
    """Why the index `manifest` describes no longer serves `corpus` as configured, or None if it does."""
    if manifest.settings != config.to_json():
        return "the index was built with other analyzer, chunking or BM25 settings"
    if corpus_label(manifest.corpus) != corpus_label(corpus):
        return f"the index was built from another corpus ({corpus_label(manifest.corpus)})"
    if manifest.corpus_fingerprint != corpus_fingerprint(corpus):
        return "the corpus changed since the index was built"
    return None


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
    reason = staleness(manifest, corpus, config)
    return IndexStatus("current", "up to date") if reason is None else IndexStatus("stale", reason)


def live_generation(index_dir: Path) -> str | None:
    """The name of the live generation of `index_dir`, or None without a readable pointer."""
    try:
        return IndexStore(index_dir).current().name
    except ArticleQAError:
        return None


def _live_manifest(store: IndexStore) -> Manifest:
    """The live manifest; read again once if a build replaced the generation while it was read."""
    generation = store.current()
    try:
        return store.read_manifest(generation)
    except IndexFormatError:
        if store.current() == generation:
            raise
        return store.read_manifest()


def _made_by_older_version(store: IndexStore) -> bool:
    try:
        data = json.loads((store.current() / MANIFEST).read_text(encoding="utf-8"))
    except (ArticleQAError, OSError, ValueError, RecursionError):
        return False
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        return False
    version = data.get("format_version")
    return type(version) is int and 1 <= version < FORMAT_VERSION
