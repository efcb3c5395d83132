"""Which newly indexed articles answer a standing query: the new articles of a reload, the best passage
of them for each follow, the story it belongs to, and the hourly limit per story."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from index import Answer, ArticleQAError, Passage, SearchFilter, Source, Story

from .store import Follow, FollowStore

log = logging.getLogger(__name__)

# A follow posts at most this many stories for one index update, so a folder of 200 articles dropped
# at once cannot flood a channel; the rest of a large batch is not posted.
POSTS_PER_UPDATE = 3
# Searches per follow and update: copies of one story already posted use some of them up.
ROUNDS_PER_UPDATE = 3 * POSTS_PER_UPDATE
_WORD = re.compile(r"\w+")


class Coverage(Protocol):
    """What the best passage holds of the query (the engine's evidence)."""

    @property
    def coverage(self) -> float: ...


class Searchable(Protocol):
    """The answering service as the matcher uses it: `index.QAService`, or a fake in tests."""

    def answer_with_evidence(
        self, question: str, k: int | None = None, filters: SearchFilter | None = None
    ) -> tuple[Answer, Coverage | None]: ...

    def article_fingerprints(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class Found:
    """A new article's passage that answers a follow's query, and the keys of its story."""

    passage: Passage
    source: Source
    coverage: float
    stories: frozenset[str]

    @property
    def sentence(self) -> str:
        """The highlighted sentence, or the passage's opening when none is highlighted."""
        if self.passage.highlight is None:
            return self.passage.text
        start, end = self.passage.highlight
        return self.passage.text[start:end]


@dataclass(frozen=True, slots=True)
class Post:
    """A match to post: the follow, and what answers it."""

    follow: Follow
    found: Found


def new_articles(old: Mapping[str, str], new: Mapping[str, str]) -> frozenset[str]:
    """Document ids of `new` that `old` lacks, or whose indexed text changed (an edit of the title or
    date alone, or a file touched without a change, is not news)."""
    return frozenset(doc for doc, digest in new.items() if doc and digest and old.get(doc) != digest)


def _normalised(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(folded))


def _digest(kind: str, text: str) -> str:
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def story_key(source: Source, sentence: str, story: Story | None = None) -> frozenset[str]:
    """The keys that name the story of a matched article: the index's story id when it has one (else
    the normalised title), and a fingerprint of the matched sentence's words (the same for every outlet
    printing that wire copy). A story counts as posted when any of its keys was."""
    keys = {_digest("text", _normalised(sentence))}
    if story is not None:
        keys.add(f"story:{story.id}")
    elif title := _normalised(source.title):
        keys.add(_digest("title", title))
    return frozenset(keys)


def _doc_id(passage: Passage) -> str:
    return passage.chunk_id.rpartition("#")[0]


def find_matches(
    service: Searchable, query: str, articles: frozenset[str], *, min_coverage: float, limit: int
) -> list[Found]:
    """The best passages of `articles` for `query`, one per story, at most `limit`, each holding at
    least `min_coverage` of the query's term weight; best first."""
    remaining, found, seen = set(articles), list[Found](), set[str]()
    for _ in range(ROUNDS_PER_UPDATE):
        if not remaining or len(found) >= limit:
            break
        answer, evidence = service.answer_with_evidence(query, 1, SearchFilter(articles=frozenset(remaining)))
        if not answer.passages or evidence is None or evidence.coverage < min_coverage:
            break
        passage = answer.passages[0]
        remaining.discard(_doc_id(passage))
        source = passage.sources[0] if passage.sources else Source("")
        match = Found(passage, source, evidence.coverage, frozenset())
        stories = story_key(source, match.sentence, passage.story)
        if stories & seen:
            continue  # another copy of a story already found in this update
        seen |= stories
        found.append(Found(passage, source, evidence.coverage, stories))
    return found


class FollowMatcher:
    """Decides what to post after an index update; runs in a worker thread (it searches the index)."""

    def __init__(self, store: FollowStore, *, min_coverage: float, repost_after: dt.timedelta) -> None:
        self.store = store
        self.min_coverage = min_coverage
        self.repost_after = repost_after

    def posts(self, old: Searchable, new: Searchable, now: dt.datetime) -> list[Post]:
        """The posts the update from `old` to `new` calls for, within each follow's story limit."""
        follows = self.store.active()
        if not follows:
            return []  # nothing to match: do not read the index in
        articles = new_articles(old.article_fingerprints(), new.article_fingerprints())
        if not articles:
            return []
        log.info("matching %d new article(s) against %d follow(s)", len(articles), len(follows))
        self.store.forget_posts_before(now - self.repost_after)
        posts = []
        for follow in follows:
            try:
                found = find_matches(
                    new, follow.query, articles, min_coverage=self.min_coverage, limit=POSTS_PER_UPDATE
                )
            except ArticleQAError as err:  # e.g. a query stored under an older, longer length limit
                log.warning("follow %d was not matched: %s", follow.id, err)
                continue
            since = now - self.repost_after
            posts += [
                Post(follow, match)
                for match in found
                if not self.store.recently_posted(follow.id, match.stories, since)
            ]
        return posts
