"""HTTP helpers shared by the console's handlers: JSON errors, request bodies and parameters, CSV, SSE."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from dashboards.users import User
from livehost.core import jsonio
from livehost.core.csvcell import csv_cell

USER = web.RequestKey("user", dict)  # per request: {"user": User, "csrf": str | None}


class ApiError(web.HTTPException):
    """An error answered as ``{"error": ...}`` JSON (API) with its status."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": message}), content_type="application/json",  # ASCII: any text
                         headers=headers or None)
        self.message = message


def user_of(request: web.Request) -> User:
    """The user the auth middleware identified."""
    return request[USER]["user"]


#: The largest request body the console reads, except catalog uploads (:data:`MAX_UPLOAD`): a login form
#: or a JSON command is a few hundred bytes.
MAX_BODY = 8 << 10
#: The largest catalog file an operator may upload; it streams to a temporary file, never into memory.
MAX_UPLOAD = 64 << 20

_SURROGATE = re.compile("[\ud800-\udfff]")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"body: larger than {limit >> 10} KiB; catalog files go to /api/catalog/import "
                         "as a multipart upload", Connection="close")


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The request body, at most ``limit`` bytes, read in small pieces: 413 as soon as it is known to be
    longer (by its Content-Length, or once ``limit`` + 1 bytes came), holding no more than that."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    data = bytearray()
    while chunk := await request.content.read(min(1 << 16, limit + 1 - len(data))):
        data += chunk
        if len(data) > limit:
            raise _too_large(limit)
    return bytes(data)


async def form(request: web.Request) -> dict[str, str]:
    """A URL-encoded form (at most :data:`MAX_BODY` bytes), read once per request; 400 when it is not one."""
    if (cached := request.get(_FORM)) is not None:
        return cached
    raw = await read_body(request)
    try:
        fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=100))
    except (UnicodeDecodeError, ValueError) as e:
        raise ApiError(400, f"body: not a readable form ({e})") from None
    request[_FORM] = fields
    return fields


_FORM = web.RequestKey("livehost.form", dict)


async def body(request: web.Request) -> dict[str, Any]:
    """A JSON object or a URL-encoded form (without its CSRF field); ``{}`` when there is no body.

    At most :data:`MAX_BODY` bytes (413 beyond); JSON through :func:`livehost.core.jsonio.loads`
    (no deep nesting, NaN or lone surrogates): anything else is a 4xx that says why.
    """
    if not request.body_exists and request.get(_FORM) is None:
        return {}
    if request.content_type == "application/json":
        try:
            data = jsonio.loads(await read_body(request), depth=8)
        except jsonio.JsonError as e:
            raise ApiError(400, f"body: {e}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "body: expected a JSON object")
        return data
    if request.content_type not in ("application/x-www-form-urlencoded", ""):
        raise ApiError(415, f"body: {request.content_type!r}: send application/json or a URL-encoded form")
    return {k: v for k, v in (await form(request)).items() if k != "csrf_token"}


def text_field(data: dict[str, Any], name: str, *, required: bool = True, limit: int = 500) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ApiError(400, f"{name}: required")
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"{name}: {jsonio.dumps(value)[:60]} must be a string")
    if len(value) > limit:
        raise ApiError(400, f"{name}: {len(value)} characters, at most {limit}")
    if found := _SURROGATE.search(value):
        raise ApiError(400, f"{name}: has a lone surrogate \\u{ord(found.group()):04x} (half of a character)")
    return value.strip()


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
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


def time_param(request: web.Request, name: str) -> float | None:
    """Unix seconds, or an ISO 8601 date-time (a time zone offset or Z; the browser sends local time with one)."""
    raw = (request.query.get(name) or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        if not 0 <= seconds < 1e11:  # NaN, infinities, and times past year 5000 are no time
            raise ApiError(400, f"{name}: {raw!r} is not a time (unix seconds from 0 to 1e11)")
        return seconds
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name}: {raw!r} is not unix seconds or an ISO 8601 date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.timestamp()
    except (OverflowError, ValueError, OSError):  # year 1 with an offset, year 9999
        raise ApiError(400, f"{name}: {raw!r} is out of range") from None


def csv_response(rows: list[dict[str, Any]], filename: str) -> web.Response:
    """A CSV download; cells a spreadsheet would run as a formula are defused (:func:`csv_cell`)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def dumps(obj: Any) -> str:
    return jsonio.dumps(obj)


async def send_event(response: web.StreamResponse, event: str, data: Any) -> None:
    """One server-sent event."""
    await response.write(f"event: {event}\ndata: {dumps(data)}\n\n".encode())
