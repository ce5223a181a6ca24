"""The audit log: every sentence actually spoken (or cut), in Redis.

One Redis stream per channel, capped so memory stays flat over a 24-hour
run.  Entries are written by the ledger at the sink, after the sentence's
last frame was handed to the output, so the log records what was said,
not what was planned.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import redis
import redis.asyncio as aioredis

MAX_ENTRIES = 200_000


def audit_key(channel: str) -> str:
    return f"livehost:audit:{channel}"


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

    def to_fields(self) -> dict[str, str]:
        return {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_fields(cls, fields: dict) -> AuditEntry:
        f = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in fields.items()}
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
        )


class AuditLog:
    """Async writer used by a running channel."""

    def __init__(self, client: aioredis.Redis, channel: str) -> None:
        self._r = client
        self.channel = channel

    async def record(self, entry: AuditEntry) -> None:
        await self._r.xadd(audit_key(self.channel), entry.to_fields(), maxlen=MAX_ENTRIES, approximate=True)


def read_audit(client: redis.Redis, channel: str, count: int | None = None) -> list[AuditEntry]:
    """Oldest first; the last ``count`` entries when given."""
    if count is None:
        rows = client.xrange(audit_key(channel))
    else:
        rows = list(reversed(client.xrevrange(audit_key(channel), count=count)))
    return [AuditEntry.from_fields(fields) for _id, fields in rows]


def now() -> float:
    return time.time()
