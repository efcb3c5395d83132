"""Sentence splitting and sentence-aware passages."""

from __future__ import annotations

from itertools import pairwise

import pytest

from index.chunker import ChunkingConfig, chunk_article, sentence_spans
from index.models import Article


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = (
        "Mr. Kerry met Sen. John F. Kennedy Jr. at the U.S. embassy on Jan. 5. "
        'He left at 3 p.m. sharp. "Go!" she said. Then Dr. Smith spoke.'
    )
    assert sentences(text) == [
        "Mr. Kerry met Sen. John F. Kennedy Jr. at the U.S. embassy on Jan. 5.",
        "He left at 3 p.m. sharp.",
        '"Go!" she said.',
        "Then Dr. Smith spoke.",
    ]


def test_line_breaks_end_sentences_and_offsets_point_into_text() -> None:
    text = "Headline without a period\n\n  First sentence here. Second one?\nLast"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Headline without a period",
        "First sentence here.",
        "Second one?",
        "Last",
    ]


def article(text: str) -> Article:
    return Article(doc_id="a.txt", title="T", text=text)


def test_passages_respect_the_word_limit_and_keep_offsets() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    chunks = chunk_article(article(text), ChunkingConfig(max_words=50, overlap_sentences=1))
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk.text.split()) <= 50
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.endswith(".")  # never cut inside a sentence
    assert [c.chunk_id for c in chunks[:2]] == ["a.txt#0", "a.txt#1"]


def test_overlap_is_whole_sentences() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(20))
    chunks = chunk_article(article(text), ChunkingConfig(max_words=21, overlap_sentences=1))
    for first, second in pairwise(chunks):
        last_sentence = sentences(first.text)[-1]
        assert sentences(second.text)[0] == last_sentence
    no_overlap = chunk_article(article(text), ChunkingConfig(max_words=21, overlap_sentences=0))
    assert all(a.end < b.start for a, b in pairwise(no_overlap))
    assert sum(len(c.text.split()) for c in no_overlap) == len(text.split())


def test_an_overlong_sentence_is_cut_at_word_boundaries() -> None:
    text = "Short one. " + " ".join(["word"] * 130) + ". Another short one."
    chunks = chunk_article(article(text), ChunkingConfig(max_words=50, overlap_sentences=1))
    assert all(len(c.text.split()) <= 50 for c in chunks)
    covered = " ".join(c.text for c in chunks)
    assert covered.count("word") >= 130


def test_every_word_lands_in_some_passage() -> None:
    text = "\n\n".join(
        f"Paragraph {p}. " + " ".join(f"Line {p}-{i} is here." for i in range(9)) for p in range(6)
    )
    chunks = chunk_article(article(text), ChunkingConfig(max_words=30, overlap_sentences=2))
    covered: set[int] = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, char in enumerate(text) if not char.isspace())


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        ChunkingConfig(max_words=0)
    with pytest.raises(ValueError):
        ChunkingConfig(overlap_sentences=-1)
