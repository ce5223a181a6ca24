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
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from redis.exceptions import RedisError

from livehost.app import assembly
from livehost.app.avatars import GRACE_SECONDS, WATCH_SECONDS, ConsentWatch
from livehost.app.chat import ChatDesk
from livehost.app.checkpoint import Checkpoints
from livehost.app.comments import CommentDesk
from livehost.app.config import ChannelConfig, ConfigError
from livehost.app.show_timer import ShowTimer
from livehost.app.signing import Ed25519Signer
from livehost.app.stats import ChannelStats, Throughput, channel_state
from livehost.app.supervision import HOLD_MESSAGE, Supervision
from livehost.app.talk import SellingTalk
from livehost.core.approved import Source
from livehost.core.audit import AuditEntry, AuditTrail, RedisSink
from livehost.core.chain import ChainWriter, trim
from livehost.core.clock import MediaClock
from livehost.core.consent import ConsentBook, ConsentError
from livehost.core.frames import (
    ErrorFrame,
    Frame,
    InterruptFrame,
    MediaFrame,
    OnAir,
    ReleaseFrame,
    StartFrame,
    TickFrame,
)
from livehost.core.lease import ChannelLease, LeaseLost
from livehost.core.ledger import Ledger
from livehost.core.pipeline import Pipeline
from livehost.core.playout import Playout, PlayoutStage
from livehost.core.settings import Settings
from livehost.core.speech import QueueFull, SpeechHandle, SpeechQueue
from livehost.core.states import ChannelState, OutputState
from livehost.core.store import Store
from livehost.core.tasks import cancel_and_wait
from products.feeds.sources import FeedAccess
from products.follow import CatalogFollower
from products.model import Catalog
from products.show import RunOfShow
from scripts_gen.disclosure import disclosure_line
from scripts_gen.gate import Refused
from scripts_gen.planner import ScriptPlanner
from streaming.avatar import ProductCard
from streaming.cards import holding_card, product_card
from streaming.stages import CardFrame, EncodeStage, RenderStage
from streaming.subtitles import SubtitleStage
from streaming.tts import TtsBackend
from streaming.tts.stage import TtsStage

log = logging.getLogger(__name__)


