"""The text-model interface: chat messages in, streamed text out.

Every backend (a local ``transformers`` model, an OpenAI-compatible HTTP
endpoint) implements :class:`TextModel`.  Streams are cancellable: when the
consumer stops iterating or its task is cancelled, generation stops and its
resources (a worker thread, an HTTP connection) are released.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str

    def __post_init__(self) -> None:
        if self.role not in ("system", "user", "assistant"):
            raise ValueError(f"role: {self.role!r} is not system, user or assistant")


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[Message, ...]
    max_tokens: int = 96
    temperature: float = 0.7  # 0: greedy
    top_p: float = 0.9
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("messages: at least one message is needed")
        if not 1 <= self.max_tokens <= 8192:
            raise ValueError(f"max_tokens: {self.max_tokens!r} is not between 1 and 8192")
        if not 0 <= self.temperature <= 2:
            raise ValueError(f"temperature: {self.temperature!r} is not between 0 and 2")


class BackendError(Exception):
    """A backend failed; the message names the backend and what went wrong (never a secret)."""

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"{backend}: {message}")
        self.backend = backend


def apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` cut at the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class TextModel(abc.ABC):
    """A chat model that streams text."""

    name: str = "model"

    @abc.abstractmethod
    def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Text pieces as they are generated (an async generator)."""

    async def complete(self, request: GenerationRequest) -> str:
        """The whole answer, cut at the first ``stop`` string (the stream is closed there)."""
        text = ""
        stream = self.stream(request)
        try:
            async for piece in stream:
                text += piece
                if request.stop:
                    text, stopped = apply_stop(text, request.stop)
                    if stopped:
                        break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return text

    async def aclose(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release what the backend holds (sessions, models)."""

    async def __aenter__(self) -> TextModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
