"""One channel, one place: a lease in Redis with a time to live and a fencing token.

Before a channel pushes a single packet it takes its lease, ``livehost:lease:<channel>``. The lease is a
hash holding the holder (host, process, a random part), a fencing token and the time it was taken. The
token comes from ``INCR`` on ``livehost:lease:<channel>:token``, so every new holder gets a larger number
than any before it. The holder renews the lease every third of its TTL. Each renewal checks, in one Lua
script, that the lease still names this holder and this token. A holder that finds another name or token
has lost the channel and stops.

Every push is checked against the lease: :meth:`ChannelLease.valid` is true only until the time the last
successful renewal was *sent*, plus the TTL, less a margin. Redis can let another holder in only after the
key has expired, which is at least a TTL after it received that renewal. So a holder that was frozen
(SIGSTOP, a long GC pause, a VM migration) or cut off from Redis stops pushing by itself before anyone else
can start: two hosts never push the same stream key.

Redis unreachable: with ``keep_on_outage`` (the default on one box, where Redis is local and nobody else
can take the lease while it is down) the holder keeps pushing until Redis answers again, then renews. Without
it (a cluster, where only this node may have lost Redis) the lease runs out and the channel stops pushing.
A Redis restarted without its data has no lease: the holder takes a new one (a new token) when it can.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from livehost.core import keys

log = logging.getLogger(__name__)

# KEYS: lease, token counter.  ARGV: holder, ttl ms, taken-at (unix seconds)
_ACQUIRE = """
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder then
  return {0, holder, redis.call('HGET', KEYS[1], 'token') or '0', redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token, 'since', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, ARGV[1], tostring(token), tonumber(ARGV[2])}
"""
# KEYS: lease.  ARGV: holder, token, ttl ms.  1 renewed, 0 someone else holds it, -1 nobody does (it expired)
_RENEW = """
local holder = redis.call('HGET', KEYS[1], 'holder')
if not holder then return -1 end
if holder ~= ARGV[1] or redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
_RELEASE = """
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
RENEW_TIMEOUT = 2.0  # seconds a renewal may take before Redis counts as unreachable


class LeaseHeld(RuntimeError):
    """Another holder has the channel's lease."""

    def __init__(self, channel: str, holder: str, token: int, ttl_left: float) -> None:
        super().__init__(f"channel {channel} is on air elsewhere: {holder} holds its lease (fencing token {token}, "
                         f"{max(ttl_left, 0):.1f} s left unless renewed)")
        self.channel, self.holder, self.token, self.ttl_left = channel, holder, token, ttl_left


class LeaseLost(RuntimeError):
    """The holder no longer has the lease: it must push nothing more."""


@dataclass(frozen=True)
class LeaseInfo:
    holder: str
    token: int
    ttl_left: float  # seconds


