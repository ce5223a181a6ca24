"""Douyin live data push (直播间数据开放 for 互动玩法): the platform POSTs a room's comments, gifts, likes and
fan-club joins to our HTTPS callback.

Each push carries ``x-nonce-str``, ``x-timestamp`` (ms), ``x-roomid``, ``x-msg-type`` (``live_comment``,
``live_gift``, ``live_like``, ``live_fansclub``) and ``x-signature``: the base64 of the MD5 of those four
headers (sorted by name, as ``k=v`` joined by ``&``), then the raw body, then the app's secret.  A push whose signature does not verify gets 401 and is counted; it never reaches triage.
The body is a JSON list of messages (``msg_id``, ``sec_openid``, ``nickname``, ``content``, ``sec_gift_id``,
``gift_num``, ``gift_value`` in fen, ``like_num``, ``timestamp``).  Messages may repeat: dropped by
``msg_id``.  The platform delivers to a public HTTPS URL: put a TLS reverse proxy in front of ``listen``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from streaming.chat.events import ChatEvent, EventError, Kind, clean_text, count_field, money_field, time_field
from streaming.chat.relay import MAX_EVENTS, PushConnector

SIGNED = ("x-msg-type", "x-nonce-str", "x-roomid", "x-timestamp")
KINDS = {"live_comment": Kind.COMMENT, "live_gift": Kind.GIFT, "live_like": Kind.LIKE, "live_fansclub": Kind.FOLLOW}


def signature(headers: Mapping[str, str], body: bytes, key: str) -> str:
    """The ``x-signature`` Douyin computes for a push (see the module doc)."""
    lower = {k.lower(): v for k, v in headers.items()}
    signed = sorted((k, lower[k]) for k in SIGNED if k in lower)  # not a proxy's x-forwarded-for
    raw = "&".join(f"{k}={v}" for k, v in signed).encode() + body + key.encode()
    return base64.b64encode(hashlib.md5(raw).digest()).decode()  # noqa: S324 - the platform's algorithm


def parse_message(data: Any, kind: Kind, room: str) -> ChatEvent:
    if not isinstance(data, dict):
        raise EventError(f"message: {str(data)[:80]!r}: expected an object")
    msg_id = clean_text(data.get("msg_id"), "msg_id", 128)
    if not msg_id:
        raise EventError("msg_id: missing")
    user = clean_text(data.get("nickname"), "nickname", 64) or "观众"
    text = clean_text(data.get("content"), "content")
    if kind is Kind.COMMENT and not text:
        raise EventError("content: missing for a comment")
    count = count_field(data.get("gift_num") if kind is Kind.GIFT else data.get("like_num"), "count")
    return ChatEvent(platform="douyin", room=room, id=msg_id, user_id=clean_text(data.get("sec_openid"), "sec_openid", 128),
                     user=user, kind=kind, text=text, gift=clean_text(data.get("sec_gift_id"), "sec_gift_id", 64),
                     count=count, value=money_field(data.get("gift_value"), "gift_value") / 100.0,
                     currency="CNY" if kind is Kind.GIFT else "", platform_time=time_field(data.get("timestamp"), "timestamp"))


class DouyinConnector(PushConnector):
    platform = "douyin"
    default_listen, default_path, default_room = "127.0.0.1:8782", "/douyin/push", "douyin"

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get("x-signature", "")
        if not given or not hmac.compare_digest(given, signature(request.headers, body, self.key)):
            self.reject("bad signature", f"from {request.remote}")
            return web.json_response({"err_no": 401, "err_msg": "x-signature: missing or wrong"}, status=401)
        msg_type = request.headers.get("x-msg-type", "")
        kind = KINDS.get(msg_type)
        if kind is None:
            self.reject("unknown type", msg_type[:40])
            return web.json_response({"err_no": 400, "err_msg": f"x-msg-type: {msg_type[:40]!r}: not handled"}, status=400)
        room = clean_text(request.headers.get("x-roomid"), "x-roomid", 64) or self.room
        try:
            data = json.loads(body)
            items = data if isinstance(data, list) else [data]
            if len(items) > MAX_EVENTS:
                raise EventError(f"messages: {len(items)} in one push; at most {MAX_EVENTS}")
            events = [parse_message(item, kind, room) for item in items]
        except (ValueError, RecursionError) as e:
            self.reject("malformed", str(e)[:200])
            return web.json_response({"err_no": 400, "err_msg": str(e)[:300]}, status=400)
        for event in events:
            self.emit(event)
        return web.json_response({"err_no": 0, "err_msg": "success"})
