"""The API table: every route, who may call it, and what it takes; the router and the OpenAPI document both come from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dashboards import api
from dashboards.auth import SESSION_COOKIE
from dashboards.context import Console
from dashboards.events import api_events
from products.feeds.sources import FORMATS

Handler = Callable[[Console, web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    role: str = "viewer"
    body: dict | None = None
    query: tuple[str, ...] = ()
    produces: str = "application/json"
    statuses: tuple[tuple[str, str], ...] = ()  # answers beyond the common ones: (status, what it means)


async def api_openapi(console: Console, request: web.Request) -> web.Response:
    return web.json_response(openapi())


_TEXT: dict[str, Any] = {"type": "object", "required": ["text"],
                         "properties": {"text": {"type": "string", "maxLength": 500}}}
# specific paths before the generic /{action}: aiohttp matches in this order
API = (
    Route("GET", "/api/me", api.api_me, "The logged-in user (and the CSRF token for this session)"),
    Route("GET", "/api/channels", api.api_channels, "Every channel this user may see, with its live numbers"),
    Route("GET", "/api/channels/{id}", api.api_channel, "One channel's live state"),
    Route("GET", "/api/nodes", api.api_nodes, "The cluster's nodes (livehost serve --cluster): CPU and GPU offered "
          "and asked for by the channels placed there; empty without a cluster"),
    Route("POST", "/api/channels/{id}/say", api.api_say, "Say this now (through the same gate as everything)",
          "operator", body={**_TEXT, "properties": {**_TEXT["properties"], "lang": {"type": "string"}}}),
    Route("POST", "/api/channels/{id}/presence", api.api_presence,
          "An operator is on duty (a heartbeat; where the platform requires a supervisor the channel holds "
          "without one)", "operator"),
    Route("POST", "/api/channels/{id}/move", api.api_move,
          "Move a channel served on a cluster to another node (after the sentence on air; 409 without a cluster)",
          "operator", body={"type": "object", "properties": {"to": {"type": "string", "description": "a node id "
                                                                     "(or its start); default: the least busy other node"}}},
          statuses=(("202", "asked: the serving process moves the channel"), ("409", "the channel is not on a cluster"))),
    Route("POST", "/api/channels/{id}/comments", api.api_comment, "Inject a test comment", "operator",
          body={**_TEXT, "properties": {**_TEXT["properties"], "user": {"type": "string"}}}),
    Route("POST", "/api/channels/{id}/{action}", api.api_control,
          "start | stop | pause | resume | takeover | release | skip | pin | unpin", "operator",
          body={"type": "object", "properties": {"message": {"type": "string", "description": "takeover card text"},
                                                 "sku": {"type": "string", "description": "pin: the product"}}}),
    Route("GET", "/api/channels/{id}/transcript", api.api_transcript, "Spoken sentences, oldest first",
          query=("limit", "after")),
    Route("GET", "/api/channels/{id}/comments", api.api_comments, "Recent comments with triage decision and reply"),
    Route("GET", "/api/channels/{id}/history", api.api_history, "fps, bitrate, queue, reply latency samples",
          query=("seconds",)),
    Route("GET", "/api/channels/{id}/catalog", api.api_catalog, "The catalog the channel sells from, as stated now"),
    Route("GET", "/api/channels/{id}/frame.jpg", api.api_frame, "The newest picture (about once a second)",
          produces="image/jpeg"),
    Route("POST", "/api/catalog/import", api.api_catalog_import,
          "Import a catalog from an uploaded file (multipart 'file') or a URL ('url'); rejected rows listed",
          "operator", body={"type": "object", "properties": {
              "url": {"type": "string"}, "channel": {"type": "string", "description": "empty: the shared catalog (admin)"},
              "format": {"type": "string", "enum": list(FORMATS)}, "currency": {"type": "string"},
              "force": {"type": "boolean"}}}),
    Route("GET", "/api/audit", api.api_audit, "Search the spoken-sentence log (format=csv to export)",
          query=("channel", "since", "until", "q", "limit", "format")),
    Route("GET", "/api/audit/actions", api.api_actions, "Control actions with the user who did them (format=csv)",
          query=("channel", "limit", "format")),
    Route("GET", "/api/events", api_events, "Server-sent events: channels, transcript, comments",
          query=("channel",), produces="text/event-stream"),
    Route("GET", "/api/openapi.json", api_openapi, "This document"),
)


def openapi() -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for route in API:
        op: dict[str, Any] = {
            "summary": route.summary,
            "operationId": route.handler.__name__,
            "x-livehost-role": route.role,
            "responses": {"200": {"description": "OK", "content": {route.produces: {}}},
                          "401": {"description": "not logged in"}, "403": {"description": "role or CSRF"},
                          "404": {"description": "no such channel (or not this user's tenant)"}},
            "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                           for n in ("id", "action") if "{" + n + "}" in route.path]
            + [{"name": q, "in": "query", "schema": {"type": "string"}} for q in route.query],
        }
        if route.body:
            op["requestBody"] = {"content": {"application/json": {"schema": route.body}}}
            op["responses"]["422"] = {"description": "refused: the channel's answer says why"}
        if route.body or route.query or route.method == "POST":
            op["responses"]["400"] = {"description": "bad input: the error names the field and the value"}
        if route.method == "POST":
            op["responses"]["413"] = {"description": "the body is over the size limit"}
            op["responses"]["504"] = {"description": "the channel did not answer in time"}
        for status, what in route.statuses:
            op["responses"][status] = {"description": what}
        paths.setdefault(route.path, {})[route.method.lower()] = op
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics (Bearer token)", "operationId": "metrics",
                                 "responses": {"200": {"description": "text exposition format"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "livehost console API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "cookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}}},
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
    }
