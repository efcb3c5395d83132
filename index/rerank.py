"""Second-stage ranking of BM25 candidates: term coverage, proximity, best sentence and answer-type cues."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .analyzer import Analyzer, normalize_answer
from .chunker import sentence_spans
from .grammar import answer_spans, content_terms, counted_pattern, predicate_terms, question_type
from .models import Chunk

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
    """Weights and switches of the second-stage ranking; every feature lies in [0, 1]. Each field is a
    named rule (`FEATURES`) that `without` switches off, so its worth can be measured on its own."""

    bm25: float = 1.0  # first-stage score over the best candidate's
    coverage: float = 0.5  # share of the question's IDF mass found in the passage
    sentence: float = 0.8  # ... found in its best sentence
    proximity: float = 0.5  # ... found within `window` consecutive terms
    bigram: float = 0.8  # share of the question's adjacent term pairs found adjacent in the passage
    answer_type: float = 0.5  # the highlighted sentence holds a span of the expected answer type
    lead: float = 0.3  # the passage opens its article, where news puts the main facts
    window: int = 8
    # Sentence choice: IDF mass share, plus this when the sentence holds a span of the expected type.
    # (0.35 rather than 0.1: news dev sentence hit@1 +3.6 points, SQuAD test +0.1, SQuAD dev -0.2.)
    sentence_type_bonus: float = 0.35
    reason_type: bool = True  # "why" questions look for "because", "due to", "started by", ...
    frame_words: bool = True  # "long" of "how long", "year" of "what year" steer the type, not the rerank
    # The lead prior applies only where the lead passage holds the question's rarest term.
    lead_rarest: bool = False
    # Short news questions name their story in a word or two ("Who signed the order?"): the passage
    # whose article's title, or whose article's other candidate passages, hold the rest of the
    # question is more likely from the right story. Weights set on SQuAD dev and news dev together.
    title: float = 0.5  # share of the question's IDF mass found in the article's title
    story: float = 0.6  # ... found in the article's candidate passages together
    # A question of at most `short_terms` content terms ("Who won the by-election?") matches many
    # stories alike; readers write such questions after a headline and its lead, so the lead prior
    # counts more for them (news short dev hit@1 +2.2 points, held out: news short test +2.3).
    short_terms: int = 2
    short_lead: float = 0.3  # added to `lead` for a short question
    # Added to `title` for a short question. Off: news short dev hit@1 +3.0 at 1.0, but held out
    # news short test 0 (hit@5 -1.5), and QAMR dev -0.5.
    short_title: float = 0.0
    counted: bool = True  # "how many troops": only a number near "troops" is of the expected type
    measure: bool = True  # "how deep", "how far": only a number with a unit of length is of the type
    # Time cues of the question (`index/timecues.py`): "latest", "still", "yesterday", "after the talks".
    recency: float = 2.0  # "latest", "still", "so far": the newest dated candidates on the story
    event_order: float = 0.0  # "after the talks": newer candidates on the story; "before the vote": older
    time_window: float = 0.5  # "yesterday", "in March 2025": candidates dated in that window
    undated_last: bool = True  # "latest": an undated candidate on the story never above its best dated one
    time_words: bool = True  # pure cue words ("latest", "yet", "yesterday") are not searched for
    recency_story: float = 0.8  # on the story: at least this share of the best candidate's coverage
    # The top k show one article per story (a copy, an update or another outlet's account) while another
    # story answers; further passages of an article already shown are not held back.
    story_diversity: bool = True
    # Sentence choice: the sentence after the best one, when it alone holds the expected type,
    # inherits this share of the best one's mass (sentence hit@1: news dev +1.2 points, SQuAD dev +0.1;
    # held out: news test 0, SQuAD test -0.1).
    adjacent: float = 0.4
    calendar: bool = True  # numbers inside dates and times ("July 2", "9:00") do not answer "how many"
    # Sentence choice: the share of the question's mass found in a sentence counts this much more for
    # its words written in lower case (its verb and nouns: "directed", "funeral") than for its names.
    # News names the story's people and places in the lead sentence and tells what they did in later
    # ones ("It was directed by Jefferson White."): the names alone pull the bold to the lead.
    # (Sentence hit@1: news dev +4.0 points, SQuAD dev +0.9; held out: news test +2.9, SQuAD test +1.0.)
    predicate: float = 1.0


FEATURES: Mapping[str, str] = {
    "bm25": "first-stage BM25 score, over the best candidate's",
    "coverage": "share of the question's IDF mass found in the passage",
    "sentence": "share of the question's IDF mass found in the passage's best sentence",
    "proximity": "share of the question's IDF mass found within a few consecutive terms",
    "bigram": "adjacent question-term pairs found adjacent in the passage",
    "answer_type": "the highlighted sentence holds a span of the expected answer type (passage score)",
    "lead": "the passage opens its article",
    "sentence_type_bonus": "sentence choice: a span of the expected answer type in the sentence",
    "reason_type": "'why' questions expect a cause ('because', 'due to', 'started by')",
    "frame_words": "frame words of the question ('long' of 'how long') left out of the rerank",
    "counted": "'how many X': only a number near X counts as the expected type",
    "lead_rarest": "the lead prior applies only where the lead holds the question's rarest term",
    "title": "share of the question's IDF mass found in the article's title",
    "short_lead": "a short question (two content terms or fewer) weighs the lead prior more",
    "short_title": "a short question (two content terms or fewer) weighs the title share more",
    "story": "share of the question's IDF mass found in the article's candidate passages together",
    "recency": "'latest', 'still', 'so far': the newest dated candidates on the story first",
    "event_order": "'after the talks' favours newer, 'before the vote' older candidates on the story",
    "time_window": "'yesterday', 'last week', 'in March 2025': candidates dated in that window",
    "undated_last": "'latest': an undated candidate on the story never above its best dated one",
    "time_words": "time cue words that are not content ('latest', 'yet', 'yesterday') left out of the search",
    "story_diversity": "another article of a story already shown waits until no other story answers",
    "measure": "'how deep', 'how far', 'how tall': only a number with a unit of length is of the type",
    "calendar": "numbers inside dates and times ('July 2', '9:00') do not answer 'how many'",
    "adjacent": "sentence choice: the sentence after the best one inherits part of its mass when typed",
    "predicate": "sentence choice: the question's lower-case words (verb, nouns) weigh more than its names",
}


def without(config: RerankConfig, names: Sequence[str]) -> RerankConfig:
    """`config` with the named rules switched off (weights to 0, switches to False).

    Raises:
        ValueError: a name is not one of `FEATURES`.
    """
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(FEATURES)}")
    changes: dict[str, Any] = {
        name: False if isinstance(getattr(config, name), bool) else 0 for name in names
    }
    return replace(config, **changes)


@dataclass(frozen=True, slots=True)
class Query:
    """A question prepared for reranking: its content terms' IDF, term pairs and expected answer type."""

    idf: Mapping[str, float]  # content terms only: frame words ("how long") steer the type instead
    total: float
    pairs: tuple[tuple[str, str], ...]  # adjacent content terms of the question
    pairs_total: float
    answer_type: str | None
    words: frozenset[str]  # normalized words of the question; answers never consist of these alone
    counted: re.Pattern[str] | None = None  # what a "how many" question counts, near its number
    calendar_counts: bool = True  # a number inside a date or time ("July 2") answers "how many"
    predicate: frozenset[str] = frozenset()  # content terms of its lower-case words, not of its names

    @classmethod
    def build(
        cls,
        question: str,
        analyzer: Analyzer,
        idf: Callable[[str], float],
        config: RerankConfig = RerankConfig(),
    ) -> Query:
        """Analyze `question`; `idf(term)` gives a term's weight in the index."""
        tokens = analyzer.tokens(question)
        distinct = list(dict.fromkeys(tokens))
        kept = content_terms(analyzer, question, distinct) if config.frame_words else distinct
        weights = {term: idf(term) for term in kept}
        pairs = tuple(
            dict.fromkeys(
                (a, b) for a, b in itertools.pairwise(tokens) if a != b and a in weights and b in weights
            )
        )
        return cls(
            weights,
            sum(weights.values()) or 1.0,
            pairs,
            sum(weights[a] + weights[b] for a, b in pairs) or 1.0,
            _answer_type(question, config),
            frozenset(normalize_answer(question).split()),
            counted_pattern(question, analyzer) if config.counted else None,
            not config.calendar,
            predicate_terms(analyzer, question) & weights.keys() if config.predicate else frozenset(),
        )