class ChannelSession:
    def __init__(self, config: ChannelConfig, store: Store | None = None, *, tts: TtsBackend | None = None,
                 now: Callable[[], datetime] | None = None, settings: Settings | None = None,
                 subtitles: SubtitleStage | None = None, clock_origin: int = 0) -> None:
        """``settings``: the process's (feed access, secrets for text models); ``now``: the channel's clock;
        ``clock_origin``: the pts (samples) of the first frame (the timestamp-wrap tests start near a boundary);
        ``subtitles``: a stage that keeps (and may burn in) the spoken sentences, between render and encode."""
        settings = settings or Settings()
        self.config, self.store, self.settings = config, store, settings
        self.clock = MediaClock(config.fps, clock_origin)
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self.show = RunOfShow(config.show)
        self.catalog_scope, self.base_catalog = assembly.load_channel_catalog(config, store,
                                                                              FeedAccess.from_settings(settings))
        self.catalog: Catalog = self.show.apply(self.base_catalog, self.now())  # as the host states it now
        client = store.aio() if store else None
        signer = Ed25519Signer.for_home(settings.home) if store is not None else None
        chain = ChainWriter(client, config.id, signer) if client is not None else None
        keep = config.audit_keep_links
        retention = (lambda: trim(store.sync(), config.id, keep, signer, slack=0.1)) if store and signer and keep else None
        self.trail = AuditTrail(config.id, RedisSink(client) if client is not None else None, chain=chain,
                                retention=retention)
        self.gate = assembly.make_gate(config, self.catalog, lambda: self.now(), self.trail.decision)
        self.planner = ScriptPlanner(self.show, self.catalog, lang=config.lang, seed=config.seed,
                                     sentences_per_product=config.sentences_per_product, now=lambda: self.now())
        self.models = assembly.make_models(config, settings.environ)
        self.responder = assembly.make_responder(config, self.catalog, self.gate, lambda: self.now(), self.models)
        self.queue = SpeechQueue()
        model = assembly.make_model_writer(config, self.catalog, self.gate, self.models, self.planner.history,
                                           lambda: self.now(), self.trail.decision)
        self.talk = SellingTalk(config.id, self.planner, self.queue, self.gate, model, talking=self._talking)
        self.comments = CommentDesk(config.id, config.comments, assembly.make_triage(config, self.responder), self.responder,
                                    self.queue, answering=self._talking,
                                    current_sku=self.current_sku, record=self.trail.decision)
        self.chat: ChatDesk | None = None
        if config.chat:
            try:
                self.chat = ChatDesk(config.id, config.chat, settings.environ, comment=self.comments.comment,
                                     responder=self.responder, queue=self.queue, answering=self._talking,
                                     current_sku=self.current_sku, thanks_every=config.comments.thanks_every_seconds)
            except ValueError as e:
                raise ConfigError(str(e)) from None
            self.comments.replied = self.chat.replied
        self.ledger = Ledger(config.id, self.queue, self._spoken, lambda: self.catalog.version)
        self.output = assembly.make_output(config, home=settings.home)
        self.output.add_listener(self._on_output_state)
        self.lease: ChannelLease | None = None
        self.checkpoints: Checkpoints | None = None
        self._coord = store.aio() if store is not None else None  # the lease and the checkpoints
        if self._coord is not None:
            self.checkpoints = Checkpoints(self._coord, config.id, self.planner, lambda: self.catalog.version)
            if config.lease.enabled:  # one channel, one place: nothing is pushed without it
                self.lease = ChannelLease(self._coord, config.id, ttl=config.lease.ttl_seconds,
                                          keep_on_outage=config.lease.on_store_outage == "keep", on_lost=self._lease_lost)
                self.output.fence = self.lease.valid
        self.playout = Playout(self.clock, self.queue)
        self.playout_stage = PlayoutStage(self.playout)
        host, face = assembly.make_avatar(config, store, settings.home)
        voice_consent = None
        if tts is None:
            tts, voice_consent = assembly.make_voice(config, store, settings.home)
        self.consents = [r for r in (face, voice_consent) if r is not None]  # watched while on air
        self.render = RenderStage(host, self.card_for)
        self.encode = EncodeStage(self.output, realtime=True if config.output.realtime is None else config.output.realtime)
        self.obs = assembly.make_obs(config, settings.environ, lambda: self.encode.frames_sent)  # None without OBS
        tts_stage = TtsStage(self.queue, tts)
        stages = [tts_stage, self.playout_stage, self.render, *([subtitles] if subtitles else []), self.encode]
        self.pipeline = Pipeline(stages, observers=[self.ledger, self])
        self.show_timer = ShowTimer(config.id, self.show.tz, lambda a, b: self.show.boundaries(a, b, self.base_catalog),
                                    self._on_show_change)
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
        self.last_picture: np.ndarray | None = None  # the newest rendered frame (yuv420p), for the console's preview
        self.throughput = Throughput()
        self.started_wall: float | None = None
        profile = config.profile
        if (why := profile.refusal()) is not None:
            raise ConfigError(why)
        self.supervision: Supervision | None = None
        self._supervision_card: ProductCard | None = None
        if profile.supervisor_required.value is True:
            if store is None:
                raise ConfigError(f"platform {profile.platform!r} requires a human supervisor: presence is kept in "
                                  "the store, so this channel needs one")
            self.supervision = Supervision(store.aio(), config.id, float(profile.unattended_minutes.value) * 60,
                                           hold=self._nobody_on_duty, release=self._on_duty_again,
                                           record=lambda e: self.trail.event("supervision", e))
        hours = profile.max_session_hours
        self._session_limit = float(hours.value) * 3600 if hours.known else float("inf")  # media seconds
        self._disclose_due = 0.0 if config.disclose else float("inf")  # media seconds of the next "I am an AI"
        self._disclosed = 0
        self.consent_every = WATCH_SECONDS  # how often the consent for a photoreal host or cloned voice is read again

    # -- what the pipeline shows and reports -------------------------------------------------
    def card_for(self, sku: str) -> ProductCard | None:
        return product_card(self.catalog, sku, self.now())

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
        elif stage == "playout" and isinstance(frame, TickFrame):
            media = self.clock.elapsed(frame.pts)
            if media >= self._disclose_due and self._talking():
                self._disclose(media)
            if media >= self._session_limit and not self._stopping.is_set():
                rule = self.config.profile.max_session_hours
                self.last_error = (f"platform {self.config.profile.platform!r} limits a live session to "
                                   f"{rule.value} h ({rule.cite()}): stopped")
                log.warning("channel %s: %s", self.config.id, self.last_error)
                self._stopping.set()

    def _control(self, frame: InterruptFrame | ReleaseFrame | CardFrame) -> None:
        self.pipeline.send_nowait(frame)

    def _talking(self) -> bool:
        return not self.paused and self.show.on_air(self.now())

    # -- viewers and operators ----------------------------------------------------------------
    def comment(self, user: str, text: str, comment_id: str | None = None):
        return self.comments.comment(user, text, comment_id)

    def say(self, text: str, *, source: Source = Source.OPERATOR, source_id: str = "operator",
            lang: str | None = None, author: str = "operator") -> SpeechHandle:
        """Queue text through the gate.  Raises :class:`~scripts_gen.gate.Refused` or ``QueueFull``."""
        sku = self.playout.current.speech.sku if self.playout.current else None
        product = self.catalog.get(sku) if sku else None
        lang = lang or (product.lang if product else "zh")
        decision, speech = self.gate.review(text, lang=lang, source=source, source_id=source_id, sku=sku, author=author)
        if speech is None:
            raise Refused(decision)
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
            if self.obs is not None:
                self.obs.release()
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
        if self.obs is not None:
            self.obs.hold("takeover")
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
        product_sku = self.planner.pin(sku)
        if self.current_sku() != product_sku:
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
        return channel_state(stopping=self._stopping.is_set(), takeover=self.takeover_card is not None,
                             paused=self.paused, output=self.output.state, reconnects=self.output.reconnects)

    def stats(self) -> ChannelStats:
        fps, kbps = self.throughput.rates()
        speaking = self.ledger.now_speaking
        return ChannelStats(
            state=self.state, media_seconds=self.clock.elapsed(self.playout_stage.pts),
            frames_sent=self.encode.frames_sent, frames_dropped=self.encode.frames_dropped, fps=fps, kbps=kbps,
            speaking=speaking.speech.text if speaking else None, spoken=self.ledger.spoken, cut=self.ledger.cut,
            queue_depth=len(self.queue), reconnects=self.output.reconnects, render_dropped=self.render.dropped,
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
        self.gate = assembly.make_gate(self.config, self.catalog, lambda: self.now(), self.trail.decision)
        self.responder.update(self.catalog, self.gate)
        ids = self.talk.update(self.catalog, self.gate)
        self._control(CardFrame(self.playout_stage.pts, self.takeover_card))  # a new price shows on the next frame
        self.queue.poke()
        log.info("channel %s: %s; %d queued sentences rewritten", self.config.id, reason, len(ids))
        return ids

    def update_catalog(self, catalog: Catalog, reason: str = "catalog changed") -> list[str]:
        """Sell from this catalog from the next sentence and the next frame on."""
        self.base_catalog = catalog
        self.show_timer.plan(self.now())  # its sale windows, too
        return self.reschedule(f"{reason} (version {catalog.version[:12]})")

    def _on_catalog_version(self, scope: str, catalog: Catalog) -> None:  # a new version in the store
        self.catalog_scope = scope
        self.update_catalog(catalog, f"catalog [{scope}] changed")

    def _on_show_change(self, at: datetime) -> None:
        flash = self.show.flash_at(at)
        self.reschedule(f"flash sale {flash.sku} at {flash.price} on" if flash else f"run-of-show change at {at.isoformat()}")

    # -- running --------------------------------------------------------------------------------
    async def run(self, duration: float | None = None) -> ChannelStats:
        """Run until ``duration`` seconds of media were produced, or :meth:`request_stop`; re-raises a stage's failure."""
        self.playout_stage.until = None if duration is None else max(1, round(duration * self.config.fps))
        try:
            if self.lease is not None:
                await self.lease.acquire()  # LeaseHeld: on air elsewhere, naming the holder; nothing started yet
            if self.checkpoints is not None and (where := await self.checkpoints.resume()):
                self.trail.event("resume", {"event": "resumed", "where": where})
        except BaseException:
            if self.lease is not None:
                await self.lease.release()
            if self._coord is not None:
                await self._coord.aclose()
            raise
        vital = [asyncio.create_task(coro, name=name) for coro, name in (
            (self.talk.run(), "script"), (self.trail.run(), "audit"), (self.comments.run(), "comments"))]
        self._tasks = [*vital, *(asyncio.create_task(assembly.load_model(m, self.config.id), name=f"load {m.name}")
                                 for m in self.models)]
        if self.follower is not None:
            self._tasks.append(asyncio.create_task(self.follower.run(), name="catalog"))
        for record in self.consents:  # only a channel with a store has any
            assert self.store is not None
            self.trail.event("consent", {"event": "used", "record": record.id, "subject": record.subject,
                                         "scopes": list(record.scopes), "recording_sha256": record.recording_sha256 or ""})
            watch = ConsentWatch(ConsentBook(self.store.sync(), self.settings.home), record, self._consent_lost,
                                 use=f"channel {self.config.id}", every=self.consent_every)
            self._tasks.append(asyncio.create_task(watch.run(), name=f"consent {record.id}"))
        self.show_timer.start()
        if self.chat is not None:
            self.chat.start()
        if self.obs is not None:
            self._tasks.append(asyncio.create_task(self.obs.run(), name="obs"))
        if self.supervision is not None:
            self._tasks.append(asyncio.create_task(self.supervision.run(), name="supervision"))
        if self.lease is not None:
            self._tasks.append(asyncio.create_task(self.lease.run(), name="lease"))
        if self.checkpoints is not None:
            self._tasks.append(asyncio.create_task(self.checkpoints.run(), name="checkpoints"))
        await self.output.start()
        if self.config.disclose and self._talking():
            self._disclose(0.0)  # the first thing said
        self.pipeline.start()
        try:
            await self.queue.wait_head_ready(30.0, lambda: self.show.on_air(self.now()) and not self._stopping.is_set())
            self.started_wall = time.monotonic()
            self.pipeline.send_nowait(StartFrame(self.clock.origin))
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

    async def drain(self, timeout: float = 30.0) -> str:
        """Stop at a sentence boundary: let the sentence on air finish (the checkpoint then points after it), then
        stop.  For a move to another node: the run there starts with the next sentence."""
        speaking = self.ledger.now_speaking
        deadline = time.monotonic() + timeout
        while speaking is not None and self.ledger.now_speaking is speaking and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        said = speaking.speech.text if speaking is not None else None
        self.request_stop()
        return f"stopped after {said!r}" if said else "stopped between sentences"

    def _disclose(self, media: float) -> None:
        """Say the host is an AI host (gated, logged); the next one is due ``disclose_every_minutes`` of air later."""
        lang = self.config.spoken_lang or (self.catalog.products[0].lang if self.catalog.products else "zh")
        try:
            self.say(disclosure_line(lang, self._disclosed), source_id="disclosure", lang=lang, author="template")
        except (Refused, QueueFull) as e:
            log.warning("channel %s: AI disclosure not queued (%s); trying again in 5 s", self.config.id, e)
            self._disclose_due = media + 5
            return
        self._disclosed += 1
        every = self.config.disclosure_minutes * 60
        self._disclose_due = media + every if every else float("inf")

    def _nobody_on_duty(self, why: str) -> None:
        if self.takeover_card is not None:
            return  # an operator or a lost consent already holds the channel
        lang = self.config.spoken_lang or (self.catalog.products[0].lang if self.catalog.products else "zh")
        self.takeover(HOLD_MESSAGE.get(lang, HOLD_MESSAGE["en"]))
        self._supervision_card = self.takeover_card
        self.last_error = f"held: {why} (the platform requires a human supervisor)"

    def _on_duty_again(self) -> None:
        if self._supervision_card is not None and self.takeover_card is self._supervision_card:
            self.release()  # only the hold supervision put on; an operator's own takeover stays
        self._supervision_card = None

    def _consent_lost(self, reason: str) -> None:
        """A consent the host's face or voice needs is gone: a holding card and silence now, off air shortly after."""
        log.error("channel %s: %s; taking the host off air", self.config.id, reason)
        self.trail.event("consent", {"event": "lost", "reason": reason})
        self.last_error = reason
        self.takeover(None)
        loop = asyncio.get_running_loop()
        loop.call_later(GRACE_SECONDS, self._fail, ConsentError(reason))

    def _spoken(self, entry: AuditEntry) -> None:
        """A sentence finished (or was cut): into the audit trail; a script sentence that went on air moves the
        checkpoint on."""
        self.trail.spoken(entry)
        if self.checkpoints is not None and entry.source == Source.SCRIPT.value and not entry.cut:
            self.checkpoints.spoken(entry.source_id)

    def _lease_lost(self, reason: str) -> None:
        """Another holder has the channel: push nothing more (the outputs' fence already says no) and stop."""
        self.last_error = reason
        self.trail.event("lease", {"event": "lost", "reason": reason})
        self._fail(LeaseLost(reason))

    def _fail(self, error: BaseException) -> None:
        self._failure = self._failure or error
        self._stopping.set()

    async def _shutdown(self, deadline: float = 10.0) -> None:
        self._stopping.set()
        if self.chat is not None:
            await self.chat.stop()  # hear nothing more; end the platforms' sessions
        await self.pipeline.stop(self.playout_stage.pts, deadline=deadline)
        if self.obs is not None:
            await self.obs.close()  # OBS shows the holding scene, not a frozen frame
        await self.output.close()
        if self.checkpoints is not None:
            try:
                await self.checkpoints.flush()  # where the talk goes on, up to the last sentence spoken
            except (RedisError, ConnectionError, OSError) as e:
                log.warning("channel %s: last checkpoint not written (%s)", self.config.id, e)
        if self.lease is not None:  # after the last push: another holder may start at once
            await self.lease.release()
        await self.render.avatar.aclose()
        self.ledger.settle_all()
        await self.trail.drain()
        await self.trail.seal()  # sign the chain's head: everything said this run is covered
        self.show_timer.stop()
        await cancel_and_wait(self._tasks, deadline, f"channel {self.config.id}")
        async with asyncio.timeout(deadline):
            await assembly.close_models(self.models)
        if isinstance(self.trail.sink, RedisSink):
            await self.trail.sink.aclose()
        if self._coord is not None:
            await self._coord.aclose()
