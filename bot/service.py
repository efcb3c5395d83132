"""Open the answering service the settings describe: build or rebuild the index first when needed."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from index.analyzer import AnalyzerConfig
from index.answer import AnswerConfig, QAService
from index.builder import IndexConfig, build_index, corpus_key, index_status
from index.chunker import ChunkingConfig
from index.errors import IndexFormatError, IndexMissingError
from index.loader import corpus_fingerprint
from index.store import IndexStore, Manifest

from .config import Settings

log = logging.getLogger(__name__)


def index_config(settings: Settings) -> IndexConfig:
    return IndexConfig(
        analyzer=AnalyzerConfig(),
        chunking=ChunkingConfig(settings.chunk_words, settings.chunk_overlap_sentences),
    )


def answer_config(settings: Settings) -> AnswerConfig:
    return AnswerConfig(top_k=settings.top_k, max_question_chars=settings.max_question_chars)


class StderrProgress:
    """Build progress on stderr: a live line on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 2.0) -> None:
        self._stream = stream
        self._interval = interval
        self._last = 0.0
        self._live = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if not finished and now - self._last < (0.1 if self._live else self._interval):
            return
        self._last = now
        line = f"{stage}: {done:,}/{total:,}"
        if self._live:
            self._stream.write(f"\r\033[K{line}" + ("\n" if finished else ""))
        elif total >= 1000:
            self._stream.write(line + "\n")
        self._stream.flush()


def build(settings: Settings, *, stream: TextIO = sys.stderr, skip_if_current: bool = False) -> Manifest:
    """Build the index of the configured corpus, with progress on `stream`.

    With `skip_if_current`, no build happens when another process built the same index meanwhile.
    """
    return build_index(
        settings.corpus,
        settings.index_dir,
        index_config(settings),
        StderrProgress(stream),
        skip_if_current=skip_if_current,
    )


def open_service(settings: Settings, *, rebuild: bool = False, stream: TextIO = sys.stderr) -> QAService:
    """Load the index, building it first when missing, stale, built with other settings, or corrupt."""
    status = index_status(settings.corpus, settings.index_dir, index_config(settings))
    if rebuild or not status.usable:
        if status.state in ("stale", "broken") and not rebuild:
            log.warning("rebuilding the index: %s", status.reason)
        # Several processes may start at once on a missing index: the first builds, the others use it.
        build(settings, stream=stream, skip_if_current=not rebuild)
    else:
        IndexStore(settings.index_dir).tidy()
    try:
        return QAService.open(settings.index_dir, answer_config(settings))
    except (IndexFormatError, IndexMissingError) as err:
        log.warning("rebuilding the index: %s", err)
        build(settings, stream=stream)
        return QAService.open(settings.index_dir, answer_config(settings))


def index_is_current(settings: Settings, service: QAService) -> bool:
    """True while the corpus and settings still match the index `service` serves."""
    manifest = service.manifest
    return (
        manifest.settings == index_config(settings).to_json()
        and manifest.corpus == corpus_key(settings.corpus)
        and manifest.corpus_fingerprint == corpus_fingerprint(settings.corpus)
    )
