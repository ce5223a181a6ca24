"""A local server speaking the OpenAI chat-completions streaming protocol, for tests.

``answer(body) -> Turn`` decides each response: the text to stream (in
pieces), or an HTTP status, an error event, a stall.  Every request body is
kept in ``requests``.  Runs in the test's event loop (``await start()``) or on
a thread of its own (``with server.running():``) for a subprocess to call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Turn:
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_body: str = ""
    pieces: int = 4  # the text is streamed in this many chunks
    delay: float = 0.0  # before the first chunk
    gap: float = 0.0  # between chunks
    stall_after: int | None = None  # stop sending (without closing) after this many chunks
    error_event: str | None = None  # an {"error": ...} event instead of text
    done: bool = True  # end with data: [DONE]
    plain_json: bool = False  # answer without streaming


class ChatServer:
    def __init__(self, answer: Callable[[dict], Turn] | None = None, api_key: str | None = None) -> None:
        self.answer = answer or (lambda body: Turn("ok"))
        self.api_key = api_key
        self.requests: list[dict] = []
        self.cancelled = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "invalid api key"}}, status=401)
        body = await request.json()
        self.requests.append(body)
        turn = self.answer(body)
        if turn.status != 200:
            return web.Response(status=turn.status, text=turn.error_body, headers=turn.headers,
                                content_type="application/json")
        if turn.plain_json:
            return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": turn.text},
                                                   "finish_reason": "stop"}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        try:
            await asyncio.sleep(turn.delay)
            await resp.write(b": keep-alive\n\n")
            if turn.error_event:
                await resp.write(b"data: " + json.dumps({"error": {"message": turn.error_event}}).encode() + b"\n\n")
                return resp
            size = max(1, -(-len(turn.text) // max(1, turn.pieces)))
            chunks = [turn.text[i:i + size] for i in range(0, len(turn.text), size)]
            for n, chunk in enumerate(chunks):
                if turn.stall_after is not None and n >= turn.stall_after:
                    await asyncio.sleep(3600)
                event = {"id": "c1", "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": {"content": chunk}, "finish_reason": None}]}
                await resp.write(b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n")
                if turn.gap:
                    await asyncio.sleep(turn.gap)
            if turn.done:
                await resp.write(b"data: " + json.dumps({"choices": [{"index": 0, "delta": {},
                                                                        "finish_reason": "stop"}]}).encode() + b"\n\n")
                await resp.write(b"data: [DONE]\n\n")
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return resp

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @contextlib.contextmanager
    def running(self):
        """Serve from a thread of its own (for a subprocess under test); yields the base URL."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, name="chat-server", daemon=True)
        thread.start()
        if not ready.wait(10):
            raise RuntimeError("chat server did not start")
        try:
            yield self.url
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
