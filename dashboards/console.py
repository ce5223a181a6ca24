"""The operations console: pages, a JSON API, live updates and metrics, all read from Redis.

The console holds no state of its own.  Channels publish their state to
Redis and read their commands from it (:mod:`livehost.control`); login
sessions and login-failure counters live there too, and users in
``$LIVEHOST_HOME/users.json`` (:mod:`dashboards.users`).  Any number of
consoles can serve the same fleet.

Access: a session cookie (HttpOnly, SameSite=Strict) from the login form, or
``Authorization: Bearer <token>`` for scripts and Prometheus.  Requests that
change something and come with the cookie must carry the session's CSRF
token (``X-CSRF-Token`` header or ``csrf_token`` form field).  Viewers read,
operators control channels and import catalogs, admins also import the
shared catalog.  A user with a tenant sees only that tenant's channels;
anything else is answered 404, as if it did not exist.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from redis.exceptions import RedisError

from dashboards.users import ROLES, User, UserStore, token_digest
from livehost import control
from livehost.control import as_text, as_texts
from livehost.audit import audit_key, AuditEntry
from livehost.store import Store

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "lh_session"
LOGIN_CSRF_COOKIE = "lh_login"
SESSION_TTL = 12 * 3600
LOGIN_FAILS_PER_USER = 5  # in LOGIN_WINDOW seconds, then 429 until the window passes
LOGIN_FAILS_PER_IP = 20
LOGIN_WINDOW = 300
COMMAND_TIMEOUT = 5.0
CONTROL_ACTIONS = tuple(a for a in control.ACTIONS if a not in ("say", "comment"))  # those have their own routes
MAX_UPLOAD = 64 << 20
FORMATS = ("auto", "csv", "xlsx", "json", "gmc", "shopify", "woocommerce")

USER = web.RequestKey("user", dict)  # per request: {"user": User, "csrf": str | None}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(web.HTTPException):
    """An error answered as ``{"error": ...}`` JSON (API) with its status."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json",
                         headers=headers or None)
        self.message = message


def _session_key(sid: str) -> str:
    return f"livehost:console:session:{token_digest(sid)}"  # the cookie itself is never stored


