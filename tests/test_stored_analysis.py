"""Stored passage analyses: what answers read instead of analyzing text equals what analyzing gives."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from index import QAService, build_index, update_index
from index.analyzer import Analyzer
from index.errors import IndexFormatError
from index.inverted.vocabulary import Vocabulary
from index.passage_analysis import _decode, analyze
from index.passage_reading import PassageReader
from index.rerank import analyze_passage
from index.segmented import LiveRecords
from index.store import IndexStore
from tests.news_corpus import NEWS_QUESTIONS
from tests.test_incremental import ARTICLES, NAMES, revised, write

DATA = Path(__file__).parent / "data"


def assert_stored_equals_analyzed(index_dir: Path) -> int:
    """Every live passage's stored analysis and every article's stored title against the analyzer's."""
    service = QAService.open(index_dir)
    records, analyzer = service._records, Analyzer()
    checked = 0
    for passage in range(len(records)):
        if records.article_row(passage) < 0:
            continue  # removed
        stored = records.passage_terms(passage)
        assert stored == analyze_passage(analyzer, records.chunk(passage).text), passage
        checked += 1
    for row in range(records.article_count):
        assert records.title_terms(row) == frozenset(analyzer.tokens(records.source(row).title))
    assert checked == service.manifest.passages
    return checked


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_build_stores_what_analyzing_each_passage_gives(tmp_path: Path, workers: int) -> None:
    corpus = DATA / "news-wikinews" / "articles.jsonl"
    build_index(corpus, tmp_path / "index", workers=workers, min_parallel_bytes=0)
    assert assert_stored_equals_analyzed(tmp_path / "index") > 100


def test_the_stored_analyses_are_the_same_with_any_number_of_workers(tmp_path: Path) -> None:
    corpus = DATA / "squad-subset" / "articles.jsonl"
    build_index(corpus, tmp_path / "one", workers=1)
    build_index(corpus, tmp_path / "two", workers=2, min_parallel_bytes=0)
    one, two = IndexStore(tmp_path / "one"), IndexStore(tmp_path / "two")
    files = {
        name: entry for name, entry in one.read_manifest().files.items() if ".pa_" in name or "title" in name
    }
    assert files and all(two.read_manifest().files[name] == entry for name, entry in files.items())


def test_updates_and_merges_store_the_analyses_of_their_new_segment(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:3]:
        write(corpus, name, ARTICLES[name])
    update_index(corpus, index_dir, workers=1)
    for number, name in enumerate(NAMES[3:], 1):
        write(corpus, name, ARTICLES[name])
        write(corpus, NAMES[0], revised(ARTICLES[NAMES[0]], number))  # its old passages are removed
        update_index(corpus, index_dir, workers=1, max_segments=3, max_removed=0.9)
        assert_stored_equals_analyzed(index_dir)
    header = json.loads((IndexStore(index_dir).current() / "inverted.json").read_text(encoding="utf-8"))
    assert len(header["segments"]) > 1 and any(s["deleted"] for s in header["segments"])


def test_a_passage_is_analyzed_alike_sentence_by_sentence_and_whole() -> None:
    analyzer = Analyzer()
    for line in (DATA / "news-wikinews" / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        terms, spans, counts = analyze(analyzer, text)
        assert terms == analyzer.tokens(text)
        assert sum(counts) == len(terms) and len(spans) == len(counts)


@given(st.text(st.sampled_from(list("ab .!?\n\"')U.S.5,2é\u00a0\u2014ﷺ")), max_size=80))
def test_any_text_is_analyzed_alike_sentence_by_sentence_and_whole(text: str) -> None:
    analyzer = Analyzer()
    terms, spans, counts = analyze(analyzer, text)
    expected = analyze_passage(analyzer, text)
    assert terms == analyzer.tokens(text) == list(expected.terms)
    assert tuple(spans) == expected.sentences
    assert sum(counts) == len(terms)


def test_an_index_of_the_previous_format_is_rebuilt_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:3]:
        write(corpus, name, ARTICLES[name])
    update_index(corpus, index_dir, workers=1)
    generation = IndexStore(index_dir).current()
    manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    for name in [name for name in manifest["files"] if ".pa_" in name or ".title_" in name]:
        (generation / name).unlink()
        del manifest["files"][name]
    manifest["format_version"] = 3
    (generation / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(
        IndexFormatError, match="index format 3 is not the supported 4; the index must be rebuilt"
    ):
        QAService.open(index_dir)
    with caplog.at_level(logging.INFO, logger="index"):
        report = update_index(corpus, index_dir, workers=1)
    assert report.full
    rebuilt = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("rebuilding the whole index")
    ]
    assert rebuilt == [
        "rebuilding the whole index: the index cannot be updated (index format 3 is not the supported 4)"
    ]
    assert_stored_equals_analyzed(index_dir)


def test_missing_analyses_are_reported_as_an_index_to_rebuild(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:2]:
        write(corpus, name, ARTICLES[name])
    build_index(corpus, index_dir, workers=1)
    generation = IndexStore(index_dir).current()
    kept = tmp_path / "terms.npy"
    shutil.move(generation / "seg000000.pa_terms.npy", kept)
    with pytest.raises(IndexFormatError, match="must be rebuilt"):
        QAService.open(index_dir)


def test_records_opened_without_their_analyses_are_analyzed_alike(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:4]:
        write(corpus, name, ARTICLES[name])
    build_index(corpus, index_dir, workers=1)
    service = QAService.open(index_dir)
    names = service._records.segment_names
    stored = PassageReader(service._records, Analyzer())
    plain = PassageReader(LiveRecords.open(service.generation, names, None), Analyzer())
    for passage in range(service.manifest.passages):
        assert stored.passage(passage) == plain.passage(passage)
    for row in range(service.manifest.articles):
        assert stored.title_terms(row) == plain.title_terms(row)


def test_terms_are_decoded_from_the_vocabulary_whatever_they_hold() -> None:
    # NFKC turns some ligatures into several words: a term may hold a space (and any non-ASCII letter).
    terms = sorted(["harbour", "30000", "2.5", "صلى الله عليه وسلم", "zürich", "東京", "a" * 40])
    vocabulary = Vocabulary.build([term.encode("utf-8") for term in terms])
    ids = [6, 0, 3, 3, 5, 1, 2, 4]
    assert _decode(vocabulary, ids) == [terms[i] for i in ids]


def test_a_damaged_analysis_is_reported_as_an_index_to_rebuild(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES[:2]:
        write(corpus, name, ARTICLES[name])
    build_index(corpus, index_dir, workers=1)
    path = IndexStore(index_dir).current() / "seg000000.pa_terms.npy"
    terms = np.load(path)
    np.save(path, np.full_like(terms, 2**30))  # same size, so only a full verify would notice
    service = QAService.open(index_dir)
    with pytest.raises(IndexFormatError, match="must be rebuilt"):
        service.answer("How many red panda cubs were born at the Berlin Zoo?")


def test_prefetching_decodes_every_term_and_answers_alike(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    for name in NAMES:
        write(corpus, name, ARTICLES[name])
    build_index(corpus, index_dir, workers=1)
    cold, warm = QAService.open(index_dir), QAService.open(index_dir)
    warm.prefetch()
    for question in NEWS_QUESTIONS:
        assert warm.answer(question, 4) == cold.answer(question, 4)
    assert_stored_equals_analyzed(index_dir)
