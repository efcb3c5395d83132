"""How well a standing query's coverage threshold tells a story's new articles from other stories'.

    python -m benchmarks.follow_threshold                      # dated-news, dev and test questions
    python -m benchmarks.follow_threshold --thresholds 0.5,0.6,0.7

Indexes `tests/data/dated-news/articles` once, then plays every question of `questions.jsonl` as a
follow against every article arriving alone: the matcher's own search (`find_matches`, restricted to
that one article) gives the coverage of the best passage. A pair counts as relevant when the article
belongs to the question's story (`stories.jsonl`). For each threshold: precision and recall of
"post" over all pairs, per split (choose on dev, report test; the stories are split, not the pairs).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from bot.follow.matcher import find_matches
from index import QAService, build_index

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "dated-news"
DEFAULT_THRESHOLDS = "0.3,0.4,0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.9"


def scores(service: QAService) -> dict[str, list[tuple[float, bool]]]:
    """Per split: (coverage, relevant) of every distinct question against every article."""
    story_of = {}
    for line in (DATA / "stories.jsonl").read_text(encoding="utf-8").splitlines():
        story = json.loads(line)
        story_of.update(dict.fromkeys(story["articles"], story["story"]))
    questions = {}
    for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        question = json.loads(line)
        questions[question["question"]] = (question["story"], question["split"])
    articles = sorted(doc for doc in service.article_fingerprints() if doc)
    pairs: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for text, (story, split) in sorted(questions.items()):
        for doc in articles:
            found = find_matches(service, text, frozenset({doc}), min_coverage=0.0, limit=1)
            coverage = found[0].coverage if found else 0.0
            pairs[split].append((coverage, story_of[doc] == story))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default=DEFAULT_THRESHOLDS, help="comma-separated coverages")
    args = parser.parse_args()
    thresholds = [float(value) for value in args.thresholds.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        build_index(DATA / "articles", Path(folder) / "index")
        pairs = scores(QAService.open(Path(folder) / "index"))
    for split in ("dev", "test"):
        found = pairs[split]
        relevant = sum(rel for _, rel in found)
        print(f"{split}: {len(found)} question-article pairs, {relevant} of the question's story")
        print("  threshold  posted  precision  recall")
        for threshold in thresholds:
            posted = [rel for coverage, rel in found if coverage >= threshold]
            hits = sum(posted)
            precision = hits / len(posted) if posted else 1.0
            print(f"  {threshold:9.2f}  {len(posted):6d}  {precision:9.3f}  {hits / relevant:6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
