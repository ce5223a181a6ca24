"""An OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, DeepSeek, DashScope...).

Speaks ``POST {base_url}/chat/completions`` with ``"stream": true`` and reads
the server-sent events (``data: {...}`` lines, ``data: [DONE]`` at the end).
Time limits are layered: connecting, waiting for the first token, silence
between tokens, and the whole request.  Rate limits (429) and server errors
(5xx) are retried with backoff (``Retry-After`` honoured) only before the
first token arrives: once text has been streamed, a retry would repeat it.
The API key is sent as a bearer token and never appears in errors or reprs.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from livehost.core import jsonio
from scripts_gen.llm.base import BackendError, GenerationRequest, TextModel

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_ERROR_BODY = 4096
MAX_LINE = 1 << 20  # one SSE line; a longer one is a broken server


class OpenAICompatModel(TextModel):
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_seconds: float = 10.0,
        connect_timeout: float = 3.0,
        first_token_timeout: float | None = None,
        idle_timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.25,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai:{model}"
        self._api_key = api_key
        self.timeout_seconds = timeout_seconds
        self.connect_timeout = connect_timeout
        self.first_token_timeout = first_token_timeout if first_token_timeout is not None else timeout_seconds
        self.idle_timeout = idle_timeout
        self.retries = retries
        self.backoff = backoff
        self.extra_body = dict(extra_body or {})
        self._session: aiohttp.ClientSession | None = None
        self.stats = {"requests": 0, "retries": 0, "errors": 0}

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"OpenAICompatModel(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop[:4])  # the OpenAI API takes at most four
        body.update(self.extra_body)
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout),
                connector=aiohttp.TCPConnector(limit=8),
            )
        return self._session

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        deadline = time.monotonic() + self.timeout_seconds
        url = f"{self.base_url}/chat/completions"
        body = self._body(request)
        attempt = 0
        while True:
            self.stats["requests"] += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._fail(f"no answer within {self.timeout_seconds:g} s")
            try:
                async with self._client().post(url, json=body, headers=self._headers(),
                                               timeout=aiohttp.ClientTimeout(total=remaining,
                                                                             connect=self.connect_timeout)) as resp:
                    if resp.status != 200:
                        detail = await _error_detail(resp)
                        if resp.status in RETRY_STATUSES and attempt < self.retries:
                            delay = self._retry_delay(attempt, resp.headers.get("Retry-After"))
                            if time.monotonic() + delay < deadline:
                                attempt += 1
                                self.stats["retries"] += 1
                                await asyncio.sleep(delay)
                                continue
                        raise self._fail(f"HTTP {resp.status} from {url}: {detail}")
                    async for piece in self._read(resp, deadline):
                        yield piece
                    return
            except BackendError:
                raise
            except TimeoutError as exc:
                raise self._fail(str(exc) or f"timed out after {self.timeout_seconds:g} s") from None
            except aiohttp.ClientConnectionError as exc:
                # Refused or reset before any text: worth a retry like a 503.
                delay = self._retry_delay(attempt, None)
                if attempt < self.retries and deadline - time.monotonic() > delay:
                    attempt += 1
                    self.stats["retries"] += 1
                    await asyncio.sleep(delay)
                    continue
                raise self._fail(f"cannot reach {url}: {exc.__class__.__name__}: {exc}") from None
            except aiohttp.ClientError as exc:
                raise self._fail(f"{exc.__class__.__name__}: {exc}") from None

    async def _read(self, resp: aiohttp.ClientResponse, deadline: float) -> AsyncIterator[str]:
        ctype = resp.headers.get("Content-Type", "")
        if "text/event-stream" not in ctype:
            # A server that ignores "stream": one JSON answer.
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                raw = await resp.read()
            data = _json(raw, self.name)
            _raise_error_object(data, self.name)
            try:
                content = data["choices"][0]["message"]["content"] or ""
            except (KeyError, IndexError, TypeError):
                raise self._fail(f"answer has no choices[0].message.content: {raw[:200]!r}") from None
            if content:
                yield content
            return
        got_text = False
        buffer = b""
        while True:
            limit = self.idle_timeout if got_text else self.first_token_timeout
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                async with asyncio.timeout(min(limit, left)):
                    chunk = await resp.content.readany()
            except TimeoutError:
                if limit >= deadline - time.monotonic():
                    raise self._fail(f"answer not finished within {self.timeout_seconds:g} s") from None
                what = "between tokens" if got_text else "before the first token"
                raise self._fail(f"server silent for {limit:g} s {what}") from None
            if not chunk:
                if buffer.strip():
                    # The last line had no newline; treat it as complete.
                    chunk, buffer = buffer + b"\n", b""
                else:
                    raise self._fail("stream ended without [DONE]" + (" (answer cut off)" if got_text else ""))
            buffer += chunk
            if len(buffer) > MAX_LINE and b"\n" not in buffer:
                raise self._fail(f"event line longer than {MAX_LINE} bytes")
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if not line.startswith(b"data:"):
                    continue  # comments (": keep-alive"), event:, id:, blank separators
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    return
                data = _json(payload, self.name)
                _raise_error_object(data, self.name)
                for choice in data.get("choices") or ():
                    delta = choice.get("delta") or choice.get("message") or {}
                    content = delta.get("content")
                    if content:
                        got_text = True
                        yield content
                    if choice.get("finish_reason") in ("stop", "length", "content_filter"):
                        return

    def _retry_delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), 30.0)
            except ValueError:
                pass  # an HTTP date: fall back to backoff
        return self.backoff * (2 ** attempt) * (0.5 + random.random())

    def _fail(self, message: str) -> BackendError:
        self.stats["errors"] += 1
        text = message.replace(self._api_key, "***") if self._api_key else message
        return BackendError(self.name, text)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _error_detail(resp: aiohttp.ClientResponse) -> str:
    try:
        async with asyncio.timeout(2.0):
            raw = await resp.content.read(MAX_ERROR_BODY)
    except (TimeoutError, aiohttp.ClientError):
        return resp.reason or "no detail"
    try:
        data = jsonio.loads(raw)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    except ValueError:
        pass
    return raw.decode("utf-8", "replace").strip()[:300] or (resp.reason or "no detail")


def _json(raw: bytes, name: str) -> dict[str, Any]:
    try:
        data = jsonio.loads(raw)
    except jsonio.JsonError as e:
        raise BackendError(name, f"not JSON ({e}): {raw[:200]!r}") from None
    if not isinstance(data, dict):
        raise BackendError(name, f"not a JSON object: {raw[:200]!r}")
    return data


def _raise_error_object(data: dict[str, Any], name: str) -> None:
    err = data.get("error")
    if err:
        message = err.get("message") if isinstance(err, dict) else str(err)
        raise BackendError(name, f"server error: {str(message)[:300]}")