class Console:
    def __init__(self, store: Store, home: Path) -> None:
        self.store = store
        self.home = Path(home)
        self.users = UserStore(self.home)
        self.redis = store.aio()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined)
        self.app = self._build()

    # -- assembly ------------------------------------------------------------------------
    def _build(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._auth], client_max_size=MAX_UPLOAD)
        r = app.router
        r.add_get("/login", self.login_page)
        r.add_post("/login", self.login)
        r.add_post("/logout", self.logout)
        r.add_get("/", self.fleet_page)
        r.add_get("/channels/{id}", self.channel_page)
        r.add_get("/catalog", self.catalog_page)
        r.add_get("/audit", self.audit_page)
        r.add_static("/static", HERE / "static", append_version=True)
        for route in API:
            r.add_route(route.method, route.path, self._guarded(route))
        r.add_get("/metrics", self.metrics)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _app: web.Application) -> None:
        await self.redis.aclose()

    # -- middleware ----------------------------------------------------------------------
    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except RedisError as e:
            log.error("console: redis: %s", e)
            raise ApiError(503, f"store unavailable: {e}") from None
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.content_type == "text/html":
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in ("/login",) or path.startswith("/static/"):
            return await handler(request)
        api = path.startswith("/api/") or path == "/metrics"
        who = await self._identify(request)
        if who is None:
            if api:
                raise ApiError(401, "not logged in: log in at /login or send Authorization: Bearer <token>",
                               **{"WWW-Authenticate": 'Bearer realm="livehost"'})
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
        if request.method not in ("GET", "HEAD", "OPTIONS") and who["csrf"] is not None:
            sent = request.headers.get("X-CSRF-Token")
            if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                sent = (await request.post()).get("csrf_token")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, who["csrf"]):
                raise ApiError(403, "csrf: missing or wrong CSRF token (reload the page)")
        request[USER] = who
        return await handler(request)

    async def _identify(self, request: web.Request) -> dict | None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            user = self.users.by_token(auth[7:].strip())
            return {"user": user, "csrf": None} if user else None
        if request.path == "/metrics":
            return None  # metrics: by token only
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        key = _session_key(sid)
        row = as_texts(await self.redis.hgetall(key))
        user = self.users.get(row.get("user", ""))
        if user is None:
            return None
        await self.redis.expire(key, SESSION_TTL)
        return {"user": user, "csrf": row["csrf"]}

    # -- login -----------------------------------------------------------------------------
    async def login_page(self, request: web.Request, error: str = "", status: int = 200) -> web.Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = self.templates.get_template("login.html").render(
            error=error, csrf=token, next=request.query.get("next", "/"), first_start=not self.users.has_admin())
        response = web.Response(text=html, content_type="text/html", status=status)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure,
                            max_age=3600)
        return response

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(str(form.get("csrf_token", "")), cookie):
            return await self.login_page(request, "The form expired: please try again.", 403)
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        ip = request.remote or "?"
        fails = {k: f"livehost:console:login-fails:{k}:{v}" for k, v in (("user", name.lower()), ("ip", ip))}
        counts = await asyncio.gather(*(self.redis.get(k) for k in fails.values()))
        if int(counts[0] or 0) >= LOGIN_FAILS_PER_USER or int(counts[1] or 0) >= LOGIN_FAILS_PER_IP:
            wait = max(1, max(await asyncio.gather(*(self.redis.ttl(k) for k in fails.values()))))
            response = await self.login_page(request, f"Too many failed logins: try again in {wait} s.", 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = await asyncio.to_thread(self.users.authenticate, name, password)
        if user is None:
            async with self.redis.pipeline(transaction=False) as pipe:
                for k in fails.values():
                    pipe.set(k, 0, ex=LOGIN_WINDOW, nx=True)  # the window starts at the first failure
                    pipe.incr(k)
                await pipe.execute()
            log.warning("console: failed login for %r from %s", name, ip)
            return await self.login_page(request, "Wrong name or password.", 401)
        await self.redis.delete(fails["user"])
        sid = secrets.token_urlsafe(32)
        async with self.redis.pipeline(transaction=False) as pipe:
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

    async def logout(self, request: web.Request) -> web.Response:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            await self.redis.delete(_session_key(sid))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE)
        raise response

    # -- helpers ---------------------------------------------------------------------------
    def _guarded(self, route: Route) -> Handler:
        """The route's handler, behind the role the API table gives it (the OpenAPI document shows the same)."""
        handler = getattr(self, route.handler)

        async def guarded(request: web.Request) -> web.StreamResponse:
            user = self.user(request)
            if not user.can(route.role):
                raise ApiError(403, f"role: {user.role} may not do this (needs {route.role})")
            return await handler(request)

        return guarded

    @staticmethod
    def user(request: web.Request) -> User:
        return request[USER]["user"]

    async def channel_states(self, user: User) -> list[dict[str, str]]:
        ids = [as_text(i) for i in await self.redis.zrange(control.CHANNELS_KEY, 0, -1)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(control.state_key(i))
            rows = await pipe.execute()
        out = []
        for row in rows:
            state = as_texts(row)
            if state and user.sees(state.get("tenant")):
                out.append(state)
        return out

    async def channel_state(self, request: web.Request) -> dict[str, str]:
        """The channel named in the URL (see :meth:`state_of`)."""
        return await self.state_of(self.user(request), request.match_info["id"])

    async def state_of(self, user: User, channel: str) -> dict[str, str]:
        """A channel's state, or 404 (also for one of another tenant: it does not exist to this user)."""
        state = as_texts(await self.redis.hgetall(control.state_key(channel)))
        if not state or not user.sees(state.get("tenant")):
            raise ApiError(404, f"channel: {channel!r} not found")
        return state

    async def visible_channel_ids(self, user: User) -> list[str]:
        """Every channel ever published that this user may see (stopped and gone ones too: the audit log)."""
        tenants = as_texts(await self.redis.hgetall(control.TENANTS_KEY))
        return sorted(c for c, t in tenants.items() if user.sees(t))

    async def command(self, request: web.Request, action: str, args: dict[str, Any]) -> web.Response:
        user = self.user(request)
        state = await self.channel_state(request)
        channel = state["id"]
        sid = await control.send_command(self.redis, channel, action, by=user.name, args=args)
        result = await control.wait_result(self.redis, channel, sid, timeout=COMMAND_TIMEOUT)
        if result is None:
            raise ApiError(504, f"channel {channel!r} did not answer within {COMMAND_TIMEOUT:.0f} s")
        ok = result.get("ok") == "1"
        body = {"ok": ok, "action": action, "channel": channel, "detail": result.get("detail", ""), "command": sid}
        return web.json_response(body, status=200 if ok else 422)

    @staticmethod
    async def body(request: web.Request) -> dict[str, Any]:
        if not request.body_exists:  # (not can_read_body: the CSRF check may have read a form already)
            return {}
        if request.content_type == "application/json":
            try:
                data = await request.json()
            except json.JSONDecodeError as e:
                raise ApiError(400, f"body: not JSON ({e.msg})") from None
            if not isinstance(data, dict):
                raise ApiError(400, "body: expected a JSON object")
            return data
        return {k: v for k, v in (await request.post()).items() if k != "csrf_token"}

    @staticmethod
    def text_field(data: dict[str, Any], name: str, *, required: bool = True, limit: int = 500) -> str:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise ApiError(400, f"{name}: required")
            return ""
        if not isinstance(value, str):
            raise ApiError(400, f"{name}: {value!r} must be a string")
        if len(value) > limit:
            raise ApiError(400, f"{name}: {len(value)} characters, at most {limit}")
        return value.strip()

    # -- API: channels ---------------------------------------------------------------------
    async def api_channels(self, request: web.Request) -> web.Response:
        return web.json_response({"channels": [public_state(s) for s in await self.channel_states(self.user(request))]})

    async def api_channel(self, request: web.Request) -> web.Response:
        state = await self.channel_state(request)
        return web.json_response(public_state(state))

    async def api_control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in CONTROL_ACTIONS:
            raise ApiError(404, f"action: {action!r} is not one of {', '.join(CONTROL_ACTIONS)}")
        data = await self.body(request)
        args: dict[str, Any] = {}
        if action == "takeover":
            args["message"] = self.text_field(data, "message", required=False, limit=40)
        elif action == "pin":
            args["sku"] = self.text_field(data, "sku", limit=128)
        return await self.command(request, action, args)

    async def api_say(self, request: web.Request) -> web.Response:
        data = await self.body(request)
        args = {"text": self.text_field(data, "text")}
        if data.get("lang"):
            args["lang"] = self.text_field(data, "lang", limit=8)
        return await self.command(request, "say", args)

    async def api_comment(self, request: web.Request) -> web.Response:
        data = await self.body(request)
        args = {"user": self.text_field(data, "user", required=False, limit=64) or f"test:{self.user(request).name}",
                "text": self.text_field(data, "text")}
        return await self.command(request, "comment", args)

    async def api_transcript(self, request: web.Request) -> web.Response:
        state = await self.channel_state(request)
        limit = _int_param(request, "limit", 100, 1, 1000)
        after = request.query.get("after")
        if after:
            rows = await self.redis.xrange(audit_key(state["id"]), min=f"({after}", count=limit)
        else:
            rows = list(reversed(await self.redis.xrevrange(audit_key(state["id"]), count=limit)))
        return web.json_response({"channel": state["id"], "entries": [
            {"id": as_text(i), **AuditEntry.from_fields(f).__dict__} for i, f in rows]})

    async def api_comments(self, request: web.Request) -> web.Response:
        state = await self.channel_state(request)
        raw = await self.redis.get(control.comments_key(state["id"]))
        return web.json_response({"channel": state["id"], "comments": json.loads(raw) if raw else []})

    async def api_history(self, request: web.Request) -> web.Response:
        state = await self.channel_state(request)
        since = time.time() - _int_param(request, "seconds", 3600, 10, 3600)
        rows = await self.redis.xrange(control.history_key(state["id"]), min=str(int(since * 1000)))
        samples = []
        for _i, f in rows:
            f = as_texts(f)
            samples.append({k: (float(v) if v not in ("", None) else None) for k, v in f.items()})
        return web.json_response({"channel": state["id"], "samples": samples})

    async def api_catalog(self, request: web.Request) -> web.Response:
        state = await self.channel_state(request)
        raw = await self.redis.get(control.catalog_key(state["id"]))
        return web.json_response({"channel": state["id"], **(json.loads(raw) if raw else {"products": []})})

    async def api_frame(self, request: web.Request) -> web.Response:
        state = await self.channel_state(request)
        jpeg = await self.redis.get(control.frame_key(state["id"]))
        if not jpeg:
            raise ApiError(404, f"channel {state['id']!r}: no picture (it is {state.get('state')})")
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    # -- API: catalog import ---------------------------------------------------------------
    async def api_catalog_import(self, request: web.Request) -> web.Response:
        from products.feeds.base import FeedError
        from products.store import CatalogStore, import_source

        user = self.user(request)
        data = await self.body(request)  # a form's file part is spooled to a temporary file by aiohttp
        file, upload = data.pop("file", None), None
        if isinstance(file, web.FileField) and file.filename:
            # the readers pick the format by the file's suffix: keep it
            upload = tempfile.NamedTemporaryFile(suffix=Path(file.filename).suffix.lower()[:8], delete=False)
            with upload:
                await asyncio.to_thread(shutil.copyfileobj, file.file, upload)
            data["source"] = file.filename
        try:
            fmt = data.get("format") or "auto"
            if fmt not in FORMATS:
                raise ApiError(400, f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
            if upload is not None:
                source = upload.name
            else:  # a URL only: a path would let a console user read the server's files
                source = self.text_field(data, "url", limit=2000)
                if not source.lower().startswith(("http://", "https://")):
                    raise ApiError(400, f"url: {source!r} is not an http(s) URL (upload a file instead)")
            channel = str(data.get("channel") or "").strip()
            if channel:
                if channel not in await self.visible_channel_ids(user):
                    raise ApiError(404, f"channel: {channel!r} not found")
            elif not user.can("admin"):
                raise ApiError(403, "channel: only an admin may import the shared catalog; name a channel")
            cs = CatalogStore(self.store.sync(), channel or "shared")
            try:
                result = await import_source(cs, source, fmt, currency=str(data.get("currency") or "CNY"),
                                             force=str(data.get("force", "")).lower() in ("1", "true", "on"))
            except FeedError as e:  # the shape of a result, like `livehost catalog import --json`
                return web.json_response({"imported": 0, "rejected": [], "rejected_count": 0, "scope": cs.scope,
                                          "version": cs.current_version(), "error": str(e)}, status=422, dumps=_dumps)
        finally:
            if upload is not None:
                Path(upload.name).unlink(missing_ok=True)
        body = result.as_json()
        if upload is not None:
            body["source"] = data["source"]
        body["scope"] = cs.scope
        await control.record_action(  # in the audit log with the user, like every control action
            self.redis, cs.scope, "catalog-import", user=user.name, ok=bool(result.imported),
            detail=f"{result.imported} imported, {result.rejected_count} rejected, version {result.version}"
                   + (f"; {result.error}" if result.error else ""),
            args=_dumps({"source": body["source"], "format": result.format}))
        log.info("console: %s imported %s into %s: %s", user.name, body["source"], cs.scope, result.imported)
        return web.json_response(body, status=200 if result.imported else 422, dumps=_dumps)

    # -- API: audit ----------------------------------------------------------------------------
    async def api_audit(self, request: web.Request) -> web.Response:
        """The spoken-sentence log, searched by channel, time and text; ``format=csv`` exports it."""
        user = self.user(request)
        visible = await self.visible_channel_ids(user)
        channel = request.query.get("channel") or ""
        if channel and channel not in visible:
            raise ApiError(404, f"channel: {channel!r} not found")
        since, until = _time_param(request, "since"), _time_param(request, "until")
        text = (request.query.get("q") or "").casefold()
        limit = _int_param(request, "limit", 500, 1, 100_000)
        lo = str(int(since * 1000)) if since else "-"
        hi = str(int(until * 1000)) if until else "+"
        found: list[dict[str, Any]] = []
        for c in [channel] if channel else visible:  # each channel's newest `limit` matches, then the newest of all
            cursor, matched = hi, 0
            while matched < limit:
                rows = await self.redis.xrevrange(audit_key(c), max=cursor, min=lo, count=1000)
                for _i, f in rows:
                    e = AuditEntry.from_fields(f)
                    if (not text or text in e.text.casefold()) and matched < limit:
                        found.append(e.__dict__)
                        matched += 1
                if len(rows) < 1000:
                    break
                cursor = f"({as_text(rows[-1][0])}"
        found.sort(key=lambda e: e["wall_time"], reverse=True)
        found = found[:limit]
        if request.query.get("format") == "csv":
            return _csv(found, "livehost-audit.csv")
        return web.json_response({"entries": found, "count": len(found)})

    async def api_actions(self, request: web.Request) -> web.Response:
        """Control actions (who did what to which channel), newest first."""
        user = self.user(request)
        visible = set(await self.visible_channel_ids(user))
        if user.tenant is None:
            visible.add("shared")  # imports into the shared catalog
        channel = request.query.get("channel") or ""
        limit = _int_param(request, "limit", 200, 1, 10_000)
        out = []
        cursor = "+"
        while len(out) < limit:
            rows = await self.redis.xrevrange(control.ACTIONS_KEY, max=cursor, count=500)
            for sid, f in rows:
                row = as_texts(f)
                if row.get("channel") in visible and (not channel or row["channel"] == channel):
                    out.append({"id": as_text(sid), "wall_time": float(row.get("wall_time", 0)), "channel": row["channel"],
                                "user": row.get("user", ""), "action": row.get("action", ""),
                                "args": json.loads(row.get("args") or "{}"), "ok": row.get("ok") == "1",
                                "detail": row.get("detail", "")})
            if len(rows) < 500:
                break
            cursor = f"({as_text(rows[-1][0])}"
        out = out[:limit]
        if request.query.get("format") == "csv":
            return _csv([{**a, "args": json.dumps(a["args"], ensure_ascii=False)} for a in out], "livehost-actions.csv")
        return web.json_response({"actions": out})

    async def api_me(self, request: web.Request) -> web.Response:
        who = request[USER]
        return web.json_response({**who["user"].public(), "csrf": who["csrf"]})

    async def api_openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi())

    # -- live updates --------------------------------------------------------------------------
    async def api_events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: ``channels`` every second; with ``?channel=ID`` also ``transcript`` and ``comments``."""
        user = self.user(request)
        channel = request.query.get("channel") or ""
        if channel:
            await self.state_of(user, channel)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        last_entry = None
        if channel:
            newest = await self.redis.xrevrange(audit_key(channel), count=20)
            last_entry = as_text(newest[0][0]) if newest else "0-0"
            await _send(response, "transcript", [{"id": as_text(i), **AuditEntry.from_fields(f).__dict__}
                                                 for i, f in reversed(newest)])
        shown_comments = None
        try:
            while True:
                await _send(response, "channels", [public_state(s) for s in await self.channel_states(user)])
                if channel:
                    rows = await self.redis.xrange(audit_key(channel), min=f"({last_entry}", count=200)
                    if rows:
                        last_entry = as_text(rows[-1][0])
                        await _send(response, "transcript", [{"id": as_text(i), **AuditEntry.from_fields(f).__dict__}
                                                             for i, f in rows])
                    raw = await self.redis.get(control.comments_key(channel))
                    if raw and raw != shown_comments:
                        shown_comments = raw
                        await response.write(b"event: comments\ndata: " + raw.replace(b"\n", b" ") + b"\n\n")
                await asyncio.sleep(1.0)
        except ConnectionResetError:
            pass  # the page went away (a shutdown cancels this handler: that propagates)
        return response

    # -- metrics ---------------------------------------------------------------------------------
    async def metrics(self, request: web.Request) -> web.Response:
        states = await self.channel_states(self.user(request))
        return web.Response(text=prometheus(states), content_type="text/plain", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    # -- pages -------------------------------------------------------------------------------------
    def page(self, request: web.Request, template: str, **context: Any) -> web.Response:
        who = request[USER]
        html = self.templates.get_template(template).render(
            user=who["user"], csrf=who["csrf"] or "", can_operate=who["user"].can("operator"),
            is_admin=who["user"].can("admin"), path=request.path, **context)
        return web.Response(text=html, content_type="text/html")

    async def fleet_page(self, request: web.Request) -> web.Response:
        states = await self.channel_states(self.user(request))
        return self.page(request, "fleet.html", channels=sort_fleet([public_state(s) for s in states]))

    async def channel_page(self, request: web.Request) -> web.Response:
        try:
            state = await self.channel_state(request)
        except ApiError:
            raise web.HTTPNotFound(text=f"channel {request.match_info['id']!r} not found") from None
        return self.page(request, "channel.html", channel=public_state(state))

    async def catalog_page(self, request: web.Request) -> web.Response:
        return self.page(request, "catalog.html", channels=await self.visible_channel_ids(self.user(request)),
                         formats=FORMATS)

    async def audit_page(self, request: web.Request) -> web.Response:
        return self.page(request, "audit.html", channels=await self.visible_channel_ids(self.user(request)))


# -- the API table (routes and the OpenAPI document come from it) ------------------------------------
class Route:
    def __init__(self, method: str, path: str, handler: str, summary: str, role: str = "viewer",
                 body: dict | None = None, query: tuple[str, ...] = (), produces: str = "application/json") -> None:
        self.method, self.path, self.handler, self.summary = method, path, handler, summary
        self.role, self.body, self.query, self.produces = role, body, query, produces


_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 500}}}
# specific paths before the generic /{action}: aiohttp matches in this order
API = (
    Route("GET", "/api/me", "api_me", "The logged-in user (and the CSRF token for this session)"),
    Route("GET", "/api/channels", "api_channels", "Every channel this user may see, with its live numbers"),
    Route("GET", "/api/channels/{id}", "api_channel", "One channel's live state"),
    Route("POST", "/api/channels/{id}/say", "api_say", "Say this now (through the same gate as everything)", "operator",
          body={**_TEXT, "properties": {**_TEXT["properties"], "lang": {"type": "string"}}}),
    Route("POST", "/api/channels/{id}/comments", "api_comment", "Inject a test comment", "operator",
          body={**_TEXT, "properties": {**_TEXT["properties"], "user": {"type": "string"}}}),
    Route("POST", "/api/channels/{id}/{action}", "api_control",
          "start | stop | pause | resume | takeover | release | skip | pin | unpin", "operator",
          body={"type": "object", "properties": {"message": {"type": "string", "description": "takeover card text"},
                                                 "sku": {"type": "string", "description": "pin: the product"}}}),
    Route("GET", "/api/channels/{id}/transcript", "api_transcript", "Spoken sentences, oldest first",
          query=("limit", "after")),
    Route("GET", "/api/channels/{id}/comments", "api_comments", "Recent comments with triage decision and reply"),
    Route("GET", "/api/channels/{id}/history", "api_history", "fps, bitrate, queue, reply latency samples",
          query=("seconds",)),
    Route("GET", "/api/channels/{id}/catalog", "api_catalog", "The catalog the channel sells from, as stated now"),
    Route("GET", "/api/channels/{id}/frame.jpg", "api_frame", "The newest picture (about once a second)",
          produces="image/jpeg"),
    Route("POST", "/api/catalog/import", "api_catalog_import",
          "Import a catalog from an uploaded file (multipart 'file') or a URL ('url'); rejected rows listed",
          "operator", body={"type": "object", "properties": {
              "url": {"type": "string"}, "channel": {"type": "string", "description": "empty: the shared catalog (admin)"},
              "format": {"type": "string", "enum": list(FORMATS)}, "currency": {"type": "string"},
              "force": {"type": "boolean"}}}),
    Route("GET", "/api/audit", "api_audit", "Search the spoken-sentence log (format=csv to export)",
          query=("channel", "since", "until", "q", "limit", "format")),
    Route("GET", "/api/audit/actions", "api_actions", "Control actions with the user who did them (format=csv)",
          query=("channel", "limit", "format")),
    Route("GET", "/api/events", "api_events", "Server-sent events: channels, transcript, comments",
          query=("channel",), produces="text/event-stream"),
    Route("GET", "/api/openapi.json", "api_openapi", "This document"),
)


def openapi() -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for route in API:
        op: dict[str, Any] = {
            "summary": route.summary,
            "operationId": route.handler,
            "x-livehost-role": route.role,
            "responses": {"200": {"description": "OK", "content": {route.produces: {}}},
                          "401": {"description": "not logged in"}, "403": {"description": "role or CSRF"},
                          "404": {"description": "no such channel (or not this user's tenant)"}},
            "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                           for n in ("id", "action") if "{" + n + "}" in route.path]
            + [{"name": q, "in": "query", "schema": {"type": "string"}} for q in route.query],
        }
        if route.body:
            op["requestBody"] = {"content": {"application/json": {"schema": route.body}}}
            op["responses"]["422"] = {"description": "refused: the channel's answer says why"}
        paths.setdefault(route.path, {})[route.method.lower()] = op
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics (Bearer token)", "operationId": "metrics",
                                 "responses": {"200": {"description": "text exposition format"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "livehost console API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "cookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}}},
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
    }


# -- shaping -----------------------------------------------------------------------------------------
_NUMBERS = ("uptime_seconds", "media_seconds", "fps", "kbps", "frames_sent", "frames_dropped", "queue_depth", "spoken",
            "cut", "reconnects", "comments_per_minute", "reply_p50_ms", "reply_p95_ms", "av_offset_ms", "errors",
            "updated")
PROBLEM_STATES = ("failed", "reconnecting", "takeover", "paused", "stopped", "starting")


def public_state(state: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in state.items():
        if k in _NUMBERS:
            out[k] = float(v) if v not in ("", None) else None
        elif k in ("next", "reply_histogram"):
            out[k] = json.loads(v) if v else None
        else:
            out[k] = v
    out["alerts"] = alerts(out)
    return out


def alerts(s: dict[str, Any]) -> list[str]:
    found = []
    if s.get("state") == "failed":
        found.append(f"failed: {s.get('last_error') or 'see the log'}")
    if s.get("state") == "reconnecting":
        found.append("output reconnecting")
    if (s.get("frames_dropped") or 0) > 0:
        found.append(f"{int(s['frames_dropped'])} frames dropped")
    if s.get("av_offset_ms") is not None and abs(s["av_offset_ms"]) > 100:
        found.append(f"A/V offset {s['av_offset_ms']:.0f} ms")
    if (s.get("reply_p95_ms") or 0) > 5000:
        found.append(f"slow replies (p95 {s['reply_p95_ms'] / 1000:.1f} s)")
    if s.get("last_error") and s.get("state") != "failed":
        found.append(s["last_error"])
    return found


def sort_fleet(channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems on top: failed first, then other trouble, then by alert count, then by id."""
    def rank(c: dict[str, Any]) -> tuple:
        state = c.get("state", "")
        return (PROBLEM_STATES.index(state) if state in PROBLEM_STATES else len(PROBLEM_STATES),
                -len(c["alerts"]), c.get("id", ""))
    return sorted(channels, key=rank)


def prometheus(states: list[dict[str, str]]) -> str:
    series: dict[str, tuple[str, str, list[str]]] = {}

    def add(name: str, kind: str, help_: str, labels: str, value: Any) -> None:
        series.setdefault(name, (kind, help_, []))[2].append(f"{name}{{{labels}}} {value}")

    for s in states:
        labels = f'channel="{_label(s.get("id", ""))}",tenant="{_label(s.get("tenant", ""))}"'
        num = lambda k: float(s[k]) if s.get(k) not in ("", None) else None  # noqa: E731
        add("livehost_channel_up", "gauge", "1 while the channel is on air (live, paused or taken over)", labels,
            int(s.get("state") in ("live", "paused", "takeover")))
        for state in ("starting", "live", "reconnecting", "paused", "takeover", "stopped", "failed"):
            add("livehost_channel_state", "gauge", "the channel's state (1 for the current one)",
                f'{labels},state="{state}"', int(s.get("state") == state))
        for key, name, kind, help_, scale in (
            ("fps", "livehost_channel_fps", "gauge", "output frames per second", 1),
            ("kbps", "livehost_channel_bitrate_kbps", "gauge", "output bitrate, kbit/s", 1),
            ("frames_sent", "livehost_channel_frames_sent_total", "counter", "frames sent this run", 1),
            ("frames_dropped", "livehost_channel_frames_dropped_total", "counter", "frames dropped this run", 1),
            ("av_offset_ms", "livehost_channel_av_offset_seconds", "gauge", "audio ahead of video in the output", 1e-3),
            ("queue_depth", "livehost_channel_speech_queue_depth", "gauge", "sentences waiting to be spoken", 1),
            ("comments_per_minute", "livehost_channel_comments_per_minute", "gauge", "viewer comments per minute", 1),
            ("errors", "livehost_channel_errors_total", "counter", "output outages and failed sentences this run", 1),
            ("reconnects", "livehost_channel_reconnects_total", "counter", "output reconnects this run", 1),
            ("uptime_seconds", "livehost_channel_uptime_seconds", "gauge", "seconds on air this run", 1),
        ):
            value = num(key)
            if value is not None:
                add(name, kind, help_, labels, _num(value * scale))
        hist = json.loads(s["reply_histogram"]) if s.get("reply_histogram") else None
        if hist:
            name = "livehost_channel_reply_latency_seconds"
            for le, count in zip([*hist["le"], "+Inf"], hist["counts"]):
                add(f"{name}_bucket", "histogram", "comment to approved reply", f'{labels},le="{le}"', count)
            add(f"{name}_sum", "histogram", "", labels, hist["sum"])
            add(f"{name}_count", "histogram", "", labels, hist["counts"][-1])
    lines = []
    for name, (kind, help_, rows) in series.items():
        if not name.endswith(("_sum", "_count")):
            base = name.removesuffix("_bucket")
            lines += [f"# HELP {base} {help_}", f"# TYPE {base} {kind}"]
        lines += rows
    return "\n".join(lines) + "\n"


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(round(v, 6))


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name}: {raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"{name}: {value} is not between {lo} and {hi}")
    return value


