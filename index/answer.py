"""The answering service shared by every front-end: question in, best passages with sources out."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from . import rerank
from .analyzer import Analyzer, normalize_answer
from .bm25 import lucene_idf
from .errors import QuestionError
from .generation import load_generation
from .models import Answer, Chunk, IndexStats, Passage, Source
from .question import normalize_question
from .records import Records
from .rerank import RerankConfig
from .settings import IndexConfig, corpus_label, staleness
from .store import IndexStore, Manifest

log = logging.getLogger(__name__)

# Passages whose term sets overlap this much (Jaccard) are the same passage from different sources.
DUPLICATE_JACCARD = 0.6
DUPLICATE_SENTENCE_MIN_WORDS = 6
# Overlapping chunks of one article merge only while the result stays this many times a chunk's size.
MAX_MERGED_WORDS_FACTOR = 1.5
# Analyzed passages kept for reuse across questions (rerank); each costs a few kilobytes.
PASSAGE_CACHE_SIZE = 8192


class Answerer(Protocol):
    """Anything that answers questions: the real service, or a fake in tests."""

    def answer(self, question: str, k: int | None = None) -> Answer: ...

    def stats(self) -> IndexStats: ...


class Engine(Protocol):
    """A BM25 index over analyzed passages."""

    @property
    def n_docs(self) -> int: ...

    def doc_freq(self, term: str) -> int: ...

    def top_k(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]: ...


@dataclass(frozen=True, slots=True)
class AnswerConfig:
    """Query-time settings: they never require a rebuild."""

    top_k: int = 3
    candidates: int = 30  # BM25 hits reranked before dedupe (30 score as well as 50 on SQuAD, faster)
    max_question_chars: int = 500
    rerank: RerankConfig = field(default_factory=RerankConfig)  # second-stage weights


@dataclass(slots=True)
class _Candidate:
    passage: int
    chunk: Chunk
    article_row: int
    score: float
    terms: set[str]
    highlight: tuple[int, int] | None
    sources: list[Source] = field(default_factory=list)
    analysis: rerank.PassageTerms | None = None
    found: rerank.Features | None = None
    sentence_key: str | None = None  # the highlighted sentence, normalized (on first use)


class QAService:
    """Answers questions from one loaded index; immutable once built, so safe to share across threads."""

    def __init__(
        self,
        engine: Engine,
        records: Records,
        manifest: Manifest,
        config: AnswerConfig = AnswerConfig(),
        index_dir: Path = Path(),
    ) -> None:
        self.index_dir = index_dir
        self.generation = index_dir  # the generation folder, when opened from one
        # Why this index is served although out of date (a rebuild failed); None while it is current.
        self.stale_reason: str | None = None
        self._engine = engine
        self._records = records
        self.manifest = manifest
        self.config = config
        settings = IndexConfig.from_json(manifest.settings)
        self._analyzer = Analyzer(settings.analyzer)
        self._max_words = settings.chunking.max_words
        self._passage = lru_cache(maxsize=PASSAGE_CACHE_SIZE)(self._load_passage)

    @classmethod
    def open(
        cls, index_dir: Path, config: AnswerConfig = AnswerConfig(), *, verify: bool = False
    ) -> QAService:
        """Load the live index of `index_dir`.

        Raises:
            IndexMissingError: nothing was built there yet.
            IndexFormatError: the index is corrupt, incomplete or of another format.
        """
        store = IndexStore(index_dir)

        def load(generation: Path, manifest: Manifest) -> QAService:
            if verify:
                store.verify(generation, manifest, full=True)
            engine, records = load_generation(generation, manifest)
            service = cls(engine, records, manifest, config, index_dir)
            service.generation = generation
            return service

        return store.open_live(load)

    def verify(self) -> None:
        """Checksum every file of the generation this service answers from (slow on large indexes)."""
        IndexStore(self.index_dir).verify(self.generation, self.manifest, full=True)

    def prefetch(self) -> None:
        """Read the index's memory-mapped postings in, so that the first questions do not wait on the
        disk; slow on large indexes and mostly outside the GIL: run it in a background thread."""
        prefetch = getattr(self._engine, "prefetch", None)
        if prefetch is not None:
            prefetch()

    def is_current(self, corpus: Path, config: IndexConfig) -> bool:
        """True while `corpus` on disk and `config` still match the index this service answers from."""
        return staleness(self.manifest, corpus, config) is None

    def stats(self) -> IndexStats:
        """What the index holds; its corpus by name only (safe to show remote users)."""
        return IndexStats(
            articles=self.manifest.articles,
            passages=self.manifest.passages,
            built_at=dt.datetime.fromisoformat(self.manifest.built_at),
            build_seconds=self.manifest.build_seconds,
            corpus=corpus_label(self.manifest.corpus),
            skipped_files=self.manifest.skipped_files,
        )

    def answer(self, question: str, k: int | None = None) -> Answer:
        """The best `k` passages for `question`, each with its answer sentence and sources.

        Raises:
            QuestionError: the question is longer than the configured limit.
        """
        question = normalize_question(question)
        if len(question) > self.config.max_question_chars:
            raise QuestionError(
                f"the question is {len(question)} characters long; please keep it under "
                f"{self.config.max_question_chars}"
            )
        k = self.config.top_k if k is None else k
        terms = self._analyzer.query_terms(question)
        if not terms or k <= 0:
            return Answer(question, ())
        hits = self._engine.top_k(terms, max(self.config.candidates, k))
        query = rerank.Query.build(question, self._analyzer, self._idf)
        candidates = [self._candidate(passage, score, query) for passage, score in hits]
        scores = rerank.rescore(query, candidates, self.config.rerank)
        for candidate, new_score in zip(candidates, scores, strict=True):
            candidate.score = new_score
        chosen = self._select(candidates, k, query)
        passages = tuple(
            Passage(
                text=c.chunk.text,
                score=round(c.score, 4),
                highlight=c.highlight,
                sources=tuple(c.sources),
                chunk_id=c.chunk.chunk_id,
                terms=tuple(sorted(c.terms & query.idf.keys())),
            )
            for c in chosen
        )
        short = rerank.short_answer(query, passages[0].text, passages[0].highlight) if passages else None
        return Answer(question, passages, short)

    def _idf(self, term: str) -> float:
        return lucene_idf(self._engine.n_docs, self._engine.doc_freq(term))

    def _load_passage(self, passage: int) -> tuple[Chunk, int, rerank.PassageTerms]:
        chunk = self._records.chunk(passage)
        return chunk, self._records.article_row(passage), rerank.analyze_passage(self._analyzer, chunk.text)

    def _candidate(self, passage: int, score: float, query: rerank.Query) -> _Candidate:
        chunk, row, analysis = self._passage(passage)
        candidate = _Candidate(passage, chunk, row, score, set(), None, [self._records.source(row)])
        candidate.analysis = analysis
        self._analyze(candidate, query)
        return candidate

    def _analyze(self, candidate: _Candidate, query: rerank.Query) -> None:
        """Fill the candidate's terms and features, and pick the sentence that best answers the question."""
        text = candidate.chunk.text
        if candidate.analysis is None:
            candidate.analysis = rerank.analyze_passage(self._analyzer, text)
        candidate.terms = set(candidate.analysis.terms)
        config = self.config.rerank
        candidate.found = rerank.features(query, candidate.analysis, config.window, text)
        candidate.highlight = rerank.best_sentence(query, candidate.analysis, text, candidate.found, config)
        candidate.sentence_key = None

    def _select(self, candidates: list[_Candidate], k: int, query: rerank.Query) -> list[_Candidate]:
        """Best first; overlapping chunks of one article merge; copies of one passage cite every source."""
        chosen: list[_Candidate] = []
        for candidate in sorted(candidates, key=lambda c: (-c.score, c.passage)):
            if not candidate.terms & query.idf.keys():
                continue
            target = next((kept for kept in chosen if self._same_passage(kept, candidate)), None)
            if target is None:
                if len(chosen) < k:
                    chosen.append(candidate)
                continue
            if target.article_row == candidate.article_row:
                self._merge_overlap(target, candidate, query)
            for source in candidate.sources:
                if source not in target.sources:
                    target.sources.append(source)
        return chosen

    def _same_passage(self, kept: _Candidate, other: _Candidate) -> bool:
        if kept.article_row == other.article_row:
            return kept.chunk.start < other.chunk.end and other.chunk.start < kept.chunk.end
        union = len(kept.terms | other.terms)
        if union and len(kept.terms & other.terms) / union >= DUPLICATE_JACCARD:
            return True
        key = _sentence_key(kept)
        return key == _sentence_key(other) and len(key.split()) >= DUPLICATE_SENTENCE_MIN_WORDS

    def _merge_overlap(self, kept: _Candidate, other: _Candidate, query: rerank.Query) -> None:
        """Extend `kept` by the part of an overlapping chunk of the same article that it lacks."""
        a, b = kept.chunk, other.chunk
        if b.start >= a.start and b.end > a.end:
            text, start, end = a.text + b.text[a.end - b.start :], a.start, b.end
        elif b.start < a.start and b.end <= a.end:
            text, start, end = b.text + a.text[b.end - a.start :], b.start, a.end
        else:
            return  # one contains the other
        if len(text.split()) > MAX_MERGED_WORDS_FACTOR * self._max_words:
            return  # keep passages readable: the better chunk already shows the shared sentences
        kept.chunk = Chunk(a.chunk_id, a.doc_id, a.n, text, start, end)
        kept.analysis = None
        self._analyze(kept, query)


def _sentence_key(candidate: _Candidate) -> str:
    """The candidate's highlighted sentence, normalized ("" without one); computed once."""
    if candidate.sentence_key is None:
        highlight = candidate.highlight
        candidate.sentence_key = (
            normalize_answer(candidate.chunk.text[slice(*highlight)]) if highlight else ""
        )
    return candidate.sentence_key
