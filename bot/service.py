"""Open the answering service the settings describe: build or rebuild the index first when needed."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from index.analyzer import AnalyzerConfig
from index.answer import AnswerConfig, QAService
from index.builder import IndexConfig, IndexStatus, build_index, corpus_key, index_status
from index.chunker import ChunkingConfig
from index.errors import (
    ArticleQAError,
    IndexDirectoryError,
    IndexFormatError,
    IndexMissingError,
    IndexWriteError,
)
from index.loader import corpus_fingerprint
from index.store import REBUILD_HINT, IndexStore, Manifest

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
    return _build(settings, build_index, stream, skip_if_current=skip_if_current)


Builder = Callable[..., Manifest]
"""Builds an index: `build_index` itself, or a fake (a full disk, say) in tests."""


@dataclass(frozen=True, slots=True)
class OpenedService:
    """The service to answer from, and why its index is out of date (None while it is current)."""

    service: QAService
    stale_reason: str | None = None

    @property
    def warning(self) -> str | None:
        """One line for users about a stale index, or None."""
        if self.stale_reason is None:
            return None
        built = dt.datetime.fromisoformat(self.service.manifest.built_at).astimezone(dt.UTC)
        return (
            f"index is out of date (could not rebuild: {self.stale_reason}); "
            f"answering from the index built {built:%Y-%m-%d %H:%M} UTC"
        )


def open_service(
    settings: Settings, *, rebuild: bool = False, stream: TextIO = sys.stderr, builder: Builder = build_index
) -> QAService:
    """Load the index, building it first when missing, stale, built with other settings, or corrupt.

    When the index cannot be rebuilt (a full disk, a read-only folder) but the live one is intact, it is
    served with one warning that it is out of date.
    """
    opened = open_or_stale(settings, rebuild=rebuild, stream=stream, builder=builder)
    if opened.warning:
        log.warning("%s", opened.warning)
    return opened.service


def open_or_stale(
    settings: Settings, *, rebuild: bool = False, stream: TextIO = sys.stderr, builder: Builder = build_index
) -> OpenedService:
    """Like `open_service`, but a stale index is returned with the reason instead of a logged warning,
    so that a caller that retries (the bot's hot reload) can report it once and back off.

    Raises:
        ArticleQAError: no index can be served (nothing usable is live, and building failed).
    """
    status = index_status(settings.corpus, settings.index_dir, index_config(settings))
    damaged: str | None = None
    if status.usable and not rebuild:
        IndexStore(settings.index_dir).tidy()
        try:
            return _open_current(settings)
        except (IndexFormatError, IndexMissingError) as err:
            # The status check passed, but the files are damaged.
            status = IndexStatus("broken", str(err))
            damaged = _live_name(settings)
    if status.state == "stale" and not rebuild:
        log.info("%s; updating the index", status.reason)
    try:
        # Several processes may start at once on a missing, stale or damaged index: the first builds,
        # the others use what it built.
        _build(settings, builder, stream, skip_if_current=not rebuild and not damaged, replacing=damaged)
    except (IndexWriteError, IndexDirectoryError, OSError) as err:
        if status.state == "broken":
            raise _write_error(settings, err) from None
        try:
            service = _load(settings)
        except ArticleQAError:
            raise _write_error(settings, err) from None
        if status.usable:  # a rebuild was asked for, and the index is up to date anyway
            log.warning("could not rebuild the index (%s); answering from the current one", _failure(err))
            return OpenedService(service)
        return OpenedService(service, _failure(err))
    service = _load(settings)
    if status.state == "broken":
        log.warning("index was corrupt (%s); rebuilt it", _without_hint(status.reason))
    return OpenedService(service)


def recover_from_damage(
    settings: Settings,
    service: QAService,
    err: IndexFormatError,
    *,
    stream: TextIO = sys.stderr,
    builder: Builder = build_index,
) -> QAService:
    """The service to use once `service` found its index damaged while answering (`err`): the live
    index when another process has replaced that one already, else a rebuilt one (said once)."""
    _build(settings, builder, stream, skip_if_current=False, replacing=service.generation.name)
    log.warning("index was corrupt (%s); rebuilt it", _without_hint(str(err)))
    return _load(settings)


def _build(
    settings: Settings,
    builder: Builder,
    stream: TextIO,
    *,
    skip_if_current: bool,
    replacing: str | None = None,
) -> Manifest:
    return builder(
        settings.corpus,
        settings.index_dir,
        index_config(settings),
        StderrProgress(stream),
        skip_if_current=skip_if_current,
        replacing=replacing,
    )


def _live_name(settings: Settings) -> str | None:
    try:
        return IndexStore(settings.index_dir).current().name
    except ArticleQAError:
        return None


def _open_current(settings: Settings) -> OpenedService:
    """The live index, opened again when builds published twice while it was opened."""
    before = _live_name(settings)
    try:
        return OpenedService(_load(settings))
    except IndexFormatError:
        if _live_name(settings) == before:
            raise
    return OpenedService(_load(settings))


def _load(settings: Settings) -> QAService:
    return QAService.open(settings.index_dir, answer_config(settings))


def _failure(err: BaseException) -> str:
    """Why a build failed, in a few words: the system's reason (No space left on device) when known."""
    cause = err if isinstance(err, OSError) else err.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(err)


def _write_error(settings: Settings, err: BaseException) -> ArticleQAError:
    if isinstance(err, ArticleQAError):
        return err
    return IndexWriteError(f"could not write the index in {settings.index_dir}: {_failure(err)}")


def _without_hint(reason: str) -> str:
    """`reason` without its advice to rebuild, which the service is doing already."""
    for hint in (f"; {REBUILD_HINT}", "; rebuild it"):
        reason = reason.removesuffix(hint)
    return reason


def index_is_current(settings: Settings, service: QAService) -> bool:
    """True while the corpus and settings still match the index `service` serves."""
    manifest = service.manifest
    return (
        manifest.settings == index_config(settings).to_json()
        and manifest.corpus == corpus_key(settings.corpus)
        and manifest.corpus_fingerprint == corpus_fingerprint(settings.corpus)
    )
