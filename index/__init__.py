"""article-qa engine: load articles, build a BM25 index of passages, answer questions with sources."""

from __future__ import annotations

from .answer import AnswerConfig, Answerer, QAService
from .builder import IndexConfig, IndexStatus, build_index, index_status
from .errors import (
    ArticleQAError,
    CorpusError,
    EmptyCorpusError,
    IndexFormatError,
    IndexMissingError,
    QuestionError,
)
from .models import Answer, Article, Chunk, IndexStats, Passage, Source

__all__ = [
    "Answer",
    "AnswerConfig",
    "Answerer",
    "Article",
    "ArticleQAError",
    "Chunk",
    "CorpusError",
    "EmptyCorpusError",
    "IndexConfig",
    "IndexFormatError",
    "IndexMissingError",
    "IndexStats",
    "IndexStatus",
    "Passage",
    "QAService",
    "QuestionError",
    "Source",
    "build_index",
    "index_status",
]
