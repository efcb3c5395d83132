"""Secrets and privacy: the token never shows in reprs, errors, logs or crashes; questions log at debug."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest
from pydantic import ValidationError

from bot.cogs.qa import QACog
from bot.config import Settings
from bot.hardening import quiet_discord_loggers, write_private
from bot.launcher import _log_crash, run_discord
from index.filters import SearchFilter
from index.models import Answer, IndexStats, Passage, Source
from tests.conftest import make_settings
from tests.fake_discord import FakeDiscord
from tests.test_cog import invoke

REPO = Path(__file__).resolve().parent.parent
TOKEN = "FAKE-secret-token.MTIzNDU2Nzg5MDEyMzQ1Njc4.must-never-leak"
QUESTION = "how long did the secret zanzibar talks last"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without article-qa settings, with the repository importable from any folder.

    Child processes run in tmp_path, so that no developer's .env in the repository is read.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLE_QA_", "DISCORD_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **extra}


# ---------------------------------------------------------------- settings


def test_the_token_is_masked_in_every_rendering_of_the_settings() -> None:
    settings = make_settings(discord_token=TOKEN)
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == TOKEN
    renderings = [
        repr(settings),
        str(settings),
        f"{settings!r} {settings}",
        repr(settings.discord_token),
        str(settings.discord_token),
        repr(settings.model_dump()),
        settings.model_dump_json(),
        repr(settings.model_copy(update={"top_k": 5})),
        repr(vars(settings)),
    ]
    for text in renderings:
        assert TOKEN not in text and "must-never-leak" not in text, text


def test_a_rejected_setting_does_not_echo_the_token(tmp_path: Path) -> None:
    env = clean_env(ARTICLE_QA_DISCORD_TOKEN=TOKEN, ARTICLE_QA_TOP_K="eleventy", DISCORD_TOKEN=TOKEN)
    with pytest.raises(ValidationError) as info:
        make_settings(top_k="eleventy", discord_token=TOKEN)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    # The command line reports invalid settings in one line, without input values.
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "anything"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "invalid settings" in result.stderr and "ARTICLE_QA_TOP_K" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_a_token_in_a_dotenv_file_is_masked_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(f"ARTICLE_QA_DISCORD_TOKEN={TOKEN}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings) + settings.model_dump_json()


def test_dotenv_is_gitignored_and_the_example_holds_no_token() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for name in (".env", "sub/.env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO, check=False)
        assert ignored.returncode == 0, f"{name} is not gitignored"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    assert ".env" not in tracked.stdout.split()
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    token_lines = [line for line in example.splitlines() if line.split("=")[0].endswith("DISCORD_TOKEN")]
    assert token_lines and all(line.split("=", 1)[1].strip() == "" for line in token_lines)


# ---------------------------------------------------------------- question logging in the cog


class ScriptedService:
    """Answers with one passage, or raises `error`."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def answer(self, question: str, k: int | None = None, filters: SearchFilter | None = None) -> Answer:
        if self.error is not None:
            raise self.error
        text = "The talks lasted four hours."
        return Answer(question, (Passage(text, 1.0, (0, len(text)), (Source("Talks"),)),))

    def stats(self) -> IndexStats:
        raise NotImplementedError

    def publishers(self) -> list[str]:
        return []


