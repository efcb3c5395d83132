"""Timelines: each dated update of the stories that best match a query, by its best sentence, oldest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import reldates, rerank
from .analyzer import Analyzer, normalize_answer
from .inverted.search import Allowed
from .models import Source, TimelineEntry
from .passage_reading import PassageReader
from .segmented import LiveRecords
from .story_table import StoryTable

# A story matches when its best passage scores at least this share of the best story's: a query names
# one story, but a story told twice (two outlets' threads not linked) still shows whole.
STORY_SHARE = 0.8
MAX_STORIES = 3
# The sentence before the matching one is shown with it when it is this short (as answers show it).
CONTEXT_WORDS = 25


@dataclass(frozen=True, slots=True)
class _Update:
    row: int  # article row
    source: Source
    text: str
    highlight: tuple[int, int]


def matching_stories(
    hits: Sequence[tuple[int, float]], records: LiveRecords, stories: StoryTable
) -> list[int]:
    """The stories whose best passage among `hits` scores at least STORY_SHARE of the best one's."""
    best: dict[int, float] = {}
    for passage, score in hits:
        story = stories.story_of(records.article_row(passage))
        best[story] = max(best.get(story, 0.0), score)
    if not best:
        return []
    top = max(best.values())
    ranked = sorted(best, key=lambda story: -best[story])
    return [story for story in ranked if best[story] >= STORY_SHARE * top][:MAX_STORIES]


def build(
    hits: Sequence[tuple[int, float]],
    query: rerank.Query,
    analyzer: Analyzer,
    records: LiveRecords,
    stories: StoryTable,
    allowed: Allowed | None,
) -> tuple[tuple[TimelineEntry, ...], int]:
    """The entries of the stories matching `hits` (BM25 passages and scores), and the undated left out."""
    rows = [
        row for story in matching_stories(hits, records, stories) for row in stories.stories.members(story)
    ]
    found, undated = entries(rows, query, analyzer, records, stories, allowed)
    return tuple(found), undated


def entries(
    story_rows: Sequence[int],
    query: rerank.Query,
    analyzer: Analyzer,
    records: LiveRecords,
    stories: StoryTable,
    allowed: Allowed | None,
) -> tuple[list[TimelineEntry], int]:
    """The timeline entries of the dated articles among `story_rows` that `allowed` admits, oldest first,
    and how many undated articles were left out. Copies printing the same sentence share one entry."""
    updates: list[_Update] = []
    undated = 0
    for row in story_rows:
        passages = stories.passages_of(row)
        source = records.source(row)
        if source.date is None:  # a timeline places every entry in time: undated ones are left out
            undated += 1
            continue
        if allowed is not None and not (len(passages) and allowed.mask[passages[0]]):
            continue
        update = _best_sentence(row, source, passages, query, analyzer, records)
        if update is not None:
            updates.append(update)
    updates.sort(key=lambda update: (update.source.date, update.row))
    merged: dict[tuple[int, str], list[_Update]] = {}
    for update in updates:
        sentence = update.text[update.highlight[0] : update.highlight[1]]
        key = (stories.story_of(update.row), normalize_answer(sentence))
        merged.setdefault(key, []).append(update)
    found = []
    for (_, _), copies in merged.items():
        first = copies[0]
        assert first.source.date is not None
        sources = tuple(dict.fromkeys(copy.source for copy in copies))
        found.append(
            TimelineEntry(
                first.source.date,
                first.text,
                first.highlight,
                sources,
                stories.info(first.row),
                reldates.resolve(first.text, first.source.date, first.highlight),
            )
        )
    return sorted(found, key=lambda entry: entry.date), undated


def _best_sentence(
    row: int, source: Source, passages: range, query: rerank.Query, analyzer: Analyzer, records: LiveRecords
) -> _Update | None:
    """The article's sentence holding most of the query's weight (its first sentence when none does)."""
    best: tuple[float, str, tuple[tuple[int, int], ...], int] | None = None  # mass, text, sentences, index
    reader = PassageReader(records, analyzer)
    for passage in passages:
        chunk, _, analysis = reader.passage(passage)  # the stored analysis, as the build made it
        found = rerank.features(query, analysis, 8)
        index = max(found.best_sentence, 0)
        mass = found.sentence_mass[index] if found.sentence_mass else 0.0
        if best is None or mass > best[0]:
            best = (mass, chunk.text, analysis.sentences, index)
    if best is None:
        return None
    _, text, sentences, index = best
    start, end = sentences[index]
    if index > 0:
        before = sentences[index - 1][0]
        if len(text[before:start].split()) <= CONTEXT_WORDS:
            return _Update(row, source, text[before:end], (start - before, end - before))
    return _Update(row, source, text[start:end], (0, end - start))
