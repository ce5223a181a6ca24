"""The one media clock: audio samples at 48 kHz are the master.

Every timestamp in a channel is an integer count of samples since the
channel's origin (0: when it went on air).  A video frame's pts is derived
from its index by integer multiplication, so audio and video cannot drift
apart.  A non-zero origin starts the clock elsewhere: the timestamp-wrap
tests start it just before RTMP's 24-bit and MPEG-TS's 33-bit boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

SAMPLE_RATE = 48_000
TIME_BASE = Fraction(1, SAMPLE_RATE)


@dataclass(frozen=True)
class MediaClock:
    fps: int
    origin: int = 0  # pts of the first frame, in samples

    def __post_init__(self) -> None:
        if self.fps <= 0 or SAMPLE_RATE % self.fps:
            raise ValueError(f"fps: {self.fps!r} must divide {SAMPLE_RATE} (e.g. 24, 25, 30, 50, 60)")
        if self.origin < 0 or self.origin % self.samples_per_frame:
            raise ValueError(f"origin: {self.origin!r} must be a non-negative multiple of {self.samples_per_frame} "
                             f"samples (one frame at {self.fps} fps)")

    @property
    def samples_per_frame(self) -> int:
        return SAMPLE_RATE // self.fps

    def frame_pts(self, index: int) -> int:
        """pts (in samples) of video frame ``index``."""
        return self.origin + index * self.samples_per_frame

    def frame_at(self, pts: int) -> int:
        """Index of the video frame whose period contains sample ``pts``."""
        return (pts - self.origin) // self.samples_per_frame

    def elapsed(self, pts: int) -> float:
        """Seconds of media from the origin to ``pts`` (for display and coarse schedules: never sum these)."""
        return (pts - self.origin) / SAMPLE_RATE

    @staticmethod
    def seconds(pts: int) -> float:
        """For display only: never sum these."""
        return pts / SAMPLE_RATE

    @staticmethod
    def samples(seconds: float) -> int:
        return round(seconds * SAMPLE_RATE)
