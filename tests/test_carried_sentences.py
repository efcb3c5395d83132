"""The sentences the chunker hands on, and the numbered analysis, equal what analyzing each passage gives."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from index.analyzer import Analyzer, NumberedWords
from index.chunker import ChunkingConfig, chunk_article, chunk_with_sentences, sentence_spans
from index.models import Article
from index.passage_analysis import analyze, analyze_numbers

DATA = Path(__file__).parent / "data"

# Words of wire copy, with the punctuation that makes sentence splitting hard: abbreviations, initials,
# datelines, quotes, ellipses, numbers, and words long enough to cut a sentence into pieces.
WORDS = (
    "The",
    "council",
    "voted",
    "on",
    "Tuesday.",
    "Mr.",
    "Dr.",
    "Sen.",
    "U.S.",
    "U.S",
    "a.m.",
    "e.g.",
    "Calif.",
    "(AP)",
    "(Reuters)",
    "\u2014",
    "Harbour",
    "John",
    "F.",
    "Kennedy.",
    "\u201cYes.\u201d",
    "'No.'",
    "flooding.)",
    "Why?!",
    "Really...",
    "no.",
    "5.",
    "30,000.",
    "St.",
    "(see",
    "below).",
    "\u00e9t\u00e9.",
    "Z\u00fcrich",
    "inflation",
    "rose",
    "2.5",
    "percent.",
)
SPACES = (" ", " ", " ", " ", " ", "  ", "\n", "\n\n", "\t", "\u00a0", " \n ")


def article(text: str) -> Article:
    return Article(doc_id="wire/harbour-vote", title="Harbour council votes on flood wall", text=text)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SPACES)), min_size=1, max_size=120),
    st.integers(3, 40),
    st.integers(0, 2),
    st.booleans(),
)
def test_carried_sentences_are_those_of_each_passage_text(
    words: list[tuple[str, str]], max_words: int, overlap: int, paragraphs: bool
) -> None:
    text = "".join(word + space for word, space in words)
    config = ChunkingConfig(max_words=max_words, overlap_sentences=overlap, paragraphs=paragraphs)
    chunks, sentences = chunk_with_sentences(article(text), config)
    assert chunks == chunk_article(article(text), config)
    assert len(sentences) == len(chunks)
    for chunk, carried in zip(chunks, sentences, strict=True):
        if carried is not None:
            assert carried == sentence_spans(chunk.text)


def test_the_passages_of_real_news_carry_their_sentences() -> None:
    config = ChunkingConfig(max_words=60)
    carried_passages = 0
    for line in (DATA / "news-wikinews" / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        news = Article(doc_id=record["id"], title=record["title"], text=record["text"])
        chunks, sentences = chunk_with_sentences(news, config)
        for chunk, carried in zip(chunks, sentences, strict=True):
            if carried is not None:
                carried_passages += 1
                assert carried == sentence_spans(chunk.text)
    assert carried_passages > 20  # the shortcut is taken, not only allowed


def test_a_passage_holding_a_piece_of_an_overlong_sentence_is_split_again() -> None:
    run_on = "The " + " ".join(["flood", "wall", "grew", "longer", "and"] * 12) + " higher."
    text = f"The council met at noon. {run_on} The vote was close."
    chunks, sentences = chunk_with_sentences(article(text), ChunkingConfig(max_words=20))
    run_on_start = text.index(run_on)
    run_on_end = run_on_start + len(run_on)
    for chunk, carried in zip(chunks, sentences, strict=True):
        holds_a_piece = chunk.start < run_on_end and chunk.end > run_on_start
        assert (carried is None) == holds_a_piece
    assert chunks[0].text == "The council met at noon." and sentences[0] == [(0, 24)]


def numbered_as_by_first_appearance(texts: list[str], limit: int) -> tuple[list[list[int]], list[str]]:
    """Each text's numbered analysis, and the words in the order they were numbered."""
    numbering: dict[str, int] = {}

    def number(term: str) -> int:
        return numbering.setdefault(term, len(numbering))

    words = NumberedWords(Analyzer(), number, limit=limit)
    results = []
    for text in texts:
        ids, _, _ = analyze_numbers(words, text)
        results.append(ids)
    return results, list(numbering)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(st.sampled_from(list("ab .!?\n\"')U.S.5,2é\u00a0\u2014ﷺ")), max_size=80), max_size=4),
    st.integers(1, 50),
)
def test_numbered_analysis_is_the_analysis_numbered_by_first_appearance(texts: list[str], limit: int) -> None:
    analyzer = Analyzer()
    expected_order: dict[str, int] = {}
    expected = []
    for text in texts:
        terms, spans, counts = analyze(analyzer, text)
        expected.append([expected_order.setdefault(term, len(expected_order)) for term in terms])
        words = NumberedWords(analyzer, lambda term: expected_order[term])
        assert analyze_numbers(words, text)[1:] == (spans, counts)
    # A small memory is dropped and refilled as it goes: the numbers stay those of the numbering.
    assert numbered_as_by_first_appearance(texts, limit) == (expected, list(expected_order))


def test_numbered_words_give_the_terms_of_real_news_in_order() -> None:
    analyzer = Analyzer()
    lines = (DATA / "news-wikinews" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    results, order = numbered_as_by_first_appearance(texts, limit=500)
    for text, ids in zip(texts, results, strict=True):
        assert [order[i] for i in ids] == analyzer.tokens(text)
    # Upper case and lower case words of non-ASCII text are remembered apart, with the same terms.
    words = NumberedWords(analyzer, {"zürich": 7, "flood": 3}.__getitem__)
    assert words.numbers("Zürich FLOOD zürich flood") == [7, 3, 7, 3]
