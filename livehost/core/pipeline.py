"""Stages, bounded inboxes between them, and the pipeline that owns their tasks.

A stage overrides one hook, :meth:`Stage.process`, and hands frames to its
downstream neighbour with :meth:`Stage.push`.  Data frames wait when the
neighbour's inbox is full (that is the back-pressure that keeps every
producer at most a few frames ahead); system frames never wait and are
taken before any queued data frame.  A stage whose ``process`` raises ends,
and sends an :class:`~livehost.core.frames.ErrorFrame` on: whoever watches
the pipeline learns of it from the frame, not by polling tasks.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Sequence
from typing import Protocol

from livehost.core.frames import ErrorFrame, Frame, StopFrame, SystemFrame
from livehost.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Observer(Protocol):
    def on_frame(self, stage: str, frame: Frame) -> None: ...


class InboxFull(Exception):
    pass


class Inbox:
    """A bounded queue of data frames plus a lane for system frames that never waits."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize: {maxsize!r} must be >= 1 (every queue is bounded)")
        self.maxsize = maxsize
        self._data: collections.deque[Frame] = collections.deque()
        self._system: collections.deque[Frame] = collections.deque()
        self._changed = asyncio.Event()

    def qsize(self) -> int:
        return len(self._data)

    def _notify(self) -> None:
        # Wake everyone waiting on this generation; later waiters get a fresh event.
        self._changed.set()
        self._changed = asyncio.Event()

    async def put(self, frame: Frame) -> None:
        """Queue ``frame``; a data frame waits for room, a system frame never does."""
        if not isinstance(frame, SystemFrame):
            while len(self._data) >= self.maxsize:
                await self._changed.wait()
        self.put_nowait(frame)

    def put_nowait(self, frame: Frame) -> None:
        """Queue ``frame`` now (system frames always fit; :class:`InboxFull` for a data frame with no room)."""
        if isinstance(frame, SystemFrame):
            self._system.append(frame)
        elif len(self._data) >= self.maxsize:
            raise InboxFull(f"inbox full ({self.maxsize} frames)")
        else:
            self._data.append(frame)
        self._notify()

    async def get(self) -> Frame:
        while not (self._system or self._data):
            await self._changed.wait()
        frame = self.get_nowait()
        assert frame is not None
        return frame

    def get_nowait(self) -> Frame | None:
        """The next frame (system frames first), or ``None`` when there is none."""
        if self._system:
            frame = self._system.popleft()
        elif self._data:
            frame = self._data.popleft()
        else:
            return None
        self._notify()
        return frame


class Stage:
    """One step of the pipeline.  Override :meth:`process`; call :meth:`push`."""

    def __init__(self, name: str, *, maxsize: int = 8) -> None:
        self.name = name
        self.inbox = Inbox(maxsize)
        self._downstream: Stage | None = None
        self._observers: list[Observer] = []

    async def process(self, frame: Frame) -> None:
        """Handle one frame.  The default forwards it unchanged."""
        await self.push(frame)

    async def push(self, frame: Frame) -> None:
        for observer in self._observers:
            observer.on_frame(self.name, frame)
        if self._downstream is not None:
            await self._downstream.inbox.put(frame)

    async def close(self) -> None:
        """Release resources.  Called once, after the stage's loop ended."""

    async def fail(self, frame: Frame, error: Exception) -> None:
        """Report that this stage cannot go on (it ends after this)."""
        log.error("stage %s failed at pts %d: %r", self.name, frame.pts, error, exc_info=error)
        await self.push(ErrorFrame(frame.pts, self.name, error, fatal=True))

    async def run(self) -> None:
        try:
            while True:
                frame = await self.inbox.get()
                try:
                    await self.process(frame)
                except Exception as e:  # noqa: BLE001 - becomes an error frame: the channel decides
                    await self.fail(frame, e)
                    return
                if isinstance(frame, StopFrame):
                    return
        finally:
            await self.close()


class Pipeline:
    """Links stages in order and owns one task per stage.

    Frames enter at the head (:meth:`send`).  :meth:`stop` sends a
    :class:`StopFrame` through so every stage drains in order, and cancels
    whatever has not finished when the deadline passes.
    """

    def __init__(self, stages: Sequence[Stage], observers: Sequence[Observer] = ()) -> None:
        if not stages:
            raise ValueError("stages: a pipeline needs at least one stage")
        self.stages = list(stages)
        for up, down in zip(self.stages, self.stages[1:]):
            up._downstream = down
        for observer in observers:
            self.add_observer(observer)
        self._tasks: list[asyncio.Task] = []

    @property
    def head(self) -> Stage:
        return self.stages[0]

    def add_observer(self, observer: Observer) -> None:
        """``observer.on_frame(stage, frame)`` for every frame every stage pushes."""
        for stage in self.stages:
            stage._observers.append(observer)

    def start(self) -> None:
        if self._tasks:
            raise RuntimeError("pipeline already started")
        self._tasks = [asyncio.create_task(s.run(), name=f"stage:{s.name}") for s in self.stages]

    @property
    def done(self) -> bool:
        """Every stage has ended."""
        return bool(self._tasks) and all(t.done() for t in self._tasks)

    async def send(self, frame: Frame) -> None:
        """Into the head stage (a data frame waits for room)."""
        await self.head.inbox.put(frame)

    def send_nowait(self, frame: SystemFrame) -> None:
        """A system frame into the head stage, from code that cannot wait."""
        self.head.inbox.put_nowait(frame)

    async def stop(self, pts: int, deadline: float = 5.0) -> None:
        if not self._tasks:
            return
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        if not self.done:
            try:  # the head may be dead or wedged: taking the stop frame is also bounded
                async with asyncio.timeout(deadline):
                    await self.send(StopFrame(pts))
            except TimeoutError:
                log.warning("stage %s did not take the stop frame within %.1fs", self.head.name, deadline)
        done, pending = await asyncio.wait(self._tasks, timeout=max(0.0, end - loop.time()))
        for t in pending:
            log.warning("stage task %s did not drain within %.1fs: cancelling", t.get_name(), deadline)
        await cancel_and_wait(pending, deadline, "pipeline")
        for t in done:
            if not t.cancelled() and t.exception() is not None:
                log.error("stage %s failed: %r", t.get_name(), t.exception())
