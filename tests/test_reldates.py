"""Relative dates in article text resolved against the article's date, in answers and their renderings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.discord_render import passage_markdown
from bot.render import passage_json, to_text
from index.answer import QAService
from index.builder import build_index
from index.models import RelativeDate
from index.reldates import label, period, resolve, weekday_date, with_dates
from tests.conftest import WriteFiles

MONDAY = dt.date(2014, 3, 31)


def _resolved(text: str, published: dt.date) -> list[tuple[str, str]]:
    return [(found.text, found.iso) for found in resolve(text, published)]


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        # The resolved dates the dated news notes give.
        ("The bridge closed at 6 a.m. on Monday.", dt.date(2025, 1, 21), [("Monday", "2025-01-20")]),
        ("The board approved the contract on Monday.", dt.date(2025, 2, 11), [("Monday", "2025-02-10")]),
        # A reprint a day later keeps the agency's words, which still mean the agency's Monday.
        ("The board approved the contract on Monday.", dt.date(2025, 2, 12), [("Monday", "2025-02-10")]),
        (
            "Crews found the corrosion last week.",
            dt.date(2025, 2, 19),
            [("last week", "2025-02-10/2025-02-16")],
        ),
        (
            "It was found during a routine inspection last month.",
            dt.date(2025, 1, 8),
            [("last month", "2024-12")],
        ),
        ("The fire started Monday afternoon.", dt.date(2025, 3, 4), [("Monday afternoon", "2025-03-03")]),
        ("The fire started Tuesday afternoon.", dt.date(2025, 4, 9), [("Tuesday afternoon", "2025-04-08")]),
        ("The main burst early on Sunday.", dt.date(2025, 1, 27), [("Sunday", "2025-01-26")]),
        ("Dockworkers walked off at midnight on Sunday.", dt.date(2025, 3, 3), [("Sunday", "2025-03-02")]),
        ("The team won the title on Saturday.", dt.date(2025, 4, 14), [("Saturday", "2025-04-12")]),
        # The article's own weekday is that day.
        ("The bridge reopened at 5:40 a.m. Tuesday.", dt.date(2025, 4, 22), [("Tuesday", "2025-04-22")]),
        ("The bridge reopened at 5:40 a.m. Tuesday.", dt.date(2025, 4, 23), [("Tuesday", "2025-04-22")]),
        # What is to come counts forward.
        (
            "The ferry will return to its schedule Saturday.",
            dt.date(2025, 4, 23),
            [("Saturday", "2025-04-26")],
        ),
        ("Officials said the road is expected to reopen Friday.", MONDAY, [("Friday", "2014-04-04")]),
        (
            "Officials said Monday that the road would reopen Friday.",
            MONDAY,
            [
                ("Monday", "2014-03-31"),
                ("Friday", "2014-04-04"),
            ],
        ),
        ("The vote is next Monday.", MONDAY, [("next Monday", "2014-04-07")]),
        ("They met last Monday.", MONDAY, [("last Monday", "2014-03-24")]),
        (
            "They met yesterday, and talk again tomorrow.",
            MONDAY,
            [
                ("yesterday", "2014-03-30"),
                ("tomorrow", "2014-04-01"),
            ],
        ),
        ("Sales fell last year.", MONDAY, [("last year", "2013")]),
        ("Talks resume this weekend.", MONDAY, [("this weekend", "2014-04-05/2014-04-06")]),
    ],
)
def test_relative_dates_resolve_against_the_article_date(
    text: str, published: dt.date, expected: list[tuple[str, str]]
) -> None:
    assert _resolved(text, published) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The bridge will close on Monday, Jan. 20, for about ten weeks.",  # its date is given
        "The bridge closes Monday 3 March.",
        "Stores opened early for Black Friday.",  # a named day
        "Candidates campaigned ahead of Super Tuesday.",
        "The library is closed on Mondays.",  # every Monday
        "The council met in March.",  # not relative
    ],
)
def test_what_is_not_a_relative_date(text: str) -> None:
    assert resolve(text, MONDAY) == ()


def test_an_undated_article_resolves_nothing() -> None:
    assert resolve("They met on Sunday.", None) == ()


def test_offsets_point_into_the_text_and_a_span_limits_the_search() -> None:
    text = "Talks began on Friday. They ended on Sunday."
    (found,) = resolve(text, MONDAY, (23, len(text)))
    assert text[found.start : found.end] == "Sunday" and found.first == dt.date(2014, 3, 30)


@pytest.mark.parametrize(
    ("first", "last", "words", "iso"),
    [
        (dt.date(2014, 3, 30), dt.date(2014, 3, 30), "30 March 2014", "2014-03-30"),
        (dt.date(2025, 2, 10), dt.date(2025, 2, 16), "10\u201316 February 2025", "2025-02-10/2025-02-16"),
        (
            dt.date(2025, 1, 27),
            dt.date(2025, 2, 2),
            "27 January \u2013 2 February 2025",
            "2025-01-27/2025-02-02",
        ),
        (
            dt.date(2024, 12, 30),
            dt.date(2025, 1, 5),
            "30 December 2024 \u2013 5 January 2025",
            "2024-12-30/2025-01-05",
        ),
        (dt.date(2024, 12, 1), dt.date(2024, 12, 31), "December 2024", "2024-12"),
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31), "2024", "2024"),
    ],
)
def test_days_in_words_and_in_iso(first: dt.date, last: dt.date, words: str, iso: str) -> None:
    assert label(first, last) == words
    assert RelativeDate(0, 1, "x", first, last, words).iso == iso


def test_weeks_start_on_monday_and_months_cross_years() -> None:
    sunday = dt.date(2014, 3, 30)
    assert period("this", "week", sunday) == (dt.date(2014, 3, 24), sunday)
    assert period("last", "month", dt.date(2025, 1, 8)) == (dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    assert period("next", "month", dt.date(2024, 12, 8)) == (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert weekday_date(6, MONDAY) == sunday
    assert weekday_date(6, MONDAY, ahead=True) == dt.date(2014, 4, 6)


def test_with_dates_follows_the_first_relative_date_with_its_day() -> None:
    assert with_dates("Sunday", MONDAY) == "Sunday (30 March 2014)"
    assert with_dates("6 a.m. on Monday", dt.date(2025, 1, 21)) == "6 a.m. on Monday (20 January 2025)"
    assert with_dates("four hours", MONDAY) == "four hours"
    assert with_dates("Sunday", None) == "Sunday"
    sentence = "The ferry will run every 40 minutes from Saturday."
    assert with_dates(sentence, dt.date(2025, 4, 23), (41, 49)) == "Saturday (26 April 2025)"


# --- in answers ------------------------------------------------------------------------------------

TALKS = """\
Title: Kerry and Lavrov meet in Paris, agree on little
Source: Example Wire
Date: 2014-03-31

