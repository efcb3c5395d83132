"""Citations are claims: a source is cited for a passage only when its own article prints that text."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.answer import QAService
from index.builder import build_index
from index.citations import article_texts, carries, padded, repeats
from index.loader import load_corpus
from index.models import Answer, Chunk
from tests.conftest import SHIPPED_CORPUS, WriteFiles
from tests.news_corpus import (
    NEWS_FILES,
    NEWS_QUESTIONS,
    PANDA_FILES,
    PANDA_WIRE,
    STROLLER_RECALL,
    TELECOM_BREACH,
    WILDFIRE_FILES,
)


def open_service(corpus: Path, tmp_path: Path) -> QAService:
    build_index(corpus, tmp_path / "index")
    return QAService.open(tmp_path / "index")


@pytest.fixture
def news_corpus(write_files: WriteFiles) -> Path:
    return write_files(dict(NEWS_FILES))


def article_text_by_path(corpus: Path) -> dict[str | None, str]:
    return {article.path: article.text for article in load_corpus(corpus).articles}


def assert_citations_true(answer: Answer, texts: dict[str | None, str]) -> None:
    for passage in answer.passages:
        sentence = passage.text[slice(*passage.highlight)] if passage.highlight else None
        for source in passage.sources:
            printed = padded(texts[source.path])
            assert padded(passage.text) in printed, (answer.question, source.path, passage.text)
        for source in passage.also_in:
            assert sentence is not None
            assert padded(sentence) in padded(texts[source.path]), (answer.question, source.path, sentence)
            assert padded(passage.text) not in padded(texts[source.path])


def test_every_citation_of_every_passage_is_printed_by_its_source(news_corpus: Path, tmp_path: Path) -> None:
    qa = open_service(news_corpus, tmp_path)
    texts = article_text_by_path(news_corpus)
    cited_twice = False
    for question in NEWS_QUESTIONS:
        for k in (1, 3, 5):
            answer = qa.answer(question, k)
            assert answer.found, question
            assert_citations_true(answer, texts)
            cited_twice |= any(len(p.sources) > 1 for p in answer.passages)
    assert cited_twice  # the wire copies are recognised, not merely kept apart


def test_stories_sharing_a_stock_sentence_stay_two_passages(write_files: WriteFiles, tmp_path: Path) -> None:
    corpus = write_files({"stroller-recall.txt": STROLLER_RECALL, "northline-breach.txt": TELECOM_BREACH})
    qa = open_service(corpus, tmp_path)
    answer = qa.answer("Did the company respond to a request for comment?", 3)
    paths = [[s.path for s in p.sources] for p in answer.passages]
    assert sorted(paths) == [["northline-breach.txt"], ["stroller-recall.txt"]]
    # Each article printed the stock sentence, and only that is credited to the other.
    for passage in answer.passages:
        assert [s.path for s in passage.also_in] == [
            p for p in ("stroller-recall.txt", "northline-breach.txt") if p != passage.sources[0].path
        ]


def test_stories_from_one_template_stay_apart(write_files: WriteFiles, tmp_path: Path) -> None:
    corpus = write_files(dict(WILDFIRE_FILES))
    qa = open_service(corpus, tmp_path)
    answer = qa.answer("How many acres has the wildfire burned?", 3)
    assert len(answer.passages) == 2
    assert {len(p.sources) for p in answer.passages} == {1}
    assert {p.sources[0].path for p in answer.passages} == set(WILDFIRE_FILES)
    assert all(not p.also_in for p in answer.passages)  # their sentences differ in names and numbers


def test_wire_copies_are_shown_once_and_the_next_story_fills_the_slot(
    news_corpus: Path, tmp_path: Path
) -> None:
    qa = open_service(news_corpus, tmp_path)
    answer = qa.answer("How much did the cubs weigh at birth?", 3)
    assert len(answer.passages) == 3
    best = answer.passages[0]
    assert "110 grams" in best.text
    assert {s.path for s in best.sources} == {"citypost-red-panda-cubs.txt", "dailyherald-red-pandas.txt"}
    assert len({p.text for p in answer.passages}) == 3


def test_a_partial_copy_is_cited_only_for_the_sentence_it_printed(tmp_path: Path) -> None:
    qa = open_service(SHIPPED_CORPUS, tmp_path)
    texts = article_text_by_path(SHIPPED_CORPUS)
    answer = qa.answer("Where was the meeting held?", 3)
    best = answer.passages[0]
    assert best.highlight is not None
    assert "Russian ambassador" in best.text[slice(*best.highlight)]
    assert len(best.sources) == 1
    assert len(best.also_in) == 1
    assert_citations_true(answer, texts)


def test_article_texts_join_consecutive_and_overlapping_chunks() -> None:
    text = "One two three. Four five six.\n\nSeven eight nine. Ten eleven twelve."
    chunks = [
        Chunk("a#1", "a", 1, "Four five six.", 15, 29),
        Chunk("a#0", "a", 0, "One two three. Four five six.", 0, 29),
        Chunk("a#2", "a", 2, "Seven eight nine.", 31, 48),
        Chunk("a#4", "a", 4, "Nothing here.", 70, 83),
    ]
    assert text[31:48] == "Seven eight nine."
    joined = article_texts(chunks)
    assert joined == [" one two three four five six seven eight nine ", " nothing here "]
    assert carries(joined, "six. Seven eight")
    assert not carries(joined, "nine. Nothing")


def test_repeats_tolerates_punctuation_but_not_other_numbers() -> None:
    shown = (
        "\u201cThe Russian troop buildup is creating a climate of fear,\u201d Kerry told reporters on Sunday."
    )
    assert repeats(
        shown, '"The Russian troop buildup is creating a climate of fear," Kerry told reporters on Sunday.'
    )
    first, second = (WILDFIRE_FILES[name].split("\n\n")[1] for name in sorted(WILDFIRE_FILES))
    assert not repeats(first, second)


EDITORS_NOTE = (
    "Editor's note: This story has been updated with comment from the Leipzig Zoo. Our science desk follows "
    "breeding programs for endangered animals across Europe, and readers can send us tips about newborn "
    "animals at their local zoos through the form on our website. We publish the best tips every Friday in "
    "our weekend edition.\n\n"
)


def test_a_copy_cut_into_passages_differently_is_still_cited_in_full(
    write_files: WriteFiles, tmp_path: Path
) -> None:
    # The weekly prints the wire story after a note of its own, so its passages start and end elsewhere:
    # the City Post passage spans two of the weekly's, and only one of them matches the question.
    corpus = write_files(
        {
            "citypost-red-panda-cubs.txt": PANDA_FILES["citypost-red-panda-cubs.txt"],
            "weekly-red-pandas.txt": "Title: Good news from Berlin\nSource: Science Weekly\n\n"
            + EDITORS_NOTE
            + PANDA_WIRE,
        }
    )
    qa = open_service(corpus, tmp_path)
    answer = qa.answer("Where did mother Jang and father Wong come from?", 3)
    best = answer.passages[0]
    assert best.sources[0].path == "citypost-red-panda-cubs.txt"
    assert [s.path for s in best.sources] == ["citypost-red-panda-cubs.txt", "weekly-red-pandas.txt"]
    assert_citations_true(answer, article_text_by_path(corpus))
