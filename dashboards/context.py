"""What every console handler works with: the store, the users, the templates, and the channels a user may see."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from dashboards.http import USER, ApiError, user_of
from dashboards.users import User, UserStore
from livehost.app.control.protocol import send_command, wait_result
from livehost.core import keys
from livehost.core.store import Store, as_text, as_texts
from products.feeds.sources import FeedAccess

HERE = Path(__file__).parent
COMMAND_TIMEOUT = 5.0


UNREACHABLE_SHOWN = 300  # seconds a channel that stopped reporting is still listed (as unreachable)
# one client for every request and live page: this many Redis connections at most, the rest wait their turn
REDIS_CONNECTIONS = 128
SHARED_SECONDS = 0.5  # live pages share one read of the same thing within this long


class SharedReads:
    """One Redis read shared by every caller asking for the same key within ``ttl`` seconds (one in flight).

    500 dashboards each polling the fleet every second would be 500 reads a second of the same keys; shared,
    they are two.  Keys are few (the fleet, and a tail per channel), and the table is emptied when it grows past
    ``limit``."""

    def __init__(self, ttl: float = SHARED_SECONDS, limit: int = 4096) -> None:
        self.ttl, self.limit = ttl, limit
        self._cache: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        if len(self._locks) > self.limit:
            self._cache.clear()
            self._locks = {k: lock for k, lock in self._locks.items() if lock.locked()}
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]  # read by whoever held the lock meanwhile
            value = await fetch()
            self._cache[key] = (time.monotonic(), value)
            return value


class Console:
    """The console's state: none of its own beyond connections; everything is read from the store."""

    def __init__(self, store: Store, home: Path, feed_access: FeedAccess | None = None) -> None:
        self.store = store
        self.home = Path(home)
        self.feed_access = feed_access or FeedAccess()  # how catalog imports read feeds
        self.users = UserStore(self.home)
        self.redis = store.aio(max_connections=REDIS_CONNECTIONS)
        self.shared = SharedReads()  # what live pages read every second
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined)

    async def close(self) -> None:
        await self.redis.aclose()

    async def channel_states(self, user: User, *, shared: bool = False) -> list[dict[str, str]]:
        """Every channel ``user`` may see, with its published state; ``shared``: from a read at most
        :data:`SHARED_SECONDS` old that other live pages share."""
        if shared:
            everyone = await self.shared.get("fleet", lambda: self._fleet_states(User("", "admin")))
            return [s for s in everyone if user.sees(s.get("tenant"))]
        return await self._fleet_states(user)

    async def _fleet_states(self, user: User) -> list[dict[str, str]]:
        ids = [as_text(i) for i in await self.redis.zrange(keys.CHANNELS, 0, -1)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(keys.state(i))
            rows = await pipe.execute()
        tenants: dict[str, str] | None = None
        out = []
        for i, row in zip(ids, rows):
            state = as_texts(row)
            if state:
                if user.sees(state.get("tenant")):
                    out.append(state)
                continue
            # published before, silent now: its process is gone or cannot reach Redis (the hash expired)
            seen = await self.redis.zscore(keys.CHANNELS, i)
            age = time.time() - float(seen or 0)
            if age > UNREACHABLE_SHOWN:
                continue
            if tenants is None:
                tenants = as_texts(await self.redis.hgetall(keys.TENANTS))
            if user.sees(tenants.get(i)):
                out.append({"id": i, "tenant": tenants.get(i, ""), "state": "unreachable",
                            "last_error": f"no report for {age:.0f} s: its process stopped, or cannot reach Redis"})
        return out

    async def channel_state(self, request: web.Request) -> dict[str, str]:
        """The channel named in the URL (see :meth:`state_of`)."""
        return await self.state_of(user_of(request), request.match_info["id"])

    async def state_of(self, user: User, channel: str) -> dict[str, str]:
        """A channel's state, or 404 (also for one of another tenant: it does not exist to this user)."""
        state = as_texts(await self.redis.hgetall(keys.state(channel)))
        if not state or not user.sees(state.get("tenant")):
            raise ApiError(404, f"channel: {channel!r} not found")
        return state

    async def nodes(self, user: User) -> list[dict[str, Any]]:
        """The cluster's nodes and their load.  A user of one tenant sees only the nodes running its channels,
        named, without the load (which counts other tenants' channels)."""
        raw = await self.redis.get(keys.NODES)
        if not raw:
            return []
        rows = json.loads(raw)
        if user.tenant is None:
            return rows
        visible = set(await self.visible_channel_ids(user))
        found = []
        for row in rows:
            mine = [c for c in row["channels"] if c in visible]
            if mine:
                found.append({"id": row["id"], "resources": row["resources"], "channels": mine})
        return found

    async def visible_channel_ids(self, user: User) -> list[str]:
        """Every channel ever published that this user may see (stopped and gone ones too: the audit log)."""
        tenants = as_texts(await self.redis.hgetall(keys.TENANTS))
        return sorted(c for c, t in tenants.items() if user.sees(t))

    async def command(self, request: web.Request, action: str, args: dict[str, Any]) -> web.Response:
        """Send a command to the channel in the URL and answer with its result (422 refused, 504 no answer)."""
        state = await self.channel_state(request)
        channel = state["id"]
        sid = await send_command(self.redis, channel, action, by=user_of(request).name, args=args)
        result = await wait_result(self.redis, channel, sid, timeout=COMMAND_TIMEOUT)
        if result is None:
            raise ApiError(504, f"channel {channel!r} did not answer within {COMMAND_TIMEOUT:.0f} s")
        ok = result.get("ok") == "1"
        answer = {"ok": ok, "action": action, "channel": channel, "detail": result.get("detail", ""), "command": sid}
        return web.json_response(answer, status=200 if ok else 422)

    def page(self, request: web.Request, template: str, **context: Any) -> web.Response:
        who = request[USER]
        html = self.templates.get_template(template).render(
            user=who["user"], csrf=who["csrf"] or "", can_operate=who["user"].can("operator"),
            is_admin=who["user"].can("admin"), path=request.path, **context)
        return web.Response(text=html, content_type="text/html")
