"""The render service: one per device and backend, it takes the frames due from every channel of the process
and renders them in one batch, answering each by its deadline; a frame it cannot serve in time is answered
None (the host shows its previous frame again and counts the drop), never quietly late."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from livehost.core.tasks import cancel_and_wait
from streaming.avatar.pack import AvatarPack

log = logging.getLogger(__name__)


class RenderError(Exception):
    """The renderer cannot run as configured (device, pack size)."""


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RenderError(f"render.device = {device!r}: no CUDA device is available (use auto or cpu)")
    if device != "cpu" and not device.startswith("cuda"):
        raise RenderError(f"render.device = {device!r}: use auto, cpu or cuda[:N]")
    return device


class BatchRenderer(Protocol):
    """What a render service drives: jobs in, yuv420p frames out, in one call per batch."""

    device: str

    def load(self, pack: AvatarPack) -> Any: ...

    def render(self, jobs: Sequence[Any]) -> list[np.ndarray]: ...


@dataclass
class _Request:
    job: Any
    deadline: float
    channel: str
    done: asyncio.Future = field(repr=False)


@dataclass
class ServiceStats:
    frames: int = 0
    batches: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    last_batch_ms: float = 0.0
    largest_batch: int = 0

    @property
    def mean_batch(self) -> float:
        return self.frames / self.batches if self.batches else 0.0


class RenderService:
    """One per device: gathers the frames due from every channel for ``gather_s`` after the first, renders
    them in one batch (at most ``max_batch``), answers each; a request past its deadline is answered None."""

    def __init__(self, renderer: BatchRenderer, *, max_batch: int = 64, gather_s: float = 0.004,
                 queue: int = 512) -> None:
        self.renderer = renderer
        self.max_batch, self.gather_s = max_batch, gather_s
        self._queue: asyncio.Queue[_Request] = asyncio.Queue(maxsize=queue)
        self._task: asyncio.Task | None = None
        self.stats = ServiceStats()
        self.users = 0

    def start(self) -> None:
        """Run the batching task on the running loop (again, after a loop that ran it has gone)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._queue = asyncio.Queue(maxsize=self._queue.maxsize)
            self._task = loop.create_task(self._run(), name=f"render-service-{self.renderer.device}")

    async def close(self, deadline: float = 5.0) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], deadline, "render service")
            self._task = None
        while not self._queue.empty():
            r = self._queue.get_nowait()
            if not r.done.done():
                r.done.set_result(None)

    async def render(self, job: Any, deadline: float, channel: str = "") -> np.ndarray | None:
        """The frame, or None when it could not be rendered by ``deadline`` (``time.monotonic()``)."""
        self.start()
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Request(job, deadline, channel, fut))
        except asyncio.QueueFull:
            self._drop(channel)
            return None
        return await fut

    def _drop(self, channel: str) -> None:
        self.stats.dropped[channel] = self.stats.dropped.get(channel, 0) + 1

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            await asyncio.sleep(self.gather_s)
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            now = time.monotonic()
            live = []
            for r in batch:
                if r.done.done():
                    continue  # its channel stopped waiting
                if r.deadline < now:
                    self._drop(r.channel)
                    r.done.set_result(None)
                else:
                    live.append(r)
            if not live:
                continue
            t0 = time.monotonic()
            frames: list[np.ndarray] | list[None]
            try:
                frames = await asyncio.to_thread(self.renderer.render, [r.job for r in live])
            except Exception as e:  # noqa: BLE001 - one bad batch must not end every channel's picture
                log.error("render service: a batch of %d failed: %r", len(live), e)
                frames = [None] * len(live)
            self.stats.last_batch_ms = (time.monotonic() - t0) * 1000
            self.stats.batches += 1
            self.stats.frames += len(live)
            self.stats.largest_batch = max(self.stats.largest_batch, len(live))
            for r, f in zip(live, frames, strict=True):
                if not r.done.done():
                    r.done.set_result(f)


_SERVICES: dict[str, RenderService] = {}


def shared_service(key: str, make: Callable[[], BatchRenderer]) -> RenderService:
    """The process's render service for ``key`` (a device and backend), its renderer made by ``make`` on first
    use; its task starts with the first frame."""
    svc = _SERVICES.get(key)
    if svc is None:
        svc = _SERVICES[key] = RenderService(make())
    return svc


async def release_service(svc: RenderService) -> None:
    """A host stops using ``svc``; the last one out closes it."""
    svc.users -= 1
    if svc.users <= 0:
        for k, v in list(_SERVICES.items()):
            if v is svc:
                del _SERVICES[k]
        await svc.close()
