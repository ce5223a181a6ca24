"""The operations console: pages, a JSON API, live updates and metrics, all read from Redis.

The console holds no state of its own.  Channels publish their state to
Redis and read their commands from it (:mod:`livehost.app.control`); login
sessions and login-failure counters live there too, and users in
``$LIVEHOST_HOME/users.json`` (:mod:`dashboards.users`).  Any number of
consoles can serve the same fleet.

Access (:mod:`dashboards.auth`): a session cookie from the login form, or
``Authorization: Bearer <token>`` for scripts and Prometheus.  Viewers read,
operators control channels and import catalogs, admins also import the
shared catalog (:mod:`dashboards.routes`).  A user with a tenant sees only
that tenant's channels; anything else is answered 404, as if it did not exist.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
from pathlib import Path

from aiohttp import web
from redis.exceptions import RedisError

from dashboards import auth, pages
from dashboards.context import HERE, Console
from dashboards.health import healthz
from dashboards.http import MAX_BODY, ApiError, user_of
from dashboards.metrics import metrics
from dashboards.routes import API, Route
from dashboards.users import UserStore
from livehost.core.settings import Settings
from livehost.core.store import Store
from products.feeds.sources import FeedAccess

log = logging.getLogger(__name__)


@web.middleware
async def _errors(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
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


def _guarded(console: Console, route: Route) -> auth.Handler:
    """The route's handler, behind the role the API table gives it (the OpenAPI document shows the same)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        user = user_of(request)
        if not user.can(route.role):
            raise ApiError(403, f"role: {user.role} may not do this (needs {route.role})")
        return await route.handler(console, request)

    return guarded


def build_app(console: Console) -> web.Application:
    app = web.Application(middlewares=[_errors, auth.middleware(console)], client_max_size=MAX_BODY)
    bind = functools.partial
    r = app.router
    r.add_get("/login", bind(auth.login_page, console))
    r.add_post("/login", bind(auth.login, console))
    r.add_post("/logout", bind(auth.logout, console))
    r.add_get("/", bind(pages.fleet_page, console))
    r.add_get("/channels/{id}", bind(pages.channel_page, console))
    r.add_get("/catalog", bind(pages.catalog_page, console))
    r.add_get("/audit", bind(pages.audit_page, console))
    r.add_static("/static", HERE / "static", append_version=True)
    for route in API:
        r.add_route(route.method, route.path, _guarded(console, route))
    r.add_get("/metrics", bind(metrics, console))
    r.add_get("/healthz", bind(healthz, console))

    async def close(_app: web.Application) -> None:
        await console.close()

    app.on_cleanup.append(close)
    return app


async def start_console(store: Store, home: Path, host: str, port: int,
                        feed_access: FeedAccess | None = None) -> tuple[web.AppRunner, str]:
    """Serve the console; returns the runner (``await runner.cleanup()`` to stop) and its URL."""
    runner = web.AppRunner(build_app(Console(store, home, feed_access)), access_log=None, handle_signals=False,
                           shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise OSError(f"console: cannot listen on {host}:{port}: {e.strerror or e} "
                      f"(--console-port to pick another, --no-console to run without it)") from None
    bound = site._server.sockets[0].getsockname()[1] if port == 0 else port  # type: ignore[union-attr]  # noqa: SLF001
    shown = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown}:{bound}/"


class WebConsole:
    """The console as livehost's service takes it (:class:`livehost.app.service.ConsoleStarter`)."""

    async def start(self, store: Store, settings: Settings, host: str, port: int) -> tuple[web.AppRunner, str]:
        return await start_console(store, settings.home, host, port, FeedAccess.from_settings(settings))

    def first_start_hint(self, home: Path) -> str | None:
        return first_start_hint(home)


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


