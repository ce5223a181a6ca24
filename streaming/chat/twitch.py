"""Twitch chat over IRC on a WebSocket (``wss://irc-ws.chat.twitch.tv:443``), with IRCv3 tags.

Login: ``CAP REQ :twitch.tv/tags twitch.tv/commands``, ``PASS oauth:<token>``, ``NICK <nick>``, ``JOIN
#<channel>``; the server's ``001`` welcomes us, a ``NOTICE`` "Login authentication failed" refuses the token.
``PING`` is answered with ``PONG``.  ``RECONNECT`` means the server is going away: a new connection is opened
and joined before the old one is drained and closed, so no message is lost (the overlap is deduplicated by
each message's ``id`` tag).  ``PRIVMSG`` is a comment (with ``bits``, a cheer: also a gift); ``USERNOTICE``
subscriptions and gifted subscriptions are gifts.  Replies are ``PRIVMSG`` with a ``reply-parent-msg-id``
tag, at most 20 in 30 s (a normal account's limit) and 500 characters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from streaming.chat.connector import ChatAuthError, ChatError, Connector, secret
from streaming.chat.events import ChatEvent, Kind, clean_text, count_field, time_field

log = logging.getLogger(__name__)

DEFAULT_URL = "wss://irc-ws.chat.twitch.tv:443"
_UNESCAPE = {"s": " ", ":": ";", "\\": "\\", "r": "\r", "n": "\n"}
SUB_KINDS = {"sub", "resub", "subgift", "submysterygift", "giftpaidupgrade"}


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(_UNESCAPE.get(value[i + 1], value[i + 1]))
            i += 2
            continue
        if c != "\\":
            out.append(c)
        i += 1
    return "".join(out)


def parse_line(line: str) -> tuple[dict[str, str], str, str, list[str]]:
    """One IRC line as (tags, prefix nick, command, params with the trailing one last)."""
    tags: dict[str, str] = {}
    rest = line.rstrip("\r\n")
    if rest.startswith("@"):
        raw, _, rest = rest[1:].partition(" ")
        for item in raw.split(";"):
            k, _, v = item.partition("=")
            tags[k] = _unescape(v)
    nick = ""
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
        nick = prefix.split("!", 1)[0]
    head, sep, trailing = rest.partition(" :")
    parts = head.split()
    command, params = (parts[0] if parts else ""), parts[1:]
    if sep:
        params.append(trailing)
    return tags, nick, command, params


def chat_message(base: dict[str, Any], text: str, bits: int) -> ChatEvent | None:
    """A chat message (IRC or EventSub): a cheer with bits is a gift (100 bits = 1 USD), else a comment."""
    if bits:
        return ChatEvent(**base, kind=Kind.GIFT, text=text, gift="bits", count=bits, value=bits / 100, currency="USD")
    return ChatEvent(**base, kind=Kind.COMMENT, text=text) if text else None


def event_from(tags: dict[str, str], nick: str, command: str, params: list[str], room: str) -> ChatEvent | None:
    """The chat event an IRC message carries, or None for one that is not a viewer's."""
    user = clean_text(tags.get("display-name") or nick, "display-name", 64) or nick
    base: dict[str, Any] = {"platform": "twitch", "room": room, "id": tags.get("id", ""),
                            "user_id": tags.get("user-id", nick), "user": user,
                            "platform_time": time_field(tags.get("tmi-sent-ts"), "tmi-sent-ts")}
    if not base["id"]:
        return None
    if command == "PRIVMSG" and len(params) >= 2:
        text = clean_text(params[-1], "text")
        return chat_message(base, text, count_field(tags.get("bits"), "bits", default=0))
    if command == "USERNOTICE" and tags.get("msg-id") in SUB_KINDS:
        count = count_field(tags.get("msg-param-mass-gift-count"), "msg-param-mass-gift-count", default=1)
        text = clean_text(params[-1], "text") if len(params) >= 2 else ""
        return ChatEvent(**base, kind=Kind.GIFT, text=text, gift="subscription", count=count)
    return None


