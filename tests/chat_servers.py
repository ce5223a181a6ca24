"""Local servers that speak the chat platforms' documented protocols, for the connector tests.

- :class:`TwitchIrcServer`: Twitch chat's IRC over WebSocket: the CAP/PASS/NICK login with ``001`` or the
  "Login authentication failed" NOTICE, JOIN, PING/PONG, PRIVMSG with IRCv3 tags, RECONNECT.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import WSMsgType, web


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\:").replace(" ", "\\s")


class LocalServer:
    """An aiohttp app on a free local port, started and stopped by the test."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self):
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close_sockets(self) -> None:
        """Close the server's open WebSockets (each server knows its own)."""

    async def stop(self) -> None:
        await self.close_sockets()
        if self.runner is not None:
            await self.runner.cleanup()


class TwitchIrcServer(LocalServer):
    def __init__(self, token: str = "goodtoken") -> None:
        self.token = token
        super().__init__()
        self.app.router.add_get("/", self._ws)
        self.sockets: list[web.WebSocketResponse] = []  # joined connections, oldest first
        self.lines: list[str] = []  # everything clients sent
        self.replies: list[str] = []  # PRIVMSG lines from clients
        self.logins = 0
        self.refused = 0
        self.pongs = 0
        self.joined = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def close_sockets(self) -> None:
        for ws in list(self.sockets):
            await ws.close()

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        password = nick = ""
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                for line in msg.data.splitlines():
                    self.lines.append(line)
                    if line.startswith("PASS "):
                        password = line[5:].removeprefix("oauth:")
                    elif line.startswith("NICK "):
                        nick = line[5:]
                        if password != self.token:
                            self.refused += 1
                            await ws.send_str(":tmi.twitch.tv NOTICE * :Login authentication failed")
                            await ws.close()
                            return ws
                        self.logins += 1
                        await ws.send_str(f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!")
                    elif line.startswith("JOIN "):
                        await ws.send_str(f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {line[5:]}")
                        self.sockets.append(ws)
                        self.joined.set()
                    elif line.startswith("PONG"):
                        self.pongs += 1
                    elif "PRIVMSG" in line:
                        self.replies.append(line)
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    def privmsg_line(self, msg_id: str, user: str, text: str, *, bits: int = 0, channel: str = "myshop") -> str:
        tags = {"id": msg_id, "display-name": user, "user-id": f"u-{user}", "tmi-sent-ts": str(int(time.time() * 1000))}
        if bits:
            tags["bits"] = str(bits)
        raw = ";".join(f"{k}={_escape(v)}" for k, v in tags.items())
        login = user.lower()
        return f"@{raw} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}"

    async def say(self, msg_id: str, user: str, text: str, *, bits: int = 0, to: web.WebSocketResponse | None = None) -> None:
        ws = to or self.sockets[-1]
        await ws.send_str(self.privmsg_line(msg_id, user, text, bits=bits))

    async def ping(self) -> None:
        await self.sockets[-1].send_str("PING :tmi.twitch.tv")

    async def move(self, then_on_old: list[tuple[str, str, str]]) -> None:
        """RECONNECT on the newest connection; wait for the client's next JOIN; send ``then_on_old`` on the old one
        (and, as the platform may, the same again on the new one), then close the old one."""
        old = self.sockets[-1]
        joins = len(self.sockets)
        await old.send_str(":tmi.twitch.tv RECONNECT")
        async with asyncio.timeout(15):
            while len(self.sockets) <= joins or self.sockets[-1] is old:
                await asyncio.sleep(0.05)
        new = self.sockets[-1]
        for msg_id, user, text in then_on_old:
            await self.say(msg_id, user, text, to=old)
            await self.say(msg_id, user, text, to=new)
        await asyncio.sleep(0.3)
        with contextlib.suppress(Exception):
            await old.close()


class BilibiliOpenLive(LocalServer):
    """Bilibili's open live platform: the signed HTTP game API (start / heartbeat / end) and the binary WebSocket
    (16-byte headers; auth, heartbeat, messages as JSON or zlib / brotli packets).  Signatures are checked here
    from the documented rule, written apart from the connector's code."""

    def __init__(self, key_id: str = "ak1", key_secret: str = "sk1", code: str = "CODE1") -> None:
        self.key_id, self.key_secret, self.code = key_id, key_secret, code
        super().__init__()
        self.app.router.add_post("/v2/app/start", self._start)
        self.app.router.add_post("/v2/app/heartbeat", self._heartbeat)
        self.app.router.add_post("/v2/app/end", self._end)
        self.app.router.add_get("/sub", self._ws)
        self.starts = self.ends = self.heartbeats = self.ws_heartbeats = self.bad_signatures = 0
        self.games: list[str] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.authed = asyncio.Event()

    async def close_sockets(self) -> None:
        for ws in list(self.sockets):
            await ws.close()

    def _signed(self, request: web.Request, body: bytes) -> bool:
        import hashlib
        import hmac

        h = {k.lower(): v for k, v in request.headers.items()}
        names = sorted(k for k in h if k.startswith("x-bili-"))
        lines = "\n".join(f"{k}:{h[k]}" for k in names)
        want = hmac.new(self.key_secret.encode(), lines.encode(), hashlib.sha256).hexdigest()
        return (h.get("x-bili-accesskeyid") == self.key_id and h.get("authorization") == want
                and h.get("x-bili-content-md5") == hashlib.md5(body).hexdigest()
                and len(names) == 6 and h.get("x-bili-signature-method") == "HMAC-SHA256")

    async def _body(self, request: web.Request) -> tuple[dict | None, web.Response | None]:
        import json

        body = await request.read()
        if not self._signed(request, body):
            self.bad_signatures += 1
            return None, web.json_response({"code": 4003, "message": "签名错误", "data": {}})
        return json.loads(body), None

    async def _start(self, request: web.Request) -> web.Response:
        data, refused = await self._body(request)
        if refused is not None:
            return refused
        assert data is not None
        if data.get("code") != self.code:
            return web.json_response({"code": 7007, "message": "身份码错误", "data": {}})
        if self.games:
            return web.json_response({"code": 7002, "message": "房间重复游戏", "data": {}})
        self.starts += 1
        game = f"game-{self.starts}"
        self.games.append(game)
        return web.json_response({"code": 0, "message": "0", "data": {
            "game_info": {"game_id": game},
            "websocket_info": {"auth_body": f'{{"game":"{game}"}}', "wss_link": [f"ws://127.0.0.1:{self.port}/sub"]},
            "anchor_info": {"room_id": 7777, "uname": "店铺", "open_id": "anchor"}}})

    async def _heartbeat(self, request: web.Request) -> web.Response:
        data, refused = await self._body(request)
        if refused is not None:
            return refused
        assert data is not None
        self.heartbeats += 1
        ok = data.get("game_id") in self.games
        return web.json_response({"code": 0 if ok else 7003, "message": "" if ok else "心跳过期或GameId错误", "data": {}})

    async def _end(self, request: web.Request) -> web.Response:
        data, refused = await self._body(request)
        if refused is not None:
            return refused
        assert data is not None
        if data.get("game_id") in self.games:
            self.games.remove(data["game_id"])
            self.ends += 1
        return web.json_response({"code": 0, "message": "0", "data": {}})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        import json
        import struct

        ws = web.WebSocketResponse()
        await ws.prepare(request)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.BINARY:
                    break
                length, header, _, op, _ = struct.unpack(">IHHII", msg.data[:16])
                body = msg.data[header:length]
                if op == 7:
                    ok = json.loads(body).get("game") in self.games
                    await ws.send_bytes(self.packet(8, json.dumps({"code": 0 if ok else -101}).encode(), 1))
                    if ok:
                        self.sockets.append(ws)
                        self.authed.set()
                elif op == 2:
                    self.ws_heartbeats += 1
                    await ws.send_bytes(self.packet(3, (1).to_bytes(4, "big"), 1))
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    @staticmethod
    def packet(op: int, body: bytes, version: int) -> bytes:
        import struct

        return struct.pack(">IHHII", 16 + len(body), 16, version, op, 1) + body

    async def push(self, messages: list[dict], version: int = 0) -> None:
        """Messages to the newest socket: one packet each (version 0), or all in one compressed packet (2: zlib,
        3: brotli)."""
        import json
        import zlib

        import brotli

        inner = b"".join(self.packet(5, json.dumps(m, ensure_ascii=False).encode(), 0) for m in messages)
        if version == 0:
            await self.sockets[-1].send_bytes(inner)
            return
        packed = zlib.compress(inner) if version == 2 else brotli.compress(inner)
        await self.sockets[-1].send_bytes(self.packet(5, packed, version))

    async def drop(self) -> None:
        await self.sockets[-1].close()


class YouTubeLiveChat(LocalServer):
    """The YouTube Data API's live chat endpoints and Google's OAuth token endpoint: refresh-token grant,
    ``liveBroadcasts.list`` (active), ``liveChatMessages.list`` with page tokens and ``pollingIntervalMillis``,
    ``liveChatMessages.insert``, a quota error on demand, a server error on demand."""

    def __init__(self, refresh_token: str = "rt-good") -> None:
        self.refresh_token = refresh_token
        super().__init__()
        self.app.router.add_post("/token", self._token)
        self.app.router.add_get("/youtube/v3/liveBroadcasts", self._broadcasts)
        self.app.router.add_get("/youtube/v3/liveChat/messages", self._list)
        self.app.router.add_post("/youtube/v3/liveChat/messages", self._insert)
        self.messages: list[dict] = []
        self.inserted: list[dict] = []
        self.tokens_issued = 0
        self.lists = 0
        self.page_tokens: list[str | None] = []
        self.quota_exhausted = False
        self.fail_next = 0  # answer this many list calls with a 503


    def add(self, msg_id: str, user: str, text: str, kind: str = "textMessageEvent", **details) -> None:
        snippet = {"type": kind, "liveChatId": "chat-1", "publishedAt": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                   "displayMessage": text}
        if kind == "textMessageEvent":
            snippet["textMessageDetails"] = {"messageText": text}
        if kind == "superChatEvent":
            snippet["superChatDetails"] = {"userComment": text, **details}
        self.messages.append({"kind": "youtube#liveChatMessage", "id": msg_id, "snippet": snippet,
                              "authorDetails": {"channelId": f"UC-{user}", "displayName": user}})

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "").startswith("Bearer at-")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return web.json_response({"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                                     status=400)
        self.tokens_issued += 1
        return web.json_response({"access_token": f"at-{self.tokens_issued}", "expires_in": 3599, "token_type": "Bearer"})

    async def _broadcasts(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": {"code": 401, "message": "Invalid Credentials"}}, status=401)
        assert request.query.get("broadcastStatus") == "active"
        return web.json_response({"items": [{"id": "b1", "snippet": {"title": "shop live", "liveChatId": "chat-1"}}]})

    async def _list(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": {"code": 401, "message": "Invalid Credentials"}}, status=401)
        self.lists += 1
        if self.quota_exhausted:
            return web.json_response({"error": {"code": 403, "message": "The request cannot be completed because you "
                                                 "have exceeded your quota.",
                                                 "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}]}},
                                     status=403)
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"error": {"code": 503, "message": "backend error"}}, status=503)
        token = request.query.get("pageToken")
        self.page_tokens.append(token)
        start = int(token) if token else 0
        return web.json_response({"kind": "youtube#liveChatMessageListResponse", "pollingIntervalMillis": 200,
                                  "nextPageToken": str(len(self.messages)), "items": self.messages[start:]})

    async def _insert(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": {"code": 401, "message": "Invalid Credentials"}}, status=401)
        body = await request.json()
        self.inserted.append(body)
        return web.json_response({"id": f"ins-{len(self.inserted)}", **body})


class TwitchEventSub(LocalServer):
    """Twitch EventSub over WebSocket plus the Helix endpoints a chat bot uses: ``session_welcome``,
    keepalives, ``notification`` for subscribed types, ``session_reconnect`` to a second URL, ``revocation``;
    ``GET /helix/users``, ``POST /helix/eventsub/subscriptions`` (checked against a live session),
    ``POST /helix/chat/messages``."""

    def __init__(self, token: str = "goodtoken", client_id: str = "cid") -> None:
        self.token, self.client_id = token, client_id
        super().__init__()
        self.app.router.add_get("/ws", self._ws)
        self.app.router.add_get("/helix/users", self._users)
        self.app.router.add_post("/helix/eventsub/subscriptions", self._subscribe)
        self.app.router.add_post("/helix/chat/messages", self._send)
        self.sessions: dict[str, web.WebSocketResponse] = {}  # session id -> socket, newest last
        self.subscriptions: list[dict] = []
        self.sent: list[dict] = []
        self.welcomed = asyncio.Event()
        self.keepalive = 2
        self._n = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close_sockets(self) -> None:
        for ws in list(self.sessions.values()):
            await ws.close()

    @staticmethod
    def _message(kind: str, payload: dict, msg_id: str | None = None, sub_type: str | None = None) -> str:
        import json
        import uuid

        meta = {"message_id": msg_id or str(uuid.uuid4()), "message_type": kind,
                "message_timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.123456789Z", time.gmtime())}
        if sub_type:
            meta |= {"subscription_type": sub_type, "subscription_version": "1"}
        return json.dumps({"metadata": meta, "payload": payload})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._n += 1
        session = f"session-{self._n}"
        self.sessions[session] = ws
        await ws.send_str(self._message("session_welcome", {"session": {
            "id": session, "status": "connected", "keepalive_timeout_seconds": self.keepalive, "reconnect_url": None}}))
        self.welcomed.set()
        try:
            while not ws.closed:
                try:
                    msg = await ws.receive(timeout=self.keepalive * 0.5)
                except TimeoutError:
                    await ws.send_str(self._message("session_keepalive", {}))
                    continue
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        finally:
            self.sessions.pop(session, None)
        return ws

    def _ok(self, request: web.Request) -> bool:
        return (request.headers.get("Authorization") == f"Bearer {self.token}"
                and request.headers.get("Client-Id") == self.client_id)

    async def _users(self, request: web.Request) -> web.Response:
        if not self._ok(request):
            return web.json_response({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}, status=401)
        ids = {"myshop": "1001", "myshop_bot": "2002"}
        logins = request.query.getall("login", []) or ["myshop_bot"]  # no login: the token's own account
        return web.json_response({"data": [{"id": ids[n], "login": n} for n in logins if n in ids]})

    async def _subscribe(self, request: web.Request) -> web.Response:
        if not self._ok(request):
            return web.json_response({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}, status=401)
        body = await request.json()
        if body["transport"]["session_id"] not in self.sessions:
            return web.json_response({"error": "Bad Request", "status": 400, "message": "websocket transport session does "
                                      "not exist or has already disconnected"}, status=400)
        self.subscriptions.append(body)
        return web.json_response({"data": [{"id": f"sub-{len(self.subscriptions)}", "status": "enabled", **body}]},
                                 status=202)

    async def _send(self, request: web.Request) -> web.Response:
        if not self._ok(request):
            return web.json_response({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}, status=401)
        self.sent.append(await request.json())
        return web.json_response({"data": [{"message_id": f"sent-{len(self.sent)}", "is_sent": True, "drop_reason": None}]})

    async def chat(self, message_id: str, user: str, text: str, *, bits: int = 0, session: str | None = None) -> None:
        ws = self.sessions[session] if session else list(self.sessions.values())[-1]
        event = {"broadcaster_user_id": "1001", "broadcaster_user_login": "myshop", "chatter_user_id": f"u-{user}",
                 "chatter_user_login": user.lower(), "chatter_user_name": user, "message_id": message_id,
                 "message": {"text": text, "fragments": [{"type": "text", "text": text}]}, "message_type": "text",
                 "cheer": {"bits": bits} if bits else None}
        await ws.send_str(self._message("notification", {"subscription": {"type": "channel.chat.message", "version": "1"},
                                                         "event": event}, sub_type="channel.chat.message"))

    async def move(self, then: list[tuple[str, str, str]]) -> None:
        """``session_reconnect`` to a new URL; ``then`` sent on the old session (and again on the new) meanwhile."""
        old_id, old = list(self.sessions.items())[-1]
        count = len(self.sessions)
        await old.send_str(self._message("session_reconnect", {"session": {
            "id": old_id, "status": "reconnecting", "reconnect_url": f"{self.url}?reconnect=1"}}))
        async with asyncio.timeout(10):
            while len(self.sessions) <= count - 0 and list(self.sessions)[-1] == old_id:
                await asyncio.sleep(0.02)
        new_id = list(self.sessions)[-1]
        for msg_id, user, text in then:
            await self.chat(msg_id, user, text, session=old_id)
            await self.chat(msg_id, user, text, session=new_id)

    async def revoke(self) -> None:
        ws = list(self.sessions.values())[-1]
        await ws.send_str(self._message("revocation", {"subscription": {"type": "channel.chat.message",
                                                                        "status": "authorization_revoked"}}))
