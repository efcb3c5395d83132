"""The answering service shared by every front-end: question in, best passages with sources out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from . import citations, evidence, reldates, rerank, timecues, timeline
from .analyzer import Analyzer
from .bm25 import lucene_idf
from .candidates import Candidate, cite_others, overlap, shown_from
from .errors import QuestionError
from .filters import ArticleFacets, SearchFilter, Selection
from .generation import load_generation
from .inverted.search import Allowed
from .models import Answer, Chunk, IndexStats, Passage, Timeline
from .passage_reading import PassageReader
from .question import normalize_question
from .rerank import RerankConfig
from .segmented import LiveRecords
from .settings import IndexConfig, corpus_label, staleness
from .short_answer import ShortAnswerConfig, short_answer
from .store import IndexStore, Manifest
from .story_table import StoryTable, diversify

log = logging.getLogger(__name__)

# Overlapping chunks of one article merge only while the result stays this many times a chunk's size.
MAX_MERGED_WORDS_FACTOR = 1.5
FILTER_CACHE_SIZE = 8


class Answerer(Protocol):
    """Anything that answers questions: the real service, or a fake in tests."""

    def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Answer: ...

    def stats(self) -> IndexStats: ...

    def publishers(self) -> list[str]: ...


class Engine(Protocol):
    """A BM25 index over analyzed passages."""

    @property
    def n_docs(self) -> int: ...

    def doc_freq(self, term: str) -> int: ...

    def top_k(
        self, terms: Sequence[str], k: int, allowed: Allowed | None = None
    ) -> list[tuple[int, float]]: ...


@dataclass(frozen=True, slots=True)
class AnswerConfig:
    """Query-time settings: they never require a rebuild."""

    top_k: int = 3
    candidates: int = 30  # BM25 hits reranked before dedupe (30 score as well as 50 on SQuAD, faster)
    max_question_chars: int = 500
    rerank: RerankConfig = field(default_factory=RerankConfig)  # second-stage weights
    answered: evidence.AnsweredConfig = field(default_factory=evidence.AnsweredConfig)
    short: ShortAnswerConfig = field(default_factory=ShortAnswerConfig)
    # Passages are shown from this many sentences before the highlighted one (an ellipsis stands for
    # the rest), so the answer is in a reader's first lines; None shows every passage whole.
    shown_context: int | None = 1
    # ... unless those sentences are longer than this: then from the highlighted sentence itself.
    shown_context_words: int = 25


class QAService:
    """Answers questions from one loaded index; immutable once built, so safe to share across threads."""

    def __init__(
        self,
        engine: Engine,
        records: LiveRecords,
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
        self._reader = PassageReader(records, self._analyzer)
        self._facets: ArticleFacets | None = None
        # Recent filters' passage masks (about 5 bytes a passage each): users repeat their filters.
        self._selection = lru_cache(maxsize=FILTER_CACHE_SIZE)(self._select_passages)
        self._newest: tuple[dt.date | None] | None = None  # the newest article's date, once looked up
        self._digests: list[tuple[str, str]] | None = None  # read in once, by the first caller
        self._story_table: StoryTable | None = None

    @property
    def story_table(self) -> StoryTable:
        """The stories of the generation answered from, grouped on first use."""
        if self._story_table is None:  # two threads may both make one: they group the same stories
            self._story_table = StoryTable(self._records, self.generation)
        return self._story_table

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
        self._records.prefetch()  # the candidates' stored analyses, and every term decoded
        _ = self.story_table.stories  # grouped now rather than during the first question

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

    def reconfigured(self, config: AnswerConfig) -> QAService:
        """A service answering from the same loaded index with other query-time settings."""
        other = QAService(self._engine, self._records, self.manifest, config, self.index_dir)
        other.generation = self.generation
        other._story_table = self.story_table
        return other

    def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Answer:
        """The best `k` passages for `question` that `filters` allows, with answer sentences and sources.

        Raises:
            QuestionError: the question is longer than the configured limit, or a filter names an
                unknown source.
        """
        return self.answer_with_evidence(question, k, filters)[0]

    def timeline(self, query: str, filters: SearchFilter | None = None) -> Timeline:
        """The dated updates of the stories that best match `query`, each by its best sentence, oldest
        first; undated articles are left out (and counted).

        Raises:
            QuestionError: the query is longer than the configured limit, or a filter names an unknown
                source.
        """
        query = normalize_question(query)
        if len(query) > self.config.max_question_chars:
            raise QuestionError(
                f"the query is {len(query)} characters long; please keep it under "
                f"{self.config.max_question_chars}"
            )
        active = filters if filters is not None and filters.active else None
        allowed = self._selection(active).allowed if active else None
        terms = self._analyzer.query_terms(query)
        hits = self._engine.top_k(terms, self.config.candidates, allowed) if terms else []
        ranked = rerank.Query.build(query, self._analyzer, self._idf, self.config.rerank)
        found = timeline.build(hits, ranked, self._analyzer, self._records, self.story_table, allowed)
        return Timeline(query, *found, search_filter=active)

    def publishers(self) -> list[str]:
        """The indexed publishers' names, sorted case-insensitively."""
        return self._article_facets().publishers

    def answer_with_evidence(
        self, question: str, k: int | None = None, filters: SearchFilter | None = None
    ) -> tuple[Answer, evidence.Evidence | None]:
        """`answer`, and what its best passage holds of the question (None without a passage)."""
        if filters is None or not filters.active:
            return self._answer_with_evidence(question, k, None)
        selection = self._selection(filters)
        answer, found = self._answer_with_evidence(question, k, selection.allowed, filters.until)
        left_out = selection.left_out_undated
        return dataclasses.replace(answer, search_filter=filters, left_out_undated=left_out), found

    def _article_facets(self) -> ArticleFacets:
        if self._facets is None:  # two threads may both build it: the same value, harmlessly
            rows = self._records.passage_articles()
            sources = [self._records.source(row) for row in range(self._records.article_count)]
            self._facets = ArticleFacets(rows, sources, lambda: [doc for doc, _ in self._article_digests()])
        return self._facets

    def article_fingerprints(self) -> dict[str, str]:
        """Each article's document id and a digest of its indexed text: what tells an article added or
        edited since another index from one left alone. Reads every passage once per service."""
        return dict(self._article_digests())

    def _article_digests(self) -> list[tuple[str, str]]:
        """(document id, text digest) of each article row; the digest of an article without passages is ""."""
        if self._digests is not None:
            return self._digests
        rows = self._records.passage_articles()
        live = np.flatnonzero(rows >= 0)  # removed passages (row -1) belong to no article
        order = live[np.argsort(rows[live], kind="stable")]  # each article's passages together, in order
        checksums = self._records.passage_checksums()[order]
        present, starts = np.unique(rows[order], return_index=True)
        ends = [*starts[1:].tolist(), len(order)]
        digests = [""] * self._records.article_count
        for row, start, end in zip(present.tolist(), starts.tolist(), ends, strict=True):
            digests[row] = hashlib.sha256(checksums[start:end].tobytes()).hexdigest()
        self._digests = [(self._records.doc_id(row), digest) for row, digest in enumerate(digests)]
        return self._digests

    def _select_passages(self, filters: SearchFilter) -> Selection:
        return self._article_facets().select(filters)

    def _answer_with_evidence(
        self, question: str, k: int | None, allowed: Allowed | None, until: dt.date | None = None
    ) -> tuple[Answer, evidence.Evidence | None]:
        question = normalize_question(question)
        if len(question) > self.config.max_question_chars:
            raise QuestionError(
                f"the question is {len(question)} characters long; please keep it under "
                f"{self.config.max_question_chars}"
            )
        k = self.config.top_k if k is None else k
        cues, searched = self._time_cues(question, until)
        terms = self._analyzer.query_terms(searched)
        if not terms or k <= 0:
            return Answer(question, ()), None
        hits = self._engine.top_k(terms, max(self.config.candidates, k), allowed)
        query = rerank.Query.build(searched, self._analyzer, self._idf, self.config.rerank)
        candidates = [self._candidate(passage, score, query) for passage, score in hits]
        self._gather_stories(candidates)
        scores = rerank.rescore(query, candidates, self.config.rerank)
        if cues.active:
            names = self._analyzer.tokens(cues.names)
            scores = timecues.time_scores(cues, candidates, scores, query.idf, self.config.rerank, names)
        for candidate, new_score in zip(candidates, scores, strict=True):
            candidate.score = new_score
        chosen = self._select(candidates, k, query)
        if not chosen:
            return Answer(question, ()), None
        passages = tuple(
            Passage(
                text=c.chunk.text,
                score=round(c.score, 4),
                highlight=c.highlight,
                sources=tuple(c.sources),
                chunk_id=c.chunk.chunk_id,
                terms=tuple(sorted(c.terms & query.idf.keys())),
                also_in=tuple(c.also_in),
                shown_from=shown_from(c, self.config.shown_context, self.config.shown_context_words),
                dates=reldates.resolve(c.chunk.text, c.sources[0].date, c.highlight) if c.highlight else (),
                story=self.story_table.info(c.article_row),
            )
            for c in chosen
        )
        best = chosen[0]
        assert best.found is not None  # every candidate is analyzed
        found = evidence.gather(
            query,
            best.found,
            best.terms,
            self._typed(best, query),
        )
        if not evidence.answers(found, self.config.answered):
            return Answer(question, passages, None, answered=False), found
        text, highlight = best.chunk.text, best.highlight
        short = short_answer(
            query, question, self._analyzer, text, highlight, self.config.short, best.sources[0].date
        )
        return Answer(question, passages, short), found

    def _time_cues(self, question: str, until: dt.date | None) -> tuple[timecues.TimeCues, str]:
        """The question's time cues, read against the newest article (or a filter's end), and the text
        to search: without the pure cue words, unless nothing else would be left."""
        anchor = timecues.anchor_date(self._newest_date(), until)
        if anchor is None:  # nothing is dated: time cannot be told, so the question is left as it is
            return timecues.TimeCues(question), question
        cues = timecues.find_cues(question, anchor)
        searched = cues.search_text if self.config.rerank.time_words else question
        return cues, searched if self._analyzer.query_terms(searched) else question

    def _newest_date(self) -> dt.date | None:
        if self._newest is None:  # two threads may both look it up: the same value, harmlessly
            self._newest = (self.story_table.newest_date(),)
        return self._newest[0]

    def _gather_stories(self, candidates: Sequence[Candidate]) -> None:
        """Give each candidate its article's title terms and the terms of that article's candidates."""
        stories: dict[int, set[str]] = {}
        for candidate in candidates:
            stories.setdefault(candidate.article_row, set()).update(candidate.terms)
        titles = {row: self._reader.title_terms(row) for row in stories}
        for candidate in candidates:
            candidate.story_terms = stories[candidate.article_row]
            candidate.title_terms = titles[candidate.article_row]

    def _idf(self, term: str) -> float:
        return lucene_idf(self._engine.n_docs, self._engine.doc_freq(term))

    def _candidate(self, passage: int, score: float, query: rerank.Query) -> Candidate:
        chunk, row, analysis = self._reader.passage(passage)
        candidate = Candidate(passage, chunk, row, score, set(), None, [self._records.source(row)])
        candidate.analysis = analysis
        self._analyze(candidate, query)
        return candidate

    def _analyze(self, candidate: Candidate, query: rerank.Query) -> None:
        """Fill the candidate's terms and features, and pick the sentence that best answers the question."""
        text = candidate.chunk.text
        if candidate.analysis is None:
            candidate.analysis = rerank.analyze_passage(self._analyzer, text)
        candidate.terms = set(candidate.analysis.terms)
        config = self.config.rerank
        candidate.found = rerank.features(query, candidate.analysis, config.window)
        candidate.highlight = rerank.best_sentence(query, candidate.analysis, text, candidate.found, config)
        candidate.typed = None

    def _select(self, candidates: list[Candidate], k: int, query: rerank.Query) -> list[Candidate]:
        """Best first; overlapping chunks of one article merge; a passage repeating one already shown
        gives up its slot to the next candidate; then each kept passage cites the articles carrying it."""
        known: dict[int, dict[int, Chunk]] = {}  # article row -> passage -> chunk, as first loaded
        for candidate in candidates:
            known.setdefault(candidate.article_row, {})[candidate.passage] = candidate.chunk
        offered: list[Candidate] = []  # passages offered for showing, in `shown`'s order
        shown = citations.ShownPassages()
        diverse = self.config.rerank.story_diversity
        limit = len(candidates) if diverse else k  # diversity reorders all of them, then keeps k
        for candidate in sorted(candidates, key=lambda c: (-c.score, c.passage)):
            if not candidate.terms & query.idf.keys():
                continue
            overlapping = next(
                (i for i, kept in enumerate(offered) if overlap(kept, candidate) and shown.kept(i)), None
            )
            if overlapping is not None:
                self._merge_overlap(offered[overlapping], candidate, query)
                shown.update(overlapping, offered[overlapping].chunk.text)
            elif diverse or shown.kept_count() < limit:
                shown.offer(candidate.chunk.text)
                offered.append(candidate)
        # Diversity reads the kept passages one by one and stops once its first k are settled: the
        # passages after them are never checked for repeats.
        kept = (candidate for i, candidate in enumerate(offered) if shown.kept(i))
        if diverse:
            chosen = diversify(kept, self.story_table.story_of, lambda c: self._answers(c, query), k)
        else:
            chosen = list(kept)
        texts = {row: citations.joined_texts(chunks.values()) for row, chunks in known.items()}
        for passage in chosen:
            cite_others(self._records, passage, texts, known)
        return chosen

    def _answers(self, candidate: Candidate, query: rerank.Query) -> bool:
        """True when the candidate passage answers the question by the rule that calls answers answered."""
        assert candidate.found is not None  # every candidate is analyzed
        found = evidence.gather(query, candidate.found, candidate.terms, self._typed(candidate, query))
        return evidence.answers(found, self.config.answered)

    def _typed(self, candidate: Candidate, query: rerank.Query) -> bool:
        """`rerank.has_answer_type` of the candidate's highlight: diversity and the evidence both ask."""
        if candidate.typed is None:
            candidate.typed = rerank.has_answer_type(query, candidate.chunk.text, candidate.highlight)
        return candidate.typed

    def _merge_overlap(self, kept: Candidate, other: Candidate, query: rerank.Query) -> None:
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
