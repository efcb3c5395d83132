"""article-qa engine: load articles, build a BM25 index of passages, answer questions with sources.

Front-ends import only what this module exports. Names load on first use, so a command that answers
from a built index does not pay for the loader, the builder or the evaluation code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analyzer import AnalyzerConfig
    from .answer import AnswerConfig, Answerer, QAService
    from .api import (
        Builder,
        has_searchable_words,
        heal_index,
        live_manifest,
        open_index,
        stale_warning,
        verify_index,
        without_hint,
    )
    from .bm25 import BM25Params
    from .builder import Progress, build_index
    from .chunker import ChunkingConfig
    from .corpusfiles import SUFFIXES, corpus_files
    from .errors import (
        ArticleQAError,
        CorpusError,
        EmptyCorpusError,
        IndexDirectoryError,
        IndexFormatError,
        IndexMissingError,
        IndexWriteError,
        QuestionError,
    )
    from .evaluation import (
        Metrics,
        PlainBM25,
        QuestionResult,
        in_split,
        read_questions,
        run_questions,
        summarize,
    )
    from .filters import SearchFilter
    from .htmltext import parse_html
    from .loader import load_corpus
    from .manifest import Manifest
    from .models import (
        Answer,
        Article,
        Chunk,
        IndexStats,
        Passage,
        RelativeDate,
        Source,
        Story,
        Timeline,
        TimelineEntry,
    )
    from .question import normalize_question
    from .rerank import FEATURES, RerankConfig, without
    from .settings import IndexConfig, IndexStatus, corpus_label, corpus_path, index_status, live_generation
    from .update import UpdateReport, update_index

_EXPORTS = {
    "analyzer": ("AnalyzerConfig",),
    "answer": ("AnswerConfig", "Answerer", "QAService"),
    "api": (
        "Builder",
        "has_searchable_words",
        "heal_index",
        "live_manifest",
        "open_index",
        "stale_warning",
        "verify_index",
        "without_hint",
    ),
    "bm25": ("BM25Params",),
    "builder": ("Progress", "build_index"),
    "update": ("UpdateReport", "update_index"),
    "chunker": ("ChunkingConfig",),
    "corpusfiles": ("SUFFIXES", "corpus_files"),
    "errors": (
        "ArticleQAError",
        "CorpusError",
        "EmptyCorpusError",
        "IndexDirectoryError",
        "IndexFormatError",
        "IndexMissingError",
        "IndexWriteError",
        "QuestionError",
    ),
    "evaluation": (
        "Metrics",
        "PlainBM25",
        "QuestionResult",
        "in_split",
        "read_questions",
        "run_questions",
        "summarize",
    ),
    "filters": ("SearchFilter",),
    "htmltext": ("parse_html",),
    "loader": ("load_corpus",),
    "manifest": ("Manifest",),
    "models": (
        "Answer",
        "Article",
        "Chunk",
        "IndexStats",
        "Passage",
        "RelativeDate",
        "Source",
        "Story",
        "Timeline",
        "TimelineEntry",
    ),
    "question": ("normalize_question",),
    "rerank": ("FEATURES", "RerankConfig", "without"),
    "settings": (
        "IndexConfig",
        "IndexStatus",
        "corpus_label",
        "corpus_path",
        "index_status",
        "live_generation",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "FEATURES",
    "SUFFIXES",
    "AnalyzerConfig",
    "Answer",
    "AnswerConfig",
    "Answerer",
    "Article",
    "ArticleQAError",
    "BM25Params",
    "Builder",
    "Chunk",
    "ChunkingConfig",
    "CorpusError",
    "EmptyCorpusError",
    "IndexConfig",
    "IndexDirectoryError",
    "IndexFormatError",
    "IndexMissingError",
    "IndexStats",
    "IndexStatus",
    "IndexWriteError",
    "Manifest",
    "Metrics",
    "Passage",
    "PlainBM25",
    "Progress",
    "QAService",
    "QuestionError",
    "QuestionResult",
    "RelativeDate",
    "RerankConfig",
    "SearchFilter",
    "Source",
    "Story",
    "Timeline",
    "TimelineEntry",
    "UpdateReport",
    "build_index",
    "corpus_files",
    "corpus_label",
    "corpus_path",
    "has_searchable_words",
    "heal_index",
    "in_split",
    "index_status",
    "live_generation",
    "live_manifest",
    "load_corpus",
    "normalize_question",
    "open_index",
    "parse_html",
    "read_questions",
    "run_questions",
    "stale_warning",
    "summarize",
    "update_index",
    "verify_index",
    "without",
    "without_hint",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
