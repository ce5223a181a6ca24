"""Playout: turns queued speech into one tick of audio per video frame.

The playout is driven by the media clock (one call per video frame), never
by wall time, so it runs the same on a virtual clock in tests.  It picks the
next sentence from the :class:`SpeechQueue` only at a sentence boundary,
which is what makes a viewer reply wait for the end of the sentence being
spoken.  When nothing is ready it plays silence: the show never stops.

:class:`PlayoutStage` is the pipeline's source: from a :class:`StartFrame`
on it pushes one :class:`TickFrame` per video frame, as fast as the stages
after it take them (the encoder paces them to the wall clock), and honours
interruptions between ticks.
"""

from __future__ import annotations

import numpy as np

from livehost.core.clock import MediaClock
from livehost.core.frames import (
    Frame,
    InterruptFrame,
    ProductShown,
    ReleaseFrame,
    SentenceEnded,
    SentenceStarted,
    SpeechEvent,
    StartFrame,
    StopFrame,
    TickFrame,
)
from livehost.core.pipeline import Stage
from livehost.core.speech import SpeechHandle, SpeechQueue


class Playout:
    def __init__(self, clock: MediaClock, queue: SpeechQueue) -> None:
        self.clock = clock
        self.queue = queue
        self._current: SpeechHandle | None = None
        self._offset = 0  # samples of the current sentence already played
        self._hold_reason: str | None = None
        self._cut_reason: str | None = None
        self._sku: str | None = None
        self._silence = np.zeros(clock.samples_per_frame, dtype=np.int16)

    @property
    def current(self) -> SpeechHandle | None:
        return self._current

    @property
    def held(self) -> str | None:
        return self._hold_reason

    def hold(self, reason: str) -> None:
        """Stop speaking (cutting the sentence in flight) until :meth:`release`."""
        self._hold_reason = reason
        self.interrupt(reason)

    def release(self) -> None:
        self._hold_reason = None

    def interrupt(self, reason: str = "interrupt") -> None:
        """Cut the sentence being spoken at the next tick."""
        if self._current is not None:
            self._cut_reason = reason

    def next_tick(self, index: int) -> TickFrame:
        spf = self.clock.samples_per_frame
        pts = self.clock.frame_pts(index)
        events: list[SpeechEvent] = []

        if self._current is not None and self._cut_reason is not None:
            events.append(SentenceEnded(pts, self._current, cut=True, reason=self._cut_reason))
            self._current, self._cut_reason = None, None

        if self._current is None and self._hold_reason is None:
            handle = self.queue.pop_ready()
            if handle is not None:
                self._current, self._offset = handle, 0
                sku = handle.speech.sku
                if sku is not None and sku != self._sku:
                    self._sku = sku
                    events.append(ProductShown(pts, sku))
                events.append(SentenceStarted(pts, handle))

        if self._current is None:
            return TickFrame(pts, index, self._silence, 0, False, self._sku, tuple(events))

        audio = self._current.audio
        assert audio is not None
        chunk = audio.pcm[self._offset : self._offset + spf]
        mouth = audio.mouth_at(self._offset + spf // 2)
        self._offset += spf
        if chunk.shape[0] < spf:
            # The sentence ends inside this tick: pad with silence; the next one
            # starts on the next frame boundary.
            chunk = np.concatenate([chunk, self._silence[: spf - chunk.shape[0]]])
        if self._offset >= audio.samples:
            end = pts + spf - (self._offset - audio.samples)  # exact last sample + 1
            events.append(SentenceEnded(end, self._current))
            self._current = None
        return TickFrame(pts, index, chunk, mouth, True, self._sku, tuple(events))


class PlayoutStage(Stage):
    """The head of the media pipeline and its clock: ticks from the speech queue, one per video frame.

    Ticks start with a :class:`StartFrame` and, when ``until`` is given,
    stop after that many (the channel's duration); control frames are
    honoured between ticks and passed on.
    """

    def __init__(self, playout: Playout, *, until: int | None = None, maxsize: int = 8) -> None:
        super().__init__("playout", maxsize=maxsize)
        self.playout = playout
        self.until = until
        self.index = 0  # the next tick
        self.started = False

    @property
    def pts(self) -> int:
        """Where the media clock is: the pts of the next tick."""
        return self.playout.clock.frame_pts(self.index)

    @property
    def finished(self) -> bool:
        return self.until is not None and self.index >= self.until

    def control(self, frame: Frame) -> None:
        if isinstance(frame, StartFrame):
            self.started = True
        elif isinstance(frame, InterruptFrame):
            if frame.hold:
                self.playout.hold(frame.reason)
            else:
                self.playout.interrupt(frame.reason)
        elif isinstance(frame, ReleaseFrame) and self.playout.held == frame.reason:
            self.playout.release()

    async def run(self) -> None:
        frame: Frame | None = None
        try:
            while True:
                ticking = self.started and not self.finished
                frame = self.inbox.get_nowait() if ticking else await self.inbox.get()
                if frame is not None:
                    self.control(frame)
                    await self.push(frame)
                    if isinstance(frame, StopFrame):
                        return
                    continue
                tick = self.playout.next_tick(self.index)
                self.index += 1
                await self.push(tick)  # back-pressure: at most a few frames ahead of the output
        except Exception as e:  # noqa: BLE001 - becomes an error frame: the channel decides
            await self.fail(frame or StopFrame(self.pts), e)
        finally:
            await self.close()
