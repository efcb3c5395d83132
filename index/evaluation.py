"""Retrieval evaluation: gold questions, the hit@k rule, summary metrics and the plain rank-bm25 baseline."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi

from .analyzer import normalize_answer
from .models import Answer, Article, Passage, Source

log = logging.getLogger(__name__)

HIT_RANKS = (1, 3, 5)

AnswerFn = Callable[[str, int], Answer]
"""Called as `answer(question, k)`: `QAService.answer`, the baseline's `answer`, or a fake."""

EvalProgress = Callable[[int, int], None]
"""Called as `progress(done, total)` after each question."""


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One gold question: its id, text and accepted answer strings."""

    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str | None = None  # the article it was written on, when the file says (SQuAD)
    split: str | None = None  # "dev" or "test", when the file says
    kind: str | None = None  # the file's own kind of question ("recency", "plain"), when it says
    # The articles that answer, the preferred one first (document ids: file paths or record ids).
    expect_articles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of a questions file that was skipped, and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class QuestionSet:
    """The usable questions of a file and the lines that were skipped."""

    questions: tuple[EvalQuestion, ...]
    bad_lines: tuple[BadLine, ...]


def parse_questions(lines: Iterable[str]) -> QuestionSet:
    """Parse JSON Lines `{"id", "question", "answers": [str, ...]}`; extra keys are ignored."""
    questions: list[EvalQuestion] = []
    bad: list[BadLine] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            questions.append(_question(json.loads(line), seen))
        except json.JSONDecodeError as err:
            bad.append(BadLine(number, f"malformed JSON ({err.msg})"))
        except (ValueError, RecursionError) as err:
            bad.append(BadLine(number, str(err)))
    return QuestionSet(tuple(questions), tuple(bad))


def _question(record: Any, seen: set[str]) -> EvalQuestion:
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    qid, question, answers = record.get("id"), record.get("question"), record.get("answers")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        raise ValueError('"id" must be a non-empty string or number')
    if str(qid) in seen:
        raise ValueError(f"duplicate id {qid!r}")
    if not isinstance(question, str) or not question.strip():
        raise ValueError('"question" must be a non-empty string')
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError('"answers" must be a list of strings')
    if not any(normalize_answer(a) for a in answers):
        raise ValueError('"answers" holds no answer with a letter or digit')
    article, split, kind = record.get("article_id"), record.get("split"), record.get("kind")
    expected = record.get("expect_articles")
    seen.add(str(qid))
    return EvalQuestion(
        str(qid),
        question,
        tuple(answers),
        str(article) if isinstance(article, str | int) else None,
        split if isinstance(split, str) else None,
        kind if isinstance(kind, str) else None,
        tuple(a for a in expected if isinstance(a, str)) if isinstance(expected, list) else (),
    )


def in_split(
    questions: Iterable[EvalQuestion], split: str | None, kind: str | None = None
) -> tuple[EvalQuestion, ...]:
    """The questions of `split`; questions that name no split are always kept (None keeps all). With
    `kind`, only the questions of that kind."""
    return tuple(
        q
        for q in questions
        if (split is None or q.split is None or q.split == split) and (kind is None or q.kind == kind)
    )


def read_questions(path: Path) -> QuestionSet:
    """Read a questions file (UTF-8 JSON Lines); bad lines are logged with their number and skipped.

    Raises:
        OSError: the file cannot be read.
    """
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        result = parse_questions(handle)
    for bad in result.bad_lines:
        log.warning("%s line %d skipped: %s", path, bad.line, bad.reason)
    return result


def answer_matcher(answers: Sequence[str]) -> Callable[[str], bool]:
    """A test for "this text contains a gold answer": normalized, as whole words (DrQA's has_answer)."""
    needles = [f" {norm} " for norm in dict.fromkeys(normalize_answer(a) for a in answers) if norm]

    def contains(text: str) -> bool:
        haystack = f" {normalize_answer(text)} "
        return any(needle in haystack for needle in needles)

    return contains


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """How one question fared: rank of the first passage holding an answer, and what was shown."""

    question: EvalQuestion
    answer: Answer
    rank: int | None  # 1-based, among the passages returned; None when no passage holds an answer
    sentence_hit: bool  # an answer lies inside the first passage's highlighted sentence
    latency_ms: float
    short_hit: bool = False  # the short answer shown holds a gold answer
    reading_hit: bool = False  # an answer lies within the first READING_WORDS words shown
    # The first passage comes from the preferred expected article; None when the question names none.
    article_hit: bool | None = None


# What a reader takes in at a glance: the first lines of an embed or a terminal answer.
READING_WORDS = 50


def shown_words(answer: Answer, limit: int = READING_WORDS) -> str:
    """The first `limit` words a reader sees: the passages' shown text, best first."""
    words: list[str] = []
    for passage in answer.passages:
        words += passage.shown[0].split()
        if len(words) >= limit:
            break
    return " ".join(words[:limit])


def judge(question: EvalQuestion, answer: Answer, latency_ms: float) -> QuestionResult:
    """Score one answer against the question's gold answers."""
    contains = answer_matcher(question.answers)
    rank = next((r for r, p in enumerate(answer.passages, 1) if contains(p.text)), None)
    sentence = answer.highlighted_sentence
    short = answer.short_answer
    return QuestionResult(
        question,
        answer,
        rank,
        sentence is not None and contains(sentence),
        latency_ms,
        short is not None and contains(short),
        contains(shown_words(answer)),
        _from_article(answer, question.expect_articles[0]) if question.expect_articles else None,
    )


def _from_article(answer: Answer, doc_id: str) -> bool:
    """True when the first passage is a passage of the article `doc_id` (a file name matches its path)."""
    if not answer.passages:
        return False
    own = answer.passages[0].chunk_id.rpartition("#")[0]
    return own == doc_id or own.endswith("/" + doc_id)


def run_questions(
    answer: AnswerFn,
    questions: Sequence[EvalQuestion],
    k: int,
    progress: EvalProgress | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[QuestionResult]:
    """Ask every question for its top `k` passages and judge each answer, timing every call."""
    results = []
    for done, question in enumerate(questions, 1):
        started = clock()
        reply = answer(question.question, k)
        elapsed_ms = (clock() - started) * 1000.0
        results.append(judge(question, reply, elapsed_ms))
        if progress is not None:
            progress(done, len(questions))
    return results


@dataclass(frozen=True, slots=True)
class Metrics:
    """Summary figures of one evaluation run."""

    questions: int
    k: int
    hits: tuple[tuple[int, float], ...]  # (n, hit@n) for n in 1, 3, 5 and k
    mrr: float  # mean reciprocal rank of the first hit within k
    sentence_hit_at_1: float
    mean_passage_words: float
    build_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    short_answer_coverage: float = 0.0  # share of questions shown a short answer
    short_answer_precision: float = 0.0  # share of the short answers shown that hold a gold answer
    answered: float = 0.0  # share of questions called answered
    answered_when_hit: float = 0.0  # ... among those whose first passage holds a gold answer
    reading_at_50: float = 0.0  # share of questions answered within the first 50 words shown
    mean_shown_words: float = 0.0  # words of each passage as shown
    articles_judged: int = 0  # questions that name the articles answering them
    article_at_1: float = 0.0  # ... whose first passage comes from the preferred one
    right_at_1: float = 0.0  # ... and holds a gold answer too

    def hit_at(self, n: int) -> float:
        return dict(self.hits)[n]

    def to_json(self) -> dict[str, Any]:
        """The figures under the keys of `article-qa eval --json`."""
        data: dict[str, Any] = {"questions": self.questions, "k": self.k}
        data.update({f"hit@{n}": round(value, 4) for n, value in self.hits})
        data[f"mrr@{self.k}"] = round(self.mrr, 4)
        data["sentence_hit@1"] = round(self.sentence_hit_at_1, 4)
        data["reading@50"] = round(self.reading_at_50, 4)
        data["mean_passage_words"] = round(self.mean_passage_words, 1)
        data["mean_shown_words"] = round(self.mean_shown_words, 1)
        data["build_s"] = round(self.build_s, 3)
        data["latency_ms"] = {"p50": round(self.latency_p50_ms, 3), "p95": round(self.latency_p95_ms, 3)}
        data["short_answer_coverage"] = round(self.short_answer_coverage, 4)
        data["short_answer_precision"] = round(self.short_answer_precision, 4)
        data["answered"] = round(self.answered, 4)
        data["answered_when_hit@1"] = round(self.answered_when_hit, 4)
        if self.articles_judged:
            data["articles_judged"] = self.articles_judged
            data["article@1"] = round(self.article_at_1, 4)
            data["right@1"] = round(self.right_at_1, 4)
        return data


def summarize(results: Sequence[QuestionResult], k: int, build_s: float = 0.0) -> Metrics:
    """Hit rates, MRR, sentence hit@1, passage length and latency percentiles of `results`."""
    count = len(results)
    ranks = [r.rank for r in results if r.rank is not None and r.rank <= k]
    levels = sorted({n for n in HIT_RANKS if n <= k} | {k})
    words = [len(p.text.split()) for r in results for p in r.answer.passages]
    shown = [len(p.shown[0].split()) for r in results for p in r.answer.passages]
    latencies = np.asarray([r.latency_ms for r in results], dtype=np.float64)
    shorts = [r for r in results if r.answer.short_answer is not None]
    top_hits = [r for r in results if r.rank == 1]
    judged = [r for r in results if r.article_hit is not None]
    return Metrics(
        questions=count,
        k=k,
        hits=tuple((n, _share(sum(1 for rank in ranks if rank <= n), count)) for n in levels),
        mrr=_share(sum(1.0 / rank for rank in ranks), count),
        sentence_hit_at_1=_share(sum(1 for r in results if r.sentence_hit), count),
        mean_passage_words=float(np.mean(words)) if words else 0.0,
        build_s=build_s,
        latency_p50_ms=float(np.percentile(latencies, 50)) if count else 0.0,
        latency_p95_ms=float(np.percentile(latencies, 95)) if count else 0.0,
        short_answer_coverage=_share(len(shorts), count),
        short_answer_precision=_share(sum(1 for r in shorts if r.short_hit), len(shorts)),
        answered=_share(sum(1 for r in results if r.answer.answered), count),
        answered_when_hit=_share(sum(1 for r in top_hits if r.answer.answered), len(top_hits)),
        reading_at_50=_share(sum(1 for r in results if r.reading_hit), count),
        mean_shown_words=float(np.mean(shown)) if shown else 0.0,
        articles_judged=len(judged),
        article_at_1=_share(sum(1 for r in judged if r.article_hit), len(judged)),
        right_at_1=_share(sum(1 for r in judged if r.article_hit and r.rank == 1), len(judged)),
    )


def _share(part: float, whole: int) -> float:
    return part / whole if whole else 0.0


def plain_tokens(text: str) -> list[str]:
    """The tokenizer of the plain baseline: lowercased `\\w+` runs."""
    return re.findall(r"\w+", text.lower())


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


class PlainBM25:
    """The retriever a user writes in ten lines: stock `BM25Okapi` over blank-line paragraphs.

    It answers in the shape of `QAService.answer`; its highlight is the first passage sentence
    sharing the most question words, so sentence hit@1 can be compared too.
    """

    def __init__(self, articles: Sequence[Article], clock: Callable[[], float] = time.perf_counter) -> None:
        started = clock()
        self._paragraphs: list[tuple[str, Source]] = [
            (paragraph.strip(), Source.of(article))
            for article in articles
            for paragraph in _PARAGRAPH_BREAK.split(article.text)
            if paragraph.strip()
        ]
        self._bm25 = BM25Okapi([plain_tokens(text) for text, _ in self._paragraphs])
        self.build_s = clock() - started

    def __len__(self) -> int:
        return len(self._paragraphs)

    def answer(self, question: str, k: int) -> Answer:
        words = plain_tokens(question)
        scores = np.asarray(self._bm25.get_scores(words), dtype=np.float64)
        top = np.argsort(scores)[::-1][:k]  # what BM25Okapi.get_top_n does
        passages = []
        for i in top.tolist():
            text, source = self._paragraphs[i]
            passages.append(Passage(text, float(scores[i]), _plain_highlight(text, set(words)), (source,)))
        return Answer(question, tuple(passages))


def _plain_highlight(text: str, words: set[str]) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    best_shared = 0
    start = 0
    for match in [*_SENTENCE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        shared = len(words.intersection(plain_tokens(text[start:end])))
        if shared > best_shared:
            best, best_shared = (start, end), shared
        start = match.end() if match else start
    return best
