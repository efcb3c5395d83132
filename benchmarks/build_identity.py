"""Check that a build is unchanged: the same index files as another revision's, the same corpus readings.

    python -m benchmarks.build_identity --against main                   # test corpora, 1 and 2 workers
    python -m benchmarks.build_identity --against main --synthetic 20000 # and the benchmark's corpus
    python -m benchmarks.build_identity --digests                        # digests for test_build_identity

`--against REV` exports the `index` package of git revision REV into a temporary folder, builds every
corpus with it and with the working tree (each build in a fresh interpreter), and compares the files of
the two index generations by their SHA-256 (the manifest aside: it records the build time). `--digests`
prints the digest of what this tree's loader, chunker and analyzer make of each test corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from index.analyzer import Analyzer
from index.chunker import ChunkingConfig, chunk_article, sentence_spans
from index.loader import load_corpus

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CORPORA = {
    "corpus": ROOT / "corpus",
    "articles": DATA / "articles",
    "news-wikinews": DATA / "news-wikinews",
    "dated-news": DATA / "dated-news" / "articles",
    "squad-subset": DATA / "squad-subset",
    "feed-pages": DATA / "feeds" / "pages",
}
SYNTHETIC_SAMPLE = 600  # articles of the benchmark's corpus in `--digests` and the test

BUILD = """
import json, sys
from pathlib import Path
from index.builder import build_index
from index.store import IndexStore
manifest = build_index(Path(sys.argv[1]), Path(sys.argv[2]), workers=int(sys.argv[3]), min_parallel_bytes=0)
print(json.dumps({name: entry["sha256"] for name, entry in manifest.files.items()}))
"""


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.name, record.getMessage()))


def pipeline_records(corpus: Path) -> Iterator[object]:
    """Every article's fields, passages and terms, then every file skipped, in build order."""
    loaded = load_corpus(corpus)
    analyzer = Analyzer()
    for article in loaded.articles:
        chunks = chunk_article(article, ChunkingConfig())
        yield [
            article.doc_id,
            article.title,
            article.text,
            article.publisher,
            article.url,
            article.date.isoformat() if article.date else None,
            article.author,
            article.path,
            analyzer.tokens(article.title),
            [[chunk.n, chunk.start, chunk.end, analyzer.tokens(chunk.text)] for chunk in chunks],
        ]
    yield [[item.path, item.reason, item.count] for item in loaded.skipped]


def pipeline_digest(corpus: Path) -> str:
    """SHA-256 of everything a build takes from `corpus` (`pipeline_records`) and the warnings it logs."""
    digest = hashlib.sha256()
    handler = _Warnings()
    logger = logging.getLogger("index")
    logger.addHandler(handler)
    try:
        for record in pipeline_records(corpus):
            digest.update(json.dumps(record, ensure_ascii=False).encode() + b"\n")
    finally:
        logger.removeHandler(handler)
    digest.update(json.dumps(handler.seen, ensure_ascii=False).encode())
    return digest.hexdigest()


def sample_texts() -> list[str]:
    """Titles and texts of the SQuAD sample and the Wikinews set, and the dated news files as written."""
    texts = []
    for path in (DATA / "squad-subset" / "articles.jsonl", DATA / "news-wikinews" / "articles.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts += [record["title"], record["text"]]
    folder = DATA / "dated-news" / "articles"
    texts += [path.read_text(encoding="utf-8") for path in sorted(folder.iterdir())]
    return texts


def sentence_digest(texts: Sequence[str]) -> str:
    """SHA-256 of the sentences of every text and of every paragraph of it."""
    digest = hashlib.sha256()
    for text in texts:
        for paragraph in [text, *text.split("\n\n")]:
            digest.update(json.dumps(sentence_spans(paragraph)).encode() + b"\n")
    return digest.hexdigest()


def digests(work: Path) -> dict[str, str]:
    """The digests that tests/test_build_identity.py holds frozen."""
    from benchmarks.build import write_corpus

    synthetic = work / "synthetic"
    synthetic.mkdir(parents=True, exist_ok=True)
    write_corpus(SYNTHETIC_SAMPLE, synthetic / "articles.jsonl")
    found = {name: pipeline_digest(path) for name, path in CORPORA.items()}
    found[f"synthetic-{SYNTHETIC_SAMPLE}"] = pipeline_digest(synthetic)
    found["sentences"] = sentence_digest(sample_texts())
    return found


def build_files(code_root: Path, corpus: Path, index_dir: Path, workers: int) -> dict[str, str]:
    """The SHA-256 of every file of the index that the `index` package under `code_root` builds."""
    result = subprocess.run(
        [sys.executable, "-c", BUILD, str(corpus), str(index_dir), str(workers)],
        capture_output=True,
        text=True,
        cwd=code_root,
        env={**os.environ, "PYTHONPATH": str(code_root)},
        check=True,
    )
    files: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return files


def export(revision: str, into: Path) -> Path:
    """The `index` package of git `revision`, written under `into`."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "index"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def compare(revision: str, corpora: dict[str, Path], workers: Sequence[int], work: Path) -> bool:
    old_root = export(revision, work / "old")
    same = True
    for name, corpus in corpora.items():
        for count in workers:
            old = build_files(old_root, corpus, work / f"{name}-{count}-old", count)
            new = build_files(ROOT, corpus, work / f"{name}-{count}-new", count)
            differ = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
            verdict = "DIFFER: " + ", ".join(differ) if differ else "identical"
            print(f"{name:<16}{count} worker(s)  {verdict}")
            same = same and not differ
    return same


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", metavar="REV", help="git revision whose index files to compare with")
    parser.add_argument("--synthetic", type=int, default=0, help="also a benchmark corpus of N articles")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--digests", action="store_true", help="print the digests the identity test holds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="article-qa-identity-") as temp:
        work = Path(temp)
        if args.digests:
            for name, value in digests(work).items():
                print(f'    "{name}": "{value}",')
        if not args.against:
            return 0
        corpora = dict(CORPORA)
        if args.synthetic:
            from benchmarks.build import write_corpus

            (work / "synthetic").mkdir(exist_ok=True)
            write_corpus(args.synthetic, work / "synthetic" / "articles.jsonl")
            corpora[f"synthetic-{args.synthetic}"] = work / "synthetic"
        return 0 if compare(args.against, corpora, args.workers, work) else 1


if __name__ == "__main__":
    raise SystemExit(main())
