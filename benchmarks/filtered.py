"""Filtered retrieval against unfiltered, in one run: date filters allowing 1%, 10% and 50% of passages.

    python -m benchmarks.filtered --passages 100000
    python -m benchmarks.filtered --passages 1000000 --queries 200     # a few minutes to build

Builds the inverted index of a deterministic news-like corpus (scale_corpus.py), groups its passages
into articles of about six, and dates each article. Two layouts: "scattered" (dates drawn at random:
articles of one week are spread over the whole index, as after indexing a folder of mixed files) and
"recent" (dates rise with the passage id: a date window is one run of passages, as after adding each
day's articles). For each share of allowed passages, the same questions are answered unfiltered and
filtered, in interleaved timed passes, and the p50/p95 latencies are reported with the filtered p50
over the unfiltered one. Also reported: how long it takes to turn a filter into its passage mask
(once per filter: the service keeps recent ones).

Parity is checked, not assumed: every filtered top-k equals an exhaustive scoring of the allowed
passages (no pruning, no direct scoring). The exit status is 1 on any mismatch; timings are only
reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.scale_corpus import PASSAGES_PER_ARTICLE, questions, synthetic
from index.filters import ArticleFacets, SearchFilter
from index.inverted import InvertedIndex
from index.inverted.search import Allowed
from index.models import Source

SHARES = (0.01, 0.10, 0.50)
FIRST_DAY = dt.date(2020, 1, 1)
DAYS = 2000


class Exhaustive(InvertedIndex):
    """Sums every posting of the query terms, then applies the mask: the plain definition of a filter."""

    exhaustive_postings = 1 << 62
    direct_ratio = 1 << 62


class NoDirect(InvertedIndex):
    """Never scores allowed passages directly: the mask is checked inside MaxScore only."""

    direct_ratio = 1 << 62


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dated_articles(n_passages: int, layout: str, seed: int) -> tuple[ArticleFacets, list[int], list[int]]:
    """Articles of about six passages each, dated by `layout`: the facets, each article's day and size."""
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(PASSAGES_PER_ARTICLE - 1, n_passages)
    article_of = np.repeat(np.arange(n_passages, dtype=np.int32), sizes)[:n_passages]
    n_articles = int(article_of[-1]) + 1
    days = rng.integers(0, DAYS, n_articles)
    if layout == "recent":
        days.sort()
    sources = [
        Source(f"Article {i}", "Metro Wire Service", FIRST_DAY + dt.timedelta(days=int(day)))
        for i, day in enumerate(days)
    ]
    passages = np.bincount(article_of, minlength=n_articles)
    return ArticleFacets(article_of, sources), days.tolist(), passages.tolist()


def since_for(days: list[int], passages: list[int], share: float) -> SearchFilter:
    """The "since" filter whose window (the latest days) holds about `share` of the passages."""
    per_day = np.bincount(days, weights=passages, minlength=DAYS)
    from_day = np.cumsum(per_day[::-1])[::-1]  # passages dated on or after each day
    first = int(np.flatnonzero(from_day >= share * from_day[0])[-1])
    return SearchFilter(since=FIRST_DAY + dt.timedelta(days=first))


def timed(run: Callable[[list[str]], object], asked: Sequence[list[str]]) -> list[float]:
    latencies = []
    for terms in asked:
        started = time.perf_counter()
        run(terms)
        latencies.append(time.perf_counter() - started)
    return latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.filtered", description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=30, help="hits asked for (the answer service asks 30)")
    parser.add_argument("--passes", type=int, default=3, help="timed passes per filter (interleaved)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    log(f"generating {args.passages:,} passages and {args.queries} questions ...")
    corpus = synthetic(args.passages, seed=args.seed)
    asked = questions(corpus, args.queries, seed=args.seed + 1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        InvertedIndex.build(corpus.iter_passages()).save(Path(folder))
        log(f"built the index in {time.perf_counter() - started:.1f} s")
        # Memory-mapped and read in, as the service serves it; the three share the page cache.
        engines = Engines(*(engine.load(Path(folder)) for engine in (InvertedIndex, NoDirect, Exhaustive)))
        engines.served.prefetch()
        return compare(engines, asked, args)


@dataclass(frozen=True, slots=True)
class Engines:
    """The index as served, the same without direct scoring, and the exhaustive reference."""

    served: InvertedIndex
    no_direct: InvertedIndex
    reference: InvertedIndex


def compare(engines: Engines, asked: list[list[str]], args: argparse.Namespace) -> int:
    """Print the table and the parity line; 1 on any mismatch."""
    print(f"filtered retrieval: {args.passages:,} passages, {len(asked)} questions, top {args.k}")
    print(
        f"{'layout':10} {'allowed':>8} {'mask ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'x unfilt':>8}"
        f" {'no-direct p50':>13}  parity"
    )
    failures = 0
    for layout in ("scattered", "recent"):
        facets, days, passages = dated_articles(args.passages, layout, args.seed + 2)
        filters: list[tuple[str, Allowed, float]] = []
        for share in SHARES:
            chosen = since_for(days, passages, share)
            started = time.perf_counter()
            allowed = facets.select(chosen).allowed
            filters.append((f"{allowed.fraction:.1%}", allowed, time.perf_counter() - started))
        failures += layout_rows(engines, layout, filters, asked, args)
    print(
        "parity  filtered top-k vs exhaustive scoring of the allowed passages: "
        + ("OK" if not failures else f"{failures} MISMATCHES")
    )
    return 1 if failures else 0


def layout_rows(
    engines: Engines,
    layout: str,
    filters: list[tuple[str, Allowed, float]],
    asked: list[list[str]],
    args: argparse.Namespace,
) -> int:
    """Time every filter against unfiltered in interleaved passes; print a row each; the mismatches."""
    k, served = args.k, engines.served
    unfiltered: list[float] = []
    runs: dict[str, list[float]] = {name: [] for name, _, _ in filters}
    no_direct: dict[str, list[float]] = {name: [] for name, _, _ in filters}
    timed(lambda terms: served.top_k(terms, k), asked)  # warm up
    for _ in range(args.passes):
        unfiltered += timed(lambda terms: served.top_k(terms, k), asked)
        for name, allowed, _ in filters:
            runs[name] += timed(partial(served.top_k, k=k, allowed=allowed), asked)
            no_direct[name] += timed(partial(engines.no_direct.top_k, k=k, allowed=allowed), asked)
    base = statistics.median(unfiltered)
    print(f"{layout:10} {'none':>8} {'-':>8} {ms(base)} {ms(float(np.percentile(unfiltered, 95)))}")
    failures = 0
    for name, allowed, mask_s in filters:
        want = [engines.reference.top_k(terms, k, allowed) for terms in asked]
        wrong = sum(served.top_k(t, k, allowed) != w for t, w in zip(asked, want, strict=True))
        wrong += sum(engines.no_direct.top_k(t, k, allowed) != w for t, w in zip(asked, want, strict=True))
        failures += wrong
        p50 = statistics.median(runs[name])
        verdict = "OK" if not wrong else f"{wrong} MISMATCHES"
        print(
            f"{layout:10} {name:>8} {ms(mask_s)} {ms(p50)} {ms(float(np.percentile(runs[name], 95)))}"
            f" {p50 / base:8.2f} {ms(statistics.median(no_direct[name])):>13}  {verdict}"
        )
    return failures


if __name__ == "__main__":
    sys.exit(main())
