"""Check that the news development questions are well formed and their answers occur in their articles."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ID_PATTERN = re.compile(r"^n[ws]-\d{4}$")  # nw-: reader questions, ns-: short questions
SPLITS = {"dev", "test"}
KINDS = {"who", "what", "when", "where", "why", "how", "how many", "how much", "which", "other", "short"}
QUESTION_FILES = ("questions.jsonl", "short-questions.jsonl")


def normalize(text: str) -> str:
    """Lower-case and collapse whitespace, the way answers are matched against article text."""
    return re.sub(r"\s+", " ", text).strip().lower()


def check(articles_path: Path, questions_path: Path) -> list[str]:
    """Return one message per problem found; an empty list means the set is consistent."""
    with articles_path.open(encoding="utf-8") as handle:
        texts = {record["id"]: normalize(record["text"]) for record in map(json.loads, handle)}
    problems: list[str] = []
    seen_ids: set[str] = set()
    splits_by_article: dict[str, set[str]] = defaultdict(set)
    with questions_path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            row = json.loads(line)
            where = f"line {line_number} ({row.get('id')})"
            if not ID_PATTERN.match(row["id"]) or row["id"] in seen_ids:
                problems.append(f"{where}: malformed or duplicate id")
            seen_ids.add(row["id"])
            if row["split"] not in SPLITS:
                problems.append(f"{where}: unknown split {row['split']!r}")
            if row["kind"] not in KINDS:
                problems.append(f"{where}: unknown kind {row['kind']!r}")
            if not row["question"].strip() or not row["answers"]:
                problems.append(f"{where}: empty question or no answers")
            text = texts.get(row["article_id"])
            if text is None:
                problems.append(f"{where}: unknown article {row['article_id']!r}")
                continue
            splits_by_article[row["article_id"]].add(row["split"])
            problems.extend(
                f"{where}: answer {answer!r} not in article"
                for answer in row["answers"]
                if normalize(answer) not in text
            )
    problems.extend(
        f"article {article_id}: questions in both splits"
        for article_id, splits in splits_by_article.items()
        if len(splits) > 1
    )
    return problems


def split_mismatches(paths: list[Path]) -> list[str]:
    """One message per article whose questions fall in different splits across the files."""
    splits: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for row in map(json.loads, handle):
                splits[row["article_id"]].add(row["split"])
    return [
        f"article {article}: split differs between files"
        for article, found in splits.items()
        if len(found) > 1
    ]


def main() -> int:
    """Print every problem of every questions file and exit non-zero if there is any."""
    problems = [
        f"{name}: {problem}"
        for name in QUESTION_FILES
        for problem in check(HERE / "articles.jsonl", HERE / name)
    ]
    problems += split_mismatches([HERE / name for name in QUESTION_FILES])
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
