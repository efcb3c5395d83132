"""Which articles carry a passage: whole-passage citations, sentence-only ones, and repeated passages."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from .analyzer import fold, normalize_answer
from .models import Chunk

# Word n-grams compared to decide that one passage only repeats text already shown.
SHINGLE_WORDS = 4
# A passage whose shingles are this much inside a shown passage adds nothing: it does not take a slot.
# Stories written from one template differ in names and numbers, which breaks far more shingles.
REPEAT_SHARE = 0.9
# A highlighted sentence this short ("He declined.") says too little to cite another article for it.
ALSO_IN_MIN_WORDS = 5
# Passage texts recur across questions: their normalized forms are kept (a few kilobytes each).
CACHE_SIZE = 8192


@lru_cache(maxsize=CACHE_SIZE)
def padded(text: str) -> str:
    """`text` normalized for containment tests (case, punctuation and spacing folded), space-padded so
    that a match always falls on word boundaries."""
    return f" {normalize_answer(text)} "


def carries(haystacks: Iterable[str], text: str) -> bool:
    """True when one of the padded `haystacks` contains `text` (normalized) word for word."""
    needle = padded(text)
    if not needle.strip():
        return False
    return any(needle in haystack for haystack in haystacks)


def article_texts(chunks: Iterable[Chunk]) -> list[str]:
    """The padded texts an article is known to print, from some of its chunks: consecutive or
    overlapping chunks are joined, so a passage that straddles two of them is still found."""
    return [padded(text) for text in joined_texts(chunks)]  # most are one chunk's text, so cached


def joined_texts(chunks: Iterable[Chunk]) -> list[str]:
    """The texts (as printed) an article is known to print: `article_texts` before normalizing."""
    ordered = sorted({chunk.chunk_id: chunk for chunk in chunks}.values(), key=lambda c: (c.start, c.end))
    joined: list[tuple[int, int, str]] = []  # (last chunk number, end offset, text)
    for chunk in ordered:
        if joined:
            last_n, end, text = joined[-1]
            if chunk.start < end:  # overlapping: add the part not yet held
                tail = chunk.text[end - chunk.start :] if chunk.end > end else ""
                joined[-1] = (max(last_n, chunk.n), max(end, chunk.end), text + tail)
                continue
            if chunk.n == last_n + 1:  # the next chunk: only whitespace lies between them
                joined[-1] = (chunk.n, chunk.end, text + " " + chunk.text)
                continue
        joined.append((chunk.n, chunk.end, chunk.text))
    return [text for _, _, text in joined]


@lru_cache(maxsize=CACHE_SIZE)
def _words(text: str) -> tuple[str, ...]:
    """The normalized words of `text`; each passage is compared with every other one shown, so once."""
    return tuple(padded(text).split())


@lru_cache(maxsize=CACHE_SIZE)
def _shingles(text: str) -> frozenset[int]:
    """The hashes of `text`'s word 4-grams: ints, so that comparing two passages' sets rehashes nothing
    (a collision between two 64-bit hashes of different 4-grams is not a practical concern)."""
    words = _words(text)
    if len(words) < SHINGLE_WORDS:
        return frozenset({hash(words)} if words else ())
    # zip builds the same 4-tuples as slicing (so the same hashes) without a Python step per shingle.
    return frozenset(map(hash, zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)))


@lru_cache(maxsize=CACHE_SIZE)
def _probe(text: str) -> tuple[int, ...]:
    """One more of `text`'s shingles than a repeat may lack: a passage holding none of them cannot hold
    REPEAT_SHARE of them all, which settles most comparisons without intersecting two whole sets."""
    shingles = _shingles(text)
    may_lack = len(shingles) - math.ceil(REPEAT_SHARE * len(shingles))
    return tuple(itertools.islice(shingles, may_lack + 1))


def repeats(shown: str, other: str) -> bool:
    """True when nearly all of `other` already appears in `shown` (a wire copy of a shown passage)."""
    return _repeats_any([shown], other)


class ShownPassages:
    """Passages offered for showing, best first: each is kept unless it repeats (`repeats`) a passage
    kept before it. The check runs only when asked whether a passage was kept, so that passages never
    asked about are never normalized; it then compares the passage with the kept ones' texts as they
    were when it was offered (a kept passage may show more later, when an overlapping one merges in)."""

    def __init__(self) -> None:
        self._texts: list[str] = []  # each passage's text now
        self._offered: list[str] = []  # each passage's text when offered
        self._before: list[tuple[str, ...]] = []  # the texts of the passages offered before it, then
        self._kept: list[bool | None] = []  # None until asked
        self._settled = 0  # the passages before this one are settled

    def __len__(self) -> int:
        return len(self._texts)

    def offer(self, text: str) -> int:
        """Offer the next passage; its number."""
        self._before.append(tuple(self._texts))
        self._texts.append(text)
        self._offered.append(text)
        self._kept.append(None)
        return len(self._texts) - 1

    def update(self, index: int, text: str) -> None:
        """Kept passage `index` now shows `text` (an overlapping passage merged into it)."""
        self._texts[index] = text

    def kept(self, index: int) -> bool:
        """True when passage `index` repeats none of the passages kept before it."""
        # Whether a passage was kept depends on the ones before it: they are settled first, in order.
        for earlier in range(self._settled, index + 1):
            shown = [text for i, text in enumerate(self._before[earlier]) if self._kept[i]]
            self._kept[earlier] = not _repeats_any(shown, self._offered[earlier])
        self._settled = max(self._settled, index + 1)
        return bool(self._kept[index])

    def kept_count(self) -> int:
        return sum(self.kept(index) for index in range(len(self)))


def _repeats_any(shown: Sequence[str], other: str) -> bool:
    """`any(repeats(text, other) for text in shown)`, with `other`'s shingles, probe and size found once."""
    if not shown:
        return False
    if len(_words(other)) < SHINGLE_WORDS:
        return carries([padded(text) for text in shown], other)
    theirs, probe = _shingles(other), _probe(other)
    # A shown passage with fewer shingles than REPEAT_SHARE of `other`'s cannot hold that many of them.
    needed = REPEAT_SHARE * len(theirs)
    for text in shown:
        ours = _shingles(text)
        if len(ours) >= needed and not ours.isdisjoint(probe) and len(theirs & ours) >= needed:
            return True
    return False


