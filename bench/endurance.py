"""Endurance: HOURS of media time through the real pipeline, on a virtual clock, as fast as the machine goes.

One channel (the bundled demo catalog, or --catalog) runs unpaced: the drawn host, espeak, the real x264 and AAC
encoders writing an FLV file, the embedded Redis keeping its audit trail, hash chain, checkpoints and lease.  The
channel's clock (sale windows, the run of show, the no-repeat window's air time) is virtual: it advances with the
media, so 24 hours of a channel's life pass in about an hour.  Viewers comment all along: a question, a greeting or
chatter every COMMENT_EVERY media seconds, each from a new viewer (the triage's per-viewer state must stay bounded).

Sampled every SAMPLE media seconds: resident memory, asyncio tasks, threads, open file descriptors, every queue's
depth (each stage's inbox, the speech queue, the audit backlog), and the A/V offset of what was muxed.  Checks:

  - resident memory grows less than 10% from the end of the first hour to the end;
  - tasks, threads and file descriptors are flat: never more after the first hour than the most seen in it, + 2;
  - every queue stays within its bound;
  - the A/V offset at the end equals the one at the first hour (one media clock: no drift), and the file's last
    seconds, decoded, end audio and video together;
  - no script sentence more than 4 times in any hour of media (the variety rules: a phrase waits 30 minutes of its
    product's air time; a product that has said everything repeats the least recent, and that is counted).

Writes a CSV of the samples and, with matplotlib installed, a PNG of the curves next to it.  The speed (media
seconds per wall second) is reported against a baseline measured in the same run: the first media hour.

    .venv/bin/python bench/endurance.py [--hours 24] [--size 144x256] [--fps 5] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
import numpy as np  # noqa: E402

from livehost.app.config import build_config  # noqa: E402
from livehost.app.session import ChannelSession  # noqa: E402
from livehost.core.frames import SentenceStarted, TickFrame  # noqa: E402
from livehost.core.settings import Settings  # noqa: E402
from livehost.core.store import Store  # noqa: E402

SAMPLE = 300.0  # media seconds between samples
COMMENT_EVERY = 20.0  # media seconds between viewer comments
HOUR = 3600.0
COMMENTS = ["多少钱", "有优惠吗", "主播好", "这个怎么用", "what is the price?", "hello everyone", "发货快吗",
            "is it in stock?", "哈哈哈", "can you show the colours?", "保质期多久", "适合送人吗"]


def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Heard:
    """Pipeline observer: counts the sentences that start on air, and for script sentences the most times one was
    said within an hour of media.  It keeps each text's starts within the last hour only, so what it measures
    with does not grow with the run."""

    def __init__(self, session: ChannelSession) -> None:
        self.clock = session.clock
        self.sources: Counter[str] = Counter()
        self.windows: dict[str, deque[float]] = defaultdict(deque)  # script text -> its starts in the last hour
        self.worst, self.worst_text = 0, ""

    def on_frame(self, stage: str, frame) -> None:
        if isinstance(frame, TickFrame) and stage == "playout":
            for ev in frame.events:
                if isinstance(ev, SentenceStarted):
                    speech = ev.handle.speech
                    self.sources[speech.source.value] += 1
                    if speech.source.value == "script":
                        self._said(self.clock.elapsed(ev.pts), speech.text)

    def _said(self, t: float, text: str) -> None:
        window = self.windows[text]
        window.append(t)
        while t - window[0] >= HOUR:
            window.popleft()
        if len(window) > self.worst:
            self.worst, self.worst_text = len(window), text


def _queues(session: ChannelSession) -> dict[str, tuple[int, int]]:
    """name -> (depth now, bound)"""
    found = {f"inbox:{st.name}": (st.inbox.qsize(), st.inbox.maxsize) for st in session.pipeline.stages}
    found["speech"] = (len(session.queue), sum(session.queue.limits.values()))
    pending = session.trail._pending  # noqa: SLF001 - the audit backlog's depth is what is measured
    found["audit"] = (pending.qsize(), pending.maxsize)
    return found


def _tail(path: Path, seconds: float) -> tuple[float, float]:
    """Where audio and video end in the file's last ``seconds`` (stream seconds)."""
    ends: dict[str, float] = {}
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        duration = max(float(s.duration * s.time_base) for s in c.streams if s.duration) if c.duration is None else \
            c.duration / av.time_base
        c.seek(int((duration - seconds) / v.time_base), stream=v, backward=True)
        for packet in c.demux():
            if packet.pts is not None and packet.duration is not None:
                end = float((packet.pts + packet.duration) * packet.time_base)
                ends[packet.stream.type] = max(ends.get(packet.stream.type, 0.0), end)
    return ends["audio"], ends["video"]


