"""Date expressions users type for filters ("7d", "last week", "March 2014"), read by fixed rules.

Plain `datetime` rather than dateparser: a filter must mean the same thing every time, and the few
forms below cover what users ask for. dateparser guesses (day/month order, language), reads "last
week" as one day seven days ago rather than a calendar week, and is a large dependency.

Weeks start on Monday. A day ("2025-02-11", "7d", "yesterday") is a point: as a start, the window
runs from it to today. A period ("last week", "March 2014", "2014") is a whole window of its own:
`--since "March 2014"` alone means that month, while "since March 2014" runs from it to today.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from index import QuestionError, SearchFilter

ACCEPTED = (
    "a date (2025-02-11), 7d, 2w, 3m, 1y, today, yesterday, this week, last week, this month, "
    "last month, a month (March 2014), a year (2014), or 'since' one of these"
)
AGO = re.compile(r"(\d{1,4})\s*(d|w|m|y|days?|weeks?|months?|years?)(\s+ago)?")
MONTHS = {name.casefold(): number for number, name in enumerate(calendar.month_name) if name} | {
    name.casefold(): number for number, name in enumerate(calendar.month_abbr) if name
}


class DateExpressionError(QuestionError):
    """A date expression the rules do not read (a usage error); the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class DateSpan:
    """The days an expression names: `start` to `end` inclusive (`end` None: on to today)."""

    start: dt.date
    end: dt.date | None
    period: bool  # a whole window (a week, a month), not a single day


def parse_date(text: str, today: dt.date) -> DateSpan:
    """Read one date expression relative to `today`.

    Raises:
        DateExpressionError: the expression is not one of the accepted forms.
    """
    words = " ".join(text.casefold().split())
    if words.startswith("since "):
        return DateSpan(parse_date(words.removeprefix("since "), today).start, None, period=True)
    span = _point(words, today) or _period(words, today)
    if span is None:
        raise DateExpressionError(f"cannot read the date {text.strip()!r}: use {ACCEPTED}")
    return span


def search_filter(
    since: str | None, until: str | None, sources: tuple[str, ...], today: dt.date
) -> SearchFilter:
    """The filter for the options as typed (None: not given).

    Raises:
        DateExpressionError: a date is not readable, or `until` is open-ended ("since ...").
        QuestionError: the window ends before it starts.
    """
    start = parse_date(since, today) if since else None
    end: dt.date | None = None
    if until:
        until_span = parse_date(until, today)
        if until_span.end is None:
            raise DateExpressionError(f"{until.strip()!r} has no end date; for an end, use {ACCEPTED}")
        end = until_span.end
    elif start is not None and start.period:
        end = start.end
    cleaned = tuple(dict.fromkeys(s.strip() for s in sources if s.strip()))
    return SearchFilter(start.start if start else None, end, cleaned)


def _point(words: str, today: dt.date) -> DateSpan | None:
    if words == "today":
        return DateSpan(today, today, period=False)
    if words == "yesterday":
        day = today - dt.timedelta(days=1)
        return DateSpan(day, day, period=False)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", words):
        try:
            day = dt.date.fromisoformat(words)
        except ValueError:
            return None
        return DateSpan(day, day, period=False)
    match = AGO.fullmatch(words)
    if match is None:
        return None
    count, unit = int(match[1]), match[2][0]
    if unit == "d":
        day = today - dt.timedelta(days=count)
    elif unit == "w":
        day = today - dt.timedelta(weeks=count)
    else:
        day = _months_back(today, count * (12 if unit == "y" else 1))
    return DateSpan(day, day, period=False)


def _period(words: str, today: dt.date) -> DateSpan | None:
    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)
    if words == "this week":
        return DateSpan(monday, None, period=True)
    if words == "last week":
        return DateSpan(monday - dt.timedelta(weeks=1), monday - dt.timedelta(days=1), period=True)
    if words == "this month":
        return DateSpan(first, None, period=True)
    if words == "last month":
        previous = first - dt.timedelta(days=1)
        return DateSpan(previous.replace(day=1), previous, period=True)
    if re.fullmatch(r"\d{4}", words):
        return DateSpan(dt.date(int(words), 1, 1), dt.date(int(words), 12, 31), period=True)
    match = re.fullmatch(r"([a-z]+)\.?,?\s+(\d{4})|(\d{4})-(\d{2})", words)
    if match is None:
        return None
    year = int(match[2] or match[3])
    month = MONTHS.get(match[1] or "") if match[1] else int(match[4])
    if not month or not 1 <= month <= 12 or year < 1:
        return None
    last = calendar.monthrange(year, month)[1]
    return DateSpan(dt.date(year, month, 1), dt.date(year, month, last), period=True)


def _months_back(today: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (the month's last day if it is shorter)."""
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        raise DateExpressionError(f"{months} months before {today} is before year 1")
    return dt.date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))
