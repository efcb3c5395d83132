"""The English question grammar: answer types, the spans that answer them, and a question's frame words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from .analyzer import STOPWORDS, Analyzer, fold, normalize_answer

# --- question types and the spans that answer them -------------------------------------------------

_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds "
    "thousand thousands million millions billion billions trillion dozen dozens half"
)
_NUM = rf"(?:\d[\d,.]*|(?:{'|'.join(_NUMBER_WORDS.split())})(?:[\s-](?:{'|'.join(_NUMBER_WORDS.split())}))*)"
_COUNT = rf"(?:{_NUM}|an?|several|few|many|some)"
_TIME_UNIT = (
    r"(?:seconds?|minutes?|hours?|days?|weeks?|fortnights?|months?|years?|decades?|centur(?:y|ies)"
    r"|millenni(?:um|a))"
)
_LENGTH_UNIT = (
    r"(?:miles?|kilomet(?:er|re)s?|km|met(?:er|re)s?|m|feet|foot|ft|inch(?:es)?|yards?"
    r"|centimet(?:er|re)s?|cm|mm)"
)
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?"
_ORDINAL_WORDS = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-first)"
)
_CAPITALIZED = r"(?:[A-Z][\w'\-]*\.?|[A-Z]\.)"
_NAME = rf"{_CAPITALIZED}(?:\s+(?:(?:of|de|da|del|von|van|der|al|bin|the|and)\s+)?{_CAPITALIZED})*"

ANSWER_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "duration": re.compile(
        # "2 hours, 19 minutes and 48 seconds" and "2:19:48" are one span, not three.
        rf"\b{_NUM}[\s-]+{_TIME_UNIT}(?:,?\s+(?:and\s+)?{_NUM}[\s-]+{_TIME_UNIT})+\b"
        rf"|\b\d{{1,2}}:\d{{2}}:\d{{2}}(?:\.\d+)?\b"
        rf"|\b{_COUNT}(?:\s+(?:and\s+a\s+half|more|full|straight))?[\s-]+(?:{_TIME_UNIT}|{_LENGTH_UNIT})\b",
        re.IGNORECASE,
    ),
    "percent": re.compile(rf"\b{_NUM}\s?(?:%|percent\b|per\s+cent\b)", re.IGNORECASE),
    "money": re.compile(
        rf"[$£€¥]\s?\d[\d,.]*(?:\s?(?:million|billion|trillion|bn|m)\b)?"
        rf"|\b{_NUM}\s+(?:(?:million|billion|trillion)\s+)?(?:dollars|pounds|euros|yen|francs|marks)\b",
        re.IGNORECASE,
    ),
    "number": re.compile(rf"\b{_NUM}\b", re.IGNORECASE),
    "measure": re.compile(rf"\b{_NUM}(?:\s+(?:thousand|million))?[\s-]+{_LENGTH_UNIT}\b", re.IGNORECASE),
    "date": re.compile(
        rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{3,4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{3,4}}"
        rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?|{_MONTH}\s+\d{{4}}|{_MONTH}|{_WEEKDAY}"
        rf"|(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORDINAL_WORDS})[\s-]century"
        rf"|(?:(?:[Ee]arly|[Mm]id|[Ll]ate)[\s-]+)?\d{{3,4}}s?(?:\s?(?:BC|BCE|AD|CE)\b)?|\d{{1,2}}(?:st|nd|rd|th)"
        rf"|yesterday|today|tomorrow|(?:last|next|this)\s+(?:week|month|year|weekend))\b",
    ),
    "frequency": re.compile(
        rf"\b(?:(?:once|twice|thrice|{_COUNT}\s+times)(?:\s+(?:a|an|per|each)\s+\w+)?"
        rf"|every\s+(?:{_NUM}\s+|other\s+|few\s+)?(?:{_TIME_UNIT}|morning|evening|night|season)"
        rf"|daily|nightly|weekly|fortnightly|monthly|quarterly|yearly|annually|hourly|always|often|rarely"
        rf"|seldom|regularly|occasionally|frequently|sometimes|usually)\b",
        re.IGNORECASE,
    ),
    "name": re.compile(rf"\b{_NAME}"),
    # The words that introduce a cause or a purpose: the answer to "why" follows them.
    "reason": re.compile(
        r"\b(?:because|due to|owing to|thanks to|since|so that|in order to|as a result of|caused by"
        r"|started by|blamed (?:on|for)|citing|amid|after|following|over concerns?|in response to"
        r"|in protest|for fear|to (?:avoid|prevent|protest|support|help|allow|ensure))\b",
        re.IGNORECASE,
    ),
}

# The rule matching earliest in the question gives its answer type; on a tie, the one listed first.
QUESTION_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("percent", re.compile(r"\b(?:what|which) (?:percentage|percent|proportion)\b")),
    ("duration", re.compile(r"\bhow long\b|\b(?:for )?how many (?:years|months|weeks|days|hours|minutes)\b")),
    (
        "money",
        re.compile(
            r"\bhow much (?:money\b|.*\b(?:cost|costs|pay|paid|spend|spent|worth|price|charge|charged"
            r"|earn|earned|raise|raised|sell|sold)\b)"
        ),
    ),
    ("frequency", re.compile(r"\bhow (?:often|frequently)\b")),
    # Asked first, so that it wins over "number" (which also matches): a distance or size has a unit.
    ("measure", re.compile(r"\bhow (?:far|tall|high|deep|wide)\b")),
    ("number", re.compile(r"\bhow (?:many|much|old|far|large|big|tall|high|deep|wide|fast)\b")),
    (
        "date",
        re.compile(
            r"\bwhen\b|\b(?:what|which) (?:year|years|date|day|month|decade|century|time period|era)\b"
            r"|\bwhat time\b"
        ),
    ),
    ("name", re.compile(r"\bwho(?:m|se)?\b|\bwhere\b|\b(?:what|which) (?:city|country|state|person)\b")),
    (
        "reason",
        re.compile(r"\bwhy\b|\b(?:what|which) (?:reasons?|caused?|led to|prompted|started|triggered)\b"),
    ),
)

# Words that frame a question rather than name its subject: the adjective of "how long", the class noun
# of "what year", the light verbs of "take place". They set the answer type; passages rarely repeat them.
_FRAME_WORDS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bhow (long|many|much|old|far|large|big|tall|high|deep|wide|fast|often|soon)\b"),
    re.compile(
        r"\b(?:what|which|whose) (years?|days?|dates?|months?|times?|decades?|century|period|era"
        r"|types?|kinds?|sorts?|names?|reasons?|percentage|percent|proportion|number|amount)\b"
    ),
    # "last" in "how long did the talks last" is the duration, not the topic: keeping it finds a short
    # answer for 2 more SQuAD test questions (measured; "take place" and "reason ... give" moved none).
    re.compile(r"\bhow long\b.*\b(last|lasts|lasted)\b"),
)


def frame_words(question: str) -> set[str]:
    """The words of `question` that only frame it ("long" in "how long", "year" in "what year")."""
    lowered = " ".join(fold(question).lower().split())
    return {
        word for pattern in _FRAME_WORDS for m in pattern.finditer(lowered) for word in m.groups() if word
    }


def content_terms(analyzer: Analyzer, question: str, terms: Sequence[str]) -> list[str]:
    """`terms` without the question's frame words; all of them when nothing else would remain."""
    frame = {term for word in frame_words(question) for term in analyzer.tokens(word)}
    content = [term for term in terms if term not in frame]
    return content or list(terms)


