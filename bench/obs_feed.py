"""Benchmark: one channel into real OBS (Debian obs-studio under Xvfb) streaming to nginx-rtmp.

Runs SECONDS (default 40) of a paced channel twice in the same run:

  baseline: the same channel pushed straight to nginx-rtmp (output.url)
  obs:      the channel's program as MPEG-TS over UDP into OBS, OBS streaming to nginx-rtmp

and reports, for the obs run: livehost's CPU seconds per stream second and
its ratio to the baseline's (the feed against the RTMP push), OBS's render
fps and skipped frames (render and output), OBS's CPU, the lip-sync lag in
OBS's stream as read back from nginx (frames; 0 = on time), the delay from
livehost's output to the read-back (the lag that lines up the two loudness
envelopes; the player's own buffering included, for both runs alike), and
how long OBS took to be streaming the host again after it was killed and
restarted.

    .venv/bin/python bench/obs_feed.py [--seconds 40] [--size 360x640]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
import numpy as np  # noqa: E402

from livehost.app.config import build_config  # noqa: E402
from livehost.app.session import ChannelSession  # noqa: E402
from livehost.core.frames import MediaFrame, OnAir  # noqa: E402
from livehost.core.settings import Settings  # noqa: E402
from tests.integration.obs_studio import ObsStudio  # noqa: E402
from tests.integration.rtmp_server import RtmpServer, free_port  # noqa: E402


def cpu() -> float:
    t = os.times()
    return t.user + t.system


class Listener:
    """Decode a live RTMP stream in a thread, keeping (wall time, audio rms) per audio frame and the mouth series."""

    def __init__(self, url: str, seconds: float, mouth_box) -> None:
        self.url, self.seconds, self.box = url, seconds, mouth_box
        self.heard: list[tuple[float, float]] = []
        self.video_pts: list[float] = []
        self.mouth: list[int] = []
        self.audio: list[tuple[float, np.ndarray]] = []  # (pts seconds, mono samples)
        self.rate = 48000
        self.error = ""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for _attempt in range(5):
            try:
                container = av.open(self.url, timeout=(15, 4))
                if not container.streams.video:
                    container.close()
                    time.sleep(1)
                    continue
                t0 = time.monotonic()
                for packet in container.demux():
                    if time.monotonic() - t0 > self.seconds:
                        break
                    for frame in packet.decode():
                        if isinstance(frame, av.VideoFrame):
                            x0, y0, x1, y1 = self.box
                            self.video_pts.append(float(frame.pts * frame.time_base))
                            self.mouth.append(int((frame.to_ndarray(format="gray")[y0:y1, x0:x1] < 90).sum()))
                        else:
                            pcm = frame.to_ndarray()
                            mono = pcm[0] if frame.format.is_planar else pcm.reshape(-1, 2)[:, 0]
                            self.rate = frame.sample_rate
                            self.audio.append((float(frame.pts * frame.time_base), mono.astype(np.float32)))
                            self.heard.append((time.time(), float(np.sqrt(np.mean(mono.astype(np.float64) ** 2)))))
                container.close()
                return
            except Exception as e:  # noqa: BLE001 - reported
                self.error = repr(e)
                time.sleep(1)

    def lip_lag(self, max_lag: int = 8) -> int | None:
        if len(self.video_pts) < 50 or not self.audio:
            return None
        start = self.audio[0][0]
        pcm = np.concatenate([a for _t, a in self.audio])
        fps = 1 / np.median(np.diff(self.video_pts))

        def rms(t: float) -> float:
            a, b = int((t - start) * self.rate), int((t + 1 / fps - start) * self.rate)
            seg = pcm[max(0, a):max(0, b)]
            return float(np.sqrt(np.mean(seg ** 2))) if len(seg) else 0.0

        energy = np.array([rms(t) for t in self.video_pts])
        mouth = np.asarray(self.mouth, np.float64)
        mouth, energy = mouth - mouth.mean(), energy - energy.mean()
        n = len(mouth)

        def corr(lag: int) -> float:
            m, e = (mouth[lag:], energy[:n - lag]) if lag >= 0 else (mouth[:n + lag], energy[-lag:])
            return float(np.dot(m, e) / (np.linalg.norm(m) * np.linalg.norm(e) + 1e-12))

        return max(range(-max_lag, max_lag + 1), key=corr)


async def run(config: dict, seconds: float, environ: dict, home: Path, listen_url: str, box, *, restart: ObsStudio | None = None):
    session = ChannelSession(build_config(config), None, settings=Settings(home=home, environ=environ))
    sent: list[tuple[float, float]] = []  # (wall time handed to the output, rms) per frame

    class Onsets:
        """Observer: each frame's loudness (at render) and the wall time the output was handed it."""

        def __init__(self) -> None:
            self.rms: dict[int, float] = {}

        def on_frame(self, stage, frame) -> None:
            if stage == "render" and isinstance(frame, MediaFrame):
                self.rms[frame.index] = float(np.sqrt(np.mean(frame.audio.astype(np.float64) ** 2))) / 32768
            elif isinstance(frame, OnAir) and frame.sent and frame.index in self.rms:
                sent.append((time.time(), self.rms.pop(frame.index)))

    session.pipeline.add_observer(Onsets())
    task = asyncio.create_task(session.run(duration=None))
    c0 = cpu()
    if session.obs is not None:
        while not session.obs.stats.get("stream_active"):
            await asyncio.sleep(0.2)
    else:
        while session.output.state != "live":
            await asyncio.sleep(0.1)
    listener = Listener(listen_url, seconds, box)
    await asyncio.sleep(seconds + 2)
    result: dict = {"cpu_per_s": None, "obs": dict(session.obs.stats) if session.obs else {}}
    media = session.clock.seconds(session.playout_stage.pts)
    recovery = None
    if restart is not None and session.obs is not None:
        connects = session.obs.connects
        await asyncio.to_thread(restart.kill)
        t0 = time.monotonic()
        await asyncio.to_thread(restart.start)
        while not (session.obs.connects > connects and session.obs.stats.get("stream_active")):
            await asyncio.sleep(0.1)
        recovery = time.monotonic() - t0
    session.request_stop()
    await task
    result["cpu_per_s"] = (cpu() - c0) / max(media, 1e-9)
    listener.thread.join(30)
    result["lip_lag"] = listener.lip_lag()
    result["recovery_s"] = recovery
    result["error"] = listener.error
    result["delay"] = delay(sent, listener.heard)
    return result


