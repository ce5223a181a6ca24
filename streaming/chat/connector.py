"""What every chat connector shares: the connection kept with backoff, events counted and deduplicated,
replies sent within the platform's rate limit, a state the console can show.

A connector's :meth:`Connector.session` runs one connection: it calls :meth:`Connector.connected` once the
platform has accepted it, :meth:`Connector.emit` for every event, and returns or raises when the connection
ends.  :meth:`Connector.run` keeps calling it: transient failures back off exponentially with jitter (1 s up
to a minute; the backoff resets once a connection stayed up), an auth or quota failure
(:class:`ChatAuthError`) is logged once with the platform's message and retried only every few minutes,
and a reconnect the platform asks for (:class:`Reconnect`) happens at once.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import logging
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livehost.core.tasks import cancel_and_wait, cancel_requested
from streaming.chat.events import ChatEvent, Deduper

log = logging.getLogger(__name__)

OUTBOX = 20  # replies waiting for the rate limit; older ones are dropped (counted) when it is full
_SENTENCE_END = re.compile(r"(?<=[。！？!?.…])\s*")


class State(str, enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    BACKOFF = "backing off"
    FAILED = "failed"  # auth or quota: retried rarely
    STOPPED = "stopped"


class ChatError(Exception):
    """A connection failed or a platform answered with an error; worth another try after a backoff."""


class ChatAuthError(ChatError):
    """Credentials refused or quota exhausted: retried only every :attr:`Connector.auth_retry` seconds."""


class Reconnect(Exception):  # noqa: N818 - a request, not an error
    """The platform asked us to move to another connection (Twitch RECONNECT, EventSub session_reconnect)."""


class Backoff:
    """Exponential backoff with full jitter: the n-th wait is uniform in [base*2^n/2, base*2^n], capped."""

    def __init__(self, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None) -> None:
        self.base, self.cap, self.rng, self.tries = base, cap, rng or random.Random(), 0

    def next(self) -> float:
        top = min(self.cap, self.base * 2 ** self.tries)
        self.tries += 1
        return self.rng.uniform(top / 2, top)

    def reset(self) -> None:
        self.tries = 0


class RateLimit:
    """At most ``count`` sends in any ``window`` seconds (a sliding window of send times)."""

    def __init__(self, count: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.count, self.window, self.clock = count, window, clock
        self.sent: deque[float] = deque()

    def wait_time(self) -> float:
        now = self.clock()
        while self.sent and now - self.sent[0] >= self.window:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.count else self.window - (now - self.sent[0])

    def take(self) -> None:
        self.sent.append(self.clock())


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut after the last whole sentence that fits (else at a word, with …)."""
    if len(text) <= limit:
        return text
    kept = ""
    for part in _SENTENCE_END.split(text):
        if not part:
            continue
        joined = f"{kept} {part}" if kept and kept[-1] in ".!?" else kept + part
        if len(joined) > limit:
            break
        kept = joined
    if kept:
        return kept
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


@dataclass
class Outgoing:
    text: str
    to: ChatEvent | None


