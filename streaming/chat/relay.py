"""Relays: any bridge (Kuaishou, Taobao Live, TikTok LIVE tools, your own) pushes events to us.

- :class:`WebhookConnector` listens for HTTP POSTs; each body is signed with HMAC-SHA256 under a shared
  secret, the hex digest in ``X-Livehost-Signature: sha256=<hex>``.  Unsigned or wrongly signed bodies get
  401 and are counted; they never reach triage.
- :class:`WebSocketConnector` speaks JSON over a WebSocket, either connecting to the relay (``url``) or
  accepting the relay's connection (``listen``); with a secret, the connection carries
  ``Authorization: Bearer <secret>``.  Replies go back on the same socket as ``{"type": "reply", ...}``.

An event is one JSON object (a body may hold a list of them, a WebSocket message one per line)::

    {"id": "m1", "kind": "comment", "user": "小鱼", "user_id": "u1", "text": "多少钱", "time": 1795000000}
    {"id": "m2", "kind": "gift", "user": "阿杰", "gift": "小心心", "count": 3, "value": 0.3, "currency": "CNY"}
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from streaming.chat.connector import ChatAuthError, ChatError, Connector, secret
from streaming.chat.events import ChatEvent, EventError, Kind, clean_text, count_field, money_field, time_field

MAX_BODY = 256 * 1024
MAX_EVENTS = 500  # in one body or message
SIGNATURE_HEADER = "X-Livehost-Signature"


def sign(body: bytes, key: str) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def parse_event(data: Any, platform: str, room: str, received: float | None = None) -> ChatEvent:
    """A relayed event from its JSON form; :class:`EventError` naming the field and value."""
    if not isinstance(data, dict):
        raise EventError(f"event: {str(data)[:80]!r}: expected an object")
    raw_kind = data.get("kind", "comment")
    try:
        kind = Kind(raw_kind)
    except ValueError:
        raise EventError(f"kind: {str(raw_kind)[:40]!r}: expected one of {', '.join(k.value for k in Kind)}") from None
    event_id = clean_text(data.get("id"), "id", 128)
    if not event_id:
        raise EventError("id: missing (every event needs the platform's id, to drop resent ones)")
    user = clean_text(data.get("user"), "user", 64)
    text = clean_text(data.get("text"), "text")
    if kind in (Kind.COMMENT, Kind.SUPERCHAT) and not text:
        raise EventError(f"text: missing for a {kind.value}")
    extra: dict[str, Any] = {} if received is None else {"received": received}
    return ChatEvent(platform=clean_text(data.get("platform"), "platform", 32) or platform,
                     room=clean_text(data.get("room"), "room", 64) or room, id=event_id,
                     user_id=clean_text(data.get("user_id"), "user_id", 128) or user, user=user or "viewer", kind=kind,
                     text=text, gift=clean_text(data.get("gift"), "gift", 64), count=count_field(data.get("count"), "count"),
                     value=money_field(data.get("value"), "value"), currency=clean_text(data.get("currency"), "currency", 8),
                     platform_time=time_field(data.get("time"), "time"), **extra)


def parse_listen(value: str, field: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{field}: {value!r}: expected HOST:PORT")
    return host or "127.0.0.1", int(port)


class PushServer:
    """An aiohttp server for one connector's route, started and stopped with its session."""

    def __init__(self, listen: str, field: str) -> None:
        self.host, self.port = parse_listen(listen, field)
        self.app = web.Application(client_max_size=MAX_BODY)
        self._runner: web.AppRunner | None = None

    async def serve_until_cancelled(self, on_up: Callable[[], None]) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        try:
            site = web.TCPSite(self._runner, self.host, self.port)
            try:
                await site.start()
            except OSError as e:
                raise ChatError(f"cannot listen on {self.host}:{self.port}: {e.strerror or e}") from None
            on_up()
            await asyncio.Event().wait()
        finally:
            await self._runner.cleanup()


class PushConnector(Connector):
    """A room the platform pushes to: signed POSTs to ``path`` on ``listen``, verified with the secret in
    ``secret_env`` by :meth:`_push`."""

    default_listen, default_path, default_room = "127.0.0.1:8781", "/chat/push", "relay"

    def __init__(self, name: str, deliver: Callable[[ChatEvent], None], *, secret_env: str, environ: Mapping[str, str],
                 listen: str | None = None, path: str | None = None, room: str | None = None, **kw: Any) -> None:
        super().__init__(name, room or self.default_room, deliver, **kw)
        self.secret_env, self.environ = secret_env, environ
        self.listen, self.path = listen or self.default_listen, path or self.default_path
        self.key = ""

    def check(self) -> None:
        self.key = secret(dict(self.environ), self.secret_env, f"chat {self.name}: secret_env")
        parse_listen(self.listen, f"chat {self.name}: listen")

    async def session(self) -> None:
        self.check()
        server = PushServer(self.listen, f"chat {self.name}: listen")
        server.app.router.add_post(self.path, self._push)
        await server.serve_until_cancelled(self.connected)

    async def _push(self, request: web.Request) -> web.Response:
        raise NotImplementedError


