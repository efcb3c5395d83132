"""The short answer: the one span of the expected type that belongs to the question's own clause."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import grammar, reldates, rerank
from .analyzer import Analyzer, fold

# Types whose spans are precise enough to show on their own line.
SHORT_ANSWER_TYPES = frozenset({"duration", "percent", "money", "number", "measure", "date"})


@dataclass(frozen=True, slots=True)
class ShortAnswerConfig:
    """Rules of the short answer; each switch was measured on the SQuAD halves and the news questions."""

    enabled: bool = True
    # The type must come from the wh-word that opens the question: in "What was Kanye creating when he
    # was five?" the "when" sets no date to show.
    opening_cue: bool = True
    # "what time" about a race, a run or a record asks for a duration ("2 hours 19 minutes 48 seconds").
    race_time: bool = True
    # A span in an attribution ("the zoo announced Monday") dates the report, not the event asked about.
    skip_attribution: bool = True
    # With several spans of the type, the one whose clause holds the most question weight wins, if alone.
    clauses: bool = True
    # Least share of the question's IDF mass the answering sentence, and the answer's clause, must hold.
    min_sentence: float = 0.8
    min_clause: float = 0.6
    # "more than 100,000", "about 4000": the qualifier belongs to the answer; so does the counted noun of
    # "how many tonnes ...": "112,934 tonnes".
    extend: bool = True
    # "What year ..." is answered by a year ("1958"), never by another number ("160").
    year_digits: bool = True
    # "Sunday" in an article of Monday 31 March 2014 is shown as "Sunday (30 March 2014)".
    resolve_dates: bool = True


_QUALIFIER = re.compile(
    r"(?:\b(?:more|fewer|less)\s+than|\bover|\bunder|\babout|\baround|\bapproximately|\bnearly|\balmost"
    r"|\bsome|\bup\s+to|\bover\s+an?|\bmore\s+than\s+an?|\bat\s+least|\bat\s+most|\broughly|\bjust\s+over|\bjust\s+under|\bearly|\blate"
    r"|\bmid|\bbetween\s+\S+\s+and|\bbetween)[\s-]+$",
    re.IGNORECASE,
)
# What completes a number: "30 million", a range "53 and 56 million", "1766-7".
_MAGNITUDES = r"(?:hundred|thousand|million|billion|trillion)\b"
_MAGNITUDE = re.compile(rf"\s+{_MAGNITUDES}", re.IGNORECASE)
_RANGE = re.compile(rf"\s*(?:-|\u2013|to|and)\s*\d[\d,.]*(?:\s+{_MAGNITUDES})?", re.IGNORECASE)
# A date with no digit must name a month, a day or a century in full ("Mar" may be a place's name).
_WORDY_DATE = re.compile(r"[A-Z][a-z]{2}\.?")
# A bare ordinal ("the 60th") is a date only with a month or "century" beside it.
_WEEKDAY_ONLY = re.compile(r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day")
_BARE_ORDINAL = re.compile(r"\d{1,2}(?:st|nd|rd|th)")
_YEAR_QUESTION = re.compile(r"\b(?:what|which) years?\b")
_YEAR = re.compile(r"\d{4}|\b(?:BC|BCE|AD|CE)\b|centur")
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b")
_RACE_TIME = re.compile(
    r"\bwhat (?:time|times)\b.*\b(?:run|runs|ran|running|race|races|raced|record|records|finish|finished"
    r"|finishes|clock|clocked|marathon|swim|swam|lap|complete|completed)\b"
    r"|\bin what time\b"
)
# Where a clause ends inside a sentence: punctuation, and the conjunctions that join clauses. "and"
# before a capital joins names ("Obama and Russian President Putin"), between numbers a range.
_CLAUSE_BREAK = re.compile(
    r",(?!\d)|[;:()\[\]\u2014\u2013]|\s-\s|(?<!\d\s)\band\b(?=\s+(?-i:[a-z]))"
    r"|\b(?:but|while|whereas|although|though|because)\b",
    re.IGNORECASE,
)
# "110 grams", "6 °C", "510 mm": the unit belongs to a measured number.
_UNIT = re.compile(
    r"\s*(?:%|°\s?[CF]\b|(?:grams?|kilograms?|kg|tonnes?|tons?|pounds?|lbs?|ounces?|mg/kg|mg|mm|cm|km|m"
    r"|met(?:er|re)s?|kilomet(?:er|re)s?|miles?|feet|foot|inches|degrees?|acres?|hectares?)\b)",
    re.IGNORECASE,
)
_PARTICIPLE = re.compile(r"\s+\w+ing\b")
# "said Monday", "announced on Tuesday", "told reporters Friday": the date of the report.
_ATTRIBUTION = re.compile(
    r"\b(?:said|says|announced|told\s+\w+|reported|confirmed|added|stated|declared)\s+(?:on\s+|late\s+|early\s+)?$",
    re.IGNORECASE,
)


def short_type(question: str, config: ShortAnswerConfig = ShortAnswerConfig()) -> str | None:
    """The answer type a short answer may be shown for, or None."""
    lowered = " ".join(fold(question).lower().split())
    if config.race_time and _RACE_TIME.search(lowered):
        return "duration"
    kind = grammar.question_type(question)
    if kind is None or not config.opening_cue:
        return kind
    opening = _WH.search(lowered)
    if opening is None:
        return None
    # The type's own cue must start at the opening wh-word (or the words just before it: "In what year").
    for name, pattern in grammar.QUESTION_TYPES:
        match = pattern.search(lowered)
        if name == kind and match is not None and match.start() <= opening.start() + 1:
            return kind
    return None


def _join_ranges(sentence: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans with the two ends of a range ("53 and 56 million", "1993-1996") joined into one."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:  # inside the range just joined ("56" of "53 and 56")
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        elif joined and (found := _RANGE.match(sentence, joined[-1][1])) is not None and found.end() >= start:
            joined[-1] = (joined[-1][0], max(end, found.end()))
        else:
            joined.append((start, end))
    return joined


def _join_weekday_dates(sentence: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans with a weekday and the date right after it joined: "Monday, Jan. 20" is one answer."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if (
            joined
            and _WEEKDAY_ONLY.fullmatch(sentence, *joined[-1])
            and re.fullmatch(r",?\s+(?:the\s+)?", sentence[joined[-1][1] : start])
        ):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _doubtful_date(span: str) -> bool:
    """A bare ordinal, a three-letter abbreviation, or a three-digit number without an era."""
    return bool(
        _BARE_ORDINAL.fullmatch(span)
        or (_WORDY_DATE.fullmatch(span) and span != "May")
        or re.fullmatch(r"\d{1,3}", span)
    )


def _extend(
    kind: str, sentence: str, span: tuple[int, int], counted: re.Pattern[str] | None
) -> tuple[int, int]:
    """`span` with a qualifier before it ("more than") and, for a count, the counted words after it."""
    start, end = span
    number = re.search(r"\d[\d,.]*\s+$", sentence[:start])
    if number is not None and not sentence[start:end][:1].isdigit():
        start = number.start()  # "160 million years": the digits before a number word
    qualifier = _QUALIFIER.search(sentence, max(0, start - 30), start)
    if qualifier is not None:
        start = qualifier.start()
    if sentence[start:end][-1:].isdigit():
        for follower in (_MAGNITUDE, _RANGE, _UNIT):
            if (found := follower.match(sentence, end)) is not None:
                end = found.end()
    if counted is not None and kind == "number":
        after = re.match(r"(?:\s+[\w'-]+){1,3}", sentence[end:])
        if after is not None:
            words = list(re.finditer(r"[\w'-]+", after.group()))
            last = max((w.end() for w in words if counted.match(w.group())), default=0)
            end += last
    return start, end


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """Character spans of the clauses of `sentence`. A participle after a comma ("..., finishing in 2
    hours") still speaks of the clause before it, so no cut is made there."""
    cuts = [0]
    for match in _CLAUSE_BREAK.finditer(sentence):
        if match.group() == "," and _PARTICIPLE.match(sentence, match.end()):
            continue
        cuts.append(match.start())
    cuts.append(len(sentence))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _clause_mass(
    span: tuple[int, int],
    clauses: Sequence[tuple[int, int]],
    terms: Sequence[tuple[int, str]],
    idf: dict[str, float],
) -> float:
    clause = next(((a, b) for a, b in clauses if a <= span[0] < b), (span[0], span[1]))
    found = {
        term
        for position, term in terms
        if clause[0] <= position < clause[1] and not span[0] <= position < span[1]
    }
    return sum(idf[term] for term in sorted(found))


def short_answer(
    query: rerank.Query,
    question: str,
    analyzer: Analyzer,
    text: str,
    highlight: tuple[int, int] | None,
    config: ShortAnswerConfig = ShortAnswerConfig(),
    published: dt.date | None = None,
) -> str | None:
    """The span of the expected type in the highlighted sentence that answers `question`, or None when
    no span, or no single span, belongs to the question's clause. A relative date in it is followed by
    the day it means in an article of `published`: "Sunday (30 March 2014)"."""
    kind = short_type(question, config) if config.enabled else None
    if kind not in SHORT_ANSWER_TYPES or kind is None or highlight is None:
        return None
    sentence = text[highlight[0] : highlight[1]]
    spans = grammar.answer_spans(kind, sentence, query.words, query.counted)
    # A match inside a longer number ("000" of "1,000", "194" of "1940s") is no answer.
    spans = [
        span
        for span in spans
        if not re.search(r"[\d][,.]?$", sentence[: span[0]])
        and not re.match(r"[\d]", sentence[span[1] :])
        and not (kind == "date" and _doubtful_date(sentence[span[0] : span[1]]))
    ]
    if config.skip_attribution:
        spans = [span for span in spans if not _ATTRIBUTION.search(sentence, 0, span[0])]
    if config.year_digits and kind == "date" and _YEAR_QUESTION.search(fold(question).lower()):
        spans = [span for span in spans if _YEAR.search(sentence, span[0], span[1])]
    spans = _join_ranges(sentence, spans)
    if kind == "date":
        spans = _join_weekday_dates(sentence, spans)
    if not spans:
        return None
    idf = dict(query.idf)
    terms = [(start, term) for start, _, term in analyzer.spans(sentence) if term in idf]
    if (
        config.min_sentence
        and sum(idf[t] for t in {term for _, term in terms}) < config.min_sentence * query.total
    ):
        return None
    clauses = _clauses(sentence)
    scored = sorted(((_clause_mass(span, clauses, terms, idf), span) for span in spans), reverse=True)
    if len(spans) > 1:
        if not config.clauses or scored[0][0] <= 0.0 or scored[0][0] == scored[1][0]:
            return None  # no span belongs to the question's clause, or two do equally: unsure
    mass, span = scored[0]
    if mass < config.min_clause * query.total:
        return None
    start, end = _extend(kind, sentence, span, query.counted) if config.extend else span
    while start < end and sentence[start] in " ,.;:":
        start += 1
    while end > start and sentence[end - 1] in " ,.;:":
        end -= 1
    return reldates.with_dates(sentence, published if config.resolve_dates else None, (start, end))
