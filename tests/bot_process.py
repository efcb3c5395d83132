"""Start `article-qa discord` as a child process pointed at the fake Discord, the way a user runs it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.fake_discord import FakeDiscord

REPO = Path(__file__).resolve().parent.parent
BOT_COMMAND = ("-m", "bot", "discord")


def bot_env(fake: FakeDiscord, tmp_path: Path, token: str, corpus: Path, **settings: str) -> dict[str, str]:
    """The environment of a bot that talks only to `fake`; the caller's own settings never leak in."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLE_QA_", "DISCORD_"))}
    return {
        **inherited,
        "PYTHONPATH": str(REPO),
        "ARTICLE_QA_DISCORD_TOKEN": token,
        "ARTICLE_QA_DISCORD_API_BASE": fake.api_base,
        "ARTICLE_QA_DISCORD_GATEWAY_URL": fake.gateway_url,
        "ARTICLE_QA_DISCORD_GUILD_ID": str(fake.guild_id),
        "ARTICLE_QA_DISCORD_COOLDOWN_SECONDS": "0",
        "ARTICLE_QA_CORPUS": str(corpus),
        "ARTICLE_QA_INDEX_DIR": str(tmp_path / "index"),
        **{f"ARTICLE_QA_{name.upper()}": value for name, value in settings.items()},
    }


async def until_ready(
    fake: FakeDiscord,
    process: asyncio.subprocess.Process,
    tmp_path: Path,
    shards: list[int] | None = None,
    timeout: float = 60,
) -> None:
    """Wait for the bot to connect; fail at once, with its output, if it exits instead."""
    ready = asyncio.ensure_future(fake.wait_until_ready(shards, timeout=timeout))
    exited = asyncio.ensure_future(process.wait())
    await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
    exited.cancel()
    if not ready.done():
        ready.cancel()
        output = (tmp_path / "bot.log").read_text(encoding="utf-8")
        pytest.fail(f"the bot exited with code {process.returncode} before connecting:\n{output[-3000:]}")
    ready.result()


@asynccontextmanager
async def start_bot(
    fake: FakeDiscord,
    tmp_path: Path,
    token: str,
    *,
    corpus: Path = REPO / "corpus",
    command: Sequence[str] = BOT_COMMAND,
    ready_timeout: float | None = 60,
    stop_timeout: float | None = None,
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run the bot until the block ends; its output goes to tmp_path/bot.log (a file: a full pipe
    would block it). It runs in tmp_path, so a developer's own `.env` never applies.

    ready_timeout: wait for the bot to connect first (None: the test waits, or expects a failure).
    stop_timeout: at the end, stop it with SIGTERM and assert it exits cleanly, code 0, in this time.
    """
    env = bot_env(fake, tmp_path, token, corpus, **(settings or {}))
    with (tmp_path / "bot.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command, cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log,
        )  # fmt: skip
    try:
        if ready_timeout is not None:
            await until_ready(fake, process, tmp_path, timeout=ready_timeout)
        yield process
        if stop_timeout is not None:
            assert process.returncode is None, "the bot died"
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), stop_timeout) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
