"""One channel on air, from the first frame to the last.

    script planner ─> gate ─┐
    comment desk ─> responder ├─> SpeechQueue ··· tts ─> playout ─> render ─> encode ─> output
    operator (say) ─> gate ──┘                      (pipeline stages)       observers: ledger, session

Producers put approved speech into the speech queue (priority, cut in at a
sentence end, resume); the pipeline's stages take it from there, and
control (start, interrupt, hold, the takeover card) travels as frames.
Every task here is owned by the session and cancelled with a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

from livehost.app import assembly
from livehost.app.comments import CommentDesk
from livehost.app.config import ChannelConfig
from livehost.app.show_timer import ShowTimer
from livehost.app.stats import ChannelStats, Throughput
from livehost.core.approved import Source
from livehost.core.audit import AuditTrail, RedisSink
from livehost.core.clock import MediaClock
from livehost.core.frames import ErrorFrame, Frame, InterruptFrame, MediaFrame, OnAir, ReleaseFrame, StartFrame
from livehost.core.ledger import Ledger
from livehost.core.pipeline import Pipeline
from livehost.core.playout import Playout, PlayoutStage
from livehost.core.speech import SpeechHandle, SpeechQueue
from livehost.core.states import ChannelState, OutputState
from livehost.core.store import Store
from livehost.core.tasks import cancel_and_wait
from products.follow import CatalogFollower
from products.model import Catalog
from products.show import RunOfShow
from scripts_gen.gate import GateDecision
from scripts_gen.model_writer import ModelScriptWriter
from scripts_gen.planner import ScriptPlanner
from streaming.avatar import ProductCard
from streaming.cards import holding_card, product_card
from streaming.stages import CardFrame, EncodeStage, RenderStage
from streaming.tts import TtsBackend, make_tts
from streaming.tts.stage import TtsStage

log = logging.getLogger(__name__)


class Rejected(Exception):
    """Text the gate would not let on air; ``rules`` says why."""

    def __init__(self, text: str, rules: list) -> None:
        super().__init__(f"gate rejected {text!r}: {', '.join(str(r) for r in rules) or 'no reason given'}")
        self.rules = rules


class ChannelSession:
    def __init__(self, config: ChannelConfig, store: Store | None = None, *, tts: TtsBackend | None = None,
                 now: Callable[[], datetime] | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.config, self.store = config, store
        self.clock = MediaClock(config.fps)
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self.show = RunOfShow(config.show)
        self.catalog_scope, self.base_catalog = assembly.load_channel_catalog(config, store)
        self.catalog: Catalog = self.show.apply(self.base_catalog, self.now())  # as the host states it now
        self.trail = AuditTrail(config.id, RedisSink(store.aio()) if store else None)
        self.gate = self._make_gate()
        self.planner = ScriptPlanner(self.show, self.catalog, lang=config.lang, seed=config.seed,
                                     sentences_per_product=config.sentences_per_product, now=lambda: self.now())
        self.models = assembly.make_models(config, environ)
        self.responder = assembly.make_responder(config, self.catalog, self.gate, lambda: self.now(), self.models)
        self.talk = None  # a model phrasing the selling talk (llm.script), the template sentence standing by
        if config.llm.script and self.models:
            self.talk = ModelScriptWriter(
                self.catalog, self.gate, self.models, history=self.planner.history, budget=config.llm.budget_seconds,
                now=lambda: self.now(), max_tokens=config.llm.max_tokens, temperature=config.llm.temperature,
                on_draft=lambda line, d: self.trail.decision({
                    "text": d.text, "lang": line.lang, "sku": line.sku, "action": "rewritten", "source": d.source,
                    "error": d.error, "item_id": line.item_id, "rules": [h.as_json() for h in d.rules]}))
        self._facts_generation = 0  # bumped whenever what the host may say changes (reschedule)
        self.queue = SpeechQueue()
        self.comments = CommentDesk(config.id, config.comments, assembly.make_triage(config), self.responder,
                                    self.queue, answering=lambda: not self.paused and self.show.on_air(self.now()),
                                    current_sku=self.current_sku, record=self.trail.decision)
        self.ledger = Ledger(config.id, self.queue, self.trail.spoken)
        self.output = assembly.make_output(config)
        self.output.add_listener(self._on_output_state)
        self.playout = Playout(self.clock, self.queue)
        self.playout_stage = PlayoutStage(self.playout)
        self.render = RenderStage(assembly.make_avatar(config), self.card_for)
        self.encode = EncodeStage(self.output, realtime=True if config.output.realtime is None else config.output.realtime)
        tts_stage = TtsStage(self.queue, tts or make_tts(config.voice.engine))
        self.pipeline = Pipeline([tts_stage, self.playout_stage, self.render, self.encode], observers=[self.ledger, self])
        self.show_timer = ShowTimer(config.id, self.show.tz, self.boundaries, self._on_show_change)
        self.follower: CatalogFollower | None = None
        if self.catalog_scope is not None and store is not None:
            self.follower = CatalogFollower(store, config.id, self.catalog_scope, lambda: self.base_catalog.version,
                                            self._on_catalog_version)
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()
        self._failure: BaseException | None = None
        self.paused = False
        self.takeover_card: ProductCard | None = None
        self.last_error: str | None = None
        self.errors = 0  # output outages and failed sentences since start
        self.last_picture = None  # the newest rendered frame (yuv420p), for the console's preview
        self.throughput = Throughput()
        self.started_wall: float | None = None

    # -- what the pipeline shows and reports -------------------------------------------------
    def card_for(self, sku: str) -> ProductCard | None:
        return product_card(self.catalog, sku, self.now())

    def _make_gate(self):
        gate = assembly.make_gate(self.config, self.catalog, lambda: self.now())
        gate.on_decision = self._on_gate_decision
        return gate

    def _on_gate_decision(self, decision: GateDecision) -> None:
        """Refusals go to the audit trail (``livehost:gate:<channel>``) with rule and span."""
        if not decision.passed:
            self.trail.decision({"text": decision.text, "lang": decision.lang, "sku": decision.sku or "",
                                 "action": "dropped", "rules": [h.as_json() for h in decision.rules]})

    def _on_output_state(self, state: OutputState, reason: str) -> None:
        if state is OutputState.DOWN:
            self.last_error, self.errors = f"output down: {reason}", self.errors + 1
            self._control(InterruptFrame(self.playout_stage.pts, "outage", hold=True))
        elif state is OutputState.LIVE:
            self._control(ReleaseFrame(self.playout_stage.pts, "outage"))

    def on_frame(self, stage: str, frame: Frame) -> None:  # observer
        if isinstance(frame, MediaFrame) and stage == "render":
            self.last_picture = frame.picture
        elif isinstance(frame, OnAir):
            self.throughput.add(self.encode.frames_sent, self.output.bytes_out)
        elif isinstance(frame, ErrorFrame) and stage == frame.stage:  # seen once, where it was raised
            self.last_error, self.errors = frame.message, self.errors + 1
            if frame.fatal:
                self._failure = self._failure or frame.error
                self._stopping.set()
        elif stage == "playout" and self.playout_stage.finished:
            self._stopping.set()  # the duration asked for is produced

    def _control(self, frame: InterruptFrame | ReleaseFrame | CardFrame) -> None:
        self.pipeline.send_nowait(frame)

    # -- viewers and operators ----------------------------------------------------------------
    def comment(self, user: str, text: str, comment_id: str | None = None):
        return self.comments.comment(user, text, comment_id)

    def say(self, text: str, *, source: Source = Source.OPERATOR, source_id: str = "operator",
            lang: str | None = None) -> SpeechHandle:
        """Queue text through the gate.  Raises :class:`Rejected` or ``QueueFull``."""
        sku = self.playout.current.speech.sku if self.playout.current else None
        product = self.catalog.get(sku) if sku else None
        lang = lang or (product.lang if product else "zh")
        decision, speech = self.gate.review(text, lang=lang, source=source, source_id=source_id, sku=sku)
        if speech is None:
            raise Rejected(text, decision.rules)
        return self.queue.put_nowait(speech)

    def interrupt(self, reason: str = "interrupt") -> None:
        self._control(InterruptFrame(self.playout_stage.pts, reason))

    def pause(self) -> None:
        """The host finishes the sentence on air, then stays quiet (the picture goes on) until :meth:`resume`.

        Queued sentences are taken back; the talk resumes where it stopped.
        Comments are still triaged and recorded, not answered.
        """
        if self.paused:
            return
        self.paused = True
        self.queue.withdraw(lambda h: h.speech.source is Source.REPLY)
        self.reschedule("paused")

    def resume(self) -> None:
        """Talk again (after a pause, or a takeover: that is released too)."""
        if self.takeover_card is not None:
            self.takeover_card = None
            self._control(CardFrame(self.playout_stage.pts, None))
            self._control(ReleaseFrame(self.playout_stage.pts, "takeover"))
        if not self.paused:
            return
        self.paused = False
        self.queue.poke()
        self.comments.wake()
        log.info("channel %s: talking again", self.config.id)

    def takeover(self, message: str | None = None) -> None:
        """Silence the host now (the sentence on air is cut at the next frame) and show a holding card."""
        lang = self.config.spoken_lang or (self.catalog.products[0].lang if self.catalog.products else "zh")
        self.takeover_card = holding_card(message, lang)
        self._control(InterruptFrame(self.playout_stage.pts, "takeover", hold=True))
        self._control(CardFrame(self.playout_stage.pts, self.takeover_card))
        self.pause()

    def release(self) -> None:
        """End a takeover: the product card returns and the host talks again."""
        if self.takeover_card is not None:
            self.resume()

    def skip_product(self) -> str | None:
        """Move on to the next product from the next sentence; what was queued about this one is taken back."""
        cursor = self.planner.cursor
        if cursor is None:
            return None
        self._turn_now(f"skipped {cursor.sku}")
        return cursor.sku

    def _turn_now(self, reason: str) -> None:
        cursor = self.planner.cursor
        self.reschedule(reason)
        self.planner.turn_from(cursor)  # from the product being talked about, not from where the talk resumes
        self.queue.poke()

    def pin_product(self, sku: str) -> None:
        """Keep the host on ``sku`` (from the next sentence) until :meth:`unpin`; rotation and flash sales wait."""
        self.planner.pin(sku)
        if self.current_sku() != sku:
            self._turn_now(f"pinned {sku}")

    def unpin(self) -> None:
        """Back to the run-of-show's rotation after the current product's turn."""
        self.planner.unpin()

    @property
    def pinned(self) -> str | None:
        return self.planner.pinned

    def current_sku(self) -> str | None:
        """The product being talked about: the sentence on air's, else the one the script is on."""
        if self.playout.current is not None and self.playout.current.speech.sku:
            return self.playout.current.speech.sku
        return self.planner.sku

    # -- state ----------------------------------------------------------------------------------
    @property
    def state(self) -> ChannelState:
        if self._stopping.is_set():
            return ChannelState.STOPPED
        if self.takeover_card is not None:
            return ChannelState.TAKEOVER
        if self.paused:
            return ChannelState.PAUSED
        if self.output.state is OutputState.LIVE:
            return ChannelState.LIVE
        return ChannelState.RECONNECTING if self.output.reconnects or self.output.state is OutputState.DOWN \
            else ChannelState.STARTING

    def stats(self) -> ChannelStats:
        fps, kbps = self.throughput.rates()
        speaking = self.ledger.now_speaking
        return ChannelStats(
            state=self.state, media_seconds=self.clock.seconds(self.playout_stage.pts),
            frames_sent=self.encode.frames_sent, frames_dropped=self.encode.frames_dropped, fps=fps, kbps=kbps,
            speaking=speaking.speech.text if speaking else None, spoken=self.ledger.spoken, cut=self.ledger.cut,
            queue_depth=len(self.queue), reconnects=self.output.reconnects,
        )

    # -- what the host may say changes ----------------------------------------------------------
    def reschedule(self, reason: str) -> list[str]:
        """Facts or the run-of-show changed: what is queued and not yet spoken is said again, freshly.

        The sentence on air finishes; the next one is written from the catalog
        as it is now (a new price, a flash sale that started or ended) and the
        talk resumes right after the last sentence that went on air.  Returns
        the withdrawn item ids.
        """
        self.catalog = self.show.apply(self.base_catalog, self.now())
        self.gate = self._make_gate()
        self.planner.update(self.catalog)
        self.responder.update(self.catalog, self.gate)
        if self.talk is not None:
            self.talk.update(self.catalog, self.gate)
        self._facts_generation += 1
        ids = [h.speech.source_id for h in self.queue.withdraw(lambda h: h.speech.source is Source.SCRIPT)]
        self.planner.withdrawn(ids)
        self._control(CardFrame(self.playout_stage.pts, self.takeover_card))  # a new price shows on the next frame
        self.queue.poke()
        log.info("channel %s: %s; %d queued sentences rewritten", self.config.id, reason, len(ids))
        return ids

    def update_catalog(self, catalog: Catalog, reason: str = "catalog changed") -> list[str]:
        """Sell from this catalog from the next sentence and the next frame on."""
        self.base_catalog = catalog
        self.show_timer.plan(self.now())  # its sale windows, too
        return self.reschedule(f"{reason} (version {catalog.version[:12]})")

    def _on_catalog_version(self, scope: str, catalog: Catalog) -> None:
        self.catalog_scope = scope
        self.update_catalog(catalog, f"catalog [{scope}] changed")

    def _on_show_change(self, at: datetime) -> None:
        flash = self.show.flash_at(at)
        self.reschedule(f"flash sale {flash.sku} at {flash.price} on" if flash else f"run-of-show change at {at.isoformat()}")

    def boundaries(self, after: datetime, until: datetime) -> list[datetime]:
        """Instants in (after, until] where what the host may say changes: flash sales, catalog sale windows."""
        points = set(self.show.boundaries(after, until))
        for p in self.base_catalog:
            if p.sale_price is not None:
                points |= {t for t in (p.sale_start, p.sale_end) if t is not None and after < t <= until}
        return sorted(points)

    # -- running --------------------------------------------------------------------------------
    async def _write_script(self) -> None:
        idle_logged = False
        while True:
            await self.queue.wait_room(Source.SCRIPT)
            if self.paused or not self.show.on_air(self.now()):
                await self.queue.wait_changed(timeout=1.0)  # paused or off air: the host is silent, the picture idles
                continue
            planned = self.planner.next_line()  # decided only once there is room: a reschedule cannot race it
            if planned is None:
                if not idle_logged:
                    log.warning("channel %s: nothing sellable in catalog %s for lang=%s; the host waits",
                                self.config.id, self.catalog.source, self.config.lang)
                    idle_logged = True
                await self.queue.wait_changed(timeout=1.0)
                continue
            idle_logged, line = False, planned.line
            if self.talk is not None:
                since, generation = self.planner.cursor, self._facts_generation
                line = await self.talk.rewrite(line)
                if generation != self._facts_generation:  # the facts changed while the model wrote: plan again
                    self.planner.abandon(planned, since)
                    continue
            speech = self.gate.approve(line.text, lang=line.lang, source=Source.SCRIPT, source_id=line.item_id, sku=line.sku)
            if speech is None:
                log.warning("gate dropped script line %s: %r", line.item_id, line.text)
                continue
            self.queue.put_nowait(speech)
            self.planner.queued(planned)

    async def _wait_first_speech(self, timeout: float = 30.0) -> None:
        """Let the first sentence be synthesized before the clock starts, so the show opens talking."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.show.on_air(self.now()) and not self._stopping.is_set():
            head = self.queue.peek()
            if head is not None and (head.audio is not None or head.error is not None):
                return
            await self.queue.wait_changed(timeout=0.2)

    async def run(self, duration: float | None = None) -> ChannelStats:
        """Run until ``duration`` seconds of media were produced, or :meth:`request_stop`; re-raises a stage's failure."""
        self.playout_stage.until = None if duration is None else max(1, round(duration * self.config.fps))
        vital = [asyncio.create_task(coro, name=name) for coro, name in (
            (self._write_script(), "script"), (self.trail.run(), "audit"), (self.comments.run(), "comments"))]
        self._tasks = [*vital, *(asyncio.create_task(self._load_model(m), name=f"load {m.name}")
                                 for m in self.models if hasattr(m, "load"))]
        if self.follower is not None:
            self._tasks.append(asyncio.create_task(self.follower.run(), name="catalog"))
        self.show_timer.start()
        await self.output.start()
        self.pipeline.start()
        try:
            await self._wait_first_speech()
            self.started_wall = time.monotonic()
            self.pipeline.send_nowait(StartFrame(0))
            stopping = asyncio.create_task(self._stopping.wait(), name="stopping")
            try:
                done, _ = await asyncio.wait([stopping, *vital], return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            for t in done:
                if t is not stopping:
                    raise t.exception() or RuntimeError(f"channel {self.config.id}: the {t.get_name()} task ended")
        finally:
            await self._shutdown()
        if self._failure is not None:
            raise self._failure
        return self.stats()

    def request_stop(self) -> None:
        self._stopping.set()

    async def _load_model(self, model) -> None:
        from scripts_gen.llm import BackendError

        try:
            await model.load()
            log.info("channel %s: text model %s loaded in %.1f s", self.config.id, model.name, model.load_seconds or 0)
        except BackendError as e:
            log.error("channel %s: %s; the templates answer instead", self.config.id, e)

    async def _shutdown(self, deadline: float = 10.0) -> None:
        self._stopping.set()
        await self.pipeline.stop(self.playout_stage.pts, deadline=deadline)
        await self.output.close()
        self.ledger.settle_all()
        await self.trail.drain()
        self.show_timer.stop()
        await cancel_and_wait(self._tasks, deadline, f"channel {self.config.id}")
        async with asyncio.timeout(deadline):
            await assembly.close_models(self.models)
        if isinstance(self.trail.sink, RedisSink):
            await self.trail.sink.aclose()
