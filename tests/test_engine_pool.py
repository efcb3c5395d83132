"""/ask, mentions, /timeline and follow matching share one engine pool: its threads, its in-flight cap,
its drain, and one reading of the filter options."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from bot.answering import BUSY, RESTARTING, EnginePool, request_filter
from bot.cogs.follow import FollowCog
from bot.cogs.qa import QACog
from bot.cogs.timeline import TimelineCog
from bot.discord_app import QABot
from bot.follow.store import FollowStore
from bot.ratelimit import ReplyLimits
from index.errors import QuestionError
from index.filters import SearchFilter
from index.models import Answer, Source, Story, Timeline, TimelineEntry
from tests.conftest import make_settings
from tests.test_cog import ASKER_ID, FakeAnswerer, FakeHost, ask, make_interaction
from tests.test_follow import BRIDGE_QUERY, GUILD, FakeService, Host

TODAY = dt.date(2025, 4, 20)
BRIDGE_STORY = "Calder River Bridge closure"
QUESTION = "when will the Calder River Bridge reopen"


class NewsDesk(FakeAnswerer):
    """Answers and builds timelines from a script; counts the engine calls running at once and the
    threads they ran on, and can hold them until the test opens the gate."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__(gate=gate)
        self.running = 0
        self.most = 0
        self.threads: list[str] = []
        self.timeline_filters: list[SearchFilter | None] = []
        self._lock = threading.Lock()

    def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Answer:
        with self._counted():
            return super().answer(question, k, filters)

    def timeline(self, query: str, filters: SearchFilter | None = None) -> Timeline:
        with self._counted():
            self.timeline_filters.append(filters)
            self.entered.set()
            if self.gate is not None:
                self.gate.wait(10)
            sentence = (
                "The Calder River Bridge closes to all traffic on Monday for six weeks of deck repairs."
            )
            courier = Source(
                "Calder River Bridge to close for repairs", "Harborview Courier", dt.date(2025, 3, 3)
            )
            story = Story(
                "calder-bridge", 1, ("Harborview Courier",), dt.date(2025, 3, 3), dt.date(2025, 3, 3)
            )
            closes = TimelineEntry(dt.date(2025, 3, 3), sentence, (0, len(sentence)), (courier,), story)
            return Timeline(query, (closes,), search_filter=filters)

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.append(threading.current_thread().name)
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1


class WatchedDefaultExecutor(ThreadPoolExecutor):
    """A default executor for the event loop that notes the name of each function run on it."""

    def __init__(self) -> None:
        super().__init__(1)
        self.ran: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        # asyncio.to_thread submits functools.partial(context.run, function, *arguments)
        function = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        self.ran.append(getattr(function, "__qualname__", repr(function)))
        return super().submit(fn, *args, **kwargs)


class MatchingService(FakeService):
    """The follow tests' fake index, noting the thread each search ran on."""

    def __init__(self, fingerprints: dict[str, str]) -> None:
        super().__init__(fingerprints)
        self.threads: list[str] = []

    def answer_with_evidence(
        self, question: str, k: int | None = None, filters: SearchFilter | None = None
    ) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().answer_with_evidence(question, k, filters)


async def timeline(cog: TimelineCog, asked: MagicMock, query: str, **options: Any) -> None:
    command: Any = TimelineCog.timeline
    await command.callback(cog, asked, query=query, **options)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a worker thread or other tasks without the default executor (which a test watches)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    settings = make_settings(index_dir=tmp_path / "index", discord_cooldown_seconds=5)
    return FakeHost(NewsDesk(), settings)


async def test_a_burst_of_timelines_and_questions_beyond_the_cap_is_told_the_bot_is_busy(
    host: FakeHost,
) -> None:
    gate = threading.Event()
    host.service = desk = NewsDesk(gate)
    pool = EnginePool(ReplyLimits(max_in_flight=3, answer_threads=1))
    qa, timelines = QACog(host, pool=pool), TimelineCog(host, pool=pool)
    first = [make_interaction(user_id=ASKER_ID + i) for i in range(3)]
    running = [
        asyncio.create_task(timeline(timelines, first[0], BRIDGE_STORY)),
        asyncio.create_task(ask(qa, first[1], QUESTION)),
        asyncio.create_task(timeline(timelines, first[2], BRIDGE_STORY)),
    ]
    try:
        await until(desk.entered.is_set)
        # The other two wait for the one thread, acknowledged.
        await until(lambda: all(asked.response.defer.await_count == 1 for asked in first))
        late_timeline, late_question = make_interaction(ASKER_ID + 10), make_interaction(ASKER_ID + 11)
        await timeline(timelines, late_timeline, BRIDGE_STORY)
        await ask(qa, late_question, QUESTION)
        for asked in (late_timeline, late_question):
            assert asked.response.send_message.await_args.args == (BUSY,)
            assert asked.response.send_message.await_args.kwargs["ephemeral"] is True
            asked.response.defer.assert_not_awaited()
    finally:
        gate.set()
    await asyncio.wait_for(asyncio.gather(*running), 10)
    assert desk.most == 1 and len(desk.threads) == 3  # one thread between both commands
    assert "Timeline: Calder River Bridge closure" == first[0].followup.send.await_args.kwargs["embed"].title
    again = make_interaction(ASKER_ID + 10)  # being told "busy" did not start the user's cooldown
    await timeline(timelines, again, BRIDGE_STORY)
    assert again.followup.send.await_args.kwargs["embed"].title.startswith("Timeline:")


