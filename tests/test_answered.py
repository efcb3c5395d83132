"""Saying when nothing answers: the evidence rule, and how text and JSON show an unanswered question."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.render import NOT_ANSWERED, to_json, to_text
from index.answer import AnswerConfig, QAService
from index.builder import build_index
from index.evidence import AnsweredConfig, Evidence, answers
from tests.conftest import SHIPPED_CORPUS, WriteFiles
from tests.news_corpus import NEWS_FILES


@pytest.fixture
def shipped(tmp_path: Path) -> QAService:
    build_index(SHIPPED_CORPUS, tmp_path / "shipped")
    return QAService.open(tmp_path / "shipped")


@pytest.fixture
def news(write_files: WriteFiles, tmp_path: Path) -> QAService:
    build_index(write_files(dict(NEWS_FILES)), tmp_path / "news")
    return QAService.open(tmp_path / "news")


@pytest.mark.parametrize(
    "question",
    ["Who won the World Cup in Russia?", "Which country hosted the Olympic Games after Russia?"],
)
def test_a_question_the_articles_do_not_answer_shows_the_closest_passages_plainly(
    shipped: QAService, question: str
) -> None:
    answer = shipped.answer(question, 3)
    assert answer.found and not answer.answered
    assert answer.short_answer is None
    text = to_text(answer)
    assert text.startswith(NOT_ANSWERED + "\n\n[1] ")
    assert "**" not in text
    assert to_json(answer)["answered"] is False


def test_answered_questions_keep_their_bold_sentence(shipped: QAService, news: QAService) -> None:
    answer = shipped.answer("how long did the talks last", 3)
    assert answer.answered and answer.short_answer == "four hours"
    assert "**" in to_text(answer) and NOT_ANSWERED not in to_text(answer)
    assert to_json(answer)["answered"] is True
    for question in ("How many strollers are being recalled?", "How much did the cubs weigh at birth?"):
        assert news.answer(question, 3).answered, question


def test_nothing_found_is_not_answered(shipped: QAService) -> None:
    answer = shipped.answer("zeppelin xylophone", 3)
    assert not answer.found and not answer.answered


def test_the_rule_can_be_switched_off(tmp_path: Path) -> None:
    build_index(SHIPPED_CORPUS, tmp_path / "i")
    lenient = QAService.open(tmp_path / "i", AnswerConfig(answered=AnsweredConfig(enabled=False)))
    assert lenient.answer("Who won the World Cup in Russia?", 3).answered


def test_the_rule_weighs_coverage_sentence_rarest_term_and_type() -> None:
    strong = Evidence(coverage=0.8, sentence=0.6, rarest=True, typed=True)
    assert answers(strong, AnsweredConfig())
    assert not answers(Evidence(0.35, 0.35, True, True), AnsweredConfig())
    assert not answers(Evidence(0.8, 0.2, True, True), AnsweredConfig())
    assert not answers(Evidence(0.8, 0.6, False, True), AnsweredConfig(require_rarest=True))
    assert not answers(Evidence(0.8, 0.6, True, False), AnsweredConfig(require_type=True))
    assert answers(Evidence(0.8, 0.6, True, None), AnsweredConfig(require_type=True))


def test_text_shows_the_author_and_sentence_only_sources(news: QAService) -> None:
    answer = news.answer("When were the red panda cubs born?", 3)
    text = to_text(answer)
    assert "Berlin Zoo shows off two red panda cubs · City Post · by Anna Keller · 2024-06-24" in text
    assert any(p.also_in for p in answer.passages)
    assert "    — also in (the sentence only): " in text
    authors = {s["author"] for p in to_json(answer)["passages"] for s in p["sources"]}
    assert "Anna Keller" in authors
