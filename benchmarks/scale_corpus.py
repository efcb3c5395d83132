"""Deterministic benchmark corpora: synthetic news-like passages, or passages cut from a JSONL file."""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Word frequencies follow a two-regime Zipf law (exponent 1.0 for the ~20k most common words, 2.2 in
# the tail), calibrated so that after stopword removal a 120-token passage corpus looks like news:
# the top terms occur in ~55% of passages, ~130 terms in more than 10%, and the vocabulary grows
# like Heaps' law (~230k terms at 100k passages, ~430k at 400k).
ZIPF_HEAD_EXPONENT = 1.0
ZIPF_OFFSET = 15.0
ZIPF_KNEE = 20_000
ZIPF_TAIL_EXPONENT = 2.2
MAX_RANK = 4_000_000
MEAN_PASSAGE_TOKENS = 120
PASSAGES_PER_ARTICLE = 6  # mean
TOPIC_WORDS_PER_ARTICLE = 8
TOPIC_TOKEN_SHARE = 0.12  # bursty words: each article repeats its own topic words
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]  # 90 two-letter syllables: uniquely decodable
_TOKEN = re.compile(r"\w+")
_STOPWORDS = frozenset(
    "a an and are as at be been but by for from had has have he her his i in is it its of on or our "
    "she that the their them they this to was we were what when where which who will with would you "
    "not no do does did so if than then there these those how why can could about into after over".split()
)


