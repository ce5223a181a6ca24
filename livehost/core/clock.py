"""The one media clock: audio samples at 48 kHz are the master.

Every timestamp in a channel is an integer count of samples since the
channel went on air.  A video frame's pts is derived from its index by
integer multiplication, so audio and video cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

SAMPLE_RATE = 48_000
TIME_BASE = Fraction(1, SAMPLE_RATE)


@dataclass(frozen=True)
class MediaClock:
    fps: int

    def __post_init__(self) -> None:
        if self.fps <= 0 or SAMPLE_RATE % self.fps:
            raise ValueError(f"fps: {self.fps!r} must divide {SAMPLE_RATE} (e.g. 24, 25, 30, 50, 60)")

    @property
    def samples_per_frame(self) -> int:
        return SAMPLE_RATE // self.fps

    def frame_pts(self, index: int) -> int:
        """pts (in samples) of video frame ``index``."""
        return index * self.samples_per_frame

    def frame_at(self, pts: int) -> int:
        """Index of the video frame whose period contains sample ``pts``."""
        return pts // self.samples_per_frame

    @staticmethod
    def seconds(pts: int) -> float:
        """For display only: never sum these."""
        return pts / SAMPLE_RATE

    @staticmethod
    def samples(seconds: float) -> int:
        return round(seconds * SAMPLE_RATE)
