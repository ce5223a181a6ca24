"""The ledger: decides, at the output, what was actually said.

It watches :class:`OnAir` frames leave the last stage.  A sentence counts
as spoken once every one of its frames was sent and the output confirmed
delivery past its end.  If the link dropped while it was on air (or it was
cut short), it is recorded as cut, and replayed when the cut was an outage
or it came from the script (so the script resumes without skipping).  Each
outcome goes to the audit trail (:meth:`~livehost.core.audit.AuditTrail.spoken`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from livehost.core.approved import Source
from livehost.core.audit import AuditEntry
from livehost.core.frames import Frame, OnAir, SentenceEnded, SentenceStarted
from livehost.core.speech import SpeechHandle, SpeechQueue, SpeechState


@dataclass
class _OnAirSentence:
    handle: SpeechHandle
    start: int
    end: int | None = None
    cut: bool = False
    reason: str = ""


class Ledger:
    def __init__(self, channel: str, queue: SpeechQueue, record: Callable[[AuditEntry], None] | None = None,
                 catalog_version: Callable[[], str] = lambda: "") -> None:
        """``record`` receives every settled sentence (the channel's :class:`~livehost.core.audit.AuditTrail`);
        ``catalog_version``: the catalog the host sells from (queued talk is rewritten when it changes, so a
        sentence was checked against the version current when it finished on air)."""
        self.channel = channel
        self.queue = queue
        self.record = record
        self.catalog_version = catalog_version
        self.spoken = 0
        self.cut = 0
        self.now_speaking: SpeechHandle | None = None
        self._open: list[_OnAirSentence] = []
        self._last_pts = 0

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
            wall_time=time.time(),
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
            catalog_version=self.catalog_version(),
            backing=" | ".join(speech.backing),
            author=speech.author,
        )
        if self.record is not None:
            self.record(entry)

    def settle_all(self, reason: str = "stopped") -> None:
        """At shutdown: whatever is still open was cut."""
        for s in self._open:
            s.cut, s.reason = True, s.reason or reason
            if s.end is None:
                s.end = max(s.start, self._last_pts)
            self._settle(s)
        self._open = []