# --- the question's own words, apart from its names ----------------------------------------------

_WORD = re.compile(r"[^\W_][\w'.-]*")


def predicate_terms(analyzer: Analyzer, question: str) -> frozenset[str]:
    """The terms of the question's words written in lower case ("directed", "funeral", "disappear"),
    that none of its capitalized words (its names: "Gus Lamont", "The Caravan") also give."""
    lower: list[str] = []
    named: set[str] = set()
    for match in _WORD.finditer(fold(question)):
        word = match.group()
        if word[0].isupper():
            named.update(analyzer.tokens(word))
        else:
            lower.append(word)
    return frozenset(term for term in analyzer.tokens(" ".join(lower)) if term not in named)


# --- what "how many" counts -----------------------------------------------------------------------

_COUNTED_QUESTION = re.compile(r"\bhow many ((?:[\w'-]+\s+){0,2}[\w'-]+)")


def _word_prefix(word: str, term: str) -> str:
    """A regex prefix for `word` that also finds its other forms: "russia" finds "Russia's", "Russian"."""
    shared = next(
        (i for i, (a, b) in enumerate(zip(word, term, strict=False)) if a != b), min(len(word), len(term))
    )
    return re.escape(word[:shared] if shared >= 4 else word)


def counted_pattern(question: str, analyzer: Analyzer) -> re.Pattern[str] | None:
    """For "how many Russian troops ...", a pattern finding the counted words ("Russian", "troops")."""
    match = _COUNTED_QUESTION.search(" ".join(fold(question).lower().split()))
    if match is None:
        return None
    prefixes = []
    for word in match.group(1).split():
        found = analyzer.tokens(word)
        if not found:
            break  # the noun phrase ends at the first stopword: "how many troops are there"
        prefixes.append(_word_prefix(word, found[0]))
    return re.compile(rf"\b(?:{'|'.join(prefixes)})", re.IGNORECASE) if prefixes else None


