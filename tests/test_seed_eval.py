"""The public seed questions on the shipped corpus, answered with the settings the product ships with."""

from __future__ import annotations

import pytest
from conftest import DATA, SHIPPED_CORPUS

from bot.config import Settings
from bot.service import open_service
from index.evaluation import QuestionResult, read_questions, run_questions, summarize

SEED_QUESTIONS = DATA / "seed-questions.jsonl"  # a copy of ../shared/eval/seed-questions.jsonl

# s21 ("What reason did Russia give for the troops at the border?"): the answer sentence ("Russia said
# the troops are there for military exercises") shares fewer weighted question terms with the question
# than "America's main concern are the Russian troops on Ukraine's east border", so lexical scoring
# highlights the latter. The answer is still in the top 3. Strict: an improvement must update this list.
KNOWN_SENTENCE_MISSES = {"s21"}


@pytest.fixture(scope="module")
def seed_results(tmp_path_factory: pytest.TempPathFactory) -> list[QuestionResult]:
    index_dir = tmp_path_factory.mktemp("seed") / "index"
    settings = Settings(_env_file=None, corpus=SHIPPED_CORPUS, index_dir=index_dir)  # type: ignore[call-arg]
    service = open_service(settings)
    questions = read_questions(SEED_QUESTIONS)
    assert not questions.bad_lines
    return run_questions(service.answer, questions.questions, 10)


def test_every_seed_question_is_answered_in_the_top_3(seed_results: list[QuestionResult]) -> None:
    ranks = {r.question.id: r.rank for r in seed_results}
    assert all(rank is not None and rank <= 3 for rank in ranks.values()), ranks
    assert summarize(seed_results, 10).hit_at(3) == 1.0


def test_first_passage_highlights_the_answer_sentence(seed_results: list[QuestionResult]) -> None:
    misses = {r.question.id for r in seed_results if not r.sentence_hit}
    assert misses == KNOWN_SENTENCE_MISSES, {
        r.question.id: r.answer.highlighted_sentence for r in seed_results if not r.sentence_hit
    }


def test_duration_question_gets_a_short_answer(seed_results: list[QuestionResult]) -> None:
    by_id = {r.question.id: r for r in seed_results}
    assert by_id["s01"].answer.short_answer == "four hours"
