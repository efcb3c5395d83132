"""Build benchmark: `article-qa index` with one worker and with every core, against a rank-bm25 user's script.

    python -m benchmarks.build --articles 100000          # one-passage articles in one JSONL file
    python -m benchmarks.build --articles 1000000 --skip-single --skip-baseline
    python -m benchmarks.build --articles 100000 --stages --skip-single --skip-baseline  # CPU by stage

Writes a synthetic JSONL corpus (benchmarks.scale_corpus: news-like word statistics; one passage per
article), then builds it in fresh processes, one after the other: the product's `build_index` with 1
worker and with `os.cpu_count()` workers, and the ten-line pipeline of a rank-bm25 user (read the lines,
`re.findall(r"\\w+", text.lower())`, `BM25Okapi`). Prints seconds, CPU seconds and peak RSS (the build
process and its workers together, sampled every 0.1 s) and the ratios; checks that both product builds
wrote the same index files (same checksums). On a machine that other jobs share, CPU seconds change
less with their load than wall seconds do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from benchmarks.scale_corpus import synthetic

WORDS_PER_SENTENCE = 15
SAMPLE_SECONDS = 0.1

# The rank-bm25 user's script, as a child process: the baseline every figure is compared with.
RANK_BM25_USER = """
import json, re, sys
from rank_bm25 import BM25Okapi
with open(sys.argv[1], encoding="utf-8") as lines:
    texts = [json.loads(line)["text"] for line in lines]
bm25 = BM25Okapi([re.findall(r"\\w+", text.lower()) for text in texts])
print(json.dumps({"passages": len(texts)}))
"""

PRODUCT_BUILD = """
import json, sys
from pathlib import Path
from index.builder import build_index
manifest = build_index(Path(sys.argv[1]), Path(sys.argv[2]), workers=int(sys.argv[3]))
print(json.dumps({"passages": manifest.passages, "files": manifest.files}))
"""

# The per-article work of a build, stage by stage in one process: CPU seconds of each.
STAGES = """
import json, sys, time
from pathlib import Path
from index.analyzer import Analyzer, NumberedWords
from index.chunker import ChunkingConfig, chunk_with_sentences, sentence_spans
from index.loader import load_corpus
from index.passage_analysis import analyze_numbers
clock, seconds = time.process_time, {}
started = clock()
articles = load_corpus(Path(sys.argv[1])).articles
seconds["read and clean"], started = clock() - started, clock()
split = [chunk_with_sentences(article, ChunkingConfig()) for article in articles]
seconds["split into passages"], started = clock() - started, clock()
passages = [
    (chunk, carried if carried is not None else sentence_spans(chunk.text) or [(0, len(chunk.text))])
    for chunks, sentences in split for chunk, carried in zip(chunks, sentences)
]
seconds["split passages into sentences"], started = clock() - started, clock()
numbering = {}
words = NumberedWords(Analyzer(), lambda term: numbering.setdefault(term, len(numbering)))
titles = {article.doc_id: words.numbers(article.title) for article in articles}
ids = [titles[chunk.doc_id] + analyze_numbers(words, chunk.text, spans)[0] for chunk, spans in passages]
seconds["analyze (titles and passages)"] = clock() - started
print(json.dumps(seconds))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_corpus(n_articles: int, path: Path, seed: int = 0) -> None:
    """`n_articles` one-passage news-like articles in one JSONL file (sentences of 15 words)."""
    corpus = synthetic(n_articles, seed)
    with path.open("w", encoding="utf-8") as out:
        for i, words in enumerate(corpus.iter_passages()):
            sentences = [
                " ".join(words[at : at + WORDS_PER_SENTENCE]).capitalize() + "."
                for at in range(0, len(words), WORDS_PER_SENTENCE)
            ]
            record = {
                "id": f"a{i:07d}",
                "title": " ".join(words[:6]).title(),
                "text": " ".join(sentences),
                "url": f"https://news.example/{i}",
                "date": "2024-05-01",
            }
            out.write(json.dumps(record) + "\n")


