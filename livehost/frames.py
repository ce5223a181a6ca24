"""The frame vocabulary of a channel.

Everything a channel does is one of these frames moving down the pipeline.
Every frame carries ``pts``: an integer count of 48 kHz samples on the
channel's media clock.  System frames jump the queue of the stage they are
sent to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from livehost.speech import SpeechHandle


@dataclass(frozen=True)
class Frame:
    pts: int


# --- system frames: jump the queue -------------------------------------------------


@dataclass(frozen=True)
class SystemFrame(Frame):
    pass


@dataclass(frozen=True)
class StartFrame(SystemFrame):
    pass


@dataclass(frozen=True)
class StopFrame(Frame):
    """Drain: queued in order behind the data (it does not jump the queue), so a
    stage that receives it has handled everything before it; it forwards it and ends."""


@dataclass(frozen=True)
class InterruptFrame(SystemFrame):
    reason: str = "interrupt"


@dataclass(frozen=True)
class HeartbeatFrame(SystemFrame):
    pass


# --- speech events: carried by the media frames they start or end in -------------


@dataclass(frozen=True)
class SentenceStarted(Frame):
    handle: SpeechHandle


@dataclass(frozen=True)
class SentenceEnded(Frame):
    """``pts`` is the first sample after the sentence.  ``cut`` when it stopped early."""

    handle: SpeechHandle
    cut: bool = False
    reason: str = ""


@dataclass(frozen=True)
class ProductShown(Frame):
    sku: str


SpeechEvent = SentenceStarted | SentenceEnded | ProductShown


# --- data frames --------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechAudio:
    """A synthesized sentence: 48 kHz mono int16 PCM and its mouth-shape track.

    ``mouth_shapes[i]`` holds from sample ``mouth_starts[i]`` to the next start.
    """

    pcm: np.ndarray
    mouth_starts: np.ndarray
    mouth_shapes: np.ndarray

    @property
    def samples(self) -> int:
        return int(self.pcm.shape[0])

    def mouth_at(self, sample: int) -> int:
        if sample < 0 or sample >= self.samples or not len(self.mouth_starts):
            return 0
        i = int(np.searchsorted(self.mouth_starts, sample, side="right")) - 1
        return int(self.mouth_shapes[i]) if i >= 0 else 0


@dataclass(frozen=True)
class TickFrame(Frame):
    """One video-frame period of the show: its audio, mouth shape and speech events."""

    index: int
    audio: np.ndarray  # int16, samples_per_frame samples
    mouth: int
    speaking: bool
    sku: str | None
    events: tuple[SpeechEvent, ...] = ()


@dataclass(frozen=True)
class MediaFrame(Frame):
    """A rendered tick: the picture (yuv420p) and the audio that plays under it."""

    index: int
    audio: np.ndarray
    picture: np.ndarray
    events: tuple[SpeechEvent, ...] = field(default=())


@dataclass(frozen=True)
class OnAir(Frame):
    """What the output did with one tick: pushed by the last stage, read by observers.

    ``sent``: the tick was handed to the output.  ``acked_pts``: media before
    this sample is confirmed delivered.  ``lost_from``: media from this
    sample on was lost (the link dropped), or ``None``.
    """

    index: int
    sent: bool
    acked_pts: int
    lost_from: int | None
    bytes_out: int
    events: tuple[SpeechEvent, ...] = ()
