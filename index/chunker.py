"""Sentence splitting and sentence-aware passages with character offsets into the article text."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from .models import Article, Chunk

# Words whose trailing period does not end a sentence (compared lowercased, without the period).
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sen rep gov gen col lt sgt capt cmdr adm maj st jr sr rev hon pres supt det insp
    inc ltd co corp bros plc llc dept univ assn est approx vs etc al fig no nos vol vols pp ed eds op
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    mt ft ave blvd rd
    ariz calif colo conn fla okla tenn mich minn wis wyo neb nev ky md vt
    """.split()
)
# Bumped whenever the loader or the chunker reads the same file into different text or sentences, so
# that an index built by an earlier version is stale and rebuilt (it is part of ChunkingConfig, which
# the manifest stores).
TEXT_VERSION = 2

# A candidate sentence end: terminal punctuation, optional closing quotes/brackets, then whitespace. The
# same matches as `[.!?]+["')]*(?=\s)` (giving characters back could never reach whitespace), written with
# a first character to search for and without backtracking, which scans a text a fifth faster.
_END = re.compile(r"[.!?][.!?]*+[\"'\u2019\u201d)\]]*+(?=\s)")
_WORD = re.compile(r"\S+")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_NEXT_CHAR = re.compile(r"\s*(\S)")
# What follows the place name of a wire dateline ("PINE VALLEY, Calif. (AP) — A fire..."): a
# parenthesised agency and a dash. A period before it ends an abbreviation, not a sentence.
_DATELINE_AGENCY = re.compile(r"\s*\([A-Z][\w .&/-]{0,30}\)\s*[\u2014\u2013-]")
# How far back from a period a space is looked for in one call, to find the word the period ends.
_WORD_LOOKBACK = 64
# More letters than the longest abbreviation: a word ending in as many is neither one nor an initial.
_LONG_WORD = max(map(len, ABBREVIATIONS)) + 1
# What may open a sentence besides a capital letter or a digit.
_OPENERS = "\"'\u201c\u2018(["


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    """How articles are cut into passages; stored in the index manifest."""

    max_words: int = 150
    overlap_sentences: int = 1
    # A passage ends at a paragraph break when the whole next paragraph would not fit (and carries
    # no overlap across it): passages then follow the article's own topic units.
    paragraphs: bool = True
    text_version: int = TEXT_VERSION

    def __post_init__(self) -> None:
        if self.max_words < 1:
            raise ValueError("max_words must be positive")
        if self.overlap_sentences < 0:
            raise ValueError("overlap_sentences must not be negative")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _is_abbreviation(text: str, lo: int, end: int) -> bool:
    """True when the period at `text[end - 1]` belongs to an abbreviation or an initial (the word starts
    at `lo` at the earliest)."""
    # The word is the text back to the whitespace before it. Look back a few characters for a space in
    # C; only a long word without one is scanned in Python (scanning from the line start instead would
    # make a long line of periods quadratic).
    floor = end - _WORD_LOOKBACK if end - _WORD_LOOKBACK > lo else lo
    space = text.rfind(" ", floor, end)
    if space >= 0 or floor == lo:
        word = text[space + 1 if space >= 0 else lo : end].rsplit(None, 1)[-1]
    else:
        start = end
        while start > lo and not text[start - 1].isspace():
            start -= 1
        word = text[start:end]
    word = word.lstrip("\"'(\u201c\u2018[").rstrip(".")
    if not word:
        return False
    if word.lower() in ABBREVIATIONS:
        return True
    if "." in word and all(len(part) <= 2 for part in word.split(".")):
        return True  # dotted acronyms and initials: U.S., U.N., a.m., e.g.
    return len(word) == 1 and word.isalpha() and word.isupper()  # a middle initial: John F. Kennedy


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentences: `(start, end)` offsets with surrounding whitespace excluded.

    A line break always ends a sentence; periods after abbreviations ("Mr.", "U.S.") and initials
    never do, nor does the period before a dateline's agency ("Calif. (AP) —"), and a sentence must be
    followed by something that can start one. Linear in the length of `text`: nothing after a sentence
    end is copied or rescanned, and lines are read in place.
    """
    spans: list[tuple[int, int]] = []
    line_start, size = 0, len(text)
    while line_start < size:
        line_end = text.find("\n", line_start)
        if line_end < 0:
            line_end = size
        if line_end > line_start:
            _line_sentences(text, line_start, line_end, spans)
        line_start = line_end + 1
    return spans


def _line_sentences(text: str, lo: int, hi: int, spans: list[tuple[int, int]]) -> None:
    """Append the sentences of the line `text[lo:hi]` to `spans`."""
    start = lo
    for match in _END.finditer(text, lo, hi):
        end = match.end()
        # The next character that is not a space (most often right after one space) must be able to
        # start a sentence. (The three tests that can keep a sentence going are independent: the
        # cheapest go first.)
        if end + 1 < hi and text[end] == " " and not text[end + 1].isspace():
            following = text[end + 1]
        else:
            found = _NEXT_CHAR.match(text, end, hi)
            following = found.group(1) if found else ""
        if following and not (following.isupper() or following.isdigit() or following in _OPENERS):
            continue
        mark = match.group()
        if mark[0] == "." and mark.count(".") == 1:
            period = match.start()
            # Letters enough before the period make a word longer than any abbreviation, and no initial.
            letters = period - _LONG_WORD
            if not (letters >= lo and text[letters:period].isalpha()):
                if _is_abbreviation(text, lo, period + 1):
                    continue
            # A dateline's agency opens with a parenthesis: only then is the pattern tried.
            if following == "(" and _DATELINE_AGENCY.match(text, end, hi):
                continue
        # The sentence without the whitespace around it (inline: this runs for every sentence).
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            lead = start + len(piece) - len(piece.lstrip())
            spans.append((lead, lead + len(stripped)))
        start = end
    _append_trimmed(spans, text, start, hi)


def _append_trimmed(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def _word_count(text: str) -> int:
    # str.split() and \S+ break at the same (Unicode) whitespace; split() does not build match objects.
    return len(text.split())


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Cut one overlong sentence at word boundaries into pieces of at most `max_words` words."""
    words = list(_WORD.finditer(text, start, end))
    return [
        (words[i].start(), words[min(i + max_words, len(words)) - 1].end())
        for i in range(0, len(words), max_words)
    ]


