"""Answers as terminal text and as the JSON of `article-qa ask --json`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from index import Answer, Passage, RelativeDate, Source, Story, Timeline, TimelineEntry

NO_ANSWER = "No answer found in the articles. Try other words, or check the corpus holds articles on this."
NOT_ANSWERED = "No passage answers this directly; the closest:"
NO_TIMELINE = "No dated article matches this. Try other words, or a wider date window."


def ansi_bold(text: str) -> str:
    return f"\033[1m{text}\033[0m"


def marker_bold(text: str) -> str:
    return f"**{text}**"


def source_line(source: Source) -> str:
    """ "Title · Publisher · by Author · 2014-03-30 · https://..." with the unknown parts left out."""
    parts = [source.title, source.publisher, f"by {source.author}" if source.author else None]
    parts += [source.date.isoformat() if source.date else None, source.url or source.path]
    return " · ".join(part for part in parts if part)


def story_line(story: Story | None) -> str | None:
    """ "reported by 3 outlets: A, B, C; first 2025-02-11" for a story more than one outlet told."""
    if story is None or story.outlets < 2:
        return None
    line = f"reported by {story.outlets} outlets: {', '.join(story.publishers)}"
    return line + (f"; first {story.first_date.isoformat()}" if story.first_date else "")


def highlighted(passage: Passage, bold: Callable[[str], str]) -> str:
    """The passage text as shown, its highlighted sentence (dates resolved) wrapped by `bold`."""
    text, highlight = passage.shown
    if highlight is None:
        return text
    start, end = highlight
    return text[:start] + bold(dated_sentence(passage, text, highlight)) + text[end:]


def dated_sentence(passage: Passage, text: str, highlight: tuple[int, int]) -> str:
    """`text[highlight]` with each relative date followed by its day: "on Sunday (30 March 2014)"."""
    return labelled(text, highlight, passage.shown_dates)


def entry_sentence(entry: TimelineEntry) -> str:
    """A timeline entry's sentence with its relative dates resolved, as in answers."""
    return labelled(entry.text, entry.highlight, [(d.start, d.end, d.label) for d in entry.dates])


def labelled(text: str, highlight: tuple[int, int], dates: Sequence[tuple[int, int, str]]) -> str:
    """`text[highlight]` with each of `dates` (start, end, label) inside it followed by its label."""
    start, end = highlight
    sentence = text[start:end]
    for date_start, date_end, label in reversed(dates):
        if start <= date_start and date_end <= end:
            cut = date_end - start
            sentence = f"{sentence[:cut]} ({label}){sentence[cut:]}"
    return sentence


def filter_line(answer: Answer | Timeline) -> str | None:
    """What a filtered answer searched, and the undated articles it left out; None when unfiltered."""
    if answer.search_filter is None:
        return None
    line = f"Searched {answer.search_filter.describe()}"
    n = answer.left_out_undated
    if n:
        line += f"; {n} undated article{'s' if n != 1 else ''} left out"
    return line + "."


def to_text(answer: Answer, bold: Callable[[str], str] = marker_bold) -> str:
    """Numbered passages, answer sentence in bold, each followed by its sources; the filter first."""
    searched = filter_line(answer)
    lines: list[str] = [searched, ""] if searched else []
    if not answer.found:
        return "\n".join([*lines, NO_ANSWER])
    if not answer.answered:
        lines += [NOT_ANSWERED, ""]
        bold = _plain
    elif answer.short_answer:
        lines += [f"Answer: {bold(answer.short_answer)}", ""]
    for number, passage in enumerate(answer.passages, 1):
        lines.append(f"[{number}] {highlighted(passage, bold)}")
        lines += [f"    — {source_line(source)}" for source in passage.sources]
        if answer.answered:  # unanswered, no sentence is singled out for them to carry
            lines += [
                f"    — also in (the sentence only): {source_line(source)}" for source in passage.also_in
            ]
        reported = story_line(passage.story)
        if reported:
            lines.append(f"    — {reported}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _plain(text: str) -> str:
    return text


def source_json(source: Source) -> dict[str, str | None]:
    return {
        "title": source.title,
        "publisher": source.publisher,
        "date": source.date.isoformat() if source.date else None,
        "url": source.url,
        "path": source.path,
        "author": source.author,
    }


def passage_json(passage: Passage) -> dict[str, Any]:
    return {
        "text": passage.text,
        "score": passage.score,
        "highlight": list(passage.highlight) if passage.highlight else None,
        "sources": [source_json(source) for source in passage.sources],
        "also_in": [source_json(source) for source in passage.also_in],
        "dates": dates_json(passage.dates),
        "story": story_json(passage.story) if passage.story else None,
    }


def story_json(story: Story) -> dict[str, Any]:
    return {
        "id": story.id,
        "articles": story.articles,
        "publishers": list(story.publishers),
        "first_date": story.first_date.isoformat() if story.first_date else None,
        "last_date": story.last_date.isoformat() if story.last_date else None,
    }


def to_json(answer: Answer) -> dict[str, Any]:
    """The `ask --json` object: question, whether it was answered, short answer (or null) and passages."""
    return {
        "question": answer.question,
        "answered": answer.answered,
        "short_answer": answer.short_answer,
        "passages": [passage_json(passage) for passage in answer.passages],
        "filter": answer.search_filter.to_json() if answer.search_filter else None,
        "left_out_undated": answer.left_out_undated,
    }


def timeline_text(timeline: Timeline, bold: Callable[[str], str] = marker_bold) -> str:
    """One block per update, oldest first: its date and best sentence in bold, then its sources."""
    searched = filter_line(timeline)
    lines: list[str] = [searched, ""] if searched else []
    if not timeline.entries:
        return "\n".join([*lines, NO_TIMELINE])
    for entry in timeline.entries:
        lines.append(f"{entry.date.isoformat()}  {bold(entry_sentence(entry))}")
        lines += [f"    — {source_line(source)}" for source in entry.sources]
        lines.append("")
    undated = timeline.left_out_undated if timeline.search_filter is None else 0
    if undated:  # a filtered timeline already says so in its first line
        lines.append(f"({undated} undated article{'s' if undated != 1 else ''} of these stories left out)")
    return "\n".join(lines).rstrip()


def dates_json(dates: Sequence[RelativeDate]) -> list[dict[str, Any]]:
    return [{"text": d.text, "date": d.iso, "label": d.label, "start": d.start, "end": d.end} for d in dates]


def timeline_json(timeline: Timeline) -> dict[str, Any]:
    """The `timeline --json` object: the query and its entries, oldest first."""
    return {
        "query": timeline.query,
        "entries": [
            {
                "date": entry.date.isoformat(),
                "text": entry.text,
                "highlight": list(entry.highlight),
                "sources": [source_json(source) for source in entry.sources],
                "dates": dates_json(entry.dates),
            }
            for entry in timeline.entries
        ],
        "filter": timeline.search_filter.to_json() if timeline.search_filter else None,
        "left_out_undated": timeline.left_out_undated,
    }
