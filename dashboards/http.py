"""HTTP helpers shared by the console's handlers: JSON errors, request bodies and parameters, CSV, SSE."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from dashboards.users import User

USER = web.RequestKey("user", dict)  # per request: {"user": User, "csrf": str | None}


class ApiError(web.HTTPException):
    """An error answered as ``{"error": ...}`` JSON (API) with its status."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json",
                         headers=headers or None)
        self.message = message


def user_of(request: web.Request) -> User:
    """The user the auth middleware identified."""
    return request[USER]["user"]


async def body(request: web.Request) -> dict[str, Any]:
    """A JSON object or a form (without its CSRF field); ``{}`` when there is no body."""
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
        return float(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name}: {raw!r} is not unix seconds or an ISO 8601 date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def csv_response(rows: list[dict[str, Any]], filename: str) -> web.Response:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


async def send_event(response: web.StreamResponse, event: str, data: Any) -> None:
    """One server-sent event."""
    await response.write(f"event: {event}\ndata: {dumps(data)}\n\n".encode())
