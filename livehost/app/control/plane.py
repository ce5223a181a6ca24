"""A channel's side of the control plane: its state published every second, its commands carried out.

The console (and any other tool) holds no state of its own: it reads what
channels publish here and writes commands (:mod:`.protocol`).

* ``livehost:channel:<id>``: a hash with the channel's state, refreshed every
  second and expiring after :data:`STATE_TTL` seconds, so a channel whose
  process died shows as gone rather than frozen "live";
* ``livehost:channels``: channel ids by last update time;
* ``:frame`` (the newest picture as a small JPEG, about once a second,
  expiring), ``:history`` (one sample a second of fps, bitrate, queue and
  reply latency, the last hour), ``:comments`` (recent comments with their
  triage decision and reply), ``:catalog`` (as the host states it now).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from typing import Any, Protocol

from redis.exceptions import RedisError

from livehost.app.config import ChannelConfig
from livehost.app.control.protocol import COMMAND_MAX_AGE, record_action
from livehost.app.session import ChannelSession
from livehost.core import keys
from livehost.core.chain import ChainWriter
from livehost.core.metrics import PerMinute
from livehost.core.states import ChannelState
from livehost.core.store import as_text, as_texts
from livehost.core.tasks import cancel_requested
from streaming.preview import preview_jpeg

log = logging.getLogger(__name__)

STATE_TTL = 10
HISTORY_MAX = 3600  # one sample a second: the last hour
RESULTS_MAX = 1000
HISTORY_FIELDS = ("updated", "fps", "kbps", "queue_depth", "frames_dropped", "reply_p50_ms", "reply_p95_ms",
                  "av_offset_ms")


class Controlled(Protocol):
    """What the control plane needs of a channel (its runner)."""

    channel: str
    config: ChannelConfig
    session: ChannelSession | None
    last_error: str | None

    @property
    def state(self) -> ChannelState: ...

    def execute(self, action: str, args: dict[str, Any], *, user: str = "") -> str: ...


def snapshot(session: ChannelSession, comments_per_minute: float = 0.0) -> dict[str, str]:
    """The fields a dashboard shows, as strings (a Redis hash)."""
    stats = session.stats()
    p50, p95 = session.comments.latency()
    sku = session.current_sku()
    product = session.catalog.get(sku) if sku else None
    upcoming = [h.speech.text for h in session.queue.upcoming(3)]
    av = session.output.av_offset
    fields: dict[str, Any] = {
        "id": session.config.id,
        "tenant": session.config.tenant,
        "where": where(),
        "state": stats.state,
        "uptime_seconds": round(time.monotonic() - session.started_wall, 1) if session.started_wall else 0,
        "media_seconds": round(stats.media_seconds, 2),
        "product_sku": product.sku if product else "",
        "product_title": product.title if product else "",
        "fps": round(stats.fps, 2),
        "kbps": round(stats.kbps, 1),
        "frames_sent": stats.frames_sent,
        "frames_dropped": stats.frames_dropped,
        "render_dropped": stats.render_dropped,
        "queue_depth": stats.queue_depth,
        "speaking": stats.speaking or "",
        "next": json.dumps(upcoming, ensure_ascii=False),
        "spoken": stats.spoken,
        "cut": stats.cut,
        "reconnects": stats.reconnects,
        "av_offset_ms": "" if av is None else round(av * 1000, 1),
        "errors": session.errors,
        "pinned": session.pinned or "",
        "reply_histogram": session.comments.histogram.as_json(),
        "comments_per_minute": round(comments_per_minute, 1),
        "reply_p50_ms": "" if p50 is None else round(p50 * 1000, 1),
        "reply_p95_ms": "" if p95 is None else round(p95 * 1000, 1),
        "last_error": session.last_error or "",
        "output": "obs" if session.obs else session.config.output.url if not session.config.output.is_rtmp else "rtmp",
        "chat": json.dumps(session.chat.status(), ensure_ascii=False) if session.chat is not None else "",
        "obs": json.dumps(session.obs.status(), ensure_ascii=False) if session.obs is not None else "",
        "supervision": json.dumps(session.supervision.status()) if session.supervision is not None else "",
        "updated": round(time.time(), 3),
    }
    return {k: str(v) for k, v in fields.items()}


def where() -> str:
    """Where this process runs: the cluster node a Ray actor set in LIVEHOST_NODE, else the host and pid."""
    return os.environ.get("LIVEHOST_NODE") or f"{socket.gethostname()} pid {os.getpid()}"


def stopped_snapshot(channel: str, tenant: str, state: ChannelState, last_error: str | None) -> dict[str, str]:
    """What a channel that is not running shows (stopped, or failed with its error)."""
    return {"id": channel, "tenant": tenant, "state": str(state), "where": where(), "last_error": last_error or "", "fps": "0",
            "kbps": "0", "queue_depth": "0", "speaking": "", "next": "[]", "updated": str(round(time.time(), 3))}


def comments_json(session: ChannelSession, count: int = 50) -> str:
    recent = list(session.comments.recent)[-count:]
    return json.dumps(recent, ensure_ascii=False, default=str)


def catalog_json(session: ChannelSession) -> str:
    catalog = session.catalog
    return json.dumps({"version": catalog.version, "source": catalog.source, "scope": session.catalog_scope,
                       "products": [p.model_dump(mode="json") for p in catalog]}, ensure_ascii=False, default=str)


async def publish(client: Any, runner: Controlled, every: float = 1.0) -> None:
    """Keep the channel's state, preview, history and comments fresh in Redis until cancelled."""
    channel = runner.channel
    comments = PerMinute()
    shown_catalog = shown_comments = None
    on_air = True  # so that the first stopped state clears whatever an earlier process left
    while True:
        session = runner.session
        try:
            async with client.pipeline(transaction=False) as pipe:
                if session is not None and session.started_wall is not None:
                    rate = comments.update(session.comments.triage.stats()["received"], time.monotonic())
                    fields = snapshot(session, rate)
                    picture = session.last_picture
                    if picture is not None:
                        jpeg = await asyncio.to_thread(preview_jpeg, picture, session.config.width, session.config.height)
                        pipe.set(keys.frame(channel), jpeg, ex=STATE_TTL)
                    pipe.xadd(keys.history(channel), {k: fields[k] for k in HISTORY_FIELDS}, maxlen=HISTORY_MAX,
                              approximate=True)
                    recent, catalog = comments_json(session), session.catalog
                    if recent != shown_comments:  # written when changed, remembered once written
                        pipe.set(keys.comments(channel), recent)
                    if catalog is not shown_catalog:  # as the host states it now (flash-sale prices too)
                        pipe.set(keys.channel_catalog(channel), catalog_json(session))
                else:
                    session = None
                    fields = stopped_snapshot(channel, runner.config.tenant, runner.state, runner.last_error)
                    if on_air:
                        pipe.delete(keys.state(channel))  # no stale numbers from the last run
                pipe.hset(keys.state(channel), mapping=fields)
                pipe.expire(keys.state(channel), STATE_TTL)
                pipe.zadd(keys.CHANNELS, {channel: time.time()})
                pipe.hset(keys.TENANTS, channel, runner.config.tenant)
                await pipe.execute()
            if session is not None:
                shown_comments, shown_catalog, on_air = recent, catalog, True
            else:
                on_air = False
        except (RedisError, OSError) as e:
            if cancel_requested():
                raise asyncio.CancelledError from e
            log.warning("channel %s: cannot publish state: %s", channel, e)
        await asyncio.sleep(every)


