"""A small fake Discord on 127.0.0.1 (REST + gateway) for running the real discord.py client in tests.

    async with FakeDiscord(token="...") as fake:
        start the bot with ARTICLE_QA_DISCORD_API_BASE=fake.api_base, _GATEWAY_URL=fake.gateway_url
        await fake.wait_until_ready()
        interaction = await fake.send_interaction("ask", question="how long did the talks last")
        reply = await fake.wait_for_reply(interaction)        # the JSON the bot sent back
        message = await fake.send_message(f"{fake.bot_mention} how long did the talks last")
        reply = await fake.wait_for_reply(message)
        fake.fail("POST", r"webhooks/.*", status=429)          # fault injection for the next matching call
        await fake.drop_gateway()                              # the bot must resume and keep answering

It speaks just enough of the API for discord.py 2.x: what login, command sync, the gateway handshake,
interaction responses, followups and message replies need. Known quirks it honours: REST replies carry
`Content-Type: application/json` exactly (discord.py compares the header verbatim), gateway frames are
plain-text JSON although the client asks for zlib-stream, READY's `resume_gateway_url` points back here,
and 429 answers carry the `Via` header without which discord.py takes them for a Cloudflare ban.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import WSMsgType, web

JSON = dict[str, Any]
ReplyKind = Literal["callback", "followup", "edit", "message"]

DISCORD_EPOCH_MS = 1_420_070_400_000
OPTION_TYPES = {str: 3, int: 4, bool: 5, float: 10}


class _Snowflakes:
    """Deterministic, realistically sized ids (raw_mentions only matches 15-20 digit ids)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._base = (1_700_000_000_000 - DISCORD_EPOCH_MS) << 22

    def __call__(self) -> int:
        return self._base + (next(self._counter) << 12)


@dataclass
class Request:
    """One REST call the client made (the Authorization header is never kept)."""

    method: str
    path: str  # relative to the API base, e.g. "users/@me"
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Reply:
    """A message the bot sent in answer to an interaction or a message."""

    kind: ReplyKind
    payload: JSON  # the JSON the bot sent: message fields (content, embeds, allowed_mentions, ...)
    message: JSON  # the message object the fake created from it, as returned to the bot
    interaction_token: str | None = None
    reference_id: int | None = None  # the message replied to

    def text(self) -> str:
        """Content and every embed string, for assertions."""
        parts = [self.payload.get("content") or ""]
        for embed in self.payload.get("embeds") or []:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields") or []]
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(parts)

    def button(self, label: str) -> str:
        """The custom_id of the button labelled `label`."""
        for row in self.message.get("components") or []:
            for component in row.get("components") or []:
                if component.get("label") == label:
                    return str(component["custom_id"])
        raise KeyError(f"no button labelled {label!r} in {self.message.get('components')}")


@dataclass
class Interaction:
    """An interaction the fake sent through the gateway."""

    id: int
    token: str
    payload: JSON
    acks: list[int] = field(default_factory=list)  # callback types received: 5 = deferred, 4 = message
    original: JSON | None = None  # the response message (a deferred one starts as "thinking...")
    sent_at: float = 0.0  # time.monotonic() when the fake dispatched it
    ack_delays: list[float] = field(default_factory=list)  # seconds from dispatch to each callback


@dataclass
class Fault:
    """Answer the next `times` calls matching `method` and `path` with `status` instead."""

    method: str
    path: re.Pattern[str]
    status: int
    times: int
    retry_after: float
    is_global: bool


