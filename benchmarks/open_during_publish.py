"""Open and query the index over and over while another process rebuilds it; count failed opens.

    python -m benchmarks.open_during_publish --articles 300 --seconds 40

Each publish removes the generation it replaces, so an open that read the pointer just before a swap
finds its files gone. Opening must then open the new generation instead of failing (which would make
the front-ends rebuild an index that is fine). Prints the counts; exits 1 if any open failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.crash_loop import write_corpus
from index.answer import QAService
from index.builder import build_index
from index.errors import ArticleQAError

ROOT = Path(__file__).resolve().parents[1]

# Rebuilds the index until its time is up; prints how many builds it published.
REBUILD_CHILD = """
import sys, time
from pathlib import Path
from index.builder import build_index
corpus, index_dir, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
end, builds = time.monotonic() + seconds, 0
while time.monotonic() < end:
    build_index(corpus, index_dir)
    builds += 1
print(builds)
"""


def run(articles: int, seconds: float, workdir: Path) -> int:
    corpus, index_dir = workdir / "corpus", workdir / "index"
    write_corpus(corpus, articles)
    build_index(corpus, index_dir)
    rebuilder = subprocess.Popen(
        [sys.executable, "-c", REBUILD_CHILD, str(corpus), str(index_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    opens, failures = 0, []
    while rebuilder.poll() is None:
        opens += 1
        try:
            QAService.open(index_dir).answer("talks minister border")
        except ArticleQAError as err:
            failures.append(str(err))
    builds = rebuilder.communicate()[0].strip()
    print(f"{opens:,} opens while {builds} builds were published: {len(failures)} failed")
    for failure in failures[:3]:
        print(f"  {failure}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=300, help="articles in the corpus (default 300)")
    parser.add_argument("--seconds", type=float, default=40.0, help="how long to rebuild (default 40)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="article-qa-open-race-") as tmp:
        return run(args.articles, args.seconds, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