def delay(sent: list[tuple[float, float]], heard: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Wall-clock delay from the output to the read-back: the lag (0-4 s) that best lines up the two loudness
    envelopes on a 20 ms grid, and its correlation."""
    if len(sent) < 100 or len(heard) < 100:
        return None
    step = 0.02
    t0 = max(sent[0][0], heard[0][0])
    t1 = min(sent[-1][0], heard[-1][0])
    grid = np.arange(t0, t1, step)
    a = np.interp(grid, [t for t, _ in sent], [r for _, r in sent])
    b = np.interp(grid, [t for t, _ in heard], [r for _, r in heard])
    a, b = a - a.mean(), b - b.mean()
    best = (0.0, -1.0)
    for k in range(0, int(4 / step)):
        x, y = a[: len(a) - k], b[k:]
        if len(x) < 50:
            break
        c = float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))
        if c > best[1]:
            best = (k * step, c)
    return best


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--size", default="360x640")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    from streaming.avatar import Avatar2D
    x0, y0, x1, y1 = Avatar2D(w, h).mouth_box(0)
    box = (x0 - 12, y0 - 12, x1 + 12, y1 + 12)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rtmp = RtmpServer(root / "nginx")
        rtmp.start()
        obs = ObsStudio(root / "obs", width=w, height=h)
        obs.start()
        try:
            base_cfg = {"id": "bench", "size": args.size, "voice": {"engine": "espeak"},
                        "output": {"url": rtmp.url("direct"), "video_bitrate_kbps": 1200}}
            print(f"baseline: {args.seconds:.0f} s pushed straight to nginx-rtmp ...", flush=True)
            base = await run(base_cfg, args.seconds, {}, root / "home", rtmp.url("direct"), box)
            obs_cfg = {"id": "bench", "size": args.size, "voice": {"engine": "espeak"}, "output": {
                "video_bitrate_kbps": 1200, "obs": {"websocket": obs.url, "password_env": "PW",
                                                    "feed": f"udp://127.0.0.1:{free_port()}",
                                                    "stream": {"server": f"rtmp://127.0.0.1:{rtmp.port}/live",
                                                               "key_env": "KEY"}}}}
            print(f"obs: {args.seconds:.0f} s into OBS, OBS streaming to nginx-rtmp, then OBS killed and restarted ...",
                  flush=True)
            res = await run(obs_cfg, args.seconds, {"PW": obs.password, "KEY": "viaobs"}, root / "home",
                            rtmp.url("viaobs"), box, restart=obs)
        finally:
            obs.stop()
            rtmp.stop()
    o = res["obs"]
    print()
    print(f"livehost CPU per stream second: obs feed {res['cpu_per_s']:.3f}, direct RTMP push {base['cpu_per_s']:.3f}"
          f"  (ratio {res['cpu_per_s'] / base['cpu_per_s']:.2f}x)")
    print(f"OBS: {o.get('fps')} fps, render skipped {o.get('render_skipped')} of {o.get('render_frames')}, "
          f"output skipped {o.get('output_skipped')} of {o.get('output_frames')}, CPU {o.get('cpu')}%")
    print(f"lip-sync lag in the read-back: OBS {res['lip_lag']} frames, direct {base['lip_lag']} frames")
    for name, r in (("OBS", res), ("direct", base)):
        if r["delay"]:
            print(f"delay from livehost's output to the stream read back from nginx ({name}): "
                  f"{r['delay'][0] * 1000:.0f} ms (envelope correlation {r['delay'][1]:.2f})")
    print(f"OBS killed and restarted: streaming the host again after {res['recovery_s']:.1f} s "
          f"(OBS start-up included)")
    for name, r in (("OBS", res), ("direct", base)):
        if r["error"]:
            print(f"read-back error ({name}): {r['error']}")


if __name__ == "__main__":
    asyncio.run(main())
