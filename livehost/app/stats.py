"""A channel's numbers: what it has done since it started, and how fast it is going now."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from livehost.core.states import ChannelState, OutputState


@dataclass(frozen=True)
class ChannelStats:
    state: ChannelState
    media_seconds: float
    frames_sent: int
    frames_dropped: int
    fps: float
    kbps: float
    speaking: str | None
    spoken: int
    cut: int
    queue_depth: int
    reconnects: int
    render_dropped: int = 0  # frames the host could not draw in time (the previous one was shown again)


class Throughput:
    """Frames and bytes per second over the last few seconds (64 samples of the output's counters)."""

    def __init__(self, samples: int = 64) -> None:
        self._window: deque[tuple[float, int, int]] = deque(maxlen=samples)  # (wall, frames sent, bytes out)

    def add(self, frames: int, bytes_out: int) -> None:
        self._window.append((time.monotonic(), frames, bytes_out))

    def rates(self) -> tuple[float, float]:
        """(frames per second, kilobits per second)."""
        if len(self._window) < 2:
            return 0.0, 0.0
        (t0, f0, b0), (t1, f1, b1) = self._window[0], self._window[-1]
        if t1 <= t0:
            return 0.0, 0.0
        return (f1 - f0) / (t1 - t0), (b1 - b0) * 8 / 1000 / (t1 - t0)


def channel_state(*, stopping: bool, takeover: bool, paused: bool, output: OutputState, reconnects: int) -> ChannelState:
    """A running channel's state: an operator's doing first, else how its output is."""
    if stopping:
        return ChannelState.STOPPED
    if takeover:
        return ChannelState.TAKEOVER
    if paused:
        return ChannelState.PAUSED
    if output is OutputState.LIVE:
        return ChannelState.LIVE
    if reconnects or output is OutputState.DOWN:
        return ChannelState.RECONNECTING
    return ChannelState.STARTING  # connecting for the first time