class TwitchIrcConnector(Connector):
    platform = "twitch"  # 500 characters, 20 messages per 30 s: the defaults

    def __init__(self, name: str, deliver: Callable[[ChatEvent], None], *, channel: str, nick: str | None,
                 token_env: str, environ: Mapping[str, str], url: str | None = None, **kw: Any) -> None:
        super().__init__(name, channel.lower().lstrip("#"), deliver, **kw)
        self.channel, self.nick, self.token_env, self.environ = self.room, (nick or "").lower(), token_env, environ
        self.url = url or DEFAULT_URL
        self.token = ""
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    def check(self) -> None:
        token = secret(dict(self.environ), self.token_env, f"chat {self.name}: token_env")
        self.token = token.removeprefix("oauth:")
        if not self.nick:
            raise ValueError(f"chat {self.name}: nick: the bot account's login is needed for IRC")

    async def _open(self, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        """A connection that is logged in and has joined the channel."""
        try:
            ws = await http.ws_connect(self.url, heartbeat=None, autoping=True)
        except aiohttp.ClientError as e:
            raise ChatError(f"twitch irc {self.url}: {e}") from None
        await ws.send_str("CAP REQ :twitch.tv/tags twitch.tv/commands")
        await ws.send_str(f"PASS oauth:{self.token}")
        await ws.send_str(f"NICK {self.nick}")
        async with asyncio.timeout(15):
            while True:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    raise ChatError(f"twitch irc: closed while logging in ({msg.type.name})")
                for line in msg.data.splitlines():
                    tags, nick, command, params = parse_line(line)
                    if command == "PING":
                        await ws.send_str(f"PONG :{params[-1] if params else 'tmi.twitch.tv'}")
                    elif command == "NOTICE" and params and "authentication failed" in params[-1].lower():
                        await ws.close()
                        raise ChatAuthError(f"twitch irc: {params[-1]} (check {self.token_env} and nick)")
                    elif command == "NOTICE" and params and "improperly formatted auth" in params[-1].lower():
                        await ws.close()
                        raise ChatAuthError(f"twitch irc: {params[-1]}")
                    elif command == "001":
                        await ws.send_str(f"JOIN #{self.channel}")
                    elif command == "JOIN" and nick.lower() == self.nick:
                        return ws

    async def session(self) -> None:
        self.check()
        async with aiohttp.ClientSession() as http:
            ws = await self._open(http)
            self._ws = ws
            self.connected()
            try:
                while True:
                    msg = await ws.receive(timeout=360)  # Twitch PINGs about every 5 minutes
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        raise ChatError(f"twitch irc: connection closed ({msg.type.name})")
                    moved = await self._lines(ws, msg.data)
                    if moved:
                        new = await self._open(http)  # join the new server first, then drain the old one
                        await self._drain(ws)
                        ws = self._ws = new
                        log.info("chat %s: moved to a new twitch connection", self.name)
            finally:
                self._ws = None
                await ws.close()

    async def _lines(self, ws: aiohttp.ClientWebSocketResponse, data: str) -> bool:
        """Handle a message's lines; True when the server asked us to reconnect."""
        moved = False
        for line in data.splitlines():
            tags, nick, command, params = parse_line(line)
            if command == "PING":
                await ws.send_str(f"PONG :{params[-1] if params else 'tmi.twitch.tv'}")
            elif command == "RECONNECT":
                moved = True
            elif command in ("PRIVMSG", "USERNOTICE"):
                try:
                    event = event_from(tags, nick, command, params, self.room)
                except ValueError as e:
                    self.reject("malformed", str(e)[:200])
                    continue
                if event is not None:
                    self.emit(event)
        return moved

    async def _drain(self, ws: aiohttp.ClientWebSocketResponse, seconds: float = 2.0) -> None:
        try:
            async with asyncio.timeout(seconds):
                while True:
                    msg = await ws.receive()
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        return
                    await self._lines(ws, msg.data)
        except TimeoutError:
            pass
        finally:
            await ws.close()

    async def post(self, text: str, to: ChatEvent | None) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ChatError("twitch irc: not connected")
        text = " ".join(text.split())
        tag = f"@reply-parent-msg-id={to.id} " if to is not None and to.platform == "twitch" else ""
        await ws.send_str(f"{tag}PRIVMSG #{self.channel} :{text}")
