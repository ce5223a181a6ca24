"""A human on duty: where the platform profile requires a supervisor, the channel holds when nobody is there.

Presence is a heartbeat an operator sends: an open channel page in the console
sends one every 20 s, and an operator's own tool can ``POST
/api/channels/{id}/presence``.  The heartbeat is ``<unix seconds> <user>`` in
Redis (:func:`livehost.core.keys.presence`).  When the last one is older than
the profile's ``unattended_minutes``, the channel takes itself over: the
holding card, silence, talk paused.  It releases itself when someone is back.
Both events go into the audit chain, and the console shows an alert.  The
start of a session counts as a heartbeat, so the limit runs from there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from livehost.core import keys
from livehost.core.store import as_text

log = logging.getLogger(__name__)

HOLD_MESSAGE = {"zh": "主播马上回来", "en": "We'll be right back"}


class Supervision:
    def __init__(self, client: Any, channel: str, limit_seconds: float, *, hold: Callable[[str], None],
                 release: Callable[[], None], record: Callable[[dict[str, Any]], None], every: float = 5.0) -> None:
        self.client, self.channel, self.limit = client, channel, limit_seconds
        self.hold, self.release, self.record = hold, release, record
        self.every = every
        self.unattended = False
        self.last_seen: float | None = None
        self.last_user = ""

    async def run(self) -> None:
        await self.client.set(keys.presence(self.channel), f"{time.time():.3f} livehost:start", nx=True)
        while True:
            raw = await self.client.get(keys.presence(self.channel))
            self.last_seen, self.last_user = _parse(as_text(raw) if raw is not None else "")
            away = self.last_seen is None or time.time() - self.last_seen > self.limit
            if away and not self.unattended:
                self.unattended = True
                log.warning("channel %s: nobody on duty for %.0f s (the platform requires a supervisor): holding",
                            self.channel, self.limit)
                self.record({"event": "unattended", "last_seen": self.last_seen, "last_user": self.last_user})
                self.hold("nobody on duty")
            elif not away and self.unattended:
                self.unattended = False
                log.info("channel %s: %s is on duty again: releasing", self.channel, self.last_user)
                self.record({"event": "attended", "user": self.last_user})
                self.release()
            await asyncio.sleep(self.every)

    def status(self) -> dict[str, Any]:
        return {"unattended": self.unattended, "last_seen": self.last_seen, "last_user": self.last_user,
                "limit_seconds": self.limit}


def _parse(value: str) -> tuple[float | None, str]:
    when, _, user = value.partition(" ")
    try:
        return float(when), user
    except ValueError:
        return None, ""


async def beat(client: Any, channel: str, user: str) -> float:
    """Record that ``user`` is on duty for ``channel`` now (what the console's presence route does)."""
    now = time.time()
    await client.set(keys.presence(channel), f"{now:.3f} {user}", ex=7 * 24 * 3600)
    return now