def question_type(question: str) -> str | None:
    """The kind of span that answers `question` ("duration", "number", "date", ...), if its wording says."""
    lowered = " ".join(fold(question).lower().split())
    # The wh-word that opens the question decides: "Where was Kerry when he spoke" asks for a place.
    found = [
        (m.start(), order, kind)
        for order, (kind, pattern) in enumerate(QUESTION_TYPES)
        if (m := pattern.search(lowered))
    ]
    return min(found)[2] if found else None


# How close (in characters, about four words) a counted thing sits to its number.
NEAR_CHARS = 30

# Numbers that are part of a date or a clock time ("July 2", "2 July", "9:00", "in 2025") count nothing.
_CALENDAR_NUMBER = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?"
    rf"|\d{{1,2}}:\d{{2}}(?::\d{{2}})?|(?:1[89]|20)\d{{2}}(?![\d,.]*\s*%))\b"
)


def calendar_spans(text: str) -> list[tuple[int, int]]:
    """The spans of `text` that are dates or clock times, whose digits are not counts."""
    return [match.span() for match in _CALENDAR_NUMBER.finditer(text)]


@lru_cache(maxsize=16_384)
def _typed_matches(kind: str, text: str) -> tuple[tuple[int, int, tuple[str, ...]], ...]:
    """Every match of `kind`'s pattern in `text`, with its normalized words: candidate sentences recur
    from question to question, and the pattern search is the costly part of checking them."""
    return tuple(
        (*match.span(), tuple(normalize_answer(match.group()).split()))
        for match in ANSWER_PATTERNS[kind].finditer(text)
    )


def answer_spans(
    kind: str,
    text: str,
    question_words: frozenset[str],
    near: re.Pattern[str] | None = None,
    *,
    calendar_counts: bool = True,
) -> list[tuple[int, int]]:
    """Spans of `text` that look like an answer of type `kind` and are not just words of the question;
    with `near`, only spans that have a match of it within a few words ("30,000 troops"); without
    `calendar_counts`, a number that is part of a date or time is no answer to "how many"."""
    # A name needs a word other than a stopword: "The" opening a sentence is not one.
    ignored = question_words | STOPWORDS if kind == "name" else question_words
    calendar = calendar_spans(text) if kind == "number" and not calendar_counts else []
    spans = []
    for start, end, words in _typed_matches(kind, text):
        if not any(word not in ignored for word in words):
            continue
        if any(low <= start and end <= high for low, high in calendar):
            continue
        if near is None or near.search(text, max(0, start - NEAR_CHARS), min(len(text), end + NEAR_CHARS)):
            spans.append((start, end))
    return spans