class Host:
    def __init__(self, service: ScriptedService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.user = MagicMock(id=111111111111111111)

    async def reload_service(self, *, rebuild: bool) -> IndexStats:
        raise NotImplementedError

    async def is_owner(self, user: Any) -> bool:
        return False

    async def heal_service(self, damaged: Any, damage: Exception) -> Any:
        raise damage


def interaction() -> MagicMock:
    fake = MagicMock()
    fake.user.id = 222222222222222222
    fake.response.defer = AsyncMock()
    fake.response.send_message = AsyncMock()
    fake.followup.send = AsyncMock()
    return fake


def leaks(caplog: pytest.LogCaptureFixture, secret: str) -> list[str]:
    """Records at INFO or above whose message, arguments or traceback contain `secret`."""
    found = []
    for record in caplog.records:
        if record.levelno < logging.INFO:
            continue
        text = record.getMessage() + repr(record.args)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if secret in text:
            found.append(f"{record.levelname}: {record.getMessage()}")
    return found


async def test_an_answered_question_is_not_logged_above_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(index_dir=tmp_path, discord_cooldown_seconds=0)
    cog = QACog(Host(ScriptedService(), settings))
    with caplog.at_level(logging.DEBUG):
        await invoke(QACog.ask, cog, interaction(), question=QUESTION)
    assert not leaks(caplog, "zanzibar")


async def test_a_failed_question_is_not_logged_above_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(index_dir=tmp_path, discord_cooldown_seconds=0)
    cog = QACog(Host(ScriptedService(RuntimeError("engine exploded")), settings))
    with caplog.at_level(logging.DEBUG):
        await invoke(QACog.ask, cog, interaction(), question=QUESTION)
    assert any("engine exploded" in r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert not leaks(caplog, "zanzibar")


def test_the_command_line_does_not_log_questions_at_info(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    env = clean_env(ARTICLE_QA_CORPUS=str(corpus), ARTICLE_QA_INDEX_DIR=str(tmp_path / "index"))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", QUESTION], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "zanzibar" not in result.stderr  # logs; the answer itself goes to stdout


# ---------------------------------------------------------------- the running bot


async def run_bot(tmp_path: Path, fake_or_base: FakeDiscord | str, level: str, seconds: float) -> str:
    """Run `article-qa discord` for a while against a fake (or an address); returns its log."""
    if isinstance(fake_or_base, FakeDiscord):
        api, gateway = fake_or_base.api_base, fake_or_base.gateway_url
    else:
        api, gateway = fake_or_base, "ws://127.0.0.1:9/gateway"
    env = clean_env(
        ARTICLE_QA_DISCORD_TOKEN=TOKEN,
        ARTICLE_QA_DISCORD_API_BASE=api,
        ARTICLE_QA_DISCORD_GATEWAY_URL=gateway,
        ARTICLE_QA_DISCORD_COOLDOWN_SECONDS="0",
        ARTICLE_QA_CORPUS=str(REPO / "corpus"),
        ARTICLE_QA_INDEX_DIR=str(tmp_path / f"index-{level}"),  # each run syncs its commands afresh
        ARTICLE_QA_LOG_LEVEL=level,
    )
    if isinstance(fake_or_base, FakeDiscord):
        env["ARTICLE_QA_DISCORD_GUILD_ID"] = str(fake_or_base.guild_id)
    log_path = tmp_path / f"bot-{level}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "discord", cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log,
        )  # fmt: skip
    try:
        if isinstance(fake_or_base, FakeDiscord):
            await fake_or_base.wait_until_ready(timeout=60)
            sent = await fake_or_base.send_interaction("ask", question=QUESTION)
            await fake_or_base.wait_for_reply(sent)
            mention = await fake_or_base.send_message(f"{fake_or_base.bot_mention} {QUESTION}")
            await fake_or_base.wait_for_reply(mention)
        else:
            for _ in range(int(seconds / 0.05)):
                if "restarting in" in log_path.read_text(encoding="utf-8"):
                    break
                await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return log_path.read_text(encoding="utf-8")


@pytest.mark.slow
async def test_the_running_bot_logs_neither_token_nor_questions(tmp_path: Path) -> None:
    async with FakeDiscord(token=TOKEN) as fake:
        info = await run_bot(tmp_path, fake, "INFO", 30)
    assert "connected to Gateway" in info  # the log was written
    assert TOKEN not in info and "zanzibar" not in info
    async with FakeDiscord(token=TOKEN) as fake:
        debug = await run_bot(tmp_path, fake, "DEBUG", 30)
    assert TOKEN not in debug  # not even in discord.py's debug logs of the gateway traffic


@pytest.mark.slow
async def test_a_crashing_connection_does_not_print_the_token(tmp_path: Path) -> None:
    # Nothing listens on port 9 (discard) of 127.0.0.1 here: logging in fails, and the bot restarts.
    log = await run_bot(tmp_path, "http://127.0.0.1:9/api/v10", "DEBUG", 30)
    assert "restarting in" in log, log[-2000:]
    assert "Traceback" in log  # the crash is logged in full at DEBUG...
    assert TOKEN not in log  # ...without the token


@pytest.mark.slow
async def test_an_unreachable_discord_is_one_clear_line_per_try(tmp_path: Path) -> None:
    log = await run_bot(tmp_path, "http://127.0.0.1:9/api/v10", "INFO", 30)
    assert "Traceback" not in log and TOKEN not in log
    errors = [line for line in log.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, log
    assert errors[0].startswith(
        "ERROR: cannot reach the Discord API: check the network or ARTICLE_QA_DISCORD_API_BASE "
        "(ClientConnectorError: "
    ), errors[0]
    assert errors[0].endswith(" s"), errors[0]  # ... restarting in 5 s


def test_later_tries_say_still_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    error = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)")
    with caplog.at_level(logging.INFO):
        _log_crash(error, 10.0, 1)
        _log_crash(error, 20.0, 2)
        _log_crash(RuntimeError("a bug"), 5.0, 0)
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("cannot reach the Discord API: check the network")
    assert messages[0].endswith("restarting in 10 s")
    assert messages[1].startswith("still cannot reach the Discord API after 2 tries (ConnectionRefusedError")
    assert [r.exc_info is not None for r in caplog.records] == [False, False, True]  # a bug in full


# ---------------------------------------------------------------- the process and its files


@pytest.mark.parametrize("token", ["not-a-bot-token", "Bot abc.def.ghi", "abc.def", "abc..def"])
def test_a_token_of_the_wrong_shape_is_refused_before_connecting(
    token: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(index_dir=tmp_path / "index", discord_token=token)
    with caplog.at_level(logging.DEBUG):
        assert run_discord(settings) == 2
    assert [record.levelname for record in caplog.records if record.levelno >= logging.INFO] == ["ERROR"]
    assert "is not a bot token" in caplog.text and token not in caplog.text
    assert ("'Bot ' prefix" in caplog.text) == token.startswith("Bot ")
    assert not (tmp_path / "index").exists()  # refused before building or connecting


def test_core_dumps_are_disabled_in_the_bot_process() -> None:
    probe = (
        "import ctypes, resource; from bot.hardening import disable_core_dumps; disable_core_dumps(); "
        "print(resource.getrlimit(resource.RLIMIT_CORE), ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"
    )  # prctl 3 is PR_GET_DUMPABLE
    result = subprocess.run([sys.executable, "-c", probe], env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(0,", "0)", "0"]


def test_discord_loggers_stay_at_info_when_the_app_logs_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        quiet_discord_loggers()
        try:
            logging.getLogger("discord.gateway").debug("For Shard ID 0: WebSocket Event: interaction-token-1")
            logging.getLogger("discord.webhook.async_").debug("POST interaction-token-1 has returned 200")
            logging.getLogger("discord.http").debug("POST interactions/1/interaction-token-1/callback")
            logging.getLogger("bot.cogs.qa").debug("the app's own debug lines still show")
        finally:
            for name in (
                "discord.gateway",
                "discord.http",
                "discord.webhook",
                "discord.state",
                "discord.client",
            ):
                logging.getLogger(name).setLevel(logging.NOTSET)
    assert "interaction-token-1" not in caplog.text
    assert "the app's own debug lines still show" in caplog.text


def test_the_command_sync_marker_is_private(tmp_path: Path) -> None:
    marker = tmp_path / "index" / "discord-commands.json"
    marker.parent.mkdir()
    marker.write_text("{}", encoding="utf-8")
    marker.chmod(0o644)  # as an older version left it
    old_umask = os.umask(0o022)
    try:
        write_private(marker, '{"global": "abc"}')
        write_private(tmp_path / "fresh" / "discord-commands.json", "{}")
    finally:
        os.umask(old_umask)
    assert marker.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "fresh" / "discord-commands.json").stat().st_mode & 0o777 == 0o600
    assert marker.read_text(encoding="utf-8") == '{"global": "abc"}'
    assert sorted(p.name for p in marker.parent.iterdir()) == ["discord-commands.json"]
