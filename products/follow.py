"""A channel's catalog from the store, and following its new versions as they are imported.

A channel sells from its own imported catalog when it has one, else from
the shared one; once it has its own, a new shared version does not replace
it.  :class:`CatalogFollower` listens for new versions (Redis pub/sub) and
hands each one to the channel, which sells from it from the next sentence.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from livehost.core.store import Store
from products.model import Catalog
from products.store import CatalogStore

log = logging.getLogger(__name__)

SHARED = "shared"


class NothingImported(Exception):
    pass


def scopes_for(channel: str) -> list[str]:
    """Where a channel's catalog may come from, its own first."""
    return [channel] if channel == SHARED else [channel, SHARED]


def load_for_channel(store: Store, channel: str) -> tuple[str, Catalog]:
    """(scope, catalog): the channel's own imported catalog, else the shared one; NothingImported naming both."""
    for scope in scopes_for(channel):
        catalog = CatalogStore(store.sync(), scope).load()
        if catalog is not None:
            return scope, catalog
    raise NothingImported(f"catalog = 'store': nothing imported for channel {channel!r} or shared "
                          f"(livehost catalog import SOURCE --channel {channel})")


class CatalogFollower:
    """Calls ``on_version(scope, catalog)`` for each new version of the channel's catalog, until cancelled.

    ``current`` says which version the channel sells now (it may also change it by other means).
    """

    def __init__(self, store: Store, channel: str, scope: str, current: Callable[[], str],
                 on_version: Callable[[str, Catalog], None]) -> None:
        self.store = store
        self.channel = channel
        self.scope = scope  # where the catalog being sold comes from
        self.current = current
        self.on_version = on_version

    async def run(self) -> None:
        client = self.store.aio()
        pubsub = client.pubsub()
        await pubsub.subscribe(*(CatalogStore(self.store.sync(), s).changes_channel for s in scopes_for(self.channel)))
        try:
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                scope = json.loads(message["data"])["scope"]
                if scope != self.channel and self.scope == self.channel:
                    continue  # the channel's own catalog wins over the shared one
                catalog = await asyncio.to_thread(CatalogStore(self.store.sync(), scope).load)
                if catalog is not None and catalog.version != self.current():
                    self.scope = scope
                    self.on_version(scope, catalog)
        finally:
            await pubsub.aclose()
            await client.aclose()
