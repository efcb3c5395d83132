"""How long `index_status` takes (every status check and hot-reload poll runs it) on a large corpus.

    python -m benchmarks.status                        # 20,000 article files, status timed 20 times
    python -m benchmarks.status --articles 100000 --repeat 5

Writes a folder of synthetic news-like articles (one file per article, as benchmarks/update.py does),
builds its index once, then times `index_status` on the unchanged corpus (the common case: nothing
changed, the index is current), and once more after one article is edited, to show it turns stale.
Every figure printed comes from this run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scale_corpus import synthetic
from benchmarks.update import PASSAGES_PER_ARTICLE, article_path, write_article
from index.builder import build_index
from index.settings import IndexConfig, index_status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workdir", type=Path, help="keep the corpus and index here (reused if present)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="status-bench-") as temp:
        work = args.workdir or Path(temp)
        corpus, index_dir = work / "corpus", work / "index"
        if not index_dir.exists():
            tokens = synthetic(args.articles * PASSAGES_PER_ARTICLE)
            for number in range(args.articles):
                write_article(tokens, number, corpus)
            build_index(corpus, index_dir)
        config = IndexConfig()
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            status = index_status(corpus, index_dir, config)
            seconds.append(time.perf_counter() - started)
        assert status.usable, status.reason
        files = sum(1 for _ in corpus.rglob("*.txt"))
        print(
            f"index_status, current, {files:,} files: median {statistics.median(seconds) * 1000:.0f} ms "
            f"(min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f}) over {args.repeat} runs"
        )
        edited = article_path(corpus, args.articles // 2)
        info = edited.stat()
        os.utime(edited, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        try:
            print(f"after editing one article: {index_status(corpus, index_dir, config).reason}")
        finally:
            os.utime(edited, ns=(info.st_atime_ns, info.st_mtime_ns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
