"""Index time of one article written on a single very long line, and of a page of unclosed HTML tags.

    python -m benchmarks.long_line               # a 16 MB line, and 1 MB of "<a " and of '<div class="x'
    python -m benchmarks.long_line --mb 2.1      # the size of the article first reported slow

Sentence splitting and HTML parsing must stay linear in the size of the input: each step's time is
printed, and doubling --mb should roughly double it. Timings are only reported, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from index.builder import build_index
from index.chunker import chunk_article, sentence_spans
from index.htmltext import parse_html
from index.loader import load_corpus

T = TypeVar("T")

_SENTENCES = (
    "The council met on Tuesday and voted 7-2 to close the pool, Mr. Smith said.",
    "Repairs will cost about $1.2 million and take until Jan. 15, officials said.",
    '"We had no choice," said Dr. Ana Lopez, who chairs the U.S. board.',
    "PINE VALLEY, Calif. (AP) — Crews worked through the night near the ridge.",
    "Residents asked whether the library would stay open on weekends.",
)


def one_line_article(megabytes: float, seed: int = 7) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        sentence = rng.choice(_SENTENCES)
        parts.append(sentence)
        size += len(sentence) + 1
    return "Long line\n\n" + " ".join(parts) + "\n"


def timed(label: str, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = action()
    print(f"{label:<40} {time.perf_counter() - start:8.2f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--mb", type=float, default=16.0, help="size of the one-line article (MB)")
    parser.add_argument("--html-mb", type=float, default=1.0, help="size of each unclosed-tag page (MB)")
    args = parser.parse_args(argv)
    text = one_line_article(args.mb)
    print(f"one-line article: {len(text) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder, "corpus")
        corpus.mkdir()
        (corpus / "long.txt").write_text(text, encoding="utf-8")
        article = timed("load and clean", lambda: load_corpus(corpus)).articles[0]
        spans = timed("sentence_spans", lambda: sentence_spans(article.text))
        chunks = timed("chunk_article", lambda: chunk_article(article))
        timed("build_index (load, chunk, analyze, save)", lambda: build_index(corpus, Path(folder, "index")))
        print(f"{len(spans)} sentences, {len(chunks)} passages")
    for unit in ("<a ", '<div class="x'):
        markup = "<html><body><p>The dam held.</p>" + unit * int(args.html_mb * 1_000_000 / len(unit))
        label = f"parse_html of {args.html_mb:g} MB of {unit!r}"
        page = timed(label, functools.partial(parse_html, markup))
        print(f"{len(page.text)} characters of text")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
