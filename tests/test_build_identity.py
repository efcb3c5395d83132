"""A faster build reads, cleans, splits and analyzes every corpus exactly as before, token for token."""

from __future__ import annotations

from pathlib import Path

import pytest
import Stemmer
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.build import write_corpus
from benchmarks.build_identity import (
    CORPORA,
    SYNTHETIC_SAMPLE,
    pipeline_digest,
    sample_texts,
    sentence_digest,
)
from index.analyzer import (
    IRREGULAR_VERBS,
    PROTECTED_STEMS,
    STOPWORDS,
    TOKEN,
    TOKEN_PLAIN,
    Analyzer,
    AnalyzerConfig,
    fold,
)

# SHA-256 of everything a build takes from each corpus (benchmarks.build_identity.pipeline_records: the
# articles' fields, passages and terms, the files skipped and the warnings), recorded with the build as
# it was before it was made faster (`python -m benchmarks.build_identity --digests`). A change to what
# the loader, cleaner, sentence splitter or analyzer produce shows here: when it is meant (a new cleaning
# rule), record the digests again and bump TEXT_VERSION or ANALYZER_VERSION; a speed-up leaves them be.
FROZEN_DIGESTS = {
    "corpus": "69e40c7e58ff014794081d44496a6987475a1b8ea1c95cc69eb35de3531c7eb1",
    "articles": "d80bb82b8742a63a8342725bca67cd22c5d282434751fee97e3f0ca7a0f5d4f6",
    "news-wikinews": "321e9f11a7cc27e37893adf6a9134ee5b699487e711bafc68b94f549b0d7b4f6",  # with short-questions.jsonl
    "dated-news": "cbef0f50a66c652e26e44a7d334104050841e6004118b2fd73234efaf8ff698a",
    "squad-subset": "b0acd18bf9ae32f0d71a39f37b12e4509d86328bfee29dde7fd76d5beaf7e0f8",
    "feed-pages": "d0a6048fe5bd4c1f2475a4174bed30f7d8dfe01e797e24dcd62c3c7182068e44",
    "synthetic-600": "22dd252c98f6c38825f8a1aa7aa7e4ca028b5f59bae083b10f57568ccc9826bd",
    "sentences": "0163c2cfa3de216ee41a2d42fb461651c1adebccbefd2adcd4f85f65622e02d1",
}


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_every_test_corpus_reads_as_it_did(name: str) -> None:
    assert pipeline_digest(CORPORA[name]) == FROZEN_DIGESTS[name]


def test_the_benchmark_corpus_reads_as_it_did(tmp_path: Path) -> None:
    write_corpus(SYNTHETIC_SAMPLE, tmp_path / "articles.jsonl")
    assert pipeline_digest(tmp_path) == FROZEN_DIGESTS[f"synthetic-{SYNTHETIC_SAMPLE}"]


def test_sentences_split_as_they_did_on_news_and_squad_text() -> None:
    assert sentence_digest(sample_texts()) == FROZEN_DIGESTS["sentences"]


# The analyzer as it was written before its fast paths: the plain token pattern, every token folded and
# looked up on its own, nothing remembered. The Analyzer must give exactly its terms and spans.
def reference_term(raw: str, stemmer: Stemmer.Stemmer) -> str | None:
    word = fold(raw).casefold()
    if "." in word and not word[:1].isdigit():
        word = word.replace(".", "")
    if word[:1].isdigit():
        return word.replace(",", "")
    word = IRREGULAR_VERBS.get(word, word)
    if word in STOPWORDS:
        return None
    return PROTECTED_STEMS.get(word) or stemmer.stemWord(word)


def reference_spans(text: str) -> list[tuple[int, int, str]]:
    stemmer = Stemmer.Stemmer("english")
    spans = []
    for match in TOKEN_PLAIN.finditer(text):
        term = reference_term(match.group(), stemmer)
        if term:
            spans.append((match.start(), match.end(), term))
    return spans


def test_analyzer_gives_the_reference_terms_on_news_and_squad_text() -> None:
    analyzer = Analyzer()
    for text in sample_texts():
        expected = reference_spans(text)
        assert analyzer.tokens(text) == [term for _, _, term in expected]
        assert list(analyzer.spans(text)) == expected


# Letters (ASCII, accented, Greek, CJK, a ligature, full-width, dotted I, sharp s), digits (ASCII,
# Arabic-Indic, superscript), the separators the number and acronym rules read, underscores,
# apostrophes, quotes, dashes, a combining accent, and whitespace of every kind (and a zero-width space,
# which is none).
TRICKY = (
    "aZbU.S,._0912\u00e9\u00c9\u03b1\u4e2d\ufb01\uff21\u0663\u00b2 '\u2019\"\u201c-\u2014\u00a0\n\u0130\u00df"
    "\t\u2003\u3000\x1c\x85\u200b\u0301"
)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=TRICKY, max_size=60))
def test_token_pattern_finds_the_plain_patterns_tokens(text: str) -> None:
    assert [m.span() for m in TOKEN.finditer(text)] == [m.span() for m in TOKEN_PLAIN.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=TRICKY, max_size=60))
def test_analyzer_gives_the_reference_terms_on_any_text(text: str) -> None:
    expected = reference_spans(text)
    analyzer = Analyzer()
    assert analyzer.tokens(text) == [term for _, _, term in expected]
    assert list(analyzer.spans(text)) == expected


def test_a_full_term_cache_starts_again_and_gives_the_same_terms() -> None:
    text = sample_texts()[1]
    small = Analyzer(AnalyzerConfig(), cache_size=5)
    assert small.tokens(text) == Analyzer().tokens(text)
    assert len(small._terms) <= 5 and len(small._words) <= 5


def test_long_words_are_analyzed_but_not_remembered() -> None:
    analyzer = Analyzer()
    minified = ",".join(f"x{i}" for i in range(2_000))  # one 'word' of 10,000 characters
    text = f"The feed sent {minified} and {'q' * 5_000} again."
    assert analyzer.tokens(text) == [term for _, _, term in reference_spans(text)]
    assert list(analyzer.spans(text)) == reference_spans(text)
    assert max(map(len, analyzer._words)) <= 100 and max(map(len, analyzer._terms)) <= 100
