"""Capacity of one node: how many channels one host process keeps on air at full frame rate.

A cluster host (livehost.app.cluster.NodeHost) runs many channels in one process.  This runs N channels in one
process the same way (paced to the wall clock, each to its own file, one embedded Redis), for N = 1, 2, 4, 6, ...
and after a warm-up measures every channel over WINDOW seconds: frames per second, and how far its encoder fell
behind the wall clock.  A step holds when every channel kept at least 98% of its frame rate and none fell more than
half a second behind.  Reports the largest N that held, CPU seconds per second of stream at each step, and the
ratio of that cost to the one-channel step (the baseline measured in the same run).

    .venv/bin/python bench/node_capacity.py [--size 720x1280] [--fps 25] [--avatar PACK] [--window 20] [--max 24]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from livehost.app.config import build_config  # noqa: E402
from livehost.app.session import ChannelSession  # noqa: E402
from livehost.core.settings import Settings  # noqa: E402
from livehost.core.store import Store  # noqa: E402

WARMUP = 8.0


def _steps(most: int) -> list[int]:
    n, found = 1, []
    while n <= most:
        found.append(n)
        n = 2 if n == 1 else n + 2
    return found


async def step(n: int, args: argparse.Namespace, store: Store, work: Path) -> tuple[bool, float, float, float]:
    """Run ``n`` channels; (held, slowest fps, most behind in s, CPU s per stream second)."""
    settings = Settings.from_env(os.environ)
    sessions = []
    for i in range(n):
        conf = {"id": f"cap{i}", "size": args.size, "fps": args.fps, "voice": {"engine": "espeak"},
                "seed": i, "output": {"url": str(work / f"cap{i}.flv"), "realtime": True}}
        if args.avatar:
            conf["avatar"] = args.avatar
        sessions.append(ChannelSession(build_config(conf), store, settings=settings))
    runs = [asyncio.create_task(s.run(), name=f"cap{i}") for i, s in enumerate(sessions)]
    try:
        await asyncio.sleep(WARMUP)
        f0 = [s.encode.frames_sent for s in sessions]
        c0, t0 = os.times(), time.monotonic()
        behind = 0.0
        while time.monotonic() - t0 < args.window:
            await asyncio.sleep(0.25)
            behind = max([behind, *(s.encode.behind_s for s in sessions)])
            for r in runs:
                if r.done():
                    raise RuntimeError(f"a channel ended: {r.exception()!r}")
        c1, t1 = os.times(), time.monotonic()
        fps = [(s.encode.frames_sent - a) / (t1 - t0) for s, a in zip(sessions, f0)]
    finally:
        for s in sessions:
            s.request_stop()
        await asyncio.wait(runs, timeout=60)
    cpu = (c1.user + c1.system + c1.children_user + c1.children_system
           - c0.user - c0.system - c0.children_user - c0.children_system)
    held = min(fps) >= 0.98 * args.fps and behind <= 0.5
    return held, min(fps), behind, cpu / (n * (t1 - t0))


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="node-capacity-"))
    os.environ["LIVEHOST_HOME"] = str(work / "home")
    store = Store(None, work / "home")
    cores = len(os.sched_getaffinity(0))
    print(f"{args.size}@{args.fps}, {'photoreal ' + args.avatar if args.avatar else 'the drawn host'}, "
          f"{cores} cores; {WARMUP:.0f} s warm-up, {args.window:.0f} s measured per step", flush=True)
    best, base = 0, None
    try:
        for n in _steps(args.max):
            held, slowest, behind, cpu = await step(n, args, store, work)
            base = base or cpu
            print(f"  {n:3d} channels: slowest {slowest:5.2f} fps, most behind {behind:5.2f} s, "
                  f"{cpu:.3f} CPU s per stream second (x{cpu / base:.2f} the one-channel cost)  "
                  f"{'held' if held else 'NOT held'}", flush=True)
            if not held:
                break
            best = n
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"one process on this node ({cores} cores) keeps {best} channels at {args.fps} fps "
          f"({best / cores:.1f} per core)")
    return 0 if best else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="720x1280")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--avatar", help="a photoreal avatar pack (default: the drawn host)")
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--max", type=int, default=24)
    sys.exit(asyncio.run(main(ap.parse_args())))
