"""Updating an index in place against building it again, and answering while an update runs.

    python -m benchmarks.update                       # 100,000 passages; adds and removes 1, 100, 10,000
    python -m benchmarks.update --passages 1000000    # about 30 minutes on 2 cores

Writes a folder of synthetic news-like articles (six passages each, one file per article, see
scale_corpus.py), builds the index in full, then for each size adds that many new article files and
updates the index (`update_index`), then deletes them and updates again. Each update is checked: the
updated index must answer a sample of questions exactly as a full build of the same corpus (the check
is not timed). Last, questions are answered from an open `QAService` while a thread of the same
process updates the index (as the bot's folder watcher does), and the latencies are compared with
those of an idle index. Every figure printed comes from this run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.scale_corpus import TokenCorpus, questions, synthetic
from index.answer import QAService
from index.builder import build_index
from index.update import UpdateReport, update_index

PASSAGES_PER_ARTICLE = 6
WORDS_PER_SENTENCE = 15
PER_FOLDER = 1000
SETTLE_S = 2.1  # files younger than the update's 2 s "racy" window are read again by the next update


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_article(corpus: TokenCorpus, number: int, folder: Path) -> None:
    """Article `number`: passages 6n..6n+5 of `corpus`, one paragraph each, in its own file."""
    start = number * PASSAGES_PER_ARTICLE
    paragraphs = []
    for words in corpus.iter_passages(start, start + PASSAGES_PER_ARTICLE):
        sentences = [
            " ".join(words[i : i + WORDS_PER_SENTENCE]).capitalize() + "."
            for i in range(0, len(words), WORDS_PER_SENTENCE)
        ]
        paragraphs.append(" ".join(sentences))
    title = paragraphs[0].split(".")[0][:60].title()
    path = article_path(folder, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"Title: {title}\nSource: Wire {number % 7}\nDate: 2024-05-{number % 28 + 1:02d}\n\n"
    path.write_text(header + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def article_path(folder: Path, number: int) -> Path:
    return folder / f"d{number // PER_FOLDER:04d}" / f"a{number:07d}.txt"


def timed_update(corpus: Path, index_dir: Path) -> tuple[UpdateReport, float]:
    started = time.perf_counter()
    report = update_index(corpus, index_dir)
    return report, time.perf_counter() - started


def same_answers(index_dir: Path, corpus: Path, reference: Path, asked: list[str]) -> bool:
    """True when the index answers `asked` as a full build of `corpus` does (scores, passages as sets)."""
    shutil.rmtree(reference, ignore_errors=True)
    build_index(corpus, reference)
    updated, full = QAService.open(index_dir), QAService.open(reference)

    def key(service: QAService, question: str) -> list[tuple[float, str]]:
        return sorted((-p.score, p.text) for p in service.answer(question, 5).passages)

    same = all(key(updated, q) == key(full, q) for q in asked)
    shutil.rmtree(reference)
    return same


def latencies(service: QAService, asked: list[str], until: threading.Event | None = None) -> list[float]:
    """Seconds per answer, over `asked` (repeated while `until` is not set, if given)."""
    found = []
    while True:
        for question in asked:
            started = time.perf_counter()
            service.answer(question, 3)
            found.append(time.perf_counter() - started)
            if until is not None and until.is_set():
                return found
        if until is None:
            return found


Row = tuple[int, UpdateReport, float, bool | None, UpdateReport, float, bool | None]


def print_table(corpus: str, full_s: float, rows: list[Row]) -> None:
    """The add and remove figures of each size, against the full build."""
    print(f"\n{corpus}; full build {full_s:.2f} s\n")
    print("| articles | add s | passages after | remove s | passages after | same answers as a full build |")
    print("|--:|--:|--:|--:|--:|---|")
    for size, added, added_s, checked, removed, removed_s, checked_removed in rows:
        check = "-" if checked is None else ("yes" if checked and checked_removed else "NO")
        print(
            f"| {size:,} | {added_s:.2f}{how(added)} | {added.manifest.passages:,} | "
            f"{removed_s:.2f}{how(removed)} | {removed.manifest.passages:,} | {check} |"
        )
    ratio = statistics.mean(r[2] for r in rows[:2]) / full_s
    print(f"updates adding 1 and 100 articles / full build: {ratio:.3f}x")


def how(report: UpdateReport) -> str:
    """What an update did when it could not apply the changes alone: a full build, and why."""
    return f" (full build: {report.reason})" if report.full else ""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def run(passages: int, sizes: list[int], work: Path, verify: bool) -> int:
    base_articles = passages // PASSAGES_PER_ARTICLE
    extra = max(sizes)
    tokens = synthetic((base_articles + extra) * PASSAGES_PER_ARTICLE, seed=3)
    corpus, index_dir = work / "corpus", work / "index"
    log(f"writing {base_articles:,} articles")
    for number in range(base_articles):
        write_article(tokens, number, corpus)
    time.sleep(SETTLE_S)
    log("building in full")
    started = time.perf_counter()
    manifest = build_index(corpus, index_dir)
    full_s = time.perf_counter() - started
    asked = [" ".join(q) for q in questions(tokens, 60, seed=4)]
    rows: list[Row] = []
    ok = True
    for size in sizes:
        new = range(base_articles, base_articles + size)
        for number in new:
            write_article(tokens, number, corpus)
        time.sleep(SETTLE_S)
        added, added_s = timed_update(corpus, index_dir)
        checked = same_answers(index_dir, corpus, work / "full", asked[:20]) if verify else None
        for number in new:
            article_path(corpus, number).unlink()
        removed, removed_s = timed_update(corpus, index_dir)
        checked_removed = same_answers(index_dir, corpus, work / "full", asked[:20]) if verify else None
        ok = ok and checked is not False and checked_removed is not False
        rows.append((size, added, added_s, checked, removed, removed_s, checked_removed))
        log(f"  {size:,}: add {added_s:.2f} s, remove {removed_s:.2f} s")

    service = QAService.open(index_dir)
    latencies(service, asked)  # first touches of the index's pages and caches
    idle = latencies(service, asked)
    for number in range(base_articles, base_articles + extra):
        write_article(tokens, number, corpus)
    time.sleep(SETTLE_S)
    done = threading.Event()
    outcome: list[float] = []

    def update() -> None:
        outcome.append(timed_update(corpus, index_dir)[1])
        done.set()

    worker = threading.Thread(target=update)
    worker.start()
    busy = latencies(service, asked, until=done)
    worker.join()

    print_table(f"{manifest.passages:,} passages in {manifest.articles:,} article files", full_s, rows)
    print(
        f"\nanswers (QAService.answer, {len(asked)} questions): idle p50 {percentile(idle, 0.5):.1f} ms, "
        f"p95 {percentile(idle, 0.95):.1f} ms; while adding {extra:,} articles in {outcome[0]:.1f} s "
        f"({len(busy)} answers): p50 {percentile(busy, 0.5):.1f} ms, p95 {percentile(busy, 0.95):.1f} ms, "
        f"max {max(busy) * 1000:.1f} ms"
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=100_000, help="passages in the base corpus")
    parser.add_argument("--sizes", default="1,100,10000", help="articles added then removed, comma-separated")
    parser.add_argument("--no-verify", action="store_true", help="skip the comparisons with full builds")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and index here (default: a temp dir)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return run(args.passages, sizes, args.workdir, not args.no_verify)
    with tempfile.TemporaryDirectory(prefix="article-qa-update-") as tmp:
        return run(args.passages, sizes, Path(tmp), not args.no_verify)


if __name__ == "__main__":
    sys.exit(main())
