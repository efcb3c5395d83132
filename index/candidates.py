"""A reranked candidate passage, where it is shown from, and which other articles it cites."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import citations, rerank
from .models import Chunk, Source
from .segmented import LiveRecords


@dataclass(slots=True)
class Candidate:
    """One BM25 hit as the answer path fills it in: its analysis, features, highlight and sources."""

    passage: int
    chunk: Chunk
    article_row: int
    score: float
    terms: set[str]
    highlight: tuple[int, int] | None
    sources: list[Source] = field(default_factory=list)  # articles printing the whole passage
    also_in: list[Source] = field(default_factory=list)  # articles printing only the highlighted sentence
    analysis: rerank.PassageTerms | None = None
    found: rerank.Features | None = None
    title_terms: frozenset[str] = frozenset()
    story_terms: set[str] = field(default_factory=set)  # shared by the candidates of one article
    typed: bool | None = None  # whether its highlight holds the expected answer type, once asked


def overlap(kept: Candidate, other: Candidate) -> bool:
    """True for two chunks of one article that share text."""
    a, b = kept.chunk, other.chunk
    return kept.article_row == other.article_row and a.start < b.end and b.start < a.end


def shown_from(candidate: Candidate, context: int | None, context_words: int) -> int:
    """Where the passage is shown from: `context` sentences before its highlighted one, unless those
    hold more than `context_words` words (then from the highlighted sentence); 0 shows it whole."""
    if context is None or candidate.highlight is None or candidate.analysis is None:
        return 0
    starts = [start for start, _ in candidate.analysis.sentences]
    index = next((i for i, start in enumerate(starts) if start == candidate.highlight[0]), 0)
    if index <= context:
        return 0
    before = candidate.chunk.text[starts[index - context] : starts[index]]
    return starts[index - context] if len(before.split()) <= context_words else starts[index]


def cite_others(
    records: LiveRecords, kept: Candidate, texts: dict[int, list[str]], known: dict[int, dict[int, Chunk]]
) -> None:
    """Cite every other article that prints the passage; "also in" those printing only its sentence.

    `texts` holds each candidate article's printed texts and `known` its loaded passages; both grow
    when an article's neighbouring passages are read to find the rest of a copy.
    """
    sentence = kept.chunk.text[slice(*kept.highlight)] if kept.highlight else None
    others = (text for row, printed in texts.items() if row != kept.article_row for text in printed)
    if not citations.may_cite(others, kept.chunk.text, sentence):
        return  # no other article prints its longest words: none is cited, none needs widening
    for row in texts:
        if row == kept.article_row:
            continue
        found = citations.cite_printed(texts[row], kept.chunk.text, sentence)
        if found == "sentence" and _widen(records, row, known[row]):
            # A copy cut into passages elsewhere may print the rest in the next or previous one.
            texts[row] = citations.joined_texts(known[row].values())
            found = citations.cite_printed(texts[row], kept.chunk.text, sentence)
        source = records.source(row)
        if found == "passage" and source not in kept.sources:
            kept.sources.append(source)
        elif found == "sentence" and source not in kept.also_in and source not in kept.sources:
            kept.also_in.append(source)


def _widen(records: LiveRecords, row: int, chunks: dict[int, Chunk]) -> bool:
    """Add the neighbours of an article's loaded passages to `chunks`; False when there are none."""
    added = False
    for passage in list(chunks):
        for neighbour in (passage - 1, passage + 1):
            if neighbour in chunks or not 0 <= neighbour < len(records):
                continue
            if records.article_row(neighbour) == row:
                chunks[neighbour] = records.chunk(neighbour)
                added = True
    return added
