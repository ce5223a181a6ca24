"""Live updates: server-sent events fed from Redis (``/api/events``)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from dashboards.api import transcript_rows
from dashboards.context import Console
from dashboards.http import send_event, user_of
from dashboards.states import public_state
from livehost.core import keys
from livehost.core.store import as_bytes, as_text, stream_entries

EVERY = 1.0  # seconds between updates


async def api_events(console: Console, request: web.Request) -> web.StreamResponse:
    """``channels`` every second; with ``?channel=ID`` also ``transcript`` (new sentences) and ``comments``."""
    user = user_of(request)
    channel = request.query.get("channel") or ""
    if channel:
        await console.state_of(user, channel)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    redis = console.redis
    last_entry = None
    if channel:
        newest = stream_entries(await redis.xrevrange(keys.audit(channel), count=20))
        last_entry = as_text(newest[0][0]) if newest else "0-0"
        await send_event(response, "transcript", transcript_rows(list(reversed(newest))))
    shown_comments = None
    try:
        while True:
            await send_event(response, "channels", [public_state(s) for s in await console.channel_states(user)])
            if channel:
                rows = stream_entries(await redis.xrange(keys.audit(channel), min=f"({last_entry}", count=200))
                if rows:
                    last_entry = as_text(rows[-1][0])
                    await send_event(response, "transcript", transcript_rows(rows))
                raw = await redis.get(keys.comments(channel))
                if raw and raw != shown_comments:
                    shown_comments = raw
                    await response.write(b"event: comments\ndata: " + as_bytes(raw).replace(b"\n", b" ") + b"\n\n")
            await asyncio.sleep(EVERY)
    except ConnectionResetError:
        pass  # the page went away (a shutdown cancels this handler: that propagates)
    return response
