"""Load through the Discord front-end: waves of questions in flight at once against the fake Discord.

Waves as large as the bot's bound on questions in flight are all answered, none lost or answered twice;
a burst well beyond it is acknowledged in time, with the questions over the bound politely refused; the
event loop's own work in any one step stays under 100 ms of CPU (measured inside the bot process); and the
bot's memory stays flat from one wave of questions to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from bot.answering import BUSY
from bot.ratelimit import ReplyLimits
from tests.bot_process import start_bot
from tests.fake_discord import FakeDiscord, Interaction, Reply

TOKEN = "FAKE-load-token.MTIzNDU2Nzg5MDEyMzQ1Njc4.never-log-me"
IN_FLIGHT = ReplyLimits().max_in_flight  # every question of a wave this size is answered
BURST = 250  # far beyond the bound: acknowledged in time all the same, the excess refused politely
WAVES = 3  # the first warms caches and the thread pool; memory is compared across the others
ACK_DEADLINE_SECONDS = 3.0  # Discord drops an interaction not acknowledged in this time
MAX_STEP_CPU_SECONDS = 0.100  # the bound on the loop's own work in one step
MAX_SATURATION_SECONDS = 1.0
MAX_GROWTH_BYTES = 16 * 1024 * 1024
ARTICLES = 800
WORDS = (
    "talks minister border troops agreement meeting paris sunday federation crisis sanctions ambassador "
    "proposal government election market shares bank inflation storm river flood harvest school teacher "
    "museum painting concert festival bridge railway harbour"
).split()

pytestmark = pytest.mark.slow

# Runs the real `article-qa discord` (cli.main) against the fake, with two gauges in its event loop:
# - the longest single step: every callback and task step is timed, in wall-clock time and in the loop
#   thread's own CPU time (a blocking call, a slow render or a garbage collection inside a step shows up
#   in both; the wall-clock time also counts waiting for the GIL or for a CPU): how long the loop was
#   *blocked*;
# - the longest lateness of a probe task sleeping 2 ms at a time: how long anything waited for the loop,
#   which under a burst also counts the hundreds of ready callbacks queued ahead of it (*saturation*).
# SIGUSR1 resets both; SIGUSR2 writes them to the file named on the command line.
RUNNER = """
import asyncio, asyncio.events, gc, json, os, signal, sys, time

step, lag = {"worst": 0.0, "cpu": 0.0, "steps": 0}, {"worst": 0.0, "probes": 0}
run_handle = asyncio.events.Handle._run

def timed_run(handle):
    started, cpu = time.perf_counter(), time.thread_time()
    run_handle(handle)
    step["worst"] = max(step["worst"], time.perf_counter() - started)
    step["cpu"] = max(step["cpu"], time.thread_time() - cpu)
    step["steps"] += 1

asyncio.events.Handle._run = timed_run

async def probe():
    loop = asyncio.get_running_loop()

    def reset():
        step.update(worst=0.0, cpu=0.0, steps=0)
        lag.update(worst=0.0, probes=0)

    def dump():
        figures = {"worst_step": step["worst"], "worst_step_cpu": step["cpu"], "steps": step["steps"],
                   "worst_lag": lag["worst"],
                   "probes": lag["probes"], "frozen_objects": gc.get_freeze_count()}
        with open(sys.argv[1] + ".tmp", "w") as out:
            json.dump(figures, out)
        os.replace(sys.argv[1] + ".tmp", sys.argv[1])

    loop.add_signal_handler(signal.SIGUSR1, reset)
    loop.add_signal_handler(signal.SIGUSR2, dump)
    while True:
        started = loop.time()
        await asyncio.sleep(0.002)
        lag["worst"] = max(lag["worst"], loop.time() - started - 0.002)
        lag["probes"] += 1

class ProbedLoops(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        loop = super().new_event_loop()
        loop.create_task(probe())
        return loop

asyncio.set_event_loop_policy(ProbedLoops())
from bot.cli import main
sys.exit(main(["discord"]))
"""


class TimedFake(FakeDiscord):
    """The fake Discord, noting when each reply arrived (for latency figures)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.arrivals: list[float] = []

    def _record(self, reply: Reply) -> None:
        self.arrivals.append(time.monotonic())
        super()._record(reply)


@dataclass
class Bot:
    """The bot process and its figures."""

    process: asyncio.subprocess.Process
    metrics: Path

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def reset_gauges(self) -> None:
        self.process.send_signal(signal.SIGUSR1)

    async def figures(self) -> dict[str, float]:
        self.metrics.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR2)
        for _ in range(200):
            if self.metrics.exists():
                data: dict[str, float] = json.loads(self.metrics.read_text(encoding="utf-8"))
                return data
            await asyncio.sleep(0.01)
        raise TimeoutError("the bot did not report its figures")