def timed_child(code: str, args: Sequence[str]) -> dict[str, Any]:
    """Run `code` in a new interpreter: its JSON result, `seconds`, `cpu`, `peak_rss` (whole process tree)."""
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env, cwd=root
    )
    peak = 0
    cpu: dict[int, float] = {}  # the last CPU seconds seen of every process of the tree
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        peak = max(peak, _tree_rss(parent, cpu))
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"build failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "seconds": seconds, "cpu": sum(cpu.values()), "peak_rss": peak}


def _tree_rss(parent: psutil.Process, cpu: dict[int, float]) -> int:
    """RSS of `parent` and every process below it (forkserver workers are its grandchildren); notes the
    CPU seconds (user and system) of each in `cpu`."""
    total = 0
    try:
        processes = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
            times = process.cpu_times()
            cpu[process.pid] = times.user + times.system
        except psutil.Error:
            pass
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--stages", action="store_true", help="also CPU seconds by stage, in one process")
    parser.add_argument("--skip-single", action="store_true", help="no 1-worker build (saves time at 1M)")
    parser.add_argument(
        "--skip-baseline", action="store_true", help="no rank-bm25 build (it needs ~12 GB at 1M articles)"
    )
    parser.add_argument(
        "--work", type=Path, help="folder for the corpus and indexes (default: a temp folder)"
    )
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="article-qa-build-"))
    try:
        return run(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    corpus = work / "corpus" / "articles.jsonl"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_corpus(args.articles, corpus)
    log(
        f"corpus: {args.articles:,} articles, {corpus.stat().st_size / 2**20:.0f} MB "
        f"(written in {time.perf_counter() - started:.1f} s)"
    )
    if args.stages:
        stages = timed_child(STAGES, [str(corpus.parent)])
        for stage, cpu in stages.items():
            if stage not in ("seconds", "cpu", "peak_rss"):  # those of the whole child process
                print(f"{stage:<36}{cpu:>6.2f} CPU s")
    results: dict[str, dict[str, Any]] = {}
    if not args.skip_baseline:
        results["rank-bm25 user"] = timed_child(RANK_BM25_USER, [str(corpus)])
    counts = [args.workers] if args.skip_single else [1, args.workers]
    for workers in counts:
        name = f"article-qa, {workers} worker{'s' if workers > 1 else ''}"
        shutil.rmtree(work / "index", ignore_errors=True)
        results[name] = timed_child(PRODUCT_BUILD, [str(corpus.parent), str(work / "index"), str(workers)])
    baseline = results["rank-bm25 user"]["seconds"] if "rank-bm25 user" in results else float("nan")
    # On a shared machine the other processes' load says how many cores the builds really had.
    print(f"{os.cpu_count()} cores; load average over the last 15 min: {os.getloadavg()[2]:.1f}")
    baseline_cpu = results["rank-bm25 user"]["cpu"] if "rank-bm25 user" in results else float("nan")
    print(f"{'build':<26}{'seconds':>9}{'CPU s':>8}{'peak RSS':>11}{'x rank-bm25':>13}{'CPU x':>7}")
    for name, result in results.items():
        print(
            f"{name:<26}{result['seconds']:>9.1f}{result['cpu']:>8.1f}{result['peak_rss'] / 2**20:>8.0f} MB"
            f"{result['seconds'] / baseline:>13.2f}{result['cpu'] / baseline_cpu:>7.2f}"
        )
    product = [result for name, result in results.items() if name.startswith("article-qa")]
    if len(product) == 2:
        same = product[0]["files"] == product[1]["files"]
        print(
            f"speed-up with {args.workers} workers: {product[0]['seconds'] / product[1]['seconds']:.2f}x; "
            f"index files identical: {'yes' if same else 'NO'}"
        )
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
