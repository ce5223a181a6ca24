"""A channel's control plane in Redis: its live state out, operator commands in.

The console (and any other tool) holds no state of its own: it reads what
channels publish here and writes commands here.

* ``livehost:channel:<id>``: a hash with the channel's state, refreshed every
  second and expiring after :data:`STATE_TTL` seconds, so a channel whose
  process died shows as gone rather than frozen "live".
* ``livehost:channels``: a sorted set of channel ids by last update time.
* ``livehost:control:<id>``: a stream of commands, each with ``action``,
  ``user`` and ``args`` (JSON); the channel answers each one in
  ``livehost:control:<id>:results`` (``id`` = the command's stream id, ``ok``,
  ``detail``).
* ``livehost:actions``: every command carried out, with its user, for the audit
  page.
* ``livehost:channel:<id>:frame``: the newest picture as a small JPEG (about
  once a second, expiring); ``:history``: one sample a second of fps,
  bitrate, queue and reply latency (the last hour); ``:comments``: the recent
  comments with their triage decision and reply (JSON).

Streams are capped (``MAXLEN ~``); commands older than :data:`COMMAND_MAX_AGE`
seconds when the channel reads them are refused, not replayed.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from livehost.metrics import PerMinute

if TYPE_CHECKING:
    from livehost.runner import ChannelRunner
    from livehost.session import ChannelSession

log = logging.getLogger(__name__)

STATE_TTL = 10
COMMAND_MAX_AGE = 30.0
STREAM_MAX = 10_000
HISTORY_MAX = 3600  # one sample a second: the last hour
HISTORY_FIELDS = ("updated", "fps", "kbps", "queue_depth", "frames_dropped", "reply_p50_ms", "reply_p95_ms",
                  "av_offset_ms")
PREVIEW_WIDTH = 270
ACTIONS_KEY = "livehost:actions"
CHANNELS_KEY = "livehost:channels"
TENANTS_KEY = "livehost:channel-tenants"  # channel -> tenant, kept after the channel is gone (audit access)


def state_key(channel: str) -> str:
    return f"livehost:channel:{channel}"


def frame_key(channel: str) -> str:
    return f"{state_key(channel)}:frame"


def history_key(channel: str) -> str:
    return f"{state_key(channel)}:history"


def catalog_key(channel: str) -> str:
    return f"{state_key(channel)}:catalog"



def comments_key(channel: str) -> str:
    return f"{state_key(channel)}:comments"


def control_key(channel: str) -> str:
    return f"livehost:control:{channel}"


def results_key(channel: str) -> str:
    return f"{control_key(channel)}:results"



def snapshot(session: ChannelSession, comments_per_minute: float = 0.0) -> dict[str, str]:
    """The fields a dashboard shows, as strings (a Redis hash)."""
    stats = session.stats()
    p50, p95 = session.reply_latency()
    sku = session.current_sku()
    product = session.catalog.get(sku) if sku else None
    now = time.time()
    upcoming = [h.speech.text for h in session.queue.upcoming(3)]
    av = session.output.av_offset
    fields: dict[str, Any] = {
        "id": session.config.id,
        "tenant": session.config.tenant,
        "state": stats.state,
        "uptime_seconds": round(time.monotonic() - session.started_wall, 1) if session.started_wall else 0,
        "media_seconds": round(stats.media_seconds, 2),
        "product_sku": product.sku if product else "",
        "product_title": product.title if product else "",
        "fps": round(stats.fps, 2),
        "kbps": round(stats.kbps, 1),
        "frames_sent": stats.frames_sent,
        "frames_dropped": stats.frames_dropped,
        "queue_depth": stats.queue_depth,
        "speaking": stats.speaking or "",
        "next": json.dumps(upcoming, ensure_ascii=False),
        "spoken": stats.spoken,
        "cut": stats.cut,
        "reconnects": stats.reconnects,
        "av_offset_ms": "" if av is None else round(av * 1000, 1),
        "errors": session.errors,
        "pinned": session.pinned or "",
        "reply_histogram": session.reply_histogram.as_json(),
        "comments_per_minute": round(comments_per_minute, 1),
        "reply_p50_ms": "" if p50 is None else round(p50 * 1000, 1),
        "reply_p95_ms": "" if p95 is None else round(p95 * 1000, 1),
        "last_error": session.last_error or "",
        "output": session.config.output.url if not session.config.output.is_rtmp else "rtmp",
        "updated": round(now, 3),
    }
    return {k: str(v) for k, v in fields.items()}


def stopped_snapshot(channel: str, tenant: str, state: str, last_error: str | None) -> dict[str, str]:
    """What a channel that is not running shows (stopped, or failed with its error)."""
    return {"id": channel, "tenant": tenant, "state": state, "last_error": last_error or "", "fps": "0", "kbps": "0",
            "queue_depth": "0", "speaking": "", "next": "[]", "updated": str(round(time.time(), 3))}


def preview_jpeg(picture, width: int, height: int, target_width: int = PREVIEW_WIDTH) -> bytes:
    """A yuv420p frame as a small JPEG (JPEG is YCbCr: the planes go in as they are)."""
    from PIL import Image

    tw = min(width, target_width)
    size = (tw, max(2, round(height * tw / width)))  # each plane scaled straight to it: 3x cheaper than full size first
    planes = (picture[:height], picture[height:height + height // 4].reshape(height // 2, width // 2),
              picture[height + height // 4:height * 3 // 2].reshape(height // 2, width // 2))
    image = Image.merge("YCbCr", [Image.fromarray(p).resize(size, Image.BILINEAR) for p in planes])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def comments_json(session: ChannelSession, count: int = 50) -> str:
    recent = list(session.comments)[-count:]
    return json.dumps(recent, ensure_ascii=False, default=str)


def catalog_json(session: ChannelSession) -> str:
    catalog = session.catalog
    return json.dumps({"version": catalog.version, "source": catalog.source, "scope": session.catalog_scope,
                       "products": [p.model_dump(mode="json") for p in catalog]}, ensure_ascii=False, default=str)


async def publish(client, runner: ChannelRunner, every: float = 1.0) -> None:
    """Keep the channel's state, preview, history and comments fresh in Redis until cancelled."""
    channel = runner.channel
    comments = PerMinute()
    shown_catalog = shown_comments = None
    on_air = True  # so that the first stopped state clears whatever an earlier process left
    while True:
        session = runner.session
        live = session is not None and session.started_wall is not None
        try:
            async with client.pipeline(transaction=False) as pipe:
                if live:
                    rate = comments.update(session.triage.stats()["received"], time.monotonic())
                    fields = snapshot(session, rate)
                    picture = session.last_picture
                    if picture is not None:
                        jpeg = await asyncio.to_thread(preview_jpeg, picture, session.config.width, session.config.height)
                        pipe.set(frame_key(channel), jpeg, ex=STATE_TTL)
                    pipe.xadd(history_key(channel), {k: fields[k] for k in HISTORY_FIELDS}, maxlen=HISTORY_MAX,
                              approximate=True)
                    recent, catalog = comments_json(session), session.catalog
                    if recent != shown_comments:  # written when changed, remembered once written
                        pipe.set(comments_key(channel), recent)
                    if catalog is not shown_catalog:  # as the host states it now (flash-sale prices too)
                        pipe.set(catalog_key(channel), catalog_json(session))
                else:
                    fields = stopped_snapshot(channel, runner.config.tenant, runner.state, runner.last_error)
                    if on_air:
                        pipe.delete(state_key(channel))  # no stale numbers from the last run
                pipe.hset(state_key(channel), mapping=fields)
                pipe.expire(state_key(channel), STATE_TTL)
                pipe.zadd(CHANNELS_KEY, {channel: time.time()})
                pipe.hset(TENANTS_KEY, channel, runner.config.tenant)
                await pipe.execute()
            if live:
                shown_comments, shown_catalog, on_air = recent, catalog, True
            else:
                on_air = False
        except (RedisError, OSError) as e:
            log.warning("channel %s: cannot publish state: %s", channel, e)
        await asyncio.sleep(every)


