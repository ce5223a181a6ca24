"""The ledger: decides, at the output, what was actually said.

It watches :class:`OnAir` frames leave the last stage.  A sentence counts
as spoken once every one of its frames was sent and the output confirmed
delivery past its end.  If the link dropped while it was on air (or it was
cut short), it is recorded as cut, and replayed when the cut was an outage
or it came from the script (so the script resumes without skipping).  Each
outcome is written to the audit log through a bounded queue.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from livehost.approved import Source
from livehost.audit import AuditEntry, AuditLog, now
from livehost.frames import Frame, OnAir, SentenceEnded, SentenceStarted
from livehost.speech import SpeechHandle, SpeechQueue, SpeechState

log = logging.getLogger(__name__)


@dataclass
class _OnAirSentence:
    handle: SpeechHandle
    start: int
    end: int | None = None
    cut: bool = False
    reason: str = ""


class Ledger:
    def __init__(self, channel: str, queue: SpeechQueue, audit: AuditLog | None, *, max_pending: int = 1024) -> None:
        self.channel = channel
        self.queue = queue
        self.audit = audit
        self.spoken = 0
        self.cut = 0
        self.now_speaking: SpeechHandle | None = None
        self._open: list[_OnAirSentence] = []
        self._last_pts = 0
        self._records: asyncio.Queue[AuditEntry] = asyncio.Queue(max_pending)
        self.dropped_records = 0

    # -- observer --------------------------------------------------------------------
    def on_frame(self, stage: str, frame: Frame) -> None:
        if isinstance(frame, OnAir):
            self._on_air(frame)

    def _on_air(self, f: OnAir) -> None:
        self._last_pts = f.pts
        for ev in f.events:
            if isinstance(ev, SentenceStarted):
                self._open.append(_OnAirSentence(ev.handle, ev.pts))
                self.now_speaking = ev.handle
            elif isinstance(ev, SentenceEnded):
                s = self._find(ev.handle)
                if s is not None:
                    s.end = ev.pts
                    if ev.cut:
                        s.cut, s.reason = True, s.reason or ev.reason
                if self.now_speaking is ev.handle:
                    self.now_speaking = None
        if not f.sent:
            for s in self._open:
                if s.end is None or s.end > f.pts:
                    s.cut, s.reason = True, s.reason or "outage"
        if f.lost_from is not None:
            for s in self._open:
                if s.end is None or s.end > f.lost_from:
                    s.cut, s.reason = True, "outage"
        still_open = []
        for s in self._open:
            if s.end is not None and (s.cut or s.end <= f.acked_pts):
                self._settle(s)
            else:
                still_open.append(s)
        self._open = still_open

    def _find(self, handle: SpeechHandle) -> _OnAirSentence | None:
        for s in self._open:
            if s.handle is handle:
                return s
        return None

    def _settle(self, s: _OnAirSentence) -> None:
        speech = s.handle.speech
        if s.cut:
            self.cut += 1
            replay = s.reason == "outage" or speech.source is Source.SCRIPT
            if replay:
                self.queue.requeue(s.handle)
            else:
                s.handle.finish(SpeechState.CUT)
        else:
            self.spoken += 1
            s.handle.finish(SpeechState.SPOKEN)
        entry = AuditEntry(
            channel=self.channel,
            wall_time=now(),
            pts_start=s.start,
            pts_end=s.end if s.end is not None else s.start,
            text=speech.text,
            lang=speech.lang,
            source=speech.source.value,
            source_id=speech.source_id,
            cut=s.cut,
            reason=s.reason,
            sku=speech.sku or "",
            rules=",".join(speech.rules),
        )
        try:
            self._records.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped_records += 1
            log.error("audit backlog full: dropping record of %r", speech.text)

    def settle_all(self, reason: str = "stopped") -> None:
        """At shutdown: whatever is still open was cut."""
        for s in self._open:
            s.cut, s.reason = True, s.reason or reason
            if s.end is None:
                s.end = max(s.start, self._last_pts)
            self._settle(s)
        self._open = []

    # -- writer task ----------------------------------------------------------------
    async def write_records(self) -> None:
        while True:
            entry = await self._records.get()
            if self.audit is not None:
                try:
                    await self.audit.record(entry)
                except Exception as e:  # noqa: BLE001 - the store may blip; the show goes on
                    log.error("audit write failed: %r (%s)", e, entry.text)
            self._records.task_done()

    async def drain(self, timeout: float = 5.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._records.join()
        except TimeoutError:
            log.error("audit: %d records not written before shutdown", self._records.qsize())
