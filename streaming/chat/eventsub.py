"""Twitch chat through EventSub over WebSocket (what Twitch recommends for chat bots), with Helix for the rest.

``wss://eventsub.wss.twitch.tv/ws`` answers with ``session_welcome`` (a session id and the keepalive timeout).
Within ten seconds the session must be given subscriptions: ``POST /helix/eventsub/subscriptions`` for
``channel.chat.message`` (as the bot, in the broadcaster's chat) and ``channel.follow`` v2 (needs the bot to
be a moderator; refused silently otherwise).  The user ids come from ``GET /helix/users``.  Events arrive as
``notification`` messages; ``session_keepalive`` fills silences, and a silence longer than the keepalive
timeout means the connection is dead.  ``session_reconnect`` names a new URL: we connect there (the
subscriptions move with the session), read both until the new welcome, then close the old one; the overlap
is deduplicated by message id.  A ``revocation`` (token revoked, user banned) is an auth failure.  Replies are
``POST /helix/chat/messages`` with ``reply_parent_message_id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from streaming.chat.connector import ChatAuthError, ChatError, Connector, secret
from streaming.chat.events import ChatEvent, EventError, Kind, clean_text, count_field, iso_time
from streaming.chat.twitch import chat_message

log = logging.getLogger(__name__)

DEFAULT_WS = "wss://eventsub.wss.twitch.tv/ws"
DEFAULT_API = "https://api.twitch.tv"


def event_from(kind: str, event: dict[str, Any], room: str, message_id: str, stamp: Any) -> ChatEvent | None:
    if kind == "channel.chat.message":
        text = clean_text((event.get("message") or {}).get("text"), "message.text")
        base: dict[str, Any] = {"platform": "twitch", "room": room,
                                "id": clean_text(event.get("message_id"), "message_id", 128) or message_id,
                                "user_id": clean_text(event.get("chatter_user_id"), "chatter_user_id", 64),
                                "user": clean_text(event.get("chatter_user_name") or event.get("chatter_user_login"),
                                                   "chatter_user_name", 64),
                                "platform_time": iso_time(stamp)}
        return chat_message(base, text, count_field((event.get("cheer") or {}).get("bits"), "cheer.bits", default=0))
    if kind == "channel.follow":
        return ChatEvent(platform="twitch", room=room, id=message_id,
                         user_id=clean_text(event.get("user_id"), "user_id", 64),
                         user=clean_text(event.get("user_name") or event.get("user_login"), "user_name", 64),
                         kind=Kind.FOLLOW, platform_time=iso_time(event.get("followed_at")))
    return None


class TwitchEventSubConnector(Connector):
    platform = "twitch"  # 500 characters, 20 messages per 30 s: the defaults

    def __init__(self, name: str, deliver: Callable[[ChatEvent], None], *, channel: str, nick: str | None,
                 token_env: str, client_id_env: str | None, environ: Mapping[str, str], url: str | None = None,
                 api_url: str | None = None, **kw: Any) -> None:
        super().__init__(name, channel.lower().lstrip("#"), deliver, **kw)
        self.channel, self.nick = self.room, (nick or "").lower()
        self.token_env, self.client_id_env, self.environ = token_env, client_id_env, environ
        self.url, self.api = url or DEFAULT_WS, (api_url or DEFAULT_API).rstrip("/")
        self.token = self.client_id = ""
        self.broadcaster_id = self.bot_id = ""
        self._http: aiohttp.ClientSession | None = None

    def check(self) -> None:
        env = dict(self.environ)
        self.token = secret(env, self.token_env, f"chat {self.name}: token_env").removeprefix("oauth:")
        self.client_id = secret(env, self.client_id_env, f"chat {self.name}: client_id_env")

    # -- Helix -----------------------------------------------------------------------------------
    async def _helix(self, method: str, path: str, *, params: Any = None, body: dict[str, Any] | None = None) -> Any:
        assert self._http is not None
        headers = {"Authorization": f"Bearer {self.token}", "Client-Id": self.client_id}
        try:
            async with self._http.request(method, self.api + path, params=params, json=body, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=15)) as r:
                answer = await r.json(content_type=None) if r.content_length != 0 else {}
                status = r.status
        except (aiohttp.ClientError, ValueError) as e:
            raise ChatError(f"twitch helix {path}: {e}") from None
        if status in (401, 403):
            message = answer.get("message") if isinstance(answer, dict) else answer
            raise ChatAuthError(f"twitch helix {path}: {status} {message}")
        if status >= 300:
            raise ChatError(f"twitch helix {path}: {status} {answer}")
        return answer

    async def _user_ids(self) -> None:
        if self.broadcaster_id and self.bot_id:
            return
        if not self.nick:  # the token's own account: /helix/users without a login
            me = await self._helix("GET", "/helix/users")
            found = [u.get("login") for u in me.get("data", []) if isinstance(u, dict)]
            if not found:
                raise ChatAuthError("twitch helix /helix/users: the token names no account")
            self.nick = str(found[0])
        answer = await self._helix("GET", "/helix/users", params=[("login", self.channel), ("login", self.nick)])
        ids = {u.get("login"): u.get("id") for u in answer.get("data", []) if isinstance(u, dict)}
        if self.channel not in ids or self.nick not in ids:
            raise ChatAuthError(f"twitch helix /helix/users: no account {self.channel!r} or {self.nick!r}")
        self.broadcaster_id, self.bot_id = str(ids[self.channel]), str(ids[self.nick])

    async def _subscribe(self, session_id: str) -> None:
        transport = {"method": "websocket", "session_id": session_id}
        await self._helix("POST", "/helix/eventsub/subscriptions", body={
            "type": "channel.chat.message", "version": "1", "transport": transport,
            "condition": {"broadcaster_user_id": self.broadcaster_id, "user_id": self.bot_id}})
        try:
            await self._helix("POST", "/helix/eventsub/subscriptions", body={
                "type": "channel.follow", "version": "2", "transport": transport,
                "condition": {"broadcaster_user_id": self.broadcaster_id, "moderator_user_id": self.bot_id}})
        except ChatError as e:  # follows need the bot to be a moderator: chat still works without them
            log.info("chat %s: follows not heard (%s)", self.name, e)

    # -- the WebSocket ---------------------------------------------------------------------------
    async def _welcome(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        async with asyncio.timeout(15):
            msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise ChatError(f"twitch eventsub: closed before the welcome ({msg.type.name})")
        data = json.loads(msg.data)
        if (data.get("metadata") or {}).get("message_type") != "session_welcome":
            raise ChatError("twitch eventsub: the first message was not session_welcome")
        return (data.get("payload") or {}).get("session") or {}

    async def session(self) -> None:
        self.check()
        async with aiohttp.ClientSession() as http:
            self._http = http
            try:
                await self._user_ids()
                try:
                    ws = await http.ws_connect(self.url, heartbeat=None)
                except aiohttp.ClientError as e:
                    raise ChatError(f"twitch eventsub {self.url}: {e}") from None
                session = await self._welcome(ws)
                keepalive = float(session.get("keepalive_timeout_seconds") or 10)
                await self._subscribe(str(session.get("id")))
                self.connected()
                while True:
                    try:
                        msg = await ws.receive(timeout=keepalive + 5)
                    except TimeoutError:
                        raise ChatError(f"twitch eventsub: nothing for {keepalive + 5:.0f} s (keepalive missed)") from None
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        raise ChatError(f"twitch eventsub: connection closed ({msg.type.name}, {ws.close_code})")
                    moved = self._handle(json.loads(msg.data))
                    if moved:
                        new = await http.ws_connect(moved, heartbeat=None)
                        await self._drain_until_welcome(ws, new)
                        ws = new
                        log.info("chat %s: moved to a new eventsub connection", self.name)
            finally:
                self._http = None

    async def _drain_until_welcome(self, old: aiohttp.ClientWebSocketResponse, new: aiohttp.ClientWebSocketResponse) -> None:
        """Read the old connection while the new one welcomes us; then close the old one."""
        welcome = asyncio.create_task(self._welcome(new))
        try:
            while not welcome.done():
                try:
                    msg = await old.receive(timeout=0.2)
                except TimeoutError:
                    continue
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                self._handle(json.loads(msg.data))
            await welcome
        finally:
            if not welcome.done():
                welcome.cancel()
            await old.close()

    def _handle(self, data: dict[str, Any]) -> str | None:
        """One EventSub message; the new URL when it is a session_reconnect."""
        meta, payload = data.get("metadata") or {}, data.get("payload") or {}
        kind = meta.get("message_type")
        if kind == "notification":
            sub = payload.get("subscription") or {}
            try:
                event = event_from(str(sub.get("type")), payload.get("event") or {}, self.room,
                                   str(meta.get("message_id") or ""), meta.get("message_timestamp"))
            except EventError as e:
                self.reject("malformed", str(e)[:200])
                return None
            if event is not None:
                self.emit(event)
        elif kind == "session_reconnect":
            return str(((payload.get("session") or {}).get("reconnect_url")) or "") or None
        elif kind == "revocation":
            sub = payload.get("subscription") or {}
            raise ChatAuthError(f"twitch eventsub: subscription {sub.get('type')} revoked ({sub.get('status')})")
        return None

    async def post(self, text: str, to: ChatEvent | None) -> None:
        if self._http is None:
            raise ChatError("twitch eventsub: not connected")
        body: dict[str, Any] = {"broadcaster_id": self.broadcaster_id, "sender_id": self.bot_id, "message": text}
        if to is not None and to.platform == "twitch":
            body["reply_parent_message_id"] = to.id
        answer = await self._helix("POST", "/helix/chat/messages", body=body)
        sent = (answer.get("data") or [{}])[0] if isinstance(answer, dict) else {}
        if sent.get("is_sent") is False:
            reason = (sent.get("drop_reason") or {}).get("message", "dropped")
            raise ChatError(f"twitch: the message was not sent ({reason})")
