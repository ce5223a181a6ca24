"""The media stages of a channel: render the host, then encode and send.

Both run their heavy work in a worker thread (PyAV and NumPy release the
GIL), so rendering frame N+1 overlaps encoding frame N, and the event loop
stays free.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from livehost.core.clock import SAMPLE_RATE
from livehost.core.frames import Frame, MediaFrame, OnAir, SystemFrame, TickFrame
from livehost.core.pipeline import Stage
from streaming.avatar import Host, ProductCard
from streaming.output.sinks import Output

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardFrame(SystemFrame):
    """Redraw the card from the next frame: ``holding`` (an operator's takeover card) while one is given,
    else the product card, drawn again from the catalog (its price or stock changed)."""

    holding: ProductCard | None = None


class RenderStage(Stage):
    """TickFrame -> MediaFrame: draws the host with the tick's mouth shape and the product card.

    The host is the drawn 2D one or a photoreal one (:class:`~streaming.avatar.Host`); a photoreal host's
    frames come from the process's batched render service, which may drop one that is late (``dropped``)."""

    def __init__(self, avatar: Host, card_for: Callable[[str], ProductCard | None], *, maxsize: int = 4) -> None:
        super().__init__("render", maxsize=maxsize)
        self.avatar = avatar
        self.card_for = card_for
        self._sku: str | None = None
        self.holding: ProductCard | None = None  # shown instead of the product while an operator has taken over
        self.shown_holding: ProductCard | None = None  # the holding card on the last frame drawn

    @property
    def dropped(self) -> int:
        return self.avatar.dropped

    def _card(self, tick: TickFrame) -> None:
        holding = self.holding
        if holding is not None:
            if holding is not self.shown_holding:
                self.shown_holding, self._sku = holding, None
                self.avatar.set_card(holding)
        elif self.shown_holding is not None or tick.sku != self._sku:
            self.shown_holding = None
            self._sku = tick.sku
            self.avatar.set_card(self.card_for(tick.sku) if tick.sku else None)

    def _card_due(self, tick: TickFrame) -> bool:
        if self.holding is not None:
            return self.holding is not self.shown_holding
        return self.shown_holding is not None or tick.sku != self._sku

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, TickFrame):
            if self._card_due(frame):
                await asyncio.to_thread(self._card, frame)
            picture = await self.avatar.draw(frame.index, frame.mouth, frame.speaking, frame.events)
            frame = MediaFrame(frame.pts, frame.index, frame.audio, picture, frame.events)
        elif isinstance(frame, CardFrame):
            self.holding, self._sku = frame.holding, None
        await self.push(frame)


class EncodeStage(Stage):
    """MediaFrame -> output, paced to the wall clock when ``realtime``; pushes :class:`OnAir`."""

    def __init__(self, output: Output, *, realtime: bool, maxsize: int = 4) -> None:
        super().__init__("encode", maxsize=maxsize)
        self.output = output
        self.realtime = realtime
        self.frames_sent = 0
        self.frames_dropped = 0
        self.behind_s = 0.0
        self._t0: float | None = None

    async def _pace(self, pts: int) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now - pts / SAMPLE_RATE
        due = self._t0 + pts / SAMPLE_RATE
        self.behind_s = max(0.0, now - due)
        if due > now:
            await asyncio.sleep(due - now)

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, MediaFrame):
            await self.push(frame)
            return
        if self.realtime:
            await self._pace(frame.pts)
        sent = False
        if self.output.up:
            try:
                sent = await asyncio.to_thread(self.output.send, frame)
            except Exception as e:  # noqa: BLE001 - a failed write is an outage, the show goes on
                log.warning("output write failed at pts %d: %r", frame.pts, e)
        if sent:
            self.frames_sent += 1
        else:
            self.frames_dropped += 1
        await self.push(
            OnAir(frame.pts, frame.index, sent, self.output.acked_pts, self.output.take_loss(), self.output.bytes_out, frame.events)
        )
