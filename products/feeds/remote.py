"""Fetching catalog sources over HTTP(S).

:func:`fetch` is the one way a feed is downloaded: conditional requests
(``ETag`` / ``Last-Modified``), retries with exponential backoff on failures
that may pass (connection errors, timeouts, 429, 5xx), a size cap, and
errors that say what was asked, what came back and how often it was tried,
without leaking credentials that sit in the URL.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict

from products.feeds.base import FeedError

#: Longest wait a server's ``Retry-After`` can impose between two attempts, in seconds.
MAX_RETRY_AFTER = 30.0

_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;][^=&#\s]*(?:secret|token|key|password|passwd|pwd|signature|sig|auth)[^=&#\s]*=)[^&#\s'\"]*",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://[^/@:\s]*):[^/@\s]*@", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """Replace credentials in URLs inside ``text`` by ``***``.

    Masks the values of query parameters whose name mentions a secret, key,
    token, password or signature (``consumer_key``, ``consumer_secret``,
    ``access_token``...) and the password of ``user:password@host``.
    """
    text = _SECRET_PARAM.sub(r"\g<name>***", text)
    return _USERINFO.sub(r"\g<scheme>:***@", text)


def basic_auth_header(login: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic auth (UTF-8)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


class FetchError(FeedError):
    """A download failed.  ``url`` has its credentials masked; ``status`` is None without an HTTP answer."""

    def __init__(self, message: str, *, url: str, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(mask_secrets(message))
        self.url = mask_secrets(url)
        self.status = status
        self.attempts = attempts


@dataclass
class Fetched:
    """One HTTP answer.  ``body`` is None when the server said 304 Not Modified."""

    url: str  # the final URL, after redirects
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    not_modified: bool
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)  # case-insensitive; repeated headers kept

    def json(self) -> Any:
        """The body parsed as JSON; :class:`FeedError` when it is missing or not JSON."""
        try:
            return json.loads(self.body or b"")
        except ValueError as exc:
            raise FeedError(f"{mask_secrets(self.url)}: the answer is not JSON ({exc})") from None


@asynccontextmanager
async def client_session(session: aiohttp.ClientSession | None) -> AsyncIterator[aiohttp.ClientSession]:
    """Use ``session`` when given, else a new session closed on exit (for several requests in a row)."""
    if session is not None:
        yield session
        return
    async with aiohttp.ClientSession() as own:
        yield own


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER) if value else None
    except ValueError:
        return None  # an HTTP date: keep to the backoff


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int, url: str, attempt: int) -> bytes:
    """The body, failing (not retried) as soon as it is known to exceed ``max_bytes``."""
    length = resp.content_length
    if length is not None and length > max_bytes:
        raise FetchError(f"GET {url}: Content-Length {length} exceeds the size cap of {max_bytes} bytes",
                         url=url, status=resp.status, attempts=attempt)
    body = bytearray()
    async for chunk in resp.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"GET {url}: more than {max_bytes} bytes arrived (the size cap); stopped reading",
                             url=url, status=resp.status, attempts=attempt)
    return bytes(body)


async def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 20.0,
    retries: int = 3,
    backoff: float = 0.5,
    max_bytes: int = 64 << 20,
    headers: dict | None = None,
    auth: aiohttp.BasicAuth | None = None,
    session: aiohttp.ClientSession | None = None,
) -> Fetched:
    """GET ``url`` and return its body, or a 304 answer when ``etag`` / ``last_modified`` still match.

    ``etag`` and ``last_modified`` (the values a previous :class:`Fetched`
    carried) are sent as ``If-None-Match`` / ``If-Modified-Since``.  Each
    attempt may take ``timeout`` seconds in all.  Connection errors,
    timeouts, 429 and 5xx are tried again up to ``retries`` times (so at most
    ``retries + 1`` attempts), waiting ``backoff`` seconds, then twice as long
    each time, or as long as a numeric ``Retry-After`` asks (at most 30 s).
    Other 4xx and 3xx answers fail at once.

    Raises :class:`FetchError` (a :class:`FeedError`) naming the URL with
    credentials masked, the status and reason, and the number of attempts;
    a body larger than ``max_bytes`` fails at once, naming the cap.
    """
    send = dict(headers or {})
    if auth is not None:  # as a header: aiohttp deprecates auth=; it drops the header on cross-origin redirects
        send["Authorization"] = auth.encode()
    if etag:
        send["If-None-Match"] = etag
    if last_modified:
        send["If-Modified-Since"] = last_modified
    shown = mask_secrets(url)
    delay = backoff
    async with client_session(session) as http:
        attempt = 0
        while True:
            attempt += 1
            wait = None
            status = None
            try:
                async with http.get(url, headers=send, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                    status = resp.status
                    if status == 304 or 200 <= status < 300:
                        body = None if status == 304 else await _read_capped(resp, max_bytes, shown, attempt)
                        return Fetched(
                            url=str(resp.url), status=status, body=body, etag=resp.headers.get("ETag"),
                            last_modified=resp.headers.get("Last-Modified"), content_type=resp.content_type,
                            not_modified=status == 304, headers=CIMultiDict(resp.headers),
                        )
                    problem = f"HTTP {status} {resp.reason or ''}".rstrip()
                    if status != 429 and status < 500:
                        raise FetchError(f"GET {shown}: {problem} (attempt {attempt}, not retried)",
                                         url=url, status=status, attempts=attempt)
                    wait = _retry_after(resp.headers.get("Retry-After"))
            except TimeoutError:
                problem = f"timed out after {timeout:g} s"
            except aiohttp.ClientError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt > retries:
                raise FetchError(f"GET {shown}: {problem} after {attempt} attempt{'s' if attempt > 1 else ''}",
                                 url=url, status=status, attempts=attempt)
            await asyncio.sleep(max(delay, wait or 0.0))
            delay *= 2