class Connector(abc.ABC):
    """One platform room.  Subclasses implement :meth:`session` and, where replies go back to chat, :meth:`post`."""

    platform = "chat"
    max_message = 500  # characters a chat message may have
    rate = (20, 30.0)  # replies: count per window seconds
    auth_retry = 300.0
    stable_after = 30.0  # a connection up this long resets the backoff

    def __init__(self, name: str, room: str, deliver: Callable[[ChatEvent], None], *, reply_in_chat: bool = False,
                 rng: random.Random | None = None, backoff: Backoff | None = None) -> None:
        self.name, self.room, self.deliver, self.reply_in_chat = name, room, deliver, reply_in_chat
        self.backoff = backoff or Backoff(rng=rng)
        self.state = State.CONNECTING
        self.reason = ""
        self.next_try: float | None = None  # unix time of the next attempt while backing off
        self.since = time.time()
        self.connects = 0
        self.events: Counter[str] = Counter()  # by kind
        self.rejected: Counter[str] = Counter()  # by reason
        self.lags: deque[float] = deque(maxlen=500)
        self.replies_sent = self.replies_dropped = 0
        self.dedupe = Deduper()
        self.outbox: deque[Outgoing] = deque(maxlen=OUTBOX)
        self._outbox_ready = asyncio.Event()
        self.limit = RateLimit(*self.rate)
        self._reported: set[str] = set()
        self._tasks: list[asyncio.Task] = []

    # -- what subclasses implement -------------------------------------------------------------
    def check(self) -> None:  # noqa: B027 - connectors with something to verify before start override it
        """Raise ``ValueError`` naming what is missing (a secret variable...) before anything starts."""

    @abc.abstractmethod
    async def session(self) -> None:
        """One connection, until it ends: call :meth:`connected`, then :meth:`emit` for each event."""

    async def post(self, text: str, to: ChatEvent | None) -> None:
        """Send one chat message (``text`` already shortened); raise :class:`ChatError` if it failed."""
        raise ChatError(f"{self.platform}: replies in chat are not supported")

    async def close(self) -> None:  # noqa: B027 - a connector with a session to end on the platform overrides it
        """End what the platform holds for us (a Bilibili game session...)."""

    # -- what subclasses call ----------------------------------------------------------------------
    def connected(self) -> None:
        self.state, self.reason, self.next_try, self.since = State.LIVE, "", None, time.time()
        self.connects += 1
        log.info("chat %s: connected to %s room %s", self.name, self.platform, self.room)

    def emit(self, event: ChatEvent) -> bool:
        """Hand an event on unless it was seen before; True when it was new."""
        if not self.dedupe.first_time(event.key):
            self.rejected["duplicate"] += 1
            return False
        self.events[event.kind.value] += 1
        if event.lag is not None:
            self.lags.append(event.lag)
        self.deliver(event)
        return True

    def reject(self, reason: str, detail: str = "") -> None:
        """Count something refused (a bad signature, a malformed event); logged the first time per reason."""
        self.rejected[reason] += 1
        if reason not in self._reported:
            self._reported.add(reason)
            log.warning("chat %s: refused %s%s (counted from now on)", self.name, reason, f": {detail}" if detail else "")

    # -- replies ---------------------------------------------------------------------------------
    def reply(self, text: str, to: ChatEvent | None = None) -> None:
        """Queue a reply for chat (dropped, counted, when the outbox is full: replies are worth little late)."""
        if not self.reply_in_chat or not text.strip():
            return
        if len(self.outbox) == self.outbox.maxlen:
            self.replies_dropped += 1
        self.outbox.append(Outgoing(text, to))
        self._outbox_ready.set()

    async def _send_loop(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self.outbox:
                wait = self.limit.wait_time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                if self.state is not State.LIVE:
                    await asyncio.sleep(1.0)
                    continue
                item = self.outbox.popleft()
                self.limit.take()
                try:
                    await self.post(shorten(item.text, self.max_message), item.to)
                    self.replies_sent += 1
                except ChatError as e:
                    self.replies_dropped += 1
                    log.warning("chat %s: reply not sent: %s", self.name, e)

    # -- the loop ----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Keep the room connected until cancelled."""
        self._tasks = [asyncio.create_task(self._send_loop(), name=f"chat {self.name} send")]
        try:
            while True:
                self.state, started = State.CONNECTING, time.monotonic()
                try:
                    await self.session()
                    problem: BaseException | None = None
                    wait = 0.0 if self.state is State.LIVE else self.backoff.next()
                    self.reason = "the platform closed the connection"
                except Reconnect as e:
                    problem, wait, self.reason = None, 0.0, f"asked to reconnect ({e})" if str(e) else "asked to reconnect"
                except ChatAuthError as e:
                    problem, wait = e, self.auth_retry
                    self.state, self.reason = State.FAILED, str(e)
                    if str(e) not in self._reported:
                        self._reported.add(str(e))
                        log.error("chat %s: %s (next try in %.0f s)", self.name, e, wait)
                except (ChatError, OSError, TimeoutError, ValueError) as e:
                    if cancel_requested():
                        raise asyncio.CancelledError from e
                    problem, self.reason = e, str(e) or type(e).__name__
                    wait = self.backoff.next()
                    log.warning("chat %s: %s (reconnecting in %.1f s)", self.name, self.reason, wait)
                except Exception as e:  # noqa: BLE001 - a connector bug must not end the channel: log it, back off
                    if cancel_requested():
                        raise asyncio.CancelledError from e
                    problem, self.reason = e, repr(e)
                    wait = self.backoff.next()
                    log.exception("chat %s: unexpected failure (reconnecting in %.1f s)", self.name, wait)
                if time.monotonic() - started >= self.stable_after:
                    self.backoff.reset()
                if problem is None or not isinstance(problem, ChatAuthError):
                    self.state = State.BACKOFF if wait > 0 else State.CONNECTING
                self.next_try = time.time() + wait if wait > 0 else None
                if wait > 0:
                    await asyncio.sleep(wait)
        finally:
            self.state, self.next_try = State.STOPPED, None
            await cancel_and_wait(self._tasks, 5.0, f"chat {self.name}")
            try:
                async with asyncio.timeout(5.0):
                    await self.close()
            except Exception as e:  # noqa: BLE001 - ending cleanly is best effort
                log.warning("chat %s: could not end the session cleanly: %r", self.name, e)

    # -- what the console shows ------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        lags = sorted(self.lags)
        return {
            "name": self.name, "platform": self.platform, "room": self.room, "state": self.state.value,
            "reason": self.reason, "next_try": self.next_try, "since": self.since, "connects": self.connects,
            "events": dict(self.events), "rejected": dict(self.rejected),
            "lag_p50": lags[len(lags) // 2] if lags else None,
            "lag_p95": lags[min(len(lags) - 1, int(0.95 * len(lags)))] if lags else None,
            "replies_sent": self.replies_sent, "replies_dropped": self.replies_dropped,
            "reply_in_chat": self.reply_in_chat,
        }


def secret(environ: dict[str, str] | Any, variable: str | None, field: str) -> str:
    """The value of the environment variable a config names for a secret: ``ValueError`` naming both if unset."""
    if not variable:
        raise ValueError(f"{field}: name the environment variable that holds it")
    value = (environ.get(variable) or "").strip()
    if not value:
        raise ValueError(f"{field}: environment variable {variable} is not set")
    return value
