"""Open an index for answering: build it when missing, rebuild it when stale or damaged, heal it once."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .analyzer import Analyzer, AnalyzerConfig
from .answer import AnswerConfig, QAService
from .errors import ArticleQAError, IndexDirectoryError, IndexFormatError, IndexMissingError, IndexWriteError
from .manifest import REBUILD_HINT, Manifest
from .settings import IndexConfig, IndexStatus, index_status, live_generation
from .store import IndexStore

if TYPE_CHECKING:
    from .builder import Progress

log = logging.getLogger(__name__)

DEFAULT_CONFIG = IndexConfig()
DEFAULT_ANSWER_CONFIG = AnswerConfig()

Builder = Callable[..., Manifest]
"""Builds an index: `build_index` itself, or a fake (a full disk, say) in tests."""


def open_index(
    corpus: Path,
    index_dir: Path,
    config: IndexConfig = DEFAULT_CONFIG,
    answer_config: AnswerConfig = DEFAULT_ANSWER_CONFIG,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    builder: Builder | None = None,
) -> QAService:
    """The service answering from the index of `corpus` in `index_dir`, built first when it is missing,
    stale, built with other settings or damaged (or always, with `rebuild`).

    Several processes may open at once: the first builds, the others wait for it and use what it built
    (never a second full build). When a rebuild fails (a full disk, a read-only folder) but the live
    index is intact, that index is served with `service.stale_reason` saying why; callers report it.

    Raises:
        CorpusError, EmptyCorpusError: the corpus cannot be used and no index serves it.
        IndexDirectoryError, IndexWriteError: nothing usable is live, and building failed.
    """

    def build(*, skip_if_current: bool, replacing: str | None = None) -> Manifest:
        return (builder or _build_index())(
            corpus, index_dir, config, progress, skip_if_current=skip_if_current, replacing=replacing
        )

    def load() -> QAService:
        return QAService.open(index_dir, answer_config)

    status = index_status(corpus, index_dir, config)
    damaged: str | None = None
    if status.usable and not rebuild:
        IndexStore(index_dir).tidy()
        try:
            return _open_current(index_dir, load)
        except (IndexFormatError, IndexMissingError) as err:
            # The status check passed, but the files are damaged.
            status = IndexStatus("broken", str(err))
            damaged = live_generation(index_dir)
    if status.state == "stale" and not rebuild:
        log.info("%s; updating the index", status.reason)
    try:
        build(skip_if_current=not rebuild and not damaged, replacing=damaged)
    except (IndexWriteError, IndexDirectoryError, OSError) as err:
        return _serve_previous(index_dir, status, err, load)
    service = load()
    if status.state == "broken":
        log.warning("index was corrupt (%s); rebuilt it", without_hint(status.reason))
    return service


def heal_index(
    service: QAService,
    damage: IndexFormatError,
    corpus: Path,
    config: IndexConfig = DEFAULT_CONFIG,
    *,
    progress: Progress | None = None,
    builder: Builder | None = None,
) -> QAService:
    """The service to use once `service` found its index damaged while answering (`damage`): the live
    index when another process has replaced that one already, else a rebuilt one (said once)."""
    (builder or _build_index())(
        corpus,
        service.index_dir,
        config,
        progress,
        skip_if_current=False,
        replacing=service.generation.name,
    )
    log.warning("index was corrupt (%s); rebuilt it", without_hint(str(damage)))
    return QAService.open(service.index_dir, service.config)


def stale_warning(service: QAService) -> str | None:
    """One line for users about an index served out of date, or None while it is current."""
    if service.stale_reason is None:
        return None
    built = dt.datetime.fromisoformat(service.manifest.built_at).astimezone(dt.UTC)
    return (
        f"index is out of date (could not rebuild: {service.stale_reason}); "
        f"answering from the index built {built:%Y-%m-%d %H:%M} UTC"
    )


def live_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the live index of `index_dir`, or None without a readable one."""
    try:
        return IndexStore(index_dir).read_manifest()
    except ArticleQAError:
        return None


def verify_index(index_dir: Path) -> Manifest:
    """Checksum every file of the live index as it is, without building anything; its manifest.

    Raises:
        IndexMissingError: nothing was built there yet.
        IndexFormatError: a file is missing, truncated or corrupt.
    """
    store = IndexStore(index_dir)
    generation = store.current()
    manifest = store.read_manifest(generation)
    store.verify(generation, manifest, full=True)
    return manifest


def without_hint(reason: str) -> str:
    """`reason` without its advice to rebuild, for when the index is being rebuilt already."""
    for hint in (f"; {REBUILD_HINT}", "; rebuild it"):
        reason = reason.removesuffix(hint)
    return reason


def _build_index() -> Builder:
    # Imported on first build: answering from a current index never loads the corpus reader.
    from .builder import build_index

    return build_index


def _open_current(index_dir: Path, load: Callable[[], QAService]) -> QAService:
    """The live index, opened again when builds published twice while it was opened."""
    before = live_generation(index_dir)
    try:
        return load()
    except IndexFormatError:
        if live_generation(index_dir) == before:
            raise
    return load()


def _serve_previous(
    index_dir: Path, status: IndexStatus, err: BaseException, load: Callable[[], QAService]
) -> QAService:
    """After a failed build: the live index, marked stale unless it was current; else the failure."""
    if status.state == "broken":
        raise _write_error(index_dir, err) from None
    try:
        service = load()
    except ArticleQAError:
        raise _write_error(index_dir, err) from None
    if status.usable:  # a rebuild was asked for, and the index is up to date anyway
        log.warning("could not rebuild the index (%s); answering from the current one", _failure(err))
    else:
        service.stale_reason = _failure(err)
    return service


def _failure(err: BaseException) -> str:
    """Why a build failed, in a few words: the system's reason (No space left on device) when known."""
    cause = err if isinstance(err, OSError) else err.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(err)


def _write_error(index_dir: Path, err: BaseException) -> ArticleQAError:
    if isinstance(err, ArticleQAError):
        return err
    return IndexWriteError(f"could not write the index in {index_dir}: {_failure(err)}")


def has_searchable_words(question: str) -> bool:
    """False for questions made only of stopwords and punctuation ("", "?", "the"): nothing to look up."""
    return bool(_default_analyzer().query_terms(question))


@functools.lru_cache(maxsize=1)
def _default_analyzer() -> Analyzer:
    return Analyzer(AnalyzerConfig())
