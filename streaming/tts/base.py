"""The text-to-speech interface: text in, 48 kHz PCM and phoneme timings out."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 48_000  # the channel's master clock; every backend resamples to it


@dataclass(frozen=True)
class Phone:
    """One phoneme and its span in output samples (48 kHz): ``[start, end)``."""

    symbol: str
    start: int
    end: int


@dataclass(frozen=True)
class Utterance:
    pcm: np.ndarray  # int16, mono, 48 kHz
    phones: tuple[Phone, ...]

    @property
    def samples(self) -> int:
        return int(self.pcm.shape[0])


class TtsError(Exception):
    """Synthesis failed; the message names the engine, the voice and the cause."""


class TtsBackend(abc.ABC):
    """A speech engine.  :meth:`synthesize` blocks: callers run it in one worker thread."""

    name: str = "tts"

    @abc.abstractmethod
    def synthesize(self, text: str, lang: str) -> Utterance: ...

    def close(self) -> None:  # noqa: B027 - optional for engines that hold nothing
        """Release the engine."""


def to_48k(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Resample mono int16 PCM to 48 kHz (linear interpolation on a band-limited voice)."""
    if rate == SAMPLE_RATE or len(pcm) == 0:
        return pcm.astype(np.int16, copy=False)
    n_out = len(pcm) * SAMPLE_RATE // rate
    x = np.arange(n_out, dtype=np.float64) * (rate / SAMPLE_RATE)
    out = np.interp(x, np.arange(len(pcm)), pcm.astype(np.float32))
    return out.astype(np.int16)


def scale_position(sample: int, rate: int) -> int:
    """A sample index at ``rate`` as a sample index at 48 kHz (exact integer rounding)."""
    return (sample * SAMPLE_RATE + rate // 2) // rate


def normalize(pcm: np.ndarray, peak_dbfs: float = -2.0) -> np.ndarray:
    """Scale speech so its peak sits at ``peak_dbfs`` (never clipping)."""
    peak = int(np.max(np.abs(pcm.astype(np.int32)))) if len(pcm) else 0
    if peak == 0:
        return pcm.astype(np.int16)
    target = 32767 * 10 ** (peak_dbfs / 20)
    return np.clip(pcm.astype(np.float32) * (target / peak), -32768, 32767).astype(np.int16)
