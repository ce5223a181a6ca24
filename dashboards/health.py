"""``GET /healthz``: for load balancers and container health checks; no token, no names, only counts.

200 ``ok``: the store answers and no channel failed; 200 ``degraded``: some
channel failed while others are on air; 503: the store does not answer, or
channels exist and none is on air.
"""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from dashboards.context import Console
from livehost.core import keys
from livehost.core.states import ChannelState
from livehost.core.store import as_text

ON_AIR = {c.value for c in ChannelState if c.on_air}


async def healthz(console: Console, request: web.Request) -> web.Response:
    try:
        ids = [as_text(i) for i in await console.redis.zrange(keys.CHANNELS, 0, -1)]
        async with console.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hget(keys.state(i), "state")
            states = [as_text(s) if s is not None else "" for s in await pipe.execute()]
    except (RedisError, OSError) as e:
        return web.json_response({"status": "down", "store": f"unreachable: {type(e).__name__}"}, status=503,
                                 headers={"Cache-Control": "no-store"})
    on_air = sum(s in ON_AIR for s in states)
    failed = sum(s == ChannelState.FAILED.value for s in states)
    status = "ok" if not failed else "degraded"
    if states and not on_air and failed:
        status = "down"
    body = {"status": status, "store": "ok", "channels": {"total": len(states), "on_air": on_air, "failed": failed}}
    return web.json_response(body, status=503 if status == "down" else 200, headers={"Cache-Control": "no-store"})
