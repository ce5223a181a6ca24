"""Read back what was actually pushed: decode a stream or file with PyAV."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import av
import numpy as np


@dataclass
class Readback:
    video_codec: str = ""
    audio_codec: str = ""
    width: int = 0
    height: int = 0
    audio_rate: int = 0
    video_pts: list[float] = field(default_factory=list)  # seconds, in stream time
    keyframes: list[float] = field(default_factory=list)
    audio_start: float | None = None
    audio: list[np.ndarray] = field(default_factory=list)
    mouth: list[float] = field(default_factory=list)  # mean luma of a probe region, per video frame
    error: str | None = None

    @property
    def pcm(self) -> np.ndarray:
        return np.concatenate(self.audio) if self.audio else np.zeros(0, np.float32)

    def fps(self) -> float:
        d = np.diff(self.video_pts)
        return float(1 / np.median(d)) if len(d) else 0.0

    def rms(self, start_s: float, end_s: float) -> float:
        """RMS of the decoded audio between two stream times."""
        if self.audio_start is None:
            return 0.0
        pcm = self.pcm
        a = max(0, int((start_s - self.audio_start) * self.audio_rate))
        b = max(0, int((end_s - self.audio_start) * self.audio_rate))
        seg = pcm[a:b]
        return float(np.sqrt(np.mean(seg**2))) if len(seg) else 0.0


def decode(url_or_path: str, *, seconds: float | None = None, open_timeout: float = 20.0) -> Readback:
    rb = Readback()
    options = {"rw_timeout": str(int(open_timeout * 1e6))} if "://" in url_or_path else {}
    container = av.open(url_or_path, options=options, timeout=open_timeout)
    try:
        v = container.streams.video[0]
        a = container.streams.audio[0]
        rb.video_codec, rb.audio_codec = v.codec_context.name, a.codec_context.name
        rb.audio_rate = a.codec_context.sample_rate
        t0 = time.monotonic()
        for packet in container.demux(v, a):
            if seconds is not None and time.monotonic() - t0 > seconds:
                break
            for frame in packet.decode():
                t = float(frame.pts * frame.time_base)
                if isinstance(frame, av.VideoFrame):
                    rb.width, rb.height = frame.width, frame.height
                    rb.video_pts.append(t)
                    if frame.key_frame:
                        rb.keyframes.append(t)
                else:
                    if rb.audio_start is None:
                        rb.audio_start = t
                    samples = frame.to_ndarray()
                    rb.audio.append(samples[0] if samples.ndim == 2 and frame.format.is_planar else samples.reshape(-1, frame.layout.nb_channels)[:, 0])
    finally:
        container.close()
    return rb


class BackgroundReader:
    """Decode a live stream in a thread while the channel pushes it."""

    def __init__(self, url: str, seconds: float) -> None:
        self.result = Readback()
        self._thread = threading.Thread(target=self._run, args=(url, seconds), daemon=True)
        self._thread.start()

    def _run(self, url: str, seconds: float) -> None:
        try:
            self.result = decode(url, seconds=seconds)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.result.error = repr(e)

    def join(self, timeout: float) -> Readback:
        self._thread.join(timeout)
        return self.result
