"""One channel on air: assembles the pipeline from the packages and runs it.

    script writer ─> gate ─> SpeechQueue ─> (TTS lookahead) ─> Playout ─> tick
    tick ─> RenderStage ─> EncodeStage ─> output          Ledger watches OnAir frames

Every task here is owned by the session and cancelled with a deadline on stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livehost.approved import ApprovedSpeech, Source
from livehost.audit import AuditLog
from livehost.clock import SAMPLE_RATE, MediaClock
from livehost.config import ChannelConfig
from livehost.frames import SpeechAudio, TickFrame
from livehost.ledger import Ledger
from livehost.pipeline import Pipeline
from livehost.playout import Playout
from livehost.speech import SpeechHandle, SpeechQueue
from livehost.store import Store
from products.catalog import load_catalog, sample_catalog_path
from products.model import Catalog
from scripts_gen.engine import TemplateScriptWriter
from scripts_gen.gate import Gate
from streaming.avatar import Avatar2D, ProductCard
from streaming.output.encoder import EncodeSettings
from streaming.output.sinks import FileOutput, Output, RtmpOutput
from streaming.stages import EncodeStage, RenderStage
from streaming.tts import TtsBackend, make_tts
from streaming.visemes import track_from_phones

log = logging.getLogger(__name__)

TTS_LOOKAHEAD = 2  # sentences synthesized ahead of the one on air


class Rejected(Exception):
    """Text the gate would not let on air; ``rules`` says why."""

    def __init__(self, text: str, rules: list) -> None:
        super().__init__(f"gate rejected {text!r}: {', '.join(str(r) for r in rules) or 'no reason given'}")
        self.rules = rules


@dataclass(frozen=True)
class ChannelStats:
    state: str
    media_seconds: float
    frames_sent: int
    frames_dropped: int
    fps: float
    kbps: float
    speaking: str | None
    spoken: int
    cut: int
    queue_depth: int
    reconnects: int


class ChannelSession:
    def __init__(self, config: ChannelConfig, store: Store | None = None, *, tts: TtsBackend | None = None) -> None:
        self.config = config
        self.clock = MediaClock(config.fps)
        self.store = store
        self.catalog: Catalog = load_catalog(config.catalog or sample_catalog_path())
        self.gate = Gate(self.catalog)
        self.writer = TemplateScriptWriter(self.catalog, seed=config.seed)
        self.tts = tts or make_tts(config.voice.engine)
        self.queue = SpeechQueue()
        self.playout = Playout(self.clock, self.queue)
        self.ledger = Ledger(config.id, self.queue, AuditLog(store.aio(), config.id) if store else None)
        out = config.output
        realtime = True if out.realtime is None else out.realtime
        settings = EncodeSettings(
            config.width, config.height, config.fps, out.video_bitrate_kbps, out.audio_bitrate_kbps,
            out.keyframe_seconds, out.preset,
        )
        self.output: Output = RtmpOutput(out.url, settings) if out.is_rtmp else FileOutput(out.url, settings)
        self.output.add_listener(self._on_output_state)
        self.render = RenderStage(Avatar2D(config.width, config.height, fps=config.fps, seed=config.seed), self._card)
        self.encode = EncodeStage(self.output, realtime=realtime)
        self.pipeline = Pipeline([self.render, self.encode], observers=[self.ledger, self])
        self._tasks: list[asyncio.Task] = []
        self._next_index = 0
        self._stopping = asyncio.Event()
        self._window: deque[tuple[float, int, int]] = deque(maxlen=64)  # (wall, frames sent, bytes)
        self.started_wall: float | None = None
        self.planned: deque[str] = deque(maxlen=10_000)  # script item ids in the order queued

    # -- assembly helpers --------------------------------------------------------------
    def _card(self, sku: str) -> ProductCard | None:  # read at draw time: never a stale price
        product = self.catalog.get(sku)
        if product is None:
            return None
        image = self.catalog.image_path(sku)
        badge = None
        if product.on_sale:
            badge = "限时特价" if product.lang == "zh" else "On sale"
        if product.stock is not None and product.stock <= 20:
            stock = f"仅剩 {product.stock} 件" if product.lang == "zh" else f"Only {product.stock} left"
            badge = f"{badge} · {stock}" if badge else stock
        return ProductCard(
            name=product.title,
            price=product.display_price() if not product.on_sale else _fmt(product, product.price),
            sale_price=_fmt(product, product.sale_price) if product.on_sale else None,
            badge=badge,
            image_path=str(image) if image and image.exists() else None,
        )

    def _on_output_state(self, state: str, reason: str) -> None:
        if state == "down":
            self.playout.hold("outage")
        elif state == "live" and self.playout.held == "outage":
            self.playout.release()

    def on_frame(self, stage: str, frame) -> None:  # observer: progress numbers
        if stage == "encode":
            self._window.append((time.monotonic(), self.encode.frames_sent, self.output.bytes_out))

    # -- public API (tests, console, chat) ---------------------------------------------
    def say(self, text: str, *, source: Source = Source.OPERATOR, source_id: str = "operator", lang: str | None = None) -> SpeechHandle:
        """Queue text through the gate.  Raises :class:`Rejected` or ``QueueFull``."""
        sku = self.playout.current.speech.sku if self.playout.current else None
        product = self.catalog.get(sku) if sku else None
        lang = lang or (product.lang if product else "zh")
        decision, speech = self.gate.review(text, lang=lang, source=source, source_id=source_id, sku=sku)
        if speech is None:
            raise Rejected(text, decision.rules)
        return self.queue.put_nowait(speech)

    def interrupt(self, reason: str = "interrupt") -> None:
        self.playout.interrupt(reason)

    def stats(self) -> ChannelStats:
        fps = kbps = 0.0
        if len(self._window) >= 2:
            (t0, f0, b0), (t1, f1, b1) = self._window[0], self._window[-1]
            if t1 > t0:
                fps, kbps = (f1 - f0) / (t1 - t0), (b1 - b0) * 8 / 1000 / (t1 - t0)
        speaking = self.ledger.now_speaking
        return ChannelStats(
            state=self.output.state,
            media_seconds=self.clock.seconds(self.clock.frame_pts(self._next_index)),
            frames_sent=self.encode.frames_sent,
            frames_dropped=self.encode.frames_dropped,
            fps=fps,
            kbps=kbps,
            speaking=speaking.speech.text if speaking else None,
            spoken=self.ledger.spoken,
            cut=self.ledger.cut,
            queue_depth=len(self.queue),
            reconnects=self.output.reconnects,
        )

    # -- tasks -------------------------------------------------------------------------
    async def _write_script(self) -> None:
        lang = self.config.lang
        while True:
            products = [p for p in self.catalog.in_stock() if lang == "auto" or p.lang == lang]
            if not products:
                raise RuntimeError(f"catalog {self.catalog.source!r}: no product in stock for lang={lang!r}")
            for product in products:
                lines = self.writer.sentences(product.sku)
                for _ in range(self.config.sentences_per_product):
                    line = next(lines)
                    speech = self.gate.approve(
                        line.text, lang=line.lang, source=Source.SCRIPT, source_id=line.item_id, sku=line.sku
                    )
                    if speech is None:
                        log.warning("gate dropped script line %s: %r", line.item_id, line.text)
                        continue
                    await self.queue.put(speech)
                    self.planned.append(line.item_id)

    async def _synthesize(self) -> None:
        while True:
            pending = self.queue.pending_synthesis(TTS_LOOKAHEAD)
            if not pending:
                await self.queue.wait_changed(timeout=1.0)
                continue
            for handle in pending:
                try:
                    handle.audio = await asyncio.to_thread(self._speech_audio, handle.speech)
                except Exception as e:  # noqa: BLE001 - one bad sentence must not stop the show
                    handle.error = f"tts: {e}"
                    log.error("tts failed for %r: %s", handle.speech.text, e)
                self.queue.mark_synthesized()

    def _speech_audio(self, speech: ApprovedSpeech) -> SpeechAudio:
        utt = self.tts.synthesize(speech.text, speech.lang)
        track = track_from_phones(utt.phones, utt.samples)
        return SpeechAudio(utt.pcm, track.starts, track.visemes)

    async def _tick(self, until_index: int | None) -> None:
        head = self.pipeline.head
        while not self._stopping.is_set():
            if until_index is not None and self._next_index >= until_index:
                break
            frame: TickFrame = self.playout.next_tick(self._next_index)
            await head.inbox.put(frame)  # back-pressure: at most a few frames ahead
            self._next_index += 1
        self._stopping.set()

    async def _wait_first_speech(self, timeout: float = 30.0) -> None:
        """Let the first sentence be synthesized before the clock starts, so the show opens talking."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            head = self.queue.peek()
            if head is not None and (head.audio is not None or head.error is not None):
                return
            await self.queue.wait_changed(timeout=0.2)

    async def run(self, duration: float | None = None) -> ChannelStats:
        """Run until ``duration`` seconds of media were produced, or :meth:`request_stop`."""
        until = None if duration is None else max(1, round(duration * self.config.fps))
        self._tasks = [
            asyncio.create_task(self._write_script(), name="script"),
            asyncio.create_task(self._synthesize(), name="tts"),
            asyncio.create_task(self.ledger.write_records(), name="audit"),
        ]
        await self.output.start()
        self.pipeline.start()
        ticker = None
        try:
            await self._wait_first_speech()
            self.started_wall = time.monotonic()
            ticker = asyncio.create_task(self._tick(until), name="clock")
            self._tasks.append(ticker)
            watch = [ticker, *self._tasks[:3], *self.pipeline._tasks]
            while not self._stopping.is_set():
                done, _ = await asyncio.wait(watch, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    if t is not ticker and not t.cancelled() and t.exception() is not None:
                        raise t.exception()
        finally:
            await self._shutdown()
        return self.stats()

    def request_stop(self) -> None:
        self._stopping.set()

    async def _shutdown(self, deadline: float = 10.0) -> None:
        self._stopping.set()
        for t in self._tasks:
            if t.get_name() == "clock":
                await asyncio.wait([t], timeout=deadline)
        end_pts = self.clock.frame_pts(self._next_index)
        await self.pipeline.stop(end_pts, deadline=deadline)
        await self.output.close()
        self.ledger.settle_all()
        await self.ledger.drain()
        for t in self._tasks:
            t.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=deadline)
        self.tts.close()


def _fmt(product, amount) -> str:
    from products.model import format_money

    return format_money(amount, product.currency, product.lang)
