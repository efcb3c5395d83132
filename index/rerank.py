"""Second-stage ranking of BM25 candidates: term coverage, proximity, best sentence and answer-type cues."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .analyzer import STOPWORDS, Analyzer, fold, normalize_answer
from .chunker import sentence_spans
from .models import Chunk

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
    ("number", re.compile(r"\bhow (?:many|much|old|far|large|big|tall|high|deep|wide|fast)\b")),
    (
        "date",
        re.compile(
            r"\bwhen\b|\b(?:what|which) (?:year|years|date|day|month|decade|century|time period|era)\b"
            r"|\bwhat time\b"
        ),
    ),
    ("name", re.compile(r"\bwho(?:m|se)?\b|\bwhere\b|\b(?:what|which) (?:city|country|state|person)\b")),
)

# Words that frame a question rather than name its subject: the adjective of "how long", the class noun
# of "what year", the light verbs of "take place". They set the answer type; passages rarely repeat them.
_FRAME_WORDS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bhow (long|many|much|old|far|large|big|tall|high|deep|wide|fast|often|soon)\b"),
    re.compile(
        r"\b(?:what|which|whose) (years?|days?|dates?|months?|times?|decades?|century|period|era"
        r"|types?|kinds?|sorts?|names?|reasons?|percentage|percent|proportion|number|amount)\b"
    ),
    re.compile(r"\b(take|takes|took|taken|taking) (place)\b"),
    re.compile(r"\bhow long\b.*\b(last|lasts|lasted)\b"),
    re.compile(r"\breasons?\b.*\b(give|gives|gave|given)\b"),
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


# --- questions about what someone said, and what "how many" counts --------------------------------

# "What does Putin claim ...", "What reason did Russia give ...": the answer is in a sentence that
# reports the speaker's words ("Russia said ..."), whatever else it shares with the question.
_SPEECH_VERBS = (
    "say|tell|claim|argue|state|announce|insist|assert|deny|admit|warn|contend|maintain|declare|reply"
    "|respond|cite|blame|accuse|acknowledge|complain|promise|threaten|predict|propose|describe|comment"
)
_ASKED = r"^(?:\w+\s+){0,3}?(?:what|which|why|how)\b"
_SPEAKER = r"\b(?:did|does|do|has|have|had)\s+(?P<speaker>(?:[\w.'-]+\s+){0,3}?[\w.'-]+)\s+"
_SPEAKER_QUESTION = re.compile(rf"{_ASKED}.*?{_SPEAKER}(?P<verb>{_SPEECH_VERBS})\b")
# "give" and "offer" are speech only with a reason-like object.
_REASON = r"(?:\w+\s+)?(?:reasons?|explanations?|justifications?|excuses?|rationale|arguments?)\b"
_REASON_QUESTION = re.compile(rf"{_ASKED}\s+{_REASON}.*?{_SPEAKER}(?P<verb>give|offer)\b")
_REPORTING = (
    r"(?:says?|said|told|tells|claim(?:s|ed)|argu(?:es|ed)|stated|explain(?:s|ed)|announc(?:es|ed)"
    r"|insist(?:s|ed)|assert(?:s|ed)|denie[sd]|admit(?:s|ted)|warn(?:s|ed)|contend(?:s|ed)"
    r"|maintain(?:s|ed)|declar(?:es|ed)|replie[sd]|respond(?:s|ed)|suggest(?:s|ed)|cit(?:es|ed)"
    r"|blam(?:es|ed)|accus(?:es|ed)|acknowledg(?:es|ed)|complain(?:s|ed)|promis(?:es|ed)"
    r"|threaten(?:s|ed)|predict(?:s|ed)|propos(?:es|ed)|describ(?:es|ed)|comment(?:s|ed)"
    r"|stress(?:es|ed)|add(?:s|ed)|not(?:es|ed)|believ(?:es|ed))"
)
_COUNTED_QUESTION = re.compile(r"\bhow many ((?:[\w'-]+\s+){0,2}[\w'-]+)")


def _word_prefix(word: str, term: str) -> str:
    """A regex prefix for `word` that also finds its other forms: "russia" finds "Russia's", "Russian"."""
    shared = next(
        (i for i, (a, b) in enumerate(zip(word, term, strict=False)) if a != b), min(len(word), len(term))
    )
    return re.escape(word[:shared] if shared >= 4 else word)


def speaker_pattern(question: str, analyzer: Analyzer) -> tuple[re.Pattern[str], frozenset[str]] | None:
    """For a question about what someone said: a pattern for sentences reporting that speaker's words,
    and the terms that name the speaker or the speaking (they are not the topic). None otherwise."""
    lowered = " ".join(fold(question).lower().split())
    match = _SPEAKER_QUESTION.search(lowered) or _REASON_QUESTION.search(lowered)
    if match is None:
        return None
    prefixes, terms = [], analyzer.tokens(match.group("verb"))
    for word in re.findall(r"\w{3,}", match.group("speaker")):
        if found := analyzer.tokens(word):
            prefixes.append(_word_prefix(word, found[0]))
            terms.append(found[0])
    if not prefixes:
        return None  # "he", "they": no name to look for
    speaker = rf"\b(?:{'|'.join(prefixes)})\w*"
    # "Russia's foreign ministry said", "Burke claimed"; "said Kerry", "according to the ministry".
    before, after = r"(?:\W+\w+){0,3}?\W+", r"(?:\s+\w+){0,2}?\s+"
    pattern = re.compile(
        rf"{speaker}{before}{_REPORTING}\b|\b(?:{_REPORTING}|according\s+to){after}{speaker}", re.IGNORECASE
    )
    return pattern, frozenset(terms)


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


def answer_spans(
    kind: str, text: str, question_words: frozenset[str], near: re.Pattern[str] | None = None
) -> list[tuple[int, int]]:
    """Spans of `text` that look like an answer of type `kind` and are not just words of the question;
    with `near`, only spans that have a match of it within a few words ("30,000 troops")."""
    # A name needs a word other than a stopword: "The" opening a sentence is not one.
    ignored = question_words | STOPWORDS if kind == "name" else question_words
    spans = []
    for match in ANSWER_PATTERNS[kind].finditer(text):
        words = normalize_answer(match.group()).split()
        if not any(word not in ignored for word in words):
            continue
        start, end = match.span()
        if near is None or near.search(text, max(0, start - NEAR_CHARS), min(len(text), end + NEAR_CHARS)):
            spans.append((start, end))
    return spans


# --- per-passage analysis, reusable across questions ---------------------------------------------


@dataclass(frozen=True, slots=True)
class PassageTerms:
    """The analyzed terms of one passage text, and the sentence each one sits in."""

    terms: tuple[str, ...]
    sentence_of: tuple[int, ...]  # index into `sentences` for every term
    sentences: tuple[tuple[int, int], ...]  # character spans of the sentences


def analyze_passage(analyzer: Analyzer, text: str) -> PassageTerms:
    """Split `text` into sentences and terms; every term is assigned to the sentence holding it."""
    sentences = sentence_spans(text) or [(0, len(text))]
    terms: list[str] = []
    sentence_of: list[int] = []
    # Sentences are cut at whitespace, so analyzing each one alone gives the passage's terms.
    for index, (start, end) in enumerate(sentences):
        found = analyzer.tokens(text[start:end])
        terms += found
        sentence_of += [index] * len(found)
    return PassageTerms(tuple(terms), tuple(sentence_of), tuple(sentences))


# --- scoring ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RerankConfig:
    """Weights of the second-stage score; every feature lies in [0, 1]. Chosen on a development split."""

    bm25: float = 1.0  # first-stage score over the best candidate's
    coverage: float = 0.5  # share of the question's IDF mass found in the passage
    sentence: float = 0.8  # ... found in its best sentence
    proximity: float = 0.5  # ... found within `window` consecutive terms
    bigram: float = 0.8  # share of the question's adjacent term pairs found adjacent in the passage
    answer_type: float = 0.5  # the highlighted sentence holds a span of the expected answer type
    lead: float = 0.3  # the passage opens its article, where news puts the main facts
    window: int = 8
    # Sentence choice: IDF mass share, plus this when the sentence holds a span of the expected type.
    sentence_type_bonus: float = 0.1
    # A question about what someone said: the passage and sentence that report the speaker's words.
    speaker: float = 1.0
    sentence_speaker_bonus: float = 1.0


@dataclass(frozen=True, slots=True)
class Query:
    """A question prepared for reranking: its content terms' IDF, term pairs and expected answer type."""

    idf: Mapping[str, float]  # content terms only: frame words ("how long") steer the type instead
    total: float
    pairs: tuple[tuple[str, str], ...]  # adjacent content terms of the question
    pairs_total: float
    answer_type: str | None
    words: frozenset[str]  # normalized words of the question; answers never consist of these alone
    speaker: re.Pattern[str] | None = None  # sentences reporting the words the question asks about
    speaker_terms: frozenset[str] = frozenset()
    counted: re.Pattern[str] | None = None  # what a "how many" question counts, near its number

    @classmethod
    def build(cls, question: str, analyzer: Analyzer, idf: Callable[[str], float]) -> Query:
        """Analyze `question`; `idf(term)` gives a term's weight in the index."""
        tokens = analyzer.tokens(question)
        weights = {term: idf(term) for term in content_terms(analyzer, question, list(dict.fromkeys(tokens)))}
        pairs = tuple(
            dict.fromkeys(
                (a, b) for a, b in itertools.pairwise(tokens) if a != b and a in weights and b in weights
            )
        )
        speaker, speaker_terms = speaker_pattern(question, analyzer) or (None, frozenset[str]())
        return cls(
            weights,
            sum(weights.values()) or 1.0,
            pairs,
            sum(weights[a] + weights[b] for a, b in pairs) or 1.0,
            question_type(question),
            frozenset(normalize_answer(question).split()),
            speaker,
            speaker_terms,
            counted_pattern(question, analyzer),
        )


