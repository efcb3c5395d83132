"""The evaluation library and `article-qa eval`: questions files, the hit rule, metrics, baseline, output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.evaluate import metrics_table
from bot.progress import StderrProgress
from index.evaluation import (
    EvalQuestion,
    PlainBM25,
    answer_matcher,
    in_split,
    judge,
    parse_questions,
    plain_tokens,
    read_questions,
    run_questions,
    summarize,
)
from index.models import Answer, Article, Passage
from index.rerank import FEATURES


def passage(text: str, highlight: tuple[int, int] | None = None) -> Passage:
    return Passage(text=text, score=1.0, highlight=highlight, sources=())


def question(answers: tuple[str, ...] = ("four hours",), qid: str = "q") -> EvalQuestion:
    return EvalQuestion(qid, "how long did the talks last", answers)


def test_parse_questions_reports_bad_lines_with_their_numbers() -> None:
    lines = [
        '{"id": "a", "question": "Who?", "answers": ["Lavrov"], "article_id": "x", "extra": 1}',
        "",
        "{not json",
        '{"id": "b", "question": "", "answers": ["x"]}',
        '{"id": "c", "question": "Why?", "answers": "x"}',
        '{"id": "a", "question": "Again?", "answers": ["y"]}',
        '{"id": 7, "question": "Seven?", "answers": ["7"]}',
        '["a list"]',
        '{"id": "d", "question": "Punctuation only?", "answers": ["--"]}',
    ]
    result = parse_questions(lines)
    assert [q.id for q in result.questions] == ["a", "7"]
    assert result.questions[0] == EvalQuestion("a", "Who?", ("Lavrov",), "x")
    assert [(bad.line, bad.reason.split(" ")[0]) for bad in result.bad_lines] == [
        (3, "malformed"),
        (4, '"question"'),
        (5, '"answers"'),
        (6, "duplicate"),
        (8, "expected"),
        (9, '"answers"'),
    ]


def test_read_questions_logs_bad_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "Q?", "answers": ["x"]}\n{oops\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        result = read_questions(path)
    assert len(result.questions) == 1
    assert "q.jsonl line 2 skipped: malformed JSON" in caplog.text


@pytest.mark.parametrize(
    ("answers", "text", "hit"),
    [
        (("four hours",), "They talked for Four  Hours in Paris.", True),
        (("Lavrov\u2019s",), "Sergei Lavrov's talks", True),  # curly apostrophe, NFKC, punctuation as spaces
        (("30,000-100,000",), "between 30,000 - 100,000 troops", True),
        (("Crimea",), "the Crimean peninsula", False),  # whole words only
        (("Crimea",), "Crimea's absorption", True),
        (("art",), "the start of it", False),
        (("x", "Sunday"), "agreed Sunday that", True),
    ],
)
def test_answer_matcher_normalizes_and_matches_whole_words(
    answers: tuple[str, ...], text: str, hit: bool
) -> None:
    assert answer_matcher(answers)(text) is hit


def test_judge_finds_the_rank_and_the_sentence_hit() -> None:
    first = passage("The talks ran long. They ended on Sunday.", (0, 19))
    second = passage("Kerry and Lavrov talked for four hours.", (0, 38))
    result = judge(question(), Answer("q", (first, second)), 2.0)
    assert result.rank == 2 and not result.sentence_hit
    top = passage("Kerry and Lavrov talked for four hours. Then dinner.", (0, 38))
    assert judge(question(), Answer("q", (top,)), 1.0).sentence_hit
    unhighlighted = passage("talked for four hours")
    result = judge(question(), Answer("q", (unhighlighted,)), 1.0)
    assert result.rank == 1 and not result.sentence_hit
    assert judge(question(), Answer("q", ()), 1.0).rank is None


class FakeAnswerer:
    """Answers from a table: question id -> passages; records the k it was asked for."""

    def __init__(self, table: dict[str, tuple[Passage, ...]]) -> None:
        self.table = table
        self.ks: list[int] = []

    def answer(self, text: str, k: int) -> Answer:
        self.ks.append(k)
        return Answer(text, self.table[text][:k])


def fake_clock(step_s: float) -> Iterator[float]:
    now = 0.0
    while True:
        yield now
        now += step_s


def test_run_questions_and_summarize() -> None:
    hit = passage("talked for four hours", (0, 21))
    miss = passage("nothing here at all today")
    questions = [EvalQuestion(f"q{i}", f"question {i}", ("four hours",)) for i in range(4)]
    fake = FakeAnswerer(
        {
            "question 0": (hit, miss),
            "question 1": (miss, miss, miss, hit),
            "question 2": (miss, miss, miss, miss, miss, miss, hit),
            "question 3": (miss,),
        }
    )
    ticks = fake_clock(0.002)
    progress: list[tuple[int, int]] = []
    results = run_questions(
        fake.answer, questions, 10, lambda d, t: progress.append((d, t)), clock=lambda: next(ticks)
    )
    assert fake.ks == [10, 10, 10, 10]
    assert progress[-1] == (4, 4) and len(progress) == 4
    assert [r.rank for r in results] == [1, 4, 7, None]
    metrics = summarize(results, 10, build_s=1.5)
    data = metrics.to_json()
    assert data["questions"] == 4 and data["k"] == 10
    assert (data["hit@1"], data["hit@3"], data["hit@5"], data["hit@10"]) == (0.25, 0.25, 0.5, 0.75)
    assert data["mrr@10"] == pytest.approx((1 + 1 / 4 + 1 / 7) / 4, abs=1e-4)
    assert data["sentence_hit@1"] == 0.25
    assert data["mean_passage_words"] == pytest.approx((4 + 5 + 3 * 5 + 4 + 6 * 5 + 4 + 5) / 14, abs=0.1)
    assert data["build_s"] == 1.5
    assert data["latency_ms"] == {"p50": pytest.approx(2.0), "p95": pytest.approx(2.0)}
    # Ranks beyond k do not count.
    assert summarize(results, 5).to_json()["hit@5"] == 0.5
    assert summarize(results, 5).to_json()["mrr@5"] == pytest.approx((1 + 1 / 4) / 4, abs=1e-4)
    assert set(summarize(results, 3).to_json()) >= {"hit@1", "hit@3", "mrr@3"}
    assert "hit@5" not in summarize(results, 3).to_json()


def test_summarize_of_nothing_is_zero() -> None:
    assert summarize([], 10).to_json()["hit@1"] == 0.0


ARTICLES = (
    Article(
        "talks",
        "Kerry and Lavrov talk",
        "Kerry and Lavrov met in Paris. They talked for four hours.\n\nNo deal was reached on Sunday.",
    ),
    Article("garden", "Garden opens", "The garden opened with 48 raised beds.\n\nVolunteers planted beans."),
)


def test_plain_baseline_ranks_blank_line_paragraphs() -> None:
    baseline = PlainBM25(ARTICLES)
    assert len(baseline) == 4
    assert plain_tokens("How LONG, did they-talk?") == ["how", "long", "did", "they", "talk"]
    answer = baseline.answer("how many raised beds in the garden", 2)
    assert len(answer.passages) == 2
    top = answer.passages[0]
    assert top.text == "The garden opened with 48 raised beds."
    assert top.sources[0].title == "Garden opens"
    assert answer.highlighted_sentence == "The garden opened with 48 raised beds."
    talks = baseline.answer("how long did they talk", 1).passages[0]
    assert (
        talks.highlight is not None and talks.text[slice(*talks.highlight)] == "They talked for four hours."
    )
    assert baseline.build_s >= 0.0


def test_metrics_table_shows_differences() -> None:
    hit = passage("four hours", (0, 10))
    ours = summarize([judge(question(), Answer("q", (hit,)), 1.0)], 10)
    base = summarize([judge(question(), Answer("q", (passage("none"),)), 3.0)], 10)
    table = metrics_table(ours, base)
    assert "hit@1                   1.0000    0.0000   +1.0000" in table
    assert "latency p50 ms" in table and "-2.00" in table
    assert "baseline" not in metrics_table(ours)


def test_progress_bar_writes_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = StderrProgress(stream, interval=0.0, min_total=100, width=30).stage("ours")
    bar(100, 200)
    bar(200, 200)
    assert stream.getvalue().splitlines() == [
        "ours: [###############...............] 100/200",
        "ours: [##############################] 200/200",
    ]
    quiet = io.StringIO()
    StderrProgress(quiet, min_total=100, width=30).stage("ours")(5, 5)
    assert quiet.getvalue() == ""


def write_questions(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


QUESTIONS = [
    '{"id": "t1", "question": "How long did Kerry and Lavrov talk?", "answers": ["four hours"]}',
    '{"id": "t2", "question": "How many raised beds does the garden have?", "answers": ["48"]}',
    '{"id": "t3", "question": "How much did the city spend on soil and fencing?", "answers": ["$30,000"]}',
    "not json",
]


def test_eval_command_json_with_baseline_and_details(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = write_questions(tmp_path / "q.jsonl", QUESTIONS)
    code = main(["eval", str(questions), "--corpus", str(corpus_dir), "--json", "--baseline", "--details"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "line 4 skipped" in err
    data = json.loads(out)
    keys = {"questions", "hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "sentence_hit@1"}
    keys |= {"mean_passage_words", "build_s", "latency_ms"}
    assert keys <= set(data) and keys <= set(data["baseline"])
    assert data["questions"] == 3 and data["hit@3"] == 1.0 and data["sentence_hit@1"] == 1.0
    assert set(data["latency_ms"]) == {"p50", "p95"}
    first = data["results"][0]
    assert first["id"] == "t1" and first["rank"] == 1 and first["short_answer"] == "four hours"
    assert first["answered"] is True
    assert set(first["passages"][0]) == {"text", "score", "highlight", "sources", "also_in", "dates", "story"}
    assert data["answered"] == 1.0 and data["answered_when_hit@1"] == 1.0
    assert data["short_answer_coverage"] > 0 and data["short_answer_precision"] == 1.0
    assert "results" not in data["baseline"]


def test_eval_uses_its_own_index_and_reuses_it(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = write_questions(tmp_path / "q.jsonl", QUESTIONS[:2])
    bot_index = tmp_path / "bot-index"
    common = ["--corpus", str(corpus_dir)]
    assert main(["ask", "garden beds", *common, "--index-dir", str(bot_index)]) == 0
    bot_current = (bot_index / "CURRENT").read_text(encoding="utf-8")
    capsys.readouterr()
    env_free = ["eval", str(questions), *common, "-k", "3"]
    assert main([*env_free, "--details"]) == 0
    first, _ = capsys.readouterr()
    assert "(built)" in first and "hit@3" in first and "hit@5" not in first
    assert "t1" in first.splitlines()[1]  # --details lists every question first
    assert main(env_free) == 0
    second, _ = capsys.readouterr()
    assert "(reused)" in second
    eval_dirs = list((Path.cwd() / ".article-qa-state" / "eval").iterdir())
    assert len(eval_dirs) == 1 and eval_dirs[0].name.startswith("corpus-")
    assert (bot_index / "CURRENT").read_text(encoding="utf-8") == bot_current
    # An index that cannot be loaded any more is rebuilt, and the report says so.
    live = eval_dirs[0] / (eval_dirs[0] / "CURRENT").read_text(encoding="utf-8").strip()
    next(path for path in live.iterdir() if path.name != "manifest.json").unlink()
    assert main(env_free) == 0
    assert "(built)" in capsys.readouterr()[0]


def test_eval_usage_errors(corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path / "missing.jsonl"), "--corpus", str(corpus_dir)]) == 2
    assert main(["eval", "--corpus", str(corpus_dir)]) == 2
    empty = write_questions(tmp_path / "empty.jsonl", ["{}"])
    assert main(["eval", str(empty), "--corpus", str(corpus_dir)]) == 2
    good = write_questions(tmp_path / "q.jsonl", QUESTIONS[:1])
    assert main(["eval", str(good), "--corpus", str(corpus_dir), "-k", "0"]) == 2
    assert "holds no usable question" in capsys.readouterr().err


def test_short_answers_and_answered_rates_are_measured() -> None:
    sentence = "The ministers talked for four hours on Sunday."
    shown = Passage(sentence, 1.0, (0, len(sentence)), ())
    question = EvalQuestion("q", "How long did they talk?", ("four hours",))
    results = [
        judge(question, Answer(question.question, (shown,), "four hours"), 1.0),
        judge(question, Answer(question.question, (shown,), "Sunday"), 1.0),
        judge(question, Answer(question.question, (shown,)), 1.0),
        judge(question, Answer(question.question, (shown,), answered=False), 1.0),
        judge(question, Answer(question.question, ()), 1.0),
    ]
    assert [r.short_hit for r in results] == [True, False, False, False, False]
    data = summarize(results, 10).to_json()
    assert data["short_answer_coverage"] == 0.4
    assert data["short_answer_precision"] == 0.5
    assert data["answered"] == 0.6
    assert data["answered_when_hit@1"] == 0.75  # the last answer found nothing, so it is not a hit


def test_split_keeps_its_questions_and_those_without_a_split() -> None:
    lines = [
        '{"id": "a", "question": "Who won Gorton and Denton?", "answers": ["Hannah Spencer"], "split": "dev"}',
        '{"id": "b", "question": "Who beat Poilievre?", "answers": ["Bruce Fanjoy"], "split": "test"}',
        '{"id": "c", "question": "Spain\'s grid operator?", "answers": ["Red Eléctrica"]}',
    ]
    questions = parse_questions(lines).questions
    assert [q.id for q in in_split(questions, "dev")] == ["a", "c"]
    assert [q.id for q in in_split(questions, "test")] == ["b", "c"]
    assert [q.id for q in in_split(questions, None)] == ["a", "b", "c"]


def test_reading_at_50_counts_the_words_shown_in_order() -> None:
    opening = " ".join(["The council met on Tuesday evening to debate the budget."] * 5)  # 50 words
    late = Passage(opening + " The budget passed by a vote of 7 to 2.", 1.0, None, ())
    question = EvalQuestion("q", "What was the vote?", ("7 to 2",))
    assert not judge(question, Answer(question.question, (late,)), 1.0).reading_hit
    # The same passage shown from its answer sentence puts the answer in the first words.
    shown = Passage(late.text, 1.0, (len(opening) + 1, len(late.text)), (), shown_from=len(opening) + 1)
    assert shown.shown == ("\u2026 The budget passed by a vote of 7 to 2.", (2, 40))
    assert judge(question, Answer(question.question, (shown,)), 1.0).reading_hit
    # A short first passage leaves room for the start of the second.
    first = Passage("The council met on Tuesday.", 1.0, None, ())
    second = Passage("The budget passed by a vote of 7 to 2 after a long debate.", 1.0, None, ())
    result = judge(question, Answer(question.question, (first, second)), 1.0)
    assert result.reading_hit and summarize([result], 10).to_json()["reading@50"] == 1.0


def test_eval_ablates_named_rules_and_lists_them(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--list-features"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in FEATURES)
    questions = write_questions(tmp_path / "q.jsonl", QUESTIONS[:3])
    common = ["eval", str(questions), "--corpus", str(corpus_dir)]
    assert main([*common, "--ablate", "lead,bigram", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ablated"] == ["lead", "bigram"] and "hit@1" in data["without"]
    assert main([*common, "--ablate", "lead"]) == 0
    table = capsys.readouterr().out
    assert "without lead" in table and "reading@50" in table
    assert main([*common, "--ablate", "no_such_rule"]) == 2
    assert "unknown rule" in capsys.readouterr().err
