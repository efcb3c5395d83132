"""Publication dates read from article metadata; a date that does not say which day it is stays unknown."""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
from dataclasses import dataclass

# Longer values are prose, not dates: never worth parsing.
MAX_DATE_CHARS = 80
_SPELLED_FORMATS = (
    "%B %d, %Y",  # March 12, 2024
    "%b %d, %Y",  # Mar 12, 2024
    "%B %d %Y",
    "%b %d %Y",
    "%b. %d, %Y",  # Mar. 12, 2024
    "%d %B %Y",  # 12 March 2024
    "%d %b %Y",
    "%d %B, %Y",
)
_ISO_WITH_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ].+")
_YEAR_FIRST = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})")
_YEAR_LAST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")


@dataclass(frozen=True, slots=True)
class DateReading:
    """The date a metadata value names, or None with the reason it was left unknown."""

    date: dt.date | None
    problem: str | None = None  # set when a value was given but could not be read as one day


def parse_date(value: str | None) -> dt.date | None:
    """The date of `value` (see `read_date`), or None."""
    return read_date(value).date


# Articles of one feed or folder share a handful of dates (and DateReading is immutable).
@functools.lru_cache(maxsize=4096)
def read_date(value: str | None) -> DateReading:
    """Read ISO 8601, RFC 2822, "March 12, 2024", "12 March 2024" and unambiguous numeric dates.

    A numeric date whose day and month could be swapped ("12/03/2024": 12 March in France, December 3 in
    the US) is left unknown rather than guessed, as is a day that does not exist ("2024-02-30").
    """
    if value is None or not value.strip():
        return DateReading(None)
    value = " ".join(value.split())
    if len(value) > MAX_DATE_CHARS:
        return DateReading(None, f"date {_quote(value)} is not a date; left unknown")
    for reader in (_iso, _numeric, _rfc2822, _spelled):
        reading = reader(value)
        if reading is not None:
            return reading
    return DateReading(None, f"date {_quote(value)} is not a date in a known form; left unknown")


def _iso(value: str) -> DateReading | None:
    try:
        return DateReading(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date())
    except ValueError:
        if _ISO_WITH_TIME.fullmatch(value):  # "2024-02-30T10:00:00Z"
            return _no_such_day(value)
        return None


def _numeric(value: str) -> DateReading | None:
    """Numeric dates with a four-digit year first (year, month, day) or last (day and month in some order)."""
    if match := _YEAR_FIRST.fullmatch(value):
        return _day(value, int(match[1]), int(match[3]), int(match[4]))
    match = _YEAR_LAST.fullmatch(value)
    if match is None:
        return None
    first, second, year = int(match[1]), int(match[3]), int(match[4])
    if match[2] == ".":  # 12.03.2024: dotted dates are written day first wherever they are used
        return _day(value, year, second, first)
    if first > 12 >= second:  # 13/03/2024
        return _day(value, year, second, first)
    if second > 12 >= first:  # 03/13/2024
        return _day(value, year, first, second)
    if first == second or first > 12:  # 05/05/2024 reads the same both ways; 13/13/2024 is no day
        return _day(value, year, first, second)
    return DateReading(
        None, f"date {_quote(value)} is ambiguous (day and month could be either way round); left unknown"
    )


def _rfc2822(value: str) -> DateReading | None:
    """Dates of RSS feeds and e-mail: "Tue, 12 Mar 2024 10:00:00 +0000"."""
    if email.utils.parsedate_tz(value) is None:
        return None
    try:
        return DateReading(email.utils.parsedate_to_datetime(value).date())
    except (TypeError, ValueError, OverflowError):
        return _no_such_day(value)


def _spelled(value: str) -> DateReading | None:
    for fmt in _SPELLED_FORMATS:
        try:
            return DateReading(dt.datetime.strptime(value, fmt).date())
        except ValueError:
            continue
    return None


def _day(value: str, year: int, month: int, day: int) -> DateReading:
    try:
        return DateReading(dt.date(year, month, day))
    except ValueError:
        return _no_such_day(value)


def _no_such_day(value: str) -> DateReading:
    return DateReading(None, f"date {_quote(value)} is not a valid date; left unknown")


def _quote(value: str) -> str:
    """`value` quoted for one log line: escapes instead of control characters, and cut when long."""
    return repr(value if len(value) <= 40 else value[:40] + "...")