async def send_command(client, channel: str, action: str, *, by: str, args: dict[str, Any] | None = None,
                       check: bool = True) -> str:
    """Queue a command for a channel from user ``by``; returns its stream id (to find its result)."""
    if check and action not in ACTIONS:
        raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    if not by:
        raise ValueError("user: every command names the user who gave it")
    entry = {"action": action, "user": by, "args": json.dumps(args or {}, ensure_ascii=False), "sent": str(time.time())}
    sid = await client.xadd(control_key(channel), entry, maxlen=STREAM_MAX, approximate=True)
    return sid.decode() if isinstance(sid, bytes) else sid


async def wait_result(client, channel: str, command_id: str, timeout: float = 5.0) -> dict[str, str] | None:
    """The channel's answer to a command, or None if it did not answer in time."""
    deadline = time.monotonic() + timeout
    # an answer is written after its command, so its id is not older than the command's millisecond (it may be
    # the same id: the two streams number apart); read from just before that millisecond
    last = f"{int(command_id.split('-')[0]) - 1}-0"
    while time.monotonic() < deadline:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        got = await client.xread({results_key(channel): last}, block=left, count=100)
        for _stream, entries in got or ():
            for sid, fields in entries:
                last = sid
                row = as_texts(fields)
                if row.get("id") == command_id:
                    return row
    return None


