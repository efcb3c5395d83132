"""Each MaxScore step of the inverted index's search keeps its promise, checked against exact scores."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.scale_corpus import questions, synthetic
from index.bm25 import LuceneBM25
from index.inverted import InvertedIndex
from index.inverted.search import (
    MARGIN,
    TINY,
    Query,
    candidates,
    complete,
    lower_bound,
    raise_cut,
    seed,
    split_lazy,
    split_short,
    sum_eager,
)

K = 10


def query(sizes: list[int], ub: list[float], k: int = K) -> Query:
    spans = [(0, size) for size in sizes]
    return Query(list(range(len(sizes))), spans, sizes, ub, k)


def test_split_short_takes_the_shortest_list_and_every_short_one() -> None:
    # "geneva" (40 postings) and "lavrov" (90) are short; "talks" and "said" are long, by maximum.
    q = query(sizes=[5_000, 40, 9_000, 90], ub=[1.5, 7.0, 0.4, 6.0])
    assert split_short(q, short_size=100) == ([1, 3], [2, 0])


def test_split_short_always_seeds_from_one_list() -> None:
    q = query(sizes=[5_000, 9_000], ub=[1.5, 0.4])
    assert split_short(q, short_size=10) == ([0], [1])


def test_split_lazy_keeps_lists_whose_maxima_sum_below_the_cut() -> None:
    ub = [0.4, 1.5, 2.0, 6.0]
    assert split_lazy([0, 1, 2, 3], ub, cut=2.0) == ([0, 1], 1.9)
    assert split_lazy([0, 1, 2, 3], ub, cut=1.9) == ([0], 0.4)  # 0.4 + 1.5 reaches the cut
    assert split_lazy([0, 1, 2, 3], ub, cut=0.0) == ([], 0.0)


@pytest.fixture(scope="module")
def news() -> tuple[InvertedIndex, LuceneBM25, list[list[str]]]:
    corpus = synthetic(2_000, seed=11)
    docs = list(corpus.iter_passages())
    asked = [terms for terms in questions(corpus, 40, seed=12) if len(set(terms)) > 1]
    return InvertedIndex.build(docs, block=8), LuceneBM25(docs), asked


def exact_scores(ref: LuceneBM25, terms: list[str]) -> np.ndarray:
    return np.asarray(ref.get_scores([t for t in dict.fromkeys(terms) if t in ref.idf]))


def kth_best(scores: np.ndarray, k: int) -> float:
    positive = np.sort(scores[scores > 0])[::-1]
    return float(positive[k - 1]) if len(positive) >= k else 0.0


@pytest.mark.parametrize("dense_fraction", [1, 8, 1 << 30], ids=["sparse", "default", "dense"])
def test_steps_keep_every_passage_that_places(
    news: tuple[InvertedIndex, LuceneBM25, list[list[str]]], dense_fraction: int
) -> None:
    index, ref, asked = news
    scratch = index.scratch()
    for terms in asked:
        lists, tids = index.query_lists(terms)
        q = lists.query(tids, K)
        exact = exact_scores(ref, terms)
        kth = kth_best(exact, K)
        placing = set(np.flatnonzero(exact >= kth * (1 - 1e-6)).tolist()) if kth else set()

        short, long = split_short(q, short_size=200)
        seeds = seed(lists, scratch, q, short)
        # Seeds are sorted, distinct, and their partial scores never exceed their exact scores.
        assert (np.diff(seeds.ids) > 0).all()
        assert (seeds.partial <= exact[seeds.ids] * (1 + 1e-6)).all()

        theta = lower_bound(lists, q, seeds, long)
        assert theta <= kth * (1 + 1e-6), terms  # a lower bound on the k-th best score

        cut = theta * (1 - MARGIN)
        lazy, lazy_bound = split_lazy(long, q.ub, cut)
        eager = long[len(lazy) :]
        summed = sum_eager(lists, scratch, q, eager, short, seeds.summed, cut)
        floor = max(cut - lazy_bound, TINY)
        cands, partial = candidates(lists, scratch, q, short, summed, floor, dense_fraction)
        assert not scratch.acc.any()  # the sums are zero again for the next query
        assert (np.diff(cands) > 0).all()
        assert placing <= set(cands.tolist()), terms
        if lazy and eager and len(cands) > 4 * q.n_seeds:  # as `pruned` does: many new passages
            raised = raise_cut(lists, scratch, q, lazy, cands, partial, cut)
            assert cut <= raised <= kth * (1 + 1e-6), terms  # still a lower bound
            cut = raised

        cands, full = complete(lists, scratch, q, lazy, cands, partial, cut)
        assert placing <= set(cands.tolist()), terms
        np.testing.assert_allclose(full, exact[cands], rtol=1e-6)  # completed scores are exact


def test_lower_bound_with_fewer_seeds_than_k_uses_block_maxima(
    news: tuple[InvertedIndex, LuceneBM25, list[list[str]]],
) -> None:
    index, ref, _ = news
    by_df = sorted(ref.doc_freqs_total, key=ref.doc_freqs_total.__getitem__)
    rare, common = by_df[0], by_df[-1]  # one passage has the rare word; most have the common one
    lists, tids = index.query_lists([rare, common])
    q = lists.query(tids, K)
    short, long = split_short(q, short_size=1)
    seeds = seed(lists, index.scratch(), q, short)
    assert len(seeds.ids) < K
    theta = lower_bound(lists, q, seeds, long)
    assert 0 < theta <= kth_best(exact_scores(ref, [rare, common]), K) * (1 + 1e-6)
