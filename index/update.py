"""Bring an index up to date with its corpus by indexing only the articles added, changed or removed.

An update publishes a new generation as a build does (under the build lock, through a staging
folder and the CURRENT pointer), holding the live generation's segments as hard links, their
removed passages marked, and one new segment with the added and changed articles. When more than
`max_segments` segments would be live, every segment but the largest is merged into the new one (its
live passages re-analyzed from their stored text, removed ones dropped), as Lucene merges its
segments. When the settings changed, the index is damaged or of an older format, or more than
`max_removed` of its passages would be removed, the whole index is rebuilt instead, with one log line
saying why.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .analyzer import Analyzer
from .builder import DEFAULT_CONFIG, Progress, full_build, new_manifest, publish
from .changes import (
    CORPUS_STATE,
    CorpusState,
    FileReading,
    Placed,
    article_digest,
    place,
    read_files,
)
from .chunker import chunk_article
from .corpusscan import UNSURE, Scan, Stamp, scan_corpus
from .errors import ArticleQAError, IndexMissingError
from .generation import load_generation
from .inverted import InvertedIndex
from .inverted.segment import segment_files
from .manifest import REBUILD_HINT, Manifest
from .models import Article, Chunk
from .passage_analysis import AnalysisCollector, analysis_files, index_terms
from .pipeline import MIN_PARALLEL_BYTES
from .records import record_files, write_records
from .segmented import LiveRecords
from .settings import IndexConfig, corpus_label, live_generation
from .store import IndexStore
from .stories import Signatures, signature_file, signatures

log = logging.getLogger(__name__)

MAX_SEGMENTS = 8
MAX_REMOVED = 0.2
# A full build numbers repeated article ids in corpus order ("id~2"); an update cannot renumber them.
NUMBERED_ID = re.compile(r"~\d+\Z")


@dataclass(frozen=True, slots=True)
class UpdateReport:
    """What an update (or the full build it fell back to) did."""

    manifest: Manifest
    added: int
    updated: int
    removed: int
    full: bool  # the index was built from scratch
    reason: str | None = None  # why it was, unless asked for

    @property
    def summary(self) -> str:
        """One line for users: "added 12, updated 1, removed 3 articles; index now 1,000,214 passages"."""
        passages = f"{self.manifest.passages:,} passage{'s' * (self.manifest.passages != 1)}"
        # "articles" belongs to the whole list ("added 1, updated 0, removed 0 articles").
        done = f"added {self.added:,}, updated {self.updated:,}, removed {self.removed:,} articles"
        return f"{done}; index now {passages}"


@dataclass(frozen=True, slots=True)
class Live:
    """The live generation, opened for updating."""

    generation: Path
    manifest: Manifest
    engine: InvertedIndex
    records: LiveRecords
    state: CorpusState


@dataclass(frozen=True, slots=True)
class Plan:
    """The corpus's changes since the live generation."""

    scan: Scan
    reading: FileReading
    changed_files: list[str]
    gone_files: list[str]
    fresh: list[Article]  # added and updated articles, in reading order
    digests: dict[str, str]
    added: list[str]
    updated: list[str]
    removed: list[str]


def update_index(
    corpus: Path,
    index_dir: Path,
    config: IndexConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
    *,
    full: bool = False,
    workers: int | None = None,
    min_parallel_bytes: int = MIN_PARALLEL_BYTES,
    max_segments: int = MAX_SEGMENTS,
    max_removed: float = MAX_REMOVED,
) -> UpdateReport:
    """Bring the index of `corpus` in `index_dir` up to date (with `full`, rebuild it from scratch).

    Raises:
        CorpusError, EmptyCorpusError: the corpus is missing or has no usable article.
        IndexDirectoryError: `index_dir` is a file, cannot be written, or is not an index folder.
        IndexWriteError: the new index could not be written (the previous one stays live).
    """
    scan = scan_corpus(corpus)  # a missing corpus is reported before the index folder is touched
    store = IndexStore(index_dir)
    before = live_generation(index_dir)
    with store.lock():
        started = time.perf_counter()
        live, reason = _open_live(store, corpus, config)
        if live is not None and not full:
            limits = (max_segments, max_removed, started)
            report, reason = _try_update(store, (corpus, scan), config, live, limits, progress)
            if report is not None:
                if report.manifest is live.manifest:  # nothing to publish, but what killed runs left
                    store.remove_leftovers()
                    if live.generation.name != before:
                        log.info(
                            "the index in %s was built meanwhile by another process; using it",
                            store.directory,
                        )
                return report
        if reason and not full:
            log.info("rebuilding the whole index: %s", reason)
        manifest = full_build(store, corpus, config, progress, workers, min_parallel_bytes)
    report = _compared(manifest, store, live.state if live else None, None if full else reason)
    log.info(
        "indexed %d passages from %d articles in %.2f s",
        manifest.passages,
        manifest.articles,
        manifest.build_seconds,
    )
    return report


