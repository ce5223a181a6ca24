"""Who is asking: login sessions (cookie), API tokens (Bearer), CSRF, and login rate limits.

A session is a random id kept in Redis (12 h) by the digest of the cookie,
in an HttpOnly, SameSite=Strict cookie.  Requests that change something and
come with the cookie must carry the session's CSRF token (``X-CSRF-Token``
or the ``csrf_token`` form field).  5 failed logins for a name (20 from one
address) lock it for 5 minutes.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from dashboards.context import Console
from dashboards.http import USER, ApiError
from dashboards.http import form as read_form
from dashboards.users import token_digest
from livehost.core import keys
from livehost.core.store import as_texts

log = logging.getLogger(__name__)

SESSION_COOKIE = "lh_session"
LOGIN_CSRF_COOKIE = "lh_login"
SESSION_TTL = 12 * 3600
LOGIN_FAILS_PER_USER = 5  # in LOGIN_WINDOW seconds, then 429 until the window passes
LOGIN_FAILS_PER_IP = 20
LOGIN_WINDOW = 300

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _session_key(sid: str) -> str:
    return keys.console_session(token_digest(sid))  # the cookie itself is never stored


#: The one route that takes a large multipart body; its CSRF field is read by the route's streaming reader.
UPLOAD_PATH = "/api/catalog/import"
CSRF_IN_FORM = object()


def check_form_csrf(request: web.Request, sent: object) -> None:
    """For an upload whose CSRF token came as a form field: 403 unless it is the session's."""
    who = request[USER]
    if who.get("csrf_in_form") and (not isinstance(sent, str) or not hmac.compare_digest(sent, who["csrf"])):
        raise ApiError(403, "csrf: missing or wrong CSRF token (reload the page)")


def middleware(console: Console) -> Any:
    """Identifies every request (pages redirect to /login, the API answers 401) and checks CSRF."""

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in ("/login", "/healthz") or path.startswith("/static/"):
            return await handler(request)
        api = path.startswith("/api/") or path == "/metrics"
        who = await identify(console, request)
        if who is None:
            if api:
                raise ApiError(401, "not logged in: log in at /login or send Authorization: Bearer <token>",
                               **{"WWW-Authenticate": 'Bearer realm="livehost"'})
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
        if request.method not in ("GET", "HEAD", "OPTIONS") and who["csrf"] is not None:
            sent: object = request.headers.get("X-CSRF-Token")  # or a form field: checked to be text below
            if sent is None and request.content_type == "multipart/form-data" and path == UPLOAD_PATH:
                sent = CSRF_IN_FORM  # the upload reader checks the form's field before the import runs
            elif sent is None and request.content_type == "application/x-www-form-urlencoded":
                sent = (await read_form(request)).get("csrf_token")  # a small form: at most MAX_BODY bytes
            if sent is CSRF_IN_FORM:
                who = {**who, "csrf_in_form": True}
            elif not isinstance(sent, str) or not hmac.compare_digest(sent, who["csrf"]):
                raise ApiError(403, "csrf: missing or wrong CSRF token (reload the page)")
        request[USER] = who
        return await handler(request)

    return auth


async def identify(console: Console, request: web.Request) -> dict | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        user = console.users.by_token(auth[7:].strip())
        return {"user": user, "csrf": None} if user else None
    if request.path == "/metrics":
        return None  # metrics: by token only
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    key = _session_key(sid)
    row = as_texts(await console.redis.hgetall(key))
    user = console.users.get(row.get("user", ""))
    if user is None:
        return None
    await console.redis.expire(key, SESSION_TTL)
    return {"user": user, "csrf": row["csrf"]}


async def login_page(console: Console, request: web.Request, error: str = "", status: int = 200) -> web.Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    html = console.templates.get_template("login.html").render(
        error=error, csrf=token, next=request.query.get("next", "/"), first_start=not console.users.has_admin())
    response = web.Response(text=html, content_type="text/html", status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure,
                        max_age=3600)
    return response


async def login(console: Console, request: web.Request) -> web.Response:
    form = await read_form(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(str(form.get("csrf_token", "")), cookie):
        return await login_page(console, request, "The form expired: please try again.", 403)
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    ip = request.remote or "?"
    redis = console.redis
    fails = {k: keys.login_failures(k, v) for k, v in (("user", name.lower()), ("ip", ip))}
    counts = await asyncio.gather(*(redis.get(k) for k in fails.values()))
    if int(counts[0] or 0) >= LOGIN_FAILS_PER_USER or int(counts[1] or 0) >= LOGIN_FAILS_PER_IP:
        wait = max(1, max(await asyncio.gather(*(redis.ttl(k) for k in fails.values()))))
        response = await login_page(console, request, f"Too many failed logins: try again in {wait} s.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = await asyncio.to_thread(console.users.authenticate, name, password)
    if user is None:
        async with redis.pipeline(transaction=False) as pipe:
            for k in fails.values():
                pipe.set(k, 0, ex=LOGIN_WINDOW, nx=True)  # the window starts at the first failure
                pipe.incr(k)
            await pipe.execute()
        log.warning("console: failed login for %r from %s", name, ip)
        return await login_page(console, request, "Wrong name or password.", 401)
    await redis.delete(fails["user"])
    sid = secrets.token_urlsafe(32)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(_session_key(sid), mapping={"user": user.name, "csrf": secrets.token_urlsafe(24),
                                              "since": str(time.time())})
        pipe.expire(_session_key(sid), SESSION_TTL)
        await pipe.execute()
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never an open redirect
    response = web.HTTPSeeOther(target)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Strict", secure=request.secure,
                        max_age=SESSION_TTL)
    response.del_cookie(LOGIN_CSRF_COOKIE)
    raise response


async def logout(console: Console, request: web.Request) -> web.Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        await console.redis.delete(_session_key(sid))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE)
    raise response