def _answer_type(question: str, config: RerankConfig) -> str | None:
    kind = question_type(question)
    if kind == "measure" and not config.measure:
        return "number"
    return None if kind == "reason" and not config.reason_type else kind


@dataclass(frozen=True, slots=True)
class Features:
    """What the reranker knows about one candidate passage (shares of the question's IDF mass)."""

    coverage: float
    sentence: float
    proximity: float
    bigram: float
    sentence_mass: tuple[float, ...]  # per sentence of the passage
    best_sentence: int  # index into PassageTerms.sentences; -1 when no sentence matches


def features(query: Query, passage: PassageTerms, window: int) -> Features:
    """Coverage, best-sentence, proximity and term-pair shares of the question in one passage."""
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
    )


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
    sentence = text[span[0] : span[1]]
    return bool(
        answer_spans(
            query.answer_type, sentence, query.words, query.counted, calendar_counts=query.calendar_counts
        )
    )


def best_sentence(
    query: Query, passage: PassageTerms, text: str, found: Features, config: RerankConfig
) -> tuple[int, int] | None:
    """The sentence to highlight: most question mass, helped by a span of the expected answer type."""
    if found.best_sentence < 0:
        return None
    type_bonus = config.sentence_type_bonus if query.answer_type is not None else 0.0
    masses = _weighted_mass(query, passage, found.sentence_mass, config.predicate)
    if type_bonus <= 0.0:
        return passage.sentences[max(range(len(masses)), key=masses.__getitem__)]
    typed = _typed_sentences(query, passage, text)
    carried = _carried_mass(query, masses, typed, config.adjacent)
    top = max(masses)
    best, best_score = found.best_sentence, -1.0
    for index, mass in enumerate(masses):
        if (mass <= 0.0 and carried[index] <= 0.0) or mass + carried[index] + type_bonus < top:
            continue  # cannot win even with the bonus: skip the pattern search
        score = mass + ((type_bonus + carried[index]) if typed(index) else 0.0)
        if score > best_score:
            best, best_score = index, score
    return passage.sentences[best]


