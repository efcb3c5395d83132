"""The segmented inverted index: after any adds, removals and merges it ranks as a full build of its live
passages, checked against that build and the rank-bm25 reference."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.bm25 import LuceneBM25
from index.inverted import InvertedIndex
from index.inverted.search import Allowed
from tests.test_inverted import COMMON, RARE, UNKNOWN, Pruning, assert_ranks_like_reference

words = st.sampled_from(COMMON) | st.sampled_from(RARE)
passages = st.lists(words, min_size=1, max_size=12)
queries = st.lists(words | st.sampled_from(UNKNOWN), min_size=1, max_size=6)
# One step: add some passages, remove some live ones (by rank among the live), or merge segments.
steps: st.SearchStrategy[tuple[str, list[Any]]] = st.one_of(
    st.tuples(st.just("add"), st.lists(passages, min_size=1, max_size=8)),
    st.tuples(st.just("remove"), st.lists(st.integers(0, 200), min_size=1, max_size=6)),
    st.tuples(st.just("merge"), st.just([])),
)


def live_docs(index: InvertedIndex) -> list[int]:
    """The global ids of the live passages, ascending."""
    mask = index.live
    return [i for i in range(index.n_ids) if mask is None or mask[i]]


def apply(index: InvertedIndex, docs: dict[int, list[str]], step: tuple[str, list]) -> InvertedIndex:
    """`step` applied to `index`; `docs` follows the passages' ids."""
    kind, arg = step
    alive = live_docs(index)
    if kind == "add":
        updated = index.updated(add=arg)
        for offset, tokens in enumerate(arg):
            docs[index.n_ids + offset] = tokens
        return updated
    if kind == "remove":
        if not alive:
            return index
        return index.updated(remove={alive[i % len(alive)] for i in arg})
    # Merge: every segment but the first dropped, its live passages re-added in a new segment.
    dropped = {s.name for s in index.segments[1:]}
    if not dropped:
        return index
    first_size = len(index.segments[0])
    carried = [i for i in alive if i >= first_size]
    updated = index.updated(drop=dropped, add=[docs[i] for i in carried])
    old = dict(docs)
    docs.clear()
    docs.update({i: old[i] for i in range(first_size)})
    docs.update({first_size + n: old[i] for n, i in enumerate(carried)})
    return updated


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.lists(passages, min_size=1, max_size=20),
    plan=st.lists(steps, max_size=7),
    asked=st.lists(queries, min_size=1, max_size=4),
    k=st.integers(1, 12),
    engine=st.sampled_from([InvertedIndex, Pruning]),
)
def test_any_sequence_of_updates_ranks_as_a_full_build(
    start: list[list[str]],
    plan: list[tuple[str, list]],
    asked: list[list[str]],
    k: int,
    engine: type[InvertedIndex],
) -> None:
    index = engine.build(start, block=3)
    docs = dict(enumerate(start))
    for step in plan:
        index = apply(index, docs, step)
    with tempfile.TemporaryDirectory() as folder:  # and through the files, as a generation is opened
        index.save(Path(folder))
        index = engine.load(Path(folder))
    alive = live_docs(index)
    live = [docs[i] for i in alive]
    assert index.n_docs == len(live)
    full = engine.build(live, block=3)
    for terms in asked:
        want = full.top_k(terms, k)
        # Live passages keep their order, so even ties rank alike; scores are the very same floats.
        assert [(alive.index(i), s) for i, s in index.top_k(terms, k)] == want
        for term in terms:
            assert index.doc_freq(term) == full.doc_freq(term)
        if live:
            assert_ranks_like_reference(want, LuceneBM25(live), terms, k)


def test_removed_passages_never_match_and_filters_still_apply() -> None:
    docs = [["ferry", "strike", "harbour"], ["ferry", "timetable"], ["strike", "ends"], ["ferry"]]
    index = InvertedIndex.build(docs).updated(remove=[1])
    assert [i for i, _ in index.top_k(["ferry"], 10)] == [3, 0]
    mask = np.ones(index.n_ids, dtype=bool)
    mask[3] = False
    assert [i for i, _ in index.top_k(["ferry"], 10, Allowed.of(mask))] == [0]
    assert index.n_docs == 3 and index.n_ids == 4 and index.doc_freq("timetable") == 0
    assert "timetable" not in index and list(index.terms()) == ["ends", "ferry", "harbour", "strike"]


def test_a_saved_update_links_the_unchanged_segment(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    InvertedIndex.build([["ferry", "strike"], ["harbour"]]).save(first)
    grown = InvertedIndex.load(first).updated(add=[["ferry", "timetable"]], remove=[1])
    written = grown.save(second)
    old, new = (first / "seg000000.doc_ids.npy").stat(), (second / "seg000000.doc_ids.npy").stat()
    assert (old.st_ino, old.st_nlink) == (new.st_ino, 2)  # one file, two names
    assert {"seg000001.doc_ids.npy", "seg000000.deleted.npy"} <= set(written)
    assert sorted(p.name for p in second.iterdir()) == sorted(written)


def test_removing_an_unknown_passage_is_refused() -> None:
    with pytest.raises(ValueError):
        InvertedIndex.build([["a"]]).updated(remove=[1])
