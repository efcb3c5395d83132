"""Network faults between the bot and the (fake) Discord: the bot reconnects, retries and keeps answering.

Gateway: dropped connections (resumed), refused resumes (identified again), a gateway that is down for a
while (retried with backoff), a question in flight while the connection drops. REST: 429s (per route and
global) and retried 5xx are waited out; a reply that fails for good is logged in one line, not fatal.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import web

from bot.cogs.qa import NOT_DELIVERED
from tests.bot_process import start_bot
from tests.fake_discord import FakeDiscord, Interaction, Reply

TOKEN = "FAKE-faults-token.MTIzNDU2Nzg5MDEyMzQ1Njc4.never-log-me"
QUESTION = "how long did the talks last"
FOLLOWUP = r"webhooks/\d+/[^/]+"  # followup messages: how /ask answers after deferring
CALLBACK = r"interactions/\d+/[^/]+/callback"  # the deferral itself
CHANNEL_MESSAGE = r"channels/\d+/messages"  # replies to mentions

pytestmark = pytest.mark.slow


class FlakyGateway(FakeDiscord):
    """The fake Discord, with a gateway that can forget sessions and refuse connections for a while."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.refuse_connections = 0  # answer this many websocket upgrades with 503
        self.refused = 0

    def forget_sessions(self) -> None:
        """Make the next RESUME fail (INVALID_SESSION), as after a long outage."""
        self._known_sessions.clear()

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        if self.refuse_connections > 0:
            self.refuse_connections -= 1
            self.refused += 1
            raise web.HTTPServiceUnavailable(text="gateway unavailable")
        return await super()._gateway(request)


def assert_answered(reply: Reply) -> None:
    assert "four hours" in reply.text()
    assert reply.payload["allowed_mentions"] == {"parse": []}


async def ask(fake: FakeDiscord, *, timeout: float = 15.0) -> Reply:
    """Ask by /ask and wait for the answer."""
    interaction = await fake.send_interaction("ask", question=QUESTION)
    reply = await fake.wait_for_reply(interaction, timeout=timeout)
    assert_answered(reply)
    return reply


def statuses(fake: FakeDiscord, interaction: Interaction, pattern: str) -> list[int]:
    """The statuses the fake answered to the bot's calls for `interaction` on routes like `pattern`."""
    return [r.status for r in fake.requests if interaction.token in r.path and re.fullmatch(pattern, r.path)]


async def test_gateway_disconnects_are_survived_and_the_next_question_is_answered(tmp_path: Path) -> None:
    async with FlakyGateway(token=TOKEN) as fake, start_bot(fake, tmp_path, TOKEN, stop_timeout=15):
        await ask(fake)

        # A question in flight when the connection drops is still answered (replies go over REST).
        interaction = await fake.send_interaction("ask", question=QUESTION)
        await fake.drop_gateway()
        assert_answered(await fake.wait_for_reply(interaction, timeout=15))

        # Five drops in a row (unknown error, and a server-side normal close), each resumed.
        for code in (4000, 1000, 4000, 1001, 4000):
            await fake.wait_until_ready()
            await fake.drop_gateway(code=code)
            await ask(fake)
        assert fake.resumes == 6 and len(fake.identifies) == 1

        # A resume the gateway refuses (INVALID_SESSION): the bot identifies again.
        await fake.wait_until_ready()
        fake.forget_sessions()
        await fake.drop_gateway()
        await ask(fake, timeout=30)
        assert len(fake.identifies) == 2

        # The gateway down for a while: the bot retries with backoff until it is back.
        await fake.wait_until_ready()
        fake.forget_sessions()
        fake.refuse_connections = 2
        await fake.drop_gateway()
        await fake.wait_until_ready(timeout=60)
        await ask(fake)
        assert fake.refused == 2 and len(fake.identifies) == 3

        # Mentions still work after all that.
        mention = await fake.send_message(f"{fake.bot_mention} {QUESTION}")
        assert_answered(await fake.wait_for_reply(mention, timeout=15))
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert TOKEN not in log


async def test_rest_rate_limits_and_server_errors_are_retried_or_logged_not_fatal(tmp_path: Path) -> None:
    async with FakeDiscord(token=TOKEN) as fake, start_bot(fake, tmp_path, TOKEN, stop_timeout=15):
        await ask(fake)

        # Rate limits on the answer, per route (twice) and global: waited out, then answered.
        fake.fail("POST", FOLLOWUP, status=429, times=2, retry_after=0.2)
        limited = await fake.send_interaction("ask", question=QUESTION)
        assert_answered(await fake.wait_for_reply(limited, timeout=15))
        assert statuses(fake, limited, FOLLOWUP) == [429, 429, 200]
        fake.fail("POST", FOLLOWUP, status=429, retry_after=0.2, is_global=True)
        limited = await fake.send_interaction("ask", question=QUESTION)
        assert_answered(await fake.wait_for_reply(limited, timeout=15))
        assert statuses(fake, limited, FOLLOWUP) == [429, 200]

        # Server errors: retried, then answered.
        for status in (500, 502, 503):
            fake.fail("POST", FOLLOWUP, status=status)
            flaky = await fake.send_interaction("ask", question=QUESTION)
            assert_answered(await fake.wait_for_reply(flaky, timeout=15))
            assert statuses(fake, flaky, FOLLOWUP) == [status, 200]
        fake.fail("POST", CALLBACK, status=500)  # the deferral itself fails once
        deferred = await fake.send_interaction("ask", question=QUESTION)
        assert_answered(await fake.wait_for_reply(deferred, timeout=15))
        assert statuses(fake, deferred, CALLBACK) == [500, 200]

        # Failures that are not retried (a bad request, 403, 404): logged, the "thinking..." the user sees
        # becomes a short error instead of spinning forever (as after a persistent 5xx, whose retries take
        # discord.py 25 s: see test_discord_limits), and the bot carries on.
        for status in (400, 403, 404):
            fake.fail("POST", FOLLOWUP, status=status)
            lost = await fake.send_interaction("ask", question=QUESTION)
            apology = await fake.wait_for_reply(lost, timeout=15)
            assert apology.kind == "edit" and apology.payload["content"] == NOT_DELIVERED
            assert statuses(fake, lost, FOLLOWUP) == [status]
            await ask(fake)

        # The same for replies to mentions: 429 and 502 are waited out; 403 and 503 (which discord.py does
        # not retry outside webhooks) are logged.
        for status in (429, 502):
            fake.fail("POST", CHANNEL_MESSAGE, status=status, retry_after=0.2)
            mention = await fake.send_message(f"{fake.bot_mention} {QUESTION}")
            assert_answered(await fake.wait_for_reply(mention, timeout=15))
        for status in (403, 503):
            fake.fail("POST", CHANNEL_MESSAGE, status=status)
            lost_mention = await fake.send_message(f"{fake.bot_mention} {QUESTION}")
            with pytest.raises(TimeoutError):
                await fake.wait_for_reply(lost_mention, timeout=1.5)
            mention = await fake.send_message(f"{fake.bot_mention} {QUESTION}")
            assert_answered(await fake.wait_for_reply(mention, timeout=15))

    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    failures = [line for line in log.splitlines() if line.startswith("ERROR")]
    assert sum("could not send the answer" in line for line in failures) == 3, failures
    assert sum("could not reply to message" in line for line in failures) == 2, failures
    assert len(failures) == 5, failures  # one line per failed reply, nothing else
    assert "Traceback" not in log and TOKEN not in log
