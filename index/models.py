"""Plain, immutable data shared by the engine and its front-ends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .filters import SearchFilter

ELLIPSIS = "\u2026 "  # stands for the start of a passage that is not shown


@dataclass(frozen=True, slots=True)
class Article:
    """One cleaned article: its body text and what is known about where it came from."""

    doc_id: str  # stable key: path relative to the corpus, or the JSON "id"
    title: str
    text: str
    publisher: str | None = None
    url: str | None = None
    date: dt.date | None = None
    author: str | None = None
    path: str | None = None  # file the article was read from, relative to the corpus


@dataclass(frozen=True, slots=True)
class Chunk:
    """A sentence-aligned passage of an article, with character offsets into `Article.text`."""

    chunk_id: str  # "<doc_id>#<n>"
    doc_id: str
    n: int
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Source:
    """Where a passage came from, as shown to users."""

    title: str
    publisher: str | None = None
    date: dt.date | None = None
    url: str | None = None
    path: str | None = None
    author: str | None = None

    @classmethod
    def of(cls, article: Article) -> Source:
        return cls(article.title, article.publisher, article.date, article.url, article.path, article.author)


@dataclass(frozen=True, slots=True)
class RelativeDate:
    """A relative date in a passage ("on Monday", "last week") and the days it means in its article."""

    start: int  # offsets into the passage text
    end: int
    text: str
    first: dt.date
    last: dt.date  # the same day as `first` for a day; the period's last day for "last week"
    label: str = ""  # the days in words: "30 March 2014", "10-16 February 2025" (an en dash), "December 2024"

    @property
    def iso(self) -> str:
        """ISO 8601: "2014-03-30", "2024-12" for a month, "2024" for a year, else "first/last"."""
        if self.first == self.last:
            return self.first.isoformat()
        if self.first.day == 1 and (self.last + dt.timedelta(days=1)).day == 1:
            if self.first.month == self.last.month:
                return f"{self.first.year:04d}-{self.first.month:02d}"
            if (self.first.month, self.last.month) == (1, 12) and self.first.year == self.last.year:
                return f"{self.first.year:04d}"
        return f"{self.first.isoformat()}/{self.last.isoformat()}"


@dataclass(frozen=True, slots=True)
class Story:
    """The event a passage reports, as told by every indexed article about it (copies, updates, other
    outlets' accounts)."""

    id: str  # stable while the story's first indexed article stays
    articles: int
    publishers: tuple[str, ...]  # distinct, in the order they first reported it
    first_date: dt.date | None  # None when no article of the story is dated
    last_date: dt.date | None

    @property
    def outlets(self) -> int:
        return len(self.publishers)


@dataclass(frozen=True, slots=True)
class Passage:
    """One answer passage: its text, score, the best sentence to highlight and every source carrying it."""

    text: str
    score: float
    highlight: tuple[int, int] | None  # offsets into `text` of the answering sentence
    sources: tuple[Source, ...]  # articles that print the whole passage text
    chunk_id: str = ""
    terms: tuple[str, ...] = field(default=())  # analyzed question terms this passage matched
    # Other articles that print the highlighted sentence, but not the rest of the passage.
    also_in: tuple[Source, ...] = field(default=())
    # Where the text shown to readers starts (an ellipsis stands for what comes before): near the
    # highlighted sentence, so a reader sees the answer in the first lines. `text` stays whole.
    shown_from: int = 0
    # Relative dates in the highlighted sentence, resolved against the passage's article date.
    dates: tuple[RelativeDate, ...] = field(default=())
    story: Story | None = None  # the story of the passage's article, when the index knows stories

    @property
    def shown(self) -> tuple[str, tuple[int, int] | None]:
        """The text shown to readers, and the highlight's offsets into it."""
        if self.shown_from <= 0:
            return self.text, self.highlight
        cut = len(ELLIPSIS) - self.shown_from
        highlight = (self.highlight[0] + cut, self.highlight[1] + cut) if self.highlight else None
        return ELLIPSIS + self.text[self.shown_from :], highlight

    @property
    def shown_dates(self) -> tuple[tuple[int, int, str], ...]:
        """The resolved relative dates as (start, end, label), offsets into the text shown."""
        cut = len(ELLIPSIS) - self.shown_from if self.shown_from > 0 else 0
        return tuple((d.start + cut, d.end + cut, d.label) for d in self.dates if d.start >= self.shown_from)


@dataclass(frozen=True, slots=True)
class Answer:
    """The result of one question: the best passages, best first."""

    question: str
    passages: tuple[Passage, ...]
    short_answer: str | None = None  # a span pinned by the question type ("four hours"), if any
    # False when the best passage does not answer the question well: the passages are only the closest.
    answered: bool = True
    search_filter: SearchFilter | None = None  # the date and source filter the answer was limited to
    left_out_undated: int = 0  # articles without a date that a date filter left out

    def __post_init__(self) -> None:
        if not self.passages and self.answered:
            object.__setattr__(self, "answered", False)  # nothing found answers nothing

    @property
    def found(self) -> bool:
        return bool(self.passages)

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every distinct source (full citations first, per passage), in passage order."""
        seen: dict[Source, None] = {}
        for passage in self.passages:
            for source in (*passage.sources, *passage.also_in):
                seen.setdefault(source, None)
        return tuple(seen)

    @property
    def highlighted_sentence(self) -> str | None:
        """The highlighted sentence of the best passage, if any."""
        if not self.passages or self.passages[0].highlight is None:
            return None
        start, end = self.passages[0].highlight
        return self.passages[0].text[start:end]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One update of a story: the sentence of one dated article that best matches the query."""

    date: dt.date
    text: str  # the sentence, after the sentence before it when that one is short
    highlight: tuple[int, int]  # offsets into `text` of the matching sentence
    sources: tuple[Source, ...]  # every article printing that sentence that day or later (copies)
    story: Story
    dates: tuple[RelativeDate, ...] = ()  # relative dates in the sentence, resolved; offsets into `text`

    @property
    def sentence(self) -> str:
        return self.text[self.highlight[0] : self.highlight[1]]


@dataclass(frozen=True, slots=True)
class Timeline:
    """The updates of the stories that best match a query, oldest first."""

    query: str
    entries: tuple[TimelineEntry, ...]
    left_out_undated: int = 0  # articles of those stories without a date
    search_filter: SearchFilter | None = None


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What an index holds and when it was built, for `/about` and `article-qa index`."""

    articles: int
    passages: int
    built_at: dt.datetime
    build_seconds: float
    corpus: str
    skipped_files: int = 0
