"""The bold short answer is right or absent: the span of the question's own clause, never the report's date."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.analyzer import Analyzer
from index.answer import QAService
from index.builder import build_index
from index.rerank import Query
from index.short_answer import ShortAnswerConfig, short_answer, short_type
from tests.conftest import WriteFiles
from tests.news_corpus import NEWS_FILES

ANALYZER = Analyzer()
# Every gate open, so that each test below isolates one rule.
OPEN = ShortAnswerConfig(min_sentence=0.0, min_clause=0.0)


def answer_in(question: str, sentence: str, config: ShortAnswerConfig = OPEN) -> str | None:
    query = Query.build(question, ANALYZER, lambda term: 1.0)
    return short_answer(query, question, ANALYZER, sentence, (0, len(sentence)), config)


@pytest.fixture
def news(write_files: WriteFiles, tmp_path: Path) -> QAService:
    build_index(write_files(dict(NEWS_FILES)), tmp_path / "news")
    return QAService.open(tmp_path / "news")


def test_the_reporting_date_is_not_the_answer(news: QAService) -> None:
    # The lead says the zoo announced the cubs "Monday"; they were born on May 28.
    assert news.answer("When were the red panda cubs born?", 3).short_answer in (None, "May 28")
    lead = "Two red panda cubs born at the Berlin Zoo are doing well, the zoo announced Monday."
    assert answer_in("When were the red panda cubs born?", lead) is None
    both = "The zoo announced Monday that the cubs were born on May 28 to mother Jang."
    assert answer_in("When were the red panda cubs born?", both) == "May 28"


def test_a_race_time_is_a_duration(news: QAService) -> None:
    assert short_type("What time did Chebet run?") == "duration"
    assert short_type("In what time did she finish the marathon?") == "duration"
    assert short_type("What time does the parade start?") == "date"
    assert news.answer("What time did Chebet run?", 3).short_answer in (None, "2 hours 19 minutes 48 seconds")
    lead = (
        "Kenya's Ruth Chebet won the Berlin Marathon on Sunday, finishing in 2 hours 19 minutes 48 seconds."
    )
    assert answer_in("What time did Chebet run?", lead) == "2 hours 19 minutes 48 seconds"
    assert (
        answer_in("In what time did Kiprop finish the race?", "Kiprop ran the race in 2:03:17.") == "2:03:17"
    )


def test_of_two_dates_the_one_in_the_questions_clause_wins_or_none(news: QAService) -> None:
    assert news.answer("When was the record set before?", 3).short_answer in (None, "2011")
    sentence = "Chebet won on Sunday and broke a course record that had stood since 2011."
    assert answer_in("When was the course record set?", sentence) == "2011"
    # Neither date sits with a word of this question: unsure, so nothing is shown.
    assert answer_in("When did the men's race start?", sentence) is None


def test_the_type_comes_from_the_opening_wh_word() -> None:
    assert short_type("When did Chebet win?") == "date"
    assert short_type("In what year was the record set?") == "date"
    assert short_type("What was Chebet doing when she was five?") is None
    assert answer_in("Who won?", "Chebet won the race.") is None  # names are not pinned precisely enough


def test_the_span_keeps_its_qualifier_magnitude_range_and_unit() -> None:
    assert answer_in("How many strollers are recalled?", "They recall about 80,000 strollers.") == (
        "about 80,000 strollers"
    )
    assert answer_in("How many cards were stolen?", "Thieves stole between 53 and 56 million cards.") == (
        "between 53 and 56 million cards"
    )
    assert answer_in("How much did the cubs weigh?", "The cubs weighed 110 grams each.") == "110 grams"


def test_fragments_of_numbers_and_bare_abbreviations_are_no_dates() -> None:
    assert answer_in("What year was the fair held?", "The fair drew 1,000 visitors.") is None
    assert answer_in("When did the boat arrive?", "The boat arrived from Mar del Plata.") is None


def test_a_weak_sentence_gets_no_short_answer() -> None:
    sentence = "The zoo opened in 1844 and is Germany's oldest."
    assert answer_in("When did the zoo open?", sentence) == "1844"
    assert answer_in("When did the zoo open its panda house?", sentence, ShortAnswerConfig()) is None


def test_news_fixtures_show_right_short_answers(news: QAService) -> None:
    expected = {
        "How many strollers are being recalled?": "about 80,000 strollers",
        "How much did the cubs weigh at birth?": "about 110 grams",
        "How many red pandas live in the wild?": "Fewer than 10,000 red pandas",
    }
    for question, short in expected.items():
        assert news.answer(question, 3).short_answer == short, question


def test_and_between_names_does_not_cut_the_clause() -> None:
    sentence = (
        "Sunday's meeting was arranged 48 hours after President Barack Obama and Russian President "
        "Vladimir Putin spoke by phone."
    )
    question = "How long before the meeting did Obama and Putin speak by phone?"
    assert answer_in(question, sentence, ShortAnswerConfig()) == "48 hours"


def test_a_weekday_and_the_date_after_it_are_one_answer() -> None:
    sentence = (
        "The Calder River Bridge will close to all traffic on Monday, Jan. 20, for about ten weeks of "
        "emergency repairs, the state Department of Transportation said Wednesday."
    )
    assert answer_in("When will the bridge close?", sentence) == "Monday, Jan. 20"
    assert answer_in("When will the bridge close?", "The bridge will close on Monday, March 3, 2025.") == (
        "Monday, March 3, 2025"
    )


def test_how_deep_asks_for_a_length_not_any_number() -> None:
    sentence = (
        "The council voted 6 to 1 on Thursday to dredge the inner harbor, a $4.2 million project that "
        "will deepen the channel to 12 meters so larger cargo ships can dock."
    )
    assert short_type("How deep will the harbor channel be?") == "measure"
    assert answer_in("How deep will the channel be after dredging?", sentence) == "12 meters"
    assert short_type("How many councillors voted for the dredging?") == "number"