def as_text(v: Any) -> str:
    """A Redis reply value (bytes) as text."""
    return v.decode() if isinstance(v, bytes) else str(v)


def as_texts(fields: dict) -> dict[str, str]:
    """A Redis hash or stream entry as text keys and values."""
    return {as_text(k): as_text(v) for k, v in fields.items()}


def _say(session: ChannelSession, args: dict[str, Any]) -> str:
    from livehost.session import Rejected

    text = str(args.get("text") or "").strip()
    if not text:
        raise ValueError("text: nothing to say")
    try:
        handle = session.say(text, lang=args.get("lang") or None)
    except Rejected as e:
        raise ValueError(str(e)) from None
    return f"queued {handle.speech.source_id}"


def _comment(session: ChannelSession, args: dict[str, Any]) -> str:
    user, text = str(args.get("user") or "").strip(), str(args.get("text") or "").strip()
    if not user or not text:
        raise ValueError("comment: user and text are both required")
    triaged = session.comment(user, text)
    return f"{triaged.action.value} ({triaged.intent.value})"


def _takeover(session: ChannelSession, args: dict[str, Any]) -> str:
    session.takeover(str(args.get("message") or "").strip() or None)
    return "host silenced, holding card shown"


def _skip(session: ChannelSession, args: dict[str, Any]) -> str:
    skipped = session.skip_product()
    return f"skipped {skipped}" if skipped else "nothing to skip"


def _pin(session: ChannelSession, args: dict[str, Any]) -> str:
    sku = str(args.get("sku") or "").strip()
    if not sku:
        raise ValueError("sku: which product to pin")
    session.pin_product(sku)
    return f"pinned {sku}"


def _simple(method: str, detail: str):
    def run(session: ChannelSession, args: dict[str, Any]) -> str:
        getattr(session, method)()
        return detail
    return run


#: action -> what it does to the session (returns a short detail; ValueError for bad input)
COMMANDS = {
    "pause": _simple("pause", "paused"),
    "resume": _simple("resume", "resumed"),
    "takeover": _takeover,
    "release": _simple("release", "released"),
    "skip": _skip,
    "pin": _pin,
    "unpin": _simple("unpin", "unpinned"),
    "say": _say,
    "comment": _comment,
}
#: what a channel's runner does itself (the session may not exist yet)
RUNNER_ACTIONS = ("start", "stop")
ACTIONS = (*RUNNER_ACTIONS, *COMMANDS)


def execute(session: ChannelSession, action: str, args: dict[str, Any]) -> str:
    """Carry out one command on the session; returns a short detail, raises ValueError for bad input."""
    run = COMMANDS.get(action)
    if run is None:
        raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    return run(session, args)


async def follow_commands(client, runner: ChannelRunner) -> None:
    """Carry out commands for this channel until cancelled: those sent from now on, never an earlier run's."""
    channel = runner.channel
    newest = await client.xrevrange(control_key(channel), count=1)  # Redis's clock, not this host's
    last = as_text(newest[0][0]) if newest else "0-0"
    while True:
        try:
            got = await client.xread({control_key(channel): last}, block=1000, count=50)
        except (RedisError, OSError) as e:
            log.warning("channel %s: cannot read commands: %s", channel, e)
            await asyncio.sleep(1.0)
            continue
        for _stream, entries in got or ():
            for sid, fields in entries:
                last = as_text(sid)
                row = as_texts(fields)
                await _run_one(client, runner, last, row)


async def _run_one(client, runner: ChannelRunner, sid: str, row: dict[str, str]) -> None:
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
        pipe.xadd(results_key(runner.channel), result, maxlen=1000, approximate=True)
        record_action(pipe, runner.channel, action, user=user, ok=ok, detail=detail, args=row.get("args", "{}"), id=sid)
        await pipe.execute()


def record_action(client, channel: str, action: str, *, user: str, ok: bool, detail: str, args: str = "{}",
                  id: str = ""):
    """Append one action to the audit stream ``livehost:actions`` (returns the client's xadd: await it, or a pipe)."""
    return client.xadd(ACTIONS_KEY, {"id": id, "ok": "1" if ok else "0", "detail": detail, "action": action,
                                     "user": user, "channel": channel, "args": args, "wall_time": str(time.time())},
                       maxlen=STREAM_MAX, approximate=True)