Citation = Literal["passage", "sentence"]
"""An article prints the whole passage, or only its highlighted sentence."""


def cite(known: Sequence[str], passage: str, sentence: str | None) -> Citation | None:
    """What an article whose known padded texts are `known` prints of `passage`, if anything."""
    if carries(known, passage):
        return "passage"
    if sentence and len(padded(sentence).split()) >= ALSO_IN_MIN_WORDS and carries(known, sentence):
        return "sentence"
    return None


def cite_printed(known: Sequence[str], passage: str, sentence: str | None) -> Citation | None:
    """`cite` on an article's `joined_texts`: a text is normalized only when it holds the longest word
    of what is looked for, which a text carrying it must hold (its words are runs of its folded text),
    so most articles that print nothing of the passage are never normalized."""
    if _carries_printed(known, _needle(passage)):
        return "passage"
    if sentence:
        needle = _needle(sentence)
        if needle is not None and needle[2] >= ALSO_IN_MIN_WORDS and _carries_printed(known, needle):
            return "sentence"
    return None


def may_cite(printed: Iterable[str], passage: str, sentence: str | None) -> bool:
    """False only when `cite_printed` would find nothing of `passage` in any of the `printed` texts: one
    search of all of them for the longest word of the passage and of the sentence, which a text carrying
    either must hold."""
    everything = "\0".join(map(_folded, printed))
    needles = [_needle(passage), _needle(sentence) if sentence else None]
    return any(needle is not None and needle[1] in everything for needle in needles)


def _carries_printed(known: Sequence[str], needle: tuple[str, str, int] | None) -> bool:
    """`carries` of a `_needle` in the padded forms of `known` texts, normalizing only those that may."""
    if needle is None:
        return False
    padded_needle, longest, _ = needle
    return any(longest in _folded(printed) and padded_needle in padded(printed) for printed in known)


@lru_cache(maxsize=CACHE_SIZE)
def _needle(text: str) -> tuple[str, str, int] | None:
    """`text` padded, its longest word and its number of words; None when it has no words."""
    words = padded(text).split()
    return (padded(text), max(words, key=len), len(words)) if words else None


@lru_cache(maxsize=CACHE_SIZE)
def _folded(text: str) -> str:
    """`text` folded and case-folded as `normalize_answer` does before dropping punctuation."""
    return fold(text).casefold()
