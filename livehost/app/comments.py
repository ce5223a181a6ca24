"""A channel's comment desk: viewer comments in, triaged at once, answered one at a time, greeted in batches.

The answers go into the speech queue as approved speech; each comment is
remembered with its decision and reply (the console shows the recent ones),
and the time from a comment's arrival to its approved reply is measured.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from livehost.app.assembly import draft_record
from livehost.core.approved import Source
from livehost.core.metrics import LatencyHistogram
from livehost.core.speech import QueueFull, SpeechQueue
from scripts_gen.config import CommentsConfig
from scripts_gen.responder import Reply, Responder
from scripts_gen.triage import Comment, Triage, Triaged

log = logging.getLogger(__name__)

RECENT = 200  # comments remembered with their decision and reply
LATENCIES = 500  # recent reply latencies kept for p50 / p95


class CommentDesk:
    def __init__(self, channel: str, config: CommentsConfig, triage: Triage, responder: Responder, queue: SpeechQueue,
                 *, answering: Callable[[], bool], current_sku: Callable[[], str | None],
                 record: Callable[[dict[str, Any]], None],
                 replied: Callable[[str, str], None] | None = None) -> None:
        """``answering()``: whether the host answers now (not paused, on air); ``record``: the audit trail's
        :meth:`~livehost.core.audit.AuditTrail.decision` for model drafts that were not used; ``replied(comment
        id, text)``: told of each answer queued to be spoken (the chat desk posts it in the room too)."""
        self.channel = channel
        self.config = config
        self.triage = triage
        self.responder = responder
        self.queue = queue
        self.answering = answering
        self.current_sku = current_sku
        self.record = record
        self.replied = replied
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.reply_seconds: deque[float] = deque(maxlen=LATENCIES)  # comment in -> approved reply
        self.histogram = LatencyHistogram()  # the same, cumulative since start (Prometheus)
        self._arrived = asyncio.Event()
        self._seq = 0

    def comment(self, user: str, text: str, comment_id: str | None = None) -> Triaged:
        """A viewer comment: triaged now; if it is to be answered, the reply follows within the time budget."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text: {text!r}: a comment needs some text")
        self._seq += 1
        comment = Comment(str(user)[:64], text, time.monotonic(), comment_id or f"{self.channel}-c{self._seq}")
        triaged = self.triage.add(comment)
        self.recent.append({"id": comment.id, "user": comment.user, "text": text, "wall_time": time.time(),
                            "action": triaged.action.value, "intent": triaged.intent.value, "reason": triaged.reason,
                            "reply": None})
        self._arrived.set()
        return triaged

    def wake(self) -> None:
        """Look at the waiting comments now (the host may answer again)."""
        self._arrived.set()

    def latency(self) -> tuple[float | None, float | None]:
        """p50 and p95 seconds from a comment's arrival to its approved reply (recent replies)."""
        if not self.reply_seconds:
            return None, None
        ordered = sorted(self.reply_seconds)

        def pick(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return pick(0.5), pick(0.95)

    async def run(self) -> None:
        """Answers the most valuable waiting comment, one at a time; greets in batches.  Until cancelled."""
        last_greet = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(1.0):
                    await self._arrived.wait()
            except TimeoutError:
                pass
            self._arrived.clear()
            if not self.answering():
                continue
            while True:
                while self.queue.count(Source.REPLY) >= self.config.replies_ahead:  # choose when the voice is near
                    await self.queue.wait_changed()
                triaged = self.triage.next_answer(time.monotonic())
                if triaged is None:
                    break
                reply = await self.responder.answer(triaged, self.current_sku())
                spoken = self._queue(reply)
                if spoken:
                    took = time.monotonic() - triaged.comment.at
                    self.reply_seconds.append(took)
                    self.histogram.observe(took)
                    if self.replied is not None and reply.text:
                        self.replied(triaged.comment.id, reply.text)
                self._note(triaged.comment.id, reply, spoken)
            if time.monotonic() - last_greet >= self.config.greet_every_seconds:
                waiting = self.triage.take_greetings(time.monotonic())
                if waiting:
                    last_greet = time.monotonic()
                    greeting = self.responder.greet(waiting, self.current_sku())
                    if greeting is not None:
                        self._queue(greeting)
                        for c in waiting:
                            self._note(c.id, greeting, True)

    def _queue(self, reply: Reply) -> bool:
        if reply.speech is None:
            return False
        try:
            self.queue.put_nowait(reply.speech)
        except QueueFull:
            log.warning("channel %s: speech queue full, reply to %s dropped", self.channel, reply.speech.source_id)
            return False
        return True

    def _note(self, comment_id: str, reply: Reply, spoken: bool) -> None:
        for entry in reversed(self.recent):
            if entry["id"] == comment_id:
                entry["reply"] = reply.text if spoken else None
                entry["source"] = reply.source
                entry["ms"] = round(reply.seconds * 1000, 1)
                break
        for draft in reply.drafts:  # a model's answer not used: a template answered, or nothing was said
            self.record(draft_record(draft, lang=reply.lang, sku=reply.sku, comment_id=comment_id,
                                     action="rewritten" if reply.speech else "dropped"))