def _plot(rows: list[dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    h = [r["media_h"] for r in rows]
    fig, ax = plt.subplots(4, 1, figsize=(9, 11), sharex=True)
    ax[0].plot(h, [r["rss_mb"] for r in rows])
    ax[0].set_ylabel("RSS (MB)")
    for key in ("tasks", "threads", "fds"):
        ax[1].plot(h, [r[key] for r in rows], label=key)
    ax[1].legend()
    ax[1].set_ylabel("count")
    for key in [k for k in rows[0] if k.startswith(("inbox:", "speech", "audit"))]:
        ax[2].plot(h, [r[key] for r in rows], label=key)
    ax[2].legend(fontsize=7)
    ax[2].set_ylabel("queue depth (max in sample)")
    ax[3].plot(h, [r["av_offset_ms"] for r in rows], label="A/V offset (ms)")
    ax[3].plot(h, [r["speed"] for r in rows], label="speed (x real time)")
    ax[3].legend()
    ax[3].set_xlabel("media hours")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


async def run(args: argparse.Namespace, work: Path) -> list[str]:
    os.environ["LIVEHOST_HOME"] = str(work / "home")
    store = Store(None, work / "home")
    out = work / "endurance.flv"
    conf = {"id": "endure", "size": args.size, "fps": args.fps, "voice": {"engine": "espeak"},
            "output": {"url": str(out), "realtime": False, "video_bitrate_kbps": 200, "audio_bitrate_kbps": 64,
                       "preset": "ultrafast", "aac_coder": args.aac_coder}}
    if args.catalog:
        conf["catalog"] = args.catalog
    config = build_config(conf)
    start = datetime.now(UTC).replace(microsecond=0)
    session: ChannelSession | None = None

    def now() -> datetime:  # the virtual clock: the channel's wall time is its media time
        return start + timedelta(seconds=session.clock.elapsed(session.playout_stage.pts) if session else 0.0)

    session = ChannelSession(config, store, now=now, settings=Settings.from_env(os.environ))
    heard = Heard(session)
    session.pipeline.add_observer(heard)
    total = args.hours * HOUR
    runner = asyncio.create_task(session.run(duration=total), name="channel")
    rows: list[dict] = []
    peaks: dict[str, int] = defaultdict(int)
    bounds: dict[str, int] = {}
    viewers = itertools.count(1)
    next_sample, next_comment = SAMPLE, COMMENT_EVERY
    wall0 = last_wall = time.monotonic()
    last_media = 0.0
    try:
        while not runner.done():
            await asyncio.sleep(0.2)
            media = session.clock.elapsed(session.playout_stage.pts)
            for name, (depth, bound) in _queues(session).items():
                peaks[name] = max(peaks[name], depth)
                bounds[name] = bound
            while media >= next_comment:
                text = COMMENTS[int(next_comment / COMMENT_EVERY) % len(COMMENTS)]
                session.comment(f"viewer{next(viewers)}", text)
                next_comment += COMMENT_EVERY
            if media >= next_sample:
                wall = time.monotonic()
                offset = session.output.av_offset
                row = {"media_h": round(media / HOUR, 3), "wall_s": round(wall - wall0, 1),
                       "speed": round((media - last_media) / max(wall - last_wall, 1e-6), 2),
                       "rss_mb": round(_rss_mb(), 1), "tasks": len(asyncio.all_tasks()),
                       "threads": threading.active_count(), "fds": len(os.listdir("/proc/self/fd")),
                       "av_offset_ms": round(offset * 1000, 2) if offset is not None else None,
                       "spoken": session.ledger.spoken, "repeats": session.planner.writer.repeats}
                row.update(peaks)
                peaks.clear()
                rows.append(row)
                last_media, last_wall = media, wall
                next_sample += SAMPLE
                if len(rows) % max(1, int(HOUR / SAMPLE)) == 0 or not args.quiet:
                    print(f"[{row['wall_s']:7.0f} s wall] media {row['media_h']:5.2f} h  x{row['speed']:5.1f}  "
                          f"RSS {row['rss_mb']:6.1f} MB  tasks {row['tasks']}  threads {row['threads']}  "
                          f"fds {row['fds']}  A/V {row['av_offset_ms']} ms  spoken {row['spoken']}", flush=True)
        stats = await runner
    finally:
        if not runner.done():
            session.request_stop()
            await asyncio.wait([runner], timeout=30)
        store.close()
    failures: list[str] = []
    print(f"done: {stats.media_seconds / HOUR:.2f} h of media in {time.monotonic() - wall0:.0f} s wall; "
          f"{stats.frames_sent} frames, {stats.frames_dropped} dropped; {stats.spoken} sentences spoken, "
          f"{stats.cut} cut; output {out.stat().st_size / 1e9:.2f} GB", flush=True)

    with open(work / "endurance.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    png = work / "endurance.png"
    print(f"samples: {work / 'endurance.csv'}" + (f"; curves: {png}" if _plot(rows, png) else " (no matplotlib: no PNG)"))

    per_hour = int(HOUR / SAMPLE)
    first, later = rows[:per_hour], rows[per_hour:]
    if later:
        base = first[-1]
        growth = (max(r["rss_mb"] for r in later) - base["rss_mb"]) / base["rss_mb"]
        print(f"RSS: {base['rss_mb']:.1f} MB at 1 h, at most {max(r['rss_mb'] for r in later):.1f} MB after, "
              f"{rows[-1]['rss_mb']:.1f} MB at the end: growth {growth:+.1%} (limit +10%)")
        if growth >= 0.10:
            failures.append(f"resident memory grew {growth:.1%} after the first hour")
        for key in ("tasks", "threads", "fds"):
            lo, hi = max(r[key] for r in first), max(r[key] for r in later)
            print(f"{key}: at most {lo} in the first hour, at most {hi} after")
            if hi > lo + 2:
                failures.append(f"{key} crept from {lo} to {hi}")
        speed1 = first[-1]["media_h"] * HOUR / first[-1]["wall_s"]
        speed_all = rows[-1]["media_h"] * HOUR / rows[-1]["wall_s"]
        print(f"speed: x{speed_all:.1f} real time over the run, x{speed1:.1f} in the first hour (ratio "
              f"{speed_all / speed1:.2f})")
    for name, bound in bounds.items():
        top = max(r.get(name, 0) for r in rows)
        print(f"queue {name}: deepest {top} of {bound}")
        if top > bound:
            failures.append(f"queue {name} held {top} items, over its bound of {bound}")
    offsets = [r["av_offset_ms"] for r in rows if r["av_offset_ms"] is not None]
    if offsets:
        # a sample catches the encoders between the audio and the video of one frame now and then: compare medians
        ref, end = float(np.median(offsets[:per_hour])), float(np.median(offsets[-per_hour:]))
        print(f"A/V offset of what was muxed (encoder delays): median {ref:.1f} ms in the first hour, {end:.1f} ms "
              f"in the last, range {min(offsets)}..{max(offsets)} ms")
        if abs(end - ref) > 1000 * 1024 / 48000:  # one AAC frame
            failures.append(f"A/V offset drifted from {ref:.1f} ms to {end:.1f} ms")
    a_end, v_end = _tail(out, 30)
    print(f"the file's end: audio {a_end:.3f} s, video {v_end:.3f} s (difference {1000 * (a_end - v_end):.1f} ms)")
    if abs(a_end - v_end) > 0.05:
        failures.append(f"the file ends with audio and video {1000 * (a_end - v_end):.0f} ms apart")

    print(f"sentences started: {dict(heard.sources)}; {len(heard.windows)} distinct script sentences; "
          f"at most {heard.worst} times in one hour ({heard.worst_text!r}); the planner repeated a product's least "
          f"recent phrasing {session.planner.writer.repeats} times")
    if heard.worst > 4:
        failures.append(f"{heard.worst_text!r} was said {heard.worst} times in one hour")
    if stats.frames_dropped:
        failures.append(f"{stats.frames_dropped} frames dropped")
    if not args.keep:
        out.unlink(missing_ok=True)
    return failures


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--size", default="144x256")
    ap.add_argument("--fps", type=int, default=5)
    ap.add_argument("--aac-coder", choices=["twoloop", "fast"], default="fast")
    ap.add_argument("--catalog", help="catalog file (default: the bundled demo catalog)")
    ap.add_argument("--out", help="directory for the CSV, the PNG (and the FLV with --keep); default: a temp dir")
    ap.add_argument("--keep", action="store_true", help="keep the FLV file")
    ap.add_argument("--quiet", action="store_true", help="one line per media hour")
    args = ap.parse_args()
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="endurance-"))
    work.mkdir(parents=True, exist_ok=True)
    failures = await run(args, work)
    if not args.out:
        shutil.rmtree(work / "home", ignore_errors=True)
    print("FAILURES:\n  " + "\n  ".join(failures) if failures else "24-hour run clean" if args.hours >= 24 else
          f"{args.hours:g}-hour run clean")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
