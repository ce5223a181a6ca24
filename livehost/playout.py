"""Playout: turns queued speech into one tick of audio per video frame.

The playout is driven by the media clock (one call per video frame), never
by wall time, so it runs the same on a virtual clock in tests.  It picks the
next sentence from the :class:`SpeechQueue` only at a sentence boundary,
which is what makes a viewer reply wait for the end of the sentence being
spoken.  When nothing is ready it plays silence: the show never stops.
"""

from __future__ import annotations

import numpy as np

from livehost.clock import MediaClock
from livehost.frames import ProductShown, SentenceEnded, SentenceStarted, SpeechEvent, TickFrame
from livehost.speech import SpeechHandle, SpeechQueue


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
