"""Benchmark: one channel on air hearing a busy room through a chat connector.

A channel (the bundled catalog, the drawn host at 360x640, espeak-ng, realtime output to a file) hears a
signed webhook relay that posts, every 100 ms, a batch of comments (default 20: shopping questions, chit-chat,
greetings and junk from 5,000 viewers) and likes (default 200).  Measured:

- comment received (by the connector) -> reply approved and queued: p50 / p95 (target p95 <= 50 ms with
  the template host), and received -> the reply's first audio sample on air: p50 / p95 / max (this depends on
  the sentence that was on air and the replies before it);
- what triage did with every comment (answered, greeted, ignored, dropped, expired and why), and whether any
  question of the priority lane (price, stock, how to buy, are you human) was lost while a less valuable
  comment was answered;
- memory (RSS) each minute: the slope under load against the same channel's first quiet 30 s (ratio), and the
  size of every bounded memory at the end;
- CPU: the channel's frames per second and dropped frames, to show the load did not slow the show.

    .venv/bin/python bench/chat_load.py [--seconds 600] [--comments 200] [--likes 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from livehost.app.config import build_config  # noqa: E402
from livehost.app.session import ChannelSession  # noqa: E402
from livehost.core.settings import Settings  # noqa: E402
from livehost.core.store import Store  # noqa: E402
from streaming.chat.relay import sign  # noqa: E402

QUESTIONS = ["这个多少钱", "还有货吗", "怎么买", "链接在哪", "发什么快递", "能退货吗", "容量多大", "什么材质的",
             "How much is it?", "is it in stock", "主播是真人吗", "保温多久"]
CHATTER = ["哈哈哈", "666", "主播好", "来了来了", "好看", "nice", "lol", "加油", "路过", "这个颜色好看"]
GREETINGS = ["大家好", "hello", "晚上好"]
PRIORITY = {"price", "stock", "how_to_buy", "are_you_human"}


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="livehost-bench-"))
    settings = dataclasses.replace(Settings(home=home), environ={"RELAY_SECRET": "bench"})
    store = Store(None, home)
    config = build_config({"id": "load", "size": "360x640", "voice": {"engine": "espeak"},
                           "chat": [{"platform": "webhook", "secret_env": "RELAY_SECRET", "listen": f"127.0.0.1:{port}"}],
                           "output": {"url": str(home / "out.flv"), "realtime": True}})
    session = ChannelSession(config, store, settings=settings)
    took: list[float] = []  # the responder's own time per answer: comment taken from triage -> approved text
    answer = session.comments.responder.answer

    async def timed(*a, **kw):
        started = time.perf_counter()
        try:
            return await answer(*a, **kw)
        finally:
            took.append(time.perf_counter() - started)

    session.comments.responder.answer = timed  # type: ignore[method-assign]
    duration = args.quiet + args.seconds
    run = asyncio.create_task(session.run(duration=duration + 5))
    url = f"http://127.0.0.1:{port}/chat/webhook"
    sent_at: dict[str, float] = {}  # comment id -> wall time posted
    memory: list[tuple[float, float]] = []
    n = 0
    try:
        async with asyncio.timeout(60):
            while session.chat is None or session.chat.connectors[0].state.value != "live" or session.started_wall is None:
                await asyncio.sleep(0.1)
        t0 = time.monotonic()
        print(f"on air; {args.quiet:.0f} s quiet, then {args.comments} comments/s and {args.likes} likes/s "
              f"for {args.seconds:.0f} s", file=sys.stderr)
        async with aiohttp.ClientSession() as http:
            next_sample = t0
            while (elapsed := time.monotonic() - t0) < duration:
                if time.monotonic() >= next_sample:
                    memory.append((elapsed, rss_mib()))
                    next_sample += 10.0
                    if len(memory) % 6 == 1:
                        print(f"  {elapsed:5.0f} s  rss {memory[-1][1]:.0f} MiB  fps {session.stats().fps:.1f}",
                              file=sys.stderr)
                if elapsed >= args.quiet:
                    batch = []
                    for _ in range(args.comments // 10):
                        n += 1
                        pick = rng.random()
                        text = (rng.choice(QUESTIONS) if pick < 0.3 else rng.choice(GREETINGS) if pick < 0.4
                                else rng.choice(CHATTER) + ("" if rng.random() < 0.5 else str(rng.randrange(100))))
                        batch.append({"id": f"c{n}", "kind": "comment", "user": f"viewer{rng.randrange(5000)}", "text": text})
                        sent_at[f"c{n}"] = time.time()
                    for _ in range(max(1, args.likes // 10 // 20)):
                        n += 1
                        batch.append({"id": f"l{n}", "kind": "like", "user": f"viewer{rng.randrange(5000)}", "count": 20})
                    body = json.dumps(batch).encode()
                    async with http.post(url, data=body, headers={"X-Livehost-Signature": sign(body, "bench")}) as r:
                        if r.status != 200:
                            print(f"  relay answered {r.status}", file=sys.stderr)
                await asyncio.sleep(0.1)
        stats = session.stats()
        session.request_stop()
        await run
    finally:
        if not run.done():
            run.cancel()
    desk = session.comments
    triage = desk.triage.stats()
    replies = sorted(desk.reply_seconds)
    recent = list(desk.recent)
    # received -> on air: the reply's first sample, from the spoken transcript
    from livehost.core.audit import read_audit

    on_air = []
    for e in read_audit(store.sync(), "load"):
        if e.source == "reply" and e.source_id and e.source_id.startswith("webhook:c") and not e.cut:
            cid = e.source_id.removeprefix("webhook:")
            if cid in sent_at:  # the entry's wall time is when the sentence ended: its start is that less its length
                on_air.append(e.wall_time - (e.pts_end - e.pts_start) / 48000 - sent_at[cid])
    store.close()

    def q(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")

    quiet = [m for t, m in memory if t < args.quiet]
    loaded = [(t, m) for t, m in memory if t >= args.quiet + 30]
    slope = (statistics.linear_regression([t for t, _ in loaded], [m for _, m in loaded]).slope * 60
             if len(loaded) >= 3 else float("nan"))
    quiet_slope = ((quiet[-1] - quiet[0]) / max(1e-9, (len(quiet) - 1) * 10) * 60) if len(quiet) >= 2 else float("nan")
    print(f"comments posted {sum(1 for k in sent_at)}; likes {session.chat.totals().get('like', 0) * 20 if session.chat else 0}")
    took.sort()
    print(f"reply written and approved (the responder, per answer): p50 {q(took, 0.5) * 1000:.1f} ms, "
          f"p95 {q(took, 0.95) * 1000:.1f} ms ({len(took)} answers)")
    print(f"received -> reply approved and queued (includes waiting for the host to be free): p50 "
          f"{q(replies, 0.5):.1f} s, p95 {q(replies, 0.95):.1f} s ({len(replies)} replies)")
    on_air.sort()
    print(f"received -> reply on air: p50 {q(on_air, 0.5):.1f} s, p95 {q(on_air, 0.95):.1f} s, max {max(on_air or [0]):.1f} s "
          f"({len(on_air)} spoken)")
    print(f"triage: {json.dumps({k: v for k, v in triage.items() if k != 'by_intent'})}")
    reasons: dict[str, int] = {}
    for c in recent:
        reasons[f"{c['action']}: {c['reason']}"[:80]] = reasons.get(f"{c['action']}: {c['reason']}"[:80], 0) + 1
    print("last 200 decisions: " + "; ".join(f"{k} x{v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])[:6]))
    lost = [c for c in recent if c["intent"] in PRIORITY and c["action"] == "ignore" and "queue full" in c["reason"]]
    print(f"priority-lane questions dropped for a fuller queue (last 200): {len(lost)}")
    print(f"memory: {memory[0][1]:.0f} MiB at start, {memory[-1][1]:.0f} MiB at the end; slope under load "
          f"{slope:+.2f} MiB/min vs quiet {quiet_slope:+.2f} MiB/min")
    print(f"bounded memories at the end: triage {desk.triage.memory()}, chat dedupe {len(session.chat.connectors[0].dedupe)}"
          if session.chat else "")
    print(f"output: {stats.fps:.1f} fps, {stats.frames_dropped} frames dropped, {stats.render_dropped} late renders")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=600.0, help="seconds under load (default 600)")
    p.add_argument("--quiet", type=float, default=30.0, help="quiet seconds first, the baseline (default 30)")
    p.add_argument("--comments", type=int, default=200, help="comments per second (default 200)")
    p.add_argument("--likes", type=int, default=2000, help="likes per second (default 2000)")
    asyncio.run(main(p.parse_args()))
