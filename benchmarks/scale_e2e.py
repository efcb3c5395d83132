"""End-to-end step of the scale benchmark: article-qa's own build_index and QAService.answer at scale.

The synthetic passages become articles (six passages each, one paragraph per passage, sentences of
about 15 words) in one JSONL file, so the product's loader, chunker and analyzer do all of their
usual work.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.scale_corpus import TokenCorpus
from index.answer import QAService
from index.builder import build_index

PASSAGES_PER_ARTICLE = 6
WORDS_PER_SENTENCE = 15


def write_articles(corpus: TokenCorpus, n: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "articles.jsonl").open("w", encoding="utf-8") as out:
        for start in range(0, n, PASSAGES_PER_ARTICLE):
            paragraphs = []
            for words in corpus.iter_passages(start, min(start + PASSAGES_PER_ARTICLE, n)):
                sentences = [
                    " ".join(words[i : i + WORDS_PER_SENTENCE]).capitalize() + "."
                    for i in range(0, len(words), WORDS_PER_SENTENCE)
                ]
                paragraphs.append(" ".join(sentences))
            title = paragraphs[0].split(".")[0][:60].title()
            record = {
                "id": f"a{start // PASSAGES_PER_ARTICLE:07d}",
                "title": title,
                "text": "\n\n".join(paragraphs),
                "url": f"https://news.example/{start // PASSAGES_PER_ARTICLE}",
                "date": "2024-05-01",
            }
            out.write(json.dumps(record) + "\n")


def child_e2e_build(work: Path, n: int) -> dict[str, Any]:
    corpus = TokenCorpus.load(work / "corpus")
    started = time.perf_counter()
    write_articles(corpus, n, work / "e2e-corpus")
    written_s = time.perf_counter() - started
    step = {"last": 0.0}

    def progress(stage: str, done: int, total: int) -> None:
        if time.perf_counter() - step["last"] > 15 or done == total:
            step["last"] = time.perf_counter()
            print(f"  product build: {stage} {done:,}/{total:,}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    manifest = build_index(work / "e2e-corpus", work / "e2e-index", progress=progress)
    return {
        "write_s": written_s,
        "build_s": time.perf_counter() - started,
        "passages": manifest.passages,
        "articles": manifest.articles,
    }


def child_e2e_serve(work: Path, questions: list[list[str]]) -> dict[str, Any]:
    started = time.perf_counter()
    service = QAService.open(work / "e2e-index")
    open_s = time.perf_counter() - started
    asked = [f"What about {' '.join(words)}?" for words in questions]
    # The first pass after opening reads the memory-mapped pages in (cold); the steady-state pass asks
    # other questions, which the service has not seen either: half the questions each.
    first, asked = asked[: len(asked) // 2], asked[len(asked) // 2 :]

    def timed(batch: list[str]) -> tuple[npt.NDArray[np.float64], int]:
        latencies, found = [], 0
        for question in batch:
            started = time.perf_counter()
            found += service.answer(question).found
            latencies.append(time.perf_counter() - started)
        return np.asarray(latencies) * 1000, found

    cold, _ = timed(first)
    ms, found = timed(asked)
    return {
        "open_s": open_s,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "cold_p50": float(np.percentile(cold, 50)),
        "cold_p95": float(np.percentile(cold, 95)),
        "questions": len(asked),
        "found": found,
    }