async def follow_commands(client: Any, runner: Controlled) -> None:
    """Carry out commands for this channel until cancelled: those sent from now on, never an earlier run's."""
    channel = runner.channel
    newest = await client.xrevrange(keys.control(channel), count=1)  # Redis's clock, not this host's
    last = as_text(newest[0][0]) if newest else "0-0"
    while True:
        try:
            got = await client.xread({keys.control(channel): last}, block=1000, count=50)
        except (RedisError, OSError) as e:
            if cancel_requested():  # the cancel arrived inside redis-py, which turned it into this error
                raise asyncio.CancelledError from e
            log.warning("channel %s: cannot read commands: %s", channel, e)
            await asyncio.sleep(1.0)
            continue
        for _stream, entries in got or ():
            for sid, fields in entries:
                last = as_text(sid)
                await _run_one(client, runner, last, as_texts(fields))


async def _run_one(client: Any, runner: Controlled, sid: str, row: dict[str, str]) -> None:
    action, user = row.get("action", ""), row.get("user", "")
    ok, detail = True, ""
    try:
        sent = float(row.get("sent") or 0)
        if time.time() - sent > COMMAND_MAX_AGE:
            raise ValueError(f"sent {time.time() - sent:.0f} s ago: too old to carry out")
        args = json.loads(row.get("args") or "{}")
        if not isinstance(args, dict):
            raise ValueError("args: not a JSON object")
        detail = runner.execute(action, args, user=user)
    except (ValueError, json.JSONDecodeError) as e:
        ok, detail = False, str(e)
    except Exception as e:  # noqa: BLE001 - a bad command must not take the channel down
        log.exception("channel %s: command %s failed", runner.channel, action)
        ok, detail = False, f"{type(e).__name__}: {e}"
    log.info("channel %s: %s by %s: %s", runner.channel, action, user, detail)
    result = {"id": sid, "ok": "1" if ok else "0", "detail": detail, "action": action, "user": user}
    async with client.pipeline(transaction=False) as pipe:
        pipe.xadd(keys.results(runner.channel), result, maxlen=RESULTS_MAX, approximate=True)
        record_action(pipe, runner.channel, action, user=user, ok=ok, detail=detail, args=row.get("args", "{}"), id=sid)
        await pipe.execute()
    try:  # and into the channel's tamper-evident chain (signed at its next checkpoint)
        await ChainWriter(client, runner.channel).append("control", {
            "action": action, "user": user, "ok": ok, "detail": detail, "args": row.get("args", "{}"), "id": sid})
    except RedisError as e:
        log.error("channel %s: control action %s not chained: %r", runner.channel, action, e)
