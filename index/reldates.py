"""Relative dates in article text ("on Monday", "last week", "yesterday") resolved against the article's date.

News counts days from the day it is published: "Sunday" in a story dated Monday 31 March 2014 is
30 March 2014. A weekday alone is the latest such day on or before the article's date, unless the
clause speaks of what is to come ("will reopen Friday"): then the next such day on or after it.
Weeks start on Monday. A weekday followed by its date ("Monday, Jan. 20"), a plural ("on Mondays")
and a named day ("Black Friday", "Super Tuesday") are not relative dates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from .models import RelativeDate

_WEEKDAYS = [name.lower() for name in calendar.day_name]
_PARTS = r"(?:\s+(?:morning|afternoon|evening|night))?"
_PATTERN = re.compile(
    r"\b(?:(?P<day>yesterday|today|tonight|tomorrow)"
    r"|(?P<which>last|this|next|past)\s+(?P<unit>week|weekend|month|year)"
    rf"|(?:(?P<mod>last|next|this)\s+)?(?P<weekday>{'|'.join(calendar.day_name)})(?!s\b){_PARTS})\b",
    re.IGNORECASE,
)
# A weekday with its date beside it ("Monday, Jan. 20", "Monday 3 March") needs no resolving.
_DATED = re.compile(r",?\s+(?:\d|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d)")
# Words before a weekday that make it part of a name or a title.
_NAMED_DAY = re.compile(
    r"\b(?:Black|Cyber|Good|Holy|Ash|Easter|Palm|Super|Bloody|Giving|Shrove|Maundy|Whit)\s+$", re.IGNORECASE
)
# What looks ahead, earlier in the same sentence: "will", "is expected to", "plans to", "is scheduled".
_FUTURE = re.compile(
    r"\b(?:will|won't|'ll|shall|would|expected\s+to|scheduled|plans?\s+to|planned\s+to|set\s+to|due\s+to"
    r"|is\s+due|are\s+due|going\s+to|upcoming)\b[^.;!?]*$",
    re.IGNORECASE,
)
# A clause break: a look-ahead word before it speaks of another clause.
_CLAUSE_BREAK = re.compile(r"[,;:]\s+(?:and|but|while|after|before|as|when)?\b|\s+\band\b\s+", re.IGNORECASE)


def resolve(
    text: str, published: dt.date | None, span: tuple[int, int] | None = None
) -> tuple[RelativeDate, ...]:
    """The relative dates in `text` (or in `text[span]`), resolved against `published`; none undated.

    Offsets of the results are into `text`.
    """
    if published is None:
        return ()
    start, end = span if span is not None else (0, len(text))
    found = []
    for match in _PATTERN.finditer(text, start, end):
        resolved = _resolve(match, text, published)
        if resolved is not None:
            first, last = resolved
            found.append(
                RelativeDate(match.start(), match.end(), match.group(), first, last, label(first, last))
            )
    return tuple(found)


def _resolve(match: re.Match[str], text: str, published: dt.date) -> tuple[dt.date, dt.date] | None:
    day = (match.group("day") or "").lower()
    if day:
        offset = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[day]
        moved = published + dt.timedelta(days=offset)
        return moved, moved
    if match.group("unit"):
        return period(match.group("which").lower(), match.group("unit").lower(), published)
    weekday = match.group("weekday")
    if _NAMED_DAY.search(text, 0, match.start()) or _DATED.match(text, match.end()):
        return None
    ahead = _looks_ahead(text, match.start())
    moved = weekday_date(
        _WEEKDAYS.index(weekday.lower()), published, (match.group("mod") or "").lower(), ahead
    )
    return moved, moved


def weekday_date(weekday: int, published: dt.date, modifier: str = "", ahead: bool = False) -> dt.date:
    """The day a weekday (0 is Monday) names in an article of `published`.

    "last Friday" is the latest Friday before the article's day, "next Friday" the first after it; a
    weekday alone is the latest on or before it, or with `ahead` the first on or after it.
    """
    if modifier == "next" or (ahead and modifier != "last"):
        forward = (weekday - published.weekday()) % 7
        if modifier == "next" and forward == 0:
            forward = 7
        return published + dt.timedelta(days=forward)
    back = (published.weekday() - weekday) % 7
    if modifier == "last" and back == 0:
        back = 7
    return published - dt.timedelta(days=back)


def period(which: str, unit: str, published: dt.date) -> tuple[dt.date, dt.date]:
    """The days of "last week", "this month", "next year" ... in an article of `published`."""
    step = {"last": -1, "past": -1, "this": 0, "next": 1}[which]
    if unit in ("week", "weekend"):
        monday = published - dt.timedelta(days=published.weekday()) + dt.timedelta(weeks=step)
        if unit == "weekend":
            return monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
        return monday, monday + dt.timedelta(days=6)
    if unit == "month":
        index = published.year * 12 + published.month - 1 + step
        year, month = divmod(index, 12)
        return dt.date(year, month + 1, 1), dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])
    year = published.year + step
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _looks_ahead(text: str, position: int) -> bool:
    """True when the clause before `position`, in its sentence, speaks of what is to come."""
    sentence_start = max(text.rfind(mark, 0, position) for mark in ".!?\n") + 1
    before = text[sentence_start:position]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    return _FUTURE.search(clause) is not None


def label(first: dt.date, last: dt.date) -> str:
    """The days in words: "30 March 2014", "10-16 February 2025", "December 2024", "2024"."""
    if first == last:
        return f"{first.day} {calendar.month_name[first.month]} {first.year}"
    if first.month == 1 and first.day == 1 and last == dt.date(first.year, 12, 31):
        return str(first.year)
    if (
        first.day == 1
        and last.day == calendar.monthrange(last.year, last.month)[1]
        and first.month == last.month
    ):
        return f"{calendar.month_name[first.month]} {first.year}"
    if first.year != last.year:
        return f"{label(first, first)} \u2013 {label(last, last)}"
    if first.month != last.month:
        return f"{first.day} {calendar.month_name[first.month]} \u2013 {label(last, last)}"
    return f"{first.day}\u2013{label(last, last)}"


def with_dates(text: str, published: dt.date | None, span: tuple[int, int] | None = None) -> str:
    """`text[span]` (all of `text` without one) with its first relative date followed by the day it
    means: "Sunday (30 March 2014)". The rest of `text` tells whether the date looks ahead."""
    start, end = span if span is not None else (0, len(text))
    found = resolve(text, published, (start, end))
    if not found:
        return text[start:end]
    first = found[0]
    return f"{text[start : first.end]} ({first.label}){text[first.end : end]}"