@dataclass
class _Session:
    ws: web.WebSocketResponse
    shard: tuple[int, int] = (0, 1)
    session_id: str = ""
    seq: int = 0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class FakeDiscord:
    """An aiohttp app serving /api/v10/* and a /gateway websocket on 127.0.0.1 at a random port."""

    def __init__(
        self, *, token: str = "fake-token", shard_count: int = 1, session_starts: int = 1000
    ) -> None:
        self.token = token
        self.shard_count = shard_count
        self.session_starts_remaining = session_starts
        self._ids = _Snowflakes()
        self.application_id = self._ids()
        self.bot_user: JSON = self.make_user("article-qa", bot=True, user_id=self.application_id)
        self.owner: JSON = self.make_user("owner")
        self.user: JSON = self.make_user("asker")
        self.guild_id = self._ids()
        self.channel_id = self._ids()
        self.dm_channel_id = self._ids()

        self.requests: list[Request] = []
        self.replies: list[Reply] = []
        self.interactions: dict[str, Interaction] = {}
        self.messages: dict[int, JSON] = {}
        self.commands: dict[int | None, list[JSON]] = {}  # guild id (None: global) -> synced commands
        self.identifies: list[JSON] = []  # IDENTIFY payloads, token removed
        self.resumes = 0
        self._faults: list[Fault] = []
        self._sessions: dict[int, _Session] = {}  # shard id -> live connection
        self._known_sessions: dict[str, _Session] = {}  # session id -> last state, for RESUME
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        app.router.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])  # port 0: the OS picked a free one
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for session in list(self._sessions.values()):
            await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    @property
    def bot_mention(self) -> str:
        return f"<@{self.bot_id}>"

    # -- driving the bot ------------------------------------------------------------------------

    async def wait_until_ready(self, shards: list[int] | None = None, timeout: float = 30.0) -> None:
        """Until every shard (or those listed) has identified and been sent READY and its guilds."""
        wanted = set(range(self.shard_count) if shards is None else shards)
        await self._wait_for(
            lambda: wanted <= set(self._ready_shards()), timeout, f"READY on shards {wanted}"
        )

    async def send_interaction(
        self, command: str = "ask", *, user: JSON | None = None, dm: bool = False, **options: Any
    ) -> Interaction:
        """Dispatch INTERACTION_CREATE for a slash command the bot synced, with `options` as its values."""
        synced = self.commands.get(self.guild_id, []) + self.commands.get(None, [])
        spec = next((c for c in synced if c["name"] == command), None)
        if spec is None:
            raise KeyError(f"/{command} was never synced; synced: {[c['name'] for c in synced]}")
        types = {o["name"]: o["type"] for o in spec.get("options", [])}
        data: JSON = {
            "id": spec["id"],
            "name": command,
            "type": 1,
            "options": [
                {"name": name, "type": types.get(name, OPTION_TYPES[type(value)]), "value": value}
                for name, value in options.items()
            ],
        }
        if spec.get("guild_id"):
            data["guild_id"] = spec["guild_id"]
        return await self._interact(2, data, user=user, dm=dm)

    async def click(self, reply: Reply, label: str, *, user: JSON | None = None) -> Interaction:
        """Press the button labelled `label` under the message of `reply`."""
        data = {"custom_id": reply.button(label), "component_type": 2}
        dm = reply.message.get("channel_id") == str(self.dm_channel_id)
        return await self._interact(3, data, user=user, dm=dm, message=reply.message)

    async def send_message(
        self, content: str, *, user: JSON | None = None, dm: bool = False, channel_id: int | None = None
    ) -> JSON:
        """Dispatch MESSAGE_CREATE from a user, in the guild channel (or `channel_id`) or in a DM."""
        author = user or self.user
        mentioned = [self.bot_user] if self.bot_mention in content or f"<@!{self.bot_id}>" in content else []
        channel = channel_id or (self.dm_channel_id if dm else self.channel_id)
        message: JSON = {
            **self._message_base(channel),
            "author": author,
            "content": content,
            "mentions": mentioned,
        }
        if not dm:
            message["guild_id"] = str(self.guild_id)
            message["member"] = self._member(author, with_user=False)
        self.messages[int(message["id"])] = message
        await self._dispatch(self.shard_of(None if dm else self.guild_id), "MESSAGE_CREATE", message)
        return message

    async def wait_for_reply(self, to: Interaction | JSON, *, timeout: float = 10.0, skip: int = 0) -> Reply:
        """The first reply (after `skip` earlier ones) to an interaction or a message."""

        def matches() -> list[Reply]:
            if isinstance(to, Interaction):
                return [r for r in self.replies if r.interaction_token == to.token]
            return [r for r in self.replies if r.reference_id == int(to["id"])]

        await self._wait_for(lambda: len(matches()) > skip, timeout, f"a reply to {to!r:.80}")
        return matches()[skip]

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
    ) -> Fault:
        """Answer the next `times` REST calls matching `method` and the `path` regex with `status`."""
        fault = Fault(method.upper(), re.compile(path), status, times, retry_after, is_global)
        self._faults.append(fault)
        return fault

    async def drop_gateway(self, shard_id: int = 0, *, code: int = 4000) -> None:
        """Close a shard's websocket with `code`; discord.py resumes after 4000 (unknown error)."""
        session = self._sessions.pop(shard_id)
        await session.ws.close(code=code)

    def new_channel_id(self) -> int:
        """An id for another text channel of the guild (the bot sees it as a partial channel)."""
        return self._ids()

    # -- REST -----------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        body: Any = None
        if request.can_read_body:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                body = json.loads(str(form.get("payload_json") or "{}"))
            else:
                text = await request.text()
                body = json.loads(text) if text else None
        record = Request(request.method, path, dict(request.query), body)
        self.requests.append(record)
        response = self._fault(request.method, path) or await self._route(request, path, body)
        record.status = response.status
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _route(self, request: web.Request, path: str, body: Any) -> web.Response:
        method = request.method
        interaction_route = path.startswith(("interactions/", "webhooks/"))  # authorised by their token
        if not interaction_route and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for pattern, route_method, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                try:
                    result = handler(body, *match.groups())
                except KeyError as err:  # an unknown interaction token or message id
                    return _json({"message": f"404: Unknown ({err})", "code": 10008}, status=404)
                return web.Response(status=204) if result is None else _json(result)
        return _json({"message": f"404: Not Found ({method} {path})", "code": 0}, status=404)

    def _routes(self) -> list[tuple[str, str, Callable[..., JSON | list[JSON] | None]]]:
        app = str(self.application_id)
        return [
            ("users/@me", "GET", lambda _: self.bot_user),
            ("oauth2/applications/@me", "GET", lambda _: self._application()),
            ("gateway", "GET", lambda _: {"url": self.gateway_url}),
            ("gateway/bot", "GET", lambda _: self._gateway_bot()),
            (f"applications/{app}/commands", "PUT", lambda body: self._sync(None, body)),
            (f"applications/{app}/commands", "GET", lambda _: self.commands.get(None, [])),
            (rf"applications/{app}/guilds/(\d+)/commands", "PUT", lambda body, g: self._sync(int(g), body)),
            (rf"applications/{app}/guilds/(\d+)/commands", "GET", lambda _, g: self.commands.get(int(g), [])),
            (r"interactions/(\d+)/([^/]+)/callback", "POST", self._callback),
            (rf"webhooks/{app}/([^/]+)", "POST", self._followup),
            (rf"webhooks/{app}/([^/]+)/messages/(@original|\d+)", "PATCH", self._edit_webhook_message),
            (rf"webhooks/{app}/([^/]+)/messages/(@original|\d+)", "GET", self._get_webhook_message),
            (rf"webhooks/{app}/([^/]+)/messages/(@original|\d+)", "DELETE", lambda *_: None),
            (r"channels/(\d+)/messages", "POST", self._create_message),
            (r"channels/(\d+)/messages/(\d+)", "PATCH", self._edit_message),
            (r"channels/(\d+)/typing", "POST", lambda *_: None),
        ]

    def _fault(self, method: str, path: str) -> web.Response | None:
        for fault in self._faults:
            if fault.times > 0 and fault.method == method and fault.path.fullmatch(path):
                fault.times -= 1
                if fault.status != 429:
                    return _json(
                        {"message": f"{fault.status}: injected failure", "code": 0}, status=fault.status
                    )
                headers = {
                    "Via": "1.1 google",  # discord.py treats a 429 without it as a Cloudflare ban
                    "Retry-After": str(max(1, round(fault.retry_after))),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(fault.retry_after),
                    "X-RateLimit-Bucket": "fake-bucket",
                    "X-RateLimit-Scope": "global" if fault.is_global else "user",
                }
                if fault.is_global:
                    headers["X-RateLimit-Global"] = "true"
                payload = {
                    "message": "You are being rate limited.",
                    "retry_after": fault.retry_after,
                    "global": fault.is_global,
                }
                return _json(payload, status=429, headers=headers)
        return None

    def _application(self) -> JSON:
        return {
            "id": str(self.application_id),
            "name": "article-qa",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner,
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
        }

    def _gateway_bot(self) -> JSON:
        return {
            "url": self.gateway_url,
            "shards": self.shard_count,
            "session_start_limit": {
                "total": 1000,
                "remaining": self.session_starts_remaining,
                "reset_after": 3_600_000,
                "max_concurrency": 1,
            },
        }

    def _sync(self, guild_id: int | None, body: list[JSON]) -> list[JSON]:
        synced = []
        for command in body:
            spec = {**command, "id": str(self._ids()), "application_id": str(self.application_id)}
            spec["version"] = str(self._ids())
            if guild_id is not None:
                spec["guild_id"] = str(guild_id)
            synced.append(spec)
        self.commands[guild_id] = synced
        return synced

    def _callback(self, body: JSON, interaction_id: str, token: str) -> JSON:
        interaction = self.interactions[token]
        kind = int(body["type"])
        interaction.acks.append(kind)
        interaction.ack_delays.append(time.monotonic() - interaction.sent_at)
        data = body.get("data") or {}
        result: JSON = {
            "interaction": {
                "id": interaction_id,
                "type": interaction.payload["type"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
            }
        }
        if kind in (4, 5):  # a message, or "thinking..." that followups and edits replace
            message = self._new_message(self._channel_of(interaction), data, webhook=True)
            if kind == 5:
                message["flags"] = int(message["flags"]) | 128  # LOADING
            interaction.original = self.messages[int(message["id"])] = message
        elif kind == 7:  # update the message the button is under
            original = interaction.payload["message"]
            message = {**original, **self._message_fields(data), "edited_timestamp": _now()}
            self.messages[int(message["id"])] = message
        else:
            return result
        result["interaction"]["response_message_id"] = message["id"]
        result["resource"] = {"type": kind, "message": message}
        if kind != 5:
            self._record(Reply("callback" if kind == 4 else "edit", data, message, interaction_token=token))
        return result

    def _followup(self, body: JSON, token: str) -> JSON:
        interaction = self.interactions[token]
        message = self._new_message(self._channel_of(interaction), body, webhook=True)
        self.messages[int(message["id"])] = message
        self._record(Reply("followup", body, message, interaction_token=token))
        return message

    def _webhook_message(self, token: str, message_id: str) -> JSON:
        interaction = self.interactions[token]
        if message_id != "@original":
            return self.messages[int(message_id)]
        if interaction.original is None:
            raise KeyError(f"interaction {token} has no response message yet")
        return interaction.original

    def _edit_webhook_message(self, body: JSON, token: str, message_id: str) -> JSON:
        message = {**self._webhook_message(token, message_id), **self._message_fields(body)}
        message["edited_timestamp"] = _now()
        self.messages[int(message["id"])] = message
        if message_id == "@original":
            self.interactions[token].original = message
        self._record(Reply("edit", body, message, interaction_token=token))
        return message

    def _get_webhook_message(self, _body: None, token: str, message_id: str) -> JSON:
        return self._webhook_message(token, message_id)

    def _create_message(self, body: JSON, channel_id: str) -> JSON:
        message = self._new_message(int(channel_id), body, webhook=False)
        reference = body.get("message_reference") or {}
        if reference:
            message["message_reference"] = reference
            message["type"] = 19  # a reply
        self.messages[int(message["id"])] = message
        reference_id = int(reference["message_id"]) if reference.get("message_id") else None
        self._record(Reply("message", body, message, reference_id=reference_id))
        return message

    def _edit_message(self, body: JSON, _channel_id: str, message_id: str) -> JSON:
        message = {**self.messages[int(message_id)], **self._message_fields(body), "edited_timestamp": _now()}
        self.messages[int(message_id)] = message
        reference = message.get("message_reference") or {}
        reference_id = int(reference["message_id"]) if reference.get("message_id") else None
        self._record(Reply("edit", body, message, reference_id=reference_id))
        return message

    def _record(self, reply: Reply) -> None:
        self.replies.append(reply)  # _rest notifies waiters once the response is ready

    # -- gateway --------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = _Session(ws)
        # discord.py asks for zlib-stream compression but reads plain text frames too.
        await self._send(session, {"op": 10, "d": {"heartbeat_interval": 41_250}, "s": None, "t": None})
        try:
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._on_op(session, json.loads(frame.data))
        finally:
            if self._sessions.get(session.shard[0]) is session:
                del self._sessions[session.shard[0]]
            async with self._changed:
                self._changed.notify_all()
        return ws

    async def _on_op(self, session: _Session, message: JSON) -> None:
        op = message.get("op")
        data: JSON = message.get("d") or {}
        if op == 1:  # heartbeat
            await self._send(session, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:  # identify
            if data.get("token") != self.token:
                await session.ws.close(code=4004, message=b"Authentication failed.")
                return
            self.identifies.append({k: v for k, v in data.items() if k != "token"})
            self.session_starts_remaining -= 1
            shard = data.get("shard") or [0, 1]
            session.shard = (int(shard[0]), int(shard[1]))
            session.session_id = f"session-{self._ids()}"
            self._sessions[session.shard[0]] = session
            self._known_sessions[session.session_id] = session
            await self._dispatch_to(session, "READY", self._ready(session))
            if session.shard[0] == self.shard_of(self.guild_id):
                await self._dispatch_to(session, "GUILD_CREATE", self._guild())
        elif op == 6:  # resume
            previous = self._known_sessions.get(data.get("session_id", ""))
            if data.get("token") != self.token or previous is None:
                await self._send(session, {"op": 9, "d": False, "s": None, "t": None})  # invalid session
                return
            self.resumes += 1
            session.shard, session.session_id, session.seq = previous.shard, previous.session_id, previous.seq
            self._sessions[session.shard[0]] = session
            self._known_sessions[session.session_id] = session
            await self._dispatch_to(session, "RESUMED", {})
        async with self._changed:
            self._changed.notify_all()

    async def _dispatch(self, shard_id: int, event: str, data: JSON) -> None:
        session = self._sessions.get(shard_id)
        if session is None:
            await self._wait_for(lambda: shard_id in self._sessions, 10.0, f"shard {shard_id} to connect")
            session = self._sessions[shard_id]
        await self._dispatch_to(session, event, data)

    async def _dispatch_to(self, session: _Session, event: str, data: JSON) -> None:
        session.seq += 1
        await self._send(session, {"op": 0, "t": event, "s": session.seq, "d": data})

    async def _send(self, session: _Session, payload: JSON) -> None:
        async with session.send_lock:  # many concurrent interactions share one websocket
            await session.ws.send_str(json.dumps(payload))

    def _ready(self, session: _Session) -> JSON:
        guilds = [{"id": str(self.guild_id), "unavailable": True}]
        return {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False},
            "guilds": guilds if session.shard[0] == self.shard_of(self.guild_id) else [],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,  # must point here, or a resume leaves the fake
            "shard": list(session.shard),
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }

    def shard_of(self, guild_id: int | None) -> int:
        """The shard that receives a guild's events (DMs go to shard 0), as Discord computes it."""
        return 0 if guild_id is None else (guild_id >> 22) % self.shard_count

    def _ready_shards(self) -> list[int]:
        return [shard for shard, session in self._sessions.items() if session.seq >= 1]

    # -- payload builders -----------------------------------------------------------------------

    def make_user(self, name: str, *, bot: bool = False, user_id: int | None = None) -> JSON:
        """A user payload with a fresh id, e.g. to ask as someone else (cooldowns are per user)."""
        return {
            "id": str(user_id or self._ids()),
            "username": name,
            "global_name": name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }

    def _member(self, user: JSON, *, with_user: bool = True) -> JSON:
        member: JSON = {
            "roles": [],
            "joined_at": _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str((1 << 41) - 1),
        }
        if with_user:
            member["user"] = user
        return member

    def _channel(self) -> JSON:
        return {
            "id": str(self.channel_id),
            "type": 0,
            "name": "general",
            "position": 0,
            "guild_id": str(self.guild_id),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }

    def _guild(self) -> JSON:
        everyone = {
            "id": str(self.guild_id),
            "name": "@everyone",
            "permissions": str((1 << 41) - 1),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(self.guild_id),
            "name": "Fake Guild",
            "owner_id": self.owner["id"],
            "unavailable": False,
            "large": False,
            "member_count": 3,
            "roles": [everyone],
            "channels": [self._channel()],
            "members": [self._member(self.bot_user)],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": _now(),
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
            "system_channel_flags": 0,
        }

    async def _interact(
        self, kind: int, data: JSON, *, user: JSON | None, dm: bool, message: JSON | None = None
    ) -> Interaction:
        interaction_id = self._ids()
        token = f"interaction-token-{interaction_id}"
        who = user or self.user
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "locale": "en-US",
            "app_permissions": str((1 << 41) - 1),
            "entitlements": [],
            "attachment_size_limit": 8 * 1024 * 1024,
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 1 if dm else 0,
        }
        if dm:
            payload["user"] = who
            payload["channel"] = {"id": str(self.dm_channel_id), "type": 1, "recipients": [who]}
            payload["channel_id"] = str(self.dm_channel_id)
        else:
            payload["guild_id"] = str(self.guild_id)
            payload["guild_locale"] = "en-US"
            payload["member"] = self._member(who)
            payload["channel"] = self._channel()
            payload["channel_id"] = str(self.channel_id)
        if message is not None:
            payload["message"] = message
        interaction = Interaction(interaction_id, token, payload, sent_at=time.monotonic())
        self.interactions[token] = interaction
        await self._dispatch(self.shard_of(None if dm else self.guild_id), "INTERACTION_CREATE", payload)
        return interaction

    def _channel_of(self, interaction: Interaction) -> int:
        return int(interaction.payload["channel_id"])

    def _message_base(self, channel_id: int) -> JSON:
        return {
            "id": str(self._ids()),
            "channel_id": str(channel_id),
            "type": 0,
            "content": "",
            "author": self.bot_user,
            "embeds": [],
            "components": [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "flags": 0,
            "timestamp": _now(),
            "edited_timestamp": None,
        }

    def _new_message(self, channel_id: int, body: JSON, *, webhook: bool) -> JSON:
        message = {**self._message_base(channel_id), **self._message_fields(body)}
        if webhook:
            message["webhook_id"] = str(self.application_id)
        if channel_id == self.channel_id:
            message["guild_id"] = str(self.guild_id)
        return message

    @staticmethod
    def _message_fields(body: JSON) -> JSON:
        return {key: body[key] for key in ("content", "embeds", "components", "flags") if key in body}

    async def wait_until(self, predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Wait until `predicate()` holds, re-checked whenever a request, reply or connection arrives."""
        await self._wait_for(predicate, timeout, what)

    async def _wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError(f"fake Discord: no {what} within {timeout} s") from None


def _json(payload: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares Content-Type verbatim: web.json_response would append "; charset=utf-8".
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