def _weighted_mass(
    query: Query, passage: PassageTerms, sentence_mass: Sequence[float], weight: float
) -> list[float]:
    """Each sentence's share of the question's mass, plus `weight` times its share of the question's
    lower-case words (its predicate) when the question has names besides them."""
    masses = list(sentence_mass)
    if weight <= 0.0 or not query.predicate or len(query.predicate) == len(query.idf):
        return masses
    seen: set[tuple[int, str]] = set()
    for term, index in zip(passage.terms, passage.sentence_of, strict=True):
        if term in query.predicate and (index, term) not in seen:
            seen.add((index, term))
            masses[index] += weight * query.idf[term] / query.total
    return masses


def _typed_sentences(query: Query, passage: PassageTerms, text: str) -> Callable[[int], bool]:
    """Whether sentence i holds a span of the expected type, searched once per sentence when asked."""
    known: dict[int, bool] = {}

    def typed(index: int) -> bool:
        if index not in known:
            known[index] = has_answer_type(query, text, passage.sentences[index])
        return known[index]

    return typed


def _carried_mass(
    query: Query, sentence_mass: Sequence[float], typed: Callable[[int], bool], share: float
) -> list[float]:
    """What each sentence inherits of the one before it. News names the event in one sentence and
    gives its facts in the next ("Five passengers died in the crash." after the sentence naming the
    helicopter crash): the sentence right after the best one inherits `share` of its mass, counted
    only when it holds the expected type and the best sentence does not. Names are left out: nearly
    every news sentence holds one, so they say nothing about where the answer is."""
    carried = [0.0] * len(sentence_mass)
    if share <= 0.0 or query.answer_type == "name" or not sentence_mass:
        return carried
    best = max(range(len(sentence_mass)), key=sentence_mass.__getitem__)
    if best + 1 < len(sentence_mass) and sentence_mass[best] > 0.0 and not typed(best):
        carried[best + 1] = share * sentence_mass[best]
    return carried


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

    @property
    def terms(self) -> set[str]: ...  # the passage's analyzed terms

    @property
    def title_terms(self) -> frozenset[str]: ...  # its article's title terms

    @property
    def story_terms(self) -> set[str]: ...  # the terms of its article's candidate passages together


def rescore(query: Query, candidates: Sequence[Candidate], config: RerankConfig) -> list[float]:
    """Second-stage scores of `candidates`, in their order: a weighted sum of features in [0, 1]."""
    top = max((c.score for c in candidates), default=0.0)
    rarest = max(query.idf, key=lambda term: (query.idf[term], term), default=None)
    short = len(query.idf) <= config.short_terms
    lead = config.lead + (config.short_lead if short else 0.0)
    title = config.title + (config.short_title if short else 0.0)
    scores = []
    for candidate in candidates:
        value = config.bm25 * (candidate.score / top if top > 0.0 else 0.0)
        if candidate.chunk.n == 0 and (not config.lead_rarest or rarest in candidate.terms):
            value += lead
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
        if title:
            value += title * _share(query, candidate.title_terms)
        if config.story:
            value += config.story * _share(query, candidate.story_terms)
        scores.append(value)
    return scores


def _share(query: Query, terms: Collection[str]) -> float:
    """The share of the question's IDF mass among `terms` (summed in question order, never over a set)."""
    return sum(weight for term, weight in query.idf.items() if term in terms) / query.total
