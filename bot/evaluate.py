"""The `article-qa eval` command: hit@k, MRR, sentence and short answers, answered rates, and a baseline."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from index import (
    FEATURES,
    Metrics,
    PlainBM25,
    QuestionResult,
    RerankConfig,
    corpus_path,
    in_split,
    index_status,
    live_generation,
    load_corpus,
    read_questions,
    run_questions,
    summarize,
    without,
)

from .config import Settings
from .exitcodes import EXIT_OK, EXIT_USAGE
from .progress import StderrProgress
from .render import passage_json
from .service import index_config, open_service
from .state import EVAL_INDEXES, state_path

log = logging.getLogger(__name__)

DEFAULT_K = 10
PROGRESS_MIN_QUESTIONS = 100  # shorter runs finish too fast to need a progress bar


def add_eval_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register `eval` and its options; `common` holds --corpus, --index-dir and the logging flags."""
    parser = subparsers.add_parser(
        "eval",
        parents=[common],
        help="measure answer quality on gold questions",
        description="Ask every question of QUESTIONS.jsonl ({id, question, answers}) and report hit@1/3/5/k, "
        "MRR@k, sentence hit@1, short-answer coverage and precision, how often a question is called answered "
        "(all, and when the first passage holds the answer), passage length, build time and latency. "
        "Questions asked of a corpus without their articles measure the 'not answered' rate. "
        "Without --index-dir the index "
        "lives in a directory of its own for the corpus, so the bot's index is never replaced.",
    )
    parser.add_argument(
        "questions",
        type=Path,
        nargs="?",
        metavar="QUESTIONS.jsonl",
        help="gold questions, one per line (not needed with --list-features)",
    )
    parser.add_argument(
        "-k",
        "--k",
        dest="eval_k",
        type=int,
        default=DEFAULT_K,
        metavar="K",
        help="passages judged (default 10)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--details", action="store_true", help="add every question's passages (or ranks)")
    parser.add_argument(
        "--baseline", action="store_true", help="also run plain rank-bm25 over paragraphs, side by side"
    )
    parser.add_argument(
        "--split",
        choices=("dev", "test"),
        default=None,
        help="only the questions of this split (questions without a 'split' field are always asked)",
    )
    parser.add_argument(
        "--kind",
        default=None,
        metavar="KIND",
        help="only the questions whose 'kind' field is KIND (the dated news set: recency, plain, ...)",
    )
    parser.add_argument(
        "--ablate",
        metavar="NAME[,NAME...]",
        default=None,
        help="also run without the named ranking rules, side by side (see --list-features)",
    )
    parser.add_argument(
        "--list-features",
        action="store_true",
        help="list the named ranking rules and weights, with their shipped values, and exit",
    )


def eval_index_dir(settings: Settings) -> Path:
    """The corpus-specific index directory of an eval run, in the state folder (never the bot's index)."""
    name = re.sub(r"[^\w.-]+", "-", settings.corpus.resolve().name).strip("-") or "corpus"
    digest = hashlib.sha256(corpus_path(settings.corpus).encode()).hexdigest()[:12]
    return state_path(settings, EVAL_INDEXES) / f"{name}-{digest}"


