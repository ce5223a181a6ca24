"""Small fakes for unit tests of one stage."""

from __future__ import annotations

import numpy as np

from livehost.approved import GateKey, Source
from livehost.frames import SpeechAudio

_key = GateKey()


def approved(text: str, source: Source = Source.SCRIPT, source_id: str = "t", sku: str | None = None):
    return _key.approve(text, lang="en", source=source, source_id=source_id, sku=sku)


def tone(samples: int, level: int = 8000) -> SpeechAudio:
    """Fake synthesized speech: a constant-amplitude square wave with one mouth shape."""
    pcm = np.where(np.arange(samples) % 40 < 20, level, -level).astype(np.int16)
    return SpeechAudio(pcm, np.array([0], dtype=np.int64), np.array([3], dtype=np.uint8))
