"""The frame vocabulary of a channel's pipeline.

Every frame carries ``pts``: an integer count of 48 kHz samples on the
channel's media clock.  Data frames (ticks, rendered media, what went on
air) wait in bounded inboxes; system frames (interrupt, release, errors)
jump the queue of every stage they reach.  A stage forwards what it does
not handle, so every frame sent into the pipeline passes every stage after
the one it entered.

    playout ─ TickFrame ─> render ─ MediaFrame ─> encode ─ OnAir ─> (observers: ledger, session)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livehost.core.speech import SpeechHandle


@dataclass(frozen=True)
class Frame:
    pts: int


# --- control -------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemFrame(Frame):
    """Jumps the queue: taken before any waiting data frame."""


@dataclass(frozen=True)
class StartFrame(SystemFrame):
    """The show begins: the playout starts its clock (the first sentence is ready to be spoken)."""


@dataclass(frozen=True)
class StopFrame(Frame):
    """Drain: queued in order behind the data (it does not jump the queue), so a
    stage that receives it has handled everything before it; it forwards it and ends."""


@dataclass(frozen=True)
class InterruptFrame(SystemFrame):
    """Cut the sentence on air at the next tick.  With ``hold`` the host stays silent
    (the picture goes on) until a :class:`ReleaseFrame` with the same ``reason``."""

    reason: str = "interrupt"
    hold: bool = False


@dataclass(frozen=True)
class ReleaseFrame(SystemFrame):
    """Ends the hold an :class:`InterruptFrame` with this ``reason`` started."""

    reason: str = "interrupt"


@dataclass(frozen=True)
class ErrorFrame(SystemFrame):
    """A stage failed on a frame.  ``fatal``: the stage ended (the channel cannot go on)."""

    stage: str
    error: BaseException
    fatal: bool = False

    @property
    def message(self) -> str:
        return f"{self.stage}: {type(self.error).__name__}: {self.error}"


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


# --- data ----------------------------------------------------------------------------


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