def run_eval(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Run `article-qa eval`; returns the exit code."""
    out = out if out is not None else sys.stdout
    if args.list_features:
        out.write(features_text(RerankConfig()) + "\n")
        return EXIT_OK
    if args.questions is None:
        log.error("QUESTIONS.jsonl is required")
        return EXIT_USAGE
    k: int = args.eval_k
    if k < 1:
        log.error("--k must be at least 1")
        return EXIT_USAGE
    ablated = [name.strip() for name in (args.ablate or "").split(",") if name.strip()]
    try:
        without(RerankConfig(), ablated)
    except ValueError as err:
        log.error("--ablate: %s", err)
        return EXIT_USAGE
    try:
        loaded = read_questions(args.questions)
    except OSError as err:
        log.error("cannot read %s (%s)", args.questions, err.strerror or err)
        return EXIT_USAGE
    questions = in_split(loaded.questions, args.split, args.kind)
    if not questions:
        log.error(
            "%s holds no usable question%s%s",
            args.questions,
            f" in split {args.split}" * bool(args.split),
            f" of kind {args.kind}" * bool(args.kind),
        )
        return EXIT_USAGE
    if args.index_dir is None:
        settings = settings.model_copy(update={"index_dir": eval_index_dir(settings)})
    before = (
        _generation(settings)
        if index_status(settings.corpus, settings.index_dir, index_config(settings)).usable
        else None
    )
    service = open_service(settings)
    reused = before is not None and before == _generation(settings)
    results = run_questions(service.answer, questions, k, _progress().stage("ours"))
    ours = summarize(results, k, service.manifest.build_seconds)
    baseline: Metrics | None = None
    label = "baseline"
    if ablated:
        config = replace(service.config, rerank=without(service.config.rerank, ablated))
        other = service.reconfigured(config)
        ablated_results = run_questions(other.answer, questions, k, _progress().stage("ablated"))
        baseline, label = summarize(ablated_results, k, service.manifest.build_seconds), "without"
    elif args.baseline:
        started = time.perf_counter()
        plain = PlainBM25(load_corpus(settings.corpus).articles)
        build_s = time.perf_counter() - started
        plain_results = run_questions(plain.answer, questions, k, _progress().stage("baseline"))
        baseline = summarize(plain_results, k, build_s)
    if args.json:
        data = ours.to_json()
        if baseline is not None:
            data["without" if ablated else "baseline"] = baseline.to_json()
        if ablated:
            data["ablated"] = ablated
        if args.details:
            data["results"] = [result_json(result) for result in results]
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return EXIT_OK
    if args.details:
        out.write(details_text(results) + "\n\n")
    header = (
        f"{ours.questions:,} questions from {args.questions}"
        + (f" ({len(loaded.bad_lines)} bad line(s) skipped)" if loaded.bad_lines else "")
        + f"\ncorpus {settings.corpus}: {service.manifest.passages:,} passages from "
        f"{service.manifest.articles:,} articles, index in {settings.index_dir}"
        + (" (reused)" if reused else " (built)")
        + (f"\nsplit {args.split}" if args.split else "")
        + (f"\nkind {args.kind}" if args.kind else "")
        + (f"\n'without': the shipped ranking without {', '.join(ablated)}" if ablated else "")
    )
    out.write(header + "\n\n" + metrics_table(ours, baseline, label) + "\n")
    return EXIT_OK


def _generation(settings: Settings) -> str | None:
    """The live index generation of the configured directory, if any (to tell a reuse from a rebuild)."""
    return live_generation(settings.index_dir)


def result_json(result: QuestionResult) -> dict[str, Any]:
    """One question's answer in the shapes of `ask --json`, with its hit rank."""
    return {
        "id": result.question.id,
        "question": result.question.question,
        "answers": list(result.question.answers),
        "rank": result.rank,
        "article_hit": result.article_hit,
        "sentence_hit": result.sentence_hit,
        "answered": result.answer.answered,
        "short_answer": result.answer.short_answer,
        "passages": [passage_json(passage) for passage in result.answer.passages],
    }


def details_text(results: list[QuestionResult]) -> str:
    """One line per question: id, rank of the first hit ("-" for none), sentence hit, question."""
    lines = [f"{'id':<28} {'rank':>4}  sent  question"]
    for r in results:
        rank = str(r.rank) if r.rank is not None else "-"
        lines.append(
            f"{r.question.id:<28} {rank:>4}  {'yes' if r.sentence_hit else 'no':<4}  {r.question.question}"
        )
    return "\n".join(lines)


_ROWS: tuple[tuple[str, str, str], ...] = (
    # (label, key in Metrics.to_json, format)
    ("questions", "questions", "d"),
    ("hit@1", "hit@1", ".4f"),
    ("hit@3", "hit@3", ".4f"),
    ("hit@5", "hit@5", ".4f"),
    ("hit@{k}", "hit@{k}", ".4f"),
    ("MRR@{k}", "mrr@{k}", ".4f"),
    ("sentence hit@1", "sentence_hit@1", ".4f"),
    ("short answer shown", "short_answer_coverage", ".4f"),
    ("short answer right", "short_answer_precision", ".4f"),
    ("answered", "answered", ".4f"),
    ("answered | hit@1", "answered_when_hit@1", ".4f"),
    ("expected article@1", "article@1", ".4f"),
    ("right@1", "right@1", ".4f"),
    ("reading@50", "reading@50", ".4f"),
    ("mean passage words", "mean_passage_words", ".1f"),
    ("mean shown words", "mean_shown_words", ".1f"),
    ("index build s", "build_s", ".2f"),
    ("latency p50 ms", "p50", ".2f"),
    ("latency p95 ms", "p95", ".2f"),
)


def metrics_table(ours: Metrics, baseline: Metrics | None = None, label: str = "baseline") -> str:
    """The figures as an aligned table: ours, and `baseline` (named `label`) with the difference."""
    columns = [_flat(ours.to_json())] + ([_flat(baseline.to_json())] if baseline else [])
    head = f"{'':<20}{'ours':>10}" + (f"{label:>10}{'diff':>10}" if baseline else "")
    lines = [head]
    shown: set[str] = set()
    for label, key, fmt in _ROWS:
        key = key.format(k=ours.k)
        if key not in columns[0] or key in shown:
            continue  # hit@5 when k < 5; hit@k when k is 1, 3 or 5
        shown.add(key)
        values = [column[key] for column in columns]
        line = f"{label.format(k=ours.k):<20}" + "".join(f"{value:>10{fmt}}" for value in values)
        if baseline and key != "questions":
            line += f"{values[0] - values[1]:>+10{fmt}}"
        lines.append(line)
    return "\n".join(lines)


def features_text(config: RerankConfig) -> str:
    """One line per named ranking rule: its name, shipped value and what it does."""
    width = max(len(name) for name in FEATURES)
    return "\n".join(
        f"{name:<{width}}  {getattr(config, name)!s:>6}  {what}" for name, what in FEATURES.items()
    )


def _flat(data: dict[str, Any]) -> dict[str, float]:
    flat = {key: value for key, value in data.items() if isinstance(value, int | float)}
    flat.update(data.get("latency_ms", {}))
    return flat


def _progress(stream: TextIO | None = None) -> StderrProgress:
    return StderrProgress(stream, interval=5.0, min_total=PROGRESS_MIN_QUESTIONS, width=30)
