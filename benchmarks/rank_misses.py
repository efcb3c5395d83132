"""Why the first passage misses: another story first, or a later passage of the right one, by length.

    python -m benchmarks.rank_misses tests/data/news-wikinews/questions.jsonl \
        --corpus tests/data/news-wikinews/articles.jsonl --split dev
    python -m benchmarks.rank_misses QUESTIONS.jsonl --corpus ARTICLES.jsonl --split dev \
        --set lead_rarest=true --without story --list

Asks every question of the split with the shipped ranking (or one changed by `--set NAME=VALUE` and
`--without NAME`), then sorts the questions whose first passage misses the answer by cause: another
article's passage came first ("other story"), a later passage of the question's own article holds it
("same story"), or none of the top k does ("not found"). The question's article is known from the
gold file's `article_id` and matched to passages by source title. Questions are split into short ones
(at most two content terms after analysis, "Who signed the order?") and the rest, because news
readers ask many short questions and those fail more often. `--list` prints each miss. `--sentences`
lists the questions whose first passage holds the answer but whose bold sentence does not, with both
sentences and how many sentences apart they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.evaluate import eval_index_dir
from bot.service import open_service
from index import rerank
from index.analyzer import Analyzer
from index.chunker import sentence_spans
from index.evaluation import answer_matcher, in_split, read_questions
from index.settings import IndexConfig

SHORT_TERMS = rerank.RerankConfig().short_terms  # at most this many content terms: a "short" question


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question's fate: its rank, whether the bold sentence holds the answer, and why it missed."""

    qid: str
    question: str
    short: bool
    rank: int | None
    sentence_hit: bool
    cause: str  # "hit", "other story", "same story" or "not found"
    first_title: str
    bold: str = ""  # the first passage's highlighted sentence
    answer_sentence: str = ""  # the first sentence of the first passage holding the answer
    distance: int | None = None  # sentences from the bold one to the answer's (+1: the next one)


def parse_value(text: str, current: object) -> object:
    """A `--set` value in the type of the field it replaces."""
    if isinstance(current, bool):
        return text.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(text)
    return float(text)


def rerank_config(assignments: list[str], removed: list[str]) -> rerank.RerankConfig:
    """The shipped ranking with `NAME=VALUE` assignments applied and the named rules switched off."""
    config = rerank.RerankConfig()
    names = {field.name for field in fields(config)}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        if name not in names:
            raise SystemExit(f"unknown rerank setting {name!r}")
        changes: dict[str, Any] = {name: parse_value(value, getattr(config, name))}
        config = replace(config, **changes)
    return rerank.without(config, removed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--split", choices=("dev", "test"))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--without", action="append", default=[], metavar="NAME")
    parser.add_argument("--list", action="store_true", help="print every miss")
    parser.add_argument(
        "--sentences",
        action="store_true",
        help="print every question whose first passage holds the answer but whose bold sentence does not",
    )
    args = parser.parse_args(argv)

    titles = {}
    with args.corpus.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            titles[str(record["id"])] = record.get("title", "")
    settings = Settings(_env_file=None, corpus=args.corpus)
    settings = settings.model_copy(update={"index_dir": eval_index_dir(settings)})
    service = open_service(settings)
    config = rerank_config(args.set, args.without)
    service = service.reconfigured(replace(service.config, rerank=config))
    analyzer = Analyzer(IndexConfig.from_json(service.manifest.settings).analyzer)

    outcomes = []
    for question in in_split(read_questions(args.questions).questions, args.split):
        answer = service.answer(question.question, args.k)
        contains = answer_matcher(question.answers)
        rank = next((r for r, p in enumerate(answer.passages, 1) if contains(p.text)), None)
        title = titles.get(question.article_id or "", "")
        first = answer.passages[0].sources[0].title if answer.passages else ""
        sentence = answer.highlighted_sentence
        if rank == 1:
            cause = "hit"
        elif rank is None:
            cause = "not found"
        else:
            cause = "same story" if first == title else "other story"
        terms = rerank.Query.build(question.question, analyzer, lambda _term: 1.0, config).idf
        outcome = Outcome(
            question.id,
            question.question,
            len(terms) <= SHORT_TERMS,
            rank,
            sentence is not None and contains(sentence),
            cause,
            first,
        )
        if rank == 1 and not outcome.sentence_hit:
            outcome = sentence_miss(outcome, answer.passages[0].text, sentence, contains)
        outcomes.append(outcome)
    report(outcomes, args.list)
    if args.sentences:
        report_sentences(outcomes)
    return 0


def sentence_miss(outcome: Outcome, text: str, bold: str | None, contains: Callable[[str], bool]) -> Outcome:
    """`outcome` with the bold sentence, the sentence holding the answer and how far apart they are."""
    sentences = [text[start:end] for start, end in sentence_spans(text)]
    where = next((i for i, s in enumerate(sentences) if contains(s)), None)
    at = next((i for i, s in enumerate(sentences) if bold is not None and s == bold), None)
    distance = where - at if where is not None and at is not None else None
    found = sentences[where] if where is not None else "(across sentences)"
    return replace(outcome, bold=bold or "", answer_sentence=found, distance=distance)


def report_sentences(outcomes: list[Outcome]) -> None:
    """The first passage holds the answer but its bold sentence does not: how far the answer lies."""
    misses = [o for o in outcomes if o.rank == 1 and not o.sentence_hit]
    print(f"\nbold sentence misses in a right first passage: {len(misses)}")
    print("distance (answer sentence - bold sentence):", dict(Counter(o.distance for o in misses)))
    for outcome in misses:
        print(f"\n{outcome.qid}  [{outcome.distance}]  {outcome.question}")
        print(f"  bold:   {outcome.bold}")
        print(f"  answer: {outcome.answer_sentence}")


def report(outcomes: list[Outcome], listing: bool) -> None:
    """Hit@1 and sentence hit@1 by question length, and the misses by cause."""
    for label, group in (
        ("all", outcomes),
        ("short", [o for o in outcomes if o.short]),
        ("longer", [o for o in outcomes if not o.short]),
    ):
        count = len(group) or 1
        causes = Counter(o.cause for o in group)
        print(
            f"{label:7} {len(group):5} questions  hit@1 {causes['hit'] / count:.3f}  "
            f"sentence hit@1 {sum(o.sentence_hit for o in group) / count:.3f}  misses: "
            + ", ".join(f"{cause} {causes[cause]}" for cause in ("other story", "same story", "not found"))
        )
    if listing:
        for outcome in outcomes:
            if outcome.cause != "hit":
                print(
                    f"{outcome.qid}\t{outcome.cause}\t{outcome.rank}\t{outcome.question}\t[{outcome.first_title}]"
                )


if __name__ == "__main__":
    sys.exit(main())
