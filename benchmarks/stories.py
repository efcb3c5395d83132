"""Story grouping benchmark: signatures per article, then grouping 100,000 articles from signatures.

    python -m benchmarks.stories --articles 100000
    python -m benchmarks.stories --articles 20000 --seed 3

Writes nothing to disk. Generates news-like articles with planted stories: most articles report an
event of their own; the rest are wire copies (the same text, a sentence changed), partial copies (the
first half and a local paragraph of their own) and updates told in other words (the same people,
places and figures, a few days later), plus template twins (one text, other names and figures, a
month apart) that must stay apart. Prints the time to compute the signatures (per article, and
against analyzing the same articles for the index), the time to group them, the time to regroup after
adding 1% more articles (from stored signatures, without any text), and the pairwise precision and
recall of the grouping against the planted stories.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.analyzer import Analyzer, AnalyzerConfig
from index.stories import Signatures, Stories, group_stories, signatures

START = dt.date(2024, 1, 1)
NAMES = 60_000  # distinct synthetic proper names (places, people, agencies)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    dates: list[dt.date | None]
    truth: list[int]  # planted story of each article


class Writer:
    """News-like sentences over a Zipf vocabulary, with proper names and counted figures."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        syllables = ["ar", "bel", "cor", "dan", "el", "fen", "gar", "hol", "ir", "jun", "kel", "lor", "mar"]
        syllables += ["nor", "ost", "pel", "quin", "ros", "sal", "tor", "ul", "ven", "wil", "yar", "zen"]
        combos = self.rng.choice(len(syllables) ** 4, size=NAMES, replace=False)
        self.names = [
            "".join(syllables[int(c) // len(syllables) ** k % len(syllables)] for k in range(4)).capitalize()
            for c in combos
        ]
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.words = ["".join(letters[i // 26**k % 26] for k in range(3)) + "e" for i in range(20_000)]
        ranks = np.arange(1, len(self.words) + 1)
        self.word_cdf = np.cumsum(1 / ranks) / (1 / ranks).sum()
        self.units = ["acres", "homes", "votes", "residents", "jobs", "percent", "miles", "workers"]

    def cast(self, size: int = 8) -> list[str]:
        """The names an event is about: a few common ones (a capital city) and rare ones."""
        common = [self.names[int(i)] for i in self.rng.integers(0, 50, size=2)]
        rare = [self.names[int(i)] for i in self.rng.integers(50, NAMES, size=size)]
        return common + rare

    def figures(self, size: int = 4) -> list[str]:
        return [
            f"{int(self.rng.integers(2, 5000)):,} {self.units[int(self.rng.integers(0, len(self.units)))]}"
            for _ in range(size)
        ]

    def sentence(self, cast: Sequence[str], figures: Sequence[str]) -> str:
        drawn = np.searchsorted(self.word_cdf, self.rng.random(14))
        words = [self.words[min(int(i), len(self.words) - 1)] for i in drawn]
        words[int(self.rng.integers(3, 7))] = cast[int(self.rng.integers(0, len(cast)))]
        if self.rng.random() < 0.5:
            words[int(self.rng.integers(8, 13))] = figures[int(self.rng.integers(0, len(figures)))]
        return "The " + " ".join(words) + "."

    def article(self, cast: Sequence[str], figures: Sequence[str], sentences: int = 18) -> str:
        return " ".join(self.sentence(cast, figures) for _ in range(sentences))


def generate(n_articles: int, seed: int) -> Corpus:
    """About 60% of the articles report an event of their own; the rest belong to planted stories."""
    writer = Writer(seed)
    rng = writer.rng
    texts: list[str] = []
    dates: list[dt.date | None] = []
    truth: list[int] = []
    story = 0
    while len(texts) < n_articles:
        day = START + dt.timedelta(days=int(rng.integers(0, 730)))
        cast, figures = writer.cast(), writer.figures()
        text = writer.article(cast, figures)
        kind = rng.random()
        members = [(text, day)]
        if 0.6 <= kind < 0.75:  # wire copies, a sentence changed
            for _ in range(int(rng.integers(1, 6))):
                edited = text.replace("The ", f"The {writer.sentence(cast, figures)} ", 1)
                members.append((edited, day + dt.timedelta(days=int(rng.integers(0, 2)))))
        elif 0.75 <= kind < 0.85:  # partial copies: the first half, then local paragraphs
            half = text[: len(text) // 2]
            for _ in range(int(rng.integers(1, 3))):
                local = writer.article(writer.cast(3), writer.figures(2), 8)
                members.append((half + " " + local, day + dt.timedelta(days=1)))
        elif 0.85 <= kind < 0.95:  # updates in other words: same names and figures, days apart
            for step in range(int(rng.integers(1, 4))):
                later = day + dt.timedelta(days=int(rng.integers(1, 10)) * (step + 1))
                members.append((writer.article(cast, figures), later))
        elif kind >= 0.95:  # a template twin: the same text about other names, a month on
            other_cast, other_figures = writer.cast(), writer.figures()
            twin = text
            for old, new in zip([*cast, *figures], [*other_cast, *other_figures], strict=True):
                twin = twin.replace(old, new)
            texts.append(twin)
            dates.append(day + dt.timedelta(days=30))
            truth.append(story + 1)
        for member_text, member_day in members:
            texts.append(member_text)
            undated = rng.random() < 0.05
            dates.append(None if undated else member_day)
            truth.append(story)
        story += 2
    return Corpus(texts[:n_articles], dates[:n_articles], truth[:n_articles])


def pairwise(found: Stories, truth: Sequence[int]) -> tuple[float, float]:
    """Pairwise precision and recall of `found` against the planted stories."""
    planted: dict[int, list[int]] = {}
    for row, story in enumerate(truth):
        planted.setdefault(story, []).append(row)
    true_pairs = sum(len(rows) * (len(rows) - 1) // 2 for rows in planted.values())
    found_pairs = right = 0
    for story in range(len(found)):
        members = found.members(story)
        found_pairs += len(members) * (len(members) - 1) // 2
        counts = Counter(truth[row] for row in members)
        right += sum(count * (count - 1) // 2 for count in counts.values())
    return right / max(found_pairs, 1), right / max(true_pairs, 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    log(f"generating {args.articles:,} articles ...")
    corpus = generate(args.articles, args.seed)
    sample = corpus.texts[: min(2000, len(corpus.texts))]
    analyzer = Analyzer(AnalyzerConfig())
    started = time.perf_counter()
    for text in sample:
        analyzer.tokens(text)
    analyze_ms = (time.perf_counter() - started) / len(sample) * 1000

    started = time.perf_counter()
    found = signatures(zip(corpus.texts, corpus.dates, strict=True))
    signature_s = time.perf_counter() - started
    started = time.perf_counter()
    stories = group_stories(found)
    group_s = time.perf_counter() - started
    precision, recall = pairwise(stories, corpus.truth)

    # Adding articles: the new ones' signatures only, then regrouping from the stored ones.
    added = max(1, len(found) // 100)
    kept = found.select(np.arange(len(found) - added))
    started = time.perf_counter()
    tail = signatures(zip(corpus.texts[-added:], corpus.dates[-added:], strict=True))
    regrouped = group_stories(Signatures.concat([kept, tail]))
    regroup_s = time.perf_counter() - started
    assert np.array_equal(regrouped.labels, stories.labels), "regrouping after an addition differs"

    sizes = Counter(len(stories.members(s)) for s in range(len(stories)))
    largest = max(sizes)
    per_article_ms = signature_s / len(found) * 1000
    print(f"articles                 {len(found):,}")
    print(f"signatures               {signature_s:.1f} s ({per_article_ms:.3f} ms per article; analyzing")
    print(f"                         the same text for the index: {analyze_ms:.3f} ms per article)")
    print(f"grouping                 {group_s:.2f} s")
    print(f"adding {added:,} and regrouping {regroup_s:.2f} s (same stories as a full grouping)")
    print(f"stories                  {len(stories):,} (largest {largest} articles)")
    print(f"pairwise precision       {precision:.3f}")
    print(f"pairwise recall          {recall:.3f}")
    in_stories = sum(count for size, count in sizes.items() if size > 1)
    print(f"stories of 2+ articles   {in_stories:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
