"""Speech on its way to air: synthesized audio, handles, and the queue of approved sentences by priority.

A viewer reply outranks the operator, who outranks the script.  The queue
is consulted only at sentence boundaries, so a new high-priority item waits
for the end of the sentence being spoken.  Items of equal priority keep
their arrival order; a sentence that was cut (output outage, interruption)
is requeued with its original sequence number, so the script resumes at the
first sentence not yet actually spoken, without repeats or skips.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from livehost.core.approved import ApprovedSpeech, Priority, Source


class QueueFull(Exception):
    pass


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


class SpeechState(str, enum.Enum):
    QUEUED = "queued"
    PLAYING = "playing"
    SPOKEN = "spoken"
    CUT = "cut"  # cut and not replayed
    FAILED = "failed"  # could not be synthesized
    WITHDRAWN = "withdrawn"  # taken back before it played (its facts changed)


class SpeechHandle:
    """One sentence on its way to air.  Await :meth:`wait_for_playout` to learn its fate."""

    def __init__(self, speech: ApprovedSpeech, seq: int) -> None:
        self.speech = speech
        self.seq = seq
        self.state = SpeechState.QUEUED
        self.audio: SpeechAudio | None = None
        self.error: str | None = None
        self.cuts = 0
        self._done: asyncio.Future[SpeechState] = asyncio.get_running_loop().create_future()

    @property
    def priority(self) -> Priority:
        return self.speech.priority

    def _key(self) -> tuple[int, int]:
        return (-int(self.priority), self.seq)

    def __lt__(self, other: SpeechHandle) -> bool:
        return self._key() < other._key()

    def finish(self, state: SpeechState) -> None:
        self.state = state
        if not self._done.done():
            self._done.set_result(state)

    async def wait_for_playout(self) -> SpeechState:
        return await asyncio.shield(self._done)

    def __repr__(self) -> str:
        return f"<SpeechHandle #{self.seq} {self.speech.source.value} {self.state.value} {self.speech.text[:20]!r}>"


class SpeechQueue:
    """Bounded priority queue of :class:`SpeechHandle`.

    ``limits`` bounds how many items of each source may wait at once: the
    script is a producer that runs ahead only a few sentences, and replies
    or operator items beyond their bound are refused with :class:`QueueFull`.
    """

    DEFAULT_LIMITS = {Source.SCRIPT: 3, Source.OPERATOR: 16, Source.REPLY: 16}

    def __init__(self, limits: dict[Source, int] | None = None) -> None:
        self.limits = {**self.DEFAULT_LIMITS, **(limits or {})}
        self._heap: list[SpeechHandle] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def count(self, source: Source) -> int:
        return sum(1 for h in self._heap if h.speech.source is source)

    def _has_room(self, source: Source) -> bool:
        return self.count(source) < self.limits[source]

    def _push(self, handle: SpeechHandle) -> None:
        heapq.heappush(self._heap, handle)
        self._notify()

    def _notify(self) -> None:
        # Wake everyone waiting on the current generation; later waiters get a fresh event.
        self._changed.set()
        self._changed = asyncio.Event()

    def put_nowait(self, speech: ApprovedSpeech) -> SpeechHandle:
        if not isinstance(speech, ApprovedSpeech):
            raise TypeError(f"speech: expected ApprovedSpeech from the gate, got {type(speech).__name__}")
        if not self._has_room(speech.source):
            raise QueueFull(f"speech queue: {speech.source.value} items at limit {self.limits[speech.source]}")
        handle = SpeechHandle(speech, next(self._seq))
        self._push(handle)
        return handle

    async def put(self, speech: ApprovedSpeech) -> SpeechHandle:
        """Wait for room, then enqueue."""
        await self.wait_room(speech.source)
        return self.put_nowait(speech)

    async def wait_room(self, source: Source) -> None:
        """Return once an item of ``source`` would be taken (decide what to say after this, not before)."""
        while not self._has_room(source):
            await self.wait_changed()

    def requeue(self, handle: SpeechHandle) -> None:
        """Put a cut sentence back at its original place (same sequence number)."""
        handle.state = SpeechState.QUEUED
        handle.cuts += 1
        self._push(handle)

    def withdraw(self, predicate: Callable[[SpeechHandle], bool]) -> list[SpeechHandle]:
        """Take back every waiting item ``predicate(handle)`` selects; returns them in play order."""
        taken = sorted(h for h in self._heap if predicate(h))
        if taken:
            ids = {id(h) for h in taken}
            self._heap = [h for h in self._heap if id(h) not in ids]
            heapq.heapify(self._heap)
            for h in taken:
                h.finish(SpeechState.WITHDRAWN)
            self._notify()
        return taken

    def pending_synthesis(self, lookahead: int) -> list[SpeechHandle]:
        """The first ``lookahead`` items in play order that have no audio yet."""
        head = heapq.nsmallest(lookahead, self._heap)
        return [h for h in head if h.audio is None and h.error is None]

    def upcoming(self, n: int = 3) -> list[SpeechHandle]:
        """The next ``n`` waiting items, in play order."""
        return sorted(self._heap)[:n]

    def peek(self) -> SpeechHandle | None:
        return self._heap[0] if self._heap else None

    def pop_ready(self) -> SpeechHandle | None:
        """Take the next item to speak if its audio is ready; ``None`` otherwise.

        Failed items at the head are discarded (marked FAILED) so they never
        block the queue.
        """
        while self._heap:
            head = self._heap[0]
            if head.error is not None:
                heapq.heappop(self._heap)
                head.finish(SpeechState.FAILED)
                self._notify()
                continue
            if head.audio is None:
                return None
            heapq.heappop(self._heap)
            head.state = SpeechState.PLAYING
            self._notify()
            return head
        return None

    async def wait_head_ready(self, timeout: float, waiting: Callable[[], bool]) -> None:
        """Return once the next item is synthesized (or failed), after ``timeout`` seconds, or when ``waiting()``
        turns false (the show opens talking: its first sentence is ready before its clock starts)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline and waiting():
            head = self.peek()
            if head is not None and (head.audio is not None or head.error is not None):
                return
            await self.wait_changed(timeout=0.2)

    def mark_synthesized(self) -> None:
        self._notify()

    def poke(self) -> None:
        """Wake whoever waits on the queue (the script writer, after a run-of-show change)."""
        self._notify()

    async def wait_changed(self, timeout: float | None = None) -> None:
        """Return when the queue changed (or after ``timeout`` seconds)."""
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        except TimeoutError:
            pass

    def snapshot(self) -> list[SpeechHandle]:
        return sorted(self._heap)