@dataclass(frozen=True, slots=True)
class Features:
    """What the reranker knows about one candidate passage (shares of the question's IDF mass)."""

    coverage: float
    sentence: float
    proximity: float
    bigram: float
    sentence_mass: tuple[float, ...]  # per sentence of the passage
    best_sentence: int  # index into PassageTerms.sentences; -1 when no sentence matches
    speaker_sentences: frozenset[tuple[int, int]] = frozenset()  # spans that report the asked speaker


def features(query: Query, passage: PassageTerms, window: int, text: str = "") -> Features:
    """Coverage, best-sentence, proximity and term-pair shares of the question in one passage `text`."""
    idf = query.idf
    mass = [0.0] * len(passage.sentences)
    positions = [(position, term) for position, term in enumerate(passage.terms) if term in idf]
    # Sums run in passage order (never over a set): float results must not depend on string hashing.
    matched = dict.fromkeys(term for _, term in positions)
    counted: set[tuple[int, str]] = set()
    for position, term in positions:
        key = (passage.sentence_of[position], term)
        if key not in counted:
            counted.add(key)
            mass[key[0]] += idf[term]
    best = max(range(len(mass)), key=mass.__getitem__, default=-1)
    if best >= 0 and mass[best] <= 0.0:
        best = -1
    bigram = 0.0
    if query.pairs and len(positions) > 1:
        adjacent = {(a, b) for (i, a), (j, b) in itertools.pairwise(positions) if j == i + 1}
        bigram = sum(idf[a] + idf[b] for a, b in query.pairs if (a, b) in adjacent) / query.pairs_total
    return Features(
        coverage=sum(idf[t] for t in matched) / query.total,
        sentence=(mass[best] / query.total) if best >= 0 else 0.0,
        proximity=_window_mass(positions, idf, window) / query.total,
        bigram=bigram,
        sentence_mass=tuple(m / query.total for m in mass),
        best_sentence=best,
        speaker_sentences=_speaker_sentences(query, passage, positions, text),
    )


