"""Fetching catalog sources over HTTP(S).

:func:`fetch` is the one way a feed is downloaded: conditional requests
(``ETag`` / ``Last-Modified``), retries with exponential backoff on failures
that may pass (connection errors, timeouts, 429, 5xx), a size cap, and
errors that say what was asked, what came back and how often it was tried,
without leaking credentials that sit in the URL.

Every connection obeys a :class:`~products.feeds.netpolicy.NetPolicy`
(by default: public addresses only).  Host names are judged after DNS
resolution, by the resolver of the sessions this module makes
(:func:`feed_session`), so a name cannot answer one address to a check and
another to the connection; IP-literal hosts, which aiohttp never resolves,
are judged before each request; redirects are followed here, one hop at a
time, each hop judged the same way.  A refused address is never contacted.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import re
import socket
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from yarl import URL

from livehost.core import jsonio
from products.feeds.base import FeedError
from products.feeds.netpolicy import PUBLIC_ONLY, NetPolicy

#: Longest wait a server's ``Retry-After`` can impose between two attempts, in seconds.
MAX_RETRY_AFTER = 30.0

#: Most redirects one download follows.
MAX_REDIRECTS = 10

_REDIRECTS = frozenset({301, 302, 303, 307, 308})

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
            return jsonio.loads(self.body or b"")
        except jsonio.JsonError as exc:
            raise FeedError(f"{mask_secrets(self.url)}: the answer is not JSON ({exc})") from None


class RefusedAddress(Exception):
    """The policy refused every address of a host; ``reason`` says why, naming the host and address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedResolver(AbstractResolver):
    """aiohttp's default resolver, keeping only the addresses ``policy`` allows.

    A host with none left raises :class:`RefusedAddress` (not an ``OSError``,
    so aiohttp passes it on instead of reporting a DNS failure).
    """

    def __init__(self, policy: NetPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner or aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        reasons = [self.policy.refusal(host, r["host"]) for r in found]
        allowed = [r for r, why in zip(found, reasons) if why is None]
        if not allowed:
            raise RefusedAddress(next((why for why in reasons if why), f"{host}: no address"))
        return allowed

    async def close(self) -> None:
        await self._inner.close()


# sessions made by feed_session, with the policy their resolver enforces
_GUARDED: weakref.WeakKeyDictionary[aiohttp.ClientSession, NetPolicy] = weakref.WeakKeyDictionary()


def feed_session(policy: NetPolicy = PUBLIC_ONLY, **connector_kwargs: Any) -> aiohttp.ClientSession:
    """A session whose every connection obeys ``policy`` (call it with a running event loop).

    ``connector_kwargs`` go to :class:`aiohttp.TCPConnector` (``ssl=`` for a
    private CA, say).  The session ignores proxy variables (``trust_env`` off).
    """
    resolver = GuardedResolver(policy)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver, **connector_kwargs))
    _GUARDED[session] = policy
    return session


@asynccontextmanager
async def client_session(session: aiohttp.ClientSession | None,
                         policy: NetPolicy = PUBLIC_ONLY) -> AsyncIterator[aiohttp.ClientSession]:
    """Use ``session`` when given, else a :func:`feed_session` closed on exit (for several requests in a row)."""
    if session is not None:
        yield session
        return
    async with feed_session(policy) as own:
        yield own


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _judge(url: URL, policy: NetPolicy, resolved: bool) -> None:
    """Raise :class:`RefusedAddress` when ``url``'s host may not be fetched.

    ``resolved``: the session's resolver applies ``policy`` to names, so only
    IP literals need a look here; otherwise the name is resolved and every
    address it has must be allowed (the session will resolve it again).
    """
    host = url.raw_host or ""
    if _ip_literal(host):
        addresses = [host]
    elif resolved:
        return
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host, url.port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        why = policy.refusal(host, address)
        if why is not None:
            raise RefusedAddress(why)


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


def _phrase(status: int) -> str:
    """The standard reason phrase (a server's own phrase is its text: not repeated in errors)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _problem(exc: aiohttp.ClientError | OSError) -> str:
    if isinstance(exc, (aiohttp.ClientResponseError, aiohttp.ClientPayloadError)):
        # the parser's message quotes the bytes it choked on: a non-HTTP service's answer
        return f"{type(exc).__name__}: the answer is not well-formed HTTP (its content is not shown)"
    return f"{type(exc).__name__}: {exc}"


def _same_origin(a: URL, b: URL) -> bool:
    return (a.scheme, a.raw_host, a.port) == (b.scheme, b.raw_host, b.port)


@dataclass
class _Again:
    """An attempt worth repeating: what went wrong, the status if any, the server's Retry-After."""

    problem: str
    status: int | None = None
    wait: float | None = None


