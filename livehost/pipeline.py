"""Stages, bounded queues between them, and the pipeline that owns their tasks.

A stage overrides one hook, :meth:`Stage.process`, and hands frames to its
downstream neighbour with :meth:`Stage.push`.  Data frames wait when the
neighbour's inbox is full (that is the back-pressure that keeps every
producer at most a few frames ahead); system frames never wait and are
taken before any queued data frame.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Sequence
from typing import Protocol

from livehost.frames import Frame, StopFrame, SystemFrame
from livehost.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Observer(Protocol):
    def on_frame(self, stage: str, frame: Frame) -> None: ...


class Inbox:
    """A bounded queue of data frames plus a small lane for system frames."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize: {maxsize!r} must be >= 1 (every queue is bounded)")
        self.maxsize = maxsize
        self._data: collections.deque[Frame] = collections.deque()
        self._system: collections.deque[SystemFrame] = collections.deque()
        self._changed = asyncio.Condition()

    def qsize(self) -> int:
        return len(self._data)

    async def put(self, frame: Frame) -> None:
        async with self._changed:
            if isinstance(frame, SystemFrame):
                self._system.append(frame)
            else:
                await self._changed.wait_for(lambda: len(self._data) < self.maxsize)
                self._data.append(frame)
            self._changed.notify_all()

    async def get(self) -> Frame:
        async with self._changed:
            await self._changed.wait_for(lambda: self._system or self._data)
            frame = self._system.popleft() if self._system else self._data.popleft()
            self._changed.notify_all()
            return frame

    async def flush(self) -> int:
        """Drop queued data frames (an interruption); returns how many."""
        async with self._changed:
            n = len(self._data)
            self._data.clear()
            self._changed.notify_all()
            return n


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

    async def run(self) -> None:
        try:
            while True:
                frame = await self.inbox.get()
                await self.process(frame)
                if isinstance(frame, StopFrame):
                    return
        finally:
            await self.close()


class Pipeline:
    """Links stages in order and owns one task per stage.

    :meth:`stop` sends a :class:`StopFrame` through so every stage drains in
    order, and cancels whatever has not finished when the deadline passes.
    """

    def __init__(self, stages: Sequence[Stage], observers: Sequence[Observer] = ()) -> None:
        if not stages:
            raise ValueError("stages: a pipeline needs at least one stage")
        self.stages = list(stages)
        for up, down in zip(self.stages, self.stages[1:]):
            up._downstream = down
        for stage in self.stages:
            stage._observers.extend(observers)
        self._tasks: list[asyncio.Task] = []

    @property
    def head(self) -> Stage:
        return self.stages[0]

    def start(self) -> None:
        if self._tasks:
            raise RuntimeError("pipeline already started")
        self._tasks = [asyncio.create_task(s.run(), name=f"stage:{s.name}") for s in self.stages]

    async def wait(self) -> None:
        """Wait until every stage ended; re-raises the first stage failure."""
        await asyncio.gather(*self._tasks)

    def failed(self) -> BaseException | None:
        for t in self._tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                return t.exception()
        return None

    async def stop(self, pts: int, deadline: float = 5.0) -> None:
        if not self._tasks:
            return
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        if not all(t.done() for t in self._tasks):
            try:  # the head may be dead or wedged: taking the stop frame is also bounded
                async with asyncio.timeout(deadline):
                    await self.head.inbox.put(StopFrame(pts))
            except TimeoutError:
                log.warning("stage %s did not take the stop frame within %.1fs", self.head.name, deadline)
        done, pending = await asyncio.wait(self._tasks, timeout=max(0.0, end - loop.time()))
        for t in pending:
            log.warning("stage task %s did not drain within %.1fs: cancelling", t.get_name(), deadline)
        await cancel_and_wait(pending, deadline, "pipeline")
        for t in done:
            if not t.cancelled() and t.exception() is not None:
                log.error("stage %s failed: %r", t.get_name(), t.exception())
