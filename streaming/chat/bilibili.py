"""Bilibili's open live platform (直播开放平台, 互动玩法): a game session over signed HTTP, events over a binary
WebSocket.

HTTP (``https://live-open.biliapi.com``): ``/v2/app/start`` with the streamer's identity code and the app id
returns the game id, the WebSocket addresses and the auth body; ``/v2/app/heartbeat`` keeps the game alive
(every 20 s, or the platform ends it); ``/v2/app/end`` ends it when we stop.  Every request is signed: the
``x-bili-*`` headers (access key id, MD5 of the body, HMAC-SHA256, a nonce, version 1.0, a timestamp), sorted
by name as ``name:value`` lines, HMAC-SHA256 under the access key secret, hex, in ``Authorization``.  A
non-zero ``code`` in an answer is the platform's error (bad signature, bad code, a game still running...).

WebSocket: packets with a 16-byte big-endian header (packet length, header length 16, protocol version,
operation, sequence).  Operation 7 authenticates with the auth body and 8 answers; 2 is our heartbeat
(every 30 s) and 3 the reply; 5 carries messages, as JSON (version 0) or as packets compressed with zlib
(version 2) or brotli (version 3).  ``LIVE_OPEN_PLATFORM_DM`` is a comment, ``..._SEND_GIFT`` a gift,
``..._SUPER_CHAT`` a super chat, ``..._GUARD`` a guard purchase (a gift), ``..._LIKE`` likes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets as _secrets
import struct
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import aiohttp
import brotli

from livehost.core.tasks import cancel_and_wait
from streaming.chat.connector import ChatAuthError, ChatError, Connector, secret
from streaming.chat.events import ChatEvent, EventError, Kind, clean_text, count_field, money_field, time_field

log = logging.getLogger(__name__)

DEFAULT_API = "https://live-open.biliapi.com"
HEADER = struct.Struct(">IHHII")  # packet length, header length, version, operation, sequence
OP_HEARTBEAT, OP_HEARTBEAT_REPLY, OP_MESSAGE, OP_AUTH, OP_AUTH_REPLY = 2, 3, 5, 7, 8
GAME_HEARTBEAT, WS_HEARTBEAT = 20.0, 30.0
MAX_PACKET = 1 << 20
#: platform error codes that no quick retry fixes: the 4000s are the request's signature and keys
AUTH_CODES = range(4000, 4100)


def sign_headers(body: bytes, key_id: str, key_secret: str, *, nonce: str | None = None,
                 timestamp: int | None = None) -> dict[str, str]:
    """The signed headers for an open-platform request with ``body``."""
    headers = {
        "x-bili-accesskeyid": key_id,
        "x-bili-content-md5": hashlib.md5(body).hexdigest(),  # noqa: S324 - the platform's scheme
        "x-bili-signature-method": "HMAC-SHA256",
        "x-bili-signature-nonce": nonce or _secrets.token_hex(16),
        "x-bili-signature-version": "1.0",
        "x-bili-timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    text = "\n".join(f"{k}:{headers[k]}" for k in sorted(headers))
    headers["Authorization"] = hmac.new(key_secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return {**headers, "Content-Type": "application/json", "Accept": "application/json"}


def pack(op: int, body: bytes = b"", version: int = 1, seq: int = 1) -> bytes:
    return HEADER.pack(HEADER.size + len(body), HEADER.size, version, op, seq) + body


def unpack(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(operation, version, body) of each packet in ``data``, decompressing nested ones (versions 2 and 3)."""
    at = 0
    while at + HEADER.size <= len(data):
        length, header, version, op, _ = HEADER.unpack_from(data, at)
        if length < header or header < HEADER.size or at + length > len(data) or length > MAX_PACKET:
            raise ChatError(f"bilibili: a malformed packet (length {length}, header {header})")
        body = data[at + header: at + length]
        at += length
        if op == OP_MESSAGE and version == 2:
            yield from unpack(zlib.decompress(body))
        elif op == OP_MESSAGE and version == 3:
            yield from unpack(brotli.decompress(body))
        else:
            yield op, version, body


