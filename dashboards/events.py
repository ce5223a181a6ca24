"""Live updates: server-sent events fed from Redis (``/api/events``)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.exceptions import RedisError

from dashboards.api import transcript_rows
from dashboards.context import Console
from dashboards.http import send_event, user_of
from dashboards.states import public_state
from livehost.core import keys
from livehost.core.store import as_bytes, as_text, stream_entries

EVERY = 1.0  # seconds between updates
TAIL = 50  # newest spoken sentences read once for every live page of a channel


async def api_events(console: Console, request: web.Request) -> web.StreamResponse:
    """``channels`` every second; with ``?channel=ID`` also ``transcript`` (new sentences) and ``comments``.

    A store that stops answering does not end the stream: each second it cannot be read the page gets ``store``
    (the error), and the updates go on when it answers again."""
    user = user_of(request)
    channel = request.query.get("channel") or ""
    redis = console.redis
    last_entry = ""
    newest: list = []
    if channel:  # read before the stream starts: a failure here is still a proper error response
        await console.state_of(user, channel)
        newest = stream_entries(await redis.xrevrange(keys.audit(channel), count=20))
        last_entry = as_text(newest[0][0]) if newest else "0-0"
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    if channel:
        await send_event(response, "transcript", transcript_rows(list(reversed(newest))))
    shown_comments = None
    try:
        while True:
            try:
                # every live page reads the same fleet, transcript tail and comments: shared reads, not one each
                states = await console.channel_states(user, shared=True)
                await send_event(response, "channels", [public_state(s) for s in states])
                if channel:
                    rows = await _new_entries(console, channel, last_entry)
                    if rows:
                        last_entry = as_text(rows[-1][0])
                        await send_event(response, "transcript", transcript_rows(rows))
                    raw = await console.shared.get(f"comments:{channel}", lambda: redis.get(keys.comments(channel)))
                    if raw and raw != shown_comments:
                        shown_comments = raw
                        await response.write(b"event: comments\ndata: " + as_bytes(raw).replace(b"\n", b" ") + b"\n\n")
            except RedisError as e:
                await send_event(response, "store", {"error": f"store unavailable: {e}"})
            await asyncio.sleep(EVERY)
    except ConnectionResetError:
        pass  # the page went away (a shutdown cancels this handler: that propagates)
    return response


async def _new_entries(console: Console, channel: str, after: str) -> list:
    """The channel's spoken sentences after ``after``, from a tail of the newest :data:`TAIL` that every page of
    the channel shares (a page that fell further behind reads its own)."""
    redis = console.redis
    tail = await console.shared.get(f"tail:{channel}", lambda: redis.xrevrange(keys.audit(channel), count=TAIL))
    entries = stream_entries(list(reversed(tail)))
    if not entries or _sid(as_text(entries[0][0])) <= _sid(after) or len(entries) < TAIL:
        return [e for e in entries if _sid(as_text(e[0])) > _sid(after)]
    return stream_entries(await redis.xrange(keys.audit(channel), min=f"({after}", count=200))


def _sid(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms or 0), int(seq or 0)

