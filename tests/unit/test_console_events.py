"""The live stream (``/api/events``) outlives a store that stops answering: the page gets a ``store`` event and the
updates go on when the store is back.  One stage: the handler, with a console whose store fails once."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.exceptions import ConnectionError as RedisConnectionError

from dashboards import events


class _FlakyConsole:
    redis = None

    def __init__(self) -> None:
        self.reads = 0

    async def channel_states(self, user, shared=False):
        self.reads += 1
        if self.reads == 1:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return []


async def test_a_store_error_inside_a_live_stream_is_an_event_and_the_stream_goes_on(monkeypatch):
    monkeypatch.setattr(events, "EVERY", 0.01)
    monkeypatch.setattr(events, "user_of", lambda request: None)
    console = _FlakyConsole()

    async def handler(request: web.Request) -> web.StreamResponse:
        return await events.api_events(console, request)  # type: ignore[arg-type]

    app = web.Application()
    app.router.add_get("/api/events", handler)
    seen: list[tuple[str, str]] = []
    async with TestClient(TestServer(app)) as client, client.get("/api/events") as response:
        assert response.status == 200 and response.content_type == "text/event-stream"
        event = ""
        async for line in response.content:
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                event = text[7:]
            elif text.startswith("data: "):
                seen.append((event, text[6:]))
            if any(name == "channels" for name, _ in seen):
                break
    assert seen[0][0] == "store" and "store unavailable" in seen[0][1] and "Connection refused" in seen[0][1]
    assert seen[1] == ("channels", "[]")  # the next second the store answers: the stream went on
