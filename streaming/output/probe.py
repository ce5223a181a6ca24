"""Measure lip-sync on what was written or pushed: does the mouth move with the voice, and how late?

Whole-frame motion is a poor signal (blinks, idle motion and the card dominate it).  The picture is cut
into small cells; each cell's motion (mean absolute change from the previous frame) is correlated with the
smoothed audio envelope at every lag within +-``max_lag`` frames, and the lag is read from the cells that
follow the voice best: the mouth.  A positive lag means the picture is late.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LipSync:
    lag_frames: int
    lag_ms: float
    correlation: float  # of the best cells at the best lag
    cells: list[tuple[int, int]]  # (row, column) of the cells read, in the probe's grid
    frames: int
    fps: float


def decode(path: str | Path, *, width: int = 90, height: int = 160,
           seconds: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(grey frames (n, height, width) float32, audio energy per frame (n,), fps) of a file or stream URL."""
    import av

    frames: list[np.ndarray] = []
    times: list[float] = []
    pcm: list[np.ndarray] = []
    audio_start: float | None = None
    rate = 48000
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        streams = [vs, *container.streams.audio[:1]]
        for packet in container.demux(*streams):
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                    continue
                t = float(frame.time or 0.0)
                if seconds is not None and t > seconds:
                    continue
                if isinstance(frame, av.VideoFrame):
                    frames.append(frame.to_ndarray(width=width, height=height, format="gray").astype(np.float32))
                    times.append(t)
                else:
                    if audio_start is None:
                        audio_start = t
                    rate = frame.sample_rate
                    a = frame.to_ndarray().astype(np.float32)
                    pcm.append(a.mean(0) if a.ndim == 2 else a)
    if len(frames) < 10 or not pcm:
        raise ValueError(f"{path}: needs video and audio (got {len(frames)} frames, {'some' if pcm else 'no'} audio)")
    fps = 1.0 / float(np.median(np.diff(times)))
    audio = np.concatenate(pcm)
    if np.abs(audio).max() > 2.0:  # integer samples
        audio = audio / 32768.0
    energy = np.zeros(len(frames), np.float32)
    for i, t in enumerate(times):
        first = int((t - (audio_start or 0.0)) * rate)
        last = int(first + rate / fps)
        seg = audio[max(first, 0):max(last, 0)]
        energy[i] = float(np.sqrt(np.mean(seg**2))) if len(seg) else 0.0
    return np.stack(frames), energy, fps


def lip_sync(frames: np.ndarray, energy: np.ndarray, fps: float, *, cell: int = 6, max_lag: int = 12,
             top: int = 4) -> LipSync:
    """The lag (frames) between the voice and the picture's best-following cells."""
    n, h, w = frames.shape
    rows, cols = h // cell, w // cell
    f = frames[:, :rows * cell, :cols * cell].reshape(n, rows, cell, cols, cell).mean(axis=(2, 4))
    motion = np.abs(np.diff(f, axis=0))  # (n-1, rows, cols): change into frame i+1
    level = f[1:]
    env = np.convolve(energy, np.ones(3) / 3, mode="same")[1:]

    def z(x: np.ndarray) -> np.ndarray:
        x = x - x.mean(0)
        return x / (np.linalg.norm(x, axis=0) + 1e-9)

    e = env - env.mean()
    best = np.full((2 * max_lag + 1, rows, cols), -1.0)
    m = len(e)
    for li, lag in enumerate(range(-max_lag, max_lag + 1)):
        if lag >= 0:
            mv, lv, ev = motion[lag:], level[lag:], e[:m - lag]
        else:
            mv, lv, ev = motion[:m + lag], level[:m + lag], e[-lag:]
        ev = ev / (np.linalg.norm(ev) + 1e-9)
        c_motion = np.tensordot(ev, z(mv), axes=(0, 0))
        c_level = np.abs(np.tensordot(ev, z(lv), axes=(0, 0)))  # an open mouth is darker or brighter
        best[li] = np.maximum(c_motion, c_level)
    peak = best.max(0)
    flat = np.argsort(peak.ravel())[::-1][:top]
    cells = [(int(i // cols), int(i % cols)) for i in flat]
    curve = np.mean([best[:, r, c] for r, c in cells], axis=0)
    li = int(np.argmax(curve))
    lag = li - max_lag
    return LipSync(lag, 1000.0 * lag / fps, float(curve[li]), cells, n, fps)


def probe(path: str | Path, seconds: float | None = None) -> LipSync:
    frames, energy, fps = decode(path, seconds=seconds)
    return lip_sync(frames, energy, fps)