def _time_param(request: web.Request, name: str) -> float | None:
    """Unix seconds, or an ISO 8601 date-time (a time zone offset or Z; the browser sends local time with one)."""
    from datetime import datetime, timezone

    raw = (request.query.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name}: {raw!r} is not unix seconds or an ISO 8601 date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _csv(rows: list[dict[str, Any]], filename: str) -> web.Response:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


async def _send(response: web.StreamResponse, event: str, data: Any) -> None:
    await response.write(f"event: {event}\ndata: {_dumps(data)}\n\n".encode())


# -- running it ------------------------------------------------------------------------------------------
async def start_console(store: Store, home: Path, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve the console; returns the runner (``await runner.cleanup()`` to stop) and its URL."""
    console = Console(store, home)
    runner = web.AppRunner(console.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise OSError(f"console: cannot listen on {host}:{port}: {e.strerror or e} "
                      f"(--console-port to pick another, --no-console to run without it)") from None
    bound = site._server.sockets[0].getsockname()[1] if port == 0 else port  # noqa: SLF001 - the port picked
    shown = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown}:{bound}/"


def first_start_hint(home: Path) -> str | None:
    """What to print when no admin exists yet (there is no default password)."""
    if UserStore(home).has_admin():
        return None
    return ("no console users yet: create the admin with\n"
            f"    {_command()} user add admin --role admin\n"
            f"  (it asks for a password; users are kept in {Path(home) / 'users.json'})")


def _command() -> str:
    """How this shell reaches the livehost command (it may live in a venv that is not on PATH)."""
    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    found = shutil.which("livehost")
    if here is not None and here.name == "livehost":
        if found and Path(found).resolve() == here:
            return "livehost"
        return os.path.relpath(here) if not os.path.relpath(here).startswith("..") else str(here)
    return "livehost" if found else f"{sys.executable} -m livehost"


__all__ = ["Console", "start_console", "first_start_hint", "openapi", "prometheus", "ROLES"]
