"""How fast the running bot acknowledges a burst of simultaneous /ask, against the fake Discord on 127.0.0.1.

    python -m benchmarks.discord_burst --asks 1000 --articles 800
    python -m benchmarks.discord_burst --asks 1000 --code /tmp/older-checkout   # another version's bot/

Starts `python -m bot discord` (from this checkout, or the one given by --code) against the fake Discord of
tests/fake_discord.py, sends --asks /ask interactions at once from as many users, and reports how long
each took to be acknowledged (Discord drops any not acknowledged within 3 s), how many were answered or
refused as busy, and when the last reply arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.concurrency import questions_from, write_corpus
from tests.bot_process import BOT_COMMAND, bot_env, until_ready
from tests.fake_discord import FakeDiscord

ROOT = Path(__file__).resolve().parents[1]

TOKEN = "FAKE-burst-token.MTIzNDU2Nzg5MDEyMzQ1Njc4.benchmark"
DEADLINE = 3.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def burst(args: argparse.Namespace, workdir: Path) -> None:
    texts = write_corpus(workdir / "corpus", args.articles, seed=3)
    questions = questions_from(texts, args.asks, seed=3)
    async with FakeDiscord(token=TOKEN) as fake:
        env = bot_env(fake, workdir, TOKEN, workdir / "corpus")
        env["PYTHONPATH"] = str(args.code)
        with (workdir / "bot.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *BOT_COMMAND, cwd=workdir, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log,
            )  # fmt: skip
        try:
            await until_ready(fake, process, workdir, timeout=300)
            warm = await fake.send_interaction("ask", question=questions[0])
            await fake.wait_for_reply(warm, timeout=60)
            users = [fake.make_user(f"burst-{i}") for i in range(args.asks)]
            first_reply = len(fake.replies)
            started = time.monotonic()
            sent = await asyncio.gather(
                *(
                    fake.send_interaction("ask", question=q, user=u)
                    for q, u in zip(questions, users, strict=True)
                )
            )
            dispatched = time.monotonic() - started
            deadline = time.monotonic() + args.timeout
            while len(fake.replies) - first_reply < args.asks and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            last_reply = time.monotonic() - started
        finally:
            process.terminate()
            await process.wait()
    replies = {r.interaction_token: r for r in fake.replies[first_reply:]}
    delays = [i.ack_delays[0] for i in sent if i.ack_delays]
    deferred = sum(1 for i in sent if i.acks[:1] == [5])
    refused = sum(1 for i in sent if i.acks[:1] == [4])
    answered = sum(1 for i in sent if i.acks[:1] == [5] and i.token in replies)
    print(
        f"{args.asks} /ask at once (dispatched in {dispatched:.2f} s), corpus of {args.articles} articles, "
        f"bot from {args.code}"
    )
    if delays:
        print(
            f"acks: {len(delays)} of {args.asks}; after dispatch p50 {statistics.median(delays):.2f} s, "
            f"p95 {percentile(delays, 0.95):.2f} s, max {max(delays):.2f} s; "
            f"{sum(d > DEADLINE for d in delays)} later than {DEADLINE:.0f} s"
        )
    print(
        f"deferred {deferred}, answered {answered}, refused at once {refused}, "
        f"no reply {args.asks - len(replies)}; last reply {last_reply:.1f} s after the burst began"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--asks", type=int, default=1000, help="simultaneous /ask (default 1000)")
    parser.add_argument("--articles", type=int, default=800, help="articles in the corpus (default 800)")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose bot runs (default: this)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for every reply")
    args = parser.parse_args()
    args.code = args.code.resolve()
    with tempfile.TemporaryDirectory(prefix="article-qa-burst-") as tmp:
        asyncio.run(burst(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
