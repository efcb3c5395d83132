"""QAService: retrieval, highlights, sources, dedupe and the no-answer cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rank_bm25 import BM25Okapi

from index.answer import AnswerConfig, QAService
from index.bm25 import LuceneBM25
from index.builder import build_index
from index.chunker import ChunkingConfig
from index.errors import QuestionError
from index.settings import IndexConfig
from tests.conftest import WriteFiles


def service_for(write_files: WriteFiles, tmp_path: Path, files: dict[str, str], **chunking: Any) -> QAService:
    corpus = write_files(files)
    config = IndexConfig(chunking=ChunkingConfig(**chunking)) if chunking else IndexConfig()
    build_index(corpus, tmp_path / "index", config)
    return QAService.open(tmp_path / "index")


def test_answer_has_passages_highlight_and_sources(qa: QAService) -> None:
    answer = qa.answer("How long did Kerry and Lavrov talk in Paris?")
    assert answer.found
    best = answer.passages[0]
    assert best.sources[0].title == "Kerry and Lavrov End Paris Talks Without a Deal"
    assert best.sources[0].publisher == "Example Wire"
    assert best.sources[0].url == "https://news.example/kerry-lavrov-paris"
    assert best.highlight is not None
    assert "four hours" in best.text[slice(*best.highlight)]
    assert answer.highlighted_sentence == best.text[slice(*best.highlight)]
    assert answer.sources[0] == best.sources[0]


def test_idf_stays_positive_for_terms_in_half_the_corpus() -> None:
    # rank_bm25#39: with two documents, a term in one of them gets IDF 0 from stock BM25Okapi.
    docs = [["kerri", "talk", "pari"], ["garden", "bed", "tomato"]]
    assert BM25Okapi(docs).get_scores(["pari"]).tolist() == [0.0, 0.0]
    assert LuceneBM25(docs).top_k(["pari"], 2)[0][0] == 0


def test_two_article_corpus_still_ranks_the_right_one(write_files: WriteFiles, tmp_path: Path) -> None:
    qa = service_for(
        write_files,
        tmp_path,
        {
            "a.txt": "Paris talks\n\nThe ministers talked for four hours in Paris.",
            "b.txt": "Garden news\n\nThe garden has forty raised beds.",
        },
    )
    answer = qa.answer("what happened in Paris")
    assert [p.sources[0].path for p in answer.passages] == ["a.txt"]


def test_no_match_and_stopword_only_questions_give_no_answer(qa: QAService) -> None:
    for question in ("", "   ", "what is the", "zeppelin xylophone"):
        answer = qa.answer(question)
        assert not answer.found and answer.passages == ()


def test_passages_never_share_no_term_with_the_question(qa: QAService) -> None:
    answer = qa.answer("tomatoes", k=10)
    assert answer.found
    assert all("tomato" in p.text.lower() or "tomato" in p.sources[0].title.lower() for p in answer.passages)


def test_too_long_question_is_refused(index_dir: Path) -> None:
    qa = QAService.open(index_dir, AnswerConfig(max_question_chars=40))
    with pytest.raises(QuestionError, match="keep it under 40"):
        qa.answer("bridge " * 20)


WIRE = (
    "The regional council approved a new flood barrier for the harbour on Monday. "
    "The barrier will cost 12 million euros and take three years to build. "
    "Engineers said the design can hold back a storm surge of four metres."
)


def test_copies_of_one_story_are_shown_once_with_every_source(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    qa = service_for(
        write_files,
        tmp_path,
        {
            "wire1.txt": f"Title: Council backs flood barrier\nSource: Coast Herald\n\n{WIRE}",
            "wire2.txt": f"Title: Harbour to get flood barrier\nSource: Bay News\n\n{WIRE} Residents welcomed it.",
            "other.txt": "Title: Barrier reef survey\n\nDivers surveyed the reef barrier for coral damage.",
        },
    )
    answer = qa.answer("how much will the flood barrier cost", k=3)
    best = answer.passages[0]
    assert {s.publisher for s in best.sources} == {"Coast Herald", "Bay News"}
    assert sum("12 million euros" in p.text for p in answer.passages) == 1


def test_overlapping_chunks_of_one_article_are_not_shown_twice(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    body = " ".join(f"Sentence {i} mentions the lighthouse keeper and the storm." for i in range(12))
    qa = service_for(write_files, tmp_path, {"light.txt": f"Lighthouse\n\n{body}"}, max_words=30)
    answer = qa.answer("lighthouse keeper storm", k=5)
    seen: set[str] = set()
    for passage in answer.passages:
        sentences = {s.strip() for s in passage.text.split(".") if s.strip()}
        assert not sentences & seen
        seen |= sentences


def test_service_is_stateless_across_calls(qa: QAService) -> None:
    first = qa.answer("bridge repairs")
    qa.answer("library hours")
    assert qa.answer("bridge repairs") == first


def test_stats(qa: QAService) -> None:
    stats = qa.stats()
    assert stats.articles == 4 and stats.passages >= 4 and stats.skipped_files == 0
