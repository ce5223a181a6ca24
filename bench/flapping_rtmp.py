"""Endurance: a flapping RTMP server.  A channel pushes to a real nginx-rtmp that is killed and restarted KILLS
times (up and down for random, bounded times) and frozen with SIGSTOP FREEZES times.  Reports, for every outage,
how long after the server was back the push was live again (the relay acknowledging media), and checks:

  - recovery within 2 s of the server's return, every time (the distribution is printed);
  - no sentence lost: every script sentence that was cut is spoken again later;
  - no process or file descriptor leaked: the channel's children and open fds at the end, against the start.

Ratio: the median recovery time over the baseline, a connect to a server that was never down (the first go-live
of the same run).

    .venv/bin/python bench/flapping_rtmp.py [--kills 100] [--freezes 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from livehost.app.config import build_config  # noqa: E402
from livehost.app.session import ChannelSession  # noqa: E402
from livehost.core import keys  # noqa: E402
from livehost.core.states import OutputState  # noqa: E402
from livehost.core.store import Store  # noqa: E402
from tests.integration.rtmp_server import RtmpServer  # noqa: E402


async def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--freezes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-up", type=float, default=6.0, help="longest time up between outages, s")
    ap.add_argument("--max-down", type=float, default=4.0, help="longest outage, s")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="flap-"))
    os.environ["LIVEHOST_HOME"] = str(work / "home")
    server = RtmpServer(work / "nginx")
    server.start()
    store = Store(None, work / "home")
    config = build_config({"id": "flap", "size": "160x288", "voice": {"engine": "espeak"}, "disclose": False,
                           "output": {"url": server.url("flap")}})
    session = ChannelSession(config, store)
    live_at: list[float] = []
    session.output.add_listener(lambda state, _r: live_at.append(time.monotonic()) if state is OutputState.LIVE else None)
    me = psutil.Process()
    run = asyncio.create_task(session.run(duration=None))
    t0 = time.monotonic()
    assert await _until(lambda: live_at, 30), "never went live"
    baseline = live_at[0] - t0
    await asyncio.sleep(3)
    fds0, kids0 = me.num_fds(), len(me.children(recursive=True))
    recoveries: list[tuple[str, float]] = []
    failures: list[str] = []
    plan = ["kill"] * args.kills + ["freeze"] * args.freezes
    rng.shuffle(plan)
    for n, what in enumerate(plan, 1):
        await asyncio.sleep(rng.uniform(1.0, args.max_up))
        down = rng.uniform(0.2, args.max_down)
        seen = len(live_at)
        if what == "kill":
            server.kill()
            await asyncio.sleep(down)
            server.start()
        else:
            server.freeze()
            await asyncio.sleep(down)
            server.thaw()
        back = time.monotonic()
        # live again: a LIVE transition after the server returned (a freeze shorter than the watchdog may never
        # take the link down: then it was live throughout)
        went_down = session.output.state is not OutputState.LIVE or len(live_at) > seen
        ok = await _until(lambda seen=seen, back=back, went_down=went_down: (
            len(live_at) > seen and live_at[-1] >= back - 0.001)
            or (not went_down and session.output.state is OutputState.LIVE), 30)
        took = (live_at[-1] - back) if len(live_at) > seen and live_at[-1] >= back else 0.0
        recoveries.append((what, took if ok else float("inf")))
        if not ok or took > 2.0:
            failures.append(f"#{n} {what} for {down:.1f} s: live again after {took:.2f} s" if ok else f"#{n} {what}: never back")
        print(f"#{n:3d} {what:6s} down {down:4.1f} s -> live again {took:5.2f} s after it returned", flush=True)
    await asyncio.sleep(8)  # what was cut is said again
    session.request_stop()
    await asyncio.wait_for(run, 60)
    await asyncio.sleep(1)
    fds1, kids1 = me.num_fds(), len(me.children(recursive=True))
    rows = [f for _s, f in store.sync().xrange(keys.audit("flap"))]
    # a sentence cut by an outage is said again; the one cut by the final stop ends the run
    cut = {f[b"text"] for f in rows if f[b"source"] == b"script" and f[b"cut"] == b"true" and f[b"reason"] != b"stopped"}
    spoken = {f[b"text"] for f in rows if f[b"source"] == b"script" and f[b"cut"] == b"false"}
    lost = cut - spoken
    store.close()
    server.stop()

    times = sorted(t for _w, t in recoveries if t != float("inf"))
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else times * 19
    print()
    print(f"outages: {args.kills} kills + {args.freezes} freezes; recovery after the server returned (s): "
          f"min {times[0]:.2f}, median {statistics.median(times):.2f}, p95 {q[18]:.2f}, max {times[-1]:.2f}")
    for what in ("kill", "freeze"):
        t = [x for w, x in recoveries if w == what]
        if t:
            print(f"  {what}: median {statistics.median(t):.2f} s, max {max(t):.2f} s over {len(t)}")
    print(f"baseline (first connect of the run): {baseline:.2f} s; median recovery / baseline = "
          f"{statistics.median(times) / baseline:.2f}")
    print(f"sentences cut {len(cut)}, of them never said again: {len(lost)}")
    print(f"file descriptors {fds0} -> {fds1}; child processes {kids0} -> {kids1}")
    if lost:
        failures.append(f"{len(lost)} cut sentences never said again")
    if fds1 > fds0 + 2 or kids1 > kids0:
        failures.append(f"leak: fds {fds0} -> {fds1}, children {kids0} -> {kids1}")
    print("FAILURES:\n  " + "\n  ".join(failures) if failures else "all outages recovered within 2 s; nothing lost or leaked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