def write_corpus(folder: Path) -> dict[str, str]:
    """Generated articles, plus one "vault" article per code word; returns question -> expected word."""
    rng = random.Random(7)
    folder.mkdir(parents=True)
    for i in range(ARTICLES):
        paragraphs = (" ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + "." for _ in range(3))
        (folder / f"a{i:05d}.txt").write_text(f"Report {i}\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
    expected = {}
    for n, code in enumerate(["zebra", "quokka", "narwhal", "axolotl", "pangolin"]):
        (folder / f"vault{n}.txt").write_text(
            f"Vault {n}\n\nThe {code} was seen at depot {n}.\n", encoding="utf-8"
        )
        expected[f"where was the {code} seen"] = f"depot {n}"
    return expected


@dataclass
class Wave:
    """One wave of questions sent at once: what went wrong, how long each answer and each ack took."""

    asked: int
    problems: list[str]
    latencies: list[float]
    seconds: float
    ack_delays: list[float]
    refused: int


async def wave(fake: TimedFake, questions: dict[str, str], n: int, *, mentions: bool = True) -> Wave:
    """`n` questions from `n` different users at once (4 in 5 by /ask, the rest by mention, each mention
    in a channel of its own: a channel's replies are limited as Discord limits them)."""
    rng = random.Random(n + len(fake.replies))
    asked = [rng.choice(list(questions)) for _ in range(n)]
    users = [fake.make_user(f"load-{len(fake.replies)}-{i}") for i in range(n)]
    first_reply = len(fake.replies)
    started = time.monotonic()

    async def send(i: int) -> Interaction | dict[str, object]:
        if i % 5 or not mentions:
            return await fake.send_interaction("ask", question=asked[i], user=users[i])
        content = f"{fake.bot_mention} {asked[i]}"
        return await fake.send_message(content, user=users[i], channel_id=fake.new_channel_id())

    sent = await asyncio.gather(*(send(i) for i in range(n)))
    # One waiter on the reply count: `n` wait_for_reply() calls would all rescan the list on every reply.
    with contextlib.suppress(TimeoutError):  # replies still missing are reported below
        await fake.wait_until(lambda: len(fake.replies) - first_reply >= n, timeout=120, what=f"{n} replies")
    seconds = time.monotonic() - started
    await asyncio.sleep(0.3)  # a duplicate reply would arrive now

    problems = []
    replies = fake.replies[first_reply:]
    if len(replies) != n:
        problems.append(f"{len(replies)} replies to {n} questions")
    by_key: dict[object, tuple[Reply, float]] = {}
    for reply, arrived in zip(replies, fake.arrivals[first_reply:], strict=True):
        key = reply.interaction_token or reply.reference_id
        if key in by_key:
            problems.append(f"answered twice: {key}")
        by_key[key] = (reply, arrived)
    latencies, ack_delays, refused = [], [], 0
    for i, item in enumerate(sent):
        key = item.token if isinstance(item, Interaction) else int(str(item["id"]))
        if key not in by_key:
            problems.append(f"never answered: {asked[i]!r}")
            continue
        reply, arrived = by_key[key]
        if reply.payload.get("allowed_mentions") != {"parse": []}:
            problems.append(f"a reply may ping: {reply.payload.get('allowed_mentions')}")
        if isinstance(item, Interaction):
            ack_delays += item.ack_delays[:1]
            if item.acks == [4] and reply.payload.get("content") == BUSY and reply.payload["flags"] & 64:
                refused += 1  # shed: refused at once, privately
                continue
            if item.acks != [5]:
                problems.append(f"interaction acknowledged with {item.acks}, not one deferral")
        latencies.append(arrived - started)
        if questions[asked[i]] not in reply.text():
            problems.append(f"wrong answer to {asked[i]!r}: {reply.text()[:200]!r}")
    return Wave(n, problems, latencies, seconds, ack_delays, refused)


@dataclass
class LoadRun:
    waves: list[Wave]
    burst: Wave
    memory: list[int]  # the bot's RSS after each wave
    figures: dict[str, float]
    log: str

    @property
    def latencies(self) -> list[float]:
        return sorted(latency for w in self.waves for latency in w.latencies)

    def summary(self) -> str:
        latencies = self.latencies
        answered = len(latencies)
        burst = self.burst
        return (
            f"{answered} of {sum(w.asked for w in self.waves)} questions answered in waves of {IN_FLIGHT} "
            f"in flight; worst blocking step {self.figures['worst_step'] * 1000:.1f} ms wall-clock, "
            f"{self.figures['worst_step_cpu'] * 1000:.1f} ms of loop CPU, over {self.figures['steps']:.0f} "
            f"loop steps; worst probe lateness "
            f"{self.figures['worst_lag'] * 1000:.1f} ms over {self.figures['probes']:.0f} probes; "
            f"send-to-reply p50 {statistics.median(latencies):.2f} s, p95 "
            f"{latencies[int(0.95 * (answered - 1))]:.2f} s; "
            f"{answered / sum(w.seconds for w in self.waves):.0f} questions/s; "
            f"bot RSS after each wave {[round(m / 2**20, 1) for m in self.memory]} MiB; "
            f"heap frozen: {self.figures['frozen_objects']:.0f} objects; "
            f"burst of {burst.asked} /ask: {burst.asked - burst.refused} answered, {burst.refused} refused "
            f"as busy, acks p50 {statistics.median(burst.ack_delays):.2f} s, max {max(burst.ack_delays):.2f} s"
        )


async def run_load(tmp_path: Path) -> LoadRun:
    questions = write_corpus(tmp_path / "corpus")
    metrics = tmp_path / "metrics.json"
    async with (
        TimedFake(token=TOKEN) as fake,
        start_bot(
            fake, tmp_path, TOKEN, corpus=tmp_path / "corpus", command=("-c", RUNNER, str(metrics)),
            ready_timeout=120, stop_timeout=30,
        ) as process,
    ):  # fmt: skip
        bot = Bot(process, metrics)
        await wave(fake, questions, 20)  # warm up
        bot.reset_gauges()
        memory, waves = [], []
        for _ in range(WAVES):
            waves.append(await wave(fake, questions, IN_FLIGHT))
            memory.append(bot.rss())
        figures = await bot.figures()
        burst = await wave(fake, questions, BURST, mentions=False)
    return LoadRun(waves, burst, memory, figures, (tmp_path / "bot.log").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def load(tmp_path_factory: pytest.TempPathFactory) -> LoadRun:
    """One load run shared by the tests below (each checks one claim about it)."""
    run = asyncio.run(run_load(tmp_path_factory.mktemp("load")))
    print("\n" + run.summary())
    return run


def test_every_question_in_flight_is_answered_once_and_pings_nobody(load: LoadRun) -> None:
    problems = [problem for w in load.waves for problem in w.problems]
    assert not problems, problems[:10]
    assert len(load.latencies) == WAVES * IN_FLIGHT
    assert all(w.refused == 0 for w in load.waves)
    assert "Traceback" not in load.log and "ERROR" not in load.log, load.log[-3000:]


def test_a_burst_beyond_the_bound_is_acknowledged_in_time_and_the_excess_refused(load: LoadRun) -> None:
    burst = load.burst
    assert not burst.problems, burst.problems[:10]
    assert len(burst.ack_delays) == BURST
    assert max(burst.ack_delays) < ACK_DEADLINE_SECONDS, load.summary()
    # At least the bound is answered (more when answers finish during the burst); every other question
    # got the private "busy" refusal (checked in wave()), and test_discord_limits pins when exactly.
    assert BURST - burst.refused >= IN_FLIGHT, load.summary()


def test_no_step_blocks_the_event_loop_for_100_ms_of_cpu(load: LoadRun) -> None:
    assert load.figures["steps"] > 1_000, "the step timer did not run"
    assert load.figures["frozen_objects"], "the bot should freeze its startup heap (gc.freeze in run_discord)"
    # The bound is on the loop's own work in one step: its thread's CPU time. The wall-clock time of a
    # step (in the summary) also counts time the process was not scheduled at all, which on 2 cores
    # shared with other test runs reached 800 ms for a step of 78 ms of CPU.
    assert load.figures["worst_step_cpu"] < MAX_STEP_CPU_SECONDS, load.summary()


def test_the_event_loop_stays_responsive_under_a_burst(load: LoadRun) -> None:
    # Not blocking but saturation: the probe waits behind every callback a wave of questions makes
    # ready at once (gateway events, HTTP requests, renders). Bounded, and far below answering on the loop.
    assert load.figures["probes"] > 100, "the probe did not run"
    assert load.figures["worst_lag"] < MAX_SATURATION_SECONDS, load.summary()


def test_memory_stays_flat_from_wave_to_wave(load: LoadRun) -> None:
    # After the first full wave (thread pool, caches), later waves grow the bot by the answers whose
    # buttons are still live (10 minutes), a few MiB, and no more.
    growth = load.memory[-1] - load.memory[1]
    assert growth < MAX_GROWTH_BYTES, load.summary()