PARIS (AP) — U.S. Secretary of State John Kerry and Russian Foreign Minister Sergei Lavrov met in \
Paris on Sunday for four hours of talks on Ukraine, but left without an agreement on how to calm \
the crisis.

Kerry said the two sides had discussed ideas for a diplomatic solution, including the rights of \
Russian speakers in eastern Ukraine. Lavrov said Russia had no intention of crossing the border.

The two diplomats planned to speak again by telephone later this week.
"""


@pytest.fixture
def talks_qa(write_files: WriteFiles, tmp_path: Path) -> QAService:
    corpus = write_files({"paris-talks.txt": TALKS})
    build_index(corpus, tmp_path / "talks-index")
    return QAService.open(tmp_path / "talks-index")


QUESTION = "When did Kerry and Lavrov meet in Paris?"


def test_the_short_answer_gives_the_day_a_weekday_means(talks_qa: QAService) -> None:
    answer = talks_qa.answer(QUESTION, 1)
    assert answer.short_answer == "Sunday (30 March 2014)"


def test_the_highlight_carries_its_resolved_dates(talks_qa: QAService) -> None:
    passage = talks_qa.answer(QUESTION, 1).passages[0]
    (sunday,) = passage.dates
    assert passage.text[sunday.start : sunday.end] == "Sunday"
    data = json.loads(json.dumps(passage_json(passage)))
    assert data["dates"] == [
        {
            "text": "Sunday",
            "date": "2014-03-30",
            "label": "30 March 2014",
            "start": sunday.start,
            "end": sunday.end,
        }
    ]


def test_text_answers_show_the_day_after_the_relative_date(talks_qa: QAService) -> None:
    text = to_text(talks_qa.answer(QUESTION, 1))
    assert "Paris on Sunday (30 March 2014) for four hours" in text
    assert text.count("(30 March 2014)") == 2  # the short answer and the bold sentence


def test_discord_answers_show_the_day_in_the_bold_sentence(talks_qa: QAService) -> None:
    markdown = passage_markdown(talks_qa.answer(QUESTION, 1).passages[0], 1024)
    bold = markdown.split("**")[1]
    assert "on Sunday (30 March 2014) for four hours" in bold
