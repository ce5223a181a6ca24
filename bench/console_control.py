"""How fast the console reaches a channel: takeover round trip and fleet reads.

Runs a real channel (160x288, espeak, paced to the wall clock, to a file), the
console on a free port and an API token, then measures:

* ``POST /api/channels/demo/takeover`` + ``release``: from the request to the
  answer, which comes after the channel silenced the host (the issue asks
  for within one second);
* ``GET /api/channels`` with the channel plus ``--extra`` published fake
  channel states (an MCN's wall screen);
* the baseline: a bare Redis XADD + blocking XREAD round trip on the same
  store, in the same run (``ratio`` = console / baseline).

    .venv/bin/python bench/console_control.py [--rounds 30] [--extra 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))



def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(rounds: int, extra: int) -> None:
    import aiohttp

    from bench._console import console_with_channel
    from livehost.core import keys

    async with console_with_channel("livehost-bench-") as rig:
        runner, store, url = rig.runner, rig.store, rig.url
        sync = store.sync()
        for i in range(extra):  # other channels' published states, as a fleet page reads them
            sync.hset(keys.state(f"fake-{i}"), mapping={"id": f"fake-{i}", "tenant": "default", "state": "live",
                                                       "fps": "25", "kbps": "2500", "next": "[]"})
            sync.expire(keys.state(f"fake-{i}"), 600)
            sync.zadd(keys.CHANNELS, {f"fake-{i}": time.time()})
            sync.hset(keys.TENANTS, f"fake-{i}", "default")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {rig.token}"}) as http:
            for _ in range(300):
                async with http.get(url + "api/channels/demo") as r:
                    if r.status == 200 and (await r.json())["state"] == "live":
                        break
                await asyncio.sleep(0.1)
            takeover, listing = [], []
            for _ in range(rounds):
                t0 = time.perf_counter()
                async with http.post(url + "api/channels/demo/takeover", json={}) as r:
                    assert r.status == 200, await r.text()
                takeover.append(time.perf_counter() - t0)
                assert runner.session.takeover_card is not None
                async with http.post(url + "api/channels/demo/release", json={}) as r:
                    assert r.status == 200
                t0 = time.perf_counter()
                async with http.get(url + "api/channels") as r:
                    n = len((await r.json())["channels"])
                listing.append(time.perf_counter() - t0)
                await asyncio.sleep(0.2)
        client = store.aio()
        base = []
        last = "0-0"
        for i in range(rounds):
            t0 = time.perf_counter()
            await client.xadd("bench:ping", {"i": i})
            got = await client.xread({"bench:ping": last}, block=1000, count=1)
            last = got[0][1][-1][0]
            base.append(time.perf_counter() - t0)
        await client.aclose()
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
    print(f"takeover via the console API ({rounds} rounds): p50 {ms(statistics.median(takeover))}, "
          f"p95 {ms(pct(takeover, 0.95))}, max {ms(max(takeover))}  (target: host silent within 1 s)")
    print(f"GET /api/channels with {n} channels: p50 {ms(statistics.median(listing))}, p95 {ms(pct(listing, 0.95))}")
    print(f"baseline Redis XADD + XREAD round trip: p50 {ms(statistics.median(base))}")
    print(f"ratio takeover p50 / baseline p50: {statistics.median(takeover) / statistics.median(base):.1f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--extra", type=int, default=50, help="fake published channels for the fleet read")
    args = ap.parse_args()
    asyncio.run(main(args.rounds, args.extra))