def default_holder() -> str:
    """This process, recognisably: host, pid and a random part (a restarted process is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ChannelLease:
    """The lease of one channel for one holder.  ``client``: an asyncio Redis client."""

    def __init__(self, client: Any, channel: str, *, ttl: float = 15.0, holder: str | None = None,
                 keep_on_outage: bool = True, margin: float | None = None,
                 on_lost: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 1:
            raise ValueError(f"lease ttl {ttl!r}: at least 1 second")
        self.client, self.channel = client, channel
        self.ttl = float(ttl)
        self.holder = holder or default_holder()
        self.keep_on_outage = keep_on_outage
        self.margin = self.ttl * 0.2 if margin is None else margin  # clock-rate differences and scheduling delays
        self.on_lost = on_lost
        self.clock = clock
        self.token: int | None = None
        self.lost: str | None = None
        self.outage_since: float | None = None  # monotonic, while Redis does not answer
        self.renewals = 0
        self._valid_until = 0.0

    @property
    def key(self) -> str:
        return keys.lease(self.channel)

    # -- the fence ----------------------------------------------------------------------------------
    def valid(self) -> bool:
        """Whether this holder may push now (cheap: no Redis round trip; called before every push)."""
        if self.token is None or self.lost is not None:
            return False
        if self.outage_since is not None and self.keep_on_outage:
            return True
        return self.clock() < self._valid_until

    # -- Redis ----------------------------------------------------------------------------------------
    async def acquire(self) -> int:
        """Take the lease (its fencing token), or raise :class:`LeaseHeld` naming who has it."""
        sent = self.clock()
        ok, holder, token, pttl = await self.client.eval(_ACQUIRE, 2, self.key, keys.lease_token(self.channel),
                                                         self.holder, int(self.ttl * 1000), f"{time.time():.3f}")
        holder = holder.decode() if isinstance(holder, bytes) else str(holder)
        token = int(token.decode() if isinstance(token, bytes) else token)
        if not ok:
            raise LeaseHeld(self.channel, holder, token, int(pttl) / 1000)
        self.token, self.lost, self.outage_since = token, None, None
        self._valid_until = sent + self.ttl - self.margin
        log.info("channel %s: lease taken by %s (fencing token %d, ttl %.0f s)", self.channel, self.holder, token, self.ttl)
        return token

    async def renew(self) -> bool:
        """Renew once; False (and :attr:`lost` set, ``on_lost`` called) when the lease is someone else's now."""
        if self.token is None or self.lost is not None:
            return False
        sent = self.clock()
        try:
            # a Redis that hangs (frozen, a half-open link) is as unreachable as one that refuses: bounded wait
            result = int(await asyncio.wait_for(
                self.client.eval(_RENEW, 1, self.key, self.holder, str(self.token), int(self.ttl * 1000)),
                min(RENEW_TIMEOUT, self.ttl / 3)))
        except _OUTAGE as e:
            if self.outage_since is None:
                self.outage_since = sent
                log.warning("channel %s: Redis unreachable (%s); lease %s", self.channel, e,
                            "kept while it is down" if self.keep_on_outage else
                            f"runs out in {max(self._valid_until - sent, 0):.1f} s")
            return True
        if self.outage_since is not None:
            log.info("channel %s: Redis answers again after %.1f s", self.channel, sent - self.outage_since)
            self.outage_since = None
        if result == 1:
            self._valid_until = sent + self.ttl - self.margin
            self.renewals += 1
            return True
        if result == -1:  # nobody holds it (it ran out, or Redis restarted without its data): take it again if free
            try:
                await self.acquire()
                return True
            except LeaseHeld as e:
                return self._lose(str(e))
        info = await self.info()
        return self._lose(f"lease of channel {self.channel} lost: " + (
            f"{info.holder} holds it now (fencing token {info.token}; ours was {self.token})" if info
            else f"it expired (fencing token {self.token})"))

    def _lose(self, reason: str) -> bool:
        self.lost = reason
        log.error("channel %s: %s; pushing stops", self.channel, reason)
        if self.on_lost is not None:
            self.on_lost(reason)
        return False

    async def info(self) -> LeaseInfo | None:
        """Who holds the channel's lease now (None: nobody)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(self.key)
        pipe.pttl(self.key)
        fields, pttl = await pipe.execute()
        if not fields:
            return None
        f = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in fields.items()}
        return LeaseInfo(f.get("holder", ""), int(f.get("token", 0)), max(int(pttl), 0) / 1000)

    async def release(self) -> None:
        """Give the lease back (only if still ours), so another holder may start at once."""
        if self.token is None:
            return
        try:
            await self.client.eval(_RELEASE, 1, self.key, self.holder, str(self.token))
        except _OUTAGE as e:
            log.warning("channel %s: lease not released (%s); it runs out in %.0f s", self.channel, e, self.ttl)
        self.token = None

    async def run(self) -> None:
        """Renew every third of the TTL until the lease is lost (then return) or the task is cancelled."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            if not await self.renew():
                return


__all__ = ["ChannelLease", "LeaseHeld", "LeaseInfo", "LeaseLost", "default_holder"]
