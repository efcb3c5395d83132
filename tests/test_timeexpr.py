"""Date expressions for filters are read by fixed rules, relative to an injected today."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.timeexpr import ACCEPTED, DateExpressionError, DateSpan, parse_date, search_filter
from index.errors import QuestionError
from index.filters import SearchFilter

TODAY = dt.date(2025, 3, 12)  # a Wednesday
D = dt.date


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("2025-02-11", DateSpan(D(2025, 2, 11), D(2025, 2, 11), period=False)),
        ("today", DateSpan(TODAY, TODAY, period=False)),
        ("Yesterday", DateSpan(D(2025, 3, 11), D(2025, 3, 11), period=False)),
        ("7d", DateSpan(D(2025, 3, 5), D(2025, 3, 5), period=False)),
        ("2w", DateSpan(D(2025, 2, 26), D(2025, 2, 26), period=False)),
        ("3 days ago", DateSpan(D(2025, 3, 9), D(2025, 3, 9), period=False)),
        ("1m", DateSpan(D(2025, 2, 12), D(2025, 2, 12), period=False)),
        ("1y", DateSpan(D(2024, 3, 12), D(2024, 3, 12), period=False)),
        ("this week", DateSpan(D(2025, 3, 10), None, period=True)),
        ("last  week", DateSpan(D(2025, 3, 3), D(2025, 3, 9), period=True)),
        ("this month", DateSpan(D(2025, 3, 1), None, period=True)),
        ("last month", DateSpan(D(2025, 2, 1), D(2025, 2, 28), period=True)),
        ("March 2014", DateSpan(D(2014, 3, 1), D(2014, 3, 31), period=True)),
        ("feb 2024", DateSpan(D(2024, 2, 1), D(2024, 2, 29), period=True)),
        ("2014-03", DateSpan(D(2014, 3, 1), D(2014, 3, 31), period=True)),
        ("2014", DateSpan(D(2014, 1, 1), D(2014, 12, 31), period=True)),
        ("since March 2014", DateSpan(D(2014, 3, 1), None, period=True)),
        ("since 2w", DateSpan(D(2025, 2, 26), None, period=True)),
    ],
)
def test_expressions(text: str, span: DateSpan) -> None:
    assert parse_date(text, TODAY) == span


def test_month_back_from_a_long_month_lands_on_the_shorter_months_last_day() -> None:
    assert parse_date("1m", D(2025, 3, 31)).start == D(2025, 2, 28)


def test_last_month_in_january_is_last_december() -> None:
    assert parse_date("last month", D(2025, 1, 15)) == DateSpan(D(2024, 12, 1), D(2024, 12, 31), period=True)


@pytest.mark.parametrize(
    "text", ["", "next week", "2025-02-30", "March", "Marchember 2014", "2014-13", "soon", "7x", "99999d"]
)
def test_unreadable_expressions_say_what_is_accepted(text: str) -> None:
    with pytest.raises(DateExpressionError) as caught:
        parse_date(text, TODAY)
    message = str(caught.value)
    assert "\n" not in message and ACCEPTED in message


def test_a_period_alone_is_its_own_window() -> None:
    assert search_filter("last week", None, (), TODAY) == SearchFilter(D(2025, 3, 3), D(2025, 3, 9))
    assert search_filter("March 2014", None, (), TODAY) == SearchFilter(D(2014, 3, 1), D(2014, 3, 31))
    assert search_filter("since March 2014", None, (), TODAY) == SearchFilter(D(2014, 3, 1), None)
    assert (
        search_filter("since March 2014", None, (), TODAY).describe() == "articles from 2014-03-01 to today"
    )


def test_a_day_starts_a_window_that_runs_to_today() -> None:
    assert search_filter("7d", None, (), TODAY) == SearchFilter(D(2025, 3, 5), None)


def test_until_takes_the_end_of_its_period() -> None:
    assert search_filter("2025-01-01", "last month", (), TODAY) == SearchFilter(D(2025, 1, 1), D(2025, 2, 28))
    assert search_filter(None, "yesterday", (), TODAY) == SearchFilter(None, D(2025, 3, 11))
    with pytest.raises(DateExpressionError, match="no end date"):
        search_filter(None, "since 2014", (), TODAY)


def test_sources_are_trimmed_and_deduplicated() -> None:
    chosen = search_filter(None, None, (" Valley Sentinel ", "Valley Sentinel", "", "cd.example.net"), TODAY)
    assert chosen.publishers == ("Valley Sentinel", "cd.example.net")


def test_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(QuestionError):
        search_filter("today", "last month", (), TODAY)
