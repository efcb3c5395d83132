"""The inverted index ranks as the rank-bm25 reference does: every query path, save/load, extend."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.scale_corpus import questions, synthetic
from index.bm25 import BM25Params, LuceneBM25
from index.errors import IndexFormatError
from index.inverted import InvertedIndex


class Pruning(InvertedIndex):
    """Every multi-term query goes through MaxScore, however small the corpus; builds in small batches."""

    exhaustive_postings = 0
    short_postings = 1
    batch_tokens = 7


class DenseScan(Pruning):
    """...and finds its candidates by scanning the whole score array."""

    dense_fraction = 1 << 30


ENGINES = (InvertedIndex, Pruning, DenseScan)
COMMON = ["talk", "said", "war", "kerry", "lavrov", "year"]  # in more than half the passages
RARE = [f"w{i}" for i in range(40)] + [
    "naïve",
    "東京",
    "internationalization",  # these three share their first 12 bytes
    "internationalisation",
    "internationalizations",
    "x" * 40,
]
UNKNOWN = ["never", "internationalizatio", "東"]
words = st.sampled_from(COMMON) | st.sampled_from(RARE)
corpora = st.lists(st.lists(words, max_size=14), min_size=1, max_size=40)
queries = st.lists(words | st.sampled_from(UNKNOWN), max_size=8)


def reference(ref: LuceneBM25, terms: Sequence[str], k: int) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Every passage's reference score, and the reference top k."""
    known = [t for t in dict.fromkeys(terms) if t in ref.idf]
    return np.asarray(ref.get_scores(known)), ref.top_k(terms, k)


def assert_same_ranking(
    got: list[tuple[int, float]], exact: np.ndarray, want: list[tuple[int, float]]
) -> None:
    """`got` is a valid top-k under the reference scores: same length, same scores rank by rank."""
    assert len(got) == len(want)
    if not got:
        return
    ids = np.array([i for i, _ in got])
    scores = np.array([s for _, s in got])
    assert len(set(ids.tolist())) == len(ids)
    assert (exact[ids] > 0).all()
    np.testing.assert_allclose(scores, exact[ids], rtol=1e-6)  # each score is the passage's score
    np.testing.assert_allclose(scores, [s for _, s in want], rtol=1e-6)  # and the reference's at its rank
    for (a, sa), (b, sb) in itertools.pairwise(got):
        assert sa > sb or (sa == sb and a < b)


def assert_ranks_like_reference(
    got: list[tuple[int, float]], ref: LuceneBM25, terms: Sequence[str], k: int
) -> None:
    assert_same_ranking(got, *reference(ref, terms, k))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=corpora,
    query_list=st.lists(queries, min_size=1, max_size=6),
    k=st.integers(1, 45),
    block=st.sampled_from([2, 3, 128]),
)
def test_random_corpora_rank_like_reference(
    docs: list[list[str]], query_list: list[list[str]], k: int, block: int
) -> None:
    ref = LuceneBM25(docs)
    for engine in ENGINES:
        index = engine.build(docs, block=block)
        for terms in query_list:
            assert_ranks_like_reference(index.top_k(terms, k), ref, terms, k)


@settings(max_examples=60, deadline=None)
@given(docs=corpora, cuts=st.lists(st.integers(0, 40), max_size=3), query_list=st.lists(queries, max_size=4))
def test_extend_equals_full_build(
    docs: list[list[str]], cuts: list[int], query_list: list[list[str]]
) -> None:
    bounds = [0, *sorted(min(c, len(docs)) for c in cuts), len(docs)]
    grown = InvertedIndex.build(docs[: bounds[1]], block=3)
    for lo, hi in itertools.pairwise(bounds[1:]):
        grown = grown.extend(docs[lo:hi])
    full = InvertedIndex.build(docs, block=3)
    assert grown.n_docs == full.n_docs == len(docs)
    with tempfile.TemporaryDirectory() as folder:
        grown.save(Path(folder))
        grown = InvertedIndex.load(Path(folder))
    # Segments keep passages in order, so even ties rank alike; scores are the same floats.
    for terms in query_list:
        assert grown.top_k(terms, 5) == full.top_k(terms, 5)
        assert all(grown.doc_freq(t) == full.doc_freq(t) for t in terms)


@pytest.fixture(scope="module")
def news() -> tuple[list[list[str]], list[list[str]], LuceneBM25]:
    corpus = synthetic(2_000, seed=7)
    docs = list(corpus.iter_passages())
    return docs, questions(corpus, 30, seed=8), LuceneBM25(docs)


def test_news_like_corpus_ranks_like_reference(
    news: tuple[list[list[str]], list[list[str]], LuceneBM25],
) -> None:
    docs, asked, ref = news
    indexes = [engine.build(docs, block=16) for engine in ENGINES]
    for terms in asked:
        exact, want = reference(ref, terms, 50)
        for k in (1, 10, 50):
            for index in indexes:
                # The reference top 1 and 10 have the scores of its top 50's first ranks.
                assert_same_ranking(index.top_k(terms, k), exact, want[:k])