class WebhookConnector(PushConnector):
    platform = "webhook"
    default_listen, default_path, default_room = "127.0.0.1:8781", "/chat/webhook", "relay"

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not given or not hmac.compare_digest(given, sign(body, self.key)):
            self.reject("bad signature", f"from {request.remote}")
            return web.json_response({"error": f"{SIGNATURE_HEADER}: missing or wrong"}, status=401)
        return accept_json(self, body)


def accept_json(connector: Connector, body: bytes) -> web.Response:
    """Events from a verified body: 200 with how many were new, or 400 naming the bad field (nothing taken)."""
    try:
        data = json.loads(body)
        items = data if isinstance(data, list) else [data]
        if len(items) > MAX_EVENTS:
            raise EventError(f"events: {len(items)} in one body; at most {MAX_EVENTS}")
        events = [parse_event(item, connector.platform, connector.room) for item in items]
    except (ValueError, RecursionError) as e:
        connector.reject("malformed", str(e)[:200])
        return web.json_response({"error": str(e)[:300]}, status=400)
    new = sum(connector.emit(e) for e in events)
    return web.json_response({"accepted": new, "duplicates": len(events) - new})


class WebSocketConnector(Connector):
    platform = "websocket"

    def __init__(self, name: str, deliver: Callable[[ChatEvent], None], *, environ: Mapping[str, str],
                 url: str | None = None, listen: str | None = None, path: str = "/chat/ws", secret_env: str | None = None,
                 room: str = "relay", **kw: Any) -> None:
        super().__init__(name, room, deliver, **kw)
        self.url, self.listen, self.path, self.secret_env, self.environ = url, listen, path, secret_env, environ
        self.key: str | None = None
        self._peer: aiohttp.ClientWebSocketResponse | web.WebSocketResponse | None = None

    def check(self) -> None:
        if (self.url is None) == (self.listen is None):
            raise ValueError(f"chat {self.name}: give url (livehost connects) or listen (the relay connects), not both")
        if self.secret_env:
            self.key = secret(dict(self.environ), self.secret_env, f"chat {self.name}: secret_env")
        if self.listen:
            parse_listen(self.listen, f"chat {self.name}: listen")

    async def session(self) -> None:
        self.check()
        if self.url:
            headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
            async with aiohttp.ClientSession() as http:
                try:
                    ws = await http.ws_connect(self.url, headers=headers, heartbeat=30.0, max_msg_size=MAX_BODY)
                except aiohttp.WSServerHandshakeError as e:
                    if e.status in (401, 403):
                        raise ChatAuthError(f"websocket {self.url}: refused ({e.status} {e.message})") from None
                    raise ChatError(f"websocket {self.url}: {e.status} {e.message}") from None
                except aiohttp.ClientError as e:
                    raise ChatError(f"websocket {self.url}: {e}") from None
                self.connected()
                await self._read(ws)
            return
        assert self.listen is not None
        server = PushServer(self.listen, f"chat {self.name}: listen")
        server.app.router.add_get(self.path, self._accept)
        await server.serve_until_cancelled(self.connected)

    async def _accept(self, request: web.Request) -> web.StreamResponse:
        if self.key and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {self.key}"):
            self.reject("bad token", f"from {request.remote}")
            return web.json_response({"error": "Authorization: missing or wrong"}, status=401)
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_BODY)
        await ws.prepare(request)
        await self._read(ws)
        return ws

    async def _read(self, ws: aiohttp.ClientWebSocketResponse | web.WebSocketResponse) -> None:
        self._peer = ws
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    for line in msg.data.splitlines()[:MAX_EVENTS]:
                        if not line.strip():
                            continue
                        try:
                            self.emit(parse_event(json.loads(line), self.platform, self.room))
                        except (ValueError, RecursionError) as e:
                            self.reject("malformed", str(e)[:200])
                            await ws.send_json({"type": "error", "error": str(e)[:300]})
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    raise ChatError(f"websocket: {ws.exception()}")
        finally:
            if self._peer is ws:
                self._peer = None

    async def post(self, text: str, to: ChatEvent | None) -> None:
        peer = self._peer
        if peer is None or peer.closed:
            raise ChatError("websocket: no relay connected")
        await peer.send_json({"type": "reply", "text": text, "to": to.id if to else None,
                              "user": to.user if to else None})