def _try_update(
    store: IndexStore,
    corpus: tuple[Path, Scan],
    config: IndexConfig,
    live: Live,
    limits: tuple[int, float, float],
    progress: Progress | None,
) -> tuple[UpdateReport | None, str | None]:
    """The report of an update of `live`, or None and why the index must be rebuilt instead."""
    plan, reason = _plan(*corpus, live.state)
    if plan is None:
        return None, reason
    return _apply(store, corpus[0], config, live, plan, limits, progress)


def _open_live(store: IndexStore, corpus: Path, config: IndexConfig) -> tuple[Live | None, str | None]:
    """The live generation if an update can start from it, else None and why not."""
    try:
        generation = store.current()
        manifest = store.read_manifest(generation)
        store.verify(generation, manifest)
        if manifest.settings != config.to_json():
            return None, "the analyzer, chunking or BM25 settings changed"
        if corpus_label(manifest.corpus) != corpus_label(corpus):
            return None, f"the index was built from another corpus ({corpus_label(manifest.corpus)})"
        engine, records = load_generation(generation, manifest)
        state = CorpusState.read(generation)
    except IndexMissingError:
        return None, None  # nothing to update: a first build
    except ArticleQAError as err:
        return None, f"the index cannot be updated ({without_hint(str(err))})"
    if len(state.articles) != manifest.articles:
        return None, "the index's record of its articles does not match it"
    return Live(generation, manifest, engine, records, state), None


def _plan(corpus: Path, scan: Scan, state: CorpusState) -> tuple[Plan | None, str | None]:
    """What changed in `corpus` (`scan`) since `state`, reading only the files whose size or time changed."""
    stamps = scan.stamps
    changed = sorted(name for name, stamp in stamps.items() if _must_read(state.files.get(name), stamp))
    gone = sorted(set(state.files) - set(stamps))
    reading = read_files(corpus, {name: scan.paths[name] for name in changed})
    before = state.ids_in([*changed, *gone])
    new: dict[str, Article] = {}
    for article in reading.articles:
        if article.doc_id in new or (article.doc_id in state.articles and article.doc_id not in before):
            return None, f"the article id {article.doc_id!r} is used twice"
        new[article.doc_id] = article
    if (changed or gone) and any(NUMBERED_ID.search(doc_id) for doc_id in [*state.articles, *new]):
        return None, "repeated article ids are numbered in corpus order"
    digests = {doc_id: article_digest(article) for doc_id, article in new.items()}
    added = [doc_id for doc_id in new if doc_id not in before]
    updated = [
        doc_id for doc_id in new if doc_id in before and state.articles[doc_id].digest != digests[doc_id]
    ]
    removed = sorted(before - new.keys())
    fresh_ids = {*added, *updated}
    fresh = [article for article in reading.articles if article.doc_id in fresh_ids]
    plan = Plan(scan, reading, changed, gone, fresh, digests, added, updated, removed)
    return plan, None


def _must_read(known: Stamp | None, found: Stamp) -> bool:
    """True for a new file, a changed one, and one stamped in the moment it changed (`corpusscan`)."""
    return known != found or found == UNSURE


