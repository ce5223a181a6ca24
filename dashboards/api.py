"""The console's JSON API handlers (the route table in :mod:`dashboards.routes` says who may call which)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from dashboards.auth import check_form_csrf
from dashboards.context import Console
from dashboards.http import (
    MAX_UPLOAD,
    USER,
    ApiError,
    body,
    csv_response,
    dumps,
    int_param,
    text_field,
    time_param,
    user_of,
)
from dashboards.states import public_state
from livehost.app import supervision
from livehost.app.control.protocol import ACTIONS, record_action
from livehost.core import keys
from livehost.core.audit import AuditEntry
from livehost.core.store import StreamEntry, as_text, as_texts, stream_entries
from products.feeds.base import FeedError
from products.feeds.sources import FORMATS
from products.store import CatalogStore, import_source

log = logging.getLogger(__name__)

_STREAM_ID = re.compile(r"\d{1,20}(?:-\d{1,20})?")
CONTROL_ACTIONS = tuple(a for a in ACTIONS if a not in ("say", "comment"))  # those have their own routes


# -- channels --------------------------------------------------------------------------------------
async def api_channels(console: Console, request: web.Request) -> web.Response:
    states = await console.channel_states(user_of(request))
    return web.json_response({"channels": [public_state(s) for s in states]})


async def api_nodes(console: Console, request: web.Request) -> web.Response:
    """The cluster's nodes with their load (empty without a cluster); only the channels this user may see are named."""
    return web.json_response({"nodes": await console.nodes(user_of(request))})


async def api_channel(console: Console, request: web.Request) -> web.Response:
    return web.json_response(public_state(await console.channel_state(request)))


