"""The engine as the settings describe it: its configuration, build progress, and users' error hints."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TextIO

from index import (
    AnalyzerConfig,
    AnswerConfig,
    ArticleQAError,
    Builder,
    ChunkingConfig,
    CorpusError,
    EmptyCorpusError,
    IndexConfig,
    IndexFormatError,
    IndexMissingError,
    Manifest,
    QAService,
    heal_index,
    open_index,
    stale_warning,
    without_hint,
)

from .config import Settings
from .progress import StderrProgress

if TYPE_CHECKING:
    from index import UpdateReport  # loads the build side: only when a command updates

log = logging.getLogger(__name__)

REBUILD_ADVICE = "run `article-qa index` to rebuild it"


def index_config(settings: Settings) -> IndexConfig:
    return IndexConfig(
        analyzer=AnalyzerConfig(),
        chunking=ChunkingConfig(settings.chunk_words, settings.chunk_overlap_sentences),
    )


def answer_config(settings: Settings) -> AnswerConfig:
    return AnswerConfig(top_k=settings.top_k, max_question_chars=settings.max_question_chars)


def build(settings: Settings, *, stream: TextIO | None = None, skip_if_current: bool = False) -> Manifest:
    """Build the index of the configured corpus, with progress on `stream` (stderr by default).

    With `skip_if_current`, no build happens when another process built the same index meanwhile.
    """
    from index import build_index  # the corpus reader loads only when a command builds

    return build_index(
        settings.corpus,
        settings.index_dir,
        index_config(settings),
        StderrProgress(stream),
        skip_if_current=skip_if_current,
        workers=settings.build_workers,
    )


def update(settings: Settings, *, full: bool = False, stream: TextIO | None = None) -> UpdateReport:
    """Bring the index of the configured corpus up to date (with `full`, rebuild it from scratch), with
    progress on `stream` (stderr by default)."""
    from index import update_index  # the corpus reader loads only when a command builds

    return update_index(
        settings.corpus,
        settings.index_dir,
        index_config(settings),
        StderrProgress(stream),
        full=full,
        workers=settings.build_workers,
    )


def _builder(settings: Settings) -> Builder:
    """Updates the index of a changed corpus; rebuilds it (`build_index`) when asked to, or when damaged,
    with the configured number of worker processes."""

    def build_with_workers(*args: Any, skip_if_current: bool = False, **kwargs: Any) -> Manifest:
        from index import build_index, update_index

        if skip_if_current and kwargs.get("replacing") is None:
            return update_index(*args, workers=settings.build_workers).manifest
        return build_index(*args, workers=settings.build_workers, skip_if_current=skip_if_current, **kwargs)

    return build_with_workers


def open_or_stale(
    settings: Settings, *, rebuild: bool = False, stream: TextIO | None = None, builder: Builder | None = None
) -> QAService:
    """The service of the configured index (built or rebuilt first when needed); when a rebuild failed
    and the previous index is served, `service.stale_reason` says why and nothing is logged, so that a
    caller that retries (the bot's hot reload) can report it once and back off."""
    return open_index(
        settings.corpus,
        settings.index_dir,
        index_config(settings),
        answer_config(settings),
        rebuild=rebuild,
        progress=StderrProgress(stream),
        builder=builder or _builder(settings),
    )


def open_service(
    settings: Settings, *, rebuild: bool = False, stream: TextIO | None = None, builder: Builder | None = None
) -> QAService:
    """Like `open_or_stale`, with one warning when the index is served out of date."""
    service = open_or_stale(settings, rebuild=rebuild, stream=stream, builder=builder)
    warning = stale_warning(service)
    if warning:
        log.warning("%s", warning)
    return service


def recover_from_damage(
    settings: Settings,
    service: QAService,
    err: IndexFormatError,
    *,
    stream: TextIO | None = None,
    builder: Builder | None = None,
) -> QAService:
    """The service to use once `service` found its index damaged while answering (`err`)."""
    return heal_index(
        service,
        err,
        settings.corpus,
        index_config(settings),
        progress=StderrProgress(stream),
        builder=builder or _builder(settings),
    )


def is_current(settings: Settings, service: QAService) -> bool:
    """True while the corpus and settings still match the index `service` serves."""
    return service.is_current(settings.corpus, index_config(settings))


def user_message(err: ArticleQAError) -> str:
    """The engine's message, with how a user of the command line fixes it (the engine never names our
    flags or commands)."""
    message = str(err)
    if isinstance(err, IndexFormatError):
        return f"{without_hint(message)}; {REBUILD_ADVICE}"
    if isinstance(err, IndexMissingError):
        return f"{message}; run `article-qa index` to build it"
    if isinstance(err, CorpusError) and not isinstance(err, EmptyCorpusError):
        return f"{message} (pass --corpus PATH or set ARTICLE_QA_CORPUS)"
    return message
