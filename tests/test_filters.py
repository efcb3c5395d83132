"""Date and source filters: exact filtered retrieval, the filter rules, and filtered answers on dated news."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import filtered
from benchmarks.scale_corpus import questions, synthetic
from index.answer import QAService
from index.bm25 import LuceneBM25
from index.builder import build_index
from index.errors import QuestionError
from index.filters import ArticleFacets, SearchFilter, source_key
from index.inverted import InvertedIndex
from index.inverted.search import Allowed
from index.models import Source
from tests.test_inverted import ENGINES, assert_same_ranking, corpora, queries

DATED_NEWS = Path(__file__).parent / "data" / "dated-news"


class DirectScoring(InvertedIndex):
    """Every filtered query scores its allowed passages one by one."""

    direct_ratio = 0


class NeverDirect(InvertedIndex):
    """No filtered query scores its allowed passages directly: the mask is checked in every path."""

    direct_ratio = 1 << 40


class PruningNeverDirect(ENGINES[1]):  # type: ignore[misc,valid-type]
    direct_ratio = 1 << 40


class DenseNeverDirect(ENGINES[2]):  # type: ignore[misc,valid-type]
    direct_ratio = 1 << 40


FILTERED_ENGINES = (InvertedIndex, DirectScoring, NeverDirect, PruningNeverDirect, DenseNeverDirect)


def filtered_reference(
    ref: LuceneBM25, terms: Sequence[str], k: int, mask: np.ndarray
) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """The reference scores with every passage outside `mask` at 0, and the reference top k of the rest."""
    known = [t for t in dict.fromkeys(terms) if t in ref.idf]
    exact = np.asarray(ref.get_scores(known), dtype=np.float64) if known else np.zeros(len(mask))
    exact[~mask] = 0.0
    matching = [int(i) for i in np.flatnonzero(exact > 0)]
    ranked = sorted(matching, key=lambda i: (-exact[i], i))[:k]
    return exact, [(i, float(exact[i])) for i in ranked]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    docs=corpora,
    query_list=st.lists(queries, min_size=1, max_size=5),
    k=st.integers(1, 45),
    block=st.sampled_from([2, 3, 128]),
)
def test_filtered_ranking_equals_reference_restricted_to_allowed(
    data: st.DataObject, docs: list[list[str]], query_list: list[list[str]], k: int, block: int
) -> None:
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs))), dtype=bool)
    allowed = Allowed.of(mask)
    ref = LuceneBM25(docs)
    for engine in FILTERED_ENGINES:
        index = engine.build(docs, block=block)
        for terms in query_list:
            got = index.top_k(terms, k, allowed)
            assert all(mask[i] for i, _ in got)
            assert_same_ranking(got, *filtered_reference(ref, terms, k, mask))


@pytest.fixture(scope="module")
def news() -> tuple[list[list[str]], list[list[str]], LuceneBM25]:
    corpus = synthetic(3_000, seed=11)
    docs = list(corpus.iter_passages())
    return docs, questions(corpus, 20, seed=12), LuceneBM25(docs)


@pytest.mark.parametrize("share", [0.005, 0.1, 0.5, 0.97])
def test_news_like_corpus_filtered_at_every_selectivity(
    news: tuple[list[list[str]], list[list[str]], LuceneBM25], share: float
) -> None:
    # Whole articles are allowed or not, as a date filter does: runs of neighbouring passages.
    docs, asked, ref = news
    rng = np.random.default_rng(int(share * 1000))
    articles = np.repeat(np.arange(len(docs) // 6 + 1), 6)[: len(docs)]
    mask = (rng.random(articles.max() + 1) < share)[articles]
    allowed = Allowed.of(mask)
    by_df = sorted(ref.doc_freqs_total, key=ref.doc_freqs_total.__getitem__, reverse=True)
    asked = [*asked, by_df[:1], by_df[:3], [by_df[0], by_df[9], by_df[60]]]
    indexes = [engine.build(docs, block=8) for engine in (*ENGINES, *FILTERED_ENGINES[1:])]
    for terms in asked:
        exact, want = filtered_reference(ref, terms, 50, mask)
        for k in (1, 10, 50):
            for index in indexes:
                assert_same_ranking(index.top_k(terms, k, allowed), exact, want[:k])


def test_filter_allowing_nothing_or_everything() -> None:
    docs = [["bridge", "closed"], ["bridge", "reopens"], ["ferry", "schedule"]]
    index = InvertedIndex.build(docs)
    assert index.top_k(["bridge"], 5, Allowed.of(np.zeros(3, dtype=bool))) == []
    assert index.top_k(["bridge"], 5, Allowed.of(np.ones(3, dtype=bool))) == index.top_k(["bridge"], 5)
    with pytest.raises(ValueError, match="covers 2 passages"):
        index.top_k(["bridge"], 5, Allowed.of(np.ones(2, dtype=bool)))


# ---- the filter's rules -------------------------------------------------------------------------


def test_filter_states_itself() -> None:
    march = dt.date(2014, 3, 1)
    assert SearchFilter().describe() == "all articles" and not SearchFilter().active
    assert SearchFilter(since=march).describe() == "articles from 2014-03-01 to today"
    assert SearchFilter(until=march).describe() == "articles up to 2014-03-01"
    both = SearchFilter(march, dt.date(2014, 3, 31), ("Valley Sentinel", "Coastline Daily"))
    assert both.describe() == "Valley Sentinel or Coastline Daily articles from 2014-03-01 to 2014-03-31"
    assert SearchFilter(publishers=("Coastline Daily",)).describe() == "articles from Coastline Daily"
    assert both.to_json() == {
        "since": "2014-03-01",
        "until": "2014-03-31",
        "sources": ["Valley Sentinel", "Coastline Daily"],
    }


def test_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(QuestionError, match="starts"):
        SearchFilter(since=dt.date(2025, 3, 2), until=dt.date(2025, 3, 1))


@pytest.mark.parametrize(
    ("given_name", "key"),
    [
        ("Harborview Courier", "harborview courier"),
        ("  VALLEY Sentinel ", "valley sentinel"),
        ("https://www.courier.example.com/news/bridge", "courier.example.com"),
        ("www.Courier.example.com/", "courier.example.com"),
        ("example.com", "example.com"),
    ],
)
def test_source_keys(given_name: str, key: str) -> None:
    assert source_key(given_name) == key


def facets() -> ArticleFacets:
    """Four articles (two passages each): two dated Courier stories, a dated Ledger one, an undated one."""
    sources = [
        Source(
            "Bridge to close",
            "Harborview Courier",
            dt.date(2025, 1, 8),
            "https://www.hvcourier.example.com/a",
        ),
        Source("Bridge delay", "Harborview Courier", dt.date(2025, 2, 19), "https://hvcourier.example.com/b"),
        Source("Detours", "Northfield Ledger", dt.date(2025, 1, 21), "https://ledger.example.org/c"),
        Source("What to know", "Harborview Courier", None, "https://hvcourier.example.com/d"),
    ]
    return ArticleFacets(np.repeat(np.arange(4, dtype=np.int32), 2), sources)


def allowed_articles(search_filter: SearchFilter) -> tuple[list[int], int]:
    selection = facets().select(search_filter)
    return sorted({int(i) // 2 for i in selection.allowed.ids}), selection.left_out_undated


def test_date_window_is_inclusive_and_leaves_undated_articles_out() -> None:
    assert allowed_articles(SearchFilter(since=dt.date(2025, 1, 21))) == ([1, 2], 1)
    assert allowed_articles(SearchFilter(until=dt.date(2025, 1, 21))) == ([0, 2], 1)
    assert allowed_articles(SearchFilter(dt.date(2025, 1, 9), dt.date(2025, 1, 20))) == ([], 1)
    assert allowed_articles(SearchFilter()) == ([0, 1, 2, 3], 0)


def test_sources_match_names_and_sites_in_any_case() -> None:
    assert allowed_articles(SearchFilter(publishers=("harborview COURIER",))) == ([0, 1, 3], 0)
    assert allowed_articles(SearchFilter(publishers=("hvcourier.example.com",))) == ([0, 1, 3], 0)
    assert allowed_articles(SearchFilter(publishers=("example.org", "Harborview Courier"))) == (
        [0, 1, 2, 3],
        0,
    )
    # Undated articles are counted only among those the source filter keeps.
    assert allowed_articles(SearchFilter(since=dt.date(2025, 1, 1), publishers=("ledger.example.org",))) == (
        [2],
        0,
    )
    assert facets().publishers == ["Harborview Courier", "Northfield Ledger"]


def test_unknown_source_is_refused_with_the_known_ones() -> None:
    with pytest.raises(QuestionError, match="Harborview Courier, Northfield Ledger"):
        facets().select(SearchFilter(publishers=("Courier",)))


# ---- filtered answers on the dated news corpus ------------------------------------------------------


@pytest.fixture(scope="module")
def dated_news(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    index_dir = tmp_path_factory.mktemp("dated-news-index")
    build_index(DATED_NEWS / "articles", index_dir)
    return QAService.open(index_dir)


def dev_filter_questions() -> list[Any]:
    lines = (DATED_NEWS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    asked = [json.loads(line) for line in lines if line.strip()]
    chosen = [q for q in asked if q["kind"] == "filter" and q["split"] == "dev"]
    return [pytest.param(q, id=q["id"], marks=RANKING_MISSES.get(q["id"], ())) for q in chosen]


# The filter keeps the right articles, but ranking inside them is not good enough yet.
RANKING_MISSES = {
    "dn-019": pytest.mark.xfail(
        reason="the Courier's undated explainer (no detour figure) outranks its closure story", strict=True
    )
}


def question_filter(question: dict[str, Any]) -> SearchFilter:
    since, until = question.get("since"), question.get("until")
    return SearchFilter(
        dt.date.fromisoformat(since) if since else None,
        dt.date.fromisoformat(until) if until else None,
        tuple(question.get("sources", ())),
    )


def article_name(source: Source) -> str:
    return Path(source.path or "").name


@pytest.mark.parametrize("question", dev_filter_questions())
def test_dev_filter_questions_find_their_article_first(
    dated_news: QAService, question: dict[str, Any]
) -> None:
    search_filter = question_filter(question)
    answer = dated_news.answer(question["question"], 3, search_filter)
    assert answer.found and answer.search_filter == search_filter
    first = answer.passages[0].sources[0]
    expected = question["expect_articles"]
    assert article_name(first) in expected or any(
        expected_id in answer.passages[0].chunk_id for expected_id in expected
    )
    for source in answer.sources:  # nothing cited comes from outside the filter
        if search_filter.dated:
            assert source.date is not None
            assert search_filter.since is None or source.date >= search_filter.since
            assert search_filter.until is None or source.date <= search_filter.until
        if search_filter.publishers:
            assert source.publisher in search_filter.publishers
    text = answer.passages[0].text.casefold()
    assert any(gold.casefold() in " ".join(text.split()) for gold in question["answers"])


def test_date_filtered_answer_counts_undated_articles_left_out(dated_news: QAService) -> None:
    question = "When is the Calder River Bridge expected to reopen?"
    unfiltered = dated_news.answer(question, 3)
    assert unfiltered.search_filter is None and unfiltered.left_out_undated == 0
    answer = dated_news.answer(question, 3, SearchFilter(until=dt.date(2025, 2, 10)))
    assert answer.left_out_undated == 5  # the corpus has five undated articles
    assert all(s.path != "hc-calder-bridge-what-to-know.txt" for s in answer.sources)
    courier = dated_news.answer(
        question, 3, SearchFilter(since=dt.date(2025, 1, 1), publishers=("Harborview Courier",))
    )
    assert courier.left_out_undated == 1  # only the Courier's explainer is undated among its articles


def test_service_lists_the_indexed_publishers(dated_news: QAService) -> None:
    assert dated_news.publishers() == [
        "Coastline Daily",
        "Harborview Courier",
        "Lakeshore Business Journal",
        "Metro Wire Service",
        "Northfield Ledger",
        "Pinecrest Gazette",
        "Riverbend Observer",
        "Valley Sentinel",
    ]


@pytest.mark.slow
def test_filtered_benchmark_runs_and_finds_parity(capsys: pytest.CaptureFixture[str]) -> None:
    status = filtered.main(["--passages", "20000", "--queries", "40", "--passes", "1"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "parity  filtered top-k vs exhaustive scoring of the allowed passages: OK" in out
    assert out.count(" OK") == 7  # three filters in each of two layouts, and the summary
