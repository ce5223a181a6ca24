"""Benchmark: CPU cost of one demo channel against encoding alone.

Renders and encodes SECONDS (default 60) of the demo channel at 720x1280@25
as fast as it can (file output, not paced), and reports

  (a) CPU seconds per second of stream       target <= 0.5
  (b) pipeline CPU / PyAV-only encode CPU    target <= 1.5

The baseline encodes the very frames the pipeline produced with plain PyAV
and the same encoder settings, in the same run.  The channel is
deterministic for a seed, so a first, untimed pass captures its frames in
memory and the timed pass runs the channel exactly as it runs in
production, without the capture's copying (2 GB per minute at 720x1280).

    .venv/bin/python bench/channel_cpu.py [--seconds 60] [--size 720x1280] [--voice auto]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
import numpy as np  # noqa: E402

from livehost.app.config import build_config  # noqa: E402
from livehost.app.session import ChannelSession  # noqa: E402
from livehost.core.frames import MediaFrame  # noqa: E402


class Capture:
    """Observer that keeps every rendered frame for the baseline run."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, np.ndarray, np.ndarray]] = []

    def on_frame(self, stage: str, frame) -> None:
        if stage == "render" and isinstance(frame, MediaFrame):
            self.frames.append((frame.pts, frame.picture.copy(), frame.audio))


def cpu() -> float:
    t = os.times()
    return t.user + t.system


async def run_pipeline(config, seconds: float, capture: Capture | None = None) -> tuple[float, float, int]:
    session = ChannelSession(config, store=None)
    if capture is not None:
        session.pipeline.add_observer(capture)
    c0, w0 = cpu(), time.perf_counter()
    stats = await session.run(duration=seconds)
    return cpu() - c0, time.perf_counter() - w0, stats.frames_sent


def run_baseline(frames, path: str, w: int, h: int, fps: int, kbps: int, preset: str) -> tuple[float, float]:
    """Plain PyAV: the same frames and audio, the same encoder settings, into a file."""
    tb = Fraction(1, 48000)
    c0, w0 = cpu(), time.perf_counter()
    out = av.open(path, "w")
    v = out.add_stream("libx264", rate=fps)
    v.width, v.height, v.pix_fmt = w, h, "yuv420p"
    v.codec_context.time_base = tb
    v.bit_rate = kbps * 1000
    v.options = {"preset": preset, "tune": "zerolatency", "maxrate": f"{kbps}k", "minrate": f"{kbps}k",
                 "bufsize": f"{kbps}k", "g": str(2 * fps), "keyint_min": str(2 * fps), "sc_threshold": "0",
                 "x264-params": "nal-hrd=cbr:force-cfr=1"}
    a = out.add_stream("aac", rate=48000)
    a.layout, a.bit_rate = "stereo", 128000
    for pts, picture, audio in frames:
        vf = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        vf.pts, vf.time_base = pts, tb
        af = av.AudioFrame.from_ndarray(np.repeat(audio, 2).reshape(1, -1), format="s16", layout="stereo")
        af.sample_rate, af.pts, af.time_base = 48000, pts, tb
        for p in a.encode(af):
            out.mux(p)
        for p in v.encode(vf):
            out.mux(p)
    for s in (v, a):
        for p in s.encode(None):
            out.mux(p)
    out.close()
    return cpu() - c0, time.perf_counter() - w0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--size", default="720x1280")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--voice", default="auto")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = build_config({
            "size": args.size, "fps": args.fps, "voice": {"engine": args.voice},
            "output": {"url": f"{tmp}/channel.flv", "realtime": False},
        })
        print(f"pipeline: {args.seconds:.0f}s of the demo channel at {config.size}@{config.fps}, voice={args.voice} ...", flush=True)
        capture = Capture()
        asyncio.run(run_pipeline(config, args.seconds, capture))
        print(f"  captured {len(capture.frames)} frames for the baseline; timed pass ...", flush=True)
        p_cpu, p_wall, n = asyncio.run(run_pipeline(config, args.seconds))
        print(f"  {n} frames, {p_cpu:.2f} CPU s, {p_wall:.2f} wall s", flush=True)
        if n != len(capture.frames):
            print(f"error: the timed pass sent {n} frames, the capture has {len(capture.frames)}", file=sys.stderr)
            return 1
        print("baseline: the same frames through plain PyAV encode ...", flush=True)
        b_cpu, b_wall = run_baseline(capture.frames, f"{tmp}/baseline.flv", config.width, config.height,
                                     config.fps, config.output.video_bitrate_kbps, config.output.preset)
        print(f"  {b_cpu:.2f} CPU s, {b_wall:.2f} wall s", flush=True)
    stream_s = n / config.fps
    per_second = p_cpu / stream_s
    ratio = p_cpu / b_cpu
    print()
    print(f"(a) CPU seconds per stream second: {per_second:.3f}   (target <= 0.5)  {'OK' if per_second <= 0.5 else 'MISSED'}")
    print(f"(b) pipeline / encode-only CPU:    {ratio:.3f}   (target <= 1.5)  {'OK' if ratio <= 1.5 else 'MISSED'}")
    print(f"    encode-only: {b_cpu / stream_s:.3f} CPU s per stream second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
