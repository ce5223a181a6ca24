"""The audit trail: every sentence actually spoken (or cut), and every sentence the gate refused.

A running channel writes both through one :class:`AuditTrail`: a bounded
queue and one writer task, so a slow store never slows the show and memory
stays flat.  Spoken sentences are recorded by the ledger at the output,
after the sentence's last frame was handed on, so the trail holds what was
said, not what was planned.  Each kind is one capped Redis stream per
channel (:func:`livehost.core.keys.audit`, :func:`~livehost.core.keys.gate_log`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from livehost.core import keys
from livehost.core.chain import ChainWriter
from livehost.core.store import as_texts, stream_entries
from livehost.core.tasks import cancel_requested

log = logging.getLogger(__name__)

MAX_ENTRIES = 200_000  # spoken sentences kept per channel
MAX_DECISIONS = 10_000  # gate refusals and unused drafts kept per channel
MAX_PENDING = 2048  # records waiting for the store before the oldest are dropped
OUTAGE_RETRY_START, OUTAGE_RETRY_CAP = 0.2, 2.0  # seconds between tries while the store does not answer
_OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)


@dataclass(frozen=True)
class AuditEntry:
    channel: str
    wall_time: float  # unix seconds when the sentence finished on air
    pts_start: int  # samples on the channel's media clock
    pts_end: int
    text: str
    lang: str
    source: str  # script | reply | operator
    source_id: str
    cut: bool
    reason: str = ""  # why it was cut: outage, interrupt ...
    sku: str = ""
    rules: str = ""  # gate rules that fired, comma separated
    catalog_version: str = ""  # the catalog the sentence was checked against
    backing: str = ""  # what in the catalog backs each number it states, " | " between them
    author: str = ""  # who wrote it: template | model:<name> | operator

    def to_fields(self) -> dict[str, str]:
        return {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_fields(cls, fields: dict) -> AuditEntry:
        f = as_texts(fields)
        return cls(
            channel=f["channel"],
            wall_time=float(f["wall_time"]),
            pts_start=int(f["pts_start"]),
            pts_end=int(f["pts_end"]),
            text=f["text"],
            lang=f["lang"],
            source=f["source"],
            source_id=f["source_id"],
            cut=f["cut"] == "true",
            reason=f.get("reason", ""),
            sku=f.get("sku", ""),
            rules=f.get("rules", ""),
            catalog_version=f.get("catalog_version", ""),
            backing=f.get("backing", ""),
            author=f.get("author", ""),
        )


class AuditSink(Protocol):
    async def write(self, key: str, fields: dict[str, str], maxlen: int) -> None: ...


class RedisSink:
    """Appends to capped Redis streams."""

    def __init__(self, client: Any) -> None:  # a redis.asyncio client
        self.client = client

    async def write(self, key: str, fields: dict[str, str], maxlen: int) -> None:
        await self.client.xadd(key, fields, maxlen=maxlen, approximate=True)

    async def aclose(self) -> None:
        await self.client.aclose()


class AuditTrail:
    """What one channel records, written in order by :meth:`run` (a task its owner starts and cancels)."""

    def __init__(self, channel: str, sink: AuditSink | None, *, max_pending: int = MAX_PENDING,
                 chain: ChainWriter | None = None, checkpoint_seconds: float = 60.0,
                 retention: Callable[[], int] | None = None) -> None:
        """``chain``: also link every record into the channel's tamper-evident chain (signed every
        ``checkpoint_seconds`` while records come, and by :meth:`seal`); ``retention``: trims the chain
        (blocking; run in a worker thread after each quiet-minute checkpoint), returns the links dropped."""
        self.channel = channel
        self.sink = sink
        self.chain = chain
        self.retention = retention
        self.checkpoint_seconds = checkpoint_seconds
        # (chain kind, stream key or "" for the chain only, fields, maxlen)
        self._pending: asyncio.Queue[tuple[str, str, dict[str, str], int]] = asyncio.Queue(max_pending)
        self.dropped = 0

    def spoken(self, entry: AuditEntry) -> None:
        """A sentence the ledger settled (spoken or cut)."""
        self._put("spoken", keys.audit(self.channel), entry.to_fields(), MAX_ENTRIES, entry.text)

    def decision(self, record: dict[str, Any]) -> None:
        """A sentence the gate refused, or a model's draft that was not used (``text``, ``rules``, ``action``...)."""
        fields = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in record.items()}
        self._put("decision", keys.gate_log(self.channel), {"wall_time": str(time.time()), **fields}, MAX_DECISIONS,
                  str(record.get("text", "")))

    def event(self, kind: str, record: dict[str, Any]) -> None:
        """A control action or consent event: into the chain only (they have their own streams)."""
        if self.chain is not None:
            fields = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in record.items()}
            self._put(kind, "", {"wall_time": str(time.time()), **fields}, 0, f"{kind} {record}")

    def _put(self, kind: str, key: str, fields: dict[str, str], maxlen: int, text: str) -> None:
        if self.sink is None and self.chain is None:
            return
        try:
            self._pending.put_nowait((kind, key, fields, maxlen))
        except asyncio.QueueFull:
            self.dropped += 1
            log.error("audit backlog full (%d): dropping record of %r", self._pending.maxsize, text)

    async def run(self) -> None:
        """Write records as they come, until cancelled.  While the store is unreachable, the record waits (and
        those after it, up to ``max_pending``) and is written when it answers again: an outage loses nothing
        the backlog can hold.  A record the store refuses for another reason is logged and dropped."""
        while True:
            try:
                kind, key, fields, maxlen = await asyncio.wait_for(self._pending.get(), self.checkpoint_seconds)
            except TimeoutError:
                await self._checkpoint()  # quiet for a while: sign what came before
                await self._retain()
                continue
            try:
                await self._write(kind, key, fields, maxlen)
            finally:
                self._pending.task_done()

    async def _write(self, kind: str, key: str, fields: dict[str, str], maxlen: int) -> None:
        stream_done, wait, since = not (self.sink is not None and key), OUTAGE_RETRY_START, None
        while True:
            try:
                if not stream_done:
                    assert self.sink is not None
                    await self.sink.write(key, fields, maxlen)
                    stream_done = True  # a retry after this does not write it twice
                if self.chain is not None:
                    await self.chain.append(kind, fields)
                if since is not None:
                    log.warning("audit: the store answers again after %.1f s; %d records waiting are being written",
                                time.monotonic() - since, self._pending.qsize())
                return
            except _OUTAGE as e:
                if cancel_requested():  # redis-py turned our cancel into its own error: end, do not wait on
                    raise asyncio.CancelledError from e
                if since is None:
                    since = time.monotonic()
                    log.error("audit: the store is unreachable (%s); records wait (at most %d) until it answers",
                              e, self._pending.maxsize)
                await asyncio.sleep(wait)
                wait = min(wait * 2, OUTAGE_RETRY_CAP)
            except Exception as e:  # noqa: BLE001 - a record the store refuses: the show goes on
                if cancel_requested():
                    raise asyncio.CancelledError from e
                log.error("audit write failed: %r (%s)", e, fields.get("text", ""))
                return

    async def _checkpoint(self) -> None:
        if self.chain is None:
            return
        try:
            await self.chain.checkpoint()
        except Exception as e:  # noqa: BLE001 - signed at the next one
            if cancel_requested():
                raise asyncio.CancelledError from e
            log.error("audit checkpoint failed: %r", e)

    async def _retain(self) -> None:
        if self.retention is None:
            return
        try:
            dropped = await asyncio.to_thread(self.retention)
        except Exception as e:  # noqa: BLE001 - trimmed next time
            log.error("audit retention failed: %r", e)
            return
        if dropped:
            log.info("audit: %d old links of %s trimmed behind a signed anchor", dropped, self.channel)

    async def seal(self) -> None:
        """Sign the chain's head now (at shutdown, after :meth:`drain`)."""
        await self._checkpoint()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until what is queued was written (at most ``timeout`` seconds; needs :meth:`run` running)."""
        try:
            async with asyncio.timeout(timeout):
                await self._pending.join()
        except TimeoutError:
            log.error("audit: %d records not written before shutdown", self._pending.qsize())


def read_audit(client: redis.Redis, channel: str, count: int | None = None) -> list[AuditEntry]:
    """Oldest first; the last ``count`` entries when given."""
    if count is None:
        rows = stream_entries(client.xrange(keys.audit(channel)))
    else:
        rows = list(reversed(stream_entries(client.xrevrange(keys.audit(channel), count=count))))
    return [AuditEntry.from_fields(fields) for _id, fields in rows]
