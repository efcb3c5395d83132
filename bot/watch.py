"""Follow the corpus folder: debounce its changes, then bring the index up to date (`article-qa watch`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Collection, Coroutine
from pathlib import Path
from typing import Any

import watchfiles

from index import SUFFIXES, ArticleQAError, Manifest, index_status

from .config import Settings
from .service import index_config, update

log = logging.getLogger(__name__)

OnChange = Callable[[frozenset[Path]], Awaitable[None]]
_STEP_MS = 50  # how often watchfiles gathers events into one batch; our own quiet period comes on top


def on_corpus_changed(settings: Settings, changed: Collection[Path] = ()) -> Manifest | None:
    """Bring the index up to date with the corpus after `changed` (files added, edited or deleted; a
    folder stands for everything under it, since files written into a new folder can beat its watch).

    When the corpus differs from the index, the articles added, changed or removed are applied to it
    (`index.update_index`); otherwise nothing happens. Returns the new manifest, if one was published.

    Raises:
        ArticleQAError: the index cannot be built (for instance the corpus is now empty).
    """
    status = index_status(settings.corpus, settings.index_dir, index_config(settings))
    if status.usable:
        return None
    what = f" ({len(changed)} path{'s' * (len(changed) != 1)})" if changed else ""
    log.info("the corpus changed%s: updating the index", what)
    report = update(settings)
    log.info("%s", report.summary)
    return report.manifest


class CorpusWatcher:
    """Calls `on_change` with the changed paths once the corpus has been quiet for `quiet` seconds (or
    `max_delay` seconds after the first change of a stream that never pauses)."""

    def __init__(
        self,
        corpus: Path,
        on_change: OnChange,
        *,
        quiet: float = 1.0,
        max_delay: float = 10.0,
        force_polling: bool | None = None,
        ignore: Collection[Path] = (),
    ) -> None:
        self.corpus = corpus
        self._on_change = on_change
        self._quiet = quiet
        self._max_delay = max(max_delay, quiet)
        self._force_polling = force_polling
        self._ignore = tuple(path.resolve() for path in ignore)
        self.ready = asyncio.Event()  # set once changes are being watched

    def wanted(self, _change: watchfiles.Change, path: str) -> bool:
        """Article files and folders; not hidden files (temporary copies, editor swap files) or `ignore`."""
        candidate = Path(path)
        try:
            relative = candidate.relative_to(self.corpus.resolve())
        except ValueError:
            relative = Path(candidate.name)
        if any(part.startswith(".") for part in relative.parts):
            return False
        if any(candidate.is_relative_to(ignored) for ignored in self._ignore):
            return False
        return candidate.suffix.lower() in SUFFIXES or not candidate.suffix  # a folder moved in or out

    async def run(self) -> None:
        """Watch until cancelled.

        Raises:
            OSError: the corpus cannot be watched (it is missing, or the system is out of watches).
        """
        changes: asyncio.Queue[set[Path] | BaseException] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(changes), name="article-qa corpus events")
        try:
            await asyncio.sleep(0)  # lets awatch register its watches before anything is reported ready
            self.ready.set()
            log.info("watching %s for changes", self.corpus)
            while True:
                pending = await self._next_batch(changes)
                try:
                    await self._on_change(frozenset(pending))
                except ArticleQAError as err:
                    log.warning("the index was not updated: %s", err)
                except Exception:
                    log.exception("the index was not updated after a change of the corpus")
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)

    async def _next_batch(self, changes: asyncio.Queue[set[Path] | BaseException]) -> set[Path]:
        """Changes from the first one until `quiet` seconds pass without another (at most `max_delay`)."""
        loop = asyncio.get_running_loop()
        pending = _changes_or_raise(await changes.get())
        started = loop.time()
        while (wait := min(self._quiet, started + self._max_delay - loop.time())) > 0:
            try:
                pending |= _changes_or_raise(await asyncio.wait_for(changes.get(), wait))
            except TimeoutError:
                break
        return pending

    async def _produce(self, changes: asyncio.Queue[set[Path] | BaseException]) -> None:
        try:
            async for batch in watchfiles.awatch(
                self.corpus,
                watch_filter=self.wanted,
                step=_STEP_MS,
                debounce=int(self._max_delay * 1000),
                force_polling=self._force_polling,
                poll_delay_ms=int(self._quiet * 500) or 50,
            ):
                changes.put_nowait({Path(path) for _change, path in batch})
        except Exception as err:  # handed to the consumer, which raises it where it is awaited
            changes.put_nowait(err)


def _changes_or_raise(item: set[Path] | BaseException) -> set[Path]:
    if isinstance(item, BaseException):
        raise item
    return item


def corpus_watcher(settings: Settings, on_change: OnChange) -> CorpusWatcher:
    """The watcher the settings describe, ignoring the index folder should it sit inside the corpus."""
    return CorpusWatcher(
        settings.corpus,
        on_change,
        quiet=settings.watch_quiet_seconds,
        max_delay=settings.watch_max_delay_seconds,
        force_polling=settings.watch_force_polling,
        ignore=(settings.index_dir,),
    )


def run_watch(settings: Settings) -> int:
    """`article-qa watch`: keep the index current as the folder changes, and fetch feeds on the interval."""
    return asyncio.run(_watch(settings))


def start_following(settings: Settings, corpus_changed: OnChange) -> list[asyncio.Task[None]]:
    """Start the folder watcher (ARTICLE_QA_WATCH_CORPUS) and the feed fetcher (ARTICLE_QA_FEEDS, every
    ARTICLE_QA_FETCH_INTERVAL_MINUTES); a failure of either is logged and never stops the caller."""
    from .feeds.schedule import fetch_periodically
    from .feeds.sources import feed_urls

    tasks = []
    if settings.watch_corpus:
        watcher = corpus_watcher(settings, corpus_changed)
        tasks.append(
            asyncio.create_task(_logged(watcher.run(), "watching the corpus"), name="article-qa watcher")
        )
    try:
        follow_feeds = bool(feed_urls(settings.feeds)) and settings.fetch_interval_minutes > 0
    except ArticleQAError as err:
        log.error("not fetching feeds: %s", err)
        follow_feeds = False
    if follow_feeds:
        fetching = fetch_periodically(settings, lambda: corpus_changed(frozenset()))
        tasks.append(asyncio.create_task(_logged(fetching, "fetching feeds"), name="article-qa fetcher"))
    return tasks


async def _logged(work: Coroutine[Any, Any, None], what: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s stopped; answers still come from the current index", what)


async def _watch(settings: Settings) -> int:
    on_corpus_changed(settings)  # catch up with what changed while nothing was watching

    async def update(changed: frozenset[Path]) -> None:
        manifest = await asyncio.to_thread(on_corpus_changed, settings, changed)
        if manifest is not None:
            log.info("index updated: %d articles, %d passages", manifest.articles, manifest.passages)

    tasks = start_following(settings.model_copy(update={"watch_corpus": True}), update)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    log.info("stopped watching")
    return 0
