"""Whether the best passage answers the question: what it holds of the question, and the rule that judges."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from . import rerank


@dataclass(frozen=True, slots=True)
class AnsweredConfig:
    """The rule that calls a question answered.

    Chosen on the SQuAD dev half: its questions asked of their own articles (where the answer must
    count as answered) and of the test half's articles (where nothing answers them). The two
    switches that are off cost more answered questions than they caught unanswerable ones there
    (requiring the rarest term: 98% -> 86% answered; the answer type: 98% -> 94%).
    """

    enabled: bool = True  # off: every question with a passage counts as answered
    min_coverage: float = 0.4  # share of the question's IDF mass the best passage holds
    min_sentence: float = 0.3  # ... that its highlighted sentence holds
    require_rarest: bool = False  # the question's rarest content term must be in the passage
    require_type: bool = False  # a question of known type needs a span of that type in the sentence


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the best passage holds of the question."""

    coverage: float
    sentence: float
    rarest: bool
    typed: bool | None  # None when the question's wording sets no answer type


def gather(
    query: rerank.Query,
    found: rerank.Features,
    passage_terms: Collection[str],
    typed: bool,
) -> Evidence:
    """The evidence of the best passage: its features `found`, its terms, whether its sentence is typed."""
    rarest = max(query.idf, key=lambda term: (query.idf[term], term), default=None)
    return Evidence(
        coverage=found.coverage,
        sentence=found.sentence,
        rarest=rarest is None or rarest in passage_terms,
        typed=typed if query.answer_type is not None else None,
    )


def answers(evidence: Evidence, config: AnsweredConfig) -> bool:
    """True when the evidence is strong enough to present the best passage as the answer."""
    if not config.enabled:
        return True
    if evidence.coverage < config.min_coverage or evidence.sentence < config.min_sentence:
        return False
    if config.require_rarest and not evidence.rarest:
        return False
    return not (config.require_type and evidence.typed is False)