def _apply(
    store: IndexStore,
    corpus: Path,
    config: IndexConfig,
    live: Live,
    plan: Plan,
    limits: tuple[int, float, float],
    progress: Progress | None = None,
) -> tuple[UpdateReport | None, str | None]:
    """Publish `plan` as a new generation; None and why when the index must be rebuilt instead."""
    max_segments, max_removed, started = limits
    engine, state = live.engine, live.state
    fingerprint = plan.scan.fingerprint
    goners = [*plan.removed, *plan.updated]
    same_files = plan.scan.stamps == state.files and not any(plan.reading.skipped.values())
    if not (goners or plan.added) and same_files and fingerprint == live.manifest.corpus_fingerprint:
        return UpdateReport(live.manifest, 0, 0, 0, False), None
    remove, reason = _tombstones(live, goners, max_removed)
    if remove is None:
        return None, reason
    fresh_chunks = [chunk for article in plan.fresh for chunk in chunk_article(article, config.chunking)]
    drop = _to_merge(engine, remove, max_segments, bool(fresh_chunks))
    if any(p.passages == 0 and p.segment in drop for p in state.articles.values()):
        return None, "a segment to merge holds an article without passages"
    carried, carried_chunks = _carried(live, drop, set(goners))
    articles, chunks = [*carried, *plan.fresh], [*carried_chunks, *fresh_chunks]
    if progress is not None:
        progress("indexing", 0, len(chunks))
    analysis = AnalysisCollector()
    add = index_terms(Analyzer(config.analyzer), articles, chunks, analysis)
    updated_engine = engine.updated(remove=remove, drop=drop, add=add)
    kept = {*state.articles} - {*goners} - {a.doc_id for a in carried}
    placed = {doc_id: state.articles[doc_id] for doc_id in kept}
    segment = updated_engine.segments[-1].name if chunks else None
    if segment is not None:
        digests = {**{a.doc_id: state.articles[a.doc_id].digest for a in carried}, **plan.digests}
        placed.update(place(articles, chunks, segment, digests))
    new_state = _new_state(state, plan, placed)
    counts = (len(placed), updated_engine.n_docs, new_state.skipped_count)
    linked = _linked_files(live, updated_engine, segment)

    def fill(folder: Path) -> Manifest:
        updated_engine.save(folder)
        for name in linked:
            if not (folder / name).exists():
                os.link(live.generation / name, folder / name)
        if segment is not None:
            vocabulary = updated_engine.segments[-1].vocabulary
            analysis.save(folder, segment, vocabulary, (len(articles), len(chunks)))
            write_records(folder, articles, chunks, segment)
            _segment_signatures(live, drop, (carried, carried_chunks), plan.fresh).save(folder, segment)
        (folder / CORPUS_STATE).write_bytes(new_state.to_bytes())
        return new_manifest(corpus, config, fingerprint, counts, started)

    manifest = publish(store, fill, {name: live.manifest.files[name] for name in linked})
    log.info(
        "updated the index in %.2f s: %d segment(s); passages: %d removed, %d added",
        manifest.build_seconds,
        len(updated_engine.segments),
        len(remove),
        len(fresh_chunks),
    )
    return UpdateReport(manifest, len(plan.added), len(plan.updated), len(plan.removed), False), None


def _tombstones(live: Live, goners: list[str], max_removed: float) -> tuple[list[int] | None, str | None]:
    """The passage ids of the articles `goners`, or None and why they cannot be removed in place."""
    engine, state = live.engine, live.state
    if any(state.articles[doc_id].passages == 0 for doc_id in goners):
        return None, "an article without passages was removed"
    base = dict(zip((s.name for s in engine.segments), engine.bases, strict=False))
    placed = (state.articles[doc_id] for doc_id in goners)
    remove = [base[p.segment] + p.first + i for p in placed for i in range(p.passages)]
    share = (engine.removed + len(remove)) / engine.n_ids if engine.n_ids else 0.0
    if share > max_removed:
        return None, f"{share:.0%} of its passages would be removed"
    return remove, None


def _to_merge(engine: InvertedIndex, remove: list[int], max_segments: int, adding: bool) -> set[str]:
    """The segments to merge into the new one: all but the largest, once there would be too many."""
    if len(engine.segments) + adding <= max_segments:
        return set()
    removed = np.zeros(engine.n_ids, dtype=bool) if engine.live is None else ~engine.live
    removed[np.asarray(remove, dtype=np.int64)] = True
    sizes = [
        (int(np.count_nonzero(~removed[b : b + len(s)])), s.name)
        for s, b in zip(engine.segments, engine.bases, strict=False)
    ]
    largest = max(sizes)[1]
    return {name for _, name in sizes if name != largest}