def _speaker_sentences(
    query: Query, passage: PassageTerms, positions: Sequence[tuple[int, str]], text: str
) -> frozenset[tuple[int, int]]:
    """Sentences that report the asked speaker's words and share a question term besides the speaker."""
    if query.speaker is None or not text:
        return frozenset()
    topical = {passage.sentence_of[p] for p, term in positions if term not in query.speaker_terms}
    spans = (passage.sentences[index] for index in topical)
    return frozenset(span for span in spans if query.speaker.search(text, span[0], span[1]))


def _window_mass(positions: Sequence[tuple[int, str]], idf: Mapping[str, float], window: int) -> float:
    """The largest IDF mass of distinct question terms within `window` consecutive passage terms."""
    counts: dict[str, int] = {}
    best = current = 0.0
    left = 0
    for position, term in positions:
        counts[term] = counts.get(term, 0) + 1
        if counts[term] == 1:
            current += idf[term]
        while positions[left][0] <= position - window:
            old = positions[left][1]
            counts[old] -= 1
            if counts[old] == 0:
                current -= idf[old]
            left += 1
        best = max(best, current)
    return best


def has_answer_type(query: Query, text: str, span: tuple[int, int] | None) -> bool:
    """True when `text[span]` holds a span of the question's expected answer type."""
    if query.answer_type is None or span is None:
        return False
    return bool(answer_spans(query.answer_type, text[span[0] : span[1]], query.words, query.counted))


