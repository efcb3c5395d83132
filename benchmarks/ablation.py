"""What each ranking rule is worth: the shipped ranking against it without one rule, on every held-out half.

    python -m benchmarks.ablation                                   # every rule, every set (~15 min)
    python -m benchmarks.ablation --rules lead,predicate --sets news,short
    python -m benchmarks.ablation --squad ../shared/eval/squad-train-sample

Each set is indexed once in a temporary folder; every configuration then answers from that index
(`QAService.reconfigured`). The SQuAD sample is split by article as `docs/evaluation.md` describes: the
questions of its first 20 articles (file order) are dev, the rest test. The news sets carry their split.
Prints one Markdown table: the shipped figures, then per rule "shipped minus without" in points.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from index.answer import QAService
from index.builder import build_index
from index.evaluation import EvalQuestion, Metrics, in_split, read_questions, run_questions, summarize
from index.rerank import FEATURES, RerankConfig, without

REPO = Path(__file__).resolve().parent.parent
NEWS = REPO / "tests" / "data" / "news-wikinews"
SQUAD_DEV_ARTICLES = 20
K = 10
FIGURES = (("hit@1", lambda m: m.hit_at(1)), ("sent@1", lambda m: m.sentence_hit_at_1))


@dataclass(frozen=True, slots=True)
class EvalSet:
    """A corpus and the questions of one split asked of it."""

    name: str
    corpus: Path
    questions: tuple[EvalQuestion, ...]


def squad_sets(folder: Path) -> list[EvalSet]:
    """The SQuAD sample's dev and test halves, split by article in file order."""
    articles = folder / "articles.jsonl"
    with articles.open(encoding="utf-8") as lines:
        order = [json.loads(line)["id"] for line in lines if line.strip()]
    dev_ids = set(order[:SQUAD_DEV_ARTICLES])
    questions = read_questions(folder / "questions.jsonl").questions
    with (folder / "questions.jsonl").open(encoding="utf-8") as lines:
        article_of = {rec["id"]: rec.get("article_id") for rec in map(json.loads, filter(str.strip, lines))}
    dev = tuple(q for q in questions if article_of.get(q.id) in dev_ids)
    test = tuple(q for q in questions if article_of.get(q.id) not in dev_ids)
    return [EvalSet("SQuAD dev", articles, dev), EvalSet("SQuAD test", articles, test)]


def news_sets(file_name: str, label: str) -> list[EvalSet]:
    """A Wikinews question file's dev and test splits."""
    questions = read_questions(NEWS / file_name).questions
    corpus = NEWS / "articles.jsonl"
    return [EvalSet(f"{label} {split}", corpus, in_split(questions, split)) for split in ("dev", "test")]


def measure(sets: Sequence[EvalSet], rules: Sequence[str], work: Path) -> dict[str, dict[str, Metrics]]:
    """Metrics per set: under "" the shipped ranking, under each rule the ranking without it."""
    results: dict[str, dict[str, Metrics]] = {}
    services: dict[Path, QAService] = {}
    for eval_set in sets:
        if eval_set.corpus not in services:
            index_dir = work / f"index-{len(services)}"
            build_index(eval_set.corpus, index_dir)
            services[eval_set.corpus] = QAService.open(index_dir)
        service = services[eval_set.corpus]
        per_rule: dict[str, Metrics] = {}
        for rule in ("", *rules):
            config = service.config
            if rule:
                config = replace(config, rerank=without(config.rerank, [rule]))
            answer = service.reconfigured(config).answer
            per_rule[rule] = summarize(run_questions(answer, eval_set.questions, K), K)
            print(f"{eval_set.name}: {rule or 'shipped'} done", file=sys.stderr, flush=True)
        results[eval_set.name] = per_rule
    return results


def table(results: dict[str, dict[str, Metrics]], rules: Sequence[str]) -> str:
    """The shipped figures, then shipped minus without for each rule, in points."""
    columns = [(name, label, figure) for name in results for label, figure in FIGURES]
    head = "| rule switched off | " + " | ".join(f"{name} {label}" for name, label, _ in columns) + " |"
    lines = [head, "| --- |" + " ---: |" * len(columns)]
    shipped = [f"{figure(results[name]['']):.3f}" for name, _, figure in columns]
    lines.append("| (shipped, absolute) | " + " | ".join(shipped) + " |")
    for rule in rules:
        deltas = [
            f"{100 * (figure(results[name]['']) - figure(results[name][rule])):+.1f}"
            for name, _, figure in columns
        ]
        lines.append(f"| `{rule}` | " + " | ".join(deltas) + " |")
    sizes = ", ".join(f"{name} {next(iter(per.values())).questions}" for name, per in results.items())
    return "\n".join(lines) + f"\n\nQuestions: {sizes}; k = {K}."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--squad", type=Path, default=REPO.parent / "shared" / "eval" / "squad-train-sample")
    parser.add_argument("--rules", help="comma-separated rule names (default: every rule)")
    parser.add_argument("--sets", default="squad,news,short", help="squad, news and/or short")
    args = parser.parse_args(argv)
    # The first-stage BM25 score is the base of the ranking, not a rule to switch off.
    rules = (
        [r.strip() for r in args.rules.split(",") if r.strip()]
        if args.rules
        else [name for name in FEATURES if name != "bm25"]
    )
    without(RerankConfig(), rules)  # an unknown name stops here, before any index is built
    chosen = {name.strip() for name in args.sets.split(",")}
    sets: list[EvalSet] = []
    if "squad" in chosen:
        sets += squad_sets(args.squad)
    if "news" in chosen:
        sets += news_sets("questions.jsonl", "news")
    if "short" in chosen:
        sets += news_sets("short-questions.jsonl", "short")
    with tempfile.TemporaryDirectory(prefix="article-qa-ablation-") as work:
        print(table(measure(sets, rules, Path(work)), rules))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
