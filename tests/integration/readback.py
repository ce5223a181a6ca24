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
    first_packet: dict[str, float] = field(default_factory=dict)  # stream type -> pts of its first packet
    audio: list[np.ndarray] = field(default_factory=list)
    mouth: list[int] = field(default_factory=list)  # dark (open-mouth) pixels in the probe box, per video frame
    luma: list[float] = field(default_factory=list)  # mean brightness of each video frame (with keep_luma)
    crops: list[np.ndarray] = field(default_factory=list)  # each video frame's luma in crop_box (with crop_box)
    metadata: dict[str, str] = field(default_factory=dict)  # the container's tags (FLV onMetaData, MP4/MKV tags)
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

    def lip_sync_lag(self, max_lag: int = 6) -> int:
        """The shift, in frames, that best lines the mouth up with the voice.

        Correlates the open-mouth series with the audio energy under each
        video frame; positive means the picture is late.
        """
        fps = self.fps()
        energy = np.array([self.rms(t, t + 1 / fps) for t in self.video_pts])
        mouth = np.asarray(self.mouth, np.float64)
        mouth, energy = mouth - mouth.mean(), energy - energy.mean()
        n = len(mouth)

        def corr(lag: int) -> float:
            m, e = (mouth[lag:], energy[: n - lag]) if lag >= 0 else (mouth[: n + lag], energy[-lag:])
            return float(np.dot(m, e) / (np.linalg.norm(m) * np.linalg.norm(e) + 1e-12))

        return max(range(-max_lag, max_lag + 1), key=corr)


def decode(url_or_path: str, *, seconds: float | None = None, open_timeout: float = 20.0, idle_timeout: float = 3.0,
           mouth_box: tuple[int, int, int, int] | None = None, crop_box: tuple[int, int, int, int] | None = None,
           keep_luma: bool = False) -> Readback:
    """Decode a file, or a live stream for ``seconds`` of wall time.

    nginx-rtmp keeps a player connected after the publisher left, so a live
    read that gets nothing for ``idle_timeout`` seconds after media arrived
    is the end of the stream, not an error.  With ``mouth_box`` (x0, y0, x1,
    y1), each video frame's open-mouth pixels in that box are counted.
    """
    rb = Readback()
    container = av.open(url_or_path, timeout=(open_timeout, idle_timeout))
    try:
        rb.metadata = dict(container.metadata)
        v = container.streams.video[0]
        a = container.streams.audio[0]
        rb.video_codec, rb.audio_codec = v.codec_context.name, a.codec_context.name
        rb.audio_rate = a.codec_context.sample_rate
        t0 = time.monotonic()
        try:
            for packet in container.demux(v, a):
                if seconds is not None and time.monotonic() - t0 > seconds:
                    break
                if packet.pts is not None:
                    rb.first_packet.setdefault(packet.stream.type, float(packet.pts * packet.time_base))
                _decode_packet(rb, packet, mouth_box, crop_box, keep_luma)
        except av.ExitError:
            if not rb.video_pts:
                raise
    finally:
        container.close()
    return rb


def _decode_packet(rb: Readback, packet: av.Packet, mouth_box, crop_box=None, keep_luma=False) -> None:
    for frame in packet.decode():
        t = float(frame.pts * frame.time_base)
        if isinstance(frame, av.VideoFrame):
            rb.width, rb.height = frame.width, frame.height
            rb.video_pts.append(t)
            if frame.key_frame:
                rb.keyframes.append(t)
            if mouth_box is not None or crop_box is not None or keep_luma:
                gray = frame.to_ndarray(format="gray")
                if mouth_box is not None:
                    x0, y0, x1, y1 = mouth_box
                    rb.mouth.append(int((gray[y0:y1, x0:x1] < 90).sum()))
                if crop_box is not None:
                    x0, y0, x1, y1 = crop_box
                    rb.crops.append(gray[y0:y1, x0:x1].copy())
                if keep_luma:
                    rb.luma.append(float(gray.mean()))
        else:
            if rb.audio_start is None:
                rb.audio_start = t
            samples = frame.to_ndarray()
            planar = samples.ndim == 2 and frame.format.is_planar
            rb.audio.append(samples[0] if planar else samples.reshape(-1, frame.layout.nb_channels)[:, 0])


class BackgroundReader:
    """Decode a live stream in a thread while the channel pushes it."""

    def __init__(self, url: str, seconds: float, **options) -> None:
        self.result = Readback()
        self._thread = threading.Thread(target=self._run, args=(url, seconds, options), daemon=True)
        self._thread.start()

    def _run(self, url: str, seconds: float, options: dict) -> None:
        try:
            self.result = decode(url, seconds=seconds, **options)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.result.error = repr(e)

    def join(self, timeout: float) -> Readback:
        self._thread.join(timeout)
        return self.result