def best_sentence(
    query: Query, passage: PassageTerms, text: str, found: Features, config: RerankConfig
) -> tuple[int, int] | None:
    """The sentence to highlight: most question mass, helped by an answer-type span or a reported speaker."""
    if found.best_sentence < 0:
        return None
    type_bonus = config.sentence_type_bonus if query.answer_type is not None else 0.0
    speaker_bonus = config.sentence_speaker_bonus if found.speaker_sentences else 0.0
    if type_bonus <= 0.0 and speaker_bonus <= 0.0:
        return passage.sentences[found.best_sentence]
    top = found.sentence_mass[found.best_sentence]
    best, best_score = found.best_sentence, -1.0
    for index, mass in enumerate(found.sentence_mass):
        if mass <= 0.0 or mass + type_bonus + speaker_bonus < top:
            continue  # cannot win even with the bonuses: skip the pattern search
        span = passage.sentences[index]
        score = mass
        if type_bonus > 0.0 and has_answer_type(query, text, span):
            score += type_bonus
        if span in found.speaker_sentences:
            score += speaker_bonus
        if score > best_score:
            best, best_score = index, score
    return passage.sentences[best]


class Candidate(Protocol):
    """What `rescore` reads of a first-stage candidate."""

    @property
    def score(self) -> float: ...  # first-stage (BM25) score

    @property
    def found(self) -> Features | None: ...

    @property
    def chunk(self) -> Chunk: ...

    @property
    def highlight(self) -> tuple[int, int] | None: ...


def rescore(query: Query, candidates: Sequence[Candidate], config: RerankConfig) -> list[float]:
    """Second-stage scores of `candidates`, in their order: a weighted sum of features in [0, 1]."""
    top = max((c.score for c in candidates), default=0.0)
    scores = []
    for candidate in candidates:
        value = config.bm25 * (candidate.score / top if top > 0.0 else 0.0)
        value += config.lead if candidate.chunk.n == 0 else 0.0
        found = candidate.found
        if found is not None:
            value += (
                config.coverage * found.coverage
                + config.sentence * found.sentence
                + config.proximity * found.proximity
                + config.bigram * found.bigram
            )
        if config.answer_type and has_answer_type(query, candidate.chunk.text, candidate.highlight):
            value += config.answer_type
        if found is not None and candidate.highlight in found.speaker_sentences:
            value += config.speaker
        scores.append(value)
    return scores