async def test_engine_work_never_uses_the_default_thread_pool(host: FakeHost, tmp_path: Path) -> None:
    default = WatchedDefaultExecutor()
    asyncio.get_running_loop().set_default_executor(default)
    desk = host.service
    assert isinstance(desk, NewsDesk)
    pool = EnginePool()
    question, story = make_interaction(), make_interaction(ASKER_ID + 1)
    await ask(QACog(host, pool=pool), question, QUESTION)
    await timeline(TimelineCog(host, pool=pool), story, BRIDGE_STORY)
    assert "four hours" in question.followup.send.await_args.kwargs["embed"].description
    assert story.followup.send.await_args.kwargs["embed"].title == f"Timeline: {BRIDGE_STORY}"
    assert len(desk.threads) == 2 and all(name.startswith("article-qa-engine") for name in desk.threads)

    settings = make_settings(index_dir=tmp_path / "index")
    follows = FollowCog(Host(settings), FollowStore(tmp_path / "follows.sqlite3"), pool=pool)
    follows.store.add(GUILD, 4242, BRIDGE_QUERY, 77, dt.datetime(2025, 4, 20, 12, tzinfo=dt.UTC), limit=25)
    new = MatchingService({"hc-calder-bridge-delay.html": "1"})
    await follows.on_index_swapped(FakeService({}), new)
    assert new.threads and all(name.startswith("article-qa-engine") for name in new.threads)
    # Only the follow database's reads and writes (not engine work) use the default pool.
    assert default.ran and all(name.startswith("FollowStore.") for name in default.ran)
    follows.store.close()
    pool.close()


async def test_ask_and_timeline_read_their_filter_options_alike(host: FakeHost) -> None:
    desk = host.service
    assert isinstance(desk, NewsDesk)
    pool = EnginePool()
    qa = QACog(host, pool=pool, today=lambda: TODAY)
    timelines = TimelineCog(host, pool=pool, today=lambda: TODAY)
    options = {"since": "March 2025", "until": "2025-03-20", "source": " Harborview Courier "}
    await ask(qa, make_interaction(), QUESTION, **options)
    await timeline(timelines, make_interaction(), BRIDGE_STORY, **options)
    expected = SearchFilter(dt.date(2025, 3, 1), dt.date(2025, 3, 20), ("Harborview Courier",))
    assert desk.filters == [expected] and desk.timeline_filters == [expected]
    assert request_filter(None, None, None, TODAY) is None

    bad_question, bad_story = make_interaction(ASKER_ID + 1), make_interaction(ASKER_ID + 2)
    await ask(qa, bad_question, QUESTION, until="since March")
    await timeline(timelines, bad_story, BRIDGE_STORY, until="since March")
    with pytest.raises(QuestionError) as refused:
        request_filter(None, "since March", None, TODAY)
    assert bad_question.response.send_message.await_args.args == (str(refused.value),)
    assert bad_story.response.send_message.await_args.args == (str(refused.value),)


async def test_a_drain_covers_timelines_too(host: FakeHost) -> None:
    gate = threading.Event()
    host.service = desk = NewsDesk(gate)
    pool = EnginePool()
    timelines = TimelineCog(host, pool=pool)
    stuck = make_interaction()
    building = asyncio.create_task(timeline(timelines, stuck, BRIDGE_STORY))
    try:
        await until(desk.entered.is_set)
        draining = asyncio.create_task(pool.drain(grace=0.1))
        await asyncio.sleep(0)  # the drain starts: from now on requests are refused
        late = make_interaction(ASKER_ID + 1)
        await timeline(timelines, late, BRIDGE_STORY)
        assert late.response.send_message.await_args.args == (RESTARTING,)
        await asyncio.wait_for(asyncio.gather(building, draining), 5)
    finally:
        gate.set()
    assert stuck.followup.send.await_args.args == (RESTARTING,)


async def test_the_bots_commands_share_the_bots_pool(tmp_path: Path) -> None:
    settings = make_settings(
        index_dir=tmp_path / "index", state_dir=tmp_path / "state", discord_answer_threads=3
    )
    bot = QABot(settings, NewsDesk())
    for extension in ("qa", "timeline", "follow"):
        await bot.load_extension(f"bot.cogs.{extension}")
    cogs = [bot.get_cog(name) for name in ("QACog", "TimelineCog", "FollowCog")]
    assert all(getattr(cog, "pool", None) is bot.engine_pool for cog in cogs)
    assert bot.engine_pool.limits.answer_threads == 3
    for extension in ("qa", "timeline", "follow"):
        await bot.unload_extension(f"bot.cogs.{extension}")  # the follow database closes
    bot.engine_pool.close()
