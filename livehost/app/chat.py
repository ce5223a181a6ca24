"""A channel's chat desk: its rooms on the platforms, heard and answered.

Each ``chat:`` entry of the channel config becomes a connector (:mod:`streaming.chat`).  What they hear goes
one way by kind:

- comments and super chats go to the comment desk (triage decides, the gate approves the answer); when the
  answer is spoken, it is also posted in the room it came from, addressed to the viewer, where the entry
  says ``reply_in_chat``;
- gifts, follows and likes are tallied, never queued one by one (a flood of likes cannot crowd out a
  question), and thanked together at most every ``thanks_every_seconds`` (gated like everything said);
- joins are counted.

The desk also keeps what the console shows: each connector's state, events per minute by kind, the lag from
the platform's stamp to receipt, replies posted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from livehost.core.speech import QueueFull, SpeechQueue
from livehost.core.tasks import cancel_and_wait
from scripts_gen.responder import Responder
from streaming.chat import ChatEvent, Connector, Kind, make_connector
from streaming.config import ChatConfig

log = logging.getLogger(__name__)

PENDING_GIFTS = 200  # gift senders remembered between two thanks (more are counted, not named)
ORIGINS = 2_000  # comments remembered for a reply in chat
MINUTE = 60.0


class ChatDesk:
    def __init__(self, channel: str, configs: Sequence[ChatConfig], environ: Mapping[str, str], *,
                 comment: Callable[[str, str, str], Any], responder: Responder, queue: SpeechQueue,
                 answering: Callable[[], bool], current_sku: Callable[[], str | None],
                 thanks_every: float = 15.0) -> None:
        """``comment(user, text, id)``: the comment desk's intake.  Raises ``ValueError`` naming a missing secret."""
        self.channel, self.comment, self.responder, self.queue = channel, comment, responder, queue
        self.answering, self.current_sku, self.thanks_every = answering, current_sku, thanks_every
        self.connectors: list[Connector] = []
        for config in configs:
            self.connectors.append(make_connector(config, self._from(len(self.connectors)), environ))
        self.gifts: deque[tuple[str, str]] = deque(maxlen=PENDING_GIFTS)
        self.followers: deque[str] = deque(maxlen=PENDING_GIFTS)
        self.likes = 0
        self.thanked = 0
        self._origin: OrderedDict[str, tuple[Connector, ChatEvent]] = OrderedDict()
        self._recent: deque[tuple[float, str]] = deque(maxlen=50_000)  # (time, kind) for events per minute
        self._tasks: list[asyncio.Task] = []
        self._thanks_due = asyncio.Event()

    # -- in --------------------------------------------------------------------------------------
    def _from(self, index: int) -> Callable[[ChatEvent], None]:
        return lambda event: self.deliver(event, self.connectors[index])

    def deliver(self, event: ChatEvent, source: Connector | None = None) -> None:
        """From ``source`` (on the event loop): route the event by kind; never blocks."""
        now = time.time()
        self._recent.append((now, event.kind.value))
        if event.kind in (Kind.COMMENT, Kind.SUPERCHAT):
            comment_id = f"{event.platform}:{event.id}"
            try:
                self.comment(event.user, event.text, comment_id)
            except ValueError as e:
                log.debug("chat %s: comment %s not taken: %s", self.channel, comment_id, e)
                return
            if source is not None and source.reply_in_chat:
                self._origin[comment_id] = (source, event)
                if len(self._origin) > ORIGINS:
                    self._origin.popitem(last=False)
            if event.kind is Kind.SUPERCHAT:
                self.gifts.append((event.user, event.gift or "super chat"))
        elif event.kind is Kind.GIFT:
            self.gifts.append((event.user, event.gift))
        elif event.kind is Kind.FOLLOW:
            self.followers.append(event.user)
        elif event.kind is Kind.LIKE:
            self.likes += max(1, event.count)
        # joins are only counted (each connector's events by kind)

    def replied(self, comment_id: str, text: str) -> None:
        """The comment desk spoke an answer to ``comment_id``: post it in that room too, where enabled."""
        origin = self._origin.pop(comment_id, None)
        if origin is not None:
            connector, event = origin
            connector.reply(text, event)

    # -- running ---------------------------------------------------------------------------------
    def start(self) -> list[asyncio.Task]:
        self._tasks = [asyncio.create_task(c.run(), name=f"chat {c.name}") for c in self.connectors]
        self._tasks.append(asyncio.create_task(self._thanks_loop(), name="chat thanks"))
        return list(self._tasks)

    async def stop(self, deadline: float = 8.0) -> None:
        await cancel_and_wait(self._tasks, deadline, f"channel {self.channel} chat")

    async def _thanks_loop(self) -> None:
        while True:
            await asyncio.sleep(self.thanks_every)
            if not (self.gifts or self.followers or self.likes) or not self.answering():
                continue
            gifts, followers, likes = list(self.gifts), list(self.followers), self.likes
            self.gifts.clear()
            self.followers.clear()
            self.likes = 0
            self.thanked += 1
            try:
                reply = self.responder.thank(gifts, followers, likes, self.current_sku(), f"{self.channel}-t{self.thanked}")
            except Exception:  # noqa: BLE001 - a thanks that cannot be written is skipped; the room is still heard
                log.exception("channel %s: thanks not written", self.channel)
                continue
            if reply is None or reply.speech is None:
                continue
            try:
                self.queue.put_nowait(reply.speech)
            except QueueFull:
                log.info("channel %s: speech queue full, thanks skipped", self.channel)

    # -- what the console shows ------------------------------------------------------------------
    def per_minute(self, now: float | None = None) -> dict[str, int]:
        now = time.time() if now is None else now
        counts: Counter[str] = Counter()
        for at, kind in reversed(self._recent):
            if now - at > MINUTE:
                break
            counts[kind] += 1
        return dict(counts)

    def totals(self) -> dict[str, int]:
        """Events heard since start by kind, all rooms together."""
        return dict(sum((c.events for c in self.connectors), Counter()))

    def status(self) -> dict[str, Any]:
        return {"connectors": [c.status() for c in self.connectors], "per_minute": self.per_minute(),
                "totals": self.totals(), "thanks": self.thanked,
                "pending": {"gifts": len(self.gifts), "followers": len(self.followers), "likes": self.likes}}
