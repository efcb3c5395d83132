"""The answer path after retrieval does only the work its answer needs, and answers exactly as before."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import rerank, timeline
from index.analyzer import Analyzer
from index.answer import QAService
from index.bm25 import lucene_idf
from index.builder import build_index
from index.citations import ShownPassages, article_texts, cite, cite_printed, joined_texts, may_cite, repeats
from index.generation import load_generation
from index.models import Chunk
from index.settings import IndexConfig
from index.story_table import StoryTable, diversify
from tests.news_corpus import PANDA_WIRE, WILDFIRE_FILES

DATED_NEWS = Path(__file__).parent / "data" / "dated-news"

PANDA_PARAGRAPHS = PANDA_WIRE.strip().split("\n\n")
WILDFIRE_PARAGRAPHS = [
    paragraph for name in sorted(WILDFIRE_FILES) for paragraph in WILDFIRE_FILES[name].split("\n\n")[1:3]
]


def _eager(offered: list[str], updates: dict[int, tuple[int, str]]) -> list[bool]:
    """The rule answers follow, checked passage by passage as they come: `updates[i] = (j, text)` means
    kept passage j shows `text` from just before passage i is offered."""
    texts: list[str] = []
    kept: list[bool] = []
    for index, text in enumerate(offered):
        if index in updates:
            target, merged = updates[index]
            texts[target] = merged
        kept.append(
            not any(repeats(shown, text) for shown, was_kept in zip(texts, kept, strict=True) if was_kept)
        )
        texts.append(text)
    return kept


def test_shown_passages_keep_what_checking_every_passage_at_once_keeps() -> None:
    lead, second, third = PANDA_PARAGRAPHS[:3]
    wire_copy = lead.replace("BERLIN (AP) \u2014 ", "")  # a paper printing the wire text without its dateline
    offered = [lead, WILDFIRE_PARAGRAPHS[0], wire_copy, third, second, WILDFIRE_PARAGRAPHS[1]]
    # The lead grows by the next paragraph (an overlapping chunk merged in) before `third` is offered,
    # so `second` repeats a shown passage while `third`, offered earlier, was checked against the lead alone.
    updates = {3: (0, lead + "\n\n" + second)}
    shown = ShownPassages()
    for index, text in enumerate(offered):
        if index in updates:
            shown.update(*updates[index])
        shown.offer(text)
    expected = _eager(offered, updates)
    assert expected == [True, True, False, True, False, True]
    # Asked out of order, and only in part, each answer is still the eager one.
    assert shown.kept(4) is expected[4]
    assert [shown.kept(index) for index in range(len(offered))] == expected
    assert shown.kept_count() == sum(expected)


@dataclass
class _Ranked:
    article_row: int
    answers: bool = True


def test_diversity_reads_candidates_only_until_its_first_k_are_settled() -> None:
    ranked = [_Ranked(0), _Ranked(1), _Ranked(2), _Ranked(3), _Ranked(4), _Ranked(5)]
    story = {0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4}  # articles 0 and 1 tell one story
    read: list[int] = []

    def reading() -> Iterator[_Ranked]:
        for candidate in ranked:
            read.append(candidate.article_row)
            yield candidate

    first = diversify(reading(), story.__getitem__, lambda c: c.answers, keep=3)
    assert [c.article_row for c in first] == [0, 2, 3]  # article 1 waits behind stories not shown yet
    assert read == [0, 1, 2, 3]
    everything = diversify(ranked, story.__getitem__, lambda c: c.answers)
    assert first == everything[:3]
    assert diversify(iter(ranked[:2]), story.__getitem__, lambda c: c.answers, keep=3) == ranked[:2]


WORDS = st.sampled_from(
    [
        "Berlin", "zoo", "cubs", "Jang", "Wong's", "\u201cwe", "are", "thrilled,\u201d", "keepers",
        "said.", "110", "grams", "\ufb01re", "fire", "Caf\u00e9", "CAFE", "U.S.", "state-run", "the", "—",
    ]
)  # fmt: skip
TEXTS = st.lists(WORDS, min_size=0, max_size=14).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(printed=st.lists(TEXTS, min_size=1, max_size=3), passage=TEXTS, sentence=st.none() | TEXTS)
def test_citing_printed_texts_agrees_with_citing_normalized_ones(
    printed: list[str], passage: str, sentence: str | None
) -> None:
    chunks = [
        Chunk(f"a#{n}", "a", 2 * n, text, 1000 * n, 1000 * n + len(text)) for n, text in enumerate(printed)
    ]
    found = cite_printed(joined_texts(chunks), passage, sentence)
    assert found == cite(article_texts(chunks), passage, sentence)
    if found is not None:  # the quick test never rules out an article that prints the passage
        assert may_cite(joined_texts(chunks), passage, sentence)


def test_citing_printed_texts_folds_quotes_ligatures_and_case() -> None:
    printed = ["The \ufb01re reached the CAF\u00c9 on Main Street, \u201cfast,\u201d officials said."]
    assert cite_printed(printed, "the fire reached the caf\u00e9 on main street", None) == "passage"
    assert cite_printed(printed, "The fire reached the bakery", "officials said the fire reached") is None


class _RefusingAnalyzer(Analyzer):
    """An analyzer that must not be asked: every passage's analysis is stored in the index."""

    def tokens(self, text: str) -> list[str]:
        raise AssertionError(f"analyzed a passage again: {text[:40]!r}")


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("dated-news-answer-path")
    build_index(DATED_NEWS / "articles", index_dir, workers=1)
    return index_dir


def test_timelines_read_the_stored_analyses_of_their_passages(dated_index: Path) -> None:
    qa = QAService.open(dated_index)
    query = "How did the Calder River Bridge closure unfold, from announcement to reopening?"
    expected = qa.timeline(query)
    assert expected.entries
    engine, records = load_generation(qa.generation, qa.manifest)
    analyzer = Analyzer(IndexConfig.from_json(qa.manifest.settings).analyzer)
    ranked = rerank.Query.build(
        query, analyzer, lambda term: lucene_idf(engine.n_docs, engine.doc_freq(term)), qa.config.rerank
    )
    hits = engine.top_k(analyzer.query_terms(query), qa.config.candidates)
    refusing = _RefusingAnalyzer(analyzer.config)
    found, undated = timeline.build(hits, ranked, refusing, records, StoryTable(records, qa.generation), None)
    assert (found, undated) == (expected.entries, expected.left_out_undated)