def test_common_terms_rank_like_reference(news: tuple[list[list[str]], list[list[str]], LuceneBM25]) -> None:
    # Queries of frequent terms only, on small blocks: the block-max paths (best postings by block,
    # postings skipped by block) and the lazy lists that need many lookups.
    docs, _, ref = news
    by_df = sorted(ref.doc_freqs_total, key=ref.doc_freqs_total.__getitem__, reverse=True)
    asked = [[t] for t in by_df[:4]] + [by_df[i : i + n] for n in (2, 3, 5) for i in range(0, 30, 7)]
    asked += [[by_df[0], by_df[i], by_df[40 + i]] for i in range(1, 6)]
    indexes = [engine.build(docs, block=4) for engine in ENGINES]
    for terms in asked:
        exact, want = reference(ref, terms, 50)
        for k in (1, 10, 50):
            for index in indexes:
                assert_same_ranking(index.top_k(terms, k), exact, want[:k])


def test_skips_blocks_that_cannot_place() -> None:
    # "a" is in 300 passages, three of them short with "a" five times; "b" is in every passage.
    docs = [["a", "b", "c", "d"] for _ in range(300)] + [["b", "c", "d", "e"] for _ in range(100)]
    for i in (10, 150, 290):
        docs[i] = ["a"] * 5 + ["b"]
    ref = LuceneBM25(docs)
    for engine in ENGINES:
        index = engine.build(docs, block=4)
        for terms, k in ((["a", "b"], 2), (["a", "b"], 3), (["b", "a", "c"], 1), (["a"], 2)):
            assert_ranks_like_reference(index.top_k(terms, k), ref, terms, k)


def test_save_load_round_trip(tmp_path: Path) -> None:
    docs = [["kerry", "lavrov", "talk"], ["talk", "talk", "geneva"], [], ["東京", "naïve", "talk"]]
    index = InvertedIndex.build(docs, BM25Params(k1=1.5, b=0.5))
    folder = tmp_path / "index"
    folder.mkdir()
    written = index.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(written)
    assert "inverted.json" in written and len(written) == 8  # the header and one segment's arrays
    loaded = InvertedIndex.load(folder)
    assert loaded.params == BM25Params(k1=1.5, b=0.5)
    assert loaded.n_docs == 4
    assert list(loaded.terms()) == sorted(
        ["kerry", "lavrov", "talk", "geneva", "東京", "naïve"], key=str.encode
    )
    assert loaded.doc_freq("talk") == 3 and loaded.doc_freq("nope") == 0
    assert "東京" in loaded and "東" not in loaded
    assert loaded.avgdl == pytest.approx(9 / 4)
    loaded.prefetch()
    ref = LuceneBM25(docs, BM25Params(k1=1.5, b=0.5))
    for terms in (["talk"], ["talk", "geneva", "naïve"], ["kerry", "talk"]):
        assert loaded.top_k(terms, 10) == index.top_k(terms, 10)
        assert_ranks_like_reference(loaded.top_k(terms, 10), ref, terms, 10)


def test_load_refuses_another_version(tmp_path: Path) -> None:
    InvertedIndex.build([["a"]]).save(tmp_path)
    meta = json.loads((tmp_path / "inverted.json").read_text(encoding="utf-8"))
    (tmp_path / "inverted.json").write_text(json.dumps({**meta, "version": 99}), encoding="utf-8")
    with pytest.raises(IndexFormatError):
        InvertedIndex.load(tmp_path)


def test_load_refuses_arrays_that_do_not_fit(tmp_path: Path) -> None:
    InvertedIndex.build([["a", "b"], ["b"]]).save(tmp_path)
    np.save(tmp_path / "seg000000.doc_ids.npy", np.zeros(1, dtype=np.int32))
    with pytest.raises(IndexFormatError):
        InvertedIndex.load(tmp_path)


def test_term_in_every_passage_still_ranks() -> None:
    # Stock BM25Okapi scores both passages 0 here (dorianbrown/rank_bm25#39); Lucene's IDF does not.
    docs = [["kerry", "lavrov", "talk"], ["talk", "talk"]]
    assert InvertedIndex.build(docs).top_k(["talk"], 5) == [
        (1, pytest.approx(LuceneBM25(docs).top_k(["talk"], 5)[0][1])),
        (0, pytest.approx(LuceneBM25(docs).top_k(["talk"], 5)[1][1])),
    ]


def test_queries_without_matches() -> None:
    index = InvertedIndex.build([["a", "b"], ["b", "c"]])
    assert index.top_k([], 5) == []
    assert index.top_k(["zzz", "yyy"], 5) == []
    assert index.top_k(["a"], 0) == []
    assert [i for i, _ in index.top_k(["a", "a", "zzz"], 5)] == [0]
    assert len(index.top_k(["b", "c"], 99)) == 2


def test_empty_corpus() -> None:
    index = InvertedIndex.build([])
    assert index.n_docs == 0 and index.top_k(["a"], 3) == [] and index.doc_freq("a") == 0
    assert index.extend([["a"]]).top_k(["a"], 3) == [
        (0, pytest.approx(LuceneBM25([["a"]]).top_k(["a"], 3)[0][1]))
    ]


def test_progress_reports_passages_done() -> None:
    seen: list[int] = []
    InvertedIndex.build(([f"w{i % 7}"] for i in range(20_000)), progress=seen.append)
    assert seen[-1] == 20_000 and seen == sorted(seen) and len(seen) > 1