async def _attempt(http: aiohttp.ClientSession, url: URL, send: dict, *, policy: NetPolicy, resolved: bool,
                   max_bytes: int, shown: str, attempt: int) -> Fetched | _Again:
    """One GET of ``url`` (``shown`` in errors), following redirects; each hop's address judged before it is contacted."""
    target, headers, status = url, send, None
    for _ in range(MAX_REDIRECTS + 1):
        try:
            await _judge(target, policy, resolved)
            async with http.get(target, headers=headers, allow_redirects=False) as resp:
                status = resp.status
                location = resp.headers.get("Location")
                if status in _REDIRECTS and location:
                    try:
                        after = resp.url.join(URL(location))
                    except ValueError:
                        raise FetchError(f"GET {shown}: HTTP {status} with an unreadable Location; not followed",
                                         url=shown, status=status, attempts=attempt) from None
                    if after.scheme not in ("http", "https"):
                        raise FetchError(f"GET {shown}: HTTP {status} to a {after.scheme or 'schemeless'} URL; "
                                         "only http(s) redirects are followed", url=shown, status=status,
                                         attempts=attempt)
                    if not _same_origin(target, after):  # as browsers do: credentials stay with their origin
                        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                    target = after
                    continue
                if status == 304 or 200 <= status < 300:
                    body = None if status == 304 else await _read_capped(resp, max_bytes, shown, attempt)
                    return Fetched(
                        url=str(resp.url), status=status, body=body, etag=resp.headers.get("ETag"),
                        last_modified=resp.headers.get("Last-Modified"), content_type=resp.content_type,
                        not_modified=status == 304, headers=CIMultiDict(resp.headers),
                    )
                problem = f"HTTP {status} {_phrase(status)}".rstrip()
                if status != 429 and status < 500:
                    raise FetchError(f"GET {shown}: {problem} (attempt {attempt}, not retried)",
                                     url=shown, status=status, attempts=attempt)
                return _Again(problem, status, _retry_after(resp.headers.get("Retry-After")))
        except RefusedAddress as refused:  # nothing was sent to the refused address: nothing of it to report
            via = "" if target == url else f"redirected to {mask_secrets(str(target))}: "
            raise FetchError(f"GET {shown}: {via}refused: {refused.reason}", url=shown, attempts=attempt) from None
    raise FetchError(f"GET {shown}: more than {MAX_REDIRECTS} redirects; stopped", url=shown, status=status,
                     attempts=attempt)


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
    policy: NetPolicy = PUBLIC_ONLY,
) -> Fetched:
    """GET ``url`` and return its body, or a 304 answer when ``etag`` / ``last_modified`` still match.

    ``etag`` and ``last_modified`` (the values a previous :class:`Fetched`
    carried) are sent as ``If-None-Match`` / ``If-Modified-Since``.  Each
    attempt (redirects included) may take ``timeout`` seconds in all.
    Connection errors, timeouts, 429 and 5xx are tried again up to
    ``retries`` times (so at most ``retries + 1`` attempts), waiting
    ``backoff`` seconds, then twice as long each time, or as long as a
    numeric ``Retry-After`` asks (at most 30 s).  Other 4xx and 3xx answers
    fail at once.  Up to :data:`MAX_REDIRECTS` http(s) redirects are
    followed; ``Authorization`` is not sent on to another origin.

    Every host contacted, the first and each redirect's, must be allowed by
    ``policy`` (default: public addresses only).  A session from
    :func:`feed_session` judges names at connection time, with its own
    policy; with any other ``session`` each name is resolved and judged
    before the request, which that session then resolves again (prefer
    :func:`feed_session`: a name that changes its answer in between is
    caught only there).

    Raises :class:`FetchError` (a :class:`FeedError`) naming the URL with
    credentials masked, the status, and the number of attempts; a body
    larger than ``max_bytes`` fails at once, naming the cap; a refused
    address fails at once, naming the host, its address and
    ``LIVEHOST_FEED_ALLOW``, before anything is sent to it.  No error quotes
    the server's answer.
    """
    send = dict(headers or {})
    if auth is not None:  # as a header: aiohttp deprecates auth=
        send["Authorization"] = auth.encode()
    if etag:
        send["If-None-Match"] = etag
    if last_modified:
        send["If-Modified-Since"] = last_modified
    shown = mask_secrets(url)
    try:
        start = URL(url)
    except ValueError as exc:
        raise FetchError(f"GET {shown}: not a URL ({exc})", url=url) from None
    delay = backoff
    async with client_session(session, policy) as http:
        resolved = _GUARDED.get(http) == policy
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(timeout):
                    got = await _attempt(http, start, send, policy=policy, resolved=resolved, max_bytes=max_bytes,
                                         shown=shown, attempt=attempt)
                if isinstance(got, Fetched):
                    return got
            except TimeoutError:
                got = _Again(f"timed out after {timeout:g} s")
            except aiohttp.InvalidURL as exc:  # e.g. a legacy numeric IPv4 host (127.1): the same every time
                raise FetchError(f"GET {shown}: {type(exc).__name__}: {exc} (not retried)", url=url,
                                 attempts=attempt) from None
            except (aiohttp.ClientError, OSError) as exc:
                got = _Again(_problem(exc))
            if attempt > retries:
                raise FetchError(f"GET {shown}: {got.problem} after {attempt} attempt{'s' if attempt > 1 else ''}",
                                 url=url, status=got.status, attempts=attempt)
            await asyncio.sleep(max(delay, got.wait or 0.0))
            delay *= 2
