"""One channel, one place, with real parts: two sessions of one channel on one Redis, pushing to one nginx-rtmp
stream key.  The second does not start while the first holds the lease; when the lease passes to another holder
(the first was frozen past its TTL, say), the first pushes nothing more and stops; at no moment does nginx see
two publishers on the key."""

import asyncio
import json
import time

import pytest

from livehost.app.config import build_config
from livehost.app.session import ChannelSession
from livehost.core import keys
from livehost.core.lease import ChannelLease, LeaseHeld, LeaseLost
from tests.env import store_from_env

pytestmark = pytest.mark.integration


async def _until(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_a_channel_pushes_from_one_place_only(rtmp_server, livehost_home):
    store = store_from_env()
    settings = {"id": "one", "size": "160x288", "voice": {"engine": "espeak"}, "lease": {"ttl_seconds": 3},
                "output": {"url": rtmp_server.url("one")}}
    first = ChannelSession(build_config(settings), store)
    run = asyncio.create_task(first.run(duration=None))
    most = 0

    async def watch():
        nonlocal most
        while True:
            most = max(most, await asyncio.to_thread(rtmp_server.publishers, "one"))
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch())
    client = store.aio()
    try:
        await _until(lambda: rtmp_server.publishers("one") == 1 and first.encode.frames_sent > 50, "the first on air")
        token = first.lease.token
        # a second process of the same channel (another box, a restarted serve): refused, naming the holder
        second = ChannelSession(build_config(settings), store)
        with pytest.raises(LeaseHeld, match=rf"channel one is on air elsewhere: .* \(fencing token {token}"):
            await second.run(duration=5)
        assert second.encode.frames_sent == 0 and not run.done()

        # the lease passes to another holder (the first froze past its TTL and a node took over)
        await client.delete(keys.lease("one"))
        other = ChannelLease(client, "one", ttl=30, holder="node-2")
        assert await other.acquire() > token
        with pytest.raises(LeaseLost, match=r"node-2 holds it now"):
            await asyncio.wait_for(run, 15)  # the first finds out at its next renewal and stops
        assert "node-2 holds it now" in first.last_error
        await _until(lambda: rtmp_server.publishers("one") == 0, "the first's publisher gone")
        assert (await other.info()).holder == "node-2"  # stopping did not release someone else's lease
        await other.release()
    finally:
        watcher.cancel()
        if not run.done():
            first.request_stop()
            await asyncio.wait([run], timeout=30)
        await client.aclose()
        store.close()
    assert most == 1  # never two publishers on the stream key


async def test_another_run_of_the_channel_goes_on_after_the_last_sentence_spoken(tmp_path, livehost_home):
    store = store_from_env()
    settings = {"id": "resume", "size": "160x288", "voice": {"engine": "espeak"}, "sentences_per_product": 500,
                "disclose": False, "output": {"url": str(tmp_path / "a.flv"), "realtime": False}}
    first = ChannelSession(build_config(settings), store)
    await first.run(duration=40)
    r = store.sync()
    said = [f for _s, f in r.xrange(keys.audit("resume"))]
    script = [(f[b"source_id"].decode(), f[b"text"].decode()) for f in said
              if f[b"source"] == b"script" and f[b"cut"] == b"false"]
    assert len(script) >= 3, script
    last_item = script[-1][0]
    saved = json.loads(r.get(keys.checkpoint("resume")))
    assert saved["item"] == last_item  # written up to the last sentence that went on air
    sku, cycle, index = last_item.rsplit(":", 2)

    settings["output"] = {"url": str(tmp_path / "b.flv"), "realtime": False}
    second = ChannelSession(build_config(settings), store)  # another process, or another node
    await second.run(duration=15)
    again = [(f[b"source_id"].decode(), f[b"text"].decode()) for f in
             (f for _s, f in r.xrange(keys.audit("resume")))
             if f[b"source"] == b"script"][len([f for f in said if f[b"source"] == b"script"]):]
    assert again, "the second run said nothing"
    assert again[0][0] == f"{sku}:{cycle}:{int(index) + 1}"  # the very next sentence
    first_texts = {text for _item, text in script}
    assert not first_texts & {text for _item, text in again}  # nothing said twice
    events = [json.loads(f[b"body"]) for _s, f in r.xrange(keys.chain("resume")) if f[b"kind"] == b"resume"]
    assert events and events[-1]["event"] == "resumed" and last_item in events[-1]["where"]
    store.close()
