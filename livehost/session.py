"""One channel on air: assembles the pipeline from the packages and runs it.

    script writer ─> gate ─> SpeechQueue ─> (TTS lookahead) ─> Playout ─> tick
    tick ─> RenderStage ─> EncodeStage ─> output          Ledger watches OnAir frames

Every task here is owned by the session and cancelled with a deadline on stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from livehost.approved import ApprovedSpeech, Source
from livehost.audit import AuditLog
from livehost.clock import MediaClock
from livehost.config import ChannelConfig
from livehost.frames import SpeechAudio, TickFrame
from livehost.ledger import Ledger
from livehost.metrics import LatencyHistogram
from livehost.pipeline import Pipeline
from livehost.show import RunOfShow
from livehost.playout import Playout
from livehost.speech import QueueFull, SpeechHandle, SpeechQueue
from livehost.store import Store
from livehost.tasks import cancel_and_wait
from livehost.talk import close_models, make_gate, make_models, make_reply_writer, make_triage
from products.catalog import load_catalog, sample_catalog_path
from products.model import Catalog
from scripts_gen.engine import PhraseHistory, ScriptLine, TemplateScriptWriter
from scripts_gen.gate import Gate, GateDecision
from scripts_gen.llm.chain import Draft
from scripts_gen.replies import Reply
from scripts_gen.triage import Comment, Triaged
from streaming.avatar import Avatar2D, ProductCard
from streaming.output.encoder import EncodeSettings
from streaming.output.sinks import FileOutput, Output, RtmpOutput
from streaming.stages import EncodeStage, RenderStage
from streaming.tts import TtsBackend, make_tts
from streaming.visemes import track_from_phones

log = logging.getLogger(__name__)

TTS_LOOKAHEAD = 2  # sentences synthesized ahead of the one on air
GATE_LOG_MAX = 1000  # gate decisions held in memory while Redis is slow


@dataclass
class _Cursor:
    """Where the script is: the product whose turn it is, and the next sentence of its talk."""

    sku: str
    cycle: int
    index: int  # next sentence within the cycle
    count: int  # sentences written in this turn
    since: datetime  # when this turn started
    flash: bool = False  # the turn is a flash sale's


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
    def __init__(self, config: ChannelConfig, store: Store | None = None, *, tts: TtsBackend | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.clock = MediaClock(config.fps)
        self.store = store
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self.show = RunOfShow(config.show)
        self.catalog_scope: str | None = None  # the store scope the catalog comes from, if any
        self.base_catalog: Catalog = self._load_catalog()
        self.catalog: Catalog = self.show.apply(self.base_catalog, self.now())  # as the host states it now
        self._cursor: _Cursor | None = None
        self._next_cycle: dict[str, int] = {}
        self._resume_at: dict[str, _Cursor | None] = {}
        self.gate_log: deque[dict] = deque(maxlen=GATE_LOG_MAX)  # gate decisions not yet written to Redis
        self.gate = self._make_gate()
        self.phrases = PhraseHistory()  # outlives the writers: no sentence repeats within 30 min of a product's air time
        self.writer = TemplateScriptWriter(self.catalog, seed=config.seed, now=lambda: self.now(), history=self.phrases)
        self.models = make_models(config)
        self.replies = make_reply_writer(config, self.catalog, self.gate, lambda: self.now(), self.models)
        self.triage = make_triage(config)
        self.talk = None  # a model phrasing the selling talk (llm.script), the template sentence standing by
        if config.llm.script and self.models:
            from scripts_gen.model_script import ModelScriptWriter

            self.talk = ModelScriptWriter(
                self.catalog, self.gate, self.models, history=self.phrases, budget=config.llm.budget_seconds,
                now=lambda: self.now(), max_tokens=config.llm.max_tokens, temperature=config.llm.temperature,
                on_draft=self._note_script_draft,
            )
        self._facts_generation = 0  # bumped whenever what the host may say changes (reschedule)
        self.comments: deque[dict] = deque(maxlen=200)  # recent comments with their decision and reply
        self.reply_seconds: deque[float] = deque(maxlen=500)  # comment in -> approved reply, for p50/p95
        self.reply_histogram = LatencyHistogram()  # the same, cumulative since start (Prometheus)
        self._comment_event = asyncio.Event()
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
        self._show_scheduler = None
        self._next_index = 0
        self._stopping = asyncio.Event()
        self.paused = False
        self.takeover_card: ProductCard | None = None
        self.last_error: str | None = None
        self.errors = 0  # output outages and failed sentences since start
        self.last_picture = None  # the newest rendered frame (yuv420p), for the console's preview
        self._skip = False
        self.pinned: str | None = None  # an operator keeps the host on this product until unpinned
        self._window: deque[tuple[float, int, int]] = deque(maxlen=64)  # (wall, frames sent, bytes)
        self.started_wall: float | None = None
        self.planned: deque[str] = deque(maxlen=10_000)  # script item ids in the order queued
        self._comment_seq = 0

    # -- assembly helpers --------------------------------------------------------------
    def _load_catalog(self) -> Catalog:
        source = self.config.catalog
        if source != "store":
            return load_catalog(source or sample_catalog_path())
        if self.store is None:
            raise RuntimeError("catalog = 'store' needs the store")
        from products.store import CatalogStore

        for scope in (self.config.id, "shared"):
            catalog = CatalogStore(self.store.sync(), scope).load()
            if catalog is not None:
                self.catalog_scope = scope
                return catalog
        raise RuntimeError(f"catalog = 'store': nothing imported for channel {self.config.id!r} or shared "
                           f"(livehost catalog import SOURCE --channel {self.config.id})")

    def _card(self, sku: str) -> ProductCard | None:  # read at draw time: never a stale price
        product = self.catalog.get(sku)
        if product is None:
            return None
        image = self.catalog.image_path(sku)
        now = self.now()
        on_sale = product.sale_active(now)
        badge = None
        if on_sale:
            badge = "限时特价" if product.lang == "zh" else "On sale"
        if product.stock is not None and product.stock <= 20:
            stock = f"仅剩 {product.stock} 件" if product.lang == "zh" else f"Only {product.stock} left"
            badge = f"{badge} · {stock}" if badge else stock
        return ProductCard(
            name=product.title,
            price=_fmt(product, product.price),
            sale_price=_fmt(product, product.sale_price) if on_sale else None,
            badge=badge,
            image_path=str(image) if image and image.exists() else None,
        )

    def _on_output_state(self, state: str, reason: str) -> None:
        if state == "down":
            self.last_error = f"output down: {reason}"
            self.errors += 1
            self.playout.hold("outage")
        elif state == "live" and self.playout.held == "outage":
            self.playout.release()

    def on_frame(self, stage: str, frame) -> None:  # observer: progress numbers
        if stage == "render":
            picture = getattr(frame, "picture", None)
            if picture is not None:
                self.last_picture = picture
        elif stage == "encode":
            self._window.append((time.monotonic(), self.encode.frames_sent, self.output.bytes_out))

    def _make_gate(self) -> Gate:
        gate = make_gate(self.config, self.catalog, lambda: self.now())
        gate.on_decision = self._on_gate_decision
        return gate

    def _on_gate_decision(self, decision: GateDecision) -> None:
        """Rejections go to the audit trail (Redis ``livehost:gate:<channel>``) with rule and span."""
        if decision.passed:
            return
        self.gate_log.append({
            "wall_time": time.time(), "text": decision.text, "lang": decision.lang, "sku": decision.sku or "",
            "action": "dropped", "rules": [h.as_json() for h in decision.rules],
        })

    # -- public API (tests, console, chat) ---------------------------------------------
    def comment(self, user: str, text: str, comment_id: str | None = None) -> Triaged:
        """A viewer comment: triaged now; if it is to be answered, the reply follows within the time budget."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text: {text!r}: a comment needs some text")
        self._comment_seq += 1
        comment = Comment(str(user)[:64], text, time.monotonic(), comment_id or f"{self.config.id}-c{self._comment_seq}")
        triaged = self.triage.add(comment)
        self.comments.append({"id": comment.id, "user": comment.user, "text": text, "wall_time": time.time(),
                              "action": triaged.action.value, "intent": triaged.intent.value, "reason": triaged.reason,
                              "reply": None})
        self._comment_event.set()
        return triaged

    def reply_latency(self) -> tuple[float | None, float | None]:
        """p50 and p95 seconds from a comment's arrival to its approved reply (recent replies)."""
        if not self.reply_seconds:
            return None, None
        ordered = sorted(self.reply_seconds)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        return pick(0.5), pick(0.95)

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

    # -- operator controls ---------------------------------------------------------------
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
            self.takeover_card = self.render.holding = None
            if self.playout.held == "takeover":
                self.playout.release()
        if not self.paused:
            return
        self.paused = False
        self.queue.poke()
        self._comment_event.set()
        log.info("channel %s: talking again", self.config.id)

    def takeover(self, message: str | None = None) -> None:
        """Silence the host now (the sentence on air is cut at the next frame) and show a holding card."""
        lang = self.config.lang if self.config.lang in ("zh", "en") else (
            self.catalog.products[0].lang if self.catalog.products else "zh")
        default = "主播马上回来" if lang == "zh" else "We'll be right back"
        self.takeover_card = ProductCard(name=(message or default)[:40], price="", sale_price=None,
                                         badge="稍候片刻" if lang == "zh" else "Please stay tuned")
        self.render.holding = self.takeover_card
        self.playout.hold("takeover")
        self.pause()

    def release(self) -> None:
        """End a takeover: the product card returns and the host talks again."""
        if self.takeover_card is not None:
            self.resume()

    def skip_product(self) -> str | None:
        """Move on to the next product from the next sentence; what was queued about this one is taken back."""
        c = self._cursor
        if c is None:
            return None
        self._turn_now(f"skipped {c.sku}")
        return c.sku

    def _turn_now(self, reason: str) -> None:
        """Take back what was queued and turn to the next product from the next sentence."""
        c = self._cursor
        self.reschedule(reason)
        self._cursor, self._skip = c, True  # from the product being talked about, not from where the talk resumes
        self.queue.poke()

    def pin_product(self, sku: str) -> None:
        """Keep the host on ``sku`` (from the next sentence) until :meth:`unpin`; rotation and flash sales wait."""
        product = self.catalog.get(sku)
        if product is None:
            raise ValueError(f"sku: {sku!r} is not in this channel's catalog")
        if not product.in_stock:
            raise ValueError(f"sku: {sku!r} is out of stock")
        self.pinned = sku
        if self.current_sku() != sku:
            self._turn_now(f"pinned {sku}")

    def unpin(self) -> None:
        """Back to the run-of-show's rotation after the current product's turn."""
        self.pinned = None

    @property
    def state(self) -> str:
        """starting | live | reconnecting | paused | takeover | stopped (the output's state while on air)."""
        if self._stopping.is_set():
            return "stopped"
        if self.takeover_card is not None:
            return "takeover"
        if self.paused:
            return "paused"
        return self.output.state

    def stats(self) -> ChannelStats:
        fps = kbps = 0.0
        if len(self._window) >= 2:
            (t0, f0, b0), (t1, f1, b1) = self._window[0], self._window[-1]
            if t1 > t0:
                fps, kbps = (f1 - f0) / (t1 - t0), (b1 - b0) * 8 / 1000 / (t1 - t0)
        speaking = self.ledger.now_speaking
        return ChannelStats(
            state=self.state,
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
        idle_logged = False
        while True:
            await self.queue.wait_room(Source.SCRIPT)
            before = self._cursor
            if self.paused or not self.show.on_air(self.now()):
                await self.queue.wait_changed(timeout=1.0)  # paused or off air: the host is silent, the picture idles
                continue
            line = self._next_line()  # decided only once there is room: a reschedule cannot race it
            if line is None:
                if not idle_logged:
                    log.warning("channel %s: nothing sellable in catalog %s for lang=%s; the host waits",
                                self.config.id, self.catalog.source, self.config.lang)
                    idle_logged = True
                await self.queue.wait_changed(timeout=1.0)
                continue
            idle_logged = False
            if self.talk is not None:
                after, generation = self._cursor, self._facts_generation
                line = await self.talk.rewrite(line)
                if generation != self._facts_generation:  # the facts changed while the model wrote: plan again
                    if self._cursor is after:
                        self._cursor = before
                    continue
            speech = self.gate.approve(line.text, lang=line.lang, source=Source.SCRIPT, source_id=line.item_id, sku=line.sku)
            if speech is None:
                log.warning("gate dropped script line %s: %r", line.item_id, line.text)
                continue
            self.queue.put_nowait(speech)
            self.planned.append(line.item_id)
            self._resume_at[line.item_id] = before  # where the script goes back to if this is withdrawn
            while len(self._resume_at) > 64:
                self._resume_at.pop(next(iter(self._resume_at)))

    def _turn_over(self, c: _Cursor | None, now: datetime) -> bool:
        if self._skip:
            self._skip = False
            return True
        if self.pinned is not None:
            product = self.catalog.get(self.pinned)
            if product is not None and product.in_stock:
                return c is None or c.sku != self.pinned
            log.warning("channel %s: pinned product %s is gone or sold out: unpinned", self.config.id, self.pinned)
            self.pinned = None
        if c is None or c.sku not in self.catalog:
            return True
        product = self.catalog[c.sku]
        if self.config.show.skip_out_of_stock and not product.in_stock:
            return True
        flash = self.show.flash_at(now)
        if flash is not None and flash.sku in self.catalog:
            return c.sku != flash.sku  # the flash product stays on until the sale ends
        if c.flash:
            return True  # the sale ended: back to the rotation
        if self.config.show.dwell_seconds is not None:
            return (now - c.since).total_seconds() >= self.config.show.dwell_seconds
        return c.count >= self.config.sentences_per_product

    def _next_line(self) -> ScriptLine | None:
        """The next script sentence by the run-of-show, advancing the cursor."""
        now = self.now()
        c = self._cursor
        if self._turn_over(c, now):
            lang = self.config.lang
            pool = self.catalog if lang == "auto" else Catalog(
                products=[p for p in self.catalog if p.lang == lang], source=self.catalog.source, version=self.catalog.version)
            sku = self.pinned or self.show.next_sku(pool, c.sku if c else None, now)
            if sku is None:
                return None
            flash = self.show.flash_at(now)
            c = _Cursor(sku, self._next_cycle.get(sku, 0), 0, 0, now, flash is not None and flash.sku == sku)
        else:
            c = replace(c)
        lines = self.writer.cycle(c.sku, c.cycle)
        if c.index >= len(lines):
            c.cycle, c.index = c.cycle + 1, 0
            lines = self.writer.cycle(c.sku, c.cycle)
        line = lines[c.index]
        c.index += 1
        c.count += 1
        self._next_cycle[c.sku] = c.cycle + 1
        self._cursor = c
        return line

    def reschedule(self, reason: str) -> list[str]:
        """Facts or the run-of-show changed: what is queued and not yet spoken is said again, freshly.

        The sentence on air finishes; the next one is written from the catalog
        as it is now (a new price, a flash sale that started or ended) and the
        talk resumes right after the last sentence that went on air.  Returns
        the withdrawn item ids.
        """
        self.catalog = self.show.apply(self.base_catalog, self.now())
        self.gate = self._make_gate()
        self.writer = TemplateScriptWriter(self.catalog, seed=self.config.seed, now=lambda: self.now(), history=self.phrases)
        self.replies.update(self.catalog, self.gate)
        if self.talk is not None:
            self.talk.update(self.catalog, self.gate)
        self._facts_generation += 1
        taken = self.queue.withdraw(lambda h: h.speech.source is Source.SCRIPT)
        ids = [h.speech.source_id for h in taken]
        if taken:
            first = ids[0]
            if first in self._resume_at:
                self._cursor = self._resume_at[first]
            for i in ids:
                self._resume_at.pop(i, None)
            gone = set(ids)
            self.planned = deque((i for i in self.planned if i not in gone), maxlen=self.planned.maxlen)
        self.render.refresh_card()
        self.queue.poke()
        log.info("channel %s: %s; %d queued sentences rewritten", self.config.id, reason, len(ids))
        return ids

    def update_catalog(self, catalog: Catalog, reason: str = "catalog changed") -> list[str]:
        """Sell from this catalog from the next sentence and the next frame on."""
        self.base_catalog = catalog
        if self._show_scheduler is not None:
            self._show_scheduler.plan(self.now())  # its sale windows, too
        return self.reschedule(f"{reason} (version {catalog.version[:12]})")

    def boundaries(self, after: datetime, until: datetime) -> list[datetime]:
        """Instants in (after, until] where what the host may say changes: flash sales, catalog sale windows."""
        points = set(self.show.boundaries(after, until))
        for p in self.base_catalog:
            if p.sale_price is not None:
                points |= {t for t in (p.sale_start, p.sale_end) if t is not None and after < t <= until}
        return sorted(points)

    async def _watch_catalog(self) -> None:
        """Follow the store: a new catalog version is sold from the next sentence on."""
        from products.store import CatalogStore

        scopes = [self.config.id] if self.config.id == "shared" else [self.config.id, "shared"]
        client = self.store.aio()
        pubsub = client.pubsub()
        await pubsub.subscribe(*(CatalogStore(self.store.sync(), s)._k("changes") for s in scopes))
        try:
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                scope = json.loads(message["data"])["scope"]
                if scope != self.config.id and self.catalog_scope == self.config.id:
                    continue  # the channel's own catalog wins over the shared one
                catalog = await asyncio.to_thread(CatalogStore(self.store.sync(), scope).load)
                if catalog is not None and catalog.version != self.base_catalog.version:
                    self.catalog_scope = scope
                    self.update_catalog(catalog, f"catalog [{scope}] changed")
        finally:
            await pubsub.aclose()
            await client.aclose()

    def current_sku(self) -> str | None:
        """The product being talked about: the sentence on air's, else the one the script is on."""
        if self.playout.current is not None and self.playout.current.speech.sku:
            return self.playout.current.speech.sku
        return self._cursor.sku if self._cursor else None

    def _note_reply(self, comment_id: str, reply: Reply, spoken: bool) -> None:
        for entry in reversed(self.comments):
            if entry["id"] == comment_id:
                entry["reply"] = reply.speech if spoken else None
                entry["source"] = reply.source
                entry["ms"] = round(reply.seconds * 1000, 1)
                break
        for draft in reply.drafts:  # a model's answer not used: a template answered, or nothing was said
            self._log_draft(draft, reply.lang, reply.sku, "rewritten" if reply.speech else "dropped", comment_id=comment_id)

    async def _load_model(self, model) -> None:
        from scripts_gen.llm import BackendError

        try:
            await model.load()
            log.info("channel %s: text model %s loaded in %.1f s", self.config.id, model.name, model.load_seconds or 0)
        except BackendError as e:
            log.error("channel %s: %s; the templates answer instead", self.config.id, e)

    def _note_script_draft(self, line: ScriptLine, draft: Draft) -> None:
        """A model's selling sentence that was not used (the template sentence was said instead)."""
        self._log_draft(draft, line.lang, line.sku, "rewritten", item_id=line.item_id)

    def _log_draft(self, draft: Draft, lang: str, sku: str | None, action: str, **ref: str) -> None:
        self.gate_log.append({
            "wall_time": time.time(), "text": draft.text, "lang": lang, "sku": sku or "", "action": action,
            "source": draft.source, "error": draft.error, **ref, "rules": [h.as_json() for h in draft.rules],
        })

    def _queue_reply(self, reply: Reply, source_id: str) -> bool:
        if reply.speech is None:
            return False
        decision, speech = self.gate.review(reply.speech, lang=reply.lang, source=Source.REPLY, source_id=source_id, sku=reply.sku)
        if speech is None:
            return False
        try:
            self.queue.put_nowait(speech)
        except QueueFull:
            log.warning("channel %s: speech queue full, reply to %s dropped", self.config.id, source_id)
            return False
        return True

    async def _answer_comments(self) -> None:
        """Answers the most valuable waiting comment, one at a time; greets in batches."""
        greet_every = self.config.comments.greet_every_seconds
        last_greet = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(1.0):
                    await self._comment_event.wait()
            except TimeoutError:
                pass
            self._comment_event.clear()
            if self.paused or not self.show.on_air(self.now()):
                continue
            while (triaged := self.triage.next_answer(time.monotonic())) is not None:
                await self.queue.wait_room(Source.REPLY)
                reply = await self.replies.answer(triaged, self.current_sku())
                spoken = self._queue_reply(reply, triaged.comment.id)
                if spoken:
                    took = time.monotonic() - triaged.comment.at
                    self.reply_seconds.append(took)
                    self.reply_histogram.observe(took)
                self._note_reply(triaged.comment.id, reply, spoken)
            if time.monotonic() - last_greet >= greet_every:
                waiting = self.triage.take_greetings(time.monotonic())
                if waiting:
                    last_greet = time.monotonic()
                    reply = self.replies.greet(waiting, self.current_sku())
                    if reply is not None:
                        self._queue_reply(reply, f"greet:{waiting[0].id}")
                        for c in waiting:
                            self._note_reply(c.id, reply, True)

    async def _write_gate_log(self) -> None:
        """Gate rejections and rewrites into Redis, capped (the audit page reads them)."""
        client = self.store.aio()
        key = gate_log_key(self.config.id)
        try:
            while True:
                while self.gate_log:
                    await client.xadd(key, _gate_fields(self.gate_log.popleft()), maxlen=GATE_LOG_MAX * 10, approximate=True)
                await asyncio.sleep(0.5)
        finally:
            await client.aclose()

    def _flush_gate_log(self) -> None:
        if self.store is None:
            return
        client = self.store.sync()
        while self.gate_log:
            client.xadd(gate_log_key(self.config.id), _gate_fields(self.gate_log.popleft()),
                        maxlen=GATE_LOG_MAX * 10, approximate=True)

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
                    self.last_error, self.errors = handle.error, self.errors + 1
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
        while time.monotonic() < deadline and self.show.on_air(self.now()):
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
            asyncio.create_task(self._answer_comments(), name="comments"),
        ]
        if self.store is not None:
            self._tasks.append(asyncio.create_task(self._write_gate_log(), name="gate-log"))
        for model in self.models:  # a local model loads in the background; the templates speak meanwhile
            if hasattr(model, "load"):
                self._tasks.append(asyncio.create_task(self._load_model(model), name=f"load {model.name}"))
        if self.catalog_scope is not None and self.store is not None:
            self._tasks.append(asyncio.create_task(self._watch_catalog(), name="catalog"))
        from livehost.scheduler import ShowScheduler

        self._show_scheduler = ShowScheduler(self)
        self._show_scheduler.start()
        await self.output.start()
        self.pipeline.start()
        ticker = None
        try:
            await self._wait_first_speech()
            self.started_wall = time.monotonic()
            ticker = asyncio.create_task(self._tick(until), name="clock")
            self._tasks.append(ticker)
            vital = {"script", "tts", "audit", "comments"}
            watch = [ticker, *(t for t in self._tasks if t.get_name() in vital), *self.pipeline._tasks]
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
        if self._show_scheduler is not None:
            self._show_scheduler.stop()
        await cancel_and_wait(self._tasks, deadline, f"channel {self.config.id}")
        async with asyncio.timeout(deadline):
            await close_models(self.models)
        await asyncio.to_thread(self._flush_gate_log)
        self.tts.close()


def gate_log_key(channel: str) -> str:
    return f"livehost:gate:{channel}"


def _gate_fields(entry: dict) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in entry.items()}


def _fmt(product, amount) -> str:
    from products.model import format_money

    return format_money(amount, product.currency, product.lang)