def event_from(message: dict[str, Any], room: str) -> ChatEvent | None:
    """The event a ``LIVE_OPEN_PLATFORM_*`` message carries (None for ones that are not a viewer's)."""
    cmd, data = message.get("cmd"), message.get("data")
    if not isinstance(data, dict):
        return None
    if cmd == "LIVE_OPEN_PLATFORM_GUARD":
        info: dict[str, Any] = data["user_info"] if isinstance(data.get("user_info"), dict) else {}
        user, uid = info.get("uname"), info.get("open_id") or info.get("uid")
    else:
        user, uid = data.get("uname"), data.get("open_id") or data.get("uid")
    msg_id = clean_text(data.get("msg_id") or data.get("message_id"), "msg_id", 128)
    if not msg_id:
        return None
    base: dict[str, Any] = {"platform": "bilibili", "room": clean_text(data.get("room_id"), "room_id", 32) or room,
                            "id": msg_id, "user_id": clean_text(uid, "open_id", 128), "user": clean_text(user, "uname", 64),
                            "platform_time": time_field(data.get("timestamp") or data.get("start_time"), "timestamp")}
    if cmd == "LIVE_OPEN_PLATFORM_DM":
        text = clean_text(data.get("msg"), "msg")
        return ChatEvent(**base, kind=Kind.COMMENT, text=text) if text else None
    if cmd == "LIVE_OPEN_PLATFORM_SEND_GIFT":
        paid = bool(data.get("paid"))
        price = money_field(data.get("price"), "price") / 1000.0 if paid else 0.0  # 1000 = 1 yuan
        count = count_field(data.get("gift_num"), "gift_num")
        return ChatEvent(**base, kind=Kind.GIFT, gift=clean_text(data.get("gift_name"), "gift_name", 64), count=count,
                         value=price * count, currency="CNY" if paid else "")
    if cmd == "LIVE_OPEN_PLATFORM_SUPER_CHAT":
        return ChatEvent(**base, kind=Kind.SUPERCHAT, text=clean_text(data.get("message"), "message"),
                         gift="super chat", value=money_field(data.get("rmb"), "rmb"), currency="CNY")
    if cmd == "LIVE_OPEN_PLATFORM_GUARD":
        return ChatEvent(**base, kind=Kind.GIFT, gift=clean_text(data.get("guard_unit"), "guard_unit", 16) or "guard",
                         count=count_field(data.get("guard_num"), "guard_num"))
    if cmd == "LIVE_OPEN_PLATFORM_LIKE":
        return ChatEvent(**base, kind=Kind.LIKE, count=count_field(data.get("like_count"), "like_count"))
    return None


