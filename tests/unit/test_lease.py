"""Channel leases on a real (embedded) Redis: one holder at a time, growing fencing tokens, a frozen holder
fenced before anyone else can start, a Redis restart and a Redis outage."""

from __future__ import annotations

import asyncio

import pytest

from livehost.core import keys
from livehost.core.lease import ChannelLease, LeaseHeld
from livehost.core.store import Store


class Clock:
    """A monotonic clock the test moves (a process frozen for a while)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(livehost_home):
    s = Store(None, livehost_home)
    yield s
    s.close()


async def test_one_holder_at_a_time_with_growing_fencing_tokens(store):
    client = store.aio()
    a = ChannelLease(client, "c1", ttl=5, holder="box-a")
    b = ChannelLease(client, "c1", ttl=5, holder="box-b")
    first = await a.acquire()
    assert a.valid() and not b.valid()
    with pytest.raises(LeaseHeld, match=r"channel c1 is on air elsewhere: box-a holds its lease \(fencing token \d+"):
        await b.acquire()
    assert (await b.info()).holder == "box-a"
    await a.release()
    assert not a.valid() and await a.info() is None
    second = await b.acquire()
    assert second > first and b.valid()
    await b.release()
    await client.aclose()


async def test_a_frozen_holder_stops_pushing_before_another_can_start(store):
    client = store.aio()
    clock = Clock()
    lost: list[str] = []
    a = ChannelLease(client, "c2", ttl=2, holder="box-a", keep_on_outage=False, clock=clock, on_lost=lost.append)
    token_a = await a.acquire()
    clock.t += 1.7  # frozen 1.7 s of a 2 s lease: its own clock says stop (a 20% margin) before Redis frees it
    assert not a.valid()
    await asyncio.sleep(2.2)  # Redis lets the lease expire
    b = ChannelLease(client, "c2", ttl=2, holder="box-b")
    token_b = await b.acquire()
    assert token_b > token_a
    assert not await a.renew() and not a.valid()  # back from the freeze: the lease is b's, a pushes nothing more
    assert "box-b holds it now" in lost[0] and f"ours was {token_a}" in lost[0]
    await b.release()
    await client.aclose()


async def test_renewals_keep_the_lease_and_a_redis_without_its_data_is_taken_again(store):
    client = store.aio()
    a = ChannelLease(client, "c3", ttl=1.5, holder="box-a")
    token = await a.acquire()
    task = asyncio.create_task(a.run())
    await asyncio.sleep(3.0)  # two TTLs: only renewals keep it
    assert a.valid() and a.renewals >= 4 and (await a.info()).token == token
    await client.delete(keys.lease("c3"))  # Redis restarted without its data
    await asyncio.sleep(1.0)
    assert a.valid() and a.lost is None
    assert (await a.info()).token > token  # a new token: the counter moved on
    task.cancel()
    await a.release()
    await client.aclose()


async def test_a_redis_outage_keeps_a_one_box_channel_on_air_and_fences_a_cluster_one(store):
    class Down:
        async def eval(self, *args):
            raise ConnectionError("Redis is down")

    client = store.aio()
    clock = Clock()
    one_box = ChannelLease(client, "c4", ttl=2, holder="box-a", clock=clock)
    cluster = ChannelLease(client, "c5", ttl=2, holder="node-1", keep_on_outage=False, clock=clock)
    await one_box.acquire()
    await cluster.acquire()
    one_box.client = cluster.client = Down()
    assert await one_box.renew() and await cluster.renew()  # an outage is not a loss
    clock.t += 10
    assert one_box.valid()  # nobody can take it while Redis is down
    assert not cluster.valid()  # another node may reach Redis: stop pushing when the lease runs out
    one_box.client = cluster.client = client
    assert await one_box.renew() and one_box.outage_since is None and one_box.valid()
    await one_box.release()
    await cluster.release()
    await client.aclose()


def test_a_lease_needs_a_sane_ttl():
    with pytest.raises(ValueError, match="lease ttl 0.1"):
        ChannelLease(None, "c", ttl=0.1)


async def test_a_redis_that_hangs_counts_as_unreachable(store):
    class Hangs:
        async def eval(self, *args):
            await asyncio.sleep(3600)

    client = store.aio()
    clock = Clock()
    lease = ChannelLease(client, "c6", ttl=1.5, holder="box-a", clock=clock)
    await lease.acquire()
    lease.client = Hangs()
    assert await lease.renew() and lease.outage_since is not None  # answered within the TTL: an outage, not a loss
    clock.t += 60
    assert lease.valid()  # one box: kept while Redis does not answer
    lease.client = client
    await lease.release()
    await client.aclose()
