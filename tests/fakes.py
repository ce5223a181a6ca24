"""Small fakes for unit tests of one stage."""

from __future__ import annotations

import asyncio

import numpy as np

from livehost.core.approved import GateKey, Source
from livehost.core.speech import SpeechAudio
from scripts_gen.llm import TextModel

_key = GateKey()


def approved(text: str, source: Source = Source.SCRIPT, source_id: str = "t", sku: str | None = None):
    return _key.approve(text, lang="en", source=source, source_id=source_id, sku=sku)


def tone(samples: int, level: int = 8000) -> SpeechAudio:
    """Fake synthesized speech: a constant-amplitude square wave with one mouth shape."""
    pcm = np.where(np.arange(samples) % 40 < 20, level, -level).astype(np.int16)
    return SpeechAudio(pcm, np.array([0], dtype=np.int64), np.array([3], dtype=np.uint8))


class FakeModel(TextModel):
    """A text model that says ``text`` (after ``delay`` s) or raises ``error``; records requests and cancels."""

    def __init__(self, name, text="", *, delay=0.0, error=None):
        self.name, self.text, self.delay, self.error = name, text, delay, error
        self.requests, self.cancelled = [], 0

    async def stream(self, request):
        self.requests.append(request)
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.error is not None:
            raise self.error
        for i in range(0, len(self.text), 3):
            yield self.text[i:i + 3]