class BilibiliConnector(Connector):
    platform = "bilibili"

    def __init__(self, name: str, deliver: Callable[[ChatEvent], None], *, app_id: int, code_env: str, key_env: str,
                 secret_env: str, environ: Mapping[str, str], url: str | None = None, **kw: Any) -> None:
        super().__init__(name, "bilibili", deliver, **kw)
        self.app_id, self.code_env, self.key_env, self.secret_env, self.environ = app_id, code_env, key_env, secret_env, environ
        self.api = (url or DEFAULT_API).rstrip("/")
        self.code = self.key = self.key_secret = ""
        self.game_id: str | None = None

    def check(self) -> None:
        env = dict(self.environ)
        self.code = secret(env, self.code_env, f"chat {self.name}: code_env")
        self.key = secret(env, self.key_env, f"chat {self.name}: key_env")
        self.key_secret = secret(env, self.secret_env, f"chat {self.name}: secret_env")

    async def _call(self, http: aiohttp.ClientSession, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        try:
            async with http.post(self.api + path, data=body, headers=sign_headers(body, self.key, self.key_secret),
                                 timeout=aiohttp.ClientTimeout(total=10)) as r:
                if r.status >= 500:
                    raise ChatError(f"bilibili {path}: HTTP {r.status}")
                answer = await r.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as e:
            raise ChatError(f"bilibili {path}: {e}") from None
        code = answer.get("code") if isinstance(answer, dict) else None
        if code != 0:
            message = f"bilibili {path}: code {code}: {answer.get('message') if isinstance(answer, dict) else answer}"
            raise ChatAuthError(message) if code in AUTH_CODES else ChatError(message)
        return answer.get("data") or {}

    async def session(self) -> None:
        self.check()
        if self.game_id:  # a game left from the last connection: end it, or the platform refuses a new one
            try:
                await self.close()
            except ChatError as e:
                log.info("chat %s: the previous game did not end cleanly: %s", self.name, e)
        async with aiohttp.ClientSession() as http:
            data = await self._call(http, "/v2/app/start", {"code": self.code, "app_id": self.app_id})
            game = data.get("game_info") or {}
            ws_info = data.get("websocket_info") or {}
            links, auth = ws_info.get("wss_link") or [], ws_info.get("auth_body") or ""
            self.game_id = str(game.get("game_id") or "")
            anchor = data.get("anchor_info") or {}
            if anchor.get("room_id"):
                self.room = str(anchor["room_id"])
            if not links or not auth:
                raise ChatError("bilibili /v2/app/start: no websocket address in the answer")
            tasks = [asyncio.create_task(self._listen(http, links, auth), name=f"chat {self.name} websocket"),
                     asyncio.create_task(self._game_heartbeat(http), name=f"chat {self.name} game heartbeat")]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await cancel_and_wait(tasks, 5.0, f"chat {self.name}")
            for t in done:  # the websocket closed, or the game's heartbeat failed: either ends this session
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]

    async def _game_heartbeat(self, http: aiohttp.ClientSession) -> None:
        while True:
            await asyncio.sleep(GAME_HEARTBEAT)
            await self._call(http, "/v2/app/heartbeat", {"game_id": self.game_id})

    async def _listen(self, http: aiohttp.ClientSession, links: list[str], auth: str) -> None:
        last: Exception | None = None
        for link in links:  # the platform gives several: the first that answers
            try:
                ws = await http.ws_connect(link, heartbeat=None, max_msg_size=MAX_PACKET)
            except aiohttp.ClientError as e:
                last = e
                continue
            async with ws:
                await ws.send_bytes(pack(OP_AUTH, auth.encode()))
                beat = asyncio.create_task(self._ws_heartbeat(ws), name=f"chat {self.name} ws heartbeat")
                try:
                    await self._read(ws)
                finally:
                    await cancel_and_wait([beat], 5.0, f"chat {self.name}")
            return
        raise ChatError(f"bilibili: no websocket address answered ({last})")

    async def _ws_heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            await asyncio.sleep(WS_HEARTBEAT)
            await ws.send_bytes(pack(OP_HEARTBEAT))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.BINARY:
                if msg.type is aiohttp.WSMsgType.ERROR:
                    raise ChatError(f"bilibili websocket: {ws.exception()}")
                continue
            for op, _, body in unpack(msg.data):
                if op == OP_AUTH_REPLY:
                    answer = json.loads(body or b"{}")
                    if answer.get("code") != 0:
                        raise ChatAuthError(f"bilibili websocket: auth refused: {answer}")
                    self.connected()
                elif op == OP_MESSAGE:
                    try:
                        event = event_from(json.loads(body), self.room)
                    except (ValueError, EventError) as e:
                        self.reject("malformed", str(e)[:200])
                        continue
                    if event is not None:
                        self.emit(event)
        raise ChatError(f"bilibili websocket closed ({ws.close_code})")

    async def close(self) -> None:
        """End the game session (``/v2/app/end``), so the streamer can start another at once."""
        if not self.game_id:
            return
        game, self.game_id = self.game_id, None
        async with aiohttp.ClientSession() as http:
            await self._call(http, "/v2/app/end", {"game_id": game, "app_id": self.app_id})
        log.info("chat %s: bilibili game %s ended", self.name, game)
