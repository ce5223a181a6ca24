"""YouTube live chat through the YouTube Data API v3 (``liveChatMessages``), polled as the API asks.

The access token comes from an OAuth refresh token (``POST https://oauth2.googleapis.com/token``) and is
renewed before it expires or when the API answers 401.  ``broadcast: auto`` finds the live chat of the
channel's active broadcast (``liveBroadcasts.list`` with ``broadcastStatus=active``); a liveChatId may be given
instead.  ``liveChatMessages.list`` is called again after the ``pollingIntervalMillis`` each answer names,
with its ``nextPageToken``: a connection that drops resumes from the last token, so nothing is lost or
repeated.  The first page after start is the chat's recent history: it is skipped, not answered.
``textMessageEvent`` is a comment, ``superChatEvent`` a super chat, ``superStickerEvent`` and
``newSponsorEvent``/``membershipGiftingEvent`` gifts.  A ``quotaExceeded`` or ``rateLimitExceeded`` answer is
reported once and backed off; replies are ``liveChatMessages.insert`` (200 characters).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from streaming.chat.connector import ChatAuthError, ChatError, Connector, secret, shorten
from streaming.chat.events import ChatEvent, EventError, Kind, clean_text, count_field, iso_time

log = logging.getLogger(__name__)

DEFAULT_API = "https://www.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
MIN_POLL, MAX_POLL = 0.2, 30.0  # the API's pollingIntervalMillis, within these bounds
QUOTA_REASONS = {"quotaExceeded", "rateLimitExceeded", "dailyLimitExceeded"}
GONE_REASONS = {"liveChatEnded", "liveChatNotFound", "liveChatDisabled", "forbidden"}


def event_from(item: dict[str, Any], room: str) -> ChatEvent | None:
    """The event a ``liveChatMessage`` resource carries (None for types that are not a viewer's)."""
    snippet: dict[str, Any] = item["snippet"] if isinstance(item.get("snippet"), dict) else {}
    author: dict[str, Any] = item["authorDetails"] if isinstance(item.get("authorDetails"), dict) else {}
    msg_id = clean_text(item.get("id"), "id", 128)
    if not msg_id:
        raise EventError("id: missing")
    kind = snippet.get("type")
    base: dict[str, Any] = {"platform": "youtube", "room": room, "id": msg_id,
                            "user_id": clean_text(author.get("channelId") or snippet.get("authorChannelId"), "channelId", 64),
                            "user": clean_text(author.get("displayName"), "displayName", 64) or "viewer",
                            "platform_time": iso_time(snippet.get("publishedAt"))}
    if kind == "textMessageEvent":
        details = snippet.get("textMessageDetails") or {}
        text = clean_text(details.get("messageText") or snippet.get("displayMessage"), "messageText")
        return ChatEvent(**base, kind=Kind.COMMENT, text=text) if text else None
    if kind in ("superChatEvent", "superStickerEvent"):
        details = snippet.get("superChatDetails") or snippet.get("superStickerDetails") or {}
        micros = count_field(details.get("amountMicros"), "amountMicros", default=0, limit=10**13)
        text = clean_text(details.get("userComment"), "userComment")
        currency = clean_text(details.get("currency"), "currency", 8)
        if kind == "superChatEvent" and text:
            return ChatEvent(**base, kind=Kind.SUPERCHAT, text=text, gift="Super Chat", value=micros / 1e6,
                             currency=currency)
        return ChatEvent(**base, kind=Kind.GIFT, gift="Super Sticker" if kind == "superStickerEvent" else "Super Chat",
                         value=micros / 1e6, currency=currency)
    if kind in ("newSponsorEvent", "memberMilestoneChatEvent"):
        return ChatEvent(**base, kind=Kind.FOLLOW)
    if kind == "membershipGiftingEvent":
        details = snippet.get("membershipGiftingDetails") or {}
        return ChatEvent(**base, kind=Kind.GIFT, gift="membership",
                         count=count_field(details.get("giftMembershipsCount"), "giftMembershipsCount"))
    return None


class YouTubeConnector(Connector):
    platform = "youtube"
    max_message = 200

    def __init__(self, name: str, deliver: Callable[[ChatEvent], None], *, broadcast: str, client_id_env: str,
                 client_secret_env: str, refresh_token_env: str, environ: Mapping[str, str], url: str | None = None,
                 token_url: str | None = None, **kw: Any) -> None:
        super().__init__(name, broadcast if broadcast != "auto" else "youtube", deliver, **kw)
        self.broadcast, self.environ = broadcast, environ
        self.envs = (client_id_env, client_secret_env, refresh_token_env)
        self.api = (url or DEFAULT_API).rstrip("/")
        self.token_url = token_url or DEFAULT_TOKEN_URL
        self.credentials: tuple[str, str, str] = ("", "", "")
        self.access_token = ""
        self.expires = 0.0
        self.chat_id: str | None = None if broadcast == "auto" else broadcast
        self.page_token: str | None = None  # where the last answer left off: a reconnect resumes here
        self.started = False  # the history page was skipped
        self._http: aiohttp.ClientSession | None = None

    def check(self) -> None:
        env = dict(self.environ)
        names = ("oauth.client_id_env", "oauth.client_secret_env", "oauth.refresh_token_env")
        self.credentials = tuple(secret(env, v, f"chat {self.name}: {n}") for v, n in zip(self.envs, names, strict=True))  # type: ignore[assignment]

    # -- the API ---------------------------------------------------------------------------------
    async def _token(self, http: aiohttp.ClientSession) -> str:
        if self.access_token and time.time() < self.expires - 60:
            return self.access_token
        client_id, client_secret, refresh = self.credentials
        form = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh,
                "grant_type": "refresh_token"}
        try:
            async with http.post(self.token_url, data=form, timeout=aiohttp.ClientTimeout(total=15)) as r:
                answer = await r.json(content_type=None)
                if r.status != 200:
                    what = answer.get("error_description") or answer.get("error") if isinstance(answer, dict) else answer
                    error = ChatAuthError if r.status in (400, 401, 403) else ChatError
                    raise error(f"youtube oauth: {r.status} {what}")
        except (aiohttp.ClientError, ValueError) as e:
            raise ChatError(f"youtube oauth: {e}") from None
        self.access_token = str(answer.get("access_token") or "")
        self.expires = time.time() + float(answer.get("expires_in") or 3600)
        if not self.access_token:
            raise ChatAuthError("youtube oauth: no access_token in the answer")
        return self.access_token

    async def _request(self, http: aiohttp.ClientSession, method: str, path: str, *, params: dict[str, str],
                       json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self._token(http)
            try:
                async with http.request(method, self.api + path, params=params, json=json_body,
                                        headers={"Authorization": f"Bearer {token}"},
                                        timeout=aiohttp.ClientTimeout(total=20)) as r:
                    answer = await r.json(content_type=None) if r.content_length != 0 else {}
                    status = r.status
            except (aiohttp.ClientError, ValueError) as e:
                raise ChatError(f"youtube {path}: {e}") from None
            if status == 401 and attempt == 1:
                self.access_token = ""  # expired early: renew once
                continue
            if status < 300:
                return answer if isinstance(answer, dict) else {}
            error = answer.get("error") if isinstance(answer, dict) else None
            reasons = {e.get("reason") for e in (error or {}).get("errors", []) if isinstance(e, dict)}
            message = f"youtube {path}: {status} {(error or {}).get('message') or answer}"
            if reasons & QUOTA_REASONS or status == 401:
                raise ChatAuthError(message)
            if reasons & GONE_REASONS or status == 404:
                if self.broadcast == "auto":
                    self.chat_id = self.page_token = None  # the broadcast ended: find the next one
                    self.started = False
                raise ChatError(message)
            raise ChatError(message)
        raise ChatAuthError(f"youtube {path}: 401 twice (the token is refused)")

    async def _find_chat(self, http: aiohttp.ClientSession) -> str:
        answer = await self._request(http, "GET", "/youtube/v3/liveBroadcasts",
                                     params={"part": "snippet", "broadcastStatus": "active", "broadcastType": "all"})
        for item in answer.get("items") or []:
            chat = (item.get("snippet") or {}).get("liveChatId")
            if chat:
                return str(chat)
        raise ChatError("youtube: the channel has no active broadcast with a live chat (yet)")

    # -- the session -----------------------------------------------------------------------------
    async def session(self) -> None:
        self.check()
        async with aiohttp.ClientSession() as http:
            self._http = http
            try:
                if self.chat_id is None:
                    self.chat_id = await self._find_chat(http)
                    self.room = self.chat_id
                while True:
                    params = {"liveChatId": self.chat_id, "part": "snippet,authorDetails", "maxResults": "2000"}
                    if self.page_token:
                        params["pageToken"] = self.page_token
                    answer = await self._request(http, "GET", "/youtube/v3/liveChat/messages", params=params)
                    if self.state.value != "live":
                        self.connected()
                    items = answer.get("items") or []
                    if self.started:
                        for item in items:
                            try:
                                event = event_from(item, self.room) if isinstance(item, dict) else None
                            except ValueError as e:
                                self.reject("malformed", str(e)[:200])
                                continue
                            if event is not None:
                                self.emit(event)
                    self.started = True  # the first page was the chat's history
                    self.page_token = answer.get("nextPageToken") or self.page_token
                    if answer.get("offlineAt"):
                        raise ChatError("youtube: the live chat went offline")
                    wait = float(answer.get("pollingIntervalMillis") or 5000) / 1000.0
                    await asyncio.sleep(min(MAX_POLL, max(MIN_POLL, wait)))
            finally:
                self._http = None

    async def post(self, text: str, to: ChatEvent | None) -> None:
        http = self._http
        if http is None or self.chat_id is None:
            raise ChatError("youtube: not connected")
        message = shorten(f"@{to.user} {text}" if to is not None and to.platform == "youtube" else text, self.max_message)
        body = {"snippet": {"liveChatId": self.chat_id, "type": "textMessageEvent",
                            "textMessageDetails": {"messageText": message}}}
        await self._request(http, "POST", "/youtube/v3/liveChat/messages", params={"part": "snippet"}, json_body=body)