@dataclass(frozen=True, slots=True)
class TokenCorpus:
    """Passages as word ids into `words`: passage i is `tokens[offsets[i]:offsets[i + 1]]`."""

    tokens: npt.NDArray[np.int32]
    offsets: npt.NDArray[np.int64]
    words: list[str]

    @property
    def n_passages(self) -> int:
        return len(self.offsets) - 1

    def passage_ids(self, i: int) -> npt.NDArray[np.int32]:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]

    def iter_passages(self, start: int = 0, stop: int | None = None) -> Iterator[list[str]]:
        """Passages as lists of word strings (the analyzed token lists an engine indexes)."""
        words = self.words
        get = words.__getitem__
        stop = self.n_passages if stop is None else stop
        step = 8192
        for lo in range(start, stop, step):
            hi = min(lo + step, stop)
            base = int(self.offsets[lo])
            flat = self.tokens[base : int(self.offsets[hi])].tolist()
            bounds = (self.offsets[lo : hi + 1] - base).tolist()
            for a, b in itertools.pairwise(bounds):
                yield list(map(get, flat[a:b]))

    def save(self, directory: Path) -> None:
        np.save(directory / "tokens.npy", self.tokens)
        np.save(directory / "offsets.npy", self.offsets)
        (directory / "words.txt").write_text("\n".join(self.words) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TokenCorpus:
        words = (directory / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
        return cls(np.load(directory / "tokens.npy"), np.load(directory / "offsets.npy"), words)


def _word(rank: int) -> str:
    """A pronounceable, unique word for a frequency rank: shorter for more common words."""
    syllables = _SYLLABLES
    n, width, first = rank, 1, 0
    while n >= first + len(syllables) ** width:
        first += len(syllables) ** width
        width += 1
    n -= first
    out = []
    for _ in range(width):
        n, digit = divmod(n, len(syllables))
        out.append(syllables[(digit * 37 + 11) % len(syllables)])
    return "".join(out)


@functools.cache
def _zipf_cdf() -> npt.NDArray[np.float64]:
    rank = np.arange(1, MAX_RANK + 1, dtype=np.float64)
    weight = (rank + ZIPF_OFFSET) ** -ZIPF_HEAD_EXPONENT
    tail = rank > ZIPF_KNEE
    knee = (ZIPF_KNEE + ZIPF_OFFSET) ** -ZIPF_HEAD_EXPONENT
    weight[tail] = knee * ((rank[tail] + ZIPF_OFFSET) / (ZIPF_KNEE + ZIPF_OFFSET)) ** -ZIPF_TAIL_EXPONENT
    cdf = np.cumsum(weight)
    cdf /= cdf[-1]
    return cdf


def _draw_ranks(rng: np.random.Generator, cdf: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.int64]:
    # Searching sorted uniforms walks the CDF sequentially (fast); shuffling restores independence.
    ranks = np.searchsorted(cdf, np.sort(rng.random(n)))
    rng.shuffle(ranks)
    return ranks.astype(np.int64)


def synthetic(n_passages: int, seed: int = 0) -> TokenCorpus:
    """News-like passages: Zipfian background words plus bursty per-article topic words."""
    rng = np.random.default_rng(seed)
    cdf = _zipf_cdf()
    drawn = np.clip(rng.lognormal(np.log(MEAN_PASSAGE_TOKENS * 0.9), 0.45, n_passages), 12, 600)
    lengths = drawn.astype(np.int64)
    article_sizes = 1 + rng.poisson(PASSAGES_PER_ARTICLE - 1, n_passages)
    article_of = np.repeat(np.arange(n_passages), article_sizes)[:n_passages]
    n_articles = int(article_of[-1]) + 1 if n_passages else 0
    # Topic words: names, places and subjects, drawn from the middle of the frequency range.
    topics = 200 + _draw_ranks(rng, cdf, n_articles * TOPIC_WORDS_PER_ARTICLE) * 7 % 150_000
    topics = topics.reshape(n_articles, TOPIC_WORDS_PER_ARTICLE)
    total = int(lengths.sum())
    ranks = _draw_ranks(rng, cdf, total)
    token_article = np.repeat(article_of, lengths)
    is_topic = rng.random(total) < TOPIC_TOKEN_SHARE
    slot = np.minimum(rng.geometric(0.35, total) - 1, TOPIC_WORDS_PER_ARTICLE - 1)
    ranks = np.where(is_topic, topics[token_article, slot], ranks)
    # Compact ids: only words that occur get a string.
    used = np.flatnonzero(np.bincount(ranks, minlength=MAX_RANK + 200_000))
    compact = np.zeros(int(used[-1]) + 1, dtype=np.int32)
    compact[used] = np.arange(len(used), dtype=np.int32)
    offsets = np.zeros(n_passages + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return TokenCorpus(compact[ranks], offsets, [_word(int(r)) for r in used])


def from_jsonl(
    path: Path, max_passages: int | None = None, passage_tokens: int = MEAN_PASSAGE_TOKENS
) -> TokenCorpus:
    """Passages of ~`passage_tokens` words cut from a JSONL file of articles ({"title", "text"} per line)."""
    try:
        from index.analyzer import Analyzer

        analyzer = Analyzer()

        def analyze(text: str) -> list[str]:
            return list(analyzer.tokens(text))
    except (ImportError, TypeError):

        def analyze(text: str) -> list[str]:
            return [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS]

    vocab: dict[str, int] = {}
    tokens: list[int] = []
    offsets = [0]
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            title = analyze(str(record.get("title") or ""))
            body = analyze(str(record.get("text") or record.get("body") or ""))
            for start in range(0, max(len(body), 1), passage_tokens):
                passage = title + body[start : start + passage_tokens]
                tokens.extend(vocab.setdefault(w, len(vocab)) for w in passage)
                offsets.append(len(tokens))
                if max_passages is not None and len(offsets) > max_passages:
                    break
            if max_passages is not None and len(offsets) > max_passages:
                break
    return TokenCorpus(np.asarray(tokens, dtype=np.int32), np.asarray(offsets, dtype=np.int64), list(vocab))


def questions(corpus: TokenCorpus, n: int, seed: int = 1) -> list[list[str]]:
    """Questions of 3-8 distinct content words, most taken from one random passage.

    Words are drawn uniformly from the passage's distinct terms, so questions mix topic words, common
    words (some in more than half of all passages) and rare ones; one in four also carries a word that
    the passage lacks, and one in twenty a word that no passage has.
    """
    rng = np.random.default_rng(seed)
    cdf = _zipf_cdf()
    out: list[list[str]] = []
    while len(out) < n:
        passage = int(rng.integers(corpus.n_passages))
        distinct = np.unique(corpus.passage_ids(passage))
        if len(distinct) < 3:
            continue
        size = int(rng.integers(3, 9))
        picked = [corpus.words[i] for i in rng.choice(distinct, min(size, len(distinct)), replace=False)]
        roll = rng.random()
        if roll < 0.25:
            picked[-1] = corpus.words[int(_draw_ranks(rng, cdf, 1)[0]) % len(corpus.words)]
        elif roll < 0.30:
            picked[-1] = "zzqx" + str(int(rng.integers(10**6)))
        out.append(list(dict.fromkeys(picked)))
    return out
