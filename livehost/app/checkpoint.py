"""A channel's checkpoint: where its talk goes on, so another run (here, or on another node) resumes after the
last sentence actually spoken.

After every script sentence that finishes on air (not one that was cut: that one is said again), the planner's
state after it goes to ``livehost:checkpoint:<channel>`` in Redis as JSON: the cursor (product, cycle,
sentence), each product's next cycle, the pin, the phrase history (what was said within the no-repeat window),
the catalog version and the wall time.  Writes are coalesced: at most one a second, always the newest.  A
session that starts with a checkpoint whose product is still in the catalog goes on from there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from livehost.core import keys
from scripts_gen.planner import ScriptPlanner

log = logging.getLogger(__name__)

WRITE_EVERY = 1.0  # seconds between two writes at most one a second: a sentence takes longer than that anyway
KEEP_SECONDS = 30 * 24 * 3600  # a channel not run for a month starts afresh


class Checkpoints:
    def __init__(self, client: Any, channel: str, planner: ScriptPlanner, catalog_version: Callable[[], str]) -> None:
        self.client, self.channel, self.planner = client, channel, planner
        self.catalog_version = catalog_version
        self._latest: dict | None = None
        self._dirty = asyncio.Event()

    @property
    def key(self) -> str:
        return keys.checkpoint(self.channel)

    def spoken(self, item_id: str) -> None:
        """A script sentence finished on air: the talk goes on after it."""
        snap = self.planner.snapshot(item_id)
        if snap is None:
            return
        self._latest = {**snap, "catalog_version": self.catalog_version(), "wall": time.time()}
        self._dirty.set()

    async def load(self) -> dict | None:
        raw = await self.client.get(self.key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            data["cursor"]["sku"]  # noqa: B018 - the one field a resume needs
        except (ValueError, KeyError, TypeError) as e:
            log.warning("channel %s: checkpoint unreadable (%s); starting afresh", self.channel, e)
            return None
        return data

    async def resume(self) -> str | None:
        """Restore the planner from the channel's checkpoint, if there is one its catalog can go on from."""
        data = await self.load()
        if data is None:
            return None
        sku = data["cursor"]["sku"]
        if sku not in self.planner.catalog:
            log.info("channel %s: checkpoint is on %s, no longer in the catalog; starting afresh", self.channel, sku)
            return None
        where = self.planner.restore(data)
        log.info("channel %s: resuming the talk %s", self.channel, where)
        return where

    async def flush(self) -> None:
        if self._latest is not None and self._dirty.is_set():
            self._dirty.clear()
            await self.client.set(self.key, json.dumps(self._latest, ensure_ascii=False), ex=KEEP_SECONDS)

    async def run(self) -> None:
        """Write the newest checkpoint, at most once every WRITE_EVERY seconds, until cancelled."""
        while True:
            await self._dirty.wait()
            try:
                await self.flush()
            except (RedisError, ConnectionError, OSError) as e:  # Redis away: the next one will do
                log.warning("channel %s: checkpoint not written (%s)", self.channel, e)
                self._dirty.set()
            await asyncio.sleep(WRITE_EVERY)