# The sentences of each passage as `sentence_spans(chunk.text)` gives them, or None where they were not
# carried out of the chunker (the caller splits that passage's text itself).
PassageSentences = list[list[tuple[int, int]] | None]


def chunk_article(article: Article, config: ChunkingConfig = ChunkingConfig()) -> list[Chunk]:
    """Pack whole sentences into passages of at most `max_words` words, overlapping by whole sentences."""
    return chunk_with_sentences(article, config)[0]


def chunk_with_sentences(
    article: Article, config: ChunkingConfig = ChunkingConfig()
) -> tuple[list[Chunk], PassageSentences]:
    """`chunk_article`, and each passage's sentences (offsets into the passage's text) where the article's
    own split gives them: a passage of whole sentences is those sentences, and splitting its text again
    finds them again (every sentence end is decided by the text from the start of its sentence's word to
    the next non-space character, all inside the passage). A passage holding a piece of an overlong
    sentence, or an article that was not split (one passage), gets None."""
    text = article.text
    if len(text.split(None, config.max_words)) <= config.max_words:
        whole = _whole_article(article)
        return whole, [None] * len(whole)
    units: list[tuple[int, int, int]] = []  # (start, end, words)
    pieces: set[int] = set()  # units that are pieces of an overlong sentence, not sentences
    for start, end in sentence_spans(text):
        words = len(text[start:end].split())  # _word_count, inline
        if words > config.max_words:
            for s, e in _split_long(text, start, end, config.max_words):
                pieces.add(len(units))
                units.append((s, e, _word_count(text[s:e])))
        else:
            units.append((start, end, words))

    groups = _groups(units, _paragraph_numbers(text, units), config)

    chunks = []
    sentences: PassageSentences = []
    for n, group in enumerate(groups):
        start, end = units[group[0]][0], units[group[-1]][1]
        chunks.append(Chunk(f"{article.doc_id}#{n}", article.doc_id, n, text[start:end], start, end))
        carried = not pieces or pieces.isdisjoint(group)
        sentences.append([(units[i][0] - start, units[i][1] - start) for i in group] if carried else None)
    return chunks, sentences


def _groups(
    units: list[tuple[int, int, int]], paragraph: list[int], config: ChunkingConfig
) -> list[list[int]]:
    """The units of each passage: whole units up to `max_words` words, overlapping by whole units."""
    paragraph_words = [0] * (paragraph[-1] + 1 if paragraph else 0)
    for number, (_, _, words) in zip(paragraph, units, strict=True):
        paragraph_words[number] += words

    groups: list[list[int]] = []
    current: list[int] = []
    current_words = 0
    fresh = 0  # sentences in `current` that are not carried over from the previous passage
    for i, (_, _, words) in enumerate(units):
        at_break = config.paragraphs and bool(current) and paragraph[i] != paragraph[current[-1]]
        needed = paragraph_words[paragraph[i]] if at_break else words
        if current and fresh and current_words + needed > config.max_words:
            groups.append(current)
            carried = current[len(current) - min(config.overlap_sentences, len(current) - 1) :]
            carried = carried if config.overlap_sentences and not at_break else []
            # Never carry so much that the next sentence would not fit.
            while carried and sum(units[j][2] for j in carried) + words > config.max_words:
                carried = carried[1:]
            current, current_words, fresh = list(carried), sum(units[j][2] for j in carried), 0
        current.append(i)
        current_words += words
        fresh += 1
    if current and fresh:
        groups.append(current)
    return groups


def _whole_article(article: Article) -> list[Chunk]:
    """The one passage of an article of at most `max_words` words: all of its text.

    Its sentences (which end at whitespace, so that no word is cut) would all go into the first passage,
    and together they run from the first character of the text that is not whitespace to the last: the
    text need not be split into sentences at all.
    """
    text = article.text
    start, end = len(text) - len(text.lstrip()), len(text.rstrip())
    if start >= end:
        return []
    return [Chunk(f"{article.doc_id}#0", article.doc_id, 0, text[start:end], start, end)]


def _paragraph_numbers(text: str, units: list[tuple[int, int, int]]) -> list[int]:
    """The paragraph of every unit: a blank line between two units starts a new one."""
    numbers: list[int] = []
    current = previous_end = 0
    for start, end, _ in units:
        # find() first: most sentences of a paragraph have no line break between them at all.
        if (
            numbers
            and text.find("\n", previous_end, start) >= 0
            and _BLANK_LINE.search(text, previous_end, start)
        ):
            current += 1
        numbers.append(current)
        previous_end = end
    return numbers