async def api_control(console: Console, request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action not in CONTROL_ACTIONS:
        raise ApiError(404, f"action: {action!r} is not one of {', '.join(CONTROL_ACTIONS)}")
    data = await body(request)
    args: dict[str, Any] = {}
    if action == "takeover":
        args["message"] = text_field(data, "message", required=False, limit=40)
    elif action == "pin":
        args["sku"] = text_field(data, "sku", limit=128)
    return await console.command(request, action, args)


async def api_say(console: Console, request: web.Request) -> web.Response:
    data = await body(request)
    args = {"text": text_field(data, "text")}
    if data.get("lang"):
        args["lang"] = text_field(data, "lang", limit=8)
    return await console.command(request, "say", args)


async def api_presence(console: Console, request: web.Request) -> web.Response:
    """An operator is on duty for this channel (a heartbeat: the console's channel page sends one every 20 s)."""
    await console.channel_state(request)  # 404 for a channel this user cannot see
    at = await supervision.beat(console.redis, request.match_info["id"], user_of(request).name)
    return web.json_response({"ok": True, "at": at})


async def api_move(console: Console, request: web.Request) -> web.Response:
    """Move a channel served on a cluster to another node: it stops after the sentence on air and goes on there
    with the next one.  202: asked (the serving process carries it out and records it in the actions log)."""
    state = await console.channel_state(request)
    channel = state["id"]
    data = await body(request)
    to = text_field(data, "to", required=False, limit=64)
    placed = await console.redis.get(keys.placement(channel))
    if placed is None:
        raise ApiError(409, f"channel {channel!r} is not served on a cluster (livehost serve --cluster): nowhere to move it")
    sid = await console.redis.xadd(keys.MOVES, {"channel": channel, "to": to, "by": user_of(request).name},
                                   maxlen=10_000, approximate=True)
    return web.json_response({"ok": True, "channel": channel, "from": json.loads(placed)["node"]["id"], "to": to or None,
                              "request": as_text(sid)}, status=202)


async def api_comment(console: Console, request: web.Request) -> web.Response:
    data = await body(request)
    args = {"user": text_field(data, "user", required=False, limit=64) or f"test:{user_of(request).name}",
            "text": text_field(data, "text")}
    return await console.command(request, "comment", args)


def transcript_rows(rows: list[StreamEntry]) -> list[dict[str, Any]]:
    return [{"id": as_text(i), **AuditEntry.from_fields(f).__dict__} for i, f in rows]


async def api_transcript(console: Console, request: web.Request) -> web.Response:
    state = await console.channel_state(request)
    limit = int_param(request, "limit", 100, 1, 1000)
    after = request.query.get("after")
    if after and not _STREAM_ID.fullmatch(after):
        raise ApiError(400, f"after: {after[:40]!r} is not an entry id like 1795855557315-0")
    if after:
        rows = stream_entries(await console.redis.xrange(keys.audit(state["id"]), min=f"({after}", count=limit))
    else:
        rows = list(reversed(stream_entries(await console.redis.xrevrange(keys.audit(state["id"]), count=limit))))
    return web.json_response({"channel": state["id"], "entries": transcript_rows(rows)})


async def api_comments(console: Console, request: web.Request) -> web.Response:
    state = await console.channel_state(request)
    raw = await console.redis.get(keys.comments(state["id"]))
    return web.json_response({"channel": state["id"], "comments": json.loads(raw) if raw else []})


async def api_history(console: Console, request: web.Request) -> web.Response:
    state = await console.channel_state(request)
    since = time.time() - int_param(request, "seconds", 3600, 10, 3600)
    rows = stream_entries(await console.redis.xrange(keys.history(state["id"]), min=str(int(since * 1000))))
    samples = [{k: (float(v) if v not in ("", None) else None) for k, v in as_texts(f).items()} for _i, f in rows]
    return web.json_response({"channel": state["id"], "samples": samples})


async def api_catalog(console: Console, request: web.Request) -> web.Response:
    state = await console.channel_state(request)
    raw = await console.redis.get(keys.channel_catalog(state["id"]))
    return web.json_response({"channel": state["id"], **(json.loads(raw) if raw else {"products": []})})


async def api_frame(console: Console, request: web.Request) -> web.Response:
    state = await console.channel_state(request)
    jpeg = await console.redis.get(keys.frame(state["id"]))
    if not jpeg:
        raise ApiError(404, f"channel {state['id']!r}: no picture (it is {state.get('state')})")
    return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


# -- catalog import ----------------------------------------------------------------------------------
async def api_catalog_import(console: Console, request: web.Request) -> web.Response:
    user = user_of(request)
    upload: Path | None = None
    if request.content_type == "multipart/form-data":
        data, upload = await _read_upload(request)  # the file streams to a temporary file, capped
    else:
        data = await body(request)
    try:
        fmt = data.get("format") or "auto"
        if fmt not in FORMATS:
            raise ApiError(400, f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
        if upload is not None:
            source = str(upload)
        else:  # a URL only: a path would let a console user read the server's files
            source = text_field(data, "url", limit=2000)
            if not source.lower().startswith(("http://", "https://")):
                raise ApiError(400, f"url: {source!r} is not an http(s) URL (upload a file instead)")
        channel = str(data.get("channel") or "").strip()
        if channel:
            if channel not in await console.visible_channel_ids(user):
                raise ApiError(404, f"channel: {channel!r} not found")
        elif not user.can("admin"):
            raise ApiError(403, "channel: only an admin may import the shared catalog; name a channel")
        cs = CatalogStore(console.store.sync(), channel or "shared")
        try:
            result = await import_source(cs, source, fmt, currency=str(data.get("currency") or "CNY"),
                                         force=str(data.get("force", "")).lower() in ("1", "true", "on"),
                                         access=console.feed_access)
        except FeedError as e:  # the shape of a result, like `livehost catalog import --json`
            return web.json_response({"imported": 0, "rejected": [], "rejected_count": 0, "scope": cs.scope,
                                      "version": cs.current_version(), "error": str(e)}, status=422, dumps=dumps)
    finally:
        if upload is not None:
            upload.unlink(missing_ok=True)
    answer = result.as_json()
    if upload is not None:
        answer["source"] = data["source"]
    answer["scope"] = cs.scope
    await record_action(  # in the audit log with the user, like every control action
        console.redis, cs.scope, "catalog-import", user=user.name, ok=bool(result.imported),
        detail=f"{result.imported} imported, {result.rejected_count} rejected, version {result.version}"
               + (f"; {result.error}" if result.error else ""),
        args=dumps({"source": answer["source"], "format": result.format}))
    log.info("console: %s imported %s into %s: %s", user.name, answer["source"], cs.scope, result.imported)
    return web.json_response(answer, status=200 if result.imported else 422, dumps=dumps)


_FORM_FIELDS = ("url", "channel", "format", "currency", "force")


async def _read_upload(request: web.Request) -> tuple[dict[str, Any], Path | None]:
    """A multipart import form: its small fields, and the file part streamed to a temporary file of at
    most :data:`MAX_UPLOAD` bytes (413 beyond; nothing of it is kept)."""
    data: dict[str, Any] = {}
    upload: Path | None = None
    try:
        reader = await request.multipart()
        csrf = None
        for _ in range(len(_FORM_FIELDS) + 3):
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise ApiError(400, "body: a nested multipart part")
            if part.name == "file" and part.filename:
                if upload is not None:
                    raise ApiError(400, "file: one file per import")
                upload = await _spool(part)
                data["source"] = Path(part.filename).name[:200]
            elif part.name in _FORM_FIELDS:
                value = await _small(part, 2048)
                if value.strip():
                    data[part.name] = value
            elif part.name == "csrf_token":
                csrf = await _small(part, 256)
            else:
                await _small(part, 2048)  # an empty file input: read past
        else:
            raise ApiError(400, "body: too many form fields")
        check_form_csrf(request, csrf)  # before anything is imported
        return data, upload
    except BaseException as e:
        if upload is not None:
            upload.unlink(missing_ok=True)
        if isinstance(e, ValueError):  # a malformed multipart body (aiohttp raises ValueError and subclasses)
            raise ApiError(400, f"body: not a readable multipart form ({e})") from None
        raise


async def _spool(part: BodyPartReader) -> Path:
    """The file part into a temporary file that keeps its suffix (the readers go by it)."""
    suffix = Path(part.filename or "").suffix.lower()[:8]
    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)  # noqa: SIM115 - closed below
    path, size = Path(handle.name), 0
    try:
        with handle:
            while chunk := await part.read_chunk(1 << 16):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise ApiError(413, f"file: larger than {MAX_UPLOAD >> 20} MiB (import it by URL or split it)")
                await asyncio.to_thread(handle.write, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _small(part: BodyPartReader, limit: int) -> str:
    raw = bytearray()
    while chunk := await part.read_chunk(1024):
        raw += chunk
        if len(raw) > limit:
            raise ApiError(400, f"{part.name}: longer than {limit} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"{part.name}: not UTF-8 text") from None
    return text


# -- audit -------------------------------------------------------------------------------------------
async def api_audit(console: Console, request: web.Request) -> web.Response:
    """The spoken-sentence log, searched by channel, time and text; ``format=csv`` exports it."""
    visible = await console.visible_channel_ids(user_of(request))
    channel = request.query.get("channel") or ""
    if channel and channel not in visible:
        raise ApiError(404, f"channel: {channel!r} not found")
    since, until = time_param(request, "since"), time_param(request, "until")
    text = (request.query.get("q") or "").casefold()
    limit = int_param(request, "limit", 500, 1, 100_000)
    lo = str(int(since * 1000)) if since else "-"
    hi = str(int(until * 1000)) if until else "+"
    found: list[dict[str, Any]] = []
    for c in [channel] if channel else visible:  # each channel's newest `limit` matches, then the newest of all
        cursor, matched = hi, 0
        while matched < limit:
            rows = stream_entries(await console.redis.xrevrange(keys.audit(c), max=cursor, min=lo, count=1000))
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
        return csv_response(found, "livehost-audit.csv")
    return web.json_response({"entries": found, "count": len(found)})


async def api_actions(console: Console, request: web.Request) -> web.Response:
    """Control actions (who did what to which channel), newest first."""
    user = user_of(request)
    visible = set(await console.visible_channel_ids(user))
    if user.tenant is None:
        visible.add("shared")  # imports into the shared catalog
    channel = request.query.get("channel") or ""
    limit = int_param(request, "limit", 200, 1, 10_000)
    out: list[dict[str, Any]] = []
    cursor = "+"
    while len(out) < limit:
        rows = stream_entries(await console.redis.xrevrange(keys.ACTIONS, max=cursor, count=500))
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
        return csv_response([{**a, "args": json.dumps(a["args"], ensure_ascii=False)} for a in out],
                            "livehost-actions.csv")
    return web.json_response({"actions": out})


async def api_me(console: Console, request: web.Request) -> web.Response:
    who = request[USER]
    return web.json_response({**who["user"].public(), "csrf": who["csrf"]})
