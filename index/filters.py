"""Date and source filters: which passages an answer may come from, decided from article metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from .errors import QuestionError
from .inverted.search import Allowed
from .models import Source

log = logging.getLogger(__name__)

UNDATED = 0  # date ordinal of an article without a date (real ordinals start at 1)
KNOWN_SHOWN = 8  # indexed sources named when a source is not found


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """What a user restricts an answer to: an inclusive date window and any of some publishers.

    `publishers` are publisher names or sites ("Harborview Courier", "courier.example.com"), matched
    without regard to case. An article without a date falls outside every date window. `articles`,
    when set, keeps only the articles of those document ids (the articles just added to the index).
    """

    since: dt.date | None = None
    until: dt.date | None = None
    publishers: tuple[str, ...] = ()
    articles: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise QuestionError(f"the date window starts ({self.since}) after it ends ({self.until})")

    @property
    def dated(self) -> bool:
        return self.since is not None or self.until is not None

    @property
    def active(self) -> bool:
        return self.dated or bool(self.publishers) or self.articles is not None

    def describe(self) -> str:
        """The filter in words: "articles from 2014-03-01 to today", "Valley Sentinel articles up to ..."."""
        if self.articles is not None:
            chosen = dataclasses.replace(self, articles=None)
            count = f"{len(self.articles)} chosen article{'s' * (len(self.articles) != 1)}"
            return count if not chosen.active else f"{count} among {chosen.describe()}"
        if not self.active:
            return "all articles"
        if self.since and self.until:
            window = f"from {self.since} to {self.until}"
        elif self.since:
            window = f"from {self.since} to today"
        elif self.until:
            window = f"up to {self.until}"
        else:
            return f"articles from {' or '.join(self.publishers)}"
        if self.publishers:
            return f"{' or '.join(self.publishers)} articles {window}"
        return f"articles {window}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "sources": list(self.publishers),
        }
        if self.articles is not None:
            data["articles"] = sorted(self.articles)
        return data


@dataclass(frozen=True, slots=True)
class Selection:
    """The passages a filter allows, and how many undated articles it left out for having no date."""

    allowed: Allowed
    left_out_undated: int


def source_key(text: str) -> str:
    """A publisher name or site as compared: case-folded; a URL or site reduced to its host sans "www."."""
    text = text.strip().casefold()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    elif "." in text and " " not in text:
        text = text.split("/", 1)[0]
    return text.removeprefix("www.").rstrip("/.")


class ArticleFacets:
    """Each article's date and source, and each passage's article: what filters are checked against.

    Built once per index (a pass over the article table); a filter then costs a few array operations.
    `doc_ids` gives each article's document id; it is called once, by the first article restriction.
    """

    def __init__(
        self,
        passage_articles: npt.NDArray[np.int32],
        sources: Sequence[Source],
        doc_ids: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self._passage_articles = passage_articles
        self._doc_ids = doc_ids
        self._rows_of: dict[str, list[int]] | None = None
        self._dates = np.array(
            [s.date.toordinal() if s.date else UNDATED for s in sources], dtype=np.int32
        ).reshape(-1)
        self._names = [s.publisher or "" for s in sources]
        self._keys = [source_key(name) if name else "" for name in self._names]
        self._hosts = [source_key(s.url) if s.url and "://" in s.url else "" for s in sources]

    @property
    def publishers(self) -> list[str]:
        """Every distinct publisher name of the indexed articles, sorted case-insensitively."""
        return sorted({name for name in self._names if name}, key=str.casefold)

    def select(self, search_filter: SearchFilter) -> Selection:
        """The passages of the articles that `search_filter` allows.

        Raises:
            QuestionError: a source it names matches no indexed publisher or site.
        """
        articles = np.ones(len(self._dates), dtype=bool)
        if search_filter.publishers:
            articles = self._of_sources(search_filter.publishers)
        undated = 0
        if search_filter.dated:
            dates = self._dates
            in_window = dates != UNDATED
            undated = int(np.count_nonzero(articles & ~in_window))
            if search_filter.since:
                in_window &= dates >= search_filter.since.toordinal()
            if search_filter.until:
                in_window &= dates <= search_filter.until.toordinal()
            articles &= in_window
        if search_filter.articles is not None:
            articles &= self._of_doc_ids(search_filter.articles)
        mask = articles[self._passage_articles]
        log.debug("filter %s allows %d of %d passages", search_filter, mask.sum(), len(mask))
        return Selection(Allowed.of(mask), undated)

    def _of_doc_ids(self, wanted: frozenset[str]) -> npt.NDArray[np.bool_]:
        if self._rows_of is None:  # two threads may both build it: the same value, harmlessly
            rows_of: dict[str, list[int]] = {}
            for row, doc_id in enumerate(self._doc_ids() if self._doc_ids is not None else ()):
                rows_of.setdefault(doc_id, []).append(row)
            self._rows_of = rows_of
        chosen = np.zeros(len(self._dates), dtype=bool)
        for doc_id in wanted:
            chosen[self._rows_of.get(doc_id, [])] = True
        return chosen

    def _of_sources(self, wanted: Sequence[str]) -> npt.NDArray[np.bool_]:
        chosen = np.zeros(len(self._dates), dtype=bool)
        for name in wanted:
            key = source_key(name)
            matches = [
                i
                for i, (publisher, host) in enumerate(zip(self._keys, self._hosts, strict=True))
                if key and (key == publisher or key == host or host.endswith("." + key))
            ]
            if not matches:
                known = ", ".join(self.publishers[:KNOWN_SHOWN]) or "none"
                raise QuestionError(f"no indexed source is called {name!r}; sources include: {known}")
            chosen[matches] = True
        return chosen
