"""Questions per second and p50/p95 latency of QAService under concurrency: threads and asyncio.to_thread.

    python -m benchmarks.concurrency --articles 5000 --questions 400 --concurrency 1,2,4,8,32

Builds (once, in a temp dir or --workdir) an index of synthetic news-like articles with a Zipf vocabulary,
then asks the same questions (a few words taken from random articles) in three ways:
  serial      one after another on one thread: the baseline;
  threads     N threads, each answering the next question until none is left (N in flight);
  to_thread   N asyncio tasks, each awaiting asyncio.to_thread(service.answer, q) on an N-thread executor,
              as the Discord cog does, while a probe task measures how late the event loop runs (the
              worst stall: how long the loop waited for the GIL, or for a garbage collection).
Latency is from handing a question over to getting its answer back; q/s is questions over wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from index.answer import QAService
from index.builder import build_index

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


@dataclass(frozen=True, slots=True)
class Result:
    mode: str
    concurrency: int
    latencies: list[float]
    seconds: float
    worst_stall: float | None = None

    def row(self) -> str:
        ordered = sorted(self.latencies)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        stall = f"{self.worst_stall * 1000:9.1f}" if self.worst_stall is not None else f"{'-':>9s}"
        return (
            f"{self.mode:10s} {self.concurrency:5d} {len(ordered):6d} {len(ordered) / self.seconds:9.1f} "
            f"{statistics.median(ordered) * 1000:9.1f} {p95 * 1000:9.1f} {stall}"
        )


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4)))))
    return sorted(words)


def write_corpus(folder: Path, articles: int, seed: int) -> list[list[str]]:
    """Synthetic articles (Zipf word frequencies); returns each article's words, to draw questions from."""
    rng = random.Random(seed)
    words = vocabulary(20_000, rng)
    weights = [1.0 / (rank + 10) for rank in range(len(words))]
    folder.mkdir(parents=True, exist_ok=True)
    texts = []
    for i in range(articles):
        drawn = rng.choices(words, weights, k=rng.randint(150, 450))
        topic = rng.sample(words[500:], 5)  # each article repeats a few rarer words of its own
        drawn += [rng.choice(topic) for _ in range(len(drawn) // 10)]
        rng.shuffle(drawn)
        sentences = [" ".join(drawn[j : j + 15]).capitalize() + "." for j in range(0, len(drawn), 15)]
        paragraphs = [" ".join(sentences[j : j + 4]) for j in range(0, len(sentences), 4)]
        (folder / f"a{i:06d}.txt").write_text(
            f"{' '.join(topic[:3]).title()}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )
        texts.append(drawn)
    return texts


def questions_from(texts: list[list[str]], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(rng.choice(texts), rng.randint(3, 7))) for _ in range(count)]


def timed(service: QAService, question: str, handed_over: float) -> float:
    service.answer(question)
    return time.perf_counter() - handed_over


def run_serial(service: QAService, questions: list[str]) -> Result:
    started = time.perf_counter()
    latencies = [timed(service, q, time.perf_counter()) for q in questions]
    return Result("serial", 1, latencies, time.perf_counter() - started)


def run_threads(service: QAService, questions: list[str], workers: int) -> Result:
    pending = iter(questions)
    lock = threading.Lock()
    latencies: list[float] = []

    def worker() -> None:
        while True:
            with lock:
                question = next(pending, None)
            if question is None:
                return
            latency = timed(service, question, time.perf_counter())
            with lock:
                latencies.append(latency)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result("threads", workers, latencies, time.perf_counter() - started)


async def run_to_thread(service: QAService, questions: list[str], tasks: int) -> Result:
    loop = asyncio.get_running_loop()
    # As many threads as tasks, so that N really means N questions being answered at once.
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(tasks))
    worst = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal worst
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.002)
            worst = max(worst, loop.time() - before - 0.002)

    pending = iter(questions)
    latencies: list[float] = []

    async def worker() -> None:
        for question in pending:
            handed_over = time.perf_counter()
            await asyncio.to_thread(service.answer, question)
            latencies.append(time.perf_counter() - handed_over)

    probing = asyncio.create_task(probe())
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    seconds = time.perf_counter() - started
    done.set()
    await probing
    return Result("to_thread", tasks, latencies, seconds, worst)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=5000, help="articles in the corpus (default 5000)")
    parser.add_argument("--questions", type=int, default=400, help="questions per run (default 400)")
    parser.add_argument(
        "--concurrency", default="1,2,4,8,32", help="comma-separated levels (default 1,2,4,8,32)"
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep the corpus and index here")
    parser.add_argument(
        "--freeze", action="store_true", help="gc.freeze() after loading: later collections skip the index"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="  (log) %(levelname)s: %(message)s")
    levels = [int(level) for level in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="article-qa-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        corpus, index_dir = workdir / f"corpus-{args.articles}", workdir / f"index-{args.articles}"
        started = time.perf_counter()
        texts = write_corpus(corpus, args.articles, args.seed)
        manifest = build_index(corpus, index_dir)
        print(
            f"index: {manifest.articles:,} articles, {manifest.passages:,} passages "
            f"(corpus and build {time.perf_counter() - started:.1f} s); {os.cpu_count()} CPU(s), "
            f"Python {sys.version.split()[0]}{'; heap frozen after loading' if args.freeze else ''}"
        )
        service = QAService.open(index_dir)
        if args.freeze:
            gc.collect()
            gc.freeze()
        questions = questions_from(texts, args.questions, args.seed)
        run_serial(service, questions[:20])  # warm caches
        results = [run_serial(service, questions)]
        results += [run_threads(service, questions, n) for n in levels]
        results += [asyncio.run(run_to_thread(service, questions, n)) for n in levels]
    print(f"{'mode':10s} {'N':>5s} {'asked':>6s} {'q/s':>9s} {'p50 ms':>9s} {'p95 ms':>9s} {'stall ms':>9s}")
    for result in results:
        print(result.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
