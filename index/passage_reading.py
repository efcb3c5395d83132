"""Candidate passages as answers read them: text, article row, analysis and the article's title terms."""

from __future__ import annotations

from .analyzer import Analyzer
from .models import Chunk
from .rerank import PassageTerms, analyze_passage
from .segmented import LiveRecords


class PassageReader:
    """Reads what the rerank needs of a passage from the index: the build stored each passage's analysis
    and each title's terms, so nothing is analyzed while answering, and nothing needs keeping for the
    next question. Records opened without their analyses (tests, tools) are analyzed instead."""

    def __init__(self, records: LiveRecords, analyzer: Analyzer) -> None:
        self._records = records
        self._analyzer = analyzer

    def passage(self, passage: int) -> tuple[Chunk, int, PassageTerms]:
        """The passage's chunk, its live article row and its analysis (`rerank.analyze_passage`).

        Raises:
            IndexFormatError: its text, row or stored analysis is damaged.
        """
        chunk = self._records.chunk(passage)
        analysis = self._records.passage_terms(passage)
        if analysis is None:
            analysis = analyze_passage(self._analyzer, chunk.text)
        return chunk, self._records.article_row(passage), analysis

    def title_terms(self, row: int) -> frozenset[str]:
        """The analyzed title of live article `row`."""
        stored = self._records.title_terms(row)
        if stored is None:
            return frozenset(self._analyzer.tokens(self._records.source(row).title))
        return stored
