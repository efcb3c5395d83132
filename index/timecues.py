"""Time read from a question ("latest", "yesterday", "in March 2025") and the rerank shift it asks for.

A cue either asks for the newest report on a story ("what is the latest on the talks", "is the notice
still in effect"), for reports from a named window ("what happened yesterday", "how many homes burned
in March 2025"), or orders a story around one of its events ("after the talks", "before the vote").

Windows are read against the date of the newest article in the index, never against the clock: an
archive of 2014 news asked "what happened yesterday" means the day before its last article, a corpus
that follows live feeds has articles from about today anyway, and the same question over the same
index always gets the same answer. A date filter's end replaces that anchor when it comes earlier.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .analyzer import fold
from .models import Source
from .rerank import RerankConfig

# News reports an event on the day it happens or the day after: a window for "yesterday" also takes in
# the articles of the day after it. A named month or date is often reported for some days more.
REPORT_DELAY_DAYS = 1
NAMED_DATE_DELAY_DAYS = 7
# The newest date on a story gets the whole recency weight, the next one half of it, and so on.
NEWNESS_DECAY = 0.5

# Words and phrases that ask for the newest report and mean nothing else: they leave the search terms.
# "current" and "final" ask for the newest too, but are often the topic ("ocean current", "the final").
_RECENCY_DROPPED = (
    r"the\s+latest|latest|most\s+recent(?:ly)?|newest|recent(?:ly)?|right\s+now|currently|at\s+present"
    r"|at\s+the\s+moment|as\s+of\s+now|so\s+far|to\s+date|up\s+to\s+date|yet|still|any\s*more|now"
)
_RECENCY_KEPT = r"current|final"
_WEEKDAYS = [name.lower() for name in calendar.day_name]
_MONTHS = (
    {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
    | {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_MONTH = rf"(?:{'|'.join(sorted(_MONTHS, key=len, reverse=True))})\.?"
_YEAR = r"(?:19|20)\d\d"

_RECENCY = re.compile(rf"\b(?:({_RECENCY_DROPPED})|({_RECENCY_KEPT}))\b")
# Windows named relative to now: their words leave the search terms (an article's own "last week"
# means another week).
_RELATIVE_WINDOW = re.compile(
    r"\b(?:(today|tonight|this\s+(?:morning|afternoon|evening))|(yesterday)"
    r"|(this|last|past)\s+(week|weekend|month|year)"
    rf"|(?:on|last|this\s+past|since)\s+({'|'.join(_WEEKDAYS)})(?!s))\b"
)
# Windows named by the calendar: "in March 2025", "on 3 March", "on March 3, 2025", "in 2014". The
# month and the year stay search terms: articles print them.
_NAMED_WINDOW = re.compile(
    rf"\b(?:in|during|on|since)\s+(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})(?:,?\s+({_YEAR}))?"
    rf"|({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+({_YEAR}))?"
    rf"|(?:early\s+|late\s+|mid-?)?({_MONTH})(?:,?\s+({_YEAR}))?|({_YEAR}))\b"
)
_NAME = re.compile(r"\b[A-Z][\w'-]*")
# An event of the story named as a point in time: "after the talks", "before the vote".
_EVENT = re.compile(r"\b(after|before|since|following|ahead\s+of)\s+(?:the|a|an|his|her|their|its)\s+\w")


@dataclass(frozen=True, slots=True)
class DateWindow:
    """The days articles of a named time are dated: `start` to `end`, inclusive."""

    start: dt.date
    end: dt.date

    def holds(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class TimeCues:
    """The time a question asks about, and the question as searched (pure cue words left out)."""

    search_text: str
    recency: bool = False  # the newest report on the story
    window: DateWindow | None = None  # reports from these days
    order: int = 0  # +1 after an event of the story, -1 before it
    phrases: tuple[str, ...] = ()  # the cues found, as written
    names: str = ""  # the capitalized words after the first: what news names its stories by

    @property
    def active(self) -> bool:
        return self.recency or self.window is not None or self.order != 0


def find_cues(question: str, anchor: dt.date | None) -> TimeCues:
    """The time cues of `question`; windows are resolved against `anchor` (none without it).

    `search_text` is `question` with the cue words that are not content blanked out ("yet", "latest",
    "yesterday").
    """
    lowered = fold(question).lower()
    if len(lowered) != len(question):  # folding changed the length: keep offsets honest, search as is
        lowered = question.lower()
    dropped: list[tuple[int, int]] = []
    phrases: list[str] = []
    recency = False
    for match in _RECENCY.finditer(lowered):
        recency = True
        phrases.append(match.group())
        if match.group(1):
            dropped.append(match.span())
    window: DateWindow | None = None
    relative = _RELATIVE_WINDOW.search(lowered)
    if relative is not None:
        phrases.append(relative.group())
        dropped.append(relative.span())
        window = _relative_window(relative, anchor) if anchor else None
    named = _NAMED_WINDOW.search(lowered)
    if named is not None and relative is None:
        phrases.append(named.group())
        window = _named_window(named, anchor) if anchor else None
    opening = relative or named
    if (
        window is not None
        and anchor is not None
        and opening is not None
        and opening.group().startswith("since")
    ):
        window = DateWindow(window.start, max(window.start, anchor))  # "since March": from then on
    order = 0
    event = _EVENT.search(lowered)
    if event is not None:
        phrases.append(event.group(1))
        order = -1 if event.group(1) == "before" or event.group(1).startswith("ahead") else 1
    names = " ".join(match.group() for match in _NAME.finditer(question) if match.start() > 0)
    return TimeCues(_blank(question, dropped), recency, window, order, tuple(phrases), names)


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` with `spans` replaced by spaces (offsets elsewhere stay where they were)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _relative_window(match: re.Match[str], anchor: dt.date) -> DateWindow:
    """The days of "today", "yesterday", "last week", "on Monday" ... counted back from `anchor`."""
    delay = dt.timedelta(days=REPORT_DELAY_DAYS)
    if match.group(1):
        return DateWindow(anchor, anchor)
    if match.group(2):
        return DateWindow(anchor - dt.timedelta(days=1), anchor)
    if match.group(5):
        back = (anchor.weekday() - _WEEKDAYS.index(match.group(5))) % 7
        day = anchor - dt.timedelta(days=back)
        return DateWindow(day, min(day + delay, anchor))
    which, unit = match.group(3), match.group(4)
    if unit in ("week", "weekend"):
        monday = anchor - dt.timedelta(days=anchor.weekday())
        if which != "this":
            monday -= dt.timedelta(weeks=1)
        start = monday + dt.timedelta(days=5) if unit == "weekend" else monday
        return DateWindow(start, min(monday + dt.timedelta(days=6) + delay, anchor))
    if unit == "month":
        first = anchor.replace(day=1)
        if which != "this":
            first = (first - dt.timedelta(days=1)).replace(day=1)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return DateWindow(first, min(last + delay, anchor))
    year = anchor.year if which == "this" else anchor.year - 1
    return DateWindow(dt.date(year, 1, 1), min(dt.date(year, 12, 31) + delay, anchor))


def _named_window(match: re.Match[str], anchor: dt.date) -> DateWindow | None:
    """The days of "in March 2025", "on 3 March", "in 2014"; a date without a year is the latest one
    not after `anchor`. None for a date that does not exist."""
    delay = dt.timedelta(days=NAMED_DATE_DELAY_DAYS)
    if match.group(9):
        year = int(match.group(9))
        return DateWindow(dt.date(year, 1, 1), dt.date(year, 12, 31) + delay)
    day_text = match.group(1) or match.group(5)
    month_text = match.group(2) or match.group(4) or match.group(7)
    year_text = match.group(3) or match.group(6) or match.group(8)
    month = _MONTHS[month_text.rstrip(".")]
    year = int(year_text) if year_text else anchor.year
    try:
        if day_text:
            day = dt.date(year, month, int(day_text))
            if not year_text and day > anchor:
                day = day.replace(year=year - 1)
            return DateWindow(day, day + delay)
        if not year_text and (year, month) > (anchor.year, anchor.month):
            year -= 1
        last = calendar.monthrange(year, month)[1]
        return DateWindow(dt.date(year, month, 1), dt.date(year, month, last) + delay)
    except ValueError:
        return None


class Candidate(Protocol):
    """What the time shift reads of a candidate passage."""

    @property
    def sources(self) -> Sequence[Source]: ...  # its own article first

    @property
    def title_terms(self) -> frozenset[str]: ...

    @property
    def story_terms(self) -> set[str]: ...  # the terms of its article's candidate passages together


def time_scores(
    cues: TimeCues,
    candidates: Sequence[Candidate],
    scores: Sequence[float],
    query_idf: Mapping[str, float],
    config: RerankConfig,
    name_terms: Collection[str] = (),
) -> list[float]:
    """`scores` shifted as the cues ask: toward the newest (or, before an event, the oldest) dated
    candidates on the story, and toward articles dated in the window.

    A candidate is on the story when its article (its title and candidate passages) holds the terms
    of the names in the question (`name_terms`: "Calder River Bridge"), or, for a question that names
    nothing, at least `config.recency_story` of the best article's share of the question. Newness
    goes by the order of the dates on the story, halving at each older date, not by days between
    them: the latest update counts as the latest whether it came a day or a month after the one
    before. With
    `config.undated_last`, an undated candidate on the story of a recency question never ranks above
    the best dated one on the story (an undated explainer cannot say it is the latest).
    """
    shifted = list(scores)
    dates = [candidate.sources[0].date for candidate in candidates]
    if not cues.active or not any(dates):
        return shifted
    total = sum(query_idf.values()) or 1.0
    relevance = [
        sum(w for term, w in query_idf.items() if term in c.story_terms or term in c.title_terms) / total
        for c in candidates
    ]
    best = max(relevance, default=0.0)
    on_story = [share > 0.0 and share >= config.recency_story * best for share in relevance]
    if name_terms:
        on_story = [
            all(term in c.story_terms or term in c.title_terms for term in name_terms) for c in candidates
        ]
    newer = config.recency if cues.recency else 0.0
    newer += config.event_order * cues.order
    if newer:
        story_days = {day for day, story in zip(dates, on_story, strict=True) if day and story}
        days = sorted(story_days, reverse=newer > 0)  # the favoured end first
        rank = {day: position for position, day in enumerate(days)}
        for i, day in enumerate(dates):
            if day is not None and on_story[i]:
                shifted[i] += abs(newer) * NEWNESS_DECAY ** rank[day]
    if cues.window is not None and config.time_window:
        for i, day in enumerate(dates):
            if day is not None and cues.window.holds(day):
                shifted[i] += config.time_window
    if cues.recency and config.undated_last and config.recency:
        _undated_last(shifted, dates, on_story)
    return shifted


def _undated_last(scores: list[float], dates: Sequence[dt.date | None], on_story: Sequence[bool]) -> None:
    """Move every undated candidate on the story just below the best dated one on the story."""
    top = max((scores[i] for i, day in enumerate(dates) if day is not None and on_story[i]), default=None)
    if top is None:
        return
    for i, day in enumerate(dates):
        if day is None and on_story[i] and scores[i] >= top:
            scores[i] = top - 1e-6


def anchor_date(newest: dt.date | None, until: dt.date | None) -> dt.date | None:
    """The day time cues count from: the newest article's date, or a filter's end when earlier."""
    if newest is None or until is None:
        return newest or until
    return min(newest, until)