def _carried(live: Live, drop: set[str], goners: set[str]) -> tuple[list[Article], list[Chunk]]:
    """The live articles of the segments in `drop` (but `goners`), and their passages, as stored."""
    if not drop:
        return [], []
    base = {s.name: b for s, b in zip(live.engine.segments, live.engine.bases, strict=False)}
    found = sorted(
        (base[p.segment] + p.first, doc_id, p)
        for doc_id, p in live.state.articles.items()
        if p.segment in drop and doc_id not in goners
    )
    articles, chunks = [], []
    for first, _, placed in found:
        chunks += [live.records.chunk(first + i) for i in range(placed.passages)]
        record = live.records.article_record(live.records.article_row(first))
        articles.append(_stored_article(record, placed))
    return articles, chunks


def _segment_signatures(
    live: Live, drop: set[str], carried: tuple[list[Article], list[Chunk]], fresh: list[Article]
) -> Signatures:
    """The story signatures of a new segment: those of the `carried` articles copied from the segments
    they leave (in the order `_carried` lists them: live article order), then the `fresh` articles'."""
    records, (articles, chunks) = live.records, carried
    kept = {article.doc_id for article in articles}
    try:
        moved = Signatures.concat(
            [
                Signatures.load(live.generation, name).select(_kept_rows(records, number, kept))
                for number, name in enumerate(records.segment_names)
                if name in drop
            ]
        )
    except (OSError, ValueError, KeyError) as err:  # a segment stored without signatures
        log.debug("story signatures recomputed from the passages of merged segments: %s", err)
        texts: dict[str, list[str]] = {}
        for chunk in chunks:
            texts.setdefault(chunk.doc_id, []).append(chunk.text)
        moved = signatures((" ".join(texts.get(a.doc_id, [])), a.date) for a in articles)
    return Signatures.concat([moved, signatures((article.text, article.date) for article in fresh)])


def _kept_rows(records: LiveRecords, segment: int, kept: set[str]) -> list[int]:
    """The rows, in segment number `segment`'s own tables, of its live articles whose id is in `kept`."""
    rows = zip(records.rows_of(segment).tolist(), records.live_articles(segment).tolist(), strict=True)
    return [local for row, local in rows if records.doc_id(row) in kept]


def _stored_article(record: dict[str, str | None], placed: Placed) -> Article:
    """An article as its record stores it (its passages hold the text)."""
    date = record.get("date")
    return Article(
        doc_id=record.get("doc_id") or "",
        title=record.get("title") or "",
        text="",
        publisher=record.get("publisher"),
        url=record.get("url"),
        date=dt.date.fromisoformat(date) if date else None,
        author=record.get("author"),
        path=record.get("path") or placed.file,
    )


def _new_state(state: CorpusState, plan: Plan, placed: dict[str, Placed]) -> CorpusState:
    """The corpus state after `plan`: re-read files count their skipped records anew."""
    reread = set(plan.changed_files)
    scan = plan.scan
    skipped = {n: c for n, c in state.skipped.items() if n in scan.stamps and n not in reread}
    skipped.update({name: count for name, count in plan.reading.skipped.items() if count})
    return CorpusState(scan.stamps, skipped, placed, scan.listing_skipped)


def _linked_files(live: Live, engine: InvertedIndex, new_segment: str | None) -> list[str]:
    """The files of the kept segments, hard-linked from the live generation."""
    names = []
    for segment in engine.segments:
        if segment.name != new_segment:
            names += segment_files(segment.name) + record_files(segment.name) + analysis_files(segment.name)
            if signature_file(segment.name) in live.manifest.files:  # indexes from before stories lack it
                names.append(signature_file(segment.name))
    return names


def _compared(
    manifest: Manifest, store: IndexStore, before: CorpusState | None, reason: str | None
) -> UpdateReport:
    """The report of a full build: its articles compared with those of the index it replaced."""
    try:
        after = CorpusState.read(store.current())
    except ArticleQAError:
        return UpdateReport(manifest, manifest.articles, 0, 0, True, reason)
    old = before.articles if before else {}
    added = sum(1 for doc_id in after.articles if doc_id not in old)
    updated = sum(
        1 for doc_id, p in after.articles.items() if doc_id in old and old[doc_id].digest != p.digest
    )
    removed = sum(1 for doc_id in old if doc_id not in after.articles)
    return UpdateReport(manifest, added, updated, removed, True, reason)


def without_hint(reason: str) -> str:
    return reason.removesuffix(f"; {REBUILD_HINT}").removesuffix("; rebuild it")
